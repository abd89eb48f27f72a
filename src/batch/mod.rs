//! Batch classification of CSV exports: streaming, bounded memory, parallel, order-preserving.
//!
//! The calling thread parses CSV records into chunks; worker threads classify a chunk and
//! render its output rows; a writer thread puts chunks back in input order and writes them.
//! Chunks are recycled, so the steady state allocates nothing per row, and the number of
//! chunks in flight is bounded, so memory does not grow with the input.

pub mod columns;
mod quote;
mod tally;

use crate::ruleset::RuleSet;
use crate::verdict::{Ticket, Verdict};
use columns::{ColumnError, ColumnPlan};
use csv::ByteRecord;
use quote::{MalformedQuoting, QuoteProbe, TextAfterQuote, UnclosedQuote};
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::Instant;
pub use tally::{run_tally, Tally, TallyRow};

/// The JSON Lines key of a row's number (CSV output keeps rows in order instead).
const JSON_ROW_KEY: &str = "triage_row";

/// Columns appended to every output row, in order.
pub const TRIAGE_COLUMNS: [&str; 8] = [
    "triage_label",
    "triage_category",
    "triage_categories",
    "triage_rules",
    "triage_vendor",
    "triage_review",
    "triage_reason",
    "triage_error",
];

/// Largest text classified per row; longer text is classified on its first part and flagged.
pub const DEFAULT_MAX_TEXT_BYTES: usize = 1 << 20;

/// Rows per chunk handed to a worker, at most.
pub const DEFAULT_CHUNK_ROWS: usize = 128;
/// Bytes of input per chunk, at most (approximately): bounds memory with long pasted logs.
pub const DEFAULT_CHUNK_BYTES: usize = 1 << 18;
/// Chunks in flight per worker thread (being read, classified, or waiting for the writer).
const CHUNKS_PER_THREAD: usize = 8;
/// A record slot that held a longer record gets a fresh record when its chunk is reused.
/// Otherwise every slot of every chunk in flight keeps the capacity of the longest record it
/// ever held, and memory grows with the length of the run (16 chunks x 128 slots x a 20 KB
/// pasted log is 40 MB); a long record costs one allocation instead.
const RECYCLED_RECORD_BYTES: usize = 4096;

/// Output format of a batch run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Csv,
    Jsonl,
}

/// How to run a batch.
#[derive(Debug, Clone)]
pub struct BatchConfig {
    pub text_columns: Vec<String>,
    pub id_column: Option<String>,
    pub delimiter: Option<u8>,
    pub format: OutputFormat,
    pub threads: usize,
    pub max_text_bytes: usize,
    /// Rows per chunk handed to a worker, at most (at least 1 is used).
    pub chunk_rows: usize,
    /// Input bytes per chunk, at most: a chunk ends after the record that reaches it.
    pub chunk_bytes: usize,
    /// Set from outside (a signal handler) to stop reading; the run then ends with
    /// [`BatchError::Interrupted`].
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            text_columns: Vec::new(),
            id_column: None,
            delimiter: None,
            format: OutputFormat::Csv,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_text_bytes: DEFAULT_MAX_TEXT_BYTES,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            chunk_bytes: DEFAULT_CHUNK_BYTES,
            cancel: None,
        }
    }
}

/// One input export.
pub struct InputSource {
    /// Shown in messages (`-` is standard input).
    pub name: String,
    pub reader: Box<dyn Read + Send>,
    /// Size in bytes when known (files), for progress.
    pub size: Option<u64>,
}

/// A problem that stops a batch run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    #[error("{input}: cannot read: {message}")]
    Read { input: String, message: String },
    #[error("{input}:{line}: {message}")]
    Csv {
        input: String,
        line: u64,
        message: String,
    },
    #[error("{input}: {source}")]
    Columns { input: String, source: ColumnError },
    #[error("{input}: empty file: no header row")]
    Empty { input: String },
    #[error(
        "{input}: header differs from the first input's ({first}); classify such files separately"
    )]
    HeaderMismatch { input: String, first: String },
    #[error("cannot write output: {0}")]
    Write(String),
    #[error("interrupted")]
    Interrupted,
}

/// Receives progress as chunks are written.
pub trait Progress: Sync {
    fn start_input(&self, _name: &str, _size: Option<u64>) {}
    /// Rows written so far in this input, and the input byte offset they reach.
    fn advance(&self, _rows: u64, _bytes: u64) {}
}

/// Progress that reports nothing.
pub struct NoProgress;
impl Progress for NoProgress {}

/// What a run did, per input and in total.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub rows: u64,
    pub labels: BTreeMap<String, u64>,
    pub categories: BTreeMap<String, u64>,
    pub review: u64,
    pub errors: u64,
    pub decoded_windows_1252: u64,
    pub bytes: u64,
    pub elapsed_seconds: f64,
    pub rows_per_second: f64,
    pub megabytes_per_second: f64,
    pub threads: usize,
    pub inputs: Vec<InputSummary>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct InputSummary {
    pub name: String,
    pub rows: u64,
    pub delimiter: String,
    pub text_columns: Vec<String>,
    pub id_column: Option<String>,
    pub columns_detected: bool,
    pub decoded_windows_1252: u64,
    pub errors: u64,
}

