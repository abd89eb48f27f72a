//! `triage serve`: a small HTTP service that pre-screens tickets where cases are created (an
//! intake form, a helpdesk webhook, an agent's browser).
//!
//! Routes (see [`api`] for the error codes):
//! - `POST /v1/classify[?explain=true]` `{"subject": "...", "description": "..."}` → the verdict, in the schema
//!   of `triage check --json` ([`crate::Report`]);
//! - `POST /v1/classify/batch` `[{...}, ...]` → an array of verdicts, in order;
//! - `GET /healthz`, `GET /v1/rules` (the live rule set: hash, labels, categories);
//! - `GET /` a web page to paste a case into and see its verdict with the evidence highlighted.
//!
//! The rules can be reloaded while serving ([`RulesState::reload`], on `SIGHUP` and, with
//! [`Config::watch`], when the rules directory changes); a directory that fails to load leaves
//! the previous rules serving.
//!
//! ```no_run
//! use triage::serve::{Config, Server};
//! let rules = triage::RuleSet::embedded().expect("default rules");
//! let config = Config::new("127.0.0.1:0".parse().unwrap());
//! let server = Server::bind(config, rules, std::sync::Arc::new(|e: &triage::serve::Event<'_>| {
//!     eprintln!("{e}")
//! }))
//! .expect("bind");
//! let running = server.spawn().expect("runtime");
//! println!("listening on http://{}", running.addr());
//! running.stop().expect("clean stop");
//! ```

mod api;
mod state;
mod watch;

pub use api::TicketRequest;
pub use state::{LoadedRules, ReloadOutcome, RulesState};

use crate::RuleSet;
use axum::serve::ListenerExt;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use watch::{ChangeDetector, Signature};

/// Default address: loopback only. Serving other hosts is a deliberate `--addr`.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// How long a shutdown waits for open requests before it stops anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Size limits of requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body of `POST /v1/classify`, in bytes.
    pub body_bytes: usize,
    /// Largest body of `POST /v1/classify/batch`, in bytes.
    pub batch_body_bytes: usize,
    /// Most tickets in one batch.
    pub batch_tickets: usize,
    /// Tickets up to this many bytes (subject and description) are classified on the async
    /// worker that received them; longer ones on the blocking pool, so that a long text does
    /// not hold up the requests queued behind it. Sending a typical ticket to the blocking pool
    /// was measured to cost about 70 % more CPU per request (README, "Load"); 0 sends every
    /// ticket there.
    pub inline_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 1 << 20,
            batch_body_bytes: 16 << 20,
            batch_tickets: 1000,
            inline_bytes: 16 << 10,
        }
    }
}

/// How to run the service.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen (port 0: any free port, see [`Server::local_addr`]).
    pub addr: SocketAddr,
    /// The rules directory the rules came from, read again on reload. `None`: embedded rules.
    pub rules_dir: Option<PathBuf>,
    /// Poll the rules directory this often and reload when it changed.
    pub watch: Option<Duration>,
    /// Reload the rules directory on `SIGHUP` (Unix).
    pub reload_on_sighup: bool,
    /// Async worker threads (`None`: one per core). Used by [`Server::spawn`] and
    /// [`Server::run_until_terminated`].
    pub workers: Option<usize>,
    pub limits: Limits,
}

impl Config {
    /// Embedded rules, no watching, no signal handling, default limits.
    pub fn new(addr: SocketAddr) -> Self {
        Config {
            addr,
            rules_dir: None,
            watch: None,
            reload_on_sighup: false,
            workers: None,
            limits: Limits::default(),
        }
    }
}

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot install the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        source: std::io::Error,
    },
    #[error("server error: {0}")]
    Io(std::io::Error),
    #[error("the server thread panicked")]
    Panicked,
}

/// What started a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `SIGHUP`.
    Signal,
    /// The rules directory changed (`--watch`).
    Watch,
}

impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Trigger::Signal => "SIGHUP",
            Trigger::Watch => "rules changed",
        })
    }
}

/// Something worth one log line. `Display` renders the line (without a program prefix).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    Listening {
        addr: SocketAddr,
        rules: &'a LoadedRules,
        dir: Option<&'a Path>,
    },
    Watching {
        dir: &'a Path,
        every: Duration,
    },
    Reload {
        trigger: Trigger,
        dir: Option<&'a Path>,
        outcome: &'a ReloadOutcome,
    },
    ShuttingDown,
    /// Connections were still open when the shutdown grace period ended.
    GaveUpWaiting {
        after: Duration,
    },
}

