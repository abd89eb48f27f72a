//! `triage classify` end to end: every row out once, in order, unchanged; messy input; exit
//! statuses; atomic output; JSON Lines; identical output for any thread count.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;

fn triage(rules: &Path) -> Command {
    let mut cmd = Command::cargo_bin("triage").unwrap();
    cmd.env("NO_COLOR", "1")
        .arg("classify")
        .arg("--rules")
        .arg(rules);
    cmd
}

fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

const EXPORT: &str = "Id,Subject,Description,Status\r\n\
1,Hacked,\"We found a cryptominer, \"\"xmrig\"\", in /tmp\r\nplease help\",open\r\n\
2,Tomcat down,\"Tomcat fails to start with an error\",new\r\n\
3,Question,,solved\r\n\
4,Boot,\"Our CentOS 7 VM is stuck at boot\",open\r\n";

#[test]
fn every_row_is_written_once_in_order_with_fields_unchanged() {
    let rules = common::rules_dir(&[]);
    let out = triage(rules.path()).write_stdin(EXPORT).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = read_csv(&out.stdout);
    let input = read_csv(EXPORT.as_bytes());
    assert_eq!(rows.len(), input.len());
    assert_eq!(
        rows[0][4..],
        [
            "triage_label",
            "triage_category",
            "triage_categories",
            "triage_rules",
            "triage_vendor",
            "triage_review",
            "triage_reason",
            "triage_error"
        ]
    );
    for (o, i) in rows.iter().zip(&input) {
        assert_eq!(o[..4], i[..], "input fields unchanged");
    }
    assert_eq!(
        rows[1][4..8],
        [
            "out-of-scope",
            "security",
            "security",
            "security.compromise"
        ]
    );
    assert_eq!(rows[2][4..6], ["in-scope", "oss"]);
    assert_eq!(
        rows[3][4..6],
        ["out-of-scope", "howto"],
        "subject-only rule, empty description"
    );
    assert_eq!(rows[4][4..6], ["vendor-referral", "distro"]);
    assert_eq!(rows[4][8], "CentOS Project");
    assert_eq!(rows[4][9], "false");
    assert!(out.stderr.starts_with(
        b"triage: <stdin>: text columns \"Subject\" + \"Description\" (detected), id column \"Id\""
    ));
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 rows in"));
}

#[test]
fn empty_text_is_labelled_by_default_and_flagged_for_review() {
    let rules = common::rules_dir(&[]);
    let out = triage(rules.path())
        .write_stdin("title,body\n,\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows = read_csv(&out.stdout);
    assert_eq!(rows[1][2..4], ["in-scope", ""]);
    assert_eq!(rows[1][7], "true");
    assert_eq!(rows[1][8], "nothing fired");
}

#[test]
fn bom_crlf_and_semicolons_are_handled() {
    let rules = common::rules_dir(&[]);
    let input = "\u{feff}Ticket ID;Summary;Description\r\n7;x;\"hacked; really\"\r\n";
    let out = triage(rules.path()).write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows = read_csv(&out.stdout);
    assert_eq!(rows[0][0], "Ticket ID", "BOM stripped");
    assert_eq!(rows[1][..3], ["7", "x", "hacked; really"]);
    assert_eq!(rows[1][3], "out-of-scope");
    assert!(String::from_utf8_lossy(&out.stderr).contains("delimiter ';'"));
}

#[test]
fn explicit_delimiter_and_tabs() {
    let rules = common::rules_dir(&[]);
    let out = triage(rules.path())
        .args(["--delimiter", "tab"])
        .write_stdin("id\ttext\n1\tmalware, yes\n")
        .output()
        .unwrap();
    let rows = read_csv(&out.stdout);
    assert_eq!(rows[1][..3], ["1", "malware, yes", "out-of-scope"]);
}

#[test]
fn windows_1252_is_decoded_with_a_warning() {
    let rules = common::rules_dir(&[]);
    let mut input = b"Id,Subject,Description\n1,Caf\xe9,\x93hacked\x94 box\n2,ok,fine\n".to_vec();
    input.extend_from_slice(b"3,ok,ok\n");
    let out = triage(rules.path()).write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).expect("output is UTF-8");
    let rows = read_csv(text.as_bytes());
    assert_eq!(
        rows[1][..4],
        ["1", "Café", "\u{201c}hacked\u{201d} box", "out-of-scope"]
    );
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("warning: <stdin>: 1 row(s) not valid UTF-8, decoded as Windows-1252"));
}

