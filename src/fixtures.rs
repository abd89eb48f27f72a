//! Labelled fixtures (`fixtures/*.toml`) and the evaluation `triage test` reports: failures,
//! confusion matrix, per-label precision/recall/F1, per-category accuracy, per-rule precision.

use crate::error::Location;
use crate::ruleset::{RuleId, RuleSet};
use crate::verdict::{Ticket, Verdict};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The expected category value meaning "no category fired".
pub const NO_CATEGORY: &str = "none";

/// One labelled case.
#[derive(Debug, Clone, Serialize)]
pub struct Fixture {
    pub id: String,
    pub subject: String,
    pub description: String,
    pub label: String,
    pub category: Option<String>,
    pub note: String,
    #[serde(skip)]
    pub location: Location,
}

impl Fixture {
    pub fn ticket(&self) -> Ticket<'_> {
        Ticket::new(&self.subject, &self.description)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    #[serde(rename = "case", default)]
    cases: Vec<CaseDecl>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseDecl {
    id: Spanned<String>,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    description: String,
    label: Spanned<String>,
    #[serde(default)]
    category: Option<Spanned<String>>,
    #[serde(default)]
    note: String,
}

/// A problem with a fixture file.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct FixtureError {
    pub location: Location,
    pub message: String,
}

/// Finds fixture files: `*.toml` under each directory (recursively), or the files named.
pub fn fixture_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, FixtureError> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "toml") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, &mut out).map_err(|e| FixtureError {
                location: Location::file(p),
                message: e.to_string(),
            })?;
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            return Err(FixtureError {
                location: Location::file(p),
                message: "no such file or directory".into(),
            });
        }
    }
    Ok(out)
}

/// Loads fixtures from files and directories, checking labels and categories against `rules`.
pub fn load_fixtures(
    paths: &[PathBuf],
    rules: &RuleSet,
) -> Result<Vec<Fixture>, Vec<FixtureError>> {
    let files = fixture_files(paths).map_err(|e| vec![e])?;
    let mut fixtures = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashMap<String, Location> = HashMap::new();
    for path in files {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                errors.push(FixtureError {
                    location: Location::file(&path),
                    message: e.to_string(),
                });
                continue;
            }
        };
        let parsed: FixtureFile = match toml::from_str(&text) {
            Ok(p) => p,
            Err(e) => {
                let at = e.span().map_or(0, |s| s.start);
                errors.push(FixtureError {
                    location: Location::at(&path, &text, at),
                    message: e.message().trim().to_owned(),
                });
                continue;
            }
        };
        for case in parsed.cases {
            let location = Location::at(&path, &text, case.id.span().start);
            let mut err = |span: std::ops::Range<usize>, message: String| {
                errors.push(FixtureError {
                    location: Location::at(&path, &text, span.start),
                    message,
                });
            };
            if let Some(first) = seen.get(case.id.get_ref()) {
                err(
                    case.id.span(),
                    format!(
                        "duplicate fixture id {:?} (first at {first})",
                        case.id.get_ref()
                    ),
                );
                continue;
            }
            seen.insert(case.id.get_ref().clone(), location.clone());
            if rules.label_id(case.label.get_ref()).is_none() {
                err(
                    case.label.span(),
                    format!("unknown label {:?}", case.label.get_ref()),
                );
            }
            if let Some(c) = &case.category {
                if c.get_ref() != NO_CATEGORY && rules.category_id(c.get_ref()).is_none() {
                    err(c.span(), format!("unknown category {:?}", c.get_ref()));
                }
            }
            if case.subject.trim().is_empty() && case.description.trim().is_empty() {
                err(
                    case.id.span(),
                    "case has neither subject nor description".into(),
                );
            }
            fixtures.push(Fixture {
                id: case.id.into_inner(),
                subject: case.subject,
                description: case.description,
                label: case.label.into_inner(),
                category: case.category.map(Spanned::into_inner),
                note: case.note,
                location,
            });
        }
    }
    if errors.is_empty() {
        Ok(fixtures)
    } else {
        Err(errors)
    }
}

/// The result of one fixture.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub verdict: Verdict,
    pub label_ok: bool,
    pub category_ok: bool,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.label_ok && self.category_ok
    }
}

