//! Fuzz target `classify_csv`: runs `triage::fuzzing::check_classify_csv`, which says what it asserts.
//! `cargo test` replays `fuzz/corpus-min/classify_csv/` through the same check (tests/fuzz_smoke.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    triage::fuzzing::check_classify_csv(data);
});
