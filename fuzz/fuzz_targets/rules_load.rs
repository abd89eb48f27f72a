//! Fuzz target `rules_load`: runs `triage::fuzzing::check_rules_load`, which says what it asserts.
//! `cargo test` replays `fuzz/corpus-min/rules_load/` through the same check (tests/fuzz_smoke.rs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    triage::fuzzing::check_rules_load(data);
});
