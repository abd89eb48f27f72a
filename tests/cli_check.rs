//! `triage check` end to end: human and JSON output, stdin, exit statuses, bad rules.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;

fn triage() -> Command {
    let mut cmd = Command::cargo_bin("triage").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

#[test]
fn human_output_explains_the_verdict() {
    let dir = common::rules_dir(&[]);
    triage()
        .args(["check", "--rules"])
        .arg(dir.path())
        .arg("Not a hacked box: Tomcat fails to start with an error")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("in-scope  (oss)\n"))
        .stdout(predicate::str::contains("reason:     supported failure"))
        .stdout(predicate::str::contains("oss.failure [oss]"))
        .stdout(predicate::str::contains(">>Tomcat<<"))
        .stdout(predicate::str::contains(
            "security.compromise [security] (negated)",
        ))
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn json_output_has_the_documented_keys() {
    let dir = common::rules_dir(&[]);
    let out = triage()
        .args(["check", "--json", "--subject", "Serial console", "--rules"])
        .arg(dir.path())
        .arg("Our CentOS 7 VM is stuck at boot")
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["label"], "vendor-referral");
    assert_eq!(v["category"], "distro");
    assert_eq!(v["categories"], serde_json::json!(["distro", "platform"]));
    assert_eq!(v["review"], false);
    assert_eq!(v["reason"], "centos outside");
    assert_eq!(v["vendor"], "CentOS Project");
    let ev = v["evidence"].as_array().unwrap();
    assert!(ev.iter().any(|e| e["rule"] == "platform.boot"
        && e["field"] == "subject"
        && e["text"] == "Serial console"));
    assert!(ev.iter().any(|e| e["rule"] == "matrix.centos"
        && e["text"] == "CentOS"
        && e["start"] == 4
        && e["end"] == 10));
    assert_eq!(v["entities"][0]["release"], "7");
    assert_eq!(v["entities"][0]["inside_matrix"], false);
}

#[test]
fn reads_stdin_when_no_text_or_dash() {
    let dir = common::rules_dir(&[]);
    for args in [vec!["check", "--json"], vec!["check", "--json", "-"]] {
        let out = triage()
            .args(&args)
            .arg("--rules")
            .arg(dir.path())
            .write_stdin("we found a cryptominer in /tmp\n")
            .output()
            .unwrap();
        assert!(out.status.success());
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["category"], "security");
    }
}

#[test]
fn nothing_fired_is_flagged_for_review() {
    let dir = common::rules_dir(&[]);
    triage()
        .args(["check", "--rules"])
        .arg(dir.path())
        .arg("hello there")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "in-scope  (none)  review\nreason:     nothing fired\n",
        ));
}

#[test]
fn bad_rules_dir_exits_2_with_location() {
    let dir = common::rules_dir(&[(
        "categories/security.toml",
        "category = \"security\"\n[[rule]]\nid = \"x\"\nreason = \"r\"\nany = [\"re:(\"]\n",
    )]);
    triage()
        .args(["check", "--rules"])
        .arg(dir.path())
        .arg("text")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "categories/security.toml:5:8: invalid regex",
        ));
    triage()
        .args(["check", "--rules", "/nonexistent/rules", "text"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "/nonexistent/rules:1:1: cannot read: not a directory",
        ));
}

#[test]
fn usage_errors_exit_2() {
    triage()
        .args(["check", "--bogus"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--bogus"));
    triage().arg("frobnicate").assert().code(2);
}

#[test]
fn expect_reports_and_sets_the_exit_status() {
    let dir = common::rules_dir(&[]);
    triage()
        .args(["check", "--expect", "out-of-scope/security", "--rules"])
        .arg(dir.path())
        .arg("the box was hacked")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "as expected (out-of-scope/security)",
        ));
    triage()
        .args(["check", "--expect", "in-scope", "--rules"])
        .arg(dir.path())
        .arg("the box was hacked")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "expected in-scope, got out-of-scope/security",
        ));
    triage()
        .args(["check", "--expect", "maybe", "--rules"])
        .arg(dir.path())
        .arg("x")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown label \"maybe\""));
}

#[test]
fn save_fixture_appends_a_case_the_suite_can_run() {
    let dir = common::rules_dir(&[]);
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("found.toml");
    for (text, expect) in [
        ("tomcat fails to start, error", "in-scope/oss"),
        ("line one\n\"quoted\" line two", "out-of-scope/howto"),
    ] {
        triage()
            .args([
                "check",
                "--subject",
                "S",
                "--expect",
                expect,
                "--save-fixture",
            ])
            .arg(&file)
            .arg("--rules")
            .arg(dir.path())
            .arg(text)
            .output()
            .unwrap();
    }
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_eq!(saved.matches("[[case]]").count(), 2);
    assert!(
        saved.contains("id = \"found-001\"") && saved.contains("id = \"found-002\""),
        "{saved}"
    );
    // The file is a valid fixture file: the first case passes, the second (labelled by hand) fails.
    triage()
        .args(["test", "--quiet", "--rules"])
        .arg(dir.path())
        .arg(&file)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("2 fixtures: 1 passed, 1 failed"));
}

#[test]
fn save_fixture_refuses_a_duplicate_id() {
    let dir = common::rules_dir(&[]);
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("f.toml");
    let save = |expect_code: i32| {
        triage()
            .args(["check", "--save-fixture"])
            .arg(&file)
            .args(["--fixture-id", "case-1", "--rules"])
            .arg(dir.path())
            .arg("hacked")
            .assert()
            .code(expect_code)
    };
    save(0);
    save(2).stderr(predicate::str::contains(
        "a case with id \"case-1\" is already there",
    ));
}

#[test]
fn explain_names_the_rule_an_exclusion_stopped_and_the_words() {
    let dir = common::rules_dir(&[]);
    let text = "How do I add a sudo user? The script prints an error.";
    triage()
        .args(["check", "--explain", "--rules"])
        .arg(dir.path())
        .arg(text)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "stopped by exclusions:\n  howto.admin [howto]\n      description: \"",
        ))
        .stdout(predicate::str::contains("prints an >>error<<."));
    let out = triage()
        .args(["check", "--explain", "--json", "--rules"])
        .arg(dir.path())
        .arg(text)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["label"], "in-scope");
    assert_eq!(v["vetoed"][0]["rule"], "howto.admin");
    assert_eq!(v["vetoed"][0]["by"][0]["text"], "error");
    assert_eq!(
        v["vetoed"][0]["by"][0]["start"],
        text.find("error").unwrap()
    );
    // Without the exclusion word the rule fires and nothing is stopped; without --explain the
    // JSON has no `vetoed` key.
    triage()
        .args(["check", "--explain", "--rules"])
        .arg(dir.path())
        .arg("How do I add a sudo user?")
        .assert()
        .success()
        .stdout(predicate::str::contains("stopped by exclusions: none\n"));
    let out = triage()
        .args(["check", "--json", "--rules"])
        .arg(dir.path())
        .arg(text)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v.get("vetoed").is_none());
}
