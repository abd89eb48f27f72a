//! Hostile input and limits, end to end: each case asserts the message and the exit status
//! (0 classified, 1 classified with rows flagged in `triage_error`, 2 refused, 130 interrupted).
//! The README's "Reliability" table lists the same cases. Directory and missing inputs, an
//! output directory that does not exist and stdin with no bytes are in tests/cli_classify.rs.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
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

fn csv_of(rows: &[[&str; 3]]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["Id", "Subject", "Description"]).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
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

#[test]
fn deeply_nested_email_quoting_is_quoted_text_and_linear() {
    // 5,000 levels of `>` (12 MB in one multi-line field): quoted lines are a quote zone, so
    // "hacked" in them does not make the ticket a security case; and writing the field back
    // costs linear time (csv-core rescanned a big quoted field at every buffer flush: a minute).
    let mut text = String::from("Tomcat fails to start with an error.\n");
    for depth in 1..=5_000 {
        text.push_str(&">".repeat(depth));
        text.push_str(" earlier: we were hacked\n");
    }
    let input = csv_of(&[["1", "nested", &text]]);
    let started = Instant::now();
    let out = classify().write_stdin(input).output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    assert_eq!(out.status.code(), Some(1), "over 1 MiB: flagged");
    let rows = read_csv(&out.stdout);
    assert_eq!(rows[1][2], text);
    assert_eq!(rows[1][col(&rows[0], "triage_category")], "supported-oss");
    Command::cargo_bin("triage")
        .unwrap()
        .args(["check", "--json"])
        .write_stdin(format!("{}> we were hacked\n", ">".repeat(10_000)))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"zone\": \"quote\""))
        .stdout(predicate::str::contains("\"category\": null"));
}

#[test]
fn deeply_nested_csv_quotes_round_trip() {
    let quotes = "\"".repeat(100_000);
    let field = format!("{quotes}our server was hacked{quotes}");
    let input = csv_of(&[["1", "quotes", &field], ["2", "next", "hello"]]);
    let out = classify().write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows = read_csv(&out.stdout);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][2], field);
    assert_eq!(rows[1][col(&rows[0], "triage_label")], "out-of-scope");
}