/// Receives the service's events (the command line prints them on standard error).
pub type EventSink = Arc<dyn Fn(&Event<'_>) + Send + Sync>;

fn describe(loaded: &LoadedRules) -> String {
    format!(
        "{} {} (hash {}, {} rules)",
        loaded.rules.name,
        loaded.rules.version,
        loaded.hash,
        loaded.rules.rules.len()
    )
}

impl fmt::Display for Event<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Listening { addr, rules, dir } => {
                let source = dir.map_or_else(
                    || "embedded".to_owned(),
                    |d| format!("from {}", d.display()),
                );
                write!(
                    f,
                    "listening on http://{addr} with rules {} {} (hash {}, {} rules, {source})",
                    rules.rules.name,
                    rules.rules.version,
                    rules.hash,
                    rules.rules.rules.len()
                )
            }
            Event::Watching { dir, every } => write!(
                f,
                "watching {} for changes (every {} ms)",
                dir.display(),
                every.as_millis()
            ),
            Event::Reload {
                trigger,
                dir,
                outcome,
            } => {
                let dir = dir.map_or_else(String::new, |d| d.display().to_string());
                match outcome {
                    ReloadOutcome::Reloaded { previous, current } => write!(
                        f,
                        "{trigger}: reloaded {dir}: now {} (was hash {})",
                        describe(current),
                        previous.hash
                    ),
                    ReloadOutcome::Unchanged(loaded) => write!(
                        f,
                        "{trigger}: {dir} loads to the rules already serving (hash {})",
                        loaded.hash
                    ),
                    ReloadOutcome::Failed { errors, serving } => {
                        // One line per event: each error's own line breaks (a regex error's
                        // caret diagram) are folded into spaces.
                        let errors: Vec<String> = errors
                            .iter()
                            .map(|e| e.to_string().split_whitespace().collect::<Vec<_>>().join(" "))
                            .collect();
                        write!(
                            f,
                            "{trigger}: reload of {dir} failed, still serving hash {}: {}",
                            serving.hash,
                            errors.join("; ")
                        )
                    }
                    ReloadOutcome::NothingToReload => write!(
                        f,
                        "{trigger}: serving the embedded rules, nothing to reload (start with --rules DIR to reload)"
                    ),
                }
            }
            Event::ShuttingDown => f.write_str("shutting down"),
            Event::GaveUpWaiting { after } => write!(
                f,
                "stopped waiting for open connections after {} s",
                after.as_secs()
            ),
        }
    }
}

/// A bound, not yet running service.
pub struct Server {
    listener: std::net::TcpListener,
    addr: SocketAddr,
    rules: Arc<RulesState>,
    config: Config,
    events: EventSink,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Binds the address (so a port of 0 is resolved at once) and takes the rules to serve,
    /// loaded by the caller from `config.rules_dir` (or the embedded rules when `None`).
    pub fn bind(config: Config, rules: RuleSet, events: EventSink) -> Result<Server, ServeError> {
        let bind_error = |source| ServeError::Bind {
            addr: config.addr,
            source,
        };
        let listener = std::net::TcpListener::bind(config.addr).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        Ok(Server {
            listener,
            addr,
            rules: Arc::new(RulesState::new(rules, config.rules_dir.clone())),
            config,
            events,
        })
    }

