//! Checks shared by the fuzz targets (`fuzz/`, run with `cargo +nightly fuzz`) and by the
//! corpus replay and regression tests of `cargo test` (stable), so that a fuzz finding and its
//! regression test run the very same code.
//!
//! Each `check_*` function takes arbitrary bytes and panics when the library misbehaves: a
//! panic inside the library, an evidence span that is not a valid range of the text, a row
//! lost or changed by a batch run. Returning normally means the input was handled (classified,
//! or refused with an error).

use crate::batch::{self, BatchConfig, InputSource, NoProgress, OutputFormat};
use crate::rules::{RuleSources, SourceFile};
use crate::{Field, RuleSet, Ticket, Verdict};
use std::path::Path;
use std::sync::OnceLock;

/// The names of the fuzz targets, which are also the folders of their corpora.
pub const TARGETS: [&str; 3] = ["rules_load", "classify_text", "classify_csv"];

/// Runs the check of fuzz target `target` (one of [`TARGETS`]) on `data`.
pub fn check(target: &str, data: &[u8]) {
    match target {
        "rules_load" => check_rules_load(data),
        "classify_text" => check_classify_text(data),
        "classify_csv" => check_classify_csv(data),
        other => panic!("unknown fuzz target {other:?}"),
    }
}

fn default_rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::embedded().expect("the default rules load"))
}

// --- target rules_load ----------------------------------------------------------------------

/// A small rules directory using every feature of the format; the base that `rules_load`
/// mutates (the default rules take too long to compile for a fuzzer to try many variants).
pub const MINI_RULES: [(&str, &str); 7] = [
    (
        "policy.toml",
        r#"name = "mini"
version = "1"
labels = ["in-scope", "vendor-referral", "out-of-scope"]
default_label = "in-scope"
default_reason = "nothing fired"
precedence = [["security"], ["howto"], ["oss"], ["distro"]]

[[category]]
name = "security"
label = "out-of-scope"

[[category]]
name = "howto"
label = "out-of-scope"

[[category]]
name = "oss"
label = "in-scope"
yields_to = ["distro"]

[[category]]
name = "distro"
label = "vendor-referral"
"#,
    ),
    (
        "matrix.toml",
        r#"category = "distro"

[[distro]]
id = "ubuntu"
name = "Ubuntu"
vendor = "Canonical"
aliases = ["ubuntu"]
release = '(?P<major>\d{2})(?:[._ ]?(?P<minor>\d{2}))?'
supported = ["20.04", "22.04"]
codenames = { jammy = "22.04" }
alias_codenames = { focal = "20.04" }
reason = "ubuntu outside"

[[distro]]
id = "sles"
name = "SLES"
aliases = ["sles", "suse"]
supported = ["15 SP6"]
reason = "sles outside"
"#,
    ),
    (
        "language.toml",
        r#"[negation]
window = 5
forward = ["not", "no", "without", "no sign of"]
backward = ["ruled out", "false positive"]
pseudo = ["not only", "no longer", 're:(not|n''t) (start|work|boot)\w*']
terminators = ["but", ", the"]

[zones]
quote_prefix = [">"]
quote_header = ['re:^on .{1,200} wrote:$']
signature = ["--", "thanks"]
disclaimer = ["intended recipient"]
log_line = ['re:^\s*\[\s*\d+\.\d+\]']
link = ['re:\bhttps?://\S+', 'www.']
history = ['re:\b(from\s+[a-z]+\s+\d+)\s+to\s+[a-z]']

[upgrades]
to = ["to", "->"]
release_suffixes = ["lts"]
"#,
    ),
    (
        "lists.toml",
        r#"[lists]
failures = ["error", "fails to start", "502"]
"#,
    ),
    (
        "categories/security.toml",
        r#"category = "security"

[[rule]]
id = "security.compromise"
reason = "compromised"
vendor = "an incident response partner"
any = ["hacked", "compromis*", "*miner", "re:crypto ?min(er|ing)", 're:ah0\d{4}']
"#,
    ),
    (
        "categories/howto.toml",
        r#"category = "howto"

[[rule]]
id = "howto.admin"
reason = "how-to"
all = [["how do i", "how to"], ["sudo", "user"]]
none = ["error"]

[[rule]]
id = "howto.subject"
reason = "asked in the subject"
fields = "subject"
any = ["question"]
"#,
    ),
    (
        "categories/oss.toml",
        r#"category = "oss"

[[rule]]
id = "oss.failure"
reason = "supported failure"
zones = ["body", "log"]
all = [["tomcat", "php"], ["@failures"]]

[[rule]]
id = "oss.kernel"
reason = "kernel version"
variants = true
negatable = false
any = ["kernel 6.9", 're:\w+ segfault']

[[rule]]
id = "oss.built"
reason = "self-built"
[[rule.near]]
a = ["kernel"]
b = ["compiled", "built"]
within = 3
ordered = true
"#,
    ),
];