/// Decodes a field: UTF-8 as is, anything else as Windows-1252.
pub fn decode(bytes: &[u8]) -> (Cow<'_, str>, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (Cow::Borrowed(s), false),
        Err(_) => (
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0,
            true,
        ),
    }
}

/// Picks the delimiter of a header line: the most frequent of `,` `;` and tab outside quotes.
pub fn detect_delimiter(line: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for &b in line {
        match b {
            b'"' => quoted = !quoted,
            b'\n' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    [b',', b';', b'\t'][best]
}

/// Per-chunk verdict counts of a classify run, merged by the writer.
#[derive(Debug, Default, Clone)]
struct Stats {
    labels: Vec<u64>,
    categories: Vec<u64>,
    no_category: u64,
    review: u64,
}

impl Stats {
    fn reset(&mut self, labels: usize, categories: usize) {
        self.labels.clear();
        self.labels.resize(labels, 0);
        self.categories.clear();
        self.categories.resize(categories, 0);
        self.no_category = 0;
        self.review = 0;
    }
    fn add(&mut self, other: &Stats) {
        for (a, b) in self.labels.iter_mut().zip(&other.labels) {
            *a += b;
        }
        for (a, b) in self.categories.iter_mut().zip(&other.categories) {
            *a += b;
        }
        self.no_category += other.no_category;
        self.review += other.review;
    }
}

/// Rows of a chunk with a problem, and rows that needed Windows-1252 decoding.
#[derive(Debug, Default, Clone, Copy)]
struct RowCounts {
    errors: u64,
    decoded: u64,
}

impl RowCounts {
    fn add(&mut self, other: RowCounts) {
        self.errors += other.errors;
        self.decoded += other.decoded;
    }
}

/// A slice of input rows travelling through the pipeline, with what a worker made of them.
struct Chunk<P> {
    seq: u64,
    /// 1-based number of the first data row of the chunk in its input.
    first_row: u64,
    records: Vec<ByteRecord>,
    len: usize,
    /// Input byte offset after the chunk's last record.
    end_byte: u64,
    /// Set when the chunk's last record is the input's last and holds a quoted field that is
    /// never closed.
    unclosed: Option<UnclosedQuote>,
    /// The records (by index in the chunk) with a closing quote followed by text, in order.
    malformed: Vec<(usize, MalformedQuoting)>,
    part: P,
    counts: RowCounts,
}

impl<P> Chunk<P> {
    /// Readies a recycled chunk for new records, releasing the slots that held long ones.
    fn reuse(&mut self) {
        for record in &mut self.records[..self.len] {
            if record.as_slice().len() > RECYCLED_RECORD_BYTES {
                *record = ByteRecord::new();
            }
        }
        self.len = 0;
        self.unclosed = None;
        self.malformed.clear();
    }

    fn new(part: P) -> Self {
        Chunk {
            seq: 0,
            first_row: 0,
            records: Vec::new(),
            len: 0,
            end_byte: 0,
            unclosed: None,
            malformed: Vec::new(),
            part,
            counts: RowCounts::default(),
        }
    }
}

/// What every worker needs to know about the input it reads.
struct InputCtx<'a> {
    name: &'a str,
    plan: &'a ColumnPlan,
    header: &'a [String],
    json_keys: &'a [String],
    max_text: usize,
    chunk_rows: usize,
    chunk_bytes: usize,
}

/// The work a batch run does on its worker threads: turn a chunk of records into a part, which
/// a [`Consumer`] then takes in input order on the writer thread. Chunks and their parts are
/// recycled, so a job that reuses its part's buffers allocates nothing per row.
trait Job: Sync {
    /// What a worker makes of one chunk.
    type Part: Send;
    /// Per-worker working memory.
    type Local: Default;
    fn new_part(&self) -> Self::Part;
    /// Processes `rows` into `part` (which holds a previous chunk's result: reset it first).
    fn process(
        &self,
        input: &InputCtx<'_>,
        rows: Rows<'_>,
        local: &mut Self::Local,
        part: &mut Self::Part,
        counts: &mut RowCounts,
    );
}

/// The records of a chunk, as a [`Job`] gets them.
#[derive(Clone, Copy)]
struct Rows<'r> {
    records: &'r [ByteRecord],
    /// 1-based row number of the first record in its input.
    first_row: u64,
    /// Set when the last record is the input's last and holds a quoted field never closed.
    unclosed: Option<&'r UnclosedQuote>,
    /// The records (by index) with a closing quote followed by text, in order.
    malformed: &'r [(usize, MalformedQuoting)],
}

/// What is wrong with a record's quoting, if anything.
#[derive(Clone, Copy, Default)]
struct RowQuoting<'r> {
    /// A quoted field the input ended inside (the input's last record only).
    unclosed: Option<&'r UnclosedQuote>,
    /// Closing quotes followed by text.
    malformed: Option<&'r MalformedQuoting>,
}

impl<'r> Rows<'r> {
    /// Each record with its row number and what is wrong with its quoting.
    fn iter(self) -> impl Iterator<Item = (u64, &'r ByteRecord, RowQuoting<'r>)> {
        let last = self.records.len().saturating_sub(1);
        let mut malformed = self.malformed.iter().peekable();
        self.records.iter().enumerate().map(move |(i, record)| {
            let quoting = RowQuoting {
                unclosed: self.unclosed.filter(|_| i == last),
                malformed: malformed.next_if(|(at, _)| *at == i).map(|(_, m)| m),
            };
            (self.first_row + i as u64, record, quoting)
        })
    }
}

