//! Decision: from the rules that fired to a label, by the policy's precedence tiers.

use crate::ruleset::{CategoryId, RuleId, RuleSet};
use crate::verdict::Verdict;

/// Fills the label, categories, deciding rule and review flag of `verdict` from `fired`
/// (one flag per rule) and the evidence already in the verdict.
pub(crate) fn decide(rules: &RuleSet, fired: &[bool], verdict: &mut Verdict) {
    for &rule in &verdict.rules {
        let cat = rules.rule(rule).category;
        if !verdict.categories.contains(&cat) {
            verdict.categories.push(cat);
        }
    }
    let order = |c: &CategoryId| {
        let cat = rules.category(*c);
        (cat.tier, cat.rank)
    };
    verdict.categories.sort_by_key(order);
    let considered = |c: &&CategoryId| {
        !rules
            .category(**c)
            .yields_to
            .iter()
            .any(|y| verdict.categories.contains(y))
    };
    let Some(&deciding) = verdict.categories.iter().find(considered) else {
        verdict.label = Some(rules.default_label);
        verdict.review = true;
        return;
    };
    let cat = rules.category(deciding);
    verdict.category = Some(deciding);
    verdict.label = Some(cat.label);
    verdict.review = verdict
        .categories
        .iter()
        .filter(considered)
        .any(|c| rules.category(*c).tier == cat.tier && rules.category(*c).label != cat.label);
    // The deciding rule: of that category's fired rules, the one whose evidence comes first.
    let first_counted = |r: RuleId| {
        verdict
            .evidence
            .iter()
            .find(|e| e.rule == r && e.counted)
            .map(|e| (e.field as u8, e.start))
            .unwrap_or((u8::MAX, usize::MAX))
    };
    verdict.deciding_rule = verdict
        .rules
        .iter()
        .copied()
        .filter(|&r| rules.rule(r).category == deciding && fired[r.0 as usize])
        .min_by_key(|&r| (first_counted(r), r));
}
