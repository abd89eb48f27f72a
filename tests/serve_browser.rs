//! The web page of `triage serve`, end to end in headless Chromium driven over WebDriver
//! (chromedriver): type a case, press the button, read the verdict and the highlighted
//! evidence, then paste a case with characters outside the Basic Multilingual Plane and use
//! Ctrl+Enter. Saves a screenshot to `target/serve-page.png`.
//!
//! Needs Debian's `chromium` and `chromium-driver`. Without them the test says
//! "skipped: chromium not found" and passes, unless `TRIAGE_REQUIRE_BROWSER=1` (as in CI), where
//! a missing browser fails it. `TRIAGE_CHROMIUM` and `TRIAGE_CHROMEDRIVER` name other binaries.

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use triage::serve::{Config, Event, Server};

/// The binary `env` names (when it exists), else the first of `candidates` that exists (a bare name is
/// looked up on `PATH`).
fn find_binary(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    candidates.iter().find_map(|c| {
        if c.contains('/') {
            Path::new(c).is_file().then(|| PathBuf::from(c))
        } else {
            std::env::split_paths(&path)
                .map(|dir| dir.join(c))
                .find(|p| p.is_file())
        }
    })
}

/// The browser and its driver, or `None` when this machine has no browser and the test may
/// be skipped.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = find_binary(
        "TRIAGE_CHROMIUM",
        &[
            "/usr/lib/chromium/chromium",
            "chromium",
            "chromium-browser",
            "google-chrome",
        ],
    );
    let driver = find_binary(
        "TRIAGE_CHROMEDRIVER",
        &["chromedriver", "/usr/lib/chromium/chromedriver"],
    );
    match (chromium, driver) {
        (Some(c), Some(d)) => Some((c, d)),
        (c, d) => {
            let missing = match (c, d) {
                (None, None) => "chromium and chromedriver",
                (None, _) => "chromium",
                _ => "chromedriver",
            };
            if std::env::var("TRIAGE_REQUIRE_BROWSER").is_ok_and(|v| v == "1") {
                panic!(
                    "TRIAGE_REQUIRE_BROWSER=1 but {missing} not found \
                     (apt-get install chromium chromium-driver)"
                );
            }
            // Written to the process's standard error directly, which the test harness does
            // not capture: the notice shows in a plain `cargo test` run.
            let _ = writeln!(
                std::io::stderr(),
                "skipped: chromium not found ({missing} missing; apt-get install chromium \
                 chromium-driver, or set TRIAGE_REQUIRE_BROWSER=1 to make this a failure)"
            );
            None
        }
    }
}

/// chromedriver on a free loopback port, ended when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start(binary: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let driver = Driver { child, port };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const SUBJECT: &str = "Tomcat 10 fails to start after enabling HTTPS";
const DESCRIPTION: &str = "Hi team,

since we enabled the HTTPS connector, Tomcat 10 on our Ubuntu 22.04 VM fails to start: \
catalina.out shows \"java.io.IOException: keystore password was incorrect\". This is not a \
security incident – nothing was hacked, we only rotated the certificate.

> On Monday, Support wrote:
> Please confirm whether the VM was compromised or infected with malware.

Best regards,
Jörg Müller
Café Zürich ☕ – IT operations";

/// Characters of 2, 3 and 4 UTF-8 bytes (the last two UTF-16 code units) before the evidence:
/// a byte offset used as a string index would shift every highlight.
const ASTRAL: &str = "😀 Grüße aus Zürich 🚀🚀 — nginx returns 502 on our Ubuntu 22.04 VM, \
and this is not a security incident 😀";

/// Why the page test failed: a WebDriver command, or a check.
#[derive(Debug)]
enum Failure {
    WebDriver(fantoccini::error::CmdError),
    Check(String),
}

impl From<fantoccini::error::CmdError> for Failure {
    fn from(e: fantoccini::error::CmdError) -> Self {
        Failure::WebDriver(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::WebDriver(e) => write!(f, "WebDriver: {e}"),
            Failure::Check(m) => write!(f, "page check failed: {m}"),
        }
    }
}

