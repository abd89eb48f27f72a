//! `triage diff`: what a rules change does. Every ticket is classified by the old and the new
//! rule set in one read of the input (batch runs with two rule sets), and the report counts
//! label moves (a matrix), category moves, and lists every ticket whose label or deciding
//! category changed, with the rules that appeared or disappeared and the decisive text.

use super::{RuleSetInfo, Snippet};
use crate::batch::{
    self, BatchConfig, BatchError, InputSource, Progress, Summary, Tally, TallyRow,
};
use crate::fixtures::{Fixture, NO_CATEGORY};
use crate::ruleset::{RuleId, RuleSet};
use crate::verdict::Verdict;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Which rule set's verdict a snippet comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Old,
    New,
}

/// How a fixture fared under each rule set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixtureStatus {
    /// `label` or `label/category` the fixture expects.
    pub expected: String,
    pub location: String,
    pub old_passed: bool,
    pub new_passed: bool,
}

/// One ticket whose label or deciding category changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Input file (or fixture file) it comes from.
    pub input: String,
    /// 1-based data row in its input (for fixtures: position in the suite).
    pub row: u64,
    /// Value of the id column, else the row number (for fixtures: the fixture id).
    pub id: String,
    /// False for a ticket whose verdict stayed while its fired rules changed.
    pub verdict_changed: bool,
    pub old_label: String,
    pub old_category: Option<String>,
    pub new_label: String,
    pub new_category: Option<String>,
    /// Rules that fire with the new rules only, and with the old rules only.
    pub rules_appeared: Vec<String>,
    pub rules_disappeared: Vec<String>,
    /// The side whose rule explains the change. For a verdict change, the deciding rule: the
    /// new one when it is new (or the old one still fires), the old one when it no longer
    /// fires or nothing decides any more. For a rule change, the first rule that appeared
    /// (new side), else the first that went away (old side).
    pub decisive_side: Side,
    pub decisive_rule: Option<String>,
    /// The text around that rule's first counted match.
    pub snippet: Option<Snippet>,
    /// Only in a fixture diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixture: Option<FixtureStatus>,
}

/// Rows that moved from one category to another (`none`: nothing fired).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CategoryMove {
    pub old: String,
    pub new: String,
    pub rows: u64,
}

/// Fixtures whose pass/fail status changed.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct FixtureSummary {
    pub total: usize,
    pub old_passed: usize,
    pub new_passed: usize,
    pub newly_passing: Vec<String>,
    pub newly_failing: Vec<String>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffReport {
    pub old: RuleSetInfo,
    pub new: RuleSetInfo,
    pub rows: u64,
    /// Rows whose label or deciding category changed.
    pub changed: u64,
    /// Rows whose verdict stayed but whose set of fired rules changed.
    pub rules_only: u64,
    /// Row and column names of `matrix`: the old rules' labels, then any the new rules add.
    pub labels: Vec<String>,
    /// `matrix[old][new]`: rows labelled `labels[old]` before and `labels[new]` after.
    pub matrix: Vec<Vec<u64>>,
    /// Category moves, most rows first (unchanged categories are not listed).
    pub category_moves: Vec<CategoryMove>,
    /// Every ticket whose verdict changed, in input order.
    pub changes: Vec<Change>,
    /// Tickets whose verdict stayed but whose fired rules changed, in input order: listed only
    /// when asked ([`DiffOptions::rule_changes`]), else empty (`rules_only` counts them).
    pub rule_changes: Vec<Change>,
    /// Set by a fixture diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixtures: Option<FixtureSummary>,
}

impl DiffReport {
    /// Whether anything changed (the `triage diff` exit status).
    pub fn has_changes(&self) -> bool {
        self.changed > 0
    }
}

/// What a diff lists besides verdict changes.
#[derive(Debug, Clone, Copy, Default)]
pub struct DiffOptions {
    /// Also list tickets whose verdict stayed but whose fired rules changed.
    pub rule_changes: bool,
}

