//! Property tests of the batch path and the engine: every input row comes out exactly once, in
//! order, with its fields unchanged and never flagged for its quoting, whatever the fields
//! hold, however many threads run and however the input is chunked; classification is
//! deterministic (twice, and across separately loaded rule sets); a clause that negates a
//! category never makes it fire; evidence spans are valid byte ranges of the text holding the
//! words their rule matches.

mod common;

use proptest::prelude::*;
use std::sync::OnceLock;
use triage::batch::{self, BatchConfig, InputSource, NoProgress, OutputFormat};
use triage::fixtures::Fixture;
use triage::matching::normalize::normalize;
use triage::{RuleSet, Ticket};

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
        chunk_rows in prop_oneof![1usize..4, 1usize..200],
        chunk_bytes in prop_oneof![1usize..64, 64usize..1 << 18],
    ) {
        let rules = common::mini();
        let mut header: Vec<String> = vec!["Subject".into(), "Description".into(), "Status".into(), "Extra".into()];
        header.truncate(width);
        let rows: Vec<Vec<String>> = rows.into_iter().map(|mut r| { r.truncate(width); r }).collect();
        // A row whose only field is empty is a blank line in CSV, which is no row at all.
        let rows: Vec<Vec<String>> = rows.into_iter().filter(|r| !(r.len() == 1 && r[0].is_empty())).collect();
        let input = write_csv(&header, &rows);
        let mut out = Vec::new();
        let cfg = BatchConfig {
            threads,
            chunk_rows,
            chunk_bytes,
            delimiter: Some(b','),
            ..BatchConfig::default()
        };
        let source = InputSource { name: "p".into(), reader: Box::new(std::io::Cursor::new(input.clone())), size: None };
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
            // Valid CSV never ends inside a quoted field nor has text after a closing quote,
            // whatever its fields hold: no row is flagged at all.
            prop_assert_eq!(&g[g.len() - 1], "", "{:?}", g);
        }
        // JSON Lines: one object per row, in order, with the same fields.
        let cfg = BatchConfig { format: OutputFormat::Jsonl, ..cfg };
        let source = InputSource { name: "p".into(), reader: Box::new(std::io::Cursor::new(input)), size: None };
        let mut out = Vec::new();
        batch::run(&rules, vec![source], &mut out, &cfg, &NoProgress, &mut |_| {}).unwrap();
        let lines: Vec<serde_json::Value> = out
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        prop_assert_eq!(lines.len(), rows.len());
        for (n, (line, r)) in lines.iter().zip(&rows).enumerate() {
            prop_assert_eq!(&line["triage_row"], &serde_json::json!(n + 1));
            for (key, value) in header.iter().zip(r) {
                prop_assert_eq!(&line[key.as_str()], &serde_json::json!(value));
            }
            prop_assert_eq!(&line["triage_error"], &serde_json::Value::Null);
        }
    }

    #[test]
    fn classification_is_deterministic(subject in field(), description in field()) {
        // Two separate loads of the same rules give the same verdicts, ids included.
        let (rules, again) = (common::mini(), common::mini());
        let t = triage::Ticket::new(&subject, &description);
        let verdict = rules.classify(&t);
        prop_assert_eq!(&verdict, &rules.classify(&t));
        prop_assert_eq!(&verdict, &again.classify(&t));
    }

    #[test]
    fn evidence_spans_are_valid_and_hold_the_words(
        subject in prop_oneof![field(), decorated_text()],
        description in prop_oneof![field(), decorated_text()],
    ) {
        let rules = mini();
        let t = triage::Ticket::new(&subject, &description);
        let v = rules.classify(&t);
        for e in &v.evidence {
            let text = t.field(e.field);
            prop_assert!(e.start < e.end && e.end <= text.len());
            prop_assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
            let words = normalize(&text[e.start..e.end]);
            let id = &rules.rule(e.rule).id;
            prop_assert!(
                mini_rule_matches(id, &words),
                "{} evidence {:?} (normalised {:?}) is none of its words", id, &text[e.start..e.end], words
            );
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

/// The mini rules, loaded once for the properties that need no fresh load.
fn mini() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(common::mini)
}

/// Whether `words` (normalised evidence text) is one of the patterns of mini rule `id`
/// (tests/common/mod.rs).
fn mini_rule_matches(id: &str, words: &str) -> bool {
    let one_of = |list: &[&str]| list.contains(&words);
    match id {
        "security.compromise" => {
            one_of(&["hacked", "malware"])
                || words.starts_with("compromis")
                || words.ends_with("miner")
                || regex::Regex::new("^crypto ?min(er|ing)$")
                    .unwrap()
                    .is_match(words)
        }
        "howto.admin" => one_of(&["how do i", "how to", "sudo", "user", "error"]),
        "howto.subject-only" => words == "question",
        "odd.tie" => words == "tiebreak",
        "kernel.custom" => one_of(&["custom kernel", "dkms"]),
        "kernel.built" => one_of(&["kernel", "compiled", "built"]),
        "kernel.version" => one_of(&["kernel 6.9", "kernel 6_9", "kernel 6 9", "kernel 69"]),
        "oss.failure" => one_of(&["tomcat", "php", "error", "fails to start", "502"]),
        "oss.blind" => words == "segfault",
        "platform.boot" => one_of(&["stuck at boot", "won't boot", "serial console"]),
        "matrix.ubuntu" => one_of(&["ubuntu", "jammy", "bionic", "focal", "cosmic"]),
        "matrix.sles" => one_of(&["sles", "suse"]),
        "matrix.centos" => words == "centos",
        "matrix.rhel" => one_of(&["rhel", "red hat"]),
        _ => false,
    }
}

/// Text made of the mini rules' words and filler, each written in one of the ways
/// normalisation folds: case, full-width forms, curly apostrophes, odd spaces and line breaks.
fn decorated_text() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "hacked",
        "compromised",
        "bitcoinminer",
        "crypto mining",
        "malware",
        "how do I",
        "sudo",
        "user",
        "question",
        "tiebreak",
        "custom kernel",
        "dkms",
        "kernel",
        "compiled",
        "built",
        "kernel 6.9",
        "kernel 6_9",
        "Tomcat",
        "PHP",
        "error",
        "fails to start",
        "502",
        "segfault",
        "stuck at boot",
        "won't boot",
        "serial console",
        "Ubuntu 18.04",
        "jammy",
        "SUSE 15 SP6",
        "CentOS 7",
        "Red Hat",
        "not",
        "no",
        "ruled out",
        "but",
        "the",
        "server",
        "is",
        "our",
        "it",
        "über",
        "İstanbul",
        "ﬁle",
        "日本",
        "—",
        ",",
        ".",
        "\n",
        "> ",
    ]);
    let style = 0u8..6;
    let gap = prop::sample::select(vec![" ", "  ", "\u{a0}", "\t", "\n", "\u{2009}", " - "]);
    prop::collection::vec((word, style, gap), 0..30).prop_map(|parts| {
        let mut out = String::new();
        for (word, style, gap) in parts {
            let word = match style {
                0 => word.to_uppercase(),
                1 => word
                    .chars()
                    .map(|c| match c {
                        '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
                        _ => c,
                    })
                    .collect(),
                2 => word.replace('\'', "\u{2019}"),
                3 => word.replace(' ', "\u{a0}"),
                _ => word.to_owned(),
            };
            out.push_str(&word);
            out.push_str(gap);
        }
        out
    })
}