/// The closing quotes followed by text in one input's rows, for its warning.
#[derive(Default)]
struct MalformedReport {
    /// The first, with the number of its row.
    first: Option<(u64, TextAfterQuote)>,
    /// Rows with any.
    rows: u64,
}

/// Takes the parts of a batch run in input order, on the writer thread.
trait Consumer<P>: Send {
    /// The header of the first input (later inputs must have the same).
    fn header(&mut self, _header: &[String]) -> Result<(), BatchError> {
        Ok(())
    }
    fn part(&mut self, part: &mut P) -> Result<(), BatchError>;
}

/// Classifies `inputs` and writes every row, in order, to `out`. Notes for people (columns
/// chosen, encoding warnings) go to `note`.
pub fn run(
    rules: &RuleSet,
    inputs: Vec<InputSource>,
    out: &mut (dyn Write + Send),
    cfg: &BatchConfig,
    progress: &dyn Progress,
    note: &mut dyn FnMut(String),
) -> Result<Summary, BatchError> {
    let job = ClassifyJob {
        rules,
        format: cfg.format,
    };
    let mut total = Stats::default();
    total.reset(rules.labels.len(), rules.categories.len());
    let mut writer = ClassifyWriter {
        out,
        format: cfg.format,
        stats: total,
    };
    let mut summary = drive(&job, inputs, cfg, progress, note, &mut writer)?;
    let ClassifyWriter {
        out, stats: total, ..
    } = writer;
    out.flush().map_err(|e| BatchError::Write(e.to_string()))?;
    for (i, n) in total.labels.iter().enumerate() {
        summary.labels.insert(rules.labels[i].clone(), *n);
    }
    for c in rules.categories_in_precedence() {
        let n = total.categories[c.0 as usize];
        if n > 0 {
            summary.categories.insert(rules.category(c).name.clone(), n);
        }
    }
    if total.no_category > 0 {
        summary
            .categories
            .insert(crate::fixtures::NO_CATEGORY.to_owned(), total.no_category);
    }
    summary.review = total.review;
    Ok(summary)
}

