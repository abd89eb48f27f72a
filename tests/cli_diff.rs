//! `triage diff` end to end: a rules change that moves known tickets is reported exactly (label
//! matrix, category moves, changed rows with rules and snippet, exit 1); no change exits 0;
//! the fixture diff names fixtures that newly pass and newly fail.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn triage() -> Command {
    let mut cmd = Command::cargo_bin("triage").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Six tickets the mini rules label: security, oss, distro (with platform), howto, none, kernel.
const EXPORT: &str = "Id,Subject,Description\n\
T-1,Odd process,\"We found a cryptominer in /tmp\"\n\
T-2,Tomcat down,Tomcat fails to start with an error\n\
T-3,Boot,Our CentOS 7 VM is stuck at boot\n\
T-4,Question,how do i add a user with sudo\n\
T-5,Proxy,nginx returns 502 since this morning\n\
T-6,Kernel,we need a custom kernel\n";

/// The change: security no longer knows miners; platform learns nginx.
const NEW_SECURITY: &str = r#"
category = "security"

[[rule]]
id = "security.compromise"
reason = "compromised"
any = ["hacked", "compromis*", "malware"]
"#;

const NEW_PLATFORM: &str = r#"
category = "platform"

[[rule]]
id = "platform.boot"
reason = "boot problem"
any = ["stuck at boot", "won't boot", "serial console"]

[[rule]]
id = "platform.proxy"
reason = "proxy in front of the VM"
any = ["nginx"]
"#;

fn new_rules() -> tempfile::TempDir {
    common::rules_dir(&[
        ("categories/security.toml", NEW_SECURITY),
        ("categories/platform.toml", NEW_PLATFORM),
    ])
}