/// Like `assert!`, but returns the failure so the browser session can be closed first.
macro_rules! check {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(Failure::Check(format!($($message)+)));
        }
    };
}

async fn texts(client: &Client, css: &str) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for e in client.find_all(Locator::Css(css)).await? {
        out.push(e.text().await?);
    }
    Ok(out)
}

async fn text_of(client: &Client, id: &str) -> Result<String, Failure> {
    Ok(client.find(Locator::Id(id)).await?.text().await?)
}

/// Waits until the result shows a verdict for `description` (the page renders it as text).
async fn wait_for_verdict(client: &Client, description: &str) -> Result<(), Failure> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let shown = client
            .execute(
                "const r = document.getElementById('result');\
                 return !r.hidden && document.getElementById('text-description').textContent;",
                vec![],
            )
            .await?;
        if shown.as_str() == Some(description) {
            return Ok(());
        }
        check!(
            Instant::now() < deadline,
            "no verdict shown; page state {shown}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sets the form's fields as a paste would (no key events).
async fn paste(client: &Client, subject: &str, description: &str) -> Result<(), Failure> {
    client
        .execute(
            "document.getElementById('subject').value = arguments[0];\
             document.getElementById('description').value = arguments[1];",
            vec![json!(subject), json!(description)],
        )
        .await?;
    Ok(())
}

async fn drive(client: &Client, base: &str, screenshot: &Path) -> Result<(), Failure> {
    client.goto(base).await?;
    let title = client.title().await?;
    check!(title == "triage · pre-screen a case", "title {title:?}");
    // The header shows the live rule set once /v1/rules answered.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !text_of(client, "ruleset").await?.contains("hash") {
        check!(Instant::now() < deadline, "rule set never shown");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A new user types the case and presses the button.
    client
        .find(Locator::Id("subject"))
        .await?
        .send_keys(SUBJECT)
        .await?;
    client
        .find(Locator::Id("description"))
        .await?
        .send_keys(DESCRIPTION)
        .await?;
    client.find(Locator::Id("run")).await?.click().await?;
    wait_for_verdict(client, DESCRIPTION).await?;

    let label = client.find(Locator::Id("label")).await?;
    let (text, class) = (label.text().await?, label.attr("class").await?);
    check!(text == "in-scope", "label {text:?}");
    check!(
        class.as_deref() == Some("label label-0"),
        "label class {class:?}"
    );
    let category = text_of(client, "category").await?;
    check!(category == "supported-oss", "category {category:?}");
    let reason = text_of(client, "reason").await?;
    check!(reason.contains("Apache Tomcat"), "reason {reason:?}");
    let review = client
        .find(Locator::Id("review"))
        .await?
        .attr("hidden")
        .await?;
    check!(review.is_some(), "no review flag expected");
    let systems = text_of(client, "systems").await?;
    check!(
        systems.contains("Ubuntu 22.04 (inside matrix)"),
        "systems {systems:?}"
    );
    let categories = text_of(client, "categories").await?;
    check!(
        categories.contains("supported-oss"),
        "categories {categories:?}"
    );

    let fired = texts(client, "#text-description mark.ev-fire").await?;
    check!(fired.iter().any(|t| t == "Tomcat"), "fired {fired:?}");
    let negated = texts(client, "#text-description mark.ev-negated").await?;
    check!(
        negated.iter().any(|t| t == "security incident") && negated.iter().any(|t| t == "hacked"),
        "negated {negated:?}"
    );
    let quoted = texts(client, "#text-description mark.ev-boilerplate").await?;
    check!(
        quoted.iter().any(|t| t == "compromised") && quoted.iter().any(|t| t == "malware"),
        "quoted {quoted:?}"
    );
    let subject_fired = texts(client, "#text-subject mark.ev-fire").await?;
    check!(
        subject_fired.first().is_some_and(|t| t == "Tomcat"),
        "subject {subject_fired:?}"
    );
    // Each highlight names its rule in the tooltip.
    let tip = client
        .find(Locator::Css("#text-description mark.ev-negated"))
        .await?
        .attr("title")
        .await?
        .unwrap_or_default();
    check!(
        tip.contains("security.") && tip.contains("negated"),
        "tooltip {tip:?}"
    );
    // The text shown is the text sent, character for character.
    let subject_shown = text_of(client, "text-subject").await?;
    check!(subject_shown == SUBJECT, "subject shown {subject_shown:?}");

    let png = client.screenshot().await?;
    check!(png.starts_with(b"\x89PNG"), "screenshot is not a PNG");
    std::fs::write(screenshot, &png).expect("write screenshot");

    // Pasted text outside the BMP, then Ctrl+Enter.
    paste(client, "", ASTRAL).await?;
    client
        .find(Locator::Id("description"))
        .await?
        .send_keys(&(Key::Control + &Key::Enter))
        .await?;
    wait_for_verdict(client, ASTRAL).await?;
    let label = text_of(client, "label").await?;
    check!(label == "vendor-referral", "label {label:?}");
    let fired = texts(client, "#text-description mark.ev-fire").await?;
    check!(
        fired == ["nginx"],
        "fired after astral characters {fired:?}"
    );
    let negated = texts(client, "#text-description mark.ev-negated").await?;
    check!(
        negated == ["security incident"],
        "negated after astral characters {negated:?}"
    );

    // A rule an exclusion stopped is listed, and the words that stopped it are highlighted.
    let stopped = "How should we configure the Tomcat HTTPS connector? Since yesterday Tomcat fails to start.";
    paste(client, "", stopped).await?;
    client.find(Locator::Id("run")).await?.click().await?;
    wait_for_verdict(client, stopped).await?;
    let vetoed = text_of(client, "vetoed").await?;
    check!(
        vetoed.contains("basic-admin.install-configure-howto"),
        "stopped rules {vetoed:?}"
    );
    let stoppers = texts(client, "#text-description mark.ev-stopper").await?;
    check!(
        stoppers.iter().any(|t| t == "Since yesterday"),
        "stopping words {stoppers:?}"
    );

    // A case that looks like markup stays text.
    let markup = "<img src=x onerror=alert(1)> <b>nginx</b> returns 502";
    paste(client, "", markup).await?;
    client.find(Locator::Id("run")).await?.click().await?;
    wait_for_verdict(client, markup).await?;
    let elements = client
        .find_all(Locator::Css("#text-description img, #text-description b"))
        .await?;
    check!(elements.is_empty(), "user text became markup");

    // An error from the service is shown, not swallowed.
    paste(client, "", &"x".repeat(1_100_000)).await?;
    client.find(Locator::Id("run")).await?.click().await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let error = client.find(Locator::Id("error")).await?;
        if error.attr("hidden").await?.is_none() {
            let message = error.text().await?;
            check!(message.starts_with("413"), "error shown {message:?}");
            break;
        }
        check!(
            Instant::now() < deadline,
            "no error shown for an oversized case"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

#[test]
fn page_pre_screens_a_pasted_case_in_headless_chromium() {
    let Some((chromium, chromedriver)) = browser() else {
        return;
    };
    let server = Server::bind(
        Config::new("127.0.0.1:0".parse().unwrap()),
        triage::RuleSet::embedded().expect("default rules"),
        Arc::new(|_: &Event<'_>| {}),
    )
    .expect("bind")
    .spawn()
    .expect("serve");
    let base = format!("http://{}/", server.addr());
    let driver = Driver::start(&chromedriver);
    let profile = tempfile::tempdir().expect("profile dir");
    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("serve-page.png");

    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1200,1700", "--lang=en-US",
                format!("--user-data-dir={}", profile.path().display()),
            ],
        }),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = runtime.block_on(async {
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a WebDriver session");
        // Checks return their failure rather than panic, so that the session is closed (and
        // the browser with it) whatever they found.
        let outcome = drive(&client, &base, &screenshot).await;
        let _ = client.close().await;
        outcome
    });
    drop(driver);
    if let Err(e) = outcome {
        panic!("{e}");
    }
    eprintln!("screenshot: {}", screenshot.display());
}
