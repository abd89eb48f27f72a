//! Engine benchmarks: compiling the default rules, classifying a typical ticket, cost against
//! text length, and cost against a 10× larger rule set.
//!
//! `cargo bench --bench engine`

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::path::Path;
use triage::rules::RuleSources;
use triage::{RuleSet, Ticket};

/// About 400 bytes: a typical ticket.
const TYPICAL_SUBJECT: &str = "Apache fails to start after update";
const TYPICAL: &str =
    "Hi team,\n\nsince last night's package update httpd on our RHEL 9 VM fails to start. \
systemctl status shows AH00526: Syntax error on line 42 of /etc/httpd/conf.d/ssl.conf. We did not \
change the config ourselves and this is not a security incident. The site is down for customers, \
please advise how to get it running again.\n\nThanks,\nMaria";

/// Varied filler so longer texts are not one repeated pattern.
const FILLER: &[&str] = &[
    "We restarted the VM twice and checked the NSG rules, nothing changed. ",
    "Nov 25 10:01:02 vm-web-01 kernel: hv_netvsc 000d3a: VF slot 1 added\n",
    "The monitoring dashboard shows CPU at 40% and memory at 60% during the window. ",
    "Our developers say the application code did not change in this release. ",
    "java.lang.IllegalStateException at com.contoso.web.Handler.run(Handler.java:88)\n",
];

fn text_of_len(len: usize) -> String {
    let mut s = String::from(TYPICAL);
    let mut i = 0;
    while s.len() < len {
        s.push_str(FILLER[i % FILLER.len()]);
        i += 1;
    }
    s
}

/// The default rules with every category file copied `times` times, ids and literal patterns
/// made distinct so nothing is de-duplicated: a rule set `times` as large.
fn scaled_rules(times: usize) -> RuleSet {
    let base = RuleSources::embedded();
    let mut sources = base.clone();
    // Named lists are copied too (`@name-copyN`), so every copy has its own patterns.
    if let Some(lists) = &base.lists {
        let mut doc: toml::Table = toml::from_str(&lists.text).expect("lists parse");
        let originals = doc
            .get("lists")
            .and_then(|l| l.as_table())
            .cloned()
            .unwrap_or_default();
        let table = doc
            .get_mut("lists")
            .and_then(|l| l.as_table_mut())
            .expect("[lists]");
        for n in 1..times {
            for (name, value) in &originals {
                let mut items = value.as_array().cloned().unwrap_or_default();
                mutate(&mut items, n);
                table.insert(format!("{name}-copy{n}"), toml::Value::Array(items));
            }
        }
        let mut copy = lists.clone();
        copy.text = toml::to_string(&doc).expect("serialise lists");
        sources.lists = Some(copy);
    }
    for n in 1..times {
        for file in &base.categories {
            let mut doc: toml::Table = toml::from_str(&file.text).expect("category file parses");
            if let Some(toml::Value::Array(rules)) = doc.get_mut("rule") {
                for rule in rules.iter_mut().filter_map(|r| r.as_table_mut()) {
                    let id = rule["id"].as_str().unwrap().to_owned();
                    rule.insert("id".into(), format!("{id}.copy{n}").into());
                    for key in ["any", "none"] {
                        if let Some(toml::Value::Array(list)) = rule.get_mut(key) {
                            mutate(list, n);
                        }
                    }
                    if let Some(toml::Value::Array(groups)) = rule.get_mut("all") {
                        for g in groups.iter_mut().filter_map(|g| g.as_array_mut()) {
                            mutate(g, n);
                        }
                    }
                    if let Some(toml::Value::Array(near)) = rule.get_mut("near") {
                        for clause in near.iter_mut().filter_map(|c| c.as_table_mut()) {
                            for side in ["a", "b"] {
                                if let Some(toml::Value::Array(list)) = clause.get_mut(side) {
                                    mutate(list, n);
                                }
                            }
                        }
                    }
                }
            }
            let mut copy = file.clone();
            copy.path = Path::new("<scaled>").join(format!(
                "copy{n}-{}",
                file.path.file_name().unwrap().to_string_lossy()
            ));
            copy.text = toml::to_string(&doc).expect("serialise");
            sources.categories.push(copy);
        }
    }
    RuleSet::from_sources(sources).expect("scaled rules compile")
}

fn mutate(list: &mut [toml::Value], n: usize) {
    for v in list.iter_mut() {
        if let Some(s) = v.as_str() {
            *v = if let Some(name) = s.strip_prefix('@') {
                format!("@{name}-copy{n}").into()
            } else if let Some(re) = s.strip_prefix("re:") {
                format!("re:(?:{re})q{n}z").into()
            } else {
                format!("{}q{n}z", s.trim_end_matches('*')).into()
            };
        }
    }
}

fn compile(c: &mut Criterion) {
    c.bench_function("compile/default-rules", |b| {
        b.iter(|| black_box(RuleSet::embedded().unwrap()))
    });
}

fn classify(c: &mut Criterion) {
    let rules = RuleSet::embedded().unwrap();
    let mut group = c.benchmark_group("classify");
    let ticket = Ticket::new(TYPICAL_SUBJECT, TYPICAL);
    group.throughput(Throughput::Bytes(
        (TYPICAL.len() + TYPICAL_SUBJECT.len()) as u64,
    ));
    let mut verdict = triage::Verdict::default();
    group.bench_function("typical-ticket", |b| {
        b.iter(|| rules.classify_into(black_box(&ticket), &mut verdict))
    });
    for len in [400usize, 4_000, 40_000] {
        let text = text_of_len(len);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("length", len), &text, |b, text| {
            let t = Ticket::new("", text);
            b.iter(|| rules.classify_into(black_box(&t), &mut verdict))
        });
    }
    group.finish();
}

fn rule_set_size(c: &mut Criterion) {
    let mut group = c.benchmark_group("rule-set-size");
    let ticket = Ticket::new(TYPICAL_SUBJECT, TYPICAL);
    let mut verdict = triage::Verdict::default();
    for times in [1usize, 10] {
        let rules = scaled_rules(times);
        group.bench_with_input(
            BenchmarkId::new(
                "typical-ticket",
                format!("{times}x-{}rules", rules.rules.len()),
            ),
            &rules,
            |b, rules| b.iter(|| rules.classify_into(black_box(&ticket), &mut verdict)),
        );
    }
    group.finish();
}

criterion_group!(benches, compile, classify, rule_set_size);
criterion_main!(benches);
