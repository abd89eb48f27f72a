//! `triage lint`: what loading a rules directory cannot see. Each finding has a stable code, a
//! severity, the file:line:column it is about and a one-line fix hint.
//!
//! | code | severity | finding |
//! |---|---|---|
//! | `unexercised-rule` | warning | a rule that can fire fires on no fixture |
//! | `redundant-rule` | warning | wherever the rule fires, another rule of its category fires too |
//! | `conflicting-rule` | warning, error | wherever the rule fires, a rule of a category with another label fires too (error when that category always takes precedence, so the rule can never decide) |
//! | `cross-label-term` | warning, info | the same term is a positive pattern in categories of different labels (warning when it alone fires both) |
//! | `negation-opt-out` | warning, info | a term of a `negatable = false` rule that carries no negation cue: negation never reaches it (warning when a negatable rule has the same term) |
//! | `needless-opt-out` | warning | a `negatable = false` rule none of whose terms carries a negation cue |
//! | `self-negating` | warning | a term of a negatable rule (or `near` clause) carries a live negation cue, which negates the rule's other terms near it |
//! | `broad-rule` | warning | with a sample: the rule fires on more than the `broad` share of rows |
//! | `silent-rule` | info | with a sample: the rule fires on no row |
//! | `slow-regex` | warning | a regex whose compiled NFA exceeds [`SLOW_REGEX_BYTES`] |
//! | `unguarded-regex` | warning | a regex with no literal guard: it runs over every ticket |
//! | `weak-guard` | warning | a regex one of whose guard literals is three letters or fewer: it runs on most tickets |
//!
//! "Covered" (redundant, conflicting) is proved from the terms: rule R is covered by rule S when
//! S has only an `any` list (no `all`, `near` or `none`), looks in at least R's fields and zones,
//! does not discount negated matches that R counts, and some group R needs (its `any`, one of
//! its `all` groups or a side of a `near`) holds only terms S matches wherever they match: the
//! same literal, a wildcard of S that spans it (`compromis*` covers `compromised`) or the same
//! regex. Terms both rules take from the same `@list` do not count: sharing a list is how rules
//! share vocabulary on purpose. The same holds for `cross-label-term`.
//!
//! A term "carries a negation cue" when, matched on its own, it holds a forward or backward cue
//! of `language.toml` that no pseudo-cue hides (`we did not change` does; `not running` does not,
//! because the pseudo-cue `not running` hides its `not`).

use super::{share, RuleSetInfo};
use crate::batch::{
    self, BatchConfig, BatchError, InputSource, Progress, Summary, Tally, TallyRow,
};
use crate::compile::{parse_pattern, version_variants, PatternSpec};
use crate::error::Location;
use crate::fixtures::Evaluation;
use crate::rules::source::{RuleDecl, Text};
use crate::rules::{ParsedRules, SourceFile};
use crate::ruleset::{RuleId, RuleSet};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Compiled size (bytes of Thompson NFA, as the regex engine measures it) above which a regex
/// is reported as slow: 1/16 of the load limit [`crate::compile::REGEX_SIZE_LIMIT`]. A regex of
/// this size costs more to build and run than the thousands of literals of a whole rule set.
pub const SLOW_REGEX_BYTES: usize = crate::compile::REGEX_SIZE_LIMIT / 16;

/// Default share of sample rows above which a rule is too broad.
pub const DEFAULT_BROAD: f64 = 0.2;

/// How serious a finding is. `Error` makes `triage lint` exit 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable code (table in the module docs).
    pub code: &'static str,
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The rule it is about, when it is about one.
    pub rule: Option<String>,
    pub message: String,
    /// How to fix it, in one line.
    pub hint: String,
}

impl Finding {
    fn new(
        code: &'static str,
        severity: Severity,
        at: &Location,
        rule: Option<&str>,
        message: String,
        hint: impl Into<String>,
    ) -> Self {
        Finding {
            code,
            severity,
            file: at.file.display().to_string(),
            line: at.line,
            column: at.column,
            rule: rule.map(str::to_owned),
            message,
            hint: hint.into(),
        }
    }

