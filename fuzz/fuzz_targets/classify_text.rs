//! Fuzz target `classify_text`: runs `triage::fuzzing::check_classify_text`, which says what it asserts.
//! `cargo test` replays `fuzz/corpus-min/classify_text/` through the same check (tests/fuzz_smoke.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    triage::fuzzing::check_classify_text(data);
});