/// The default rules, loaded twice (separately).
fn default_rules() -> &'static (RuleSet, RuleSet) {
    static RULES: OnceLock<(RuleSet, RuleSet)> = OnceLock::new();
    RULES.get_or_init(|| (RuleSet::embedded().unwrap(), RuleSet::embedded().unwrap()))
}

/// The labelled fixtures (their texts are realistic tickets).
fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        triage::fixtures::load_fixtures(&[dir], &default_rules().0).expect("fixtures load")
    })
}

/// A clause that negates a category of the default rules, for the negation properties.
struct Negation {
    category: &'static str,
    /// A negation under rules/language.toml: a forward cue whose window (5 words) covers every
    /// trigger word after it ("not", "no sign of", "not asking"), or a backward cue ("is not the
    /// problem"). Phrases like "not running" are deliberately absent: language.toml makes them
    /// pseudo-cues (a failure, "Tomcat is not running"), not negations.
    negated: &'static str,
    /// The same clause without the negation: it must fire the category, or the pair proves
    /// nothing.
    plain: &'static str,
    /// The clause's entities with no problem stated, in as many words ("The VM is the one named
    /// above."); none when the entity is itself the category's trigger. A ticket may rightly
    /// fire the category once the clause names what it is about ("I can't connect" + "the VM"),
    /// or once the clause makes a line long enough to be the customer writing again after a
    /// sign-off; the properties only hold the negation to what this neutral clause does.
    neutral: &'static str,
}

const NEGATIONS: &[Negation] = &[
    Negation {
        category: "security",
        negated: "This is not a security incident.",
        plain: "This is a security incident.",
        neutral: "This is what we see here.",
    },
    Negation {
        category: "security",
        negated: "There is no sign of malware.",
        plain: "There is malware.",
        neutral: "There is nothing more to add.",
    },
    Negation {
        category: "security",
        negated: "There is no sign of a rootkit.",
        plain: "We found a rootkit.",
        neutral: "There is nothing more to add here.",
    },
    Negation {
        category: "app-development",
        negated: "We are not asking for help with code.",
        plain: "We are asking for help with code.",
        neutral: "We are writing again with the same details.",
    },
    Negation {
        category: "design-guidance",
        negated: "We are not asking for a design review.",
        plain: "We are asking for a design review.",
        neutral: "We are writing again with the same details.",
    },
    Negation {
        category: "basic-admin",
        negated: "We are not asking how to add a user.",
        plain: "We are asking how to add a user.",
        neutral: "We are writing again with all the same details.",
    },
    Negation {
        category: "custom-kernel",
        negated: "This is not a custom kernel.",
        plain: "This is a custom kernel.",
        neutral: "This is what we see here.",
    },
    Negation {
        category: "custom-image",
        negated: "This is not about our FortiGate appliance.",
        plain: "This is about our FortiGate appliance.",
        neutral: "This is all we can say here.",
    },
    Negation {
        category: "supported-oss",
        negated: "Tomcat is not the problem.",
        plain: "Tomcat is the problem.",
        neutral: "Tomcat is the web server.",
    },
    Negation {
        category: "supported-oss",
        negated: "There is no Tomcat error.",
        plain: "There is a Tomcat error.",
        neutral: "There is a Tomcat server.",
    },
    Negation {
        category: "unsupported-oss",
        negated: "MongoDB is not the problem.",
        plain: "MongoDB is the problem.",
        neutral: "That is all for now.",
    },
    Negation {
        category: "unendorsed-distro",
        negated: "This is not CentOS 7.",
        plain: "This is CentOS 7.",
        neutral: "That is all for now.",
    },
    Negation {
        category: "guest-tuning",
        negated: "We are not asking for sysctl tuning advice.",
        plain: "We are asking for sysctl tuning advice.",
        neutral: "We are writing again with the same details.",
    },
    Negation {
        category: "platform",
        negated: "The VM is not stuck at boot.",
        plain: "The VM is stuck at boot.",
        neutral: "The VM is the one named above.",
    },
];

