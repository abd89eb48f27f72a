//! Hostile input and limits, end to end: each case asserts the message and the exit status
//! (0 classified, 1 classified with rows flagged in `triage_error`, 2 refused, 130 interrupted).
//! The README's "Reliability" table lists the same cases. Directory and missing inputs, an
//! output directory that does not exist and stdin with no bytes are in tests/cli_classify.rs.

mod common;

use assert_cmd::Command;
use predicates::prelude::*;
use std::path::Path;
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
    // A buffer that holds the biggest field: csv-core rescans a quoted field at every flush.
    let biggest = rows.iter().flatten().map(|f| f.len()).max().unwrap_or(0);
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(2 * biggest + 64)
        .from_writer(Vec::new());
    w.write_record(["Id", "Subject", "Description"]).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

#[test]
fn a_field_over_the_size_limit_is_classified_on_its_first_mib_and_flagged() {
    let filler = "x".repeat(1 << 20);
    let early = format!("our server was hacked {filler} tail");
    let late = format!("{filler} our server was hacked");
    let input = csv_of(&[
        ["1", "big", &early],
        ["2", "late", &late],
        ["3", "ok", "hello"],
    ]);
    let out = classify().write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "rows flagged: exit 1");
    let rows = read_csv(&out.stdout);
    assert_eq!(rows.len(), 4, "no row dropped");
    let (label, error) = (col(&rows[0], "triage_label"), col(&rows[0], "triage_error"));
    let flag = "text over 1048576 bytes: classified on its first 1048576 bytes";
    assert_eq!(rows[1][2], early, "the whole field is written back");
    assert_eq!(rows[1][label], "out-of-scope");
    assert_eq!(rows[1][error], flag);
    assert_eq!(
        rows[2][label], "in-scope",
        "words past the limit are not read"
    );
    assert_eq!(rows[2][error], flag);
    assert_eq!(rows[3][error], "");
    assert!(String::from_utf8_lossy(&out.stderr).contains("review: 2, errors: 2"));
}

#[test]
fn ten_thousand_rules_load_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let sources = triage::rules::RuleSources::embedded();
    for file in [&sources.policy, &sources.matrix, &sources.language]
        .into_iter()
        .chain(sources.lists.as_ref())
        .chain(&sources.categories)
    {
        let name = file.path.strip_prefix("<embedded>").unwrap();
        common::write(dir.path(), name.to_str().unwrap(), &file.text);
    }
    let generated = triage::fuzzing::many_rules_category("platform", 10_000);
    common::write(dir.path(), "categories/generated.toml", &generated);
    let input = csv_of(&[
        ["1", "a", &triage::fuzzing::many_rules_ticket(9_999)],
        ["2", "b", &triage::fuzzing::many_rules_ticket(0)],
        ["3", "c", "our server was hacked"],
    ]);
    let out = classify()
        .arg("--rules")
        .arg(dir.path())
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = read_csv(&out.stdout);
    let rules = col(&rows[0], "triage_rules");
    assert!(rows[1][rules].contains("generated.r9999"), "{:?}", rows[1]);
    assert!(rows[2][rules].contains("generated.r0"), "{:?}", rows[2]);
    assert_eq!(rows[3][col(&rows[0], "triage_category")], "security");
}

#[test]
fn a_regex_too_big_to_compile_is_refused_at_load_with_file_and_line() {
    let rules = common::rules_dir(&[(
        "categories/security.toml",
        "category = \"security\"\n\n[[rule]]\nid = \"security.x\"\nreason = \"r\"\nany = ['re:(?u:\\w){500}']\n",
    )]);
    Command::cargo_bin("triage")
        .unwrap()
        .args(["check", "--rules"])
        .arg(rules.path())
        .arg("text")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "categories/security.toml:6:8: invalid regex \"(?u:\\\\w){500}\": compiled regex \
             exceeds the size limit of 2097152 bytes; simplify it or split it into literals",
        ));
}

