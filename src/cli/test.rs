//! `triage test`: run labelled fixtures and report.

use super::render::{verdict_text, Style};
use super::{fail, print_report, RulesArg, EXIT_FINDINGS, EXIT_OK};
use serde::Serialize;
use std::path::PathBuf;
use triage::fixtures::{
    evaluate, load_fixtures, CategoryScore, Evaluation, Fixture, LabelScore, RuleScore, NO_CATEGORY,
};
use triage::RuleSet;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Fixture files or directories (searched for `*.toml`).
    #[arg(value_name = "PATH", default_value = "fixtures")]
    paths: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Print only failures and the summary line, not the tables.
    #[arg(long, short)]
    quiet: bool,
    #[command(flatten)]
    rules: RulesArg,
}

pub fn run(args: Args) -> i32 {
    let rules = match args.rules.load() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let fixtures = match load_fixtures(&args.paths, &rules) {
        Ok(f) => f,
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
            return fail(format!("bad fixtures:\n{}", lines.join("\n")));
        }
    };
    if fixtures.is_empty() {
        return fail("no fixtures found (looked for *.toml files with [[case]] entries)");
    }
    let eval = evaluate(&rules, &fixtures);
    if args.json {
        let written = serde_json::to_string_pretty(&JsonReport::new(&rules, &fixtures, &eval))
            .map_err(|e| format!("cannot write JSON: {e}"))
            .and_then(|s| print_report(&(s + "\n")));
        if let Err(e) = written {
            return fail(e);
        }
    } else if let Err(e) = print_report(&text_report(
        &rules,
        &fixtures,
        &eval,
        args.quiet,
        Style::for_stdout(),
    )) {
        return fail(e);
    }
    if eval.failed() == 0 {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    }
}

fn expected(f: &Fixture) -> String {
    match &f.category {
        Some(c) => format!("{} / {c}", f.label),
        None => f.label.clone(),
    }
}

fn text_report(
    rules: &RuleSet,
    fixtures: &[Fixture],
    eval: &Evaluation,
    quiet: bool,
    style: Style,
) -> String {
    let mut out = String::new();
    for (f, o) in fixtures.iter().zip(&eval.outcomes) {
        if o.passed() {
            continue;
        }
        let actual = format!(
            "{} / {}",
            o.verdict.label_name(rules),
            o.verdict.category_name(rules).unwrap_or(NO_CATEGORY)
        );
        out.push_str(&format!(
            "{} {} ({})\n",
            style.label("FAIL"),
            style.bold(&f.id),
            f.location
        ));
        out.push_str(&format!("  expected {}, got {actual}\n", expected(f)));
        if !f.note.is_empty() {
            out.push_str(&format!("  note: {}\n", f.note));
        }
        if !f.subject.is_empty() {
            out.push_str(&format!("  subject: {}\n", f.subject));
        }
        for line in verdict_text(rules, &f.ticket(), &o.verdict, style)
            .lines()
            .skip(1)
        {
            out.push_str(&format!("  {line}\n"));
        }
        out.push('\n');
    }
    if !quiet {
        let width = rules
            .labels
            .iter()
            .map(String::len)
            .max()
            .unwrap_or(8)
            .max(8);
        out.push_str("Confusion matrix (rows: expected, columns: actual)\n");
        out.push_str(&format!("  {:width$}", ""));
        for l in &rules.labels {
            out.push_str(&format!("  {l:>width$}"));
        }
        out.push('\n');
        for (i, l) in rules.labels.iter().enumerate() {
            out.push_str(&format!("  {l:width$}"));
            for n in &eval.confusion[i] {
                out.push_str(&format!("  {n:>width$}"));
            }
            out.push('\n');
        }
        out.push_str("\nPer label\n");
        for s in &eval.labels {
            out.push_str(&format!(
                "  {:width$}  precision {:.3}  recall {:.3}  F1 {:.3}  (expected {}, predicted {})\n",
                s.label, s.precision, s.recall, s.f1, s.support, s.predicted
            ));
        }
        out.push_str("\nPer category (fixtures expecting it: label and category right)\n");
        for s in &eval.categories {
            out.push_str(&format!(
                "  {:18} {:>4}/{:<4} {:>6.1}%\n",
                s.category,
                s.correct,
                s.cases,
                100.0 * s.accuracy
            ));
        }
        out.push_str("\nPer rule (hits: fixtures it fired on; precision: share whose expected category is the rule's)\n");
        for (id, s) in rules.rule_ids().zip(&eval.rules) {
            if !rules.can_fire(id) {
                continue;
            }
            let precision = s
                .precision
                .map_or_else(|| "   -".to_owned(), |p| format!("{p:.2}"));
            let warn = if s.hits == 0 {
                style.dim("  never fired")
            } else {
                String::new()
            };
            out.push_str(&format!(
                "  {:44} hits {:>4}  precision {precision}{warn}\n",
                s.rule, s.hits
            ));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "{} fixtures: {} passed, {} failed; label accuracy {:.1}%\n",
        eval.total(),
        eval.passed(),
        eval.failed(),
        100.0 * eval.label_accuracy()
    ));
    out
}

#[derive(Serialize)]
struct JsonFailure<'a> {
    id: &'a str,
    location: String,
    expected_label: &'a str,
    expected_category: Option<&'a str>,
    report: triage::Report<'a>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    total: usize,
    passed: usize,
    failed: usize,
    label_accuracy: f64,
    failures: Vec<JsonFailure<'a>>,
    labels_order: &'a [String],
    confusion: &'a [Vec<usize>],
    labels: &'a [LabelScore],
    categories: &'a [CategoryScore],
    rules: &'a [RuleScore],
}

impl<'a> JsonReport<'a> {
    fn new(rules: &'a RuleSet, fixtures: &'a [Fixture], eval: &'a Evaluation) -> Self {
        let failures = fixtures
            .iter()
            .zip(&eval.outcomes)
            .filter(|(_, o)| !o.passed())
            .map(|(f, o)| JsonFailure {
                id: &f.id,
                location: f.location.to_string(),
                expected_label: &f.label,
                expected_category: f.category.as_deref(),
                report: o.verdict.report(rules, &f.ticket()),
            })
            .collect();
        JsonReport {
            total: eval.total(),
            passed: eval.passed(),
            failed: eval.failed(),
            label_accuracy: eval.label_accuracy(),
            failures,
            labels_order: &rules.labels,
            confusion: &eval.confusion,
            labels: &eval.labels,
            categories: &eval.categories,
            rules: &eval.rules,
        }
    }
}
