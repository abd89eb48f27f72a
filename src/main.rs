//! The `triage` command line: a thin layer over the library (see `src/cli/`).

fn main() {
    std::process::exit(triage_cli::run());
}

#[path = "cli/mod.rs"]
mod triage_cli;