/// Precision, recall and F1 of one label.
#[derive(Debug, Clone, Serialize)]
pub struct LabelScore {
    pub label: String,
    pub support: usize,
    pub predicted: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// Accuracy on fixtures expecting one category.
#[derive(Debug, Clone, Serialize)]
pub struct CategoryScore {
    pub category: String,
    pub cases: usize,
    pub correct: usize,
    pub accuracy: f64,
}

/// How often a rule fired on the fixtures and how often its category was the expected one.
#[derive(Debug, Clone, Serialize)]
pub struct RuleScore {
    pub rule: String,
    pub category: String,
    pub hits: usize,
    pub agreeing: usize,
    pub precision: Option<f64>,
}

/// The whole evaluation of a fixture suite.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub outcomes: Vec<Outcome>,
    /// `confusion[expected][actual]`, indexed like `RuleSet::labels`.
    pub confusion: Vec<Vec<usize>>,
    pub labels: Vec<LabelScore>,
    pub categories: Vec<CategoryScore>,
    pub rules: Vec<RuleScore>,
}

impl Evaluation {
    pub fn total(&self) -> usize {
        self.outcomes.len()
    }
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.passed()).count()
    }
    pub fn failed(&self) -> usize {
        self.total() - self.passed()
    }
    pub fn label_accuracy(&self) -> f64 {
        ratio(
            self.outcomes.iter().filter(|o| o.label_ok).count(),
            self.total(),
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Runs every fixture through `rules` and scores the results.
pub fn evaluate(rules: &RuleSet, fixtures: &[Fixture]) -> Evaluation {
    let n_labels = rules.labels.len();
    let mut confusion = vec![vec![0usize; n_labels]; n_labels];
    let mut outcomes = Vec::with_capacity(fixtures.len());
    let mut rule_hits = vec![(0usize, 0usize); rules.rules.len()];
    let mut cat_scores: Vec<(usize, usize)> = vec![(0, 0); rules.categories.len()];
    for f in fixtures {
        let verdict = rules.classify(&f.ticket());
        let actual = verdict.label_name(rules);
        let label_ok = actual == f.label;
        let actual_cat = verdict.category_name(rules).unwrap_or(NO_CATEGORY);
        let category_ok = f.category.as_deref().is_none_or(|c| c == actual_cat);
        if let (Some(e), Some(a)) = (rules.label_id(&f.label), rules.label_id(actual)) {
            confusion[e.0 as usize][a.0 as usize] += 1;
        }
        if let Some(c) = f.category.as_deref().and_then(|c| rules.category_id(c)) {
            let s = &mut cat_scores[c.0 as usize];
            s.0 += 1;
            if label_ok && category_ok {
                s.1 += 1;
            }
        }
        for &r in &verdict.rules {
            let rule = rules.rule(r);
            let cat = rules.category(rule.category);
            let agrees = match f.category.as_deref() {
                Some(c) => c == cat.name,
                None => rules.label(cat.label) == f.label,
            };
            let h = &mut rule_hits[r.0 as usize];
            h.0 += 1;
            h.1 += usize::from(agrees);
        }
        outcomes.push(Outcome {
            verdict,
            label_ok,
            category_ok,
        });
    }
    let labels = (0..n_labels)
        .map(|l| {
            let tp = confusion[l][l];
            let support: usize = confusion[l].iter().sum();
            let predicted: usize = confusion.iter().map(|row| row[l]).sum();
            let precision = ratio(tp, predicted);
            let recall = ratio(tp, support);
            let f1 = if precision + recall == 0.0 {
                0.0
            } else {
                2.0 * precision * recall / (precision + recall)
            };
            LabelScore {
                label: rules.labels[l].clone(),
                support,
                predicted,
                precision,
                recall,
                f1,
            }
        })
        .collect();
    let categories = rules
        .categories_in_precedence()
        .map(|c| {
            let (cases, correct) = cat_scores[c.0 as usize];
            CategoryScore {
                category: rules.category(c).name.clone(),
                cases,
                correct,
                accuracy: ratio(correct, cases),
            }
        })
        .collect();
    let rule_scores = rules
        .rule_ids()
        .map(|r: RuleId| {
            let rule = rules.rule(r);
            let (hits, agreeing) = rule_hits[r.0 as usize];
            RuleScore {
                rule: rule.id.clone(),
                category: rules.category(rule.category).name.clone(),
                hits,
                agreeing,
                precision: (hits > 0).then(|| ratio(agreeing, hits)),
            }
        })
        .collect();
    Evaluation {
        outcomes,
        confusion,
        labels,
        categories,
        rules: rule_scores,
    }
}
