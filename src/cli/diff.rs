//! `triage diff`: what a rules change does to real tickets or to the fixture suite.

use super::classify::{interrupt_flag, open_inputs, Bar, InputArgs, EXIT_INTERRUPTED};
use super::render::Style;
use super::{emit_report, fail, load_rules, ReportFormat, RulesArg, EXIT_FINDINGS, EXIT_OK};
use std::path::{Path, PathBuf};
use triage::batch::{BatchConfig, BatchError};
use triage::fixtures::load_fixtures;
use triage::tuning::diff::{diff_exports, diff_fixtures, Change, DiffOptions, DiffReport, Side};
use triage::tuning::RuleSetInfo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV exports to classify with both rule sets (one read); none or `-` reads standard input.
    #[arg(value_name = "EXPORT")]
    inputs: Vec<PathBuf>,
    /// The changed rules directory, compared with --rules (default: the embedded rules).
    #[arg(long, value_name = "NEW_DIR")]
    against: PathBuf,
    /// Compare on labelled fixtures instead of exports (default `fixtures`), and say which
    /// newly pass or newly fail.
    #[arg(long, value_name = "PATH", num_args = 0.., conflicts_with = "inputs")]
    fixtures: Option<Vec<PathBuf>>,
    /// Also list tickets whose verdict stayed but whose fired rules changed.
    #[arg(long = "rule-changes")]
    rule_changes: bool,
    /// Report format. `csv` writes one row per changed ticket (the counts go to standard error).
    #[arg(long, value_enum, default_value = "text")]
    format: ReportFormat,
    #[command(flatten)]
    input: InputArgs,
    /// No progress bar and no notes on standard error.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    rules: RulesArg,
}

fn source_name(dir: Option<&Path>) -> String {
    dir.map_or_else(|| "embedded".to_owned(), |d| d.display().to_string())
}

pub fn run(args: Args) -> i32 {
    let old = match args.rules.load() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let new = match load_rules(Some(&args.against)) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let opts = DiffOptions {
        rule_changes: args.rule_changes,
    };
    let old_info = RuleSetInfo::new(&old, source_name(args.rules.rules.as_deref()));
    let new_info = RuleSetInfo::new(&new, source_name(Some(&args.against)));
    let report = match &args.fixtures {
        Some(paths) => {
            let paths = if paths.is_empty() {
                vec![PathBuf::from("fixtures")]
            } else {
                paths.clone()
            };
            // Fixtures describe the policy the new rules implement: check them against those.
            let fixtures = match load_fixtures(&paths, &new) {
                Ok(f) => f,
                Err(errors) => {
                    let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                    return fail(format!("bad fixtures:\n{}", lines.join("\n")));
                }
            };
            if fixtures.is_empty() {
                return fail("no fixtures found (looked for *.toml files with [[case]] entries)");
            }
            diff_fixtures((&old, old_info), (&new, new_info), opts, &fixtures)
        }
        None => {
            let inputs = match open_inputs(&args.inputs) {
                Ok(i) => i,
                Err(e) => return fail(e),
            };
            let cfg = BatchConfig {
                cancel: Some(interrupt_flag(Default::default())),
                ..args.input.config()
            };
            let bar = Bar::on_stderr(args.quiet);
            let quiet = args.quiet;
            let result = diff_exports(
                (&old, old_info),
                (&new, new_info),
                opts,
                inputs,
                &cfg,
                &bar,
                &mut |msg| bar.note(quiet, &msg),
            );
            bar.finish();
            match result {
                Ok((report, _)) => report,
                Err(BatchError::Interrupted) => {
                    eprintln!("triage: interrupted");
                    return EXIT_INTERRUPTED;
                }
                Err(e) => return fail(e),
            }
        }
    };
    if matches!(args.format, ReportFormat::Csv) && !args.quiet {
        eprint!("{}", counts_text(&report));
    }
    if let Err(e) = emit_report(args.format, &report, text, csv_rows) {
        return fail(e);
    }
    if report.has_changes() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

fn verdict(label: &str, category: Option<&str>) -> String {
    format!(
        "{label}/{}",
        category.unwrap_or(triage::fixtures::NO_CATEGORY)
    )
}

/// The header lines: rule sets, rows, changes, fixtures.
fn counts_text(r: &DiffReport) -> String {
    let mut out = format!(
        "old: {} {} ({})\nnew: {} {} ({})\n",
        r.old.name, r.old.version, r.old.source, r.new.name, r.new.version, r.new.source
    );
    let what = if r.fixtures.is_some() {
        "fixtures"
    } else {
        "rows"
    };
    out.push_str(&format!(
        "{} {what}: {} changed label or category, {} fired other rules for the same verdict\n",
        r.rows, r.changed, r.rules_only
    ));
    if let Some(f) = &r.fixtures {
        out.push_str(&format!(
            "fixtures passing: {} → {} of {}; newly failing: {}; newly passing: {}\n",
            f.old_passed,
            f.new_passed,
            f.total,
            list_or_none(&f.newly_failing),
            list_or_none(&f.newly_passing)
        ));
    }
    out
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_owned()
    } else {
        items.join(", ")
    }
}

