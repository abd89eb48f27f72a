//! One test per kind of rules-directory error: each names file, line, column and the problem,
//! and nothing is half-loaded.

mod common;

use triage::{LoadErrorKind, RuleSet};

/// Loads the mini rules with `overrides` and returns the rendered errors (must fail).
fn errors(overrides: &[(&str, &str)]) -> (Vec<LoadErrorKind>, String) {
    let dir = common::rules_dir(overrides);
    match RuleSet::load_dir(dir.path()) {
        Ok(_) => panic!("expected a load error"),
        Err(e) => (e.iter().map(|e| e.kind.clone()).collect(), e.to_string()),
    }
}

#[test]
fn toml_syntax_error_names_line_and_column() {
    let (kinds, msg) = errors(&[(
        "categories/security.toml",
        "category = \"security\"\n[[rule]\nid = 1\n",
    )]);
    assert!(matches!(kinds[0], LoadErrorKind::Syntax(_)), "{msg}");
    assert!(msg.contains("categories/security.toml:2:"), "{msg}");
    assert!(msg.contains("TOML syntax error"), "{msg}");
}

#[test]
fn unknown_key_is_reported() {
    let bad = "category = \"security\"\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nany = [\"x\"]\nanyy = [\"y\"]\n";
    let (kinds, msg) = errors(&[("categories/security.toml", bad)]);
    assert!(matches!(kinds[0], LoadErrorKind::Schema(_)), "{msg}");
    assert!(msg.contains("unknown field `anyy`"), "{msg}");
    assert!(msg.contains("security.toml:7:1"), "{msg}");
}

#[test]
fn invalid_regex_carries_the_regex_crate_message() {
    let bad = "category = \"security\"\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nany = [\"ok\", \"re:(unclosed\"]\n";
    let (kinds, msg) = errors(&[("categories/security.toml", bad)]);
    assert!(
        matches!(kinds[0], LoadErrorKind::InvalidRegex { .. }),
        "{msg}"
    );
    assert!(msg.contains("security.toml:6:14"), "{msg}");
    assert!(msg.contains("unclosed group"), "{msg}");
}

#[test]
fn oversized_regex_is_refused() {
    let bad = "category = \"security\"\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nany = ['re:(?u:\\w){500}(?u:\\w){500}']\n";
    let (kinds, msg) = errors(&[("categories/security.toml", bad)]);
    assert!(
        matches!(kinds[0], LoadErrorKind::InvalidRegex { .. }),
        "{msg}"
    );
    assert!(msg.contains("size limit"), "{msg}");
}

#[test]
fn unguarded_regexes_too_big_together_are_refused_at_the_biggest() {
    // Each passes alone (1.5 to 1.8 MB compiled, under the 2 MiB limit) and they differ (equal
    // regexes are shared); no literal prefix or
    // suffix guards them, so they run as one set, which may not exceed 16 MiB.
    let mut rules = String::from("category = \"security\"\n");
    for i in 0..12 {
        let repeat = if i == 6 { 100 } else { 85 + i };
        rules.push_str(&format!(
            "\n[[rule]]\nid = \"security.big{i}\"\nreason = \"r\"\nany = ['re:\\d(?u:\\w){{{repeat}}}\\d']\n"
        ));
    }
    let (kinds, msg) = errors(&[("categories/security.toml", &rules)]);
    assert_eq!(kinds.len(), 1, "{msg}");
    assert!(
        matches!(&kinds[0], LoadErrorKind::InvalidRegex { pattern, .. } if pattern.contains("{100}")),
        "{msg}"
    );
    // Each rule takes 5 lines after the first: rule 6 has its `any` on line 1 + 5 * 6 + 5.
    assert!(msg.contains("security.toml:36:8: invalid regex"), "{msg}");
    assert!(
        msg.contains("the 12 regexes without a literal prefix or suffix"),
        "{msg}"
    );
    assert!(msg.contains("size limit of 16777216 bytes"), "{msg}");
}

#[test]
fn zone_markers_too_big_together_are_refused_at_the_biggest() {
    let language = common::LANGUAGE.replace(
        "log_line = [",
        "log_line = ['re:\\d(?u:\\w){60}', 're:\\d(?u:\\w){70}', ",
    );
    let (kinds, msg) = errors(&[("language.toml", &language)]);
    assert_eq!(kinds.len(), 1, "{msg}");
    assert!(msg.contains("language.toml:15:33: invalid regex"), "{msg}");
    assert!(msg.contains("{70}"), "{msg}");
    assert!(
        msg.contains("zone markers of this kind (they run as one regex) together exceed"),
        "{msg}"
    );
}

#[test]
fn unknown_category_in_rules_file() {
    let (kinds, msg) = errors(&[("categories/extra.toml", "category = \"nope\"\n")]);
    assert_eq!(kinds, [LoadErrorKind::UnknownCategory("nope".into())]);
    assert!(
        msg.contains("extra.toml:1:12: unknown category \"nope\""),
        "{msg}"
    );
}

#[test]
fn unknown_label_in_policy() {
    let policy = common::POLICY.replace(
        "name = \"odd\"\nlabel = \"in-scope\"",
        "name = \"odd\"\nlabel = \"maybe\"",
    );
    let (kinds, msg) = errors(&[("policy.toml", &policy)]);
    assert_eq!(kinds, [LoadErrorKind::UnknownLabel("maybe".into())]);
    assert!(msg.contains("policy.toml:"), "{msg}");
}