/// Label and category names of both rule sets, mapped to report indices.
struct Names {
    labels: Vec<String>,
    old_labels: Vec<usize>,
    new_labels: Vec<usize>,
    /// The new rule with the same id as each old rule.
    old_to_new: Vec<Option<RuleId>>,
}

impl Names {
    fn new(old: &RuleSet, new: &RuleSet) -> Self {
        let mut labels = old.labels.clone();
        for l in &new.labels {
            if !labels.contains(l) {
                labels.push(l.clone());
            }
        }
        let index = |l: &String| labels.iter().position(|x| x == l).unwrap_or(0);
        let new_ids: HashMap<&str, RuleId> = new
            .rule_ids()
            .map(|r| (new.rule(r).id.as_str(), r))
            .collect();
        Names {
            old_labels: old.labels.iter().map(index).collect(),
            new_labels: new.labels.iter().map(index).collect(),
            labels,
            old_to_new: old
                .rule_ids()
                .map(|r| new_ids.get(old.rule(r).id.as_str()).copied())
                .collect(),
        }
    }
}

/// Diff counts of a chunk of rows (and, merged, of the whole input).
struct DiffTally<'a> {
    old: &'a RuleSet,
    new: &'a RuleSet,
    names: &'a Names,
    rows: u64,
    changed: u64,
    rules_only: u64,
    matrix: Vec<u64>,
    moves: BTreeMap<(String, String), u64>,
    changes: Vec<Change>,
    list_rule_changes: bool,
    rule_changes: Vec<Change>,
}

impl<'a> DiffTally<'a> {
    fn new(old: &'a RuleSet, new: &'a RuleSet, names: &'a Names, list_rule_changes: bool) -> Self {
        DiffTally {
            old,
            new,
            names,
            rows: 0,
            changed: 0,
            rules_only: 0,
            matrix: vec![0; names.labels.len() * names.labels.len()],
            moves: BTreeMap::new(),
            changes: Vec::new(),
            list_rule_changes,
            rule_changes: Vec::new(),
        }
    }

    fn merge(&mut self, other: &mut DiffTally<'_>) {
        self.rows += other.rows;
        self.changed += other.changed;
        self.rules_only += other.rules_only;
        for (a, b) in self.matrix.iter_mut().zip(&other.matrix) {
            *a += b;
        }
        for (k, n) in std::mem::take(&mut other.moves) {
            *self.moves.entry(k).or_default() += n;
        }
        self.changes.append(&mut other.changes);
        self.rule_changes.append(&mut other.rule_changes);
    }