    /// `file:line:column`.
    pub fn location(&self) -> String {
        format!("{}:{}:{}", self.file, self.line, self.column)
    }
}

/// How often each rule fired on a sample export.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleHits {
    pub rows: u64,
    /// Indexed like `RuleSet::rules`.
    pub rule_rows: Vec<u64>,
}

/// What to lint with, besides the rules.
#[derive(Debug, Clone, Copy)]
pub struct LintOptions<'a> {
    /// The fixture suite evaluated with the rules (for `unexercised-rule`).
    pub fixtures: Option<&'a Evaluation>,
    /// Rule hits on a sample export (for `broad-rule` and `silent-rule`).
    pub sample: Option<&'a SampleHits>,
    /// Share of sample rows above which a rule is too broad.
    pub broad: f64,
}

impl Default for LintOptions<'_> {
    fn default() -> Self {
        LintOptions {
            fixtures: None,
            sample: None,
            broad: DEFAULT_BROAD,
        }
    }
}

/// Every finding, most severe first, then by file and line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LintReport {
    pub rule_set: RuleSetInfo,
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
    /// Which optional checks ran: `fixtures`, `sample`.
    pub checked: Vec<&'static str>,
    pub findings: Vec<Finding>,
}

impl LintReport {
    /// Whether a finding has error severity (the `triage lint` exit status).
    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }
}

/// A pattern key after normalisation (and version variants): what the engine matches.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    Lit {
        text: String,
        left_open: bool,
        right_open: bool,
    },
    Re(String),
}

impl Key {
    fn from_spec(spec: &PatternSpec) -> Key {
        match spec {
            PatternSpec::Literal {
                text,
                left_open,
                right_open,
            } => Key::Lit {
                text: text.clone(),
                left_open: *left_open,
                right_open: *right_open,
            },
            PatternSpec::Regex(r) => Key::Re(r.clone()),
        }
    }

    /// Whether a match of `self` is found wherever `other` matches.
    fn covers(&self, other: &Key) -> bool {
        match (self, other) {
            (Key::Re(a), Key::Re(b)) => a == b,
            (
                Key::Lit {
                    text: t,
                    left_open: tl,
                    right_open: tr,
                },
                Key::Lit {
                    text: l,
                    left_open: ll,
                    right_open: lr,
                },
            ) => {
                let left_ok = *tl || !*ll;
                let right_ok = *tr || !*lr;
                match (tl, tr) {
                    (false, false) => t == l && left_ok && right_ok,
                    (false, true) => l.starts_with(t.as_str()) && left_ok,
                    (true, false) => l.ends_with(t.as_str()) && right_ok,
                    (true, true) => l.contains(t.as_str()),
                }
            }
            _ => false,
        }
    }

    fn is_open(&self) -> bool {
        matches!(self, Key::Lit { left_open, right_open, .. } if *left_open || *right_open)
    }
}

/// A term of a rule as written, with where it comes from.
#[derive(Debug, Clone)]
struct Term {
    /// As written (`compromis*`, `re:…`).
    raw: String,
    spec: PatternSpec,
    /// The spec's keys after version variants (one unless the rule has `variants = true`).
    keys: Vec<Key>,
    /// The `@list` it was taken from.
    list: Option<String>,
    /// Where the term itself is written (in `lists.toml` for list terms).
    at: Location,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupKind {
    Any,
    All,
    Near,
}

#[derive(Debug)]
struct Group {
    kind: GroupKind,
    terms: Vec<Term>,
    /// Whether negation cancels these terms: the rule's `negatable`, or a `near` clause's own.
    negatable: bool,
}

/// A pattern rule with its terms, as written and as compiled.
#[derive(Debug)]
struct RuleView<'r> {
    id: RuleId,
    rule: &'r crate::ruleset::Rule,
    /// Positive groups: `any`, each `all` group, each side of each `near`.
    groups: Vec<Group>,
    has_none: bool,
}