/// Builds rule sources from fuzz bytes. Byte 0 picks the base (mostly [`MINI_RULES`], rarely
/// the embedded default rules) and the first file to replace; the rest, split at NUL bytes,
/// replaces that file and the ones after it, in turn (wrapping around).
pub fn rule_sources(data: &[u8]) -> RuleSources {
    let (selector, rest) = data.split_first().map_or((0, data), |(s, r)| (*s, r));
    let mut files: Vec<SourceFile> = if selector >= 0xF0 {
        let s = RuleSources::embedded();
        [s.policy, s.matrix, s.language]
            .into_iter()
            .chain(s.lists)
            .chain(s.categories)
            .collect()
    } else {
        MINI_RULES
            .iter()
            .map(|(name, text)| SourceFile::new(Path::new("<fuzz>").join(name), (*text).to_owned()))
            .collect()
    };
    let count = files.len();
    let parts = rest.split(|&b| b == 0).filter(|_| !rest.is_empty());
    for (i, part) in parts.enumerate() {
        let file = &mut files[(usize::from(selector) + i) % count];
        *file = SourceFile::new(
            file.path.clone(),
            String::from_utf8_lossy(part).into_owned(),
        );
    }
    let mut files = files.into_iter();
    let mut next = || files.next().expect("policy, matrix and language files");
    let (policy, matrix, language, lists) = (next(), next(), next(), next());
    RuleSources {
        policy,
        matrix,
        language,
        lists: Some(lists),
        categories: files.collect(),
    }
}