/// Reads every input (header, columns, delimiter), runs `job` over its rows on the worker
/// threads and hands the results to `consumer` in input order. Fills the summary's row, byte,
/// error, encoding, timing and per-input figures; verdict counts are the caller's.
fn drive<J: Job>(
    job: &J,
    inputs: Vec<InputSource>,
    cfg: &BatchConfig,
    progress: &dyn Progress,
    note: &mut dyn FnMut(String),
    consumer: &mut dyn Consumer<J::Part>,
) -> Result<Summary, BatchError> {
    let started = Instant::now();
    let threads = cfg.threads.max(1);
    let mut total = RowCounts::default();
    let mut summary = Summary {
        threads,
        ..Summary::default()
    };
    let mut first_header: Option<Vec<String>> = None;
    for input in inputs {
        let name = input.name.clone();
        progress.start_input(&name, input.size);
        let mut reader = BufReader::with_capacity(1 << 18, input.reader);
        let read_err = |e: std::io::Error| BatchError::Read {
            input: name.clone(),
            message: e.to_string(),
        };
        // Strip a UTF-8 byte-order mark, then look at the header line for the delimiter.
        let peek = reader.fill_buf().map_err(read_err)?;
        if peek.is_empty() {
            return Err(BatchError::Empty { input: name });
        }
        let bom = peek.starts_with(b"\xEF\xBB\xBF");
        if bom {
            reader.consume(3);
        }
        let delimiter = match cfg.delimiter {
            Some(d) => d,
            None => detect_delimiter(reader.fill_buf().map_err(read_err)?),
        };
        // The probe watches for a quoted field that the input ends inside (csv-core accepts it).
        let mut csv_reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(QuoteProbe::new(reader, delimiter));
        let mut header_record = ByteRecord::new();
        let got = csv_reader
            .read_byte_record(&mut header_record)
            .map_err(|e| BatchError::Csv {
                input: name.clone(),
                line: 1,
                message: e.to_string(),
            })?;
        if !got {
            return Err(BatchError::Empty { input: name });
        }
        if let Some(open) = csv_reader.get_ref().unclosed() {
            return Err(BatchError::Csv {
                input: name,
                line: open.line,
                message: format!(
                    "the header's quoted field opened at line {} is never closed",
                    open.line
                ),
            });
        }
        // Text after a closing quote in the header: its column names are not what the file
        // meant (and a stray quote may have taken rows into it), so every row would be read
        // against the wrong columns. Refused like a quote never closed.
        let header_end = csv_reader.position().byte();
        if let Some(bad) = csv_reader.get_mut().take_malformed(header_end) {
            return Err(BatchError::Csv {
                input: name,
                line: bad.first.line,
                message: format!(
                    "malformed quoting in the header: text follows the closing quote at line {} \
                     ({})",
                    bad.first.line,
                    bad.first.consequence()
                ),
            });
        }
        let mut header_decoded = false;
        let header: Vec<String> = header_record
            .iter()
            .map(|f| {
                let (s, decoded) = decode(f);
                header_decoded |= decoded;
                s.into_owned()
            })
            .collect();
        let plan = ColumnPlan::choose(&header, &cfg.text_columns, cfg.id_column.as_deref())
            .map_err(|source| BatchError::Columns {
                input: name.clone(),
                source,
            })?;
        let text_names: Vec<String> = plan.text.iter().map(|&i| header[i].clone()).collect();
        let id_name = plan.id.map(|i| header[i].clone());
        note(format!(
            "{name}: text columns {} ({}), id column {}, delimiter {:?}",
            text_names
                .iter()
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(" + "),
            if plan.detected {
                "detected"
            } else {
                "as given"
            },
            id_name
                .as_deref()
                .map_or_else(|| "none (row numbers)".to_owned(), |n| format!("{n:?}")),
            delimiter as char
        ));
        match &first_header {
            None => {
                consumer.header(&header)?;
                first_header = Some(header.clone());
            }
            Some(first) if *first != header => {
                return Err(BatchError::HeaderMismatch {
                    input: name,
                    first: first.join(","),
                });
            }
            Some(_) => {}
        }
        let json_keys = json_keys(&header);
        let ctx = InputCtx {
            name: &name,
            plan: &plan,
            header: &header,
            json_keys: &json_keys,
            max_text: cfg.max_text_bytes,
            chunk_rows: cfg.chunk_rows.max(1),
            chunk_bytes: cfg.chunk_bytes.max(1),
        };
        let cancel = cfg.cancel.as_deref();
        let mut counts = RowCounts::default();
        let mut malformed = MalformedReport::default();
        let rows = pipeline(
            job,
            &ctx,
            &mut csv_reader,
            consumer,
            threads,
            &name,
            progress,
            cancel,
            &mut counts,
            &mut malformed,
        )?;
        // A signal that arrived while the reader waited for input (a pipe) ends the run too.
        if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed)) {
            return Err(BatchError::Interrupted);
        }
        let bytes = csv_reader.position().byte() + u64::from(bom) * 3;
        if let Some(open) = csv_reader.get_ref().unclosed() {
            note(format!(
                "warning: {name}:{}: a quoted field opened here is never closed: the rest of the \
                 input ({}) was read into it, as the last field of row {rows}",
                open.line,
                open.lines_text()
            ));
        }
        if let Some((row, first)) = malformed.first {
            let more = malformed.rows - 1;
            note(format!(
                "warning: {name}:{}: malformed quoting: text follows a closing quote here ({}), \
                 in row {row}{}",
                first.line,
                first.consequence(),
                if more > 0 {
                    format!(
                        "; {more} more row{} flagged for text after a closing quote",
                        if more == 1 { "" } else { "s" }
                    )
                } else {
                    String::new()
                }
            ));
        }
        if header_decoded || counts.decoded > 0 {
            note(format!(
                "warning: {name}: {} row(s){} not valid UTF-8, decoded as Windows-1252",
                counts.decoded,
                if header_decoded {
                    " and the header"
                } else {
                    ""
                }
            ));
        }
        summary.inputs.push(InputSummary {
            name,
            rows,
            delimiter: (delimiter as char).to_string(),
            text_columns: text_names,
            id_column: id_name,
            columns_detected: plan.detected,
            decoded_windows_1252: counts.decoded,
            errors: counts.errors,
        });
        summary.rows += rows;
        summary.bytes += bytes;
        total.add(counts);
    }
    summary.errors = total.errors;
    summary.decoded_windows_1252 = total.decoded;
    summary.elapsed_seconds = started.elapsed().as_secs_f64();
    if summary.elapsed_seconds > 0.0 {
        summary.rows_per_second = summary.rows as f64 / summary.elapsed_seconds;
        summary.megabytes_per_second = summary.bytes as f64 / 1e6 / summary.elapsed_seconds;
    }
    Ok(summary)
}

/// JSON keys for the header: names as given, duplicates and empties made unique.
pub(crate) fn json_keys(header: &[String]) -> Vec<String> {
    // A set, not a scan of the keys so far: a header may have hundreds of thousands of columns.
    // The next suffix to try per name, so that many equal names cost no rescans either.
    let mut taken: std::collections::HashSet<String> = TRIAGE_COLUMNS
        .iter()
        .chain([&JSON_ROW_KEY])
        .map(|&t| t.to_owned())
        .collect();
    let mut next_suffix: std::collections::HashMap<String, usize> = Default::default();
    let mut keys: Vec<String> = Vec::with_capacity(header.len());
    for (i, h) in header.iter().enumerate() {
        let base = if h.is_empty() {
            format!("column_{}", i + 1)
        } else {
            h.clone()
        };
        let mut key = base.clone();
        if taken.contains(&key) {
            let n = next_suffix.entry(base.clone()).or_insert(2);
            loop {
                key = format!("{base}_{n}");
                *n += 1;
                if !taken.contains(&key) {
                    break;
                }
            }
        }
        taken.insert(key.clone());
        keys.push(key);
    }
    keys
}

/// The CSV writer buffer for records of up to `record_bytes` input bytes: room for any one of
/// their fields, written whole. csv-core rescans the rest of a quoted field for quotes each time
/// the buffer fills, so a field much bigger than the buffer costs quadratic time (a 12 MB
/// multi-line field took a minute). A field grows at most threefold when written (Windows-1252
/// decoded to UTF-8, quotes doubled), plus its two quotes.
fn csv_buffer_for(record_bytes: usize) -> usize {
    record_bytes
        .saturating_mul(3)
        .saturating_add(2)
        .max(8 << 10)
}

