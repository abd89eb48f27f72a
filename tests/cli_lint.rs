//! `triage lint` end to end: every finding kind comes from a crafted rule set and not from the
//! clean mini rules it was crafted from; the default rules lint clean (no error, no warning).

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn triage() -> Command {
    let mut cmd = Command::cargo_bin("triage").unwrap();
    cmd.env("NO_COLOR", "1");
    cmd
}

/// The mini rules with `oss.blind` negatable again: they lint clean.
const OSS_CLEAN: &str = r#"
category = "oss"

[[rule]]
id = "oss.failure"
reason = "supported failure"
zones = ["body", "log"]
all = [["tomcat", "php"], ["@failures"]]

[[rule]]
id = "oss.blind"
reason = "segfaults"
any = ["segfault"]
"#;

fn clean(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let mut files = vec![("categories/oss.toml", OSS_CLEAN)];
    files.extend_from_slice(extra);
    common::rules_dir(&files)
}

/// Runs `triage lint --format json --min-severity info` on `dir` from an empty directory (no
/// default fixtures) and returns the exit status and the report.
fn lint(dir: &Path, args: &[&str]) -> (Option<i32>, Value) {
    let cwd = tempfile::tempdir().unwrap();
    let out = triage()
        .current_dir(cwd.path())
        .args([
            "lint",
            "--format",
            "json",
            "--min-severity",
            "info",
            "--rules",
        ])
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code(), report)
}

/// Findings of `code`, as (severity, rule, file name:line).
fn found(report: &Value, code: &str) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .map(|f| {
            let file = Path::new(f["file"].as_str().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                f["severity"].as_str().unwrap().to_owned(),
                f["rule"].as_str().unwrap_or("").to_owned(),
                format!("{file}:{}", f["line"]),
            )
        })
        .collect()
}

fn s(severity: &str, rule: &str, at: &str) -> (String, String, String) {
    (severity.to_owned(), rule.to_owned(), at.to_owned())
}

#[test]
fn the_clean_mini_rules_have_no_findings() {
    let dir = clean(&[]);
    let (code, report) = lint(dir.path(), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(report["findings"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["checked"], serde_json::json!([]));
}

#[test]
fn redundant_rule() {
    let security = format!(
        "{}\n[[rule]]\nid = \"security.dup\"\nreason = \"again\"\nany = [\"hacked\", \"malware\"]\n",
        common::SECURITY
    );
    let dir = clean(&[("categories/security.toml", &security)]);
    let (code, report) = lint(dir.path(), &[]);
    assert_eq!(code, Some(0), "a warning does not fail the run");
    assert_eq!(
        found(&report, "redundant-rule"),
        [s("warning", "security.dup", "security.toml:11")]
    );
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("security.compromise"), "{message}");
}

#[test]
fn conflicting_rule_that_can_never_decide_is_an_error() {
    let platform = format!(
        "{}\n[[rule]]\nid = \"platform.malware\"\nreason = \"cleanup help\"\nany = [\"malware\"]\n",
        common::PLATFORM
    );
    let dir = clean(&[("categories/platform.toml", &platform)]);
    let (code, report) = lint(dir.path(), &[]);
    assert_eq!(code, Some(1), "an error fails the run");
    assert_eq!(
        found(&report, "conflicting-rule"),
        [s("error", "platform.malware", "platform.toml:10")]
    );
    assert_eq!(report["errors"], 1);
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("can never decide"), "{message}");
}

#[test]
fn conflicting_rule_left_to_precedence_is_a_warning() {
    // Security comes first, so this security rule decides; platform.boot fires too.
    let security = format!(
        "{}\n[[rule]]\nid = \"security.console\"\nreason = \"console\"\nany = [\"serial console\"]\n",
        common::SECURITY
    );
    let dir = clean(&[("categories/security.toml", &security)]);
    let (code, report) = lint(dir.path(), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        found(&report, "conflicting-rule"),
        [s("warning", "security.console", "security.toml:11")]
    );
}