/// Target `rules_load`: loading rules made from arbitrary bytes returns a rule set or located
/// errors; a rule set that loads classifies the same bytes (as a ticket) soundly.
pub fn check_rules_load(data: &[u8]) {
    let sources = rule_sources(data);
    let text = String::from_utf8_lossy(data);
    match RuleSet::from_sources(sources) {
        Ok(rules) => {
            for ticket in [
                Ticket::new("Ubuntu 18.04 hacked", "tomcat fails to start: error 502"),
                Ticket::new(&text, &text),
            ] {
                check_verdict(&rules, &ticket, &rules.classify(&ticket));
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a failed load reports its errors");
            for e in errors.iter() {
                assert!(e.location.line >= 1 && e.location.column >= 1, "{e}");
            }
        }
    }
}

// --- target classify_text -------------------------------------------------------------------

/// Splits fuzz bytes into a ticket's subject (up to the first newline) and description.
pub fn ticket_text(data: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(data);
    match text.split_once('\n') {
        Some((s, d)) => (s.to_owned(), d.to_owned()),
        None => (String::new(), text.into_owned()),
    }
}

/// Target `classify_text`: arbitrary text classifies with the default rules, the same way
/// twice, with evidence spans that are valid character-boundary ranges of the text.
pub fn check_classify_text(data: &[u8]) {
    let rules = default_rules();
    let (subject, description) = ticket_text(data);
    let ticket = Ticket::new(&subject, &description);
    let verdict = rules.classify(&ticket);
    check_verdict(rules, &ticket, &verdict);
    assert_eq!(
        verdict,
        rules.classify(&ticket),
        "classification is deterministic"
    );
    serde_json::to_string(&verdict.report(rules, &ticket)).expect("the report serialises");
}

/// Asserts what every verdict must satisfy: a label; fired rules and categories consistent;
/// evidence and entity spans that are non-empty character-boundary ranges of their field.
pub fn check_verdict(rules: &RuleSet, ticket: &Ticket<'_>, verdict: &Verdict) {
    assert!(verdict.label.is_some(), "every verdict has a label");
    if let Some(c) = verdict.category {
        assert!(verdict.categories.contains(&c), "deciding category fired");
    }
    for &r in &verdict.rules {
        assert!(
            verdict.categories.contains(&rules.rule(r).category),
            "a fired rule's category fired"
        );
    }
    let spans = verdict
        .evidence
        .iter()
        .map(|e| (e.field, e.start, e.end))
        .chain(verdict.entities.iter().map(|e| (e.field, e.start, e.end)));
    for (field, start, end) in spans {
        check_span(ticket, field, start, end);
    }
}

fn check_span(ticket: &Ticket<'_>, field: Field, start: usize, end: usize) {
    let text = ticket.field(field);
    assert!(
        start < end && end <= text.len(),
        "span {start}..{end} out of the {} bytes of the {} field",
        text.len(),
        field.as_str()
    );
    assert!(
        text.is_char_boundary(start) && text.is_char_boundary(end),
        "span {start}..{end} splits a character of the {} field",
        field.as_str()
    );
}

// --- target classify_csv --------------------------------------------------------------------

/// How `classify_csv` runs a batch, from byte 0 of the fuzz input.
#[derive(Debug, Clone, Copy)]
pub struct CsvMode {
    pub threads: usize,
    pub format: OutputFormat,
    /// Clip text at 64 bytes instead of the default, to exercise clipping.
    pub small_limit: bool,
    /// Put a known header before the bytes (so the rows, not column detection, get fuzzed).
    pub known_header: bool,
    /// Split the bytes in two inputs at the first `\x00\x00`.
    pub two_inputs: bool,
    /// Chunks of at most 2 rows or 64 bytes, to exercise reordering.
    pub small_chunks: bool,
}

impl CsvMode {
    pub fn from_byte(b: u8) -> Self {
        CsvMode {
            threads: 1 + usize::from(b & 1),
            format: if b & 2 == 0 {
                OutputFormat::Csv
            } else {
                OutputFormat::Jsonl
            },
            small_limit: b & 4 != 0,
            known_header: b & 8 != 0,
            two_inputs: b & 16 != 0,
            small_chunks: b & 32 != 0,
        }
    }
}

/// Target `classify_csv`: `batch::run` over arbitrary bytes as CSV, with an in-memory reader
/// and writer, never panics; when it succeeds, the output holds one record per input record,
/// in order, with every input field unchanged (decoded as the run decodes it), no row was
/// classified with an internal error, a row is flagged for an unclosed quote exactly when it is
/// the last of an input that csv-core ends inside a quoted field, and for malformed quoting
/// exactly when a field csv-core read from it has text after its closing quote
/// ([`text_after_closing_quote`]); a run whose header is either must fail.
pub fn check_classify_csv(data: &[u8]) {
    let (mode, rest) = match data.split_first() {
        Some((b, rest)) => (CsvMode::from_byte(*b), rest),
        None => (CsvMode::from_byte(0), data),
    };
    let parts: Vec<Vec<u8>> = {
        let split = mode
            .two_inputs
            .then(|| rest.windows(2).position(|w| w == [0, 0]))
            .flatten();
        let raw: Vec<&[u8]> = match split {
            Some(i) => vec![&rest[..i], &rest[i + 2..]],
            None => vec![rest],
        };
        raw.into_iter()
            .map(|p| {
                if mode.known_header {
                    [b"Id,Subject,Description\n".as_slice(), p].concat()
                } else {
                    p.to_vec()
                }
            })
            .collect()
    };
    let cfg = BatchConfig {
        threads: mode.threads,
        format: mode.format,
        max_text_bytes: if mode.small_limit {
            64
        } else {
            batch::DEFAULT_MAX_TEXT_BYTES
        },
        chunk_rows: if mode.small_chunks {
            2
        } else {
            batch::DEFAULT_CHUNK_ROWS
        },
        chunk_bytes: if mode.small_chunks {
            64
        } else {
            batch::DEFAULT_CHUNK_BYTES
        },
        ..BatchConfig::default()
    };
    let inputs = parts
        .iter()
        .enumerate()
        .map(|(i, p)| InputSource {
            name: format!("input-{i}"),
            reader: Box::new(std::io::Cursor::new(p.clone())),
            size: Some(p.len() as u64),
        })
        .collect();
    let mut out = Vec::new();
    let result = batch::run(
        default_rules(),
        inputs,
        &mut out,
        &cfg,
        &NoProgress,
        &mut |_| {},
    );
    let Ok(summary) = result else { return };
    let mut header: Option<Vec<String>> = None;
    // Each row with its 1-based number in its input and how it must be flagged.
    let mut rows: Vec<(usize, Vec<String>, Flags)> = Vec::new();
    for part in &parts {
        let (h, r, unclosed) = input_records(part, cfg.delimiter);
        assert!(
            !(unclosed && r.is_empty()),
            "a header whose quoted field is never closed was accepted"
        );
        assert!(
            !h.1,
            "a header with text after a closing quote was accepted"
        );
        header.get_or_insert(h.0);
        let last = r.len();
        rows.extend(r.into_iter().enumerate().map(|(i, (row, malformed))| {
            let flags = Flags {
                unclosed: unclosed && i + 1 == last,
                malformed,
            };
            (i + 1, row, flags)
        }));
    }
    let header = header.expect("a successful run read a header");
    assert_eq!(summary.rows, rows.len() as u64, "summary counts every row");
    match mode.format {
        OutputFormat::Csv => check_csv_output(&out, &header, &rows),
        OutputFormat::Jsonl => check_jsonl_output(&out, &header, &rows),
    }
}

/// How a row must be flagged for its quoting.
#[derive(Debug, Clone, Copy)]
struct Flags {
    /// The input ends inside one of its fields.
    unclosed: bool,
    /// Text follows a closing quote in one of its fields.
    malformed: bool,
}

/// A record's decoded fields and whether text follows a closing quote in one of them.
type Record = (Vec<String>, bool);

/// The header and data records of one input, read as `batch::run` reads them (BOM dropped,
/// delimiter detected from the header line) and decoded as it decodes them, each with whether
/// text follows a closing quote in it ([`text_after_closing_quote`]); and whether csv-core ends
/// the input inside a quoted field (found without the batch's own check: a line break and a
/// byte appended then stay in the last field instead of making a new record).
fn input_records(data: &[u8], delimiter: Option<u8>) -> (Record, Vec<Record>, bool) {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let delimiter = delimiter.unwrap_or_else(|| batch::detect_delimiter(data));
    let reader = |data| {
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(data)
    };
    let mut csv_reader = reader(data);
    let mut record = csv::ByteRecord::new();
    let mut records = std::iter::from_fn(|| {
        let more = csv_reader
            .read_byte_record(&mut record)
            .expect("in-memory CSV reads");
        more.then(|| {
            let start = record
                .position()
                .expect("a read record has a position")
                .byte() as usize;
            let mut raw = &data[start..csv_reader.position().byte() as usize];
            // csv-core skips a second byte-order mark (its first read holds all of `data`).
            if start == 0 {
                raw = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw);
            }
            let fields = record
                .iter()
                .map(|f| batch::decode(f).0.into_owned())
                .collect::<Vec<String>>();
            (fields, text_after_closing_quote(raw, &record, delimiter))
        })
    });
    let header = records.next().expect("a successful run read a header");
    let rows: Vec<Record> = records.collect();
    let longer = [data, b"\nz"].concat();
    let unclosed = reader(longer.as_slice()).into_byte_records().count() == rows.len() + 1;
    (header, rows, unclosed)
}