fn text(r: &DiffReport, style: Style) -> String {
    let mut out = counts_text(r);
    let width = r.labels.iter().map(String::len).max().unwrap_or(8).max(8);
    out.push_str("\nLabels (rows: old, columns: new)\n");
    out.push_str(&format!("  {:width$}", ""));
    for l in &r.labels {
        out.push_str(&format!("  {l:>width$}"));
    }
    out.push('\n');
    for (i, l) in r.labels.iter().enumerate() {
        out.push_str(&format!("  {l:width$}"));
        for n in &r.matrix[i] {
            out.push_str(&format!("  {n:>width$}"));
        }
        out.push('\n');
    }
    if !r.category_moves.is_empty() {
        out.push_str("\nCategory moves (old → new: rows)\n");
        let w = r
            .category_moves
            .iter()
            .map(|m| m.old.len() + m.new.len() + 3)
            .max()
            .unwrap_or(0);
        for m in &r.category_moves {
            let pair = format!("{} → {}", m.old, m.new);
            out.push_str(&format!("  {pair:w$}  {}\n", m.rows, w = w));
        }
    }
    if !r.changes.is_empty() {
        out.push_str("\nChanged tickets\n");
        for c in &r.changes {
            out.push_str(&change_text(c, style));
        }
    }
    if !r.rule_changes.is_empty() {
        out.push_str("\nSame verdict, other rules\n");
        for c in &r.rule_changes {
            out.push_str(&change_text(c, style));
        }
    }
    out
}

fn change_text(c: &Change, style: Style) -> String {
    let mut out = String::new();
    let place = match &c.fixture {
        Some(f) => f.location.clone(),
        None => format!("{} row {}", c.input, c.row),
    };
    out.push_str(&format!(
        "  {} ({place})\n    {} → {}\n",
        style.bold(&c.id),
        verdict(&c.old_label, c.old_category.as_deref()),
        style.label(&verdict(&c.new_label, c.new_category.as_deref()))
    ));
    if let Some(f) = &c.fixture {
        let status = |p: bool| if p { "pass" } else { "FAIL" };
        out.push_str(&format!(
            "    expected {}: {} → {}\n",
            f.expected,
            status(f.old_passed),
            status(f.new_passed)
        ));
    }
    let mut rules: Vec<String> = c.rules_appeared.iter().map(|r| format!("+{r}")).collect();
    rules.extend(c.rules_disappeared.iter().map(|r| format!("-{r}")));
    if !rules.is_empty() {
        out.push_str(&format!("    rules: {}\n", rules.join(" ")));
    }
    if let Some(rule) = &c.decisive_rule {
        let side = match c.decisive_side {
            Side::Old => "old",
            Side::New => "new",
        };
        out.push_str(&format!("    {side} {rule}"));
        if let Some(s) = &c.snippet {
            out.push_str(&format!(
                ": {}: \"{}{}{}\"",
                s.field.as_str(),
                s.before,
                style.highlight(&s.matched, true),
                s.after
            ));
        }
        out.push('\n');
    }
    out
}

/// One CSV row per changed ticket.
fn csv_rows(r: &DiffReport) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let result = (|| -> csv::Result<()> {
        w.write_record([
            "change",
            "input",
            "row",
            "id",
            "old_label",
            "old_category",
            "new_label",
            "new_category",
            "rules_appeared",
            "rules_disappeared",
            "decisive_side",
            "decisive_rule",
            "snippet",
            "fixture_expected",
            "old_passed",
            "new_passed",
        ])?;
        for c in r.changes.iter().chain(&r.rule_changes) {
            let side = match c.decisive_side {
                Side::Old => "old",
                Side::New => "new",
            };
            let (expected, old_passed, new_passed) = match &c.fixture {
                Some(f) => (
                    f.expected.clone(),
                    f.old_passed.to_string(),
                    f.new_passed.to_string(),
                ),
                None => Default::default(),
            };
            w.write_record([
                if c.verdict_changed {
                    "verdict"
                } else {
                    "rules"
                },
                c.input.as_str(),
                &c.row.to_string(),
                &c.id,
                &c.old_label,
                c.old_category.as_deref().unwrap_or(""),
                &c.new_label,
                c.new_category.as_deref().unwrap_or(""),
                &c.rules_appeared.join(";"),
                &c.rules_disappeared.join(";"),
                side,
                c.decisive_rule.as_deref().unwrap_or(""),
                &c.snippet
                    .as_ref()
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
                &expected,
                &old_passed,
                &new_passed,
            ])?;
        }
        Ok(())
    })();
    result.map_err(|e| e.to_string())?;
    let bytes = w.into_inner().map_err(|e| e.error().to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
