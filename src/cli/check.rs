//! `triage check`: pre-screen one case.

use super::render::{verdict_text, vetoed_text, Style};
use super::{fail, write_stdout, RulesArg, EXIT_FINDINGS, EXIT_OK};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use triage::{RuleSet, Ticket, Verdict};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The case description. Read from standard input when absent or `-`.
    #[arg(value_name = "TEXT")]
    text: Option<String>,
    /// The case subject line.
    #[arg(long, short, value_name = "TEXT", default_value = "")]
    subject: String,
    /// Print the verdict as one JSON object (schema in the README).
    #[arg(long)]
    json: bool,
    /// Also show the rules that matched but were stopped by an exclusion (`none`,
    /// `none_near`), with the words that stopped them.
    #[arg(long)]
    explain: bool,
    /// Say whether the verdict is LABEL (or LABEL/CATEGORY); exit 1 when it is not.
    #[arg(long, value_name = "LABEL[/CATEGORY]")]
    expect: Option<String>,
    /// Append this case to a fixture file (labelled with --expect when given, else with the
    /// verdict), so a misclassified ticket becomes a fixture in one command.
    #[arg(long = "save-fixture", value_name = "FILE")]
    save_fixture: Option<PathBuf>,
    /// Id for the saved fixture (default: the file's name and the next free number).
    #[arg(long = "fixture-id", value_name = "ID", requires = "save_fixture")]
    fixture_id: Option<String>,
    #[command(flatten)]
    rules: RulesArg,
}

/// An expected label and, optionally, category.
struct Expectation {
    label: String,
    category: Option<String>,
}

impl Expectation {
    fn parse(text: &str, rules: &RuleSet) -> Result<Self, String> {
        let (label, category) = match text.split_once('/') {
            Some((l, c)) => (l.trim(), Some(c.trim())),
            None => (text.trim(), None),
        };
        if rules.label_id(label).is_none() {
            return Err(format!(
                "--expect: unknown label {label:?} (labels: {})",
                rules.labels.join(", ")
            ));
        }
        if let Some(c) = category {
            if c != triage::fixtures::NO_CATEGORY && rules.category_id(c).is_none() {
                return Err(format!("--expect: unknown category {c:?}"));
            }
        }
        Ok(Expectation {
            label: label.to_owned(),
            category: category.map(str::to_owned),
        })
    }

    fn met_by(&self, verdict: &Verdict, rules: &RuleSet) -> bool {
        verdict.label_name(rules) == self.label
            && self.category.as_deref().is_none_or(|c| {
                c == verdict
                    .category_name(rules)
                    .unwrap_or(triage::fixtures::NO_CATEGORY)
            })
    }
}

#[derive(serde::Serialize)]
struct SavedCase<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    subject: &'a str,
    description: &'a str,
    label: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<&'a str>,
    note: &'a str,
}

#[derive(serde::Serialize)]
struct SavedFile<'a> {
    case: [SavedCase<'a>; 1],
}

/// The next free `<stem>-<n>` id in a fixture file.
fn next_id(path: &Path, existing: &str) -> String {
    let stem = path
        .file_stem()
        .map_or("case".into(), |s| s.to_string_lossy().into_owned());
    (1..)
        .map(|n| format!("{stem}-{n:03}"))
        .find(|id| !existing.contains(&format!("\"{id}\"")))
        .expect("an unused id")
}

fn save_fixture(
    path: &Path,
    id: Option<&str>,
    ticket: &Ticket<'_>,
    label: &str,
    category: Option<&str>,
    note: &str,
) -> Result<String, String> {
    let existing = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(format!("{}: cannot read: {e}", path.display())),
    };
    if let Some(id) = id {
        if existing.contains(&format!("id = \"{id}\"")) {
            return Err(format!(
                "{}: a case with id {id:?} is already there",
                path.display()
            ));
        }
    }
    let id = id.map_or_else(|| next_id(path, &existing), str::to_owned);
    let case = SavedCase {
        id: &id,
        subject: ticket.subject,
        description: ticket.description,
        label,
        category,
        note,
    };
    let text = toml::to_string(&SavedFile { case: [case] })
        .map_err(|e| format!("cannot write fixture: {e}"))?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| format!("{}: cannot open: {e}", path.display()))?;
    let sep = if existing.is_empty() || existing.ends_with("\n\n") {
        ""
    } else if existing.ends_with('\n') {
        "\n"
    } else {
        "\n\n"
    };
    write!(file, "{sep}{text}").map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    Ok(id)
}

pub fn run(args: Args) -> i32 {
    let rules = match args.rules.load() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let description = match args.text.as_deref() {
        Some(t) if t != "-" => t.to_owned(),
        _ => {
            let mut buf = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
                return fail(format!("cannot read standard input: {e}"));
            }
            String::from_utf8_lossy(&buf).into_owned()
        }
    };
    let expectation = match args
        .expect
        .as_deref()
        .map(|e| Expectation::parse(e, &rules))
        .transpose()
    {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let ticket = Ticket::new(&args.subject, &description);
    let explanation = rules.explain(&ticket);
    let verdict = &explanation.verdict;
    let text = if args.json {
        let json = if args.explain {
            serde_json::to_string_pretty(&explanation.report(&rules, &ticket))
        } else {
            serde_json::to_string_pretty(&verdict.report(&rules, &ticket))
        };
        json.map(|s| s + "\n")
            .map_err(|e| format!("cannot write JSON: {e}"))
    } else {
        let style = Style::for_stdout();
        let mut text = verdict_text(&rules, &ticket, verdict, style);
        if args.explain {
            text.push_str(&vetoed_text(&rules, &ticket, &explanation.vetoed, style));
        }
        Ok(text)
    };
    if let Err(e) = text.and_then(|t| write_stdout(&t)) {
        return fail(e);
    }
    let mut status = EXIT_OK;
    if let Some(e) = &expectation {
        let actual = format!(
            "{}/{}",
            verdict.label_name(&rules),
            verdict
                .category_name(&rules)
                .unwrap_or(triage::fixtures::NO_CATEGORY)
        );
        if e.met_by(verdict, &rules) {
            eprintln!("triage: as expected ({actual})");
        } else {
            eprintln!(
                "triage: expected {}, got {actual}",
                args.expect.as_deref().unwrap_or_default()
            );
            status = EXIT_FINDINGS;
        }
    }
    if let Some(path) = &args.save_fixture {
        let (label, category) = match &expectation {
            Some(e) => (e.label.clone(), e.category.clone()),
            None => (
                verdict.label_name(&rules).to_owned(),
                Some(
                    verdict
                        .category_name(&rules)
                        .unwrap_or(triage::fixtures::NO_CATEGORY)
                        .to_owned(),
                ),
            ),
        };
        let note = if expectation.is_some() {
            "saved by triage check --expect"
        } else {
            "saved by triage check (verdict as label)"
        };
        match save_fixture(
            path,
            args.fixture_id.as_deref(),
            &ticket,
            &label,
            category.as_deref(),
            note,
        ) {
            Ok(id) => eprintln!("triage: saved fixture {id} to {}", path.display()),
            Err(e) => return fail(e),
        }
    }
    status
}