fn diff(old: &Path, new: &Path, extra: &[&str], stdin: &str) -> (Option<i32>, String, String) {
    let out = triage()
        .arg("diff")
        .arg("--rules")
        .arg(old)
        .arg("--against")
        .arg(new)
        .args(extra)
        .write_stdin(stdin)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_rules_change_is_reported_exactly() {
    let old = common::rules_dir(&[]);
    let new = new_rules();
    let (code, out, err) = diff(old.path(), new.path(), &["--format", "json"], EXPORT);
    assert_eq!(code, Some(1), "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["rows"], 6);
    assert_eq!(r["changed"], 2);
    assert_eq!(
        r["labels"],
        serde_json::json!(["in-scope", "vendor-referral", "out-of-scope"])
    );
    // rows: old label, columns: new label. T-1 moves out-of-scope → in-scope; T-5 stays
    // in-scope (none → platform); T-2 in-scope, T-3 and T-6 vendor-referral, T-4 out-of-scope.
    assert_eq!(
        r["matrix"],
        serde_json::json!([[2, 0, 0], [0, 2, 0], [1, 0, 1]])
    );
    assert_eq!(
        r["category_moves"],
        serde_json::json!([
            {"old": "none", "new": "platform", "rows": 1},
            {"old": "security", "new": "none", "rows": 1},
        ])
    );
    let changes = r["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    let c = &changes[0];
    assert_eq!(c["id"], "T-1");
    assert_eq!(c["verdict_changed"], true);
    assert_eq!(c["row"], 1);
    assert_eq!(c["input"], "<stdin>");
    assert_eq!(
        (
            &c["old_label"],
            &c["old_category"],
            &c["new_label"],
            &c["new_category"]
        ),
        (
            &Value::from("out-of-scope"),
            &Value::from("security"),
            &Value::from("in-scope"),
            &Value::Null
        )
    );
    assert_eq!(c["rules_appeared"], serde_json::json!([]));
    assert_eq!(
        c["rules_disappeared"],
        serde_json::json!(["security.compromise"])
    );
    // The old side decided with the rule that disappeared: its evidence is the snippet.
    assert_eq!(c["decisive_side"], "old");
    assert_eq!(c["decisive_rule"], "security.compromise");
    assert_eq!(c["snippet"]["field"], "description");
    assert_eq!(c["snippet"]["matched"], "cryptominer");
    assert_eq!(c["snippet"]["before"], "We found a ");
    assert_eq!(c["snippet"]["after"], " in /tmp");
    let c = &changes[1];
    assert_eq!(c["id"], "T-5");
    assert_eq!(
        (&c["old_category"], &c["new_category"]),
        (&Value::Null, &Value::from("platform"))
    );
    assert_eq!(c["rules_appeared"], serde_json::json!(["platform.proxy"]));
    assert_eq!(c["decisive_side"], "new");
    assert_eq!(c["snippet"]["matched"], "nginx");
}

#[test]
fn text_and_csv_reports_list_the_same_changes() {
    let old = common::rules_dir(&[]);
    let new = new_rules();
    let (code, out, _) = diff(old.path(), new.path(), &[], EXPORT);
    assert_eq!(code, Some(1));
    assert!(out.contains("6 rows: 2 changed label or category"), "{out}");
    let row = |label: &str| -> Vec<String> {
        let line = out
            .lines()
            .find(|l| l.starts_with(&format!("  {label} ")))
            .unwrap_or_else(|| panic!("no matrix row {label}: {out}"));
        line.split_whitespace().skip(1).map(str::to_owned).collect()
    };
    assert_eq!(row("out-of-scope"), ["1", "0", "1"]);
    assert_eq!(row("in-scope"), ["2", "0", "0"]);
    assert!(out.contains("  security → none  1\n"), "{out}");
    assert!(out.contains("  T-1 (<stdin> row 1)\n    out-of-scope/security → in-scope/none\n    rules: -security.compromise\n    old security.compromise: description: \"We found a >>cryptominer<< in /tmp\"\n"), "{out}");
    assert!(out.contains("rules: +platform.proxy"), "{out}");

    let (code, out, err) = diff(old.path(), new.path(), &["--format", "csv"], EXPORT);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("6 rows: 2 changed"),
        "counts go to stderr: {err}"
    );
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!((&rows[0][0], &rows[0][3]), ("verdict", "T-1"));
    assert_eq!(&rows[0][9], "security.compromise");
    assert_eq!(&rows[1][3], "T-5");
    assert_eq!(
        &rows[1][12],
        "description: \">>nginx<< returns 502 since this morning\""
    );
}

#[test]
fn no_change_exits_zero() {
    let old = common::rules_dir(&[]);
    let same = common::rules_dir(&[]);
    let (code, out, err) = diff(old.path(), same.path(), &["--format", "json"], EXPORT);
    assert_eq!(code, Some(0), "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["changed"], 0);
    assert_eq!(r["rules_only"], 0);
    assert_eq!(r["changes"], serde_json::json!([]));
    assert_eq!(
        r["matrix"],
        serde_json::json!([[2, 0, 0], [0, 2, 0], [0, 0, 2]])
    );
}

#[test]
fn a_change_that_keeps_every_verdict_counts_as_rules_only() {
    let old = common::rules_dir(&[]);
    // A second platform rule that fires on T-3, already platform-and-distro: same verdict.
    let new = common::rules_dir(&[(
        "categories/platform.toml",
        &format!(
            "{}\n[[rule]]\nid = \"platform.vm\"\nreason = \"vm\"\nany = [\"vm\"]\n",
            common::PLATFORM
        ),
    )]);
    let (code, out, _) = diff(old.path(), new.path(), &["--format", "json"], EXPORT);
    assert_eq!(code, Some(0));
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (r["changed"].as_u64(), r["rules_only"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(
        r["rule_changes"],
        serde_json::json!([]),
        "listed only when asked"
    );

    let (code, out, _) = diff(
        old.path(),
        new.path(),
        &["--format", "json", "--rule-changes"],
        EXPORT,
    );
    assert_eq!(code, Some(0), "the verdicts did not change");
    let r: Value = serde_json::from_str(&out).unwrap();
    let c = &r["rule_changes"][0];
    assert_eq!(c["id"], "T-3");
    assert_eq!(c["verdict_changed"], false);
    assert_eq!(
        (&c["old_category"], &c["new_category"]),
        (&Value::from("distro"), &Value::from("distro"))
    );
    assert_eq!(c["rules_appeared"], serde_json::json!(["platform.vm"]));
    assert_eq!(
        (&c["decisive_side"], &c["decisive_rule"]),
        (&Value::from("new"), &Value::from("platform.vm"))
    );
    assert_eq!(c["snippet"]["matched"], "VM");
    let (_, out, _) = diff(old.path(), new.path(), &["--rule-changes"], EXPORT);
    assert!(out.contains("\nSame verdict, other rules\n  T-3 (<stdin> row 3)\n    vendor-referral/distro → vendor-referral/distro\n    rules: +platform.vm\n"), "{out}");
}

#[test]
fn fixture_diff_names_fixtures_that_newly_pass_or_fail() {
    let old = common::rules_dir(&[]);
    let new = new_rules();
    let fixtures = tempfile::tempdir().unwrap();
    common::write(
        fixtures.path(),
        "cases.toml",
        r#"
[[case]]
id = "miner-is-not-ours"
description = "We found a cryptominer in /tmp"
label = "in-scope"
category = "none"

[[case]]
id = "miner-on-server"
description = "Our server runs a cryptominer nobody installed"
label = "out-of-scope"
category = "security"

[[case]]
id = "boot"
description = "The VM is stuck at boot"
label = "in-scope"
category = "platform"
"#,
    );
    let (code, out, err) = diff(
        old.path(),
        new.path(),
        &["--format", "json", "--fixtures"],
        "",
    );
    assert_eq!(
        code,
        Some(2),
        "no fixtures/ in the working directory: {out}{err}"
    );
    let dir = fixtures.path().to_str().unwrap();
    let (code, out, err) = diff(
        old.path(),
        new.path(),
        &["--format", "json", "--fixtures", dir],
        "",
    );
    assert_eq!(code, Some(1), "{err}");
    let r: Value = serde_json::from_str(&out).unwrap();
    let f = &r["fixtures"];
    assert_eq!(f["total"], 3);
    assert_eq!(
        (f["old_passed"].as_u64(), f["new_passed"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(f["newly_passing"], serde_json::json!(["miner-is-not-ours"]));
    assert_eq!(f["newly_failing"], serde_json::json!(["miner-on-server"]));
    assert_eq!(r["changed"], 2);
    let c = &r["changes"][0];
    assert_eq!(c["id"], "miner-is-not-ours");
    assert_eq!(c["fixture"]["expected"], "in-scope/none");
    assert_eq!(
        (
            c["fixture"]["old_passed"].as_bool(),
            c["fixture"]["new_passed"].as_bool()
        ),
        (Some(false), Some(true))
    );

    let (_, out, _) = diff(old.path(), new.path(), &["--fixtures", dir], "");
    assert!(
        out.contains("fixtures passing: 2 → 2 of 3; newly failing: miner-on-server; newly passing: miner-is-not-ours"),
        "{out}"
    );
    assert!(out.contains("expected in-scope/none: FAIL → pass"), "{out}");
}

#[test]
fn one_read_classifies_with_both_rule_sets_like_two_classify_runs() {
    // The library path: classify_each (text normalised once) agrees with classify per set.
    let mini = common::mini();
    let default = triage::RuleSet::embedded().unwrap();
    for line in EXPORT.lines().skip(1) {
        let text = line.splitn(3, ',').nth(2).unwrap();
        let ticket = triage::Ticket::new("", text);
        let mut both = vec![triage::Verdict::default(), triage::Verdict::default()];
        triage::RuleSet::classify_each(&[&mini, &default], &ticket, &mut both);
        assert_eq!(both[0], mini.classify(&ticket), "{text}");
        assert_eq!(both[1], default.classify(&ticket), "{text}");
    }
}

#[test]
fn bad_new_rules_exit_two() {
    let old = common::rules_dir(&[]);
    let bad = common::rules_dir(&[(
        "categories/oss.toml",
        "category = \"oss\"\n[[rule]]\nid = 3\n",
    )]);
    let (code, _, err) = diff(old.path(), bad.path(), &[], EXPORT);
    assert_eq!(code, Some(2));
    assert!(err.contains("oss.toml:"), "{err}");
}