#[test]
fn nul_bytes_are_kept_and_the_text_around_them_classified() {
    let input = b"Id,Subject,Description\n1,nul\x00subject,\"our server was hacked\x00\x00 last night\"\n2,\x00,\x00\n";
    let out = classify().write_stdin(&input[..]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let rows = read_csv(&out.stdout);
    let label = col(&rows[0], "triage_label");
    assert_eq!(rows[1][1], "nul\0subject");
    assert_eq!(rows[1][2], "our server was hacked\0\0 last night");
    assert_eq!(rows[1][label], "out-of-scope");
    assert_eq!(rows[2][1], "\0");
    assert_eq!(rows[2][label], "in-scope");
    Command::cargo_bin("triage")
        .unwrap()
        .arg("check")
        .write_stdin(&b"our server was hacked\x00 yesterday"[..])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("out-of-scope"));
}

#[test]
fn json_lines_are_valid_json_whatever_the_input_bytes() {
    // Nothing reads JSON input: the JSON written must be valid whatever the CSV held. ED A0 80
    // is a UTF-16 surrogate encoded as UTF-8 (CESU-8), invalid UTF-8; `\ud800` as text is an
    // escape a JSON reader would turn into a lone surrogate if it were written unescaped.
    let input = b"Id,Subject,Description\n1,lone \xed\xa0\x80 surrogate,\"\\ud800 \"\" \x01\x1f\x7f our server was hacked\"\n";
    let out = classify()
        .args(["--format", "jsonl"])
        .write_stdin(&input[..])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: <stdin>: 1 row(s) not valid UTF-8, decoded as Windows-1252"),
        "{stderr}"
    );
    let text = std::str::from_utf8(&out.stdout).expect("output is UTF-8");
    let value: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(value["Subject"], "lone \u{ed}\u{a0}\u{20ac} surrogate");
    assert_eq!(
        value["Description"],
        "\\ud800 \" \u{1}\u{1f}\u{7f} our server was hacked"
    );
    assert_eq!(value["triage_label"], "out-of-scope");
    assert!(
        text.contains("\"\\\\ud800 \\\" \\u0001\\u001f\u{7f} our"),
        "{text}"
    );
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
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
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

/// A row of a `classify` output: its first three fields and its `triage_error`.
type Row = (Vec<String>, String);

/// Rows of a `classify` output, CSV or JSON Lines, with the exit status and stderr.
fn classify_rows(args: &[&str], input: Vec<u8>) -> (Option<i32>, Vec<Row>, String) {
    let out = classify().args(args).write_stdin(input).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rows = if args.contains(&"jsonl") {
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let object = v.as_object().unwrap();
                let field = |name: &str| {
                    object
                        .iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| v.as_str())
                        .unwrap_or("")
                        .to_owned()
                };
                let fields = ["id", "subject", "description"].map(field).to_vec();
                (fields, field("triage_error"))
            })
            .collect()
    } else {
        let rows = read_csv(&out.stdout);
        let error = col(&rows[0], "triage_error");
        rows[1..]
            .iter()
            .map(|r| (r[..3].to_vec(), r[error].clone()))
            .collect()
    };
    (out.status.code(), rows, stderr)
}

/// The same export written in other dialects: `;`, tab and `|` delimiters, CRLF line ends
/// after a BOM, and Windows-1252 bytes (`café ` inserted before `closed`).
struct Dialects {
    semicolon: String,
    tab: String,
    pipe: String,
    crlf: String,
    cp1252: Vec<u8>,
}

fn dialects(csv: &str) -> Dialects {
    let mut cp1252 = csv.as_bytes().to_vec();
    let at = cp1252.windows(6).position(|w| w == b"closed").unwrap();
    cp1252.splice(at..at, *b"caf\xe9 ");
    Dialects {
        semicolon: csv.replace(',', ";"),
        tab: csv.replace(',', "\t"),
        pipe: csv.replace(',', "|"),
        crlf: format!("\u{feff}{}", csv.replace('\n', "\r\n")),
        cp1252,
    }
}

/// An export whose row 2 opens a quote on line 3 that is never closed: csv-core reads the rest
/// of the input into that field, so rows 3 and 4 vanish into row 2.
const UNCLOSED: &str =
    "Id,Subject,Description\n1,a,hello\n2,b,\"never closed\n3,c,our server was hacked\n4,d,more\n";