#[test]
fn ragged_rows_are_written_through_and_flagged() {
    let rules = common::rules_dir(&[]);
    let input = "Id,Subject,Description\n1,hacked\n2,a,b,extra\n3,a,b\n";
    let out = triage(rules.path()).write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "rows with errors exit 1");
    let rows = read_csv(&out.stdout);
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[1][..4],
        ["1", "hacked", "", "out-of-scope"],
        "short row padded and still classified"
    );
    assert_eq!(
        rows[1][10],
        "ragged row 1: 2 field(s), header has 3; missing fields written empty"
    );
    assert_eq!(
        rows[2][..4],
        ["2", "a", "b", "extra"],
        "long row keeps its extra field"
    );
    assert!(rows[2][11].starts_with("ragged row 2"));
    assert_eq!(rows[3][10], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("errors: 2"));
}

#[test]
fn jsonl_output_has_fields_and_verdict() {
    let rules = common::rules_dir(&[]);
    let out = triage(rules.path())
        .args(["--format", "jsonl"])
        .write_stdin(EXPORT)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["Id"], "1");
    assert_eq!(
        lines[0]["Description"],
        "We found a cryptominer, \"xmrig\", in /tmp\r\nplease help"
    );
    assert_eq!(lines[0]["triage_label"], "out-of-scope");
    assert_eq!(
        lines[0]["triage_categories"],
        serde_json::json!(["security"])
    );
    assert_eq!(lines[0]["triage_review"], false);
    assert_eq!(lines[0]["triage_error"], serde_json::Value::Null);
    assert_eq!(lines[3]["triage_row"], 4);
}

#[test]
fn named_columns_and_missing_column_error() {
    let rules = common::rules_dir(&[]);
    let out = triage(rules.path())
        .args(["--text-column", "Status"])
        .write_stdin(EXPORT)
        .output()
        .unwrap();
    assert_eq!(read_csv(&out.stdout)[1][4], "in-scope");
    triage(rules.path())
        .args(["--text-column", "Body"])
        .write_stdin(EXPORT)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no column named \"Body\"; the header has: \"Id\", \"Subject\", \"Description\", \"Status\""));
}

#[test]
fn output_is_atomic_and_failed_runs_leave_nothing() {
    let rules = common::rules_dir(&[]);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a.csv");
    let other = dir.path().join("b.csv");
    std::fs::write(&good, EXPORT).unwrap();
    std::fs::write(&other, "Subject,Body\n1,2\n").unwrap();
    let out_path = dir.path().join("out.csv");
    triage(rules.path())
        .arg(&good)
        .arg(&other)
        .arg("-o")
        .arg(&out_path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("header differs"));
    assert!(!out_path.exists(), "no partial output");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary file removed");
    triage(rules.path())
        .arg(&good)
        .arg(&good)
        .arg("-o")
        .arg(&out_path)
        .arg("--summary-json")
        .arg(dir.path().join("s.json"))
        .assert()
        .success();
    assert_eq!(
        read_csv(&std::fs::read(&out_path).unwrap()).len(),
        9,
        "header once, rows of both inputs"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("s.json")).unwrap()).unwrap();
    assert_eq!(summary["rows"], 8);
    assert_eq!(summary["labels"]["out-of-scope"], 4);
    assert_eq!(
        summary["inputs"][0]["text_columns"],
        serde_json::json!(["Subject", "Description"])
    );
}

#[test]
fn fatal_input_errors_exit_2() {
    let rules = common::rules_dir(&[]);
    let dir = tempfile::tempdir().unwrap();
    triage(rules.path())
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a directory"));
    triage(rules.path())
        .arg(dir.path().join("missing.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("missing.csv: cannot open"));
    triage(rules.path())
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("<stdin>: empty file"));
    let input = dir.path().join("in.csv");
    std::fs::write(&input, EXPORT).unwrap();
    triage(rules.path())
        .arg(&input)
        .arg("-o")
        .arg(&input)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("would overwrite an input"));
    triage(rules.path())
        .arg(&input)
        .arg("-o")
        .arg("/nonexistent-dir/out.csv")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "/nonexistent-dir/out.csv: cannot create output",
        ));
}

