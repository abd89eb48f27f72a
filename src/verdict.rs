//! The outcome of classifying one ticket, and its serialisable report.

use crate::ruleset::{CategoryId, Field, LabelId, Release, RuleId, RuleSet, Zone};
use serde::Serialize;

/// A ticket: an optional subject line and a free-text description.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ticket<'a> {
    pub subject: &'a str,
    pub description: &'a str,
}

impl<'a> Ticket<'a> {
    pub fn new(subject: &'a str, description: &'a str) -> Self {
        Ticket {
            subject,
            description,
        }
    }
    pub fn field(&self, field: Field) -> &'a str {
        match field {
            Field::Subject => self.subject,
            Field::Description => self.description,
        }
    }

    /// The text of `field` at `start..end`, owned (empty if the span is not on its characters).
    pub fn span(&self, field: Field, start: usize, end: usize) -> String {
        self.field(field)
            .get(start..end)
            .unwrap_or_default()
            .to_owned()
    }
}

/// One match that took part in (or was kept out of) the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    pub rule: RuleId,
    pub field: Field,
    /// Byte span in the original field text.
    pub start: usize,
    pub end: usize,
    /// A negation cue reaches this match.
    pub negated: bool,
    pub zone: Zone,
    /// The match counted towards its rule firing (not negated, in an allowed zone).
    pub counted: bool,
}

/// A distribution mention and whether it is inside the support matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    pub distro: u16,
    pub release: Option<Release>,
    pub inside: bool,
    pub field: Field,
    pub start: usize,
    pub end: usize,
    pub negated: bool,
    pub zone: Zone,
}

/// The verdict for one ticket. Identifiers refer to the [`RuleSet`] that produced it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    pub label: Option<LabelId>,
    /// The category whose precedence decided the label; `None` when nothing fired.
    pub category: Option<CategoryId>,
    /// Every category that fired, in precedence order.
    pub categories: Vec<CategoryId>,
    /// Every rule that fired, in rule-set order.
    pub rules: Vec<RuleId>,
    /// The rule whose reason and vendor the verdict carries.
    pub deciding_rule: Option<RuleId>,
    /// Nothing fired, or categories of different labels tied at the deciding tier.
    pub review: bool,
    pub evidence: Vec<Evidence>,
    pub entities: Vec<Entity>,
}

impl Verdict {
    pub fn clear(&mut self) {
        self.label = None;
        self.category = None;
        self.categories.clear();
        self.rules.clear();
        self.deciding_rule = None;
        self.review = false;
        self.evidence.clear();
        self.entities.clear();
    }

    pub fn label_name<'r>(&self, rules: &'r RuleSet) -> &'r str {
        rules.label(self.label.unwrap_or(rules.default_label))
    }
    pub fn category_name<'r>(&self, rules: &'r RuleSet) -> Option<&'r str> {
        self.category.map(|c| rules.category(c).name.as_str())
    }
    pub fn reason<'r>(&self, rules: &'r RuleSet) -> &'r str {
        self.deciding_rule
            .map_or(rules.default_reason.as_str(), |r| {
                rules.rule(r).reason.as_str()
            })
    }
    pub fn vendor<'r>(&self, rules: &'r RuleSet) -> Option<&'r str> {
        self.deciding_rule
            .and_then(|r| rules.rule(r).vendor.as_deref())
    }

    /// A self-contained, serialisable view of the verdict (the JSON schema of the README).
    pub fn report<'r>(&self, rules: &'r RuleSet, ticket: &Ticket<'_>) -> Report<'r> {
        Report {
            label: self.label_name(rules),
            category: self.category_name(rules),
            categories: self
                .categories
                .iter()
                .map(|&c| rules.category(c).name.as_str())
                .collect(),
            review: self.review,
            reason: self.reason(rules),
            vendor: self.vendor(rules),
            rules: self
                .rules
                .iter()
                .map(|&r| rules.rule(r).id.as_str())
                .collect(),
            evidence: self
                .evidence
                .iter()
                .map(|e| EvidenceReport::new(rules, ticket, e))
                .collect(),
            entities: self
                .entities
                .iter()
                .map(|e| {
                    let d = &rules.distros[e.distro as usize];
                    EntityReport {
                        distro: &d.id,
                        name: &d.name,
                        release: e.release.map(|r| r.to_string()),
                        inside_matrix: e.inside,
                        field: e.field,
                        text: ticket.span(e.field, e.start, e.end),
                        start: e.start,
                        end: e.end,
                        negated: e.negated,
                        zone: e.zone,
                    }
                })
                .collect(),
            rule_set: RuleSetRef {
                name: &rules.name,
                version: &rules.version,
            },
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report<'r> {
    pub label: &'r str,
    pub category: Option<&'r str>,
    pub categories: Vec<&'r str>,
    pub review: bool,
    pub reason: &'r str,
    pub vendor: Option<&'r str>,
    pub rules: Vec<&'r str>,
    pub evidence: Vec<EvidenceReport<'r>>,
    pub entities: Vec<EntityReport<'r>>,
    pub rule_set: RuleSetRef<'r>,
}

#[derive(Debug, Serialize)]
pub struct RuleSetRef<'r> {
    pub name: &'r str,
    pub version: &'r str,
}

