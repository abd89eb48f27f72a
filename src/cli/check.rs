//! `triage check`: pre-screen one case.

use super::render::{verdict_text, Style};
use super::{fail, RulesArg, EXIT_OK};
use std::io::Read;
use triage::Ticket;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The case description. Read from standard input when absent or `-`.
    #[arg(value_name = "TEXT")]
    text: Option<String>,
    /// The case subject line.
    #[arg(long, short, value_name = "TEXT", default_value = "")]
    subject: String,
    /// Print the verdict as one JSON object (schema in the README).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    rules: RulesArg,
}

pub fn run(args: Args) -> i32 {
    let rules = match args.rules.load() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let description = match args.text.as_deref() {
        Some(t) if t != "-" => t.to_owned(),
        _ => {
            let mut buf = Vec::new();
            if let Err(e) = std::io::stdin().read_to_end(&mut buf) {
                return fail(format!("cannot read standard input: {e}"));
            }
            String::from_utf8_lossy(&buf).into_owned()
        }
    };
    let ticket = Ticket::new(&args.subject, &description);
    let verdict = rules.classify(&ticket);
    if args.json {
        let report = verdict.report(&rules, &ticket);
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => return fail(format!("cannot write JSON: {e}")),
        }
    } else {
        print!(
            "{}",
            verdict_text(&rules, &ticket, &verdict, Style::for_stdout())
        );
    }
    EXIT_OK
}