#[test]
fn header_only_file_gives_header_only_output() {
    let rules = common::rules_dir(&[]);
    let out = triage(rules.path())
        .write_stdin("Subject,Description\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(read_csv(&out.stdout).len(), 1);
}

#[test]
fn same_output_for_any_thread_count() {
    let rules = common::rules_dir(&[]);
    let mut input = String::from("Id,Subject,Description\n");
    for i in 0..3000 {
        let text = [
            "hacked box",
            "Tomcat fails to start, error",
            "CentOS 7 stuck at boot",
            "hello",
            "How do I add a user?",
        ][i % 5];
        input.push_str(&format!("{i},s{i},\"{text} {i}\"\n"));
    }
    let run = |threads: &str| {
        triage(rules.path())
            .args(["--threads", threads])
            .write_stdin(input.clone())
            .output()
            .unwrap()
            .stdout
    };
    let one = run("1");
    assert_eq!(read_csv(&one).len(), 3001);
    assert_eq!(one, run("4"));
    assert_eq!(one, run("3"));
}

#[test]
fn interrupted_run_leaves_no_output_and_exits_130() {
    use std::io::Write;
    use std::process::{Command as Std, Stdio};
    let rules = common::rules_dir(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.csv");
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("triage"))
        .args(["classify", "-q", "--rules"])
        .arg(rules.path())
        .arg("-o")
        .arg(&out_path)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(b"Id,Subject,Description\n1,a,hacked\n2,b,tomcat fails to start\n")
        .unwrap();
    stdin.flush().unwrap();
    // Give the process time to install its signal handler and read the rows.
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let status = Std::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("interrupted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out_path.exists(),
        "no output file after an interrupted run"
    );
    let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(leftovers, 0, "temporary file removed");
}

#[test]
fn a_failing_output_stops_the_run_with_status_2() {
    use std::process::{Command as Std, Stdio};
    let rules = common::rules_dir(&[]);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.csv");
    let mut text = String::from("Id,Subject,Description\n");
    for i in 0..20_000 {
        text.push_str(&format!(
            "{i},s,\"tomcat fails to start with an error, row {i}\"\n"
        ));
    }
    std::fs::write(&input, text).unwrap();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("triage"))
        .args(["classify", "-q", "--threads", "1", "--rules"])
        .arg(rules.path())
        .arg(&input)
        .stdout(Stdio::from(full))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It must end by itself (it used to block when the writer gave up).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "classify hung on a failing output"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(2));
}

#[test]
fn output_keeps_the_mode_of_the_file_it_replaces() {
    use std::os::unix::fs::PermissionsExt;
    let rules = common::rules_dir(&[]);
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.csv");
    std::fs::write(&out_path, "old").unwrap();
    std::fs::set_permissions(&out_path, std::fs::Permissions::from_mode(0o640)).unwrap();
    triage(rules.path())
        .arg("-o")
        .arg(&out_path)
        .write_stdin(EXPORT)
        .assert()
        .success();
    let mode = std::fs::metadata(&out_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

/// `-o` onto a special file (here a named pipe; `/dev/null` is the everyday case) writes into
/// it: replacing it with a regular file, as the atomic write does for ordinary files, would
/// destroy it.
#[test]
fn output_to_a_named_pipe_writes_into_it_and_leaves_it_a_pipe() {
    use std::os::unix::fs::FileTypeExt;
    let rules = common::rules_dir(&[]);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo is not available");
        return;
    }
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    triage(rules.path())
        .arg("-o")
        .arg(&fifo)
        .write_stdin(EXPORT)
        .assert()
        .success();
    // Checked before waiting for the reader: had the pipe been replaced, nothing would ever
    // write into it and the reader would wait for good.
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the pipe is still a pipe: {kind:?}");
    let written = reader.join().unwrap();
    assert_eq!(read_csv(&written).len(), 5, "header and four rows");
}

/// `-o` onto a symbolic link writes (atomically) the file it points to; the link stays.
#[test]
fn output_through_a_symbolic_link_replaces_its_target_and_keeps_the_link() {
    let rules = common::rules_dir(&[]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.csv");
    let link = dir.path().join("latest.csv");
    std::fs::write(&target, "old").unwrap();
    std::os::unix::fs::symlink(&target, &link).unwrap();
    triage(rules.path())
        .arg("-o")
        .arg(&link)
        .write_stdin(EXPORT)
        .assert()
        .success();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(read_csv(&std::fs::read(&target).unwrap()).len(), 5);
}