fn fires(rules: &RuleSet, subject: &str, description: &str, category: &str) -> bool {
    let c = rules
        .category_id(category)
        .expect("category of the default rules");
    rules
        .classify(&Ticket::new(subject, description))
        .categories
        .contains(&c)
}

#[test]
fn every_negation_pair_is_meaningful() {
    let rules = &default_rules().0;
    for n in NEGATIONS {
        assert!(
            fires(rules, "", n.plain, n.category),
            "{:?} should fire {}",
            n.plain,
            n.category
        );
        for clause in [n.negated, n.neutral] {
            assert!(
                !fires(rules, "", clause, n.category),
                "{clause:?} should not fire {}",
                n.category
            );
        }
    }
}

/// Whether appending `clause` to `prefix` fires the negation's category though neither the
/// prefix alone nor the prefix with the neutral mention does: the negated problem counted.
fn negation_counts(
    rules: &RuleSet,
    subject: &str,
    prefix: &str,
    sep: &str,
    n: &Negation,
) -> Option<bool> {
    let with = |clause: &str| {
        fires(
            rules,
            subject,
            &format!("{prefix}{sep}{clause}"),
            n.category,
        )
    };
    if fires(rules, subject, prefix, n.category) || with(n.neutral) {
        return None;
    }
    Some(with(n.negated))
}

#[test]
fn a_negated_clause_after_any_fixture_never_fires_its_category() {
    let rules = &default_rules().0;
    let mut checked = 0;
    for f in fixtures() {
        for n in NEGATIONS {
            match negation_counts(rules, &f.subject, &f.description, "\n\n", n) {
                None => continue,
                Some(fired) => assert!(
                    !fired,
                    "{}: appending {:?} fires {}",
                    f.id, n.negated, n.category
                ),
            }
            checked += 1;
        }
    }
    assert!(checked > 10_000, "only {checked} cases checked");
}

/// A ticket made of pieces of fixture texts.
fn fixture_mashup() -> impl Strategy<Value = (String, String)> {
    let n = fixtures().len();
    let piece = (
        0..n,
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(i, a, b)| {
            let text = &fixtures()[i].description;
            let (mut a, mut b) = (a.index(text.len() + 1), b.index(text.len() + 1));
            if a > b {
                std::mem::swap(&mut a, &mut b);
            }
            while !text.is_char_boundary(a) {
                a -= 1;
            }
            while !text.is_char_boundary(b) {
                b += 1;
            }
            text[a..b].to_owned()
        });
    (
        0..n,
        prop::collection::vec(piece, 1..4),
        prop::sample::select(vec![" ", "\n", "\n\n", ". "]),
    )
        .prop_map(|(s, pieces, sep)| (fixtures()[s].subject.clone(), pieces.join(sep)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn default_rules_are_deterministic_across_loads((subject, description) in fixture_mashup()) {
        let (rules, again) = default_rules();
        let t = Ticket::new(&subject, &description);
        let verdict = rules.classify(&t);
        prop_assert_eq!(&verdict, &rules.classify(&t));
        prop_assert_eq!(&verdict, &again.classify(&t));
    }

    /// The separators end a clause: a single line break does not (hard-wrapped e-mail reads on
    /// across it), so "installing WALinuxAgent\nMongoDB is not the problem" rightly negates both.
    #[test]
    fn a_negated_clause_never_fires_its_category_default_rules(
        (subject, prefix) in fixture_mashup(),
        which in 0..NEGATIONS.len(),
        sep in prop::sample::select(vec!["\n\n", ".\n\n", ". ", ".\n"]),
    ) {
        let rules = &default_rules().0;
        let n = &NEGATIONS[which];
        let fired = negation_counts(rules, &subject, &prefix, sep, n);
        prop_assume!(fired.is_some());
        prop_assert!(fired != Some(true), "{:?} fires {}", format!("{prefix}{sep}{}", n.negated), n.category);
    }
}