/// Row 2's `triage_error` for [`UNCLOSED`] (lines 3 to 5 are inside the field).
const UNCLOSED_FLAG: &str = "unclosed quote: the field opened at line 3 runs to the end of the \
                             input (3 lines), so any rows after it were read into this field";

#[test]
fn an_unclosed_quote_flags_the_row_that_swallows_the_rest_of_the_input() {
    let out = classify().write_stdin(UNCLOSED).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a flagged row: exit 1");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: <stdin>:3: a quoted field opened here is never closed: the rest of the \
             input (3 lines) was read into it, as the last field of row 2"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("errors: 1"), "{stderr}");
    let rows = read_csv(&out.stdout);
    assert_eq!(rows.len(), 3, "csv-core reads rows 3 and 4 into row 2");
    let error = col(&rows[0], "triage_error");
    assert_eq!(rows[1][error], "");
    assert_eq!(
        rows[2][..3],
        [
            "2",
            "b",
            "never closed\n3,c,our server was hacked\n4,d,more\n"
        ],
        "written through unchanged: nothing lost"
    );
    assert_eq!(rows[2][error], UNCLOSED_FLAG);

    // JSON Lines: the same row, the same flag.
    let out = classify()
        .args(["--format", "jsonl"])
        .write_stdin(UNCLOSED)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["triage_error"], serde_json::Value::Null);
    assert_eq!(lines[1]["triage_row"], 2);
    assert_eq!(
        lines[1]["Description"],
        "never closed\n3,c,our server was hacked\n4,d,more\n"
    );
    assert_eq!(lines[1]["triage_error"], UNCLOSED_FLAG);
}

#[test]
fn an_unclosed_quote_on_the_last_line_without_a_line_break_is_flagged() {
    let input = "Id,Subject,Description\n1,a,hello\n2,b,\"our server was hacked";
    let out = classify().write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows = read_csv(&out.stdout);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[2][2], "our server was hacked");
    assert_eq!(
        rows[2][col(&rows[0], "triage_error")],
        "unclosed quote: the field opened at line 3 runs to the end of the input (1 line), so \
         any rows after it were read into this field"
    );
    // A ragged row (the quote opens in the subject) gets both notes.
    let input = "Id,Subject,Description\n1,\"hacked, no description";
    let out = classify().write_stdin(input).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let rows = read_csv(&out.stdout);
    assert_eq!(
        rows[1][col(&rows[0], "triage_error")],
        "unclosed quote: the field opened at line 2 runs to the end of the input (1 line), so \
         any rows after it were read into this field; ragged row 1: 2 field(s), header has 3; \
         missing fields written empty"
    );
}

#[test]
fn an_unclosed_quote_is_flagged_whatever_the_delimiter_threads_bom_line_ends_or_encoding() {
    // (input, extra arguments, row 2's description as written back)
    let Dialects {
        semicolon,
        tab,
        pipe,
        crlf,
        cp1252,
    } = dialects(UNCLOSED);
    let cases: Vec<(Vec<u8>, &[&str], &str)> = vec![
        (
            semicolon.clone().into(),
            &[],
            "never closed\n3;c;our server was hacked\n4;d;more\n",
        ),
        (
            tab.into(),
            &["--threads", "1"],
            "never closed\n3\tc\tour server was hacked\n4\td\tmore\n",
        ),
        (
            pipe.into(),
            &["--delimiter", "|", "--threads", "3"],
            "never closed\n3|c|our server was hacked\n4|d|more\n",
        ),
        (
            crlf.into(),
            &[],
            "never closed\r\n3,c,our server was hacked\r\n4,d,more\r\n",
        ),
        (
            cp1252,
            &[],
            "never caf\u{e9} closed\n3,c,our server was hacked\n4,d,more\n",
        ),
        (
            semicolon.into(),
            &["--format", "jsonl", "--threads", "1"],
            "never closed\n3;c;our server was hacked\n4;d;more\n",
        ),
    ];
    for (input, args, description) in cases {
        let (code, rows, _) = classify_rows(args, input);
        assert_eq!(code, Some(1), "{args:?}");
        assert_eq!(rows.len(), 2, "{args:?}");
        assert_eq!(rows[1].0[2], description, "{args:?}");
        assert_eq!(rows[1].1, UNCLOSED_FLAG, "{args:?}");
    }
}

