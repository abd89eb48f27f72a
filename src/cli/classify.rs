//! `triage classify`: label every row of helpdesk CSV exports.

use super::{fail, RulesArg, EXIT_FINDINGS, EXIT_OK};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use triage::batch::{self, BatchConfig, InputSource, OutputFormat, Progress, Summary};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV exports to classify; none or `-` reads standard input.
    #[arg(value_name = "INPUT")]
    inputs: Vec<PathBuf>,
    /// Write here (atomically: a failed run leaves no partial file) instead of standard output.
    #[arg(short, long, value_name = "PATH")]
    output: Option<PathBuf>,
    /// Output format: CSV with triage_* columns appended, or one JSON object per row.
    #[arg(long, value_enum, default_value = "csv")]
    format: Format,
    #[command(flatten)]
    input: InputArgs,
    /// Write the run summary as JSON to this file.
    #[arg(long = "summary-json", value_name = "PATH")]
    summary_json: Option<PathBuf>,
    /// No progress bar and no summary on standard error.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    rules: RulesArg,
}

/// How to read exports: columns, delimiter, threads (shared by every command that reads them).
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Column holding ticket text (repeatable, subject-like first). Default: detected.
    #[arg(long = "text-column", value_name = "NAME")]
    text_columns: Vec<String>,
    /// Column holding the ticket id. Default: detected (Id, Ticket ID, number, Issue key…).
    #[arg(long = "id-column", value_name = "NAME")]
    id_column: Option<String>,
    /// Field delimiter: `,` `;` `tab` or any single character. Default: detected from the header.
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// Worker threads. Default: all cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
}

impl InputArgs {
    /// A batch configuration reading as these options say.
    pub fn config(&self) -> BatchConfig {
        BatchConfig {
            text_columns: self.text_columns.clone(),
            id_column: self.id_column.clone(),
            delimiter: self.delimiter,
            threads: self
                .threads
                .map_or_else(|| BatchConfig::default().threads, usize::from),
            ..BatchConfig::default()
        }
    }
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!("expected one ASCII character or `tab`, got {s:?}")),
    }
}

/// Exit status after SIGINT or SIGTERM (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: i32 = 130;
/// How an interrupted run's error reads (`BatchError::Interrupted` rendered).
pub const INTERRUPTED: &str = "interrupted";

/// The temporary output file while it is being written, for a second signal to remove.
pub type TempPath = Arc<Mutex<Option<PathBuf>>>;

/// A flag raised by SIGINT/SIGTERM: the batch stops reading, nothing more is written, and a
/// temporary output file is removed instead of being renamed into place. A second signal ends
/// the process at once (after removing the temporary file): the first cannot stop a read that
/// waits for input which does not come (a silent pipe).
pub fn interrupt_flag(temp: TempPath) -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let raised = Arc::clone(&flag);
    // Fails only if a handler is already installed (not the case in this process): then a
    // signal simply ends the process, which never renames the temporary file either.
    let _ = ctrlc::set_handler(move || {
        if !raised.swap(true, Ordering::SeqCst) {
            eprintln!("triage: stopping (interrupt again to stop at once)");
            return;
        }
        // The handler runs on its own thread, not in signal context: removing a file is fine.
        let removed = temp.lock().ok().and_then(|mut t| t.take());
        if let Some(path) = removed {
            let _ = std::fs::remove_file(path);
        }
        eprintln!("triage: interrupted twice; stopped at once, nothing more written");
        std::process::exit(EXIT_INTERRUPTED);
    });
    flag
}

/// A progress bar on standard error, or nothing.
pub struct Bar(Option<ProgressBar>);