    /// The address the service listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The live rules, to inspect or reload them.
    pub fn rules(&self) -> &Arc<RulesState> {
        &self.rules
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight. Must run inside
    /// a Tokio runtime (with I/O, time and, for `SIGHUP`, signal drivers enabled).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let Server {
            listener,
            addr,
            rules,
            config,
            events,
        } = self;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(ServeError::Io)?;
        let mut background = JoinSet::new();
        // The signal handler is in place before the "listening" line: a SIGHUP sent by whoever
        // waits for that line reloads rather than ending the process.
        #[cfg(unix)]
        if config.reload_on_sighup {
            use tokio::signal::unix::{signal, SignalKind};
            let mut hangups =
                signal(SignalKind::hangup()).map_err(|source| ServeError::Signal {
                    signal: "SIGHUP",
                    source,
                })?;
            let (rules, events) = (Arc::clone(&rules), Arc::clone(&events));
            background.spawn(async move {
                while hangups.recv().await.is_some() {
                    reload(&rules, Trigger::Signal, &events).await;
                }
            });
        }
        if let (Some(every), Some(dir)) = (config.watch, config.rules_dir.clone()) {
            let (rules, events) = (Arc::clone(&rules), Arc::clone(&events));
            background.spawn(async move { watch(dir, every, rules, events).await });
        }
        events(&Event::Listening {
            addr,
            rules: &rules.current(),
            dir: rules.dir(),
        });
        let app = api::router(Arc::new(api::App::new(Arc::clone(&rules), config.limits)));
        let listener = listener.tap_io(|tcp| {
            // Answers are small and written at once: send them without waiting for more.
            let _ = tcp.set_nodelay(true);
        });
        // After the shutdown signal, requests in flight get `SHUTDOWN_GRACE` to finish; a
        // connection that stays open longer (a stalled client) does not hold the exit.
        let (stopping, mut stop_seen) = tokio::sync::watch::channel(false);
        let shutdown_events = Arc::clone(&events);
        let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            shutdown_events(&Event::ShuttingDown);
            let _ = stopping.send(true);
        });
        let grace_over = async move {
            let _ = stop_seen.wait_for(|&stopping| stopping).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        let result = tokio::select! {
            result = serving => result.map_err(ServeError::Io),
            () = grace_over => {
                events(&Event::GaveUpWaiting { after: SHUTDOWN_GRACE });
                Ok(())
            }
        };
        background.shutdown().await;
        result
    }

    fn runtime(&self) -> Result<tokio::runtime::Runtime, ServeError> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(n) = self.config.workers {
            builder.worker_threads(n.max(1));
        }
        builder
            .thread_name("triage-serve")
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)
    }

    /// Serves on a runtime of its own until `SIGINT` or `SIGTERM` (Ctrl-C elsewhere).
    pub fn run_until_terminated(self) -> Result<(), ServeError> {
        let runtime = self.runtime()?;
        runtime.block_on(async move {
            let terminated = termination()?;
            self.run(terminated).await
        })
    }

    /// Serves on a runtime of its own in a background thread, until [`RunningServer::stop`]
    /// or drop.
    pub fn spawn(self) -> Result<RunningServer, ServeError> {
        let runtime = self.runtime()?;
        let addr = self.addr;
        let rules = Arc::clone(&self.rules);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("triage-serve".into())
            .spawn(move || {
                runtime.block_on(self.run(async move {
                    let _ = stopped.await;
                }))
            })
            .map_err(ServeError::Runtime)?;
        Ok(RunningServer {
            addr,
            rules,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Resolves on the first `SIGINT` or `SIGTERM`.
fn termination() -> Result<impl Future<Output = ()> + Send + 'static, ServeError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let install = |kind: SignalKind, name: &'static str| {
            signal(kind).map_err(|source| ServeError::Signal {
                signal: name,
                source,
            })
        };
        let mut interrupt = install(SignalKind::interrupt(), "SIGINT")?;
        let mut terminate = install(SignalKind::terminate(), "SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {},
                _ = terminate.recv() => {},
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Reloads off the async workers and reports the outcome.
async fn reload(rules: &Arc<RulesState>, trigger: Trigger, events: &EventSink) {
    let state = Arc::clone(rules);
    match tokio::task::spawn_blocking(move || state.reload()).await {
        Ok(outcome) => events(&Event::Reload {
            trigger,
            dir: rules.dir(),
            outcome: &outcome,
        }),
        // A panic while compiling rules is a bug in the compiler; the old rules keep serving.
        Err(e) => {
            let outcome = ReloadOutcome::Failed {
                errors: crate::LoadErrors(vec![crate::LoadError {
                    location: crate::Location::file(rules.dir().unwrap_or(Path::new("."))),
                    kind: crate::LoadErrorKind::Invalid(format!("loading panicked: {e}")),
                }]),
                serving: rules.current(),
            };
            events(&Event::Reload {
                trigger,
                dir: rules.dir(),
                outcome: &outcome,
            });
        }
    }
}

/// Polls `dir` every `every` and reloads once a change has settled.
async fn watch(dir: PathBuf, every: Duration, rules: Arc<RulesState>, events: EventSink) {
    let look = |dir: &PathBuf| {
        let dir = dir.clone();
        tokio::task::spawn_blocking(move || Signature::of(&dir))
    };
    let Ok(now) = look(&dir).await else { return };
    let mut detector = ChangeDetector::new(now);
    events(&Event::Watching { dir: &dir, every });
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let Ok(now) = look(&dir).await else { return };
        if detector.poll(now) {
            reload(&rules, Trigger::Watch, &events).await;
        }
    }
}

/// A service running on its own thread (see [`Server::spawn`]). Dropping it stops it.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    rules: Arc<RulesState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), ServeError>>>,
}

impl RunningServer {
    /// The address the service listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The live rules, to inspect or reload them.
    pub fn rules(&self) -> &Arc<RulesState> {
        &self.rules
    }

    /// Stops accepting, finishes the requests in flight and waits for the thread.
    pub fn stop(mut self) -> Result<(), ServeError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread.join().map_err(|_| ServeError::Panicked)?,
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}
