//! Command-line interface: argument parsing, rule loading, rendering for people and machines.
//! Library errors are rendered here; exit statuses: 0 success, 1 "something to look at"
//! (failing fixtures), 2 usage, input or rules errors.

mod check;
mod classify;
mod coverage;
mod diff;
mod lint;
mod render;
mod serve;
mod test;

use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use triage::RuleSet;

/// Exit status for a run that worked.
pub const EXIT_OK: i32 = 0;
/// Exit status when the run worked but found problems (failing fixtures, rows with errors).
pub const EXIT_FINDINGS: i32 = 1;
/// Exit status for usage, input and rules errors.
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, Parser)]
#[command(name = "triage", version, about = "Triage support tickets by support scope, with evidence.", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Pre-screen one case: label, reason, vendor and the evidence behind them.
    Check(check::Args),
    /// Run labelled fixtures and report failures, confusion matrix and per-rule precision.
    Test(test::Args),
    /// Label every row of helpdesk CSV exports (CSV or JSON Lines out).
    Classify(classify::Args),
    /// Compare two rule sets on exports or fixtures: label matrix, category moves, changed
    /// tickets. Exit 1 when something changed.
    Diff(diff::Args),
    /// Check rules for what loading cannot see: unexercised, redundant or conflicting rules,
    /// cross-label terms, negation opt-outs, broad rules, slow regexes. Exit 1 on an error.
    Lint(lint::Args),
    /// How the rules cover unlabelled exports: per rule and category, and frequent words of
    /// uncovered tickets.
    Coverage(coverage::Args),
    /// Serve the pre-screening API and web page (hot-reloads --rules on SIGHUP or --watch).
    Serve(serve::Args),
}

/// Options every command shares.
#[derive(Debug, clap::Args)]
pub struct RulesArg {
    /// Rules directory to use instead of the embedded default rules.
    #[arg(long, value_name = "DIR", global = true)]
    pub rules: Option<PathBuf>,
}

impl RulesArg {
    /// Loads the rule set, rendering load errors for people.
    pub fn load(&self) -> Result<RuleSet, String> {
        load_rules(self.rules.as_deref())
    }
}

pub fn load_rules(dir: Option<&Path>) -> Result<RuleSet, String> {
    RuleSet::load(dir).map_err(|errors| {
        let what = dir.map_or_else(
            || "embedded rules".to_owned(),
            |d| format!("rules directory {}", d.display()),
        );
        format!("cannot load {what}:\n{errors}")
    })
}

/// Output format of the maintainers' reports (diff, lint, coverage).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Csv,
    Json,
}

/// Renders `report` in `format` (text for people, the serde form as JSON, or the command's CSV
/// rows) and writes it to standard output.
pub fn emit_report<R: serde::Serialize>(
    format: ReportFormat,
    report: &R,
    text: fn(&R, render::Style) -> String,
    csv_rows: fn(&R) -> Result<String, String>,
) -> Result<(), String> {
    let rendered = match format {
        ReportFormat::Text => Ok(text(report, render::Style::for_stdout())),
        ReportFormat::Json => serde_json::to_string_pretty(report)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        ReportFormat::Csv => csv_rows(report),
    };
    rendered
        .map_err(|e| format!("cannot write the report: {e}"))
        .and_then(|s| print_report(&s))
}

/// Writes a report for people (`test`, `diff`, `lint`, `coverage`) to standard output. A reader
/// that went away (`| head`) is not an error: the rest of the report is simply not written, and
/// the exit status still tells the outcome.
pub fn print_report(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write the report: {e}"))
        }
        _ => Ok(()),
    }
}

/// Writes a verdict to standard output (`check`, read by scripts). A closed or failing output
/// (`| head`, a full disk) means the verdict was not delivered: an error to report, not a panic
/// as `print!` makes it.
pub fn write_stdout(text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write output: {e}"))
}

/// Prints an error for people and returns the error exit status.
pub fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("triage: error: {message}");
    EXIT_ERROR
}

pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Test(args) => test::run(args),
        Command::Classify(args) => classify::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Lint(args) => lint::run(args),
        Command::Coverage(args) => coverage::run(args),
        Command::Serve(args) => serve::run(args),
    }
}