impl Bar {
    /// A bar when standard error is a terminal and not `quiet`.
    pub fn on_stderr(quiet: bool) -> Self {
        let show = !quiet && std::io::stderr().is_terminal();
        Bar(show.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
            bar
        }))
    }

    /// Prints a note for people on standard error (around the bar), unless `quiet`.
    pub fn note(&self, quiet: bool, msg: &str) {
        if quiet {
            return;
        }
        match &self.0 {
            Some(b) => b.suspend(|| eprintln!("triage: {msg}")),
            None => eprintln!("triage: {msg}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn start_input(&self, name: &str, size: Option<u64>) {
        if let Some(bar) = &self.0 {
            bar.reset();
            bar.set_message(name.to_owned());
            match size {
                Some(len) => {
                    bar.set_length(len);
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {prefix} ETA {eta}",
                        )
                        .expect("template")
                        .progress_chars("=> "),
                    );
                }
                None => {
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{spinner} {msg} {bytes} {binary_bytes_per_sec} {prefix}",
                        )
                        .expect("template"),
                    );
                }
            }
        }
    }
    fn advance(&self, rows: u64, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(bytes);
            let secs = bar.elapsed().as_secs_f64().max(1e-3);
            bar.set_prefix(format!("{rows} rows {:.0} rows/s", rows as f64 / secs));
        }
    }
}

pub fn open_inputs(paths: &[PathBuf]) -> Result<Vec<InputSource>, String> {
    if paths.is_empty() {
        return Ok(vec![stdin_source()]);
    }
    paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                return Ok(stdin_source());
            }
            if p.is_dir() {
                return Err(format!(
                    "{}: is a directory, expected a CSV file",
                    p.display()
                ));
            }
            let file =
                std::fs::File::open(p).map_err(|e| format!("{}: cannot open: {e}", p.display()))?;
            let size = file.metadata().ok().map(|m| m.len());
            Ok(InputSource {
                name: p.display().to_string(),
                reader: Box::new(file),
                size,
            })
        })
        .collect()
}

fn stdin_source() -> InputSource {
    InputSource {
        name: "<stdin>".into(),
        reader: Box::new(std::io::stdin()),
        size: None,
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

pub fn run(args: Args) -> i32 {
    let rules = match args.rules.load() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if let Some(out) = &args.output {
        if args.inputs.iter().any(|i| same_file(i, out)) {
            return fail(format!(
                "{}: output would overwrite an input; choose another -o path",
                out.display()
            ));
        }
    }
    let inputs = match open_inputs(&args.inputs) {
        Ok(i) => i,
        Err(e) => return fail(e),
    };
    let temp = TempPath::default();
    let cfg = BatchConfig {
        format: match args.format {
            Format::Csv => OutputFormat::Csv,
            Format::Jsonl => OutputFormat::Jsonl,
        },
        cancel: Some(interrupt_flag(Arc::clone(&temp))),
        ..args.input.config()
    };
    let bar = Bar::on_stderr(args.quiet);
    let quiet = args.quiet;
    let mut note = |msg: String| bar.note(quiet, &msg);
    let result = match &args.output {
        Some(path) => write_output(path, &temp, |w| {
            batch::run(&rules, inputs, w, &cfg, &bar, &mut note).map_err(|e| e.to_string())
        }),
        None => {
            let mut w = BufWriter::with_capacity(1 << 16, std::io::stdout());
            batch::run(&rules, inputs, &mut w, &cfg, &bar, &mut note)
                .map_err(|e| e.to_string())
                .and_then(|s| {
                    w.flush().map_err(|e| format!("cannot write output: {e}"))?;
                    Ok(s)
                })
        }
    };
    bar.finish();
    let summary = match result {
        Ok(s) => s,
        Err(e) if e == INTERRUPTED => {
            let what = match &args.output {
                Some(p) => format!("; {} was not written", p.display()),
                None => "; standard output holds only the rows written so far".to_owned(),
            };
            eprintln!("triage: interrupted{what}");
            return EXIT_INTERRUPTED;
        }
        Err(e) => return fail(e),
    };
    if !args.quiet {
        eprint!("{}", summary_text(&summary));
    }
    if let Some(path) = &args.summary_json {
        let json = serde_json::to_string_pretty(&summary).expect("summary serialises");
        if let Err(e) = std::fs::write(path, json + "\n") {
            return fail(format!("{}: cannot write summary: {e}", path.display()));
        }
    }
    if summary.errors > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Writes the output to `path`: atomically when it is (or will be) a regular file; a symbolic
/// link is followed, so the file it points to gets the output and the link stays; a special
/// file (`/dev/null`, a named pipe, a terminal) is written in place, since replacing it would
/// destroy it (and for a device, the output was never going to be kept anyway).
fn write_output(
    path: &Path,
    temp: &TempPath,
    body: impl FnOnce(&mut (dyn Write + Send)) -> Result<Summary, String>,
) -> Result<Summary, String> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => write_in_place(path, body),
        Ok(meta) if meta.is_file() && path.is_symlink() => {
            let target = std::fs::canonicalize(path)
                .map_err(|e| format!("{}: cannot follow link: {e}", path.display()))?;
            write_atomically(&target, temp, body)
        }
        _ => write_atomically(path, temp, body),
    }
}

/// Writes straight into a special file.
fn write_in_place(
    path: &Path,
    body: impl FnOnce(&mut (dyn Write + Send)) -> Result<Summary, String>,
) -> Result<Summary, String> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: cannot open output: {e}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let summary = body(&mut w)?;
    w.flush()
        .map_err(|e| format!("{}: cannot write output: {e}", path.display()))?;
    Ok(summary)
}