#[derive(Debug, Serialize)]
pub struct EvidenceReport<'r> {
    pub rule: &'r str,
    pub category: &'r str,
    pub field: Field,
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub negated: bool,
    pub zone: Zone,
    pub counted: bool,
}

impl<'r> EvidenceReport<'r> {
    fn new(rules: &'r RuleSet, ticket: &Ticket<'_>, e: &Evidence) -> Self {
        let rule = rules.rule(e.rule);
        EvidenceReport {
            rule: &rule.id,
            category: &rules.category(rule.category).name,
            field: e.field,
            text: ticket.span(e.field, e.start, e.end),
            start: e.start,
            end: e.end,
            negated: e.negated,
            zone: e.zone,
            counted: e.counted,
        }
    }
}

/// A verdict and the rules exclusions stopped ([`RuleSet::explain`]).
#[derive(Debug, Clone, Default)]
pub struct Explanation {
    pub verdict: Verdict,
    pub vetoed: Vec<Vetoed>,
}

/// A rule whose patterns matched but that an exclusion stopped.
#[derive(Debug, Clone)]
pub struct Vetoed {
    pub rule: RuleId,
    /// The exclusion matches, one per span (`rule` is the stopped rule).
    pub by: Vec<Evidence>,
}

/// A verdict with the rules exclusions stopped (`triage check --explain --json`).
#[derive(Debug, Serialize)]
pub struct ExplainedReport<'r> {
    #[serde(flatten)]
    pub report: Report<'r>,
    pub vetoed: Vec<VetoReport<'r>>,
}

/// A rule that matched but was stopped, and the exclusion matches that stopped it.
#[derive(Debug, Serialize)]
pub struct VetoReport<'r> {
    pub rule: &'r str,
    pub category: &'r str,
    pub by: Vec<EvidenceReport<'r>>,
}

impl Explanation {
    /// The serialisable view: the verdict's report plus `vetoed`.
    pub fn report<'r>(&self, rules: &'r RuleSet, ticket: &Ticket<'_>) -> ExplainedReport<'r> {
        ExplainedReport {
            report: self.verdict.report(rules, ticket),
            vetoed: self
                .vetoed
                .iter()
                .map(|v| {
                    let rule = rules.rule(v.rule);
                    VetoReport {
                        rule: &rule.id,
                        category: &rules.category(rule.category).name,
                        by: v
                            .by
                            .iter()
                            .map(|e| EvidenceReport::new(rules, ticket, e))
                            .collect(),
                    }
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EntityReport<'r> {
    pub distro: &'r str,
    pub name: &'r str,
    pub release: Option<String>,
    pub inside_matrix: bool,
    pub field: Field,
    pub text: String,
    pub start: usize,
    pub end: usize,
    pub negated: bool,
    pub zone: Zone,
}