#[test]
fn cross_label_terms() {
    // A combination term shared with platform (info), and a term that alone fires both (warning).
    let howto = format!(
        "{}\n[[rule]]\nid = \"howto.console\"\nreason = \"console how-to\"\nall = [[\"how do i\"], [\"serial console\", \"xyzzy\"]]\n",
        common::HOWTO
    );
    let (code, report) = lint(clean(&[("categories/howto.toml", &howto)]).path(), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(
        found(&report, "cross-label-term"),
        [s("info", "howto.console", "howto.toml:19")]
    );
    assert!(
        found(&report, "conflicting-rule").is_empty(),
        "xyzzy is not covered"
    );

    let security = format!(
        "{}\n[[rule]]\nid = \"security.boot\"\nreason = \"boot\"\nany = [\"stuck at boot\", \"bootkit\"]\n",
        common::SECURITY
    );
    let (_, report) = lint(
        clean(&[("categories/security.toml", &security)]).path(),
        &[],
    );
    assert_eq!(
        found(&report, "cross-label-term"),
        // Reported at the first of the two rules in rule-set order (files by name).
        [s("warning", "platform.boot", "platform.toml:7")]
    );
}

#[test]
fn terms_shared_through_one_list_are_not_duplicates() {
    // oss.failure (in-scope) and this howto rule (out-of-scope) both take @failures.
    let howto = format!(
        "{}\n[[rule]]\nid = \"howto.failures\"\nreason = \"x\"\nall = [[\"how do i\"], [\"@failures\"]]\n",
        common::HOWTO
    );
    let (_, report) = lint(clean(&[("categories/howto.toml", &howto)]).path(), &[]);
    assert!(found(&report, "cross-label-term").is_empty(), "{report:#}");
    // Written out literally, the same words are shared terms.
    let howto = format!(
        "{}\n[[rule]]\nid = \"howto.failures\"\nreason = \"x\"\nall = [[\"how do i\"], [\"error\", \"fails to start\"]]\n",
        common::HOWTO
    );
    let (_, report) = lint(clean(&[("categories/howto.toml", &howto)]).path(), &[]);
    let found = found(&report, "cross-label-term");
    assert_eq!(found.len(), 1, "{report:#}");
    let message = report["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("share 2 term(s)"), "{message}");
}

#[test]
fn negation_opt_outs() {
    // "we did not install" carries its own cue; "binary" does not, and negation never reaches it.
    let oss = format!(
        "{OSS_CLEAN}\n[[rule]]\nid = \"oss.planted\"\nreason = \"x\"\nnegatable = false\n[[rule.near]]\na = [\"we did not install\"]\nb = [\"binary\"]\nwithin = 4\n"
    );
    let (_, report) = lint(clean(&[("categories/oss.toml", &oss)]).path(), &[]);
    assert_eq!(
        found(&report, "negation-opt-out"),
        [s("info", "oss.planted", "oss.toml:21")]
    );
    assert!(found(&report, "needless-opt-out").is_empty());
    // The mini rules' own oss.blind opts out with no cue in any term.
    let (_, report) = lint(common::rules_dir(&[]).path(), &[]);
    assert_eq!(
        found(&report, "needless-opt-out"),
        [s("warning", "oss.blind", "oss.toml:11")]
    );
}

#[test]
fn self_negating_term() {
    let kernel = format!(
        "{}\n[[rule]]\nid = \"kernel.dkms-hang\"\nreason = \"x\"\nall = [[\"never responds\"], [\"dkms\"]]\n",
        common::KERNEL
    );
    let (_, report) = lint(clean(&[("categories/kernel.toml", &kernel)]).path(), &[]);
    assert_eq!(
        found(&report, "self-negating"),
        [s("warning", "kernel.dkms-hang", "kernel.toml:27")]
    );
    // A phrase whose cue a pseudo-cue hides is fine: "not working" (pseudo `not work…`).
    let kernel = format!(
        "{}\n[[rule]]\nid = \"kernel.dkms-hang\"\nreason = \"x\"\nall = [[\"not working\"], [\"dkms\"]]\n",
        common::KERNEL
    );
    let (_, report) = lint(clean(&[("categories/kernel.toml", &kernel)]).path(), &[]);
    assert!(found(&report, "self-negating").is_empty(), "{report:#}");
    // A `near` clause that opts out of negation is not cancelled by its own cue; the same clause
    // without the opt-out is.
    for (opt_out, expected) in [("", 1), ("negatable = false\n", 0)] {
        let kernel = format!(
            "{}\n[[rule]]\nid = \"kernel.dkms-hang\"\nreason = \"x\"\n[[rule.near]]\na = [\"dkms\"]\nb = [\"never responds\"]\nwithin = 4\n{opt_out}",
            common::KERNEL
        );
        let (_, report) = lint(clean(&[("categories/kernel.toml", &kernel)]).path(), &[]);
        assert_eq!(
            found(&report, "self-negating").len(),
            expected,
            "{opt_out:?}: {report:#}"
        );
    }
}

#[test]
fn broad_and_silent_rules_on_a_sample() {
    let dir = clean(&[]);
    let sample = tempfile::tempdir().unwrap();
    let export = sample.path().join("sample.csv");
    std::fs::write(
        &export,
        "Subject,Description\nHacked,our box was hacked\nHacked too,hacked again\nBoot,stuck at boot\nTomcat,tomcat error\nTomcat,php error\n",
    )
    .unwrap();
    let (code, report) = lint(dir.path(), &["--sample", export.to_str().unwrap()]);
    assert_eq!(code, Some(0));
    assert_eq!(report["checked"], serde_json::json!(["sample"]));
    // 2 of 5 rows (40%) hack: above 20%; oss.failure fires on 2 too.
    let broad = found(&report, "broad-rule");
    assert_eq!(
        broad,
        [
            s("warning", "oss.failure", "oss.toml:5"),
            s("warning", "security.compromise", "security.toml:5")
        ]
    );
    let mut silent: Vec<String> = found(&report, "silent-rule")
        .into_iter()
        .map(|f| f.1)
        .collect();
    silent.sort();
    // Every rule that can fire and did not (matrix.rhel never can: not reported).
    assert_eq!(
        silent,
        [
            "howto.admin",
            "howto.subject-only",
            "kernel.built",
            "kernel.custom",
            "kernel.version",
            "matrix.centos",
            "matrix.sles",
            "matrix.ubuntu",
            "odd.tie",
            "oss.blind",
        ]
    );
    // A higher threshold: nothing is too broad.
    let (_, report) = lint(
        dir.path(),
        &["--sample", export.to_str().unwrap(), "--broad", "0.5"],
    );
    assert!(found(&report, "broad-rule").is_empty());
}

#[test]
fn slow_and_unguarded_regexes() {
    let slow = r"zz[a-z0-9]{1,3000}q";
    let size = triage::tuning::lint::regex_size(slow).unwrap();
    assert!(
        size > triage::tuning::lint::SLOW_REGEX_BYTES && size < triage::compile::REGEX_SIZE_LIMIT,
        "{size}"
    );
    let security = format!(
        "{}\n[[rule]]\nid = \"security.regexes\"\nreason = \"x\"\nany = ['re:{slow}', 're:[a-z]+x']\n",
        common::SECURITY
    );
    let (code, report) = lint(
        clean(&[("categories/security.toml", &security)]).path(),
        &[],
    );
    assert_eq!(code, Some(0));
    assert_eq!(
        found(&report, "slow-regex"),
        [s("warning", "security.regexes", "security.toml:13")]
    );
    assert_eq!(
        found(&report, "unguarded-regex"),
        [s("warning", "security.regexes", "security.toml:13")]
    );
}

/// A regex whose guard literals are a few letters ("abc" of `abc[0-9]+z`, or "co", "ma"… of a
/// long alternation of words cut down to sixteen guards) runs on most tickets; a longer fixed
/// start keeps it selective.
#[test]
fn weakly_guarded_regexes() {
    let rules = |regex: &str| {
        let security = format!(
            "{}\n[[rule]]\nid = \"security.ids\"\nreason = \"x\"\nany = ['re:{regex}']\n",
            common::SECURITY
        );
        lint(
            clean(&[("categories/security.toml", &security)]).path(),
            &[],
        )
        .1
    };
    assert_eq!(
        found(&rules(r"\b(?:abc|abd)[0-9]+z"), "weak-guard"),
        [s("warning", "security.ids", "security.toml:13")]
    );
    assert!(found(&rules(r"\babcdef[0-9]+z"), "weak-guard").is_empty());
}

#[test]
fn unexercised_rules_with_fixtures() {
    let dir = clean(&[]);
    let fixtures = tempfile::tempdir().unwrap();
    common::write(
        fixtures.path(),
        "cases.toml",
        "[[case]]\nid = \"a\"\ndescription = \"our VM was hacked\"\nlabel = \"out-of-scope\"\n",
    );
    let (code, report) = lint(
        dir.path(),
        &["--fixtures", fixtures.path().to_str().unwrap()],
    );
    assert_eq!(code, Some(0));
    assert_eq!(report["checked"], serde_json::json!(["fixtures"]));
    let rules: Vec<String> = found(&report, "unexercised-rule")
        .into_iter()
        .map(|f| f.1)
        .collect();
    assert!(rules.contains(&"platform.boot".to_owned()), "{rules:?}");
    assert!(
        !rules.contains(&"security.compromise".to_owned()),
        "exercised"
    );
    assert!(!rules.contains(&"matrix.rhel".to_owned()), "can never fire");
}

#[test]
fn text_report_names_file_line_severity_code_and_hint() {
    let out = triage()
        .args(["lint", "--rules"])
        .arg(common::rules_dir(&[]).path())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.ends_with(
            "oss.toml:11:6: warning[needless-opt-out] oss.blind has negatable = false but none of its terms carries a negation cue: \"no …\" never cancels it"
        ),
        "{text}"
    );
    assert!(
        text.lines().nth(1).unwrap().starts_with("    hint: "),
        "{text}"
    );
    assert!(text.contains("0 error(s), 1 warning(s), 0 info"), "{text}");
}

#[test]
fn the_default_rules_lint_without_errors_or_warnings() {
    // Run where `fixtures/` is, so the fixture suite is checked too.
    let out = triage()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["lint", "--format", "json", "--min-severity", "info"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| {
            format!(
                "{}:{}: {}[{}] {}",
                f["file"].as_str().unwrap_or(""),
                f["line"],
                f["severity"].as_str().unwrap_or(""),
                f["code"].as_str().unwrap_or(""),
                f["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(warnings.is_empty(), "{}", warnings.join("\n"));
    assert_eq!(report["errors"], 0);
    assert_eq!(report["warnings"], 0);
    assert_eq!(report["checked"], serde_json::json!(["fixtures"]));
    for code in [
        "unguarded-regex",
        "unexercised-rule",
        "redundant-rule",
        "conflicting-rule",
        "needless-opt-out",
        "slow-regex",
        "weak-guard",
    ] {
        assert!(
            found(&report, code).is_empty(),
            "{code}: {:?}",
            found(&report, code)
        );
    }
}