#[test]
fn duplicate_rule_id_names_both_places() {
    let dup = "category = \"platform\"\n\n[[rule]]\nid = \"security.compromise\"\nreason = \"r\"\nany = [\"x\"]\n";
    let (kinds, msg) = errors(&[("categories/zz.toml", dup)]);
    assert!(
        matches!(&kinds[0], LoadErrorKind::DuplicateRuleId { id, .. } if id == "security.compromise"),
        "{msg}"
    );
    assert!(msg.contains("zz.toml:4:6"), "{msg}");
    assert!(
        msg.contains("first defined at") && msg.contains("security.toml:"),
        "{msg}"
    );
}

#[test]
fn empty_pattern_is_refused() {
    let bad = "category = \"security\"\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nany = [\"  \"]\n";
    let (kinds, msg) = errors(&[("categories/security.toml", bad)]);
    assert_eq!(kinds, [LoadErrorKind::EmptyPattern]);
    assert!(msg.contains("security.toml:6:8: empty pattern"), "{msg}");
}

/// A bad pattern in a file's `[all_rules]` is checked with every rule that shares it, and
/// reported once, where it is written.
#[test]
fn a_bad_shared_exclusion_is_reported_once() {
    let bad = "category = \"security\"\n\n[all_rules]\nnone = [\"\"]\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nany = [\"x\"]\n\n[[rule]]\nid = \"security.y\"\nreason = \"r\"\nany = [\"y\"]\n";
    let (kinds, msg) = errors(&[("categories/security.toml", bad)]);
    assert_eq!(kinds, [LoadErrorKind::EmptyPattern]);
    assert!(msg.contains("security.toml:4:9: empty pattern"), "{msg}");
}

#[test]
fn rule_without_patterns_is_refused() {
    let bad = "category = \"security\"\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nnone = [\"y\"]\n";
    let (kinds, msg) = errors(&[("categories/security.toml", bad)]);
    assert_eq!(kinds, [LoadErrorKind::NoPatterns("security.x".into())]);
    assert!(msg.contains("has no positive pattern"), "{msg}");
}

#[test]
fn precedence_must_name_every_category() {
    let policy = common::POLICY.replace(", [\"platform\"]]", "]");
    let (kinds, msg) = errors(&[("policy.toml", &policy)]);
    assert_eq!(kinds, [LoadErrorKind::PrecedenceOmits("platform".into())]);
    assert!(msg.contains("policy.toml:7:"), "{msg}");
}

#[test]
fn precedence_may_not_repeat_a_category() {
    let policy = common::POLICY.replace("[\"platform\"]]", "[\"platform\", \"security\"]]");
    let (kinds, _) = errors(&[("policy.toml", &policy)]);
    assert_eq!(
        kinds,
        [LoadErrorKind::PrecedenceDuplicate("security".into())]
    );
}

#[test]
fn missing_file_and_bad_directory() {
    let dir = common::rules_dir(&[]);
    std::fs::remove_file(dir.path().join("language.toml")).unwrap();
    let err = RuleSet::load_dir(dir.path()).unwrap_err();
    assert_eq!(err.0[0].kind, LoadErrorKind::MissingFile);
    assert!(err
        .to_string()
        .contains("language.toml:1:1: required file is missing"));
    let err = RuleSet::load_dir(&dir.path().join("nowhere")).unwrap_err();
    assert!(err.to_string().contains("not a directory"));
}

#[test]
fn invalid_release_in_matrix() {
    let matrix = common::MATRIX.replace(
        "supported = [\"12 SP5\", \"15 SP6\"]",
        "supported = [\"twelve\"]",
    );
    let (kinds, msg) = errors(&[("matrix.toml", &matrix)]);
    assert_eq!(kinds, [LoadErrorKind::InvalidRelease("twelve".into())]);
    assert!(msg.contains("matrix.toml:"), "{msg}");
}

#[test]
fn several_errors_are_reported_together() {
    let bad = "category = \"security\"\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nany = [\"\", \"re:(\"]\n";
    let (kinds, _) = errors(&[
        ("categories/security.toml", bad),
        ("categories/extra.toml", "category = \"nope\"\n"),
    ]);
    assert_eq!(kinds.len(), 3);
}

#[test]
fn bad_zone_and_field_names() {
    let bad = "category = \"security\"\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nany = [\"x\"]\nzones = [\"footer\"]\nfields = \"title\"\n";
    let (_, msg) = errors(&[("categories/security.toml", bad)]);
    assert!(msg.contains("zone \"footer\""), "{msg}");
    assert!(msg.contains("fields = \"title\""), "{msg}");
}

#[test]
fn unknown_list_is_refused() {
    let bad = "category = \"security\"\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nany = [\"@nope\"]\n";
    let (kinds, msg) = errors(&[("categories/security.toml", bad)]);
    assert_eq!(kinds, [LoadErrorKind::UnknownList("nope".into())]);
    assert!(
        msg.contains("security.toml:6:8: unknown list \"@nope\""),
        "{msg}"
    );
}

#[test]
fn bad_pattern_inside_a_list_points_at_the_list() {
    let (kinds, msg) = errors(&[("lists.toml", "[lists]\nfailures = [\"error\", \"re:(\"]\n")]);
    assert!(
        matches!(kinds[0], LoadErrorKind::InvalidRegex { .. }),
        "{msg}"
    );
    assert!(msg.contains("lists.toml:2:22"), "{msg}");
}

#[test]
fn a_list_naming_another_list_is_refused() {
    let (_, msg) = errors(&[(
        "lists.toml",
        "[lists]\nfailures = [\"error\", \"@more\"]\nmore = [\"crash\"]\n",
    )]);
    assert!(
        msg.contains("lists.toml:2:22: invalid value: list \"failures\" names list \"@more\""),
        "{msg}"
    );
}