/// Whether csv-core, reading `fields` out of `raw` (the bytes it consumed for that record, as
/// its positions give them), found a closing quote followed by more text in one of them. Found
/// without following csv-core's quoting: each field is matched against `raw` as it stands
/// there, verbatim when it does not start with a quote, else as strict RFC 4180 writes it (in
/// quotes, quotes doubled) and followed by the delimiter, a line end or nothing. A quoted field
/// that does not match is one with text after its closing quote, or one the input ends inside
/// (then what is left of `raw` is a beginning of it); `false` for the latter.
pub fn text_after_closing_quote(raw: &[u8], fields: &csv::ByteRecord, delimiter: u8) -> bool {
    // csv-core skips line ends before a record (blank lines, the `\n` of a `\r\n`).
    let start = raw
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(raw.len());
    let mut rest = &raw[start..];
    let mut quoted = Vec::new();
    for (k, field) in fields.iter().enumerate() {
        if k > 0 {
            assert_eq!(rest.first(), Some(&delimiter), "a delimiter between fields");
            rest = &rest[1..];
        }
        if rest.first() != Some(&b'"') {
            rest = rest
                .strip_prefix(field)
                .expect("an unquoted field is read verbatim");
            continue;
        }
        quoted.clear();
        quoted.push(b'"');
        for &b in field {
            if b == b'"' {
                quoted.push(b'"');
            }
            quoted.push(b);
        }
        quoted.push(b'"');
        match rest.strip_prefix(quoted.as_slice()) {
            Some(after) => match after.first() {
                None | Some(b'\r' | b'\n') => rest = after,
                Some(&b) if b == delimiter => rest = after,
                Some(_) => return true,
            },
            None => return !quoted.starts_with(rest),
        }
    }
    false
}

