//! `triage lint`: what loading a rules directory cannot see.

use super::classify::{open_inputs, Bar, InputArgs};
use super::render::Style;
use super::{emit_report, fail, ReportFormat, RulesArg, EXIT_FINDINGS, EXIT_OK};
use std::path::PathBuf;
use triage::fixtures::{evaluate, load_fixtures};
use triage::rules::RuleSources;
use triage::tuning::lint::{lint, sample_hits, LintOptions, LintReport, Severity, DEFAULT_BROAD};
use triage::tuning::RuleSetInfo;
use triage::RuleSet;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fixture files or directories for `unexercised-rule`. Default: `fixtures` when present.
    #[arg(long, value_name = "PATH", num_args = 1..)]
    fixtures: Vec<PathBuf>,
    /// A sample export (repeatable): rules firing on too many of its rows, or on none.
    #[arg(long, value_name = "EXPORT")]
    sample: Vec<PathBuf>,
    /// Share of sample rows above which a rule is too broad.
    #[arg(long, value_name = "SHARE", default_value_t = DEFAULT_BROAD, value_parser = parse_share)]
    broad: f64,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    /// Show findings of this severity and above (`info` shows everything).
    #[arg(long = "min-severity", value_enum, default_value = "warning")]
    min_severity: MinSeverity,
    #[command(flatten)]
    input: InputArgs,
    /// No notes on standard error.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    rules: RulesArg,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum MinSeverity {
    Error,
    Warning,
    Info,
}

fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("expected a share between 0 and 1, got {s:?}")),
    }
}

pub fn run(args: Args) -> i32 {
    let dir = args.rules.rules.as_deref();
    let sources = match dir {
        Some(d) => match RuleSources::read_dir(d) {
            Ok(s) => s,
            Err(e) => return fail(format!("cannot load rules directory {}:\n{e}", d.display())),
        },
        None => RuleSources::embedded(),
    };
    let what = dir.map_or_else(
        || "embedded rules".to_owned(),
        |d| format!("rules directory {}", d.display()),
    );
    let rules = match RuleSet::from_sources(sources.clone()) {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot load {what}:\n{e}")),
    };
    let parsed = match sources.parse() {
        Ok(p) => p,
        Err(e) => return fail(format!("cannot load {what}:\n{e}")),
    };
    let info = RuleSetInfo::new(
        &rules,
        dir.map_or_else(|| "embedded".to_owned(), |d| d.display().to_string()),
    );
    let note = |msg: &str| {
        if !args.quiet {
            eprintln!("triage: {msg}");
        }
    };

    // Fixtures: as given, else `fixtures/` when it is there and fits the rules.
    let (paths, defaulted) = if args.fixtures.is_empty() {
        let default = PathBuf::from("fixtures");
        (
            if default.is_dir() {
                vec![default]
            } else {
                Vec::new()
            },
            true,
        )
    } else {
        (args.fixtures.clone(), false)
    };
    let eval = if paths.is_empty() {
        note("no fixtures directory: rules no fixture exercises are not checked (--fixtures PATH)");
        None
    } else {
        match load_fixtures(&paths, &rules) {
            Ok(f) if !f.is_empty() => Some(evaluate(&rules, &f)),
            Ok(_) if defaulted => {
                note("fixtures/ holds no cases: unexercised rules are not checked");
                None
            }
            Ok(_) => {
                return fail("no fixtures found (looked for *.toml files with [[case]] entries)")
            }
            Err(errors) if defaulted => {
                note(&format!(
                    "fixtures/ does not fit these rules ({}): unexercised rules are not checked",
                    errors[0]
                ));
                None
            }
            Err(errors) => {
                let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                return fail(format!("bad fixtures:\n{}", lines.join("\n")));
            }
        }
    };

    let sample = if args.sample.is_empty() {
        None
    } else {
        let inputs = match open_inputs(&args.sample) {
            Ok(i) => i,
            Err(e) => return fail(e),
        };
        let bar = Bar::on_stderr(args.quiet);
        let quiet = args.quiet;
        let result = sample_hits(&rules, inputs, &args.input.config(), &bar, &mut |msg| {
            bar.note(quiet, &msg)
        });
        bar.finish();
        match result {
            Ok((hits, _)) => Some(hits),
            Err(e) => return fail(e),
        }
    };

    let opts = LintOptions {
        fixtures: eval.as_ref(),
        sample: sample.as_ref(),
        broad: args.broad,
    };
    let mut report = lint(&parsed, &rules, info, &opts);
    let floor = match args.min_severity {
        MinSeverity::Error => Severity::Error,
        MinSeverity::Warning => Severity::Warning,
        MinSeverity::Info => Severity::Info,
    };
    report.findings.retain(|f| f.severity <= floor);
    if let Err(e) = emit_report(args.format, &report, text, csv_rows) {
        return fail(e);
    }
    if report.has_errors() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

fn text(r: &LintReport, style: Style) -> String {
    let mut out = String::new();
    for f in &r.findings {
        let severity = match f.severity {
            Severity::Error => style.bold("error"),
            _ => f.severity.as_str().to_owned(),
        };
        out.push_str(&format!(
            "{}: {severity}[{}] {}\n    hint: {}\n",
            f.location(),
            f.code,
            f.message,
            style.dim(&f.hint)
        ));
    }
    let checked = if r.checked.is_empty() {
        String::new()
    } else {
        format!("; with {}", r.checked.join(" and "))
    };
    let shown = r.findings.len();
    let hidden = r.errors + r.warnings + r.infos - shown;
    let hidden = if hidden > 0 {
        format!(" ({hidden} not shown: --min-severity info)")
    } else {
        String::new()
    };
    out.push_str(&format!(
        "{} {} ({}): {} error(s), {} warning(s), {} info{hidden}{checked}\n",
        r.rule_set.name, r.rule_set.version, r.rule_set.source, r.errors, r.warnings, r.infos
    ));
    out
}

fn csv_rows(r: &LintReport) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for f in &r.findings {
        w.serialize(f).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.error().to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