impl RuleView<'_> {
    fn any_only(&self) -> bool {
        !self.has_none && self.groups.iter().all(|g| g.kind == GroupKind::Any)
    }
    fn terms(&self) -> impl Iterator<Item = &Term> {
        self.groups.iter().flat_map(|g| &g.terms)
    }
}

/// Expands the patterns of a group (lists included) into terms.
fn group_terms(
    patterns: &[Text],
    file: &SourceFile,
    lists: &HashMap<&str, (&SourceFile, &Vec<Text>)>,
    variants: bool,
) -> Vec<Term> {
    let mut out = Vec::new();
    let mut push = |raw: &str, at: Location, list: Option<&str>| {
        let Ok(spec) = parse_pattern(raw) else {
            return;
        };
        let keys = match &spec {
            PatternSpec::Literal {
                text,
                left_open,
                right_open,
            } if variants => version_variants(text)
                .into_iter()
                .map(|t| Key::Lit {
                    text: t,
                    left_open: *left_open,
                    right_open: *right_open,
                })
                .collect(),
            _ => vec![Key::from_spec(&spec)],
        };
        out.push(Term {
            raw: raw.to_owned(),
            spec,
            keys,
            list: list.map(str::to_owned),
            at,
        });
    };
    for p in patterns {
        match p.get_ref().strip_prefix('@') {
            Some(name) => {
                if let Some((lfile, items)) = lists.get(name.trim()) {
                    for item in items.iter() {
                        push(
                            item.get_ref(),
                            lfile.location(item.span().start),
                            Some(name.trim()),
                        );
                    }
                }
            }
            None => push(p.get_ref(), file.location(p.span().start), None),
        }
    }
    out
}

/// Builds the views of every pattern rule (matrix rules have no terms).
fn views<'r>(parsed: &ParsedRules, rules: &'r RuleSet) -> Vec<RuleView<'r>> {
    let by_id: HashMap<&str, RuleId> = rules
        .rule_ids()
        .map(|r| (rules.rule(r).id.as_str(), r))
        .collect();
    let lists: HashMap<&str, (&SourceFile, &Vec<Text>)> = parsed
        .lists
        .iter()
        .flat_map(|(file, decl)| decl.lists.iter().map(move |(k, v)| (k.as_str(), (file, v))))
        .collect();
    let mut out = Vec::new();
    for (file, cat) in &parsed.categories {
        for decl in &cat.rules {
            let Some(&id) = by_id.get(decl.id.get_ref().as_str()) else {
                continue;
            };
            out.push(view(decl, file, &lists, id, rules.rule(id)));
        }
    }
    out.sort_by_key(|v| v.id);
    out
}

fn view<'r>(
    decl: &RuleDecl,
    file: &SourceFile,
    lists: &HashMap<&str, (&SourceFile, &Vec<Text>)>,
    id: RuleId,
    rule: &'r crate::ruleset::Rule,
) -> RuleView<'r> {
    let mut groups = Vec::new();
    let terms = |p: &[Text]| group_terms(p, file, lists, decl.variants);
    if !decl.any.is_empty() {
        groups.push(Group {
            kind: GroupKind::Any,
            terms: terms(&decl.any),
            negatable: decl.negatable,
        });
    }
    for g in &decl.all {
        groups.push(Group {
            kind: GroupKind::All,
            terms: terms(g.get_ref()),
            negatable: decl.negatable,
        });
    }
    for n in &decl.near {
        for side in [&n.a, &n.b] {
            groups.push(Group {
                kind: GroupKind::Near,
                terms: terms(side.get_ref()),
                negatable: n.negatable.unwrap_or(decl.negatable),
            });
        }
    }
    RuleView {
        id,
        rule,
        groups,
        has_none: !decl.none.is_empty() || !decl.none_near.is_empty(),
    }
}

/// The terms of an `any`-only rule, indexed for coverage checks.
struct Cover<'v> {
    exact: HashMap<&'v Key, Vec<Option<&'v str>>>,
    open: Vec<(&'v Key, Option<&'v str>)>,
}

