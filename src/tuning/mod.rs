//! Tools for rule maintainers, built on the engine and the batch pipeline:
//!
//! - [`diff`]: what a rules change does to real tickets (or to the fixture suite): a label
//!   matrix, category moves and every changed ticket with the evidence that moved it;
//! - [`lint`]: what loading cannot see: unexercised, redundant and conflicting rules, terms
//!   shared across labels, negation opt-outs, rules too broad on a sample, slow regexes;
//! - [`coverage`]: how the rules cover unlabelled data (coverage, overlap, conflict per rule and
//!   category) and the frequent words of the tickets nothing covers.
//!
//! Every report is a typed value that serialises with serde; the CLI only renders it.

pub mod coverage;
pub mod diff;
pub mod lint;

use crate::ruleset::{Field, RuleId, RuleSet};
use crate::verdict::{Ticket, Verdict};
use serde::Serialize;

/// Which rule set a report talks about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleSetInfo {
    pub name: String,
    pub version: String,
    /// Where it was loaded from (`embedded` or a directory).
    pub source: String,
}

impl RuleSetInfo {
    pub fn new(rules: &RuleSet, source: impl Into<String>) -> Self {
        RuleSetInfo {
            name: rules.name.clone(),
            version: rules.version.clone(),
            source: source.into(),
        }
    }
}

/// A few words of ticket text around a match, on the match's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    pub field: Field,
    pub before: String,
    pub matched: String,
    pub after: String,
}

impl std::fmt::Display for Snippet {
    /// `field: "…before >>matched<< after…"`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: \"{}>>{}<<{}\"",
            self.field.as_str(),
            self.before,
            self.matched,
            self.after
        )
    }
}

/// Characters of context kept on each side of a snippet's match.
pub const SNIPPET_CONTEXT: usize = 40;

impl Snippet {
    /// The text around `start..end` of `field` (byte span, as in evidence): the rest of its
    /// line, at most `width` characters each side, whitespace runs folded to one space.
    pub fn around(
        ticket: &Ticket<'_>,
        field: Field,
        start: usize,
        end: usize,
        width: usize,
    ) -> Self {
        let text = ticket.field(field);
        let span = |a: usize, b: usize| text.get(a..b).unwrap_or_default();
        if start > end || text.get(start..end).is_none() {
            return Snippet {
                field,
                before: String::new(),
                matched: String::new(),
                after: String::new(),
            };
        }
        let line_start = text[..start].rfind('\n').map_or(0, |p| p + 1);
        let line_end = text[end..].find('\n').map_or(text.len(), |p| end + p);
        let before = span(line_start, start);
        let skip = before.chars().count().saturating_sub(width);
        let before: String = before.chars().skip(skip).collect();
        let after: String = span(end, line_end).chars().take(width).collect();
        let fold = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let keep_space = |orig: &str, folded: String, leading: bool| {
            // Keep one space between the context and the match where the text had one.
            let spaced = if leading {
                orig.ends_with(char::is_whitespace)
            } else {
                orig.starts_with(char::is_whitespace)
            };
            match (spaced && !folded.is_empty(), leading) {
                (true, true) => format!("{folded} "),
                (true, false) => format!(" {folded}"),
                _ => folded,
            }
        };
        Snippet {
            field,
            before: keep_space(&before, fold(&before), true),
            matched: fold(span(start, end)),
            after: keep_space(&after, fold(&after), false),
        }
    }

    /// The snippet of the first counted evidence of `verdict`'s deciding rule, if any.
    pub fn deciding(verdict: &Verdict, ticket: &Ticket<'_>) -> Option<Snippet> {
        Snippet::of_rule(verdict, ticket, verdict.deciding_rule?)
    }

    /// The snippet of the first counted evidence of `rule` in `verdict`, if any.
    pub fn of_rule(verdict: &Verdict, ticket: &Ticket<'_>, rule: RuleId) -> Option<Snippet> {
        let e = verdict
            .evidence
            .iter()
            .filter(|e| e.rule == rule && e.counted)
            .min_by_key(|e| (e.field as u8, e.start))?;
        Some(Snippet::around(
            ticket,
            e.field,
            e.start,
            e.end,
            SNIPPET_CONTEXT,
        ))
    }
}

/// `part` over `whole`, 0 when `whole` is 0.
pub(crate) fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_stay_on_the_line_and_fold_whitespace() {
        let t = Ticket::new("", "first line\nour  nginx\tproxy returns 502 today\nlast");
        let start = t.description.find("nginx").unwrap();
        let s = Snippet::around(&t, Field::Description, start, start + 5, 40);
        assert_eq!(s.before, "our ");
        assert_eq!(s.matched, "nginx");
        assert_eq!(s.after, " proxy returns 502 today");
        assert_eq!(
            s.to_string(),
            "description: \"our >>nginx<< proxy returns 502 today\""
        );
        let s = Snippet::around(&t, Field::Description, start, start + 5, 3);
        assert_eq!((s.before.as_str(), s.after.as_str()), ("r ", " pr"));
    }

    #[test]
    fn a_span_off_a_char_boundary_gives_an_empty_snippet() {
        let t = Ticket::new("", "é");
        let s = Snippet::around(&t, Field::Description, 1, 2, 10);
        assert!(s.matched.is_empty());
    }
}