    /// Compares one row's verdicts; returns the change when the verdict changed, or (when
    /// rule changes are listed) when only the fired rules did.
    fn compare(&mut self, row: &TallyRow<'_>, old_v: &Verdict, new_v: &Verdict) -> Option<Change> {
        let (old, new) = (self.old, self.new);
        self.rows += 1;
        let li = old_v
            .label
            .map_or(self.names.old_labels[old.default_label.0 as usize], |l| {
                self.names.old_labels[l.0 as usize]
            });
        let lj = new_v
            .label
            .map_or(self.names.new_labels[new.default_label.0 as usize], |l| {
                self.names.new_labels[l.0 as usize]
            });
        self.matrix[li * self.names.labels.len() + lj] += 1;
        let old_cat = old_v.category_name(old);
        let new_cat = new_v.category_name(new);
        let verdict_changed = li != lj || old_cat != new_cat;
        if verdict_changed {
            self.changed += 1;
            if old_cat != new_cat {
                *self
                    .moves
                    .entry((
                        old_cat.unwrap_or(NO_CATEGORY).to_owned(),
                        new_cat.unwrap_or(NO_CATEGORY).to_owned(),
                    ))
                    .or_default() += 1;
            }
        } else {
            // Verdict rules are sorted by id: no allocation for the (common) unchanged row.
            let same_rules = old_v.rules.len() == new_v.rules.len()
                && old_v.rules.iter().all(|r| {
                    self.names.old_to_new[r.0 as usize]
                        .is_some_and(|n| new_v.rules.binary_search(&n).is_ok())
                });
            if same_rules {
                return None;
            }
            self.rules_only += 1;
            if !self.list_rule_changes {
                return None;
            }
        }
        let old_set: HashSet<&str> = old_v
            .rules
            .iter()
            .map(|&r| old.rule(r).id.as_str())
            .collect();
        let new_set: HashSet<&str> = new_v
            .rules
            .iter()
            .map(|&r| new.rule(r).id.as_str())
            .collect();
        let appeared: Vec<RuleId> = new_v
            .rules
            .iter()
            .copied()
            .filter(|&r| !old_set.contains(new.rule(r).id.as_str()))
            .collect();
        let disappeared: Vec<RuleId> = old_v
            .rules
            .iter()
            .copied()
            .filter(|&r| !new_set.contains(old.rule(r).id.as_str()))
            .collect();
        let (side, decider) = if verdict_changed {
            // The deciding rule that explains the move: a new one, else one that went away.
            let new_decider = new_v.deciding_rule;
            let old_decider = old_v.deciding_rule;
            match (new_decider, old_decider) {
                (Some(n), _) if appeared.contains(&n) => (Side::New, Some(n)),
                (_, Some(o)) if disappeared.contains(&o) => (Side::Old, Some(o)),
                (Some(n), _) => (Side::New, Some(n)),
                (None, o) => (Side::Old, o),
            }
        } else {
            // Same verdict: the first rule that appeared, else the first that went away.
            match (appeared.first(), disappeared.first()) {
                (Some(&n), _) => (Side::New, Some(n)),
                (None, o) => (Side::Old, o.copied()),
            }
        };
        let (set, verdict) = match side {
            Side::New => (new, new_v),
            Side::Old => (old, old_v),
        };
        Some(Change {
            input: row.input.to_owned(),
            row: row.row,
            id: row
                .id
                .filter(|id| !id.is_empty())
                .map_or_else(|| row.row.to_string(), str::to_owned),
            verdict_changed,
            old_label: self.names.labels[li].clone(),
            old_category: old_cat.map(str::to_owned),
            new_label: self.names.labels[lj].clone(),
            new_category: new_cat.map(str::to_owned),
            rules_appeared: appeared.iter().map(|&r| new.rule(r).id.clone()).collect(),
            rules_disappeared: disappeared
                .iter()
                .map(|&r| old.rule(r).id.clone())
                .collect(),
            decisive_side: side,
            decisive_rule: decider.map(|r| set.rule(r).id.clone()),
            snippet: decider.and_then(|r| Snippet::of_rule(verdict, row.ticket, r)),
            fixture: None,
        })
    }

    /// Files a change under verdict changes or rule changes.
    fn push(&mut self, change: Change) {
        if change.verdict_changed {
            self.changes.push(change);
        } else {
            self.rule_changes.push(change);
        }
    }

    fn into_report(self, old: RuleSetInfo, new: RuleSetInfo) -> DiffReport {
        let n = self.names.labels.len();
        let mut moves: Vec<CategoryMove> = self
            .moves
            .into_iter()
            .map(|((old, new), rows)| CategoryMove { old, new, rows })
            .collect();
        moves.sort_by(|a, b| {
            b.rows
                .cmp(&a.rows)
                .then_with(|| (&a.old, &a.new).cmp(&(&b.old, &b.new)))
        });
        DiffReport {
            old,
            new,
            rows: self.rows,
            changed: self.changed,
            rules_only: self.rules_only,
            labels: self.names.labels.clone(),
            matrix: self.matrix.chunks(n.max(1)).map(<[u64]>::to_vec).collect(),
            category_moves: moves,
            changes: self.changes,
            rule_changes: self.rule_changes,
            fixtures: None,
        }
    }
}