/// Reads, processes and consumes one input; returns its row count.
#[allow(clippy::too_many_arguments)]
fn pipeline<J: Job, R: Read>(
    job: &J,
    ctx: &InputCtx<'_>,
    reader: &mut csv::Reader<QuoteProbe<R>>,
    consumer: &mut dyn Consumer<J::Part>,
    threads: usize,
    name: &str,
    progress: &dyn Progress,
    cancel: Option<&std::sync::atomic::AtomicBool>,
    counts: &mut RowCounts,
    malformed: &mut MalformedReport,
) -> Result<u64, BatchError> {
    let (work_tx, work_rx) = mpsc::sync_channel::<Chunk<J::Part>>(threads * 2);
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::sync_channel::<Chunk<J::Part>>(threads * 2);
    let (recycle_tx, recycle_rx) = mpsc::channel::<Chunk<J::Part>>();
    std::thread::scope(|s| {
        for _ in 0..threads {
            let work_rx = Arc::clone(&work_rx);
            let done_tx = done_tx.clone();
            s.spawn(move || worker(job, ctx, &work_rx, &done_tx));
        }
        // Only the workers hold the queue's receiving end: when they stop (the writer failed),
        // the reader's sends fail and it stops too instead of blocking.
        drop(work_rx);
        drop(done_tx);
        let writer =
            s.spawn(move || consume_in_order(done_rx, consumer, recycle_tx, progress, counts));
        let read = read_chunks(
            reader,
            name,
            ChunkLimits {
                rows: ctx.chunk_rows,
                bytes: ctx.chunk_bytes,
                in_flight: threads * CHUNKS_PER_THREAD,
            },
            work_tx,
            recycle_rx,
            cancel,
            || Chunk::new(job.new_part()),
        );
        let written = writer.join().expect("writer thread");
        // A read error stops the run; a write error makes the reader stop early, so report it.
        let rows = written?;
        read.map(|(read_rows, found)| {
            debug_assert_eq!(read_rows, rows);
            *malformed = found;
            rows
        })
    })
}

/// How big chunks get, and how many may exist at once.
struct ChunkLimits {
    rows: usize,
    bytes: usize,
    /// A slow chunk holds the ordered writer back; without this bound the chunks finished after
    /// it would pile up in memory.
    in_flight: usize,
}

/// Reads the input into chunks for the workers, within `limits`; returns the rows read and the
/// closing quotes followed by text found in them.
fn read_chunks<R: Read, P>(
    reader: &mut csv::Reader<QuoteProbe<R>>,
    name: &str,
    limits: ChunkLimits,
    work_tx: SyncSender<Chunk<P>>,
    recycle_rx: Receiver<Chunk<P>>,
    cancel: Option<&std::sync::atomic::AtomicBool>,
    new_chunk: impl Fn() -> Chunk<P>,
) -> Result<(u64, MalformedReport), BatchError> {
    let mut seq = 0;
    let mut rows = 0u64;
    let mut malformed = MalformedReport::default();
    let mut created = 0usize;
    loop {
        if cancel.is_some_and(|c| c.load(std::sync::atomic::Ordering::Relaxed)) {
            return Err(BatchError::Interrupted);
        }
        let mut chunk = match recycle_rx.try_recv() {
            Ok(chunk) => chunk,
            Err(_) if created < limits.in_flight => {
                created += 1;
                new_chunk()
            }
            Err(_) => match recycle_rx.recv() {
                Ok(chunk) => chunk,
                // The writer stopped (write error); it reports why.
                Err(_) => return Ok((rows, malformed)),
            },
        };
        chunk.reuse();
        chunk.seq = seq;
        chunk.first_row = rows + 1;
        let mut bytes = 0usize;
        let mut eof = false;
        while chunk.len < limits.rows && bytes < limits.bytes {
            if chunk.records.len() == chunk.len {
                chunk.records.push(ByteRecord::new());
            }
            let record = &mut chunk.records[chunk.len];
            match reader.read_byte_record(record) {
                Ok(true) => {
                    bytes += record.as_slice().len();
                    chunk.len += 1;
                    // Once the input has ended inside a quoted field, the record just read
                    // holds it; no record follows.
                    chunk.unclosed = reader.get_ref().unclosed();
                    let end = reader.position().byte();
                    if let Some(bad) = reader.get_mut().take_malformed(end) {
                        let row = rows + chunk.len as u64;
                        malformed.first.get_or_insert((row, bad.first));
                        malformed.rows += 1;
                        chunk.malformed.push((chunk.len - 1, bad));
                    }
                }
                Ok(false) => {
                    eof = true;
                    break;
                }
                Err(e) => {
                    let line = e.position().map_or(reader.position().line(), |p| p.line());
                    let message = match e.kind() {
                        csv::ErrorKind::Io(io) => format!("cannot read: {io}"),
                        _ => e.to_string(),
                    };
                    return Err(BatchError::Csv {
                        input: name.to_owned(),
                        line,
                        message,
                    });
                }
            }
        }
        chunk.end_byte = reader.position().byte();
        rows += chunk.len as u64;
        if chunk.len > 0 {
            if work_tx.send(chunk).is_err() {
                // The writer stopped (write error); it reports why.
                return Ok((rows, malformed));
            }
            seq += 1;
        }
        if eof {
            return Ok((rows, malformed));
        }
    }
}