/// Writes through a temporary file beside `path`, renamed over it only on success. The
/// temporary file's path is in `temp` while it exists.
fn write_atomically(
    path: &Path,
    temp: &TempPath,
    body: impl FnOnce(&mut (dyn Write + Send)) -> Result<Summary, String>,
) -> Result<Summary, String> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if path.is_dir() {
        return Err(format!("{}: is a directory", path.display()));
    }
    let tmp = tempfile::Builder::new()
        .prefix(".triage-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(|e| {
            // tempfile appends ` at path "<dir>/.triage-XXXXXX.tmp"`, a name the user never
            // chose: keep the cause only.
            let message = e.to_string();
            let cause = message.split(" at path ").next().unwrap_or(&message);
            format!("{}: cannot create output: {cause}", path.display())
        })?;
    let set_temp = |p: Option<PathBuf>| {
        if let Ok(mut t) = temp.lock() {
            *t = p;
        }
    };
    set_temp(Some(tmp.path().to_owned()));
    let result = write_through(path, tmp, body);
    set_temp(None);
    result
}

/// The body of [`write_atomically`]: write, sync, set the mode, rename.
fn write_through(
    path: &Path,
    tmp: tempfile::NamedTempFile,
    body: impl FnOnce(&mut (dyn Write + Send)) -> Result<Summary, String>,
) -> Result<Summary, String> {
    let mut w = BufWriter::with_capacity(1 << 16, tmp);
    let summary = body(&mut w)?;
    let tmp = w
        .into_inner()
        .map_err(|e| format!("{}: cannot write output: {}", path.display(), e.error()))?;
    tmp.as_file()
        .sync_all()
        .map_err(|e| format!("{}: cannot write output: {e}", path.display()))?;
    // A temporary file is created private (0600): give the output the mode the file it replaces
    // had, or the usual mode of a new file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode));
    }
    tmp.persist(path)
        .map_err(|e| format!("{}: cannot write output: {}", path.display(), e.error))?;
    Ok(summary)
}

fn summary_text(s: &Summary) -> String {
    let mut out = format!(
        "triage: {} rows in {:.2}s ({:.0} rows/s, {:.1} MB/s, {} threads)\n",
        s.rows, s.elapsed_seconds, s.rows_per_second, s.megabytes_per_second, s.threads
    );
    let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k} {v}")).collect();
    out.push_str(&format!("  by label:    {}\n", labels.join(", ")));
    let mut cats: Vec<(&String, &u64)> = s.categories.iter().collect();
    cats.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let cats: Vec<String> = cats.iter().map(|(k, v)| format!("{k} {v}")).collect();
    out.push_str(&format!("  by category: {}\n", cats.join(", ")));
    out.push_str(&format!("  review: {}, errors: {}\n", s.review, s.errors));
    out
}
