//! Writes seed corpora for the fuzz targets from the fixtures, the sample export and the rules:
//! `cargo run --example fuzz_seeds -- fuzz/corpus` (one folder per target, files named by
//! content hash; existing files are kept). See the README section "Reliability".

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use triage::fuzzing::{MINI_RULES, TARGETS};

fn save(dir: &Path, data: &[u8]) -> std::io::Result<()> {
    let mut h = std::hash::DefaultHasher::new();
    data.hash(&mut h);
    std::fs::write(dir.join(format!("seed-{:016x}", h.finish())), data)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("fuzz/corpus"), PathBuf::from);
    let rules = triage::RuleSet::embedded()?;
    let fixtures = triage::fixtures::load_fixtures(&[PathBuf::from("fixtures")], &rules)
        .map_err(|e| format!("fixtures: {} error(s)", e.len()))?;
    let dirs: Vec<PathBuf> = TARGETS.iter().map(|t| out.join(t)).collect();
    for d in &dirs {
        std::fs::create_dir_all(d)?;
    }
    let [rules_dir, text_dir, csv_dir] = [&dirs[0], &dirs[1], &dirs[2]];

    // rules_load: each mini file as is (selector = its index), every default rules file in the
    // slot of the same kind, and the default rules base untouched.
    for (i, (_, text)) in MINI_RULES.iter().enumerate() {
        save(rules_dir, &[&[i as u8][..], text.as_bytes()].concat())?;
    }
    let sources = triage::rules::RuleSources::embedded();
    let slot = |name: &str| match name {
        "policy.toml" => 0u8,
        "matrix.toml" => 1,
        "language.toml" => 2,
        "lists.toml" => 3,
        _ => 4,
    };
    for file in [&sources.policy, &sources.matrix, &sources.language]
        .into_iter()
        .chain(sources.lists.as_ref())
        .chain(&sources.categories)
    {
        let name = file.path.file_name().unwrap_or_default().to_string_lossy();
        save(
            rules_dir,
            &[&[slot(&name)][..], file.text.as_bytes()].concat(),
        )?;
    }
    save(rules_dir, &[0xF0])?;

    // classify_text: every fixture, subject and description on either side of the first
    // newline.
    for f in &fixtures {
        save(
            text_dir,
            format!("{}\n{}", f.subject.replace('\n', " "), f.description).as_bytes(),
        )?;
    }

    // classify_csv: the sample export under a few modes (see `triage::fuzzing::CsvMode`), small exports of fixtures under the
    // known header, and the CLI tests' messy shapes.
    let export = std::fs::read("fixtures/exports/zendesk_sample.csv")?;
    for mode in [0u8, 1, 2, 4, 7, 33, 38] {
        save(csv_dir, &[&[mode][..], &export].concat())?;
    }
    for (n, chunk) in fixtures.chunks(8).enumerate().take(40) {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        for (i, f) in chunk.iter().enumerate() {
            w.write_record([&format!("{n}-{i}"), &f.subject, &f.description])?;
        }
        let body = w.into_inner().map_err(|e| e.to_string())?;
        let mode = 8 | (n as u8 & 7) | (n as u8 & 8) << 2;
        save(csv_dir, &[&[mode][..], &body].concat())?;
    }
    let messy: [&[u8]; 6] = [
        b"\xEF\xBB\xBFId;Subject;Description\r\n1;a;\"multi\r\nline; hacked\"\r\n",
        b"Id\tSubject\tDescription\n1\tx\ttomcat fails\n2\ty\n3\tz\tw\textra\n",
        b"Id,Subject,Description\n1,caf\xe9,\x93quoted\x94 centos 7\n",
        b"Subject,Description\n",
        b"Id,Subject,Description\n1,a,b\n\x00\x00Id,Subject,Description\n2,c,d\n",
        b"Title,Body\n\"\"\"nested \"\"\"\"quotes\"\"\"\"\"\"\",\"> > > hacked\n>> quoted\"\n",
    ];
    for (i, m) in messy.iter().enumerate() {
        let mode = if i == 4 { 16u8 } else { (i as u8) & 3 };
        save(csv_dir, &[&[mode][..], m].concat())?;
    }
    for d in &dirs {
        println!("{}: {} files", d.display(), std::fs::read_dir(d)?.count());
    }
    Ok(())
}
