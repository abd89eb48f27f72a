//! `triage coverage`: how the rules cover unlabelled exports.

use super::classify::{interrupt_flag, open_inputs, Bar, InputArgs, EXIT_INTERRUPTED};
use super::render::Style;
use super::{emit_report, fail, ReportFormat, RulesArg, EXIT_OK};
use std::path::PathBuf;
use triage::batch::{BatchConfig, BatchError};
use triage::tuning::coverage::{coverage, Candidate, CoverageReport};
use triage::tuning::RuleSetInfo;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// CSV exports (unlabelled); none or `-` reads standard input.
    #[arg(value_name = "EXPORT")]
    inputs: Vec<PathBuf>,
    /// Report format. `csv` writes one row per category, rule and candidate (column `kind`).
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

pub fn run(args: Args) -> i32 {
    let rules = match args.rules.load() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let info = RuleSetInfo::new(
        &rules,
        args.rules
            .rules
            .as_deref()
            .map_or_else(|| "embedded".to_owned(), |d| d.display().to_string()),
    );
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
    let result = coverage(&rules, info, inputs, &cfg, &bar, &mut |msg| {
        bar.note(quiet, &msg)
    });
    bar.finish();
    let report = match result {
        Ok((report, _)) => report,
        Err(BatchError::Interrupted) => {
            eprintln!("triage: interrupted");
            return EXIT_INTERRUPTED;
        }
        Err(e) => return fail(e),
    };
    if let Err(e) = emit_report(args.format, &report, text, csv_rows) {
        return fail(e);
    }
    EXIT_OK
}

fn pct(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

fn text(r: &CoverageReport, style: Style) -> String {
    let mut out = format!(
        "{} {} ({}): {} rows; no category (review): {} ({}); flagged for review: {} ({})\n",
        r.rule_set.name,
        r.rule_set.version,
        r.rule_set.source,
        r.rows,
        r.no_category,
        pct(r.no_category_share),
        r.review,
        pct(r.review_share)
    );
    out.push_str(&format!(
        "\n{}\n",
        style.bold("Categories (rows fired; coverage = share of all rows; decided; overlap: another category fired too; conflict: a category of another label fired too)")
    ));
    let cw = r
        .categories
        .iter()
        .map(|c| c.category.len())
        .max()
        .unwrap_or(8)
        .max(8);
    out.push_str(&format!(
        "  {:cw$}  {:15}  {:>7}  {:>8}  {:>7}  {:>7}  {:>8}\n",
        "category", "label", "rows", "coverage", "decided", "overlap", "conflict"
    ));
    for c in &r.categories {
        out.push_str(&format!(
            "  {:cw$}  {:15}  {:>7}  {:>8}  {:>7}  {:>7}  {:>8}\n",
            c.category,
            c.label,
            c.rows,
            pct(c.coverage),
            c.decided,
            c.overlap,
            c.conflict
        ));
    }
    out.push_str(&format!("\n{}\n", style.bold("Rules")));
    let rw = r
        .rules
        .iter()
        .map(|x| x.rule.len())
        .max()
        .unwrap_or(8)
        .max(8);
    out.push_str(&format!(
        "  {:rw$}  {:>7}  {:>8}  {:>7}  {:>8}\n",
        "rule", "rows", "coverage", "overlap", "conflict"
    ));
    for x in &r.rules {
        out.push_str(&format!(
            "  {:rw$}  {:>7}  {:>8}  {:>7}  {:>8}\n",
            x.rule,
            x.rows,
            pct(x.coverage),
            x.overlap,
            x.conflict
        ));
    }
    let exact = if r.candidates_exact {
        ""
    } else {
        " (counts are lower bounds: too many distinct words to count them all)"
    };
    out.push_str(&format!(
        "\n{}{exact}\n{}",
        style.bold("Frequent words in rows with no category (rows holding them)"),
        candidates(&r.words)
    ));
    out.push_str(&format!(
        "\n{}{exact}\n{}",
        style.bold("Frequent two-word phrases in rows with no category"),
        candidates(&r.phrases)
    ));
    out
}

fn candidates(list: &[Candidate]) -> String {
    if list.is_empty() {
        return "  (none)\n".to_owned();
    }
    let mut out = String::new();
    let mut line = String::from(" ");
    for c in list {
        let item = format!(" {} {},", c.term, c.rows);
        if line.len() + item.len() > 98 {
            out.push_str(line.trim_end_matches(','));
            out.push('\n');
            line = String::from(" ");
        }
        line.push_str(&item);
    }
    out.push_str(line.trim_end_matches(','));
    out.push('\n');
    out
}

fn csv_rows(r: &CoverageReport) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let result = (|| -> csv::Result<()> {
        w.write_record([
            "kind", "name", "category", "label", "rows", "share", "decided", "overlap", "conflict",
        ])?;
        let share = |s: f64| format!("{s:.6}");
        w.write_record([
            "total",
            "rows",
            "",
            "",
            &r.rows.to_string(),
            "1",
            "",
            "",
            "",
        ])?;
        w.write_record([
            "total",
            "no-category",
            "",
            "",
            &r.no_category.to_string(),
            &share(r.no_category_share),
            "",
            "",
            "",
        ])?;
        w.write_record([
            "total",
            "review",
            "",
            "",
            &r.review.to_string(),
            &share(r.review_share),
            "",
            "",
            "",
        ])?;
        for c in &r.categories {
            w.write_record([
                "category",
                &c.category,
                &c.category,
                &c.label,
                &c.rows.to_string(),
                &share(c.coverage),
                &c.decided.to_string(),
                &c.overlap.to_string(),
                &c.conflict.to_string(),
            ])?;
        }
        for x in &r.rules {
            w.write_record([
                "rule",
                &x.rule,
                &x.category,
                &x.label,
                &x.rows.to_string(),
                &share(x.coverage),
                "",
                &x.overlap.to_string(),
                &x.conflict.to_string(),
            ])?;
        }
        for (kind, list) in [("word", &r.words), ("phrase", &r.phrases)] {
            for c in list {
                let s = share(if r.no_category == 0 {
                    0.0
                } else {
                    c.rows as f64 / r.no_category as f64
                });
                w.write_record([kind, &c.term, "", "", &c.rows.to_string(), &s, "", "", ""])?;
            }
        }
        Ok(())
    })();
    result.map_err(|e| e.to_string())?;
    let bytes = w.into_inner().map_err(|e| e.error().to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}