/// `classify` of a file whose first line is `header` exits 2 with `error: FILE:1: {message}`
/// and writes no output.
fn header_is_refused(header: &str, message: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, format!("{header}\n1,a,our server was hacked\n")).unwrap();
    let out_path = dir.path().join("out.csv");
    classify()
        .arg(&input)
        .arg("-o")
        .arg(&out_path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "error: {}:1: {message}",
            input.display()
        )));
    assert!(!out_path.exists(), "nothing written");
}

#[test]
fn an_unclosed_quote_in_the_header_is_refused_with_file_and_line() {
    header_is_refused(
        "\"Id,Subject,Description",
        "the header's quoted field opened at line 1 is never closed",
    );
    // A blank first line, a quote opening on the header's second line.
    classify()
        .write_stdin("\nId,\"Subject\nDescription,x\n1,a,b\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: <stdin>:2: the header's quoted field opened at line 2 is never closed",
        ));
}

#[test]
fn literal_and_doubled_quotes_are_not_malformed_quoting() {
    // A quote inside an unquoted field is a literal character; `""` in a quoted field is an
    // escaped quote; a field may end with one, and the input with an unquoted literal quote.
    for input in [
        "Id,Subject,Description\n1,\"5\"\" screen\",says \"hi\" to me\n2,x,\"ends with a quote \"\"\"",
        "Id,Subject,Description\n1,\"5\"\" screen\",says \"hi\" to me\n2,x,a 5\" screen",
    ] {
        let out = classify().write_stdin(input).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{input}");
        let rows = read_csv(&out.stdout);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[1][1..3], ["5\" screen", "says \"hi\" to me"]);
        assert!(rows[2][2] == "ends with a quote \"" || rows[2][2] == "a 5\" screen");
        let error = col(&rows[0], "triage_error");
        assert_eq!((rows[1][error].as_str(), rows[2][error].as_str()), ("", ""));
    }
}

/// An export whose row 2 opens a stray quote on line 3 that the quote before `next` on line 4
/// closes: csv-core reads `next row"` as more of that field, so row 3 vanishes into row 2.
const STRAY: &str =
    "id,subject,description\n1,a,\"fine\"\n2,b,\"never closed\n3,c,\"next row\"\n4,d,last\n";

/// Row 2's `triage_error` for [`STRAY`].
const STRAY_FLAG: &str = "malformed quoting: text follows the closing quote at line 4 (a quote \
                          opened at line 3 may have swallowed the rows after it)";

