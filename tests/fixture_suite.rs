//! The whole fixture suite through the library with the embedded default rules: a rule edit that
//! breaks a fixture fails `cargo test`. Cases listed in `fixtures/known-failures.txt` are known
//! gaps of the rule set; the test also fails when one of them starts passing, so the list only
//! shrinks.

use std::collections::BTreeSet;
use std::path::PathBuf;
use triage::fixtures::{evaluate, load_fixtures};
use triage::RuleSet;

/// Ids listed one per line in `fixtures/NAME` (`#` starts a comment).
fn id_list(name: &str) -> BTreeSet<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn default_rules_pass_the_fixture_suite() {
    let rules = RuleSet::embedded().expect("embedded rules load");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = load_fixtures(&[dir], &rules).unwrap_or_else(|errors| {
        panic!(
            "fixtures load: {}",
            errors
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    assert!(fixtures.len() >= 400, "the suite holds at least 400 cases");
    let eval = evaluate(&rules, &fixtures);
    let known = id_list("known-failures.txt");
    let mut unexpected = Vec::new();
    let mut fixed = Vec::new();
    for (f, o) in fixtures.iter().zip(&eval.outcomes) {
        match (o.passed(), known.contains(&f.id)) {
            (false, false) => unexpected.push(format!(
                "{} ({}): expected {}/{}, got {}/{}",
                f.id,
                f.location,
                f.label,
                f.category.as_deref().unwrap_or("-"),
                o.verdict.label_name(&rules),
                o.verdict.category_name(&rules).unwrap_or("none")
            )),
            (true, true) => fixed.push(f.id.clone()),
            _ => {}
        }
    }
    assert!(
        unexpected.is_empty(),
        "fixtures that fail (run `triage test`):\n{}",
        unexpected.join("\n")
    );
    assert!(
        fixed.is_empty(),
        "now passing, remove from fixtures/known-failures.txt: {}",
        fixed.join(", ")
    );
}

#[test]
fn every_rule_is_exercised_by_a_fixture() {
    let rules = RuleSet::embedded().expect("embedded rules load");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let fixtures = load_fixtures(&[dir], &rules).expect("fixtures load");
    let eval = evaluate(&rules, &fixtures);
    let never: Vec<&str> = rules
        .rule_ids()
        .zip(&eval.rules)
        .filter(|(id, score)| score.hits == 0 && rules.can_fire(*id))
        .map(|(_, score)| score.rule.as_str())
        .collect();
    let allowed = id_list("unexercised-rules.txt");
    let unexpected: Vec<&&str> = never.iter().filter(|r| !allowed.contains(**r)).collect();
    assert!(
        unexpected.is_empty(),
        "rules no fixture fires (add a fixture): {unexpected:?}"
    );
}