/// How a row's `triage_error` says it is flagged for its quoting.
fn quoting_flags(error: &str) -> (bool, bool) {
    (
        error.contains("unclosed quote: "),
        error.contains("malformed quoting: "),
    )
}

fn check_csv_output(out: &[u8], header: &[String], rows: &[(usize, Vec<String>, Flags)]) {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(out);
    let records: Vec<csv::StringRecord> = reader
        .records()
        .map(|r| r.expect("output is UTF-8 CSV"))
        .collect();
    let (out_header, out_rows) = records.split_first().expect("output has a header");
    let expected_header: Vec<&str> = header
        .iter()
        .map(String::as_str)
        .chain(batch::TRIAGE_COLUMNS)
        .collect();
    assert_eq!(out_header.iter().collect::<Vec<_>>(), expected_header);
    assert_eq!(
        out_rows.len(),
        rows.len(),
        "one output record per input record"
    );
    let error_column = batch::TRIAGE_COLUMNS.len() - 1;
    for (n, (got, (_, row, flags))) in out_rows.iter().zip(rows).enumerate() {
        let width = row.len().max(header.len());
        assert_eq!(got.len(), width + batch::TRIAGE_COLUMNS.len(), "row {n}");
        for i in 0..width {
            let want = row.get(i).map_or("", String::as_str);
            assert_eq!(&got[i], want, "row {n} field {i} unchanged");
        }
        let error = &got[width + error_column];
        assert!(!error.contains("internal error"), "row {n}: {error}");
        assert_eq!(
            quoting_flags(error),
            (flags.unclosed, flags.malformed),
            "row {n}: {error}"
        );
    }
}

fn check_jsonl_output(out: &[u8], header: &[String], rows: &[(usize, Vec<String>, Flags)]) {
    let text = std::str::from_utf8(out).expect("JSON Lines output is UTF-8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), rows.len(), "one output line per input record");
    let keys = batch::json_keys(header);
    for (n, (line, (row_number, row, flags))) in lines.iter().zip(rows).enumerate() {
        let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
        let object = value.as_object().expect("each line is a JSON object");
        assert_eq!(
            object["triage_row"],
            serde_json::json!(row_number),
            "line {n}"
        );
        assert!(object["triage_label"].is_string());
        for (i, key) in keys.iter().enumerate() {
            let want = row.get(i).map_or("", String::as_str);
            assert_eq!(
                object[key.as_str()],
                want,
                "row {n} field {key:?} unchanged"
            );
        }
        let error = object["triage_error"].as_str().unwrap_or_default();
        assert!(!error.contains("internal error"), "row {n}: {error}");
        assert_eq!(
            quoting_flags(error),
            (flags.unclosed, flags.malformed),
            "row {n}: {error}"
        );
    }
}

// --- stress: many rules -----------------------------------------------------------------------

/// A category file of `n` generated rules for `category`, to load and run a very large rule
/// set. Rule `i` (`generated.r{i}`) fires when the text has "product{i} fails to start" (every
/// tenth rule also takes a regex with a literal prefix, `re:err{i}-\d+`) and "widget{i}" or
/// "gadget{i}…" with "crash(es)", and not "not product{i}"; every hundredth also needs
/// "module{i}" within 4 words of "panic". [`many_rules_ticket`] writes a ticket that fires
/// rule `i`.
pub fn many_rules_category(category: &str, n: usize) -> String {
    use std::fmt::Write as _;
    let mut out = format!("category = \"{category}\"\n");
    for i in 0..n {
        let _ = write!(
            out,
            "\n[[rule]]\nid = \"generated.r{i}\"\nreason = \"generated rule {i}\"\n\
             vendor = \"Vendor {i}\"\nany = [\"product{i} fails to start\"{regex}]\n\
             all = [[\"widget{i}\", \"gadget{i}*\"], [\"crash\", \"crashes\"]]\n\
             none = [\"not product{i}\"]\n",
            regex = if i % 10 == 0 {
                format!(", 're:err{i}-\\d+'")
            } else {
                String::new()
            }
        );
        if i % 100 == 0 {
            let _ = write!(
                out,
                "[[rule.near]]\na = [\"module{i}\"]\nb = [\"panic\"]\nwithin = 4\n"
            );
        }
    }
    out
}

/// A ticket text that fires generated rule `i` of [`many_rules_category`].
pub fn many_rules_ticket(i: usize) -> String {
    format!(
        "Since the update product{i} fails to start on our VM and widget{i} crashes every \
         few minutes; the log says err{}-42 and module{} hit a panic.",
        i - i % 10,
        i - i % 100
    )
}
