//! Prints the size of the compiled default rule set and how long compiling it takes.
//! `cargo run --release --example rules_stats`
fn main() {
    let t = std::time::Instant::now();
    let sources = triage::rules::RuleSources::embedded();
    let parsed = sources.parse().expect("parse");
    let parse = t.elapsed();
    let t = std::time::Instant::now();
    let rules = triage::compile::compile(parsed, 0).expect("compile");
    let compile = t.elapsed();
    println!(
        "rules {} patterns {} owners {} parse {:?} compile {:?}",
        rules.rules.len(),
        rules.pattern_count(),
        rules.owner_count(),
        parse,
        compile
    );
    if std::env::args().any(|a| a == "--unguarded") {
        for source in rules.unguarded_regexes() {
            println!("unguarded: {source}");
        }
    }
}
