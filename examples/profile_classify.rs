//! Classifies one typical ticket many times, for profilers:
//! `valgrind --tool=callgrind target/release/examples/profile_classify 2000`
//! (`TRIAGE_RULES=DIR` profiles another rules directory instead of the embedded one)
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let rules = match std::env::var_os("TRIAGE_RULES") {
        Some(dir) => triage::RuleSet::load_dir(std::path::Path::new(&dir)).expect("rules"),
        None => triage::RuleSet::embedded().expect("rules"),
    };
    let text =
        "Hi team,\n\nsince last night's package update httpd on our RHEL 9 VM fails to start. \
systemctl status shows AH00526: Syntax error on line 42 of /etc/httpd/conf.d/ssl.conf. We did not \
change the config ourselves and this is not a security incident. The site is down for customers, \
please advise how to get it running again.\n\nThanks,\nMaria";
    let ticket = triage::Ticket::new("Apache fails to start after update", text);
    let mut v = triage::Verdict::default();
    let t = std::time::Instant::now();
    for _ in 0..n {
        rules.classify_into(&ticket, &mut v);
    }
    eprintln!("{:?} per ticket", t.elapsed() / n as u32);
}
