//! Hostile input and limits, end to end: each case asserts the message and the exit status
//! (0 classified, 1 classified with rows flagged in `triage_error`, 2 refused, 130 interrupted).
//! The README's "Reliability" table lists the same cases. Directory and missing inputs, an
//! output directory that does not exist and stdin with no bytes are in tests/cli_classify.rs.

mod common;

use assert_cmd::Command;
use std::time::{Duration, Instant};

/// `triage classify` with the default rules.
fn classify() -> Command {
    let mut cmd = Command::cargo_bin("triage").unwrap();
    cmd.arg("classify");
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

/// Index of a column in an output header.
fn col(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

#[test]
fn extremely_long_lines_finish_in_bounded_time() {
    // A 10 MB line without a line break, and a header of 200,000 columns.
    let line = "tomcat fails to start with an error ".repeat(300_000);
    let input = format!("Id,Subject,Description\n1,long,{line}\n");
    let started = Instant::now();
    let out = classify().write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows = read_csv(&out.stdout);
    assert_eq!(rows[1][2], line);
    assert_eq!(
        rows[1][col(&rows[0], "triage_error")],
        "text over 1048576 bytes: classified on its first 1048576 bytes"
    );
    let mut wide: String = (0..200_000).map(|i| format!("c{i},")).collect();
    wide.push_str("Description\n");
    wide.push_str(&",".repeat(200_000));
    wide.push_str("our server was hacked\n");
    for format in ["csv", "jsonl"] {
        let out = classify()
            .args(["--format", format])
            .write_stdin(wide.clone())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{format}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("out-of-scope"));
    }
    // About 5 s in a debug build; the wide header alone took 8 minutes when making its JSON
    // keys unique was quadratic.
    assert!(started.elapsed() < Duration::from_secs(120));
}
