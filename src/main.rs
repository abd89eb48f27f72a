//! The `triage` command line: a thin layer over the library (see `src/cli/`).

/// Compiling the rules allocates a few hundred thousand small blocks (and a batch run allocates
/// per row on every thread): mimalloc serves them at a fraction of the system allocator's cost.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(triage_cli::run());
}

#[path = "cli/mod.rs"]
mod triage_cli;