fn worker<J: Job>(
    job: &J,
    ctx: &InputCtx<'_>,
    work_rx: &Mutex<Receiver<Chunk<J::Part>>>,
    done_tx: &SyncSender<Chunk<J::Part>>,
) {
    let mut local = J::Local::default();
    loop {
        let next = work_rx.lock().map(|rx| rx.recv());
        let Ok(Ok(mut chunk)) = next else { return };
        chunk.counts = RowCounts::default();
        let Chunk {
            records,
            len,
            first_row,
            unclosed,
            malformed,
            part,
            counts,
            ..
        } = &mut chunk;
        let rows = Rows {
            records: &records[..*len],
            first_row: *first_row,
            unclosed: unclosed.as_ref(),
            malformed,
        };
        job.process(ctx, rows, &mut local, part, counts);
        if done_tx.send(chunk).is_err() {
            return;
        }
    }
}

fn consume_in_order<P>(
    done_rx: Receiver<Chunk<P>>,
    consumer: &mut dyn Consumer<P>,
    recycle_tx: mpsc::Sender<Chunk<P>>,
    progress: &dyn Progress,
    counts: &mut RowCounts,
) -> Result<u64, BatchError> {
    let mut pending: BTreeMap<u64, Chunk<P>> = BTreeMap::new();
    let mut next = 0u64;
    let mut rows = 0u64;
    for chunk in done_rx {
        pending.insert(chunk.seq, chunk);
        while let Some(mut chunk) = pending.remove(&next) {
            consumer.part(&mut chunk.part)?;
            rows += chunk.len as u64;
            counts.add(chunk.counts);
            progress.advance(rows, chunk.end_byte);
            next += 1;
            let _ = recycle_tx.send(chunk);
        }
    }
    Ok(rows)
}

/// Classifies each row with one rule set and renders it, with its triage columns, as CSV or
/// JSON Lines.
struct ClassifyJob<'a> {
    rules: &'a RuleSet,
    format: OutputFormat,
}

/// A chunk's rendered rows and verdict counts.
#[derive(Default)]
struct ClassifyPart {
    out: Vec<u8>,
    stats: Stats,
}

/// Per-worker buffers of a classify run.
#[derive(Default)]
struct ClassifyLocal {
    verdict: Verdict,
    scratch: RowScratch,
}

impl Job for ClassifyJob<'_> {
    type Part = ClassifyPart;
    type Local = ClassifyLocal;

    fn new_part(&self) -> ClassifyPart {
        ClassifyPart::default()
    }

    fn process(
        &self,
        input: &InputCtx<'_>,
        rows: Rows<'_>,
        local: &mut ClassifyLocal,
        part: &mut ClassifyPart,
        counts: &mut RowCounts,
    ) {
        part.out.clear();
        part.stats
            .reset(self.rules.labels.len(), self.rules.categories.len());
        let out = std::mem::take(&mut part.out);
        let largest = rows
            .records
            .iter()
            .map(|r| r.as_slice().len())
            .max()
            .unwrap_or(0);
        // One CSV writer per chunk, writing into the chunk's output buffer.
        let mut sink = match self.format {
            OutputFormat::Csv => Sink::Csv(Box::new(
                csv::WriterBuilder::new()
                    .flexible(true)
                    .buffer_capacity(csv_buffer_for(largest))
                    .from_writer(out),
            )),
            OutputFormat::Jsonl => Sink::Jsonl(out),
        };
        for (row, record, quoting) in rows.iter() {
            render_row(
                self.rules,
                input,
                record,
                row,
                quoting,
                &mut local.verdict,
                &mut local.scratch,
                &mut part.stats,
                counts,
                &mut sink,
            );
        }
        part.out = match sink {
            // Flushing into a Vec cannot fail.
            Sink::Csv(w) => w.into_inner().unwrap_or_default(),
            Sink::Jsonl(out) => out,
        };
    }
}

/// Writes a classify run's header and rendered chunks, and totals their verdict counts.
struct ClassifyWriter<'o> {
    out: &'o mut (dyn Write + Send),
    format: OutputFormat,
    stats: Stats,
}

impl Consumer<ClassifyPart> for ClassifyWriter<'_> {
    fn header(&mut self, header: &[String]) -> Result<(), BatchError> {
        if self.format == OutputFormat::Jsonl {
            return Ok(());
        }
        let largest = header.iter().map(String::len).sum();
        let mut w = csv::WriterBuilder::new()
            .buffer_capacity(csv_buffer_for(largest))
            .from_writer(Vec::new());
        let result = (|| {
            for h in header {
                w.write_field(h)?;
            }
            for t in TRIAGE_COLUMNS {
                w.write_field(t)?;
            }
            w.write_record(None::<&[u8]>)?;
            w.into_inner().map_err(|e| e.into_error().into())
        })();
        let bytes = result.map_err(|e: csv::Error| BatchError::Write(e.to_string()))?;
        self.out
            .write_all(&bytes)
            .map_err(|e| BatchError::Write(e.to_string()))
    }

    fn part(&mut self, part: &mut ClassifyPart) -> Result<(), BatchError> {
        self.out
            .write_all(&part.out)
            .map_err(|e| BatchError::Write(e.to_string()))?;
        self.stats.add(&part.stats);
        Ok(())
    }
}