impl<'v> Cover<'v> {
    fn new(v: &'v RuleView<'_>) -> Self {
        let mut exact: HashMap<&Key, Vec<Option<&str>>> = HashMap::new();
        let mut open = Vec::new();
        for t in v.terms() {
            for k in &t.keys {
                exact.entry(k).or_default().push(t.list.as_deref());
                if k.is_open() {
                    open.push((k, t.list.as_deref()));
                }
            }
        }
        Cover { exact, open }
    }

    /// Whether every key of `term` is matched by a term of this rule not taken from the same
    /// list.
    fn covers(&self, term: &Term) -> bool {
        let other_origin = |o: &Option<&str>| !(o.is_some() && *o == term.list.as_deref());
        term.keys.iter().all(|k| {
            self.exact
                .get(k)
                .is_some_and(|origins| origins.iter().any(other_origin))
                || self
                    .open
                    .iter()
                    .any(|(t, o)| other_origin(o) && t.covers(k))
        })
    }
}

/// Whether `by` fires wherever `r` does as far as fields, zones and negation go.
fn filters_cover(by: &crate::ruleset::Rule, r: &crate::ruleset::Rule) -> bool {
    r.fields & !by.fields == 0 && r.zones & !by.zones == 0 && (r.negatable || !by.negatable)
}

/// Lints a rule set: `parsed` are its files (for locations), `rules` the same files compiled.
pub fn lint(
    parsed: &ParsedRules,
    rules: &RuleSet,
    info: RuleSetInfo,
    opts: &LintOptions<'_>,
) -> LintReport {
    let views = views(parsed, rules);
    let mut findings = Vec::new();
    let mut checked = Vec::new();
    if let Some(eval) = opts.fixtures {
        checked.push("fixtures");
        unexercised(rules, eval, &mut findings);
    }
    covered(rules, &views, &mut findings);
    cross_label_terms(rules, &views, &mut findings);
    negation(rules, &views, &mut findings);
    if let Some(sample) = opts.sample {
        checked.push("sample");
        sample_breadth(rules, sample, opts.broad, &mut findings);
    }
    regexes(rules, &views, parsed, &mut findings);
    findings.sort_by(|a, b| {
        (a.severity, &a.file, a.line, a.column, a.code)
            .cmp(&(b.severity, &b.file, b.line, b.column, b.code))
    });
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    LintReport {
        rule_set: info,
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        infos: count(Severity::Info),
        checked,
        findings,
    }
}

fn unexercised(rules: &RuleSet, eval: &Evaluation, out: &mut Vec<Finding>) {
    for (id, score) in rules.rule_ids().zip(&eval.rules) {
        if score.hits == 0 && rules.can_fire(id) {
            let rule = rules.rule(id);
            out.push(Finding::new(
                "unexercised-rule",
                Severity::Warning,
                &rule.location,
                Some(&rule.id),
                format!("no fixture fires rule {}", rule.id),
                "add a case it should decide (`triage check \"…\" --expect LABEL/CATEGORY --save-fixture FILE`), or remove the rule",
            ));
        }
    }
}

/// Whether category `a` always wins over category `b` in the decision: an earlier tier, or
/// earlier in the same tier, and never set aside (no `yields_to`).
fn always_before(rules: &RuleSet, a: crate::CategoryId, b: crate::CategoryId) -> bool {
    let (ca, cb) = (rules.category(a), rules.category(b));
    ca.yields_to.is_empty() && (ca.tier, ca.rank) < (cb.tier, cb.rank)
}