#[test]
fn a_stray_quote_closed_by_a_later_quote_is_flagged_on_the_row_that_swallows_a_line() {
    // csv-core reads the next quote as the closing one and the text after it as more of the same
    // field; RFC 4180 allows only a delimiter or a line end there, so row 2 is flagged.
    let (code, rows, stderr) = classify_rows(&[], STRAY.into());
    assert_eq!(code, Some(1), "a flagged row: exit 1");
    assert!(
        stderr.contains(
            "warning: <stdin>:4: malformed quoting: text follows a closing quote here (a quote \
             opened at line 3 may have swallowed the rows after it), in row 2\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("errors: 1"), "{stderr}");
    assert_eq!(rows.len(), 3, "csv-core reads row 3 into row 2");
    assert_eq!(
        rows[0],
        (vec!["1".into(), "a".into(), "fine".into()], "".into())
    );
    assert_eq!(
        rows[1].0,
        ["2", "b", "never closed\n3,c,next row\""],
        "written through unchanged: nothing lost"
    );
    assert_eq!(rows[1].1, STRAY_FLAG);
    assert_eq!(
        rows[2],
        (vec!["4".into(), "d".into(), "last".into()], "".into())
    );
}

#[test]
fn a_stray_quote_is_flagged_whatever_the_delimiter_threads_line_ends_or_format() {
    // (input, extra arguments, row 2's description as written back)
    let Dialects {
        semicolon,
        tab,
        crlf,
        cp1252,
        ..
    } = dialects(STRAY);
    let cases: Vec<(Vec<u8>, &[&str], &str)> = vec![
        (
            semicolon.clone().into(),
            &[],
            "never closed\n3;c;next row\"",
        ),
        (
            tab.into(),
            &["--threads", "1"],
            "never closed\n3\tc\tnext row\"",
        ),
        (
            crlf.clone().into(),
            &["--threads", "3"],
            "never closed\r\n3,c,next row\"",
        ),
        (cp1252, &[], "never caf\u{e9} closed\n3,c,next row\""),
        (
            semicolon.into(),
            &["--format", "jsonl", "--threads", "1"],
            "never closed\n3;c;next row\"",
        ),
        (
            crlf.into(),
            &["--format", "jsonl", "--threads", "3"],
            "never closed\r\n3,c,next row\"",
        ),
    ];
    for (input, args, description) in cases {
        let (code, rows, stderr) = classify_rows(args, input);
        assert_eq!(code, Some(1), "{args:?}");
        assert!(
            stderr.contains("warning: <stdin>:4: malformed quoting"),
            "{args:?} {stderr}"
        );
        assert_eq!(rows.len(), 3, "{args:?}");
        assert_eq!(rows[1].0[2], description, "{args:?}");
        let errors: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(errors, ["", STRAY_FLAG, ""], "{args:?}");
    }
}

#[test]
fn text_after_a_closing_quote_on_one_line_is_flagged_on_its_row() {
    // A space after the closing quote: csv-core reads `a ` (RFC 4180 allows none). Many rows,
    // so that with small reads and several threads each flag still lands on its own row.
    let mut input = String::from("id,subject,description\n");
    for n in 1..=3000 {
        if n % 1000 == 0 {
            input.push_str(&format!("{n},\"a\" ,b\n"));
        } else {
            input.push_str(&format!("{n},\"x\",\"y\"\"z\"\n"));
        }
    }
    for args in [
        &["--threads", "1"][..],
        &["--threads", "3"],
        &["--format", "jsonl", "--threads", "3"],
    ] {
        let (code, rows, stderr) = classify_rows(args, input.clone().into());
        assert_eq!(code, Some(1), "{args:?}");
        assert!(
            stderr.contains(
                "warning: <stdin>:1001: malformed quoting: text follows a closing quote here (it \
                 is read into the same field), in row 1000; 2 more rows flagged for text after a \
                 closing quote"
            ),
            "{args:?} {stderr}"
        );
        assert!(stderr.contains("errors: 3"), "{args:?} {stderr}");
        assert_eq!(rows.len(), 3000);
        for (i, (fields, error)) in rows.iter().enumerate() {
            let n = i + 1;
            if n % 1000 == 0 {
                assert_eq!(fields[1..], ["a ", "b"], "{args:?}");
                assert_eq!(
                    error,
                    &format!(
                        "malformed quoting: text follows the closing quote at line {} (it is \
                         read into the same field)",
                        n + 1
                    ),
                    "{args:?}"
                );
            } else {
                assert_eq!(fields[1..], ["x", "y\"z"], "{args:?}");
                assert_eq!(error, "", "{args:?} row {n}");
            }
        }
    }
}

#[test]
fn text_after_a_closing_quote_in_the_header_is_refused_with_file_and_line() {
    header_is_refused(
        "\"Id\" ,Subject,Description",
        "malformed quoting in the header: text follows the closing quote at line 1 (it is read \
         into the same field)",
    );
    // A stray quote in the header closed on the next line: the header swallowed row 1.
    classify()
        .write_stdin("Id,Subject,\"Description\n1,a,\"hacked\"\n2,b,c\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "error: <stdin>:2: malformed quoting in the header: text follows the closing quote \
             at line 2 (a quote opened at line 1 may have swallowed the rows after it)",
        ));
}

#[test]
fn a_header_only_file_gives_header_only_output_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("header.csv");
    std::fs::write(&input, "Id,Subject,Description").unwrap();
    let out_path = dir.path().join("out.csv");
    classify()
        .arg(&input)
        .arg("-o")
        .arg(&out_path)
        .assert()
        .code(0)
        .stderr(predicate::str::contains("0 rows in"));
    assert_eq!(
        std::fs::read_to_string(&out_path).unwrap(),
        "Id,Subject,Description,triage_label,triage_category,triage_categories,triage_rules,\
         triage_vendor,triage_review,triage_reason,triage_error\n"
    );
    classify()
        .args(["--format", "jsonl"])
        .arg(&input)
        .assert()
        .code(0)
        .stdout("");
}