/// Where a worker renders a chunk's rows.
enum Sink {
    Csv(Box<csv::Writer<Vec<u8>>>),
    Jsonl(Vec<u8>),
}

/// Per-worker buffers for rendering rows.
#[derive(Default)]
struct RowScratch {
    joined: String,
    list: String,
    error: String,
}

/// Cuts `text` to at most `max` bytes on a character boundary.
fn clip(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// Notes what is wrong with a row's record in `error` (empty before): its quoting (closing
/// quotes followed by text; a quoted field never closed, for the input's last record), a field
/// count unlike the header's.
fn note_row(
    input: &InputCtx<'_>,
    record: &ByteRecord,
    row: u64,
    quoting: RowQuoting<'_>,
    error: &mut String,
) {
    if let Some(bad) = quoting.malformed {
        error.push_str(&bad.row_message());
    }
    if let Some(open) = quoting.unclosed {
        if !error.is_empty() {
            error.push_str("; ");
        }
        error.push_str(&open.row_message());
    }
    if record.len() != input.header.len() {
        use std::fmt::Write as _;
        if !error.is_empty() {
            error.push_str("; ");
        }
        let _ = write!(
            error,
            "ragged row {row}: {} field(s), header has {}{}",
            record.len(),
            input.header.len(),
            if record.len() < input.header.len() {
                "; missing fields written empty"
            } else {
                "; extra fields kept"
            }
        );
    }
}

/// Builds the ticket of a row and hands it to `f`: the first text column is the subject when
/// there are several, the others joined by blank lines; text over the limit is cut (and noted
/// in `error`); `f` also learns whether a text field needed Windows-1252 decoding. No per-row allocation unless a field needs decoding or more than two columns
/// are joined.
fn with_ticket<T>(
    input: &InputCtx<'_>,
    record: &ByteRecord,
    joined: &mut String,
    error: &mut String,
    f: impl FnOnce(&Ticket<'_>, &mut String, bool) -> T,
) -> T {
    let decoded = std::cell::Cell::new(false);
    let text = |n: usize| {
        input.plan.text.get(n).map_or(Cow::Borrowed(""), |&i| {
            let (text, was_decoded) = decode(record.get(i).unwrap_or_default());
            if was_decoded {
                decoded.set(true);
            }
            text
        })
    };
    let (subject, description): (Cow<'_, str>, Cow<'_, str>) = match input.plan.text.len() {
        0 | 1 => (Cow::Borrowed(""), text(0)),
        2 => (text(0), text(1)),
        n => {
            joined.clear();
            for k in 1..n {
                if k > 1 {
                    joined.push_str("\n\n");
                }
                joined.push_str(&text(k));
            }
            (text(0), Cow::Borrowed(joined.as_str()))
        }
    };
    let (subject, cut_s) = clip(&subject, input.max_text);
    let (description, cut_d) = clip(&description, input.max_text);
    if cut_s || cut_d {
        if !error.is_empty() {
            error.push_str("; ");
        }
        use std::fmt::Write as _;
        let _ = write!(
            error,
            "text over {} bytes: classified on its first {} bytes",
            input.max_text, input.max_text
        );
    }
    f(&Ticket::new(subject, description), error, decoded.get())
}

/// Classifies `ticket` into `verdict`. A bug in the engine must not cost the row (or the run):
/// the row gets the default label, flagged for review, and an error note instead.
fn classify_guarded(
    rules: &RuleSet,
    ticket: &Ticket<'_>,
    verdict: &mut Verdict,
    error: &mut String,
) {
    let classified = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rules.classify_into(ticket, verdict)
    }));
    if classified.is_err() {
        verdict.clear();
        verdict.label = Some(rules.default_label);
        verdict.review = true;
        if !error.is_empty() {
            error.push_str("; ");
        }
        error.push_str(
            "internal error while classifying this row (please report it); default label given",
        );
    }
}