fn covered(rules: &RuleSet, views: &[RuleView<'_>], out: &mut Vec<Finding>) {
    let covers: Vec<Option<Cover>> = views
        .iter()
        .map(|v| v.any_only().then(|| Cover::new(v)))
        .collect();
    // Whether `by` covers rule `r` through one of r's groups.
    let covered_by = |r: &RuleView<'_>, by: usize| -> bool {
        let Some(cover) = &covers[by] else {
            return false;
        };
        let b = &views[by];
        b.id != r.id
            && filters_cover(b.rule, r.rule)
            && r.groups
                .iter()
                .any(|g| !g.terms.is_empty() && g.terms.iter().all(|t| cover.covers(t)))
    };
    for (i, r) in views.iter().enumerate() {
        let mut reported_same = false;
        let mut reported_other = false;
        for (j, b) in views.iter().enumerate() {
            if !covered_by(r, j) {
                continue;
            }
            let same = b.rule.category == r.rule.category;
            let (rc, bc) = (
                rules.category(r.rule.category),
                rules.category(b.rule.category),
            );
            if same && !reported_same {
                // Two rules that cover each other: report the later one only.
                if j > i && covered_by(b, i) {
                    continue;
                }
                reported_same = true;
                out.push(Finding::new(
                    "redundant-rule",
                    Severity::Warning,
                    &r.rule.location,
                    Some(&r.rule.id),
                    format!(
                        "wherever {} fires, {} ({}) fires too: it adds no verdict, only its reason",
                        r.rule.id, b.rule.id, b.rule.location
                    ),
                    format!("merge it into {} or narrow one of them", b.rule.id),
                ));
            } else if !same && rc.label != bc.label && !reported_other {
                reported_other = true;
                let never = always_before(rules, b.rule.category, r.rule.category);
                let message = if never {
                    format!(
                        "wherever {} ({}) fires, {} ({}, label {}) fires too and takes precedence: it can never decide a verdict",
                        r.rule.id,
                        rules.label(rc.label),
                        b.rule.id,
                        bc.name,
                        rules.label(bc.label)
                    )
                } else {
                    format!(
                        "wherever {} ({}) fires, {} ({}, label {}) fires too: precedence decides between labels",
                        r.rule.id,
                        rules.label(rc.label),
                        b.rule.id,
                        bc.name,
                        rules.label(bc.label)
                    )
                };
                out.push(Finding::new(
                    "conflicting-rule",
                    if never {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    &r.rule.location,
                    Some(&r.rule.id),
                    message,
                    format!(
                        "add to {} a `none` exclusion for what {} is about, or remove the shared terms from one of them",
                        b.rule.id, r.rule.id
                    ),
                ));
            }
        }
    }
}

/// One positive use of a term by a rule.
struct Use<'v> {
    view: usize,
    term: &'v Term,
    /// The term alone fires the rule (an `any` rule with nothing else required).
    alone: bool,
}

/// `"a", "b", "c" and 4 more`.
fn some_terms<'a>(terms: impl IntoIterator<Item = &'a str>) -> String {
    const SHOWN: usize = 5;
    let all: Vec<&str> = terms.into_iter().collect();
    let mut out: Vec<String> = all.iter().take(SHOWN).map(|t| format!("{t:?}")).collect();
    if all.len() > SHOWN {
        out.push(format!("and {} more", all.len() - SHOWN));
    }
    out.join(", ")
}

fn cross_label_terms(rules: &RuleSet, views: &[RuleView<'_>], out: &mut Vec<Finding>) {
    let mut uses: BTreeMap<&Key, Vec<Use<'_>>> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        let only_any = v.groups.iter().all(|g| g.kind == GroupKind::Any);
        for g in &v.groups {
            for t in &g.terms {
                if let Some(k) = t.keys.first() {
                    uses.entry(k).or_default().push(Use {
                        view: i,
                        term: t,
                        alone: only_any && g.kind == GroupKind::Any,
                    });
                }
            }
        }
    }
    let label = |u: &Use<'_>| rules.category(views[u.view].rule.category).label;
    // Shared terms per pair of rules (in rule order), and whether one alone fires both.
    let mut pairs: BTreeMap<(usize, usize), (Vec<&Term>, bool)> = BTreeMap::new();
    for list in uses.values() {
        let mut seen: HashSet<(usize, usize)> = HashSet::new();
        for (n, a) in list.iter().enumerate() {
            for b in &list[n + 1..] {
                let same_list = a.term.list.is_some() && a.term.list == b.term.list;
                if label(a) == label(b) || same_list || a.view == b.view {
                    continue;
                }
                let (first, second) = if a.view < b.view { (a, b) } else { (b, a) };
                let key = (first.view, second.view);
                let entry = pairs.entry(key).or_default();
                if seen.insert(key) {
                    entry.0.push(first.term);
                }
                entry.1 |= a.alone && b.alone;
            }
        }
    }
    for ((a, b), (terms, alone)) in pairs {
        let (ra, rb) = (views[a].rule, views[b].rule);
        let (ca, cb) = (rules.category(ra.category), rules.category(rb.category));
        out.push(Finding::new(
            "cross-label-term",
            if alone {
                Severity::Warning
            } else {
                Severity::Info
            },
            &terms[0].at,
            Some(&ra.id),
            format!(
                "{} ({}, label {}) and {} ({}, label {}) share {} term(s){}: {}",
                ra.id,
                ca.name,
                rules.label(ca.label),
                rb.id,
                cb.name,
                rules.label(cb.label),
                terms.len(),
                if alone {
                    ", one of which alone fires both"
                } else {
                    ""
                },
                some_terms(terms.iter().map(|t| t.raw.as_str()))
            ),
            "keep each term in the category whose label it decides; elsewhere pair it with context (`all`, `near`) or exclude it (`none`)",
        ));
    }
}

