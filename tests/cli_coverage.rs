//! `triage coverage` end to end, against counts made by hand on a small export.

mod common;

use assert_cmd::Command;
use serde_json::Value;

fn triage() -> Command {
    let mut cmd = Command::cargo_bin("triage").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Five tickets under the mini rules:
/// 1. security (out-of-scope) and oss (in-scope): overlap and conflict for both;
/// 2. oss alone;
/// 3. distro (vendor-referral, CentOS 7) and platform (in-scope): overlap and conflict;
/// 4. and 5. nothing fires: their words are candidates (the signature of 5 is not).
const EXPORT: &str = "Id,Subject,Description\n\
1,Hacked,\"Tomcat fails to start with an error, and the VM was hacked\"\n\
2,Tomcat down,Tomcat fails to start with an error\n\
3,Boot,Our CentOS 7 VM is stuck at boot\n\
4,Grafana dashboard,The grafana dashboard is blank\n\
5,Grafana agent,\"grafana agent shows a blank page\n\nThanks,\nMaria Grafana\"\n";

fn coverage(args: &[&str]) -> (Option<i32>, String) {
    let rules = common::rules_dir(&[]);
    let out = triage()
        .args(["coverage", "--rules"])
        .arg(rules.path())
        .args(args)
        .write_stdin(EXPORT)
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap())
}

fn entry<'a>(list: &'a Value, key: &str, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|e| e[key] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[test]
fn counts_match_the_hand_count() {
    let (code, out) = coverage(&["--format", "json"]);
    assert_eq!(code, Some(0));
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["rows"], 5);
    assert_eq!(r["no_category"], 2);
    assert_eq!(r["no_category_share"], 0.4);
    assert_eq!(r["review"], 2);

    let cats = &r["categories"];
    // (rows, decided, overlap, conflict)
    let counts = |name: &str| {
        let c = entry(cats, "category", name);
        (
            c["rows"].as_u64().unwrap(),
            c["decided"].as_u64().unwrap(),
            c["overlap"].as_u64().unwrap(),
            c["conflict"].as_u64().unwrap(),
        )
    };
    assert_eq!(counts("security"), (1, 1, 1, 1));
    assert_eq!(counts("oss"), (2, 1, 1, 1));
    assert_eq!(counts("distro"), (1, 1, 1, 1));
    assert_eq!(counts("platform"), (1, 0, 1, 1));
    assert_eq!(counts("kernel"), (0, 0, 0, 0));
    assert_eq!(entry(cats, "category", "oss")["coverage"], 0.4);
    assert_eq!(entry(cats, "category", "oss")["label"], "in-scope");

    let rules = &r["rules"];
    let rule = |name: &str| {
        let x = entry(rules, "rule", name);
        (
            x["rows"].as_u64().unwrap(),
            x["overlap"].as_u64().unwrap(),
            x["conflict"].as_u64().unwrap(),
        )
    };
    assert_eq!(rule("security.compromise"), (1, 1, 1));
    assert_eq!(rule("oss.failure"), (2, 1, 1));
    assert_eq!(rule("matrix.centos"), (1, 1, 1));
    assert_eq!(rule("platform.boot"), (1, 1, 1));
    assert_eq!(rule("howto.admin"), (0, 0, 0));
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["rule"] != "matrix.rhel"),
        "a rule that can never fire is left out"
    );

    let terms = |key: &str| -> Vec<(String, u64)> {
        r[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["term"].as_str().unwrap().to_owned(),
                    c["rows"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    // Rows 4 and 5, subject and body; stopwords (the, is, a, thanks) and the signature out.
    assert_eq!(
        terms("words"),
        [
            ("blank", 2),
            ("grafana", 2),
            ("agent", 1),
            ("dashboard", 1),
            ("page", 1),
            ("shows", 1)
        ]
        .map(|(t, n)| (t.to_owned(), n))
    );
    // Once per row, ties alphabetical; "maria" (signature) is not there.
    assert_eq!(
        terms("phrases"),
        [
            ("agent shows", 1),
            ("blank page", 1),
            ("grafana agent", 1),
            ("grafana dashboard", 1)
        ]
        .map(|(t, n)| (t.to_owned(), n))
    );
    assert_eq!(r["candidates_exact"], true);
}

#[test]
fn text_and_csv_formats() {
    let (code, out) = coverage(&[]);
    assert_eq!(code, Some(0));
    assert!(
        out.contains("5 rows; no category (review): 2 (40.0%)"),
        "{out}"
    );
    let line = out.lines().find(|l| l.starts_with("  security ")).unwrap();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>(),
        ["security", "out-of-scope", "1", "20.0%", "1", "1", "1"]
    );
    assert!(
        out.contains("  blank 2, grafana 2, agent 1, dashboard 1, page 1, shows 1\n"),
        "{out}"
    );

    let (_, out) = coverage(&["--format", "csv"]);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let find = |kind: &str, name: &str| {
        rows.iter()
            .find(|r| &r[0] == kind && &r[1] == name)
            .unwrap_or_else(|| panic!("{kind} {name}: {out}"))
            .iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(find("total", "no-category")[4], "2");
    assert_eq!(
        find("category", "oss"),
        ["category", "oss", "oss", "in-scope", "2", "0.400000", "1", "1", "1"]
    );
    assert_eq!(find("word", "grafana")[4], "2");
    assert_eq!(find("phrase", "blank page")[4], "1");
}