/// Classifies `ticket` with each of `sets` (text normalised once), like [`classify_guarded`].
fn classify_each_guarded(
    sets: &[&RuleSet],
    ticket: &Ticket<'_>,
    verdicts: &mut [Verdict],
    error: &mut String,
) {
    let classified = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        RuleSet::classify_each(sets, ticket, verdicts)
    }));
    if classified.is_err() {
        for (rules, verdict) in sets.iter().zip(verdicts.iter_mut()) {
            verdict.clear();
            verdict.label = Some(rules.default_label);
            verdict.review = true;
        }
        if !error.is_empty() {
            error.push_str("; ");
        }
        error.push_str(
            "internal error while classifying this row (please report it); default label given",
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn render_row(
    rules: &RuleSet,
    ctx: &InputCtx<'_>,
    record: &ByteRecord,
    row: u64,
    quoting: RowQuoting<'_>,
    verdict: &mut Verdict,
    scratch: &mut RowScratch,
    stats: &mut Stats,
    counts: &mut RowCounts,
    sink: &mut Sink,
) {
    scratch.error.clear();
    let mut decoded_any = false;
    note_row(ctx, record, row, quoting, &mut scratch.error);
    with_ticket(
        ctx,
        record,
        &mut scratch.joined,
        &mut scratch.error,
        |ticket, error, _| classify_guarded(rules, ticket, verdict, error),
    );

    let label = verdict.label_name(rules);
    if let Some(l) = verdict.label {
        stats.labels[l.0 as usize] += 1;
    }
    match verdict.category {
        Some(c) => stats.categories[c.0 as usize] += 1,
        None => stats.no_category += 1,
    }
    stats.review += u64::from(verdict.review);
    counts.errors += u64::from(!scratch.error.is_empty());

    match sink {
        Sink::Csv(w) => {
            let result: csv::Result<()> = (|| {
                for i in 0..record.len().max(ctx.header.len()) {
                    let (value, decoded) = decode(record.get(i).unwrap_or_default());
                    decoded_any |= decoded;
                    w.write_field(value.as_bytes())?;
                }
                w.write_field(label)?;
                w.write_field(verdict.category_name(rules).unwrap_or_default())?;
                join_into(
                    &mut scratch.list,
                    verdict
                        .categories
                        .iter()
                        .map(|&c| rules.category(c).name.as_str()),
                );
                w.write_field(&scratch.list)?;
                join_into(
                    &mut scratch.list,
                    verdict.rules.iter().map(|&r| rules.rule(r).id.as_str()),
                );
                w.write_field(&scratch.list)?;
                w.write_field(verdict.vendor(rules).unwrap_or_default())?;
                w.write_field(if verdict.review { "true" } else { "false" })?;
                w.write_field(verdict.reason(rules))?;
                w.write_field(&scratch.error)?;
                w.write_record(None::<&[u8]>)
            })();
            // Writing into a Vec cannot fail.
            debug_assert!(result.is_ok());
        }
        Sink::Jsonl(out) => {
            out.push(b'{');
            let mut first = true;
            // One `"key":value` member; writing JSON into a Vec cannot fail.
            let mut member = |out: &mut Vec<u8>, k: &str, v: &dyn erased::Json| {
                if !first {
                    out.push(b',');
                }
                first = false;
                let _ = serde_json::to_writer(&mut *out, k);
                out.push(b':');
                v.write(out);
            };
            for i in 0..record.len().max(ctx.header.len()) {
                let extra;
                let k = match ctx.json_keys.get(i) {
                    Some(k) => k.as_str(),
                    None => {
                        extra = format!("extra_field_{}", i + 1 - ctx.header.len());
                        extra.as_str()
                    }
                };
                let (value, decoded) = decode(record.get(i).unwrap_or_default());
                decoded_any |= decoded;
                member(out, k, &value.as_ref());
            }
            let categories: Vec<&str> = verdict
                .categories
                .iter()
                .map(|&c| rules.category(c).name.as_str())
                .collect();
            let ids: Vec<&str> = verdict
                .rules
                .iter()
                .map(|&r| rules.rule(r).id.as_str())
                .collect();
            let error = (!scratch.error.is_empty()).then_some(scratch.error.as_str());
            member(out, JSON_ROW_KEY, &row);
            member(out, "triage_label", &label);
            member(out, "triage_category", &verdict.category_name(rules));
            member(out, "triage_categories", &categories);
            member(out, "triage_rules", &ids);
            member(out, "triage_vendor", &verdict.vendor(rules));
            member(out, "triage_review", &verdict.review);
            member(out, "triage_reason", &verdict.reason(rules));
            member(out, "triage_error", &error);
            out.extend_from_slice(b"}\n");
        }
    }
    // Every field was decoded once above, for the output: count rows that needed Windows-1252.
    counts.decoded += u64::from(decoded_any);
}

/// Serialising a value of any type through one `&dyn` parameter.
mod erased {
    pub trait Json {
        fn write(&self, out: &mut Vec<u8>);
    }
    impl<T: serde::Serialize + ?Sized> Json for T {
        fn write(&self, out: &mut Vec<u8>) {
            let _ = serde_json::to_writer(&mut *out, self);
        }
    }
}

fn join_into<'a>(buf: &mut String, items: impl Iterator<Item = &'a str>) {
    buf.clear();
    for (i, item) in items.enumerate() {
        if i > 0 {
            buf.push(';');
        }
        buf.push_str(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiter_detection_ignores_quoted_text() {
        assert_eq!(detect_delimiter(b"Id,Subject,Description\n"), b',');
        assert_eq!(detect_delimiter(b"Id;Subject;\"a,b,c,d\"\n"), b';');
        assert_eq!(detect_delimiter(b"Id\tSubject\tDescription\r\n"), b'\t');
        assert_eq!(detect_delimiter(b"justone\n"), b',');
    }

    #[test]
    fn decoding_falls_back_to_windows_1252() {
        assert_eq!(decode("café".as_bytes()), (Cow::Borrowed("café"), false));
        let (s, decoded) = decode(b"caf\xe9 \x93quoted\x94");
        assert!(decoded);
        assert_eq!(s, "café \u{201c}quoted\u{201d}");
    }

    #[test]
    fn clip_respects_char_boundaries() {
        assert_eq!(clip("héllo", 2), ("h", true));
        assert_eq!(clip("hello", 10), ("hello", false));
    }

    #[test]
    fn json_keys_are_unique() {
        let keys = json_keys(&[
            "a".into(),
            "a".into(),
            "".into(),
            "triage_label".into(),
            "triage_row".into(),
        ]);
        assert_eq!(
            keys,
            ["a", "a_2", "column_3", "triage_label_2", "triage_row_2"]
        );
    }
}
