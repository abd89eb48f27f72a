//! `triage serve`: the pre-screening service (JSON API, web page, hot reload).

use super::{fail, RulesArg, EXIT_OK};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use triage::serve::{Config, Event, Server, DEFAULT_ADDR};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on. The default serves this machine only; port 0 picks a free port.
    #[arg(long, value_name = "IP:PORT", default_value = DEFAULT_ADDR)]
    addr: SocketAddr,
    /// Reload the rules when a file of the --rules directory changes (polled every
    /// --watch-interval). SIGHUP reloads them in any case.
    #[arg(long, requires = "rules")]
    watch: bool,
    /// How often --watch looks at the rules directory, in milliseconds.
    #[arg(long = "watch-interval", value_name = "MS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    watch_interval: u64,
    /// Async worker threads. Default: one per core.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    workers: Option<u16>,
    #[command(flatten)]
    rules: RulesArg,
}

pub fn run(args: Args) -> i32 {
    let rules = match args.rules.load() {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let mut config = Config::new(args.addr);
    config.rules_dir = args.rules.rules.clone();
    config.watch = args
        .watch
        .then(|| Duration::from_millis(args.watch_interval));
    config.reload_on_sighup = true;
    config.workers = args.workers.map(usize::from);
    let log = Arc::new(|event: &Event<'_>| eprintln!("triage serve: {event}"));
    let server = match Server::bind(config, rules, log) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    match server.run_until_terminated() {
        Ok(()) => EXIT_OK,
        Err(e) => fail(e),
    }
}