#[test]
fn empty_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("empty.csv", &b""[..]),
        ("bom.csv", b"\xEF\xBB\xBF"),
        ("blank.csv", b"\n\r\n\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        classify()
            .arg(&path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "{}: empty file: no header row",
                path.display()
            )));
    }
}

#[test]
fn unwritable_outputs_are_refused_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, csv_of(&[["1", "a", "hello"]])).unwrap();
    let file = dir.path().join("file");
    std::fs::write(&file, "").unwrap();
    classify()
        .arg(&input)
        .arg("-o")
        .arg(file.join("out.csv"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}: cannot create output: Not a directory (os error 20)\n",
            file.join("out.csv").display()
        )))
        .stderr(predicate::str::contains(".triage-").not());
    classify()
        .arg(&input)
        .arg("-o")
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}: is a directory",
            dir.path().display()
        )));
    classify()
        .arg(&input)
        .arg("-q")
        .arg("--summary-json")
        .arg(file.join("s.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "{}: cannot write summary: Not a directory",
            file.join("s.json").display()
        )));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "nothing left behind: {names:?}");
}

#[test]
fn a_rules_directory_that_is_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules.toml");
    std::fs::write(&file, "name = \"x\"\n").unwrap();
    for command in ["check", "classify", "test"] {
        Command::cargo_bin("triage")
            .unwrap()
            .arg(command)
            .arg("--rules")
            .arg(&file)
            .write_stdin("Id,Subject,Description\n")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "cannot load rules directory {0}:\n{0}:1:1: cannot read: not a directory",
                file.display()
            )));
    }
}

#[test]
fn terminal_escapes_in_a_ticket_are_shown_escaped() {
    let out = Command::cargo_bin("triage")
        .unwrap()
        .arg("check")
        .write_stdin(&b"our server was hacked \x1b[2J\x1b]0;owned\x07 \xe2\x80\xaeevil"[..])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !out.stdout.contains(&0x1b),
        "no raw escape reaches the terminal"
    );
    assert!(!out.stdout.contains(&0x07));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(r#">>hacked<< \u{1b}[2J\u{1b}]0;owned\u{7} \u{202e}evil""#),
        "{stdout}"
    );
}