/// A term whose negation cue reaches its own rules' other terms, with the direction it
/// reaches and the rules that use it.
type SelfNegating<'v> = (&'v Term, &'static str, Vec<&'v str>);

fn negation(rules: &RuleSet, views: &[RuleView<'_>], out: &mut Vec<Finding>) {
    // Literal terms of negatable rules, to tell inconsistent opt-outs.
    let mut negatable_terms: HashSet<&Key> = HashSet::new();
    for v in views.iter().filter(|v| v.rule.negatable) {
        for t in v.terms() {
            negatable_terms.extend(t.keys.first());
        }
    }
    let mut cue_cache: HashMap<String, (bool, bool)> = HashMap::new();
    let mut cues = |t: &Term| -> (bool, bool) {
        let PatternSpec::Literal { text, .. } = &t.spec else {
            return (false, false);
        };
        *cue_cache
            .entry(text.clone())
            .or_insert_with(|| rules.live_cues(text))
    };
    // Self-negating terms, once per place they are written (a list term serves many rules):
    // the term, the direction its cue reaches, the rules that use it.
    type Place = (String, usize, usize);
    let mut self_negating: BTreeMap<Place, SelfNegating<'_>> = BTreeMap::new();
    for v in views {
        let rule = v.rule;
        if !rule.negatable {
            let mut any_cue = false;
            let mut plain: [Vec<&Term>; 2] = [Vec::new(), Vec::new()];
            for t in v.terms() {
                let (f, b) = cues(t);
                if f || b {
                    any_cue = true;
                } else if matches!(t.spec, PatternSpec::Literal { .. }) {
                    let elsewhere = t.keys.first().is_some_and(|k| negatable_terms.contains(k));
                    plain[usize::from(!elsewhere)].push(t);
                }
            }
            if !any_cue {
                out.push(Finding::new(
                    "needless-opt-out",
                    Severity::Warning,
                    &rule.location,
                    Some(&rule.id),
                    format!(
                        "{} has negatable = false but none of its terms carries a negation cue: \"no …\" never cancels it",
                        rule.id
                    ),
                    "remove `negatable = false`",
                ));
                continue;
            }
            for (terms, severity) in plain.iter().zip([Severity::Warning, Severity::Info]) {
                let Some(first) = terms.first() else { continue };
                out.push(Finding::new(
                    "negation-opt-out",
                    severity,
                    &first.at,
                    Some(&rule.id),
                    format!(
                        "{} has negatable = false, so negation never reaches its {} term(s) without a negation cue of their own (a negated mention still counts){}: {}",
                        rule.id,
                        terms.len(),
                        if severity == Severity::Warning {
                            ", unlike in the negatable rules that have them"
                        } else {
                            ""
                        },
                        some_terms(terms.iter().map(|t| t.raw.as_str()))
                    ),
                    "keep only phrases that hold their negation words in this rule and move plain terms to a negatable rule, or keep the other side of the rule close (`near`)",
                ));
            }
        } else if v.groups.len() > 1 {
            // A clause that opted out of negation (`negatable = false`) is not cancelled by its
            // own cue.
            let negatable_terms = v
                .groups
                .iter()
                .filter(|g| g.negatable)
                .flat_map(|g| &g.terms);
            for t in negatable_terms {
                let (f, b) = cues(t);
                if !(f || b) {
                    continue;
                }
                let direction = match (f, b) {
                    (true, true) => "before and after",
                    (true, false) => "after",
                    _ => "before",
                };
                let key = (t.at.file.display().to_string(), t.at.line, t.at.column);
                let entry = self_negating
                    .entry(key)
                    .or_insert_with(|| (t, direction, Vec::new()));
                if !entry.2.contains(&rule.id.as_str()) {
                    entry.2.push(&rule.id);
                }
            }
        }
    }
    for (t, direction, rule_ids) in self_negating.into_values() {
        let mut named = rule_ids.first().copied().unwrap_or_default().to_owned();
        if rule_ids.len() > 1 {
            named.push_str(&format!(" (and {} more rules)", rule_ids.len() - 1));
        }
        out.push(Finding::new(
            "self-negating",
            Severity::Warning,
            &t.at,
            rule_ids.first().copied(),
            format!(
                "{:?} carries a live negation cue that negates what comes {direction} it within the negation window, including the terms it must combine with in {named}: such tickets miss the rule",
                t.raw
            ),
            "hide the cue with a `pseudo` phrase in language.toml, or set `negatable = false` on the rule",
        ));
    }
}

fn sample_breadth(rules: &RuleSet, sample: &SampleHits, broad: f64, out: &mut Vec<Finding>) {
    if sample.rows == 0 {
        return;
    }
    for id in rules.rule_ids().filter(|&r| rules.can_fire(r)) {
        let rule = rules.rule(id);
        let n = sample.rule_rows.get(id.0 as usize).copied().unwrap_or(0);
        let s = share(n, sample.rows);
        if s > broad {
            out.push(Finding::new(
                "broad-rule",
                Severity::Warning,
                &rule.location,
                Some(&rule.id),
                format!(
                    "{} fires on {n} of {} sample rows ({:.1}%, above {:.1}%)",
                    rule.id,
                    sample.rows,
                    100.0 * s,
                    100.0 * broad
                ),
                "narrow it: longer phrases, an `all` group for context, or `none` exclusions",
            ));
        } else if n == 0 {
            out.push(Finding::new(
                "silent-rule",
                Severity::Info,
                &rule.location,
                Some(&rule.id),
                format!("{} fires on none of {} sample rows", rule.id, sample.rows),
                "check its terms against how customers write (`triage coverage` lists frequent words of uncovered rows)",
            ));
        }
    }
}

/// Compiled NFA size of a rule regex (built as rules build them), `None` if it does not build
/// within the load limit.
pub fn regex_size(source: &str) -> Option<usize> {
    crate::compile::regex_size(source, crate::compile::REGEX_SIZE_LIMIT)
}

fn regexes(rules: &RuleSet, views: &[RuleView<'_>], parsed: &ParsedRules, out: &mut Vec<Finding>) {
    let unguarded: HashSet<&str> = rules.unguarded_regexes().collect();
    let weak: HashSet<&str> = rules.weakly_guarded_regexes().collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let check = |source: &str, at: &Location, rule: Option<&str>, out: &mut Vec<Finding>| {
        if let Some(size) = regex_size(source) {
            if size > SLOW_REGEX_BYTES {
                out.push(Finding::new(
                    "slow-regex",
                    Severity::Warning,
                    at,
                    rule,
                    format!(
                        "regex {source:?} compiles to {} KiB (above {} KiB)",
                        size / 1024,
                        SLOW_REGEX_BYTES / 1024
                    ),
                    "split it into literals, bound its repetitions (`{1,200}` → `+` on a narrower class) or drop Unicode classes",
                ));
            }
        }
        // Regexes that run on (nearly) every ticket: no guard literal, or only very short ones.
        let guard_findings = [
            (
                unguarded.contains(source),
                "unguarded-regex",
                "has no literal every match holds: it runs over every ticket".to_owned(),
                "start (or end) it with a fixed word, or use literals",
            ),
            (
                weak.contains(source),
                "weak-guard",
                format!(
                    "has a guard literal of {} letters or fewer: most tickets hold one, so it runs nearly everywhere",
                    crate::compile::WEAK_GUARD_LEN
                ),
                "a regex runs only where one of at most 16 guard literals was seen: split a long alternation into several regexes, or start it with a longer fixed word",
            ),
        ];
        for (found, code, what, hint) in guard_findings {
            if found {
                let message = format!("regex {source:?} {what}");
                out.push(Finding::new(
                    code,
                    Severity::Warning,
                    at,
                    rule,
                    message,
                    hint,
                ));
            }
        }
    };
    for v in views {
        for t in v.terms() {
            if let PatternSpec::Regex(source) = &t.spec {
                if seen.insert(source) {
                    check(source, &t.at, Some(&v.rule.id), out);
                }
            }
        }
    }
    // Negation cues run on every ticket too.
    let (lang_file, lang) = &parsed.language;
    let n = &lang.negation;
    for p in n
        .forward
        .iter()
        .chain(&n.backward)
        .chain(&n.pseudo)
        .chain(&n.terminators)
    {
        if let Some(source) = p.get_ref().strip_prefix("re:") {
            if seen.insert(source) {
                check(source, &lang_file.location(p.span().start), None, out);
            }
        }
    }
}

/// Counts, per rule, the sample rows it fires on.
struct HitsTally {
    rows: u64,
    rule_rows: Vec<u64>,
}

impl Tally for HitsTally {
    fn reset(&mut self) {
        self.rows = 0;
        self.rule_rows.iter_mut().for_each(|n| *n = 0);
    }
    fn add(&mut self, row: &TallyRow<'_>) {
        if let Some(v) = row.verdicts.first() {
            self.rows += 1;
            for &r in &v.rules {
                self.rule_rows[r.0 as usize] += 1;
            }
        }
    }
}

/// Classifies a sample export and counts the rows each rule fires on.
pub fn sample_hits(
    rules: &RuleSet,
    inputs: Vec<InputSource>,
    cfg: &BatchConfig,
    progress: &dyn Progress,
    note: &mut dyn FnMut(String),
) -> Result<(SampleHits, Summary), BatchError> {
    let n = rules.rules.len();
    let mut total = SampleHits {
        rows: 0,
        rule_rows: vec![0; n],
    };
    let new_tally = || HitsTally {
        rows: 0,
        rule_rows: vec![0; n],
    };
    let summary = batch::run_tally(
        &[rules],
        inputs,
        cfg,
        progress,
        note,
        &new_tally,
        &mut |part: &mut HitsTally| {
            total.rows += part.rows;
            for (a, b) in total.rule_rows.iter_mut().zip(&part.rule_rows) {
                *a += b;
            }
        },
    )?;
    Ok((total, summary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lit(text: &str, l: bool, r: bool) -> Key {
        Key::Lit {
            text: text.into(),
            left_open: l,
            right_open: r,
        }
    }

    #[test]
    fn wildcards_cover_what_they_span() {
        assert!(lit("compromis", false, true).covers(&lit("compromised", false, false)));
        assert!(lit("compromis", false, true).covers(&lit("compromise of", false, false)));
        assert!(!lit("compromis", false, true).covers(&lit("xcompromised", true, false)));
        assert!(lit("miner", true, false).covers(&lit("cryptominer", false, false)));
        assert!(!lit("miner", true, false).covers(&lit("miners", false, false)));
        assert!(!lit("miner", false, false).covers(&lit("miner", false, true)));
        assert!(lit("a b", false, false).covers(&lit("a b", false, false)));
        assert!(!Key::Re("x".into()).covers(&lit("x", false, false)));
    }
}
