//! Loads the default rules plus N generated rules (default 10,000) and measures loading and
//! classifying: `cargo run --release --example many_rules -- 10000`. With `--write DIR` it also
//! writes the rules directory there (for `triage check --rules DIR`).

use std::time::Instant;
use triage::fuzzing::{many_rules_category, many_rules_ticket};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let write_to = args
        .iter()
        .position(|a| a == "--write")
        .and_then(|i| args.get(i + 1));
    let mut sources = triage::rules::RuleSources::embedded();
    let text = many_rules_category("platform", n);
    let path = std::path::Path::new("<generated>/categories/generated.toml");
    sources
        .categories
        .push(triage::rules::SourceFile::new(path.into(), text.clone()));
    if let Some(dir) = write_to {
        let dir = std::path::Path::new(dir);
        std::fs::create_dir_all(dir.join("categories"))?;
        for file in [&sources.policy, &sources.matrix, &sources.language]
            .into_iter()
            .chain(sources.lists.as_ref())
            .chain(&sources.categories)
        {
            let name = file.path.strip_prefix("<embedded>").unwrap_or(&file.path);
            let name = name.strip_prefix("<generated>").unwrap_or(name);
            std::fs::write(dir.join(name), &file.text)?;
        }
        println!(
            "wrote {} ({} bytes of generated rules)",
            dir.display(),
            text.len()
        );
    }
    let mut load_times = Vec::new();
    let mut rules = None;
    for _ in 0..5 {
        let t = Instant::now();
        rules = Some(triage::RuleSet::from_sources(sources.clone())?);
        load_times.push(t.elapsed());
    }
    load_times.sort();
    let rules = rules.expect("loaded");
    println!(
        "{} rules ({} generated), {} patterns: load (parse + compile) median {:?} of 5",
        rules.rules.len(),
        n,
        rules.pattern_count(),
        load_times[2]
    );
    let base = triage::RuleSet::embedded()?;
    // Ordinary tickets (the labelled fixtures), and tickets for generated rules: each names
    // its rule's words and "crashes", a word every generated rule has in an `all` group, so
    // all of them are evaluated (the worst case for rules that share words).
    let fixtures = triage::fixtures::load_fixtures(&["fixtures".into()], &base)
        .map_err(|e| format!("fixtures: {} error(s)", e.len()))?;
    let ordinary: Vec<(String, String)> = fixtures
        .iter()
        .map(|f| (f.subject.clone(), f.description.clone()))
        .collect();
    let generated: Vec<(String, String)> = (0..200)
        .map(|k| (String::new(), many_rules_ticket(k * n / 200)))
        .collect();
    for (what, tickets, rounds) in [
        ("fixture tickets", &ordinary, 10),
        ("generated-rule tickets", &generated, 20),
    ] {
        for (name, set) in [("default rules", &base), ("with generated", &rules)] {
            let mut verdict = triage::Verdict::default();
            let t = Instant::now();
            for _ in 0..rounds {
                for (subject, description) in tickets {
                    set.classify_into(&triage::Ticket::new(subject, description), &mut verdict);
                }
            }
            let per = t.elapsed() / (rounds * tickets.len()) as u32;
            println!(
                "{what}, {name}: {per:?} per ticket ({} tickets x {rounds})",
                tickets.len()
            );
        }
    }
    let last = many_rules_ticket(n - 1);
    let verdict = rules.classify(&triage::Ticket::new("", &last));
    println!(
        "ticket for rule {}: {} ({})",
        n - 1,
        verdict.label_name(&rules),
        verdict
            .rules
            .iter()
            .map(|&r| rules.rule(r).id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}