impl Tally for DiffTally<'_> {
    fn reset(&mut self) {
        self.rows = 0;
        self.changed = 0;
        self.rules_only = 0;
        self.matrix.iter_mut().for_each(|n| *n = 0);
        self.moves.clear();
        self.changes.clear();
        self.rule_changes.clear();
    }

    fn add(&mut self, row: &TallyRow<'_>) {
        if let [old_v, new_v] = row.verdicts {
            if let Some(change) = self.compare(row, old_v, new_v) {
                self.push(change);
            }
        }
    }
}

/// Compares `old` and `new` over CSV exports: one read of the input, each row classified by
/// both rule sets on the batch pipeline's worker threads.
pub fn diff_exports(
    old: (&RuleSet, RuleSetInfo),
    new: (&RuleSet, RuleSetInfo),
    opts: DiffOptions,
    inputs: Vec<InputSource>,
    cfg: &BatchConfig,
    progress: &dyn Progress,
    note: &mut dyn FnMut(String),
) -> Result<(DiffReport, Summary), BatchError> {
    let names = Names::new(old.0, new.0);
    let mut total = DiffTally::new(old.0, new.0, &names, opts.rule_changes);
    let new_tally = || DiffTally::new(old.0, new.0, &names, opts.rule_changes);
    let summary = batch::run_tally(
        &[old.0, new.0],
        inputs,
        cfg,
        progress,
        note,
        &new_tally,
        &mut |part: &mut DiffTally<'_>| total.merge(part),
    )?;
    Ok((total.into_report(old.1, new.1), summary))
}

/// `label` or `label/category` as a fixture expects it.
fn expectation(f: &Fixture) -> String {
    match &f.category {
        Some(c) => format!("{}/{c}", f.label),
        None => f.label.clone(),
    }
}

/// Compares `old` and `new` over labelled fixtures: the same report, each change carrying the
/// fixture's expectation and whether it passed before and after, plus the fixtures that newly
/// pass or newly fail.
pub fn diff_fixtures(
    old: (&RuleSet, RuleSetInfo),
    new: (&RuleSet, RuleSetInfo),
    opts: DiffOptions,
    fixtures: &[Fixture],
) -> DiffReport {
    let names = Names::new(old.0, new.0);
    let mut tally = DiffTally::new(old.0, new.0, &names, opts.rule_changes);
    let old_eval = crate::fixtures::evaluate(old.0, fixtures);
    let new_eval = crate::fixtures::evaluate(new.0, fixtures);
    let mut summary = FixtureSummary {
        total: fixtures.len(),
        old_passed: old_eval.passed(),
        new_passed: new_eval.passed(),
        ..FixtureSummary::default()
    };
    for (i, ((f, o), n)) in fixtures
        .iter()
        .zip(&old_eval.outcomes)
        .zip(&new_eval.outcomes)
        .enumerate()
    {
        let ticket = f.ticket();
        let input = f.location.file.display().to_string();
        let verdicts = [o.verdict.clone(), n.verdict.clone()];
        let row = TallyRow {
            row: i as u64 + 1,
            input: &input,
            id: Some(&f.id),
            ticket: &ticket,
            verdicts: &verdicts,
            error: None,
        };
        match (o.passed(), n.passed()) {
            (false, true) => summary.newly_passing.push(f.id.clone()),
            (true, false) => summary.newly_failing.push(f.id.clone()),
            _ => {}
        }
        if let Some(mut change) = tally.compare(&row, &o.verdict, &n.verdict) {
            change.fixture = Some(FixtureStatus {
                expected: expectation(f),
                location: f.location.to_string(),
                old_passed: o.passed(),
                new_passed: n.passed(),
            });
            tally.push(change);
        }
    }
    let mut report = tally.into_report(old.1, new.1);
    report.fixtures = Some(summary);
    report
}