/// Writes an export of `rows` rows (200,000 rows: about 48 MB) for the interruption tests.
fn export(path: &Path, rows: usize) {
    use std::io::Write;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "Id,Subject,Description").unwrap();
    for i in 0..rows {
        writeln!(
            w,
            "{i},Ticket {i},\"Tomcat fails to start on our Ubuntu 22.04 VM since the update; \
             catalina.out shows an error on line {i}. We did not change the configuration. \
             How do I get it running again? Thanks, Maria\""
        )
        .unwrap();
    }
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn sigint_and_sigterm_during_classify_leave_no_output_file_and_exit_130() {
    use std::process::{Command as Std, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("big.csv");
    export(&input, 200_000);
    let out_dir = tempfile::tempdir().unwrap();
    let out_path = out_dir.path().join("out.csv");
    for signal in ["INT", "TERM"] {
        let mut child = Std::new(assert_cmd::cargo::cargo_bin("triage"))
            .args(["classify", "-q", "--threads", "1"])
            .arg(&input)
            .arg("-o")
            .arg(&out_path)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the run is writing its temporary file, then interrupt it.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let writing = std::fs::read_dir(out_dir.path()).unwrap().any(|e| {
                let e = e.unwrap();
                e.file_name().to_string_lossy().ends_with(".tmp") && e.metadata().unwrap().len() > 0
            });
            if writing {
                break;
            }
            assert!(Instant::now() < deadline, "classify never started writing");
            assert!(child.try_wait().unwrap().is_none(), "finished too early");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!out_path.exists(), "no final file while the run is going");
        let sent = Std::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .unwrap();
        assert!(sent.success());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "SIG{signal}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "interrupted; {} was not written",
                out_path.display()
            )),
            "{stderr}"
        );
        assert!(!out_path.exists(), "SIG{signal}: no output file");
        assert!(
            entries(out_dir.path()).is_empty(),
            "SIG{signal}: no temporary file left"
        );
    }
    // Uninterrupted, the same run (on fewer rows) writes the whole file and nothing else.
    export(&input, 2_000);
    classify()
        .args(["-q"])
        .arg(&input)
        .arg("-o")
        .arg(&out_path)
        .assert()
        .code(0);
    assert_eq!(entries(out_dir.path()), ["out.csv"]);
    let written = std::fs::read(&out_path).unwrap();
    assert_eq!(written.iter().filter(|&&b| b == b'\n').count(), 2_001);
}

#[test]
fn a_second_sigint_stops_a_run_waiting_on_silent_stdin() {
    use std::io::Write;
    use std::process::{Command as Std, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("out.csv");
    let mut child = Std::new(assert_cmd::cargo::cargo_bin("triage"))
        .args(["classify", "-q"])
        .arg("-o")
        .arg(&out_path)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"Id,Subject,Description\n1,a,").unwrap();
    stdin.flush().unwrap();
    // The writer keeps the pipe open and silent; the reader waits on it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !entries(dir.path()).iter().any(|n| n.ends_with(".tmp")) {
        assert!(
            Instant::now() < deadline,
            "classify never created its output"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id().to_string();
    let interrupt = || {
        let sent = Std::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(sent.success());
    };
    interrupt();
    std::thread::sleep(Duration::from_millis(500));
    // The first signal may land on the reading thread and cut its read short (EINTR), and the run
    // then stops on its own; only a read that keeps waiting needs the second.
    let stopped_by_first = child.try_wait().unwrap().is_some();
    if !stopped_by_first {
        interrupt();
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the second SIGINT did not stop the run"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    assert_eq!(status.code(), Some(130));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    let second = "triage: interrupted twice; stopped at once, nothing more written";
    assert!(
        stderr.contains("triage: stopping (interrupt again to stop at once)")
            && (stopped_by_first || stderr.contains(second)),
        "{stderr}"
    );
    assert!(
        entries(dir.path()).is_empty(),
        "no output and no temporary file"
    );
}

#[test]
fn a_closed_standard_output_is_an_error_not_a_panic() {
    // `triage … | true`: the reader is gone before triage writes (it loads its rules first).
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/exports/zendesk_sample.csv");
    let sample = sample.to_str().unwrap();
    for args in [
        &["check", "our server was hacked"][..],
        &["check", "--json", "our server was hacked"],
        &["classify", "-q", sample],
    ] {
        let out = std::process::Command::new("bash")
            .args(["-c", "set -o pipefail; \"$0\" \"$@\" | true"])
            .arg(assert_cmd::cargo::cargo_bin("triage"))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("triage: error: cannot write output: Broken pipe")
                && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn a_report_reader_that_goes_away_is_not_an_error() {
    // `triage test | head`: reports are for people; the exit status still tells the outcome.
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("f.toml");
    std::fs::write(
        &fixtures,
        "[[case]]\nid = \"a\"\ndescription = \"our server was hacked\"\nlabel = \"in-scope\"\n",
    )
    .unwrap();
    let out = std::process::Command::new("bash")
        .args(["-c", "set -o pipefail; \"$0\" \"$@\" | true"])
        .arg(assert_cmd::cargo::cargo_bin("triage"))
        .arg("test")
        .arg(&fixtures)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the fixture fails: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}
