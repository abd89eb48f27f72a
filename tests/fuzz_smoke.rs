//! The fuzz smoke run CI can afford, on stable: every file of the committed minimised corpora
//! (`fuzz/corpus-min/<target>/`) goes through the same check the fuzz target runs
//! (`triage::fuzzing`). `TRIAGE_FUZZ_CORPUS=DIR` replays `DIR/<target>/` instead, e.g. a full
//! corpus grown by `cargo +nightly fuzz run`.

use std::path::PathBuf;
use triage::fuzzing::{check, TARGETS};

fn corpus_root() -> PathBuf {
    std::env::var_os("TRIAGE_FUZZ_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus-min"),
        PathBuf::from,
    )
}

fn replay(target: &str) {
    let dir = corpus_root().join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    let mut failed = Vec::new();
    for path in &files {
        let data = std::fs::read(path).unwrap();
        if std::panic::catch_unwind(|| check(target, &data)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{target}: {} of {} corpus files fail:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn rules_load_corpus_replays_cleanly() {
    replay("rules_load");
}

#[test]
fn classify_text_corpus_replays_cleanly() {
    replay("classify_text");
}

#[test]
fn classify_csv_corpus_replays_cleanly() {
    replay("classify_csv");
}

#[test]
fn every_fuzz_target_has_a_corpus() {
    let mut found: Vec<String> = std::fs::read_dir(corpus_root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut targets = TARGETS.to_vec();
    targets.sort();
    assert_eq!(found, targets);
}
