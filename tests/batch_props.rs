//! Property tests of the batch path: every input row comes out exactly once, in order, with its
//! fields unchanged, whatever the fields hold and however many threads run.

mod common;

use proptest::prelude::*;
use triage::batch::{self, BatchConfig, InputSource, NoProgress};

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ]{0,20}",
        "[a-z ,;\"\\n\\r\t]{0,30}",
        "(hacked|tomcat fails to start|error|centos 7|how do i add a user|\u{e9}t\u{e9}|\u{201c}q\u{201d}| |,|\"|\\n)*",
        any::<String>().prop_map(|s| s.chars().take(40).collect()),
    ]
}

fn write_csv(header: &[String], rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.into_inner().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn rows_survive_unchanged_in_order(
        width in 2usize..5,
        rows in prop::collection::vec(prop::collection::vec(field(), 4), 0..120),
        threads in 1usize..5,
    ) {
        let rules = common::mini();
        let mut header: Vec<String> = vec!["Subject".into(), "Description".into(), "Status".into(), "Extra".into()];
        header.truncate(width);
        let rows: Vec<Vec<String>> = rows.into_iter().map(|mut r| { r.truncate(width); r }).collect();
        // A row whose only field is empty is a blank line in CSV, which is no row at all.
        let rows: Vec<Vec<String>> = rows.into_iter().filter(|r| !(r.len() == 1 && r[0].is_empty())).collect();
        let input = write_csv(&header, &rows);
        let mut out = Vec::new();
        let cfg = BatchConfig { threads, delimiter: Some(b','), ..BatchConfig::default() };
        let source = InputSource { name: "p".into(), reader: Box::new(std::io::Cursor::new(input)), size: None };
        let summary = batch::run(&rules, vec![source], &mut out, &cfg, &NoProgress, &mut |_| {}).unwrap();
        prop_assert_eq!(summary.rows as usize, rows.len());
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(out.as_slice());
        let got: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        prop_assert_eq!(got.len(), rows.len());
        for (g, r) in got.iter().zip(&rows) {
            let fields: Vec<&str> = g.iter().take(width).collect();
            let expected: Vec<&str> = r.iter().map(String::as_str).collect();
            prop_assert_eq!(fields, expected);
            prop_assert_eq!(g.len(), width + batch::TRIAGE_COLUMNS.len());
        }
    }

    #[test]
    fn classification_is_deterministic(subject in field(), description in field()) {
        let rules = common::mini();
        let t = triage::Ticket::new(&subject, &description);
        prop_assert_eq!(rules.classify(&t), rules.classify(&t));
    }

    #[test]
    fn evidence_spans_are_valid_and_hold_the_words(subject in field(), description in field()) {
        let rules = common::mini();
        let t = triage::Ticket::new(&subject, &description);
        let v = rules.classify(&t);
        for e in &v.evidence {
            let text = t.field(e.field);
            prop_assert!(e.start < e.end && e.end <= text.len());
            prop_assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
            prop_assert!(text[e.start..e.end].chars().any(char::is_alphanumeric));
        }
    }

    #[test]
    fn a_negated_clause_never_fires_its_category(prefix in field()) {
        let rules = common::mini();
        // Clause-separated so the prefix cannot reach into it.
        let text = format!("{prefix}.\n\nThis is not a hacked server.");
        let v = rules.classify(&triage::Ticket::new("", &text));
        let base = rules.classify(&triage::Ticket::new("", &format!("{prefix}.")));
        let security = rules.category_id("security").unwrap();
        prop_assert_eq!(v.categories.contains(&security), base.categories.contains(&security));
    }
}
