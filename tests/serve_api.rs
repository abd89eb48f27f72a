//! `triage serve` over real HTTP on an ephemeral loopback port: the JSON API, its limits and
//! errors, and hot reload (library API, SIGHUP and --watch on the binary).

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use triage::serve::{Config, Event, ReloadOutcome, RunningServer, Server};
use triage::{RuleSet, Ticket};

/// A service on its own thread and an HTTP client that reports 4xx/5xx as answers.
struct Service {
    server: RunningServer,
    agent: ureq::Agent,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

fn start_with(config: Config, rules: RuleSet) -> Service {
    let quiet = Arc::new(|_: &Event<'_>| {});
    let server = Server::bind(config, rules, quiet)
        .expect("bind")
        .spawn()
        .expect("spawn");
    Service {
        server,
        agent: agent(),
    }
}

fn start() -> Service {
    let config = Config::new("127.0.0.1:0".parse().unwrap());
    start_with(config, RuleSet::embedded().expect("default rules"))
}

/// A status and a body parsed as JSON (every answer of the API is JSON).
struct Answer {
    status: u16,
    content_type: String,
    json: Value,
}

impl Service {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.server.addr())
    }

    fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .expect("read body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("answer is not JSON ({e}): {text:?}"));
        Answer {
            status,
            content_type,
            json,
        }
    }

    fn post(&self, path: &str, content_type: Option<&str>, body: &[u8]) -> Answer {
        let mut request = self.agent.post(self.url(path));
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        Self::answer(request.send(body).expect("request"))
    }

    fn post_json(&self, path: &str, body: &Value) -> Answer {
        self.post(path, Some("application/json"), body.to_string().as_bytes())
    }

    fn get(&self, path: &str) -> Answer {
        Self::answer(self.agent.get(self.url(path)).call().expect("request"))
    }
}

/// What `triage check --json` prints for this ticket, computed with the library.
fn expected_report(rules: &RuleSet, subject: &str, description: &str) -> Value {
    let ticket = Ticket::new(subject, description);
    serde_json::to_value(rules.classify(&ticket).report(rules, &ticket)).unwrap()
}

fn error_of(answer: &Answer) -> &str {
    answer.json["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {}", answer.json))
}

const TOMCAT_SUBJECT: &str = "Tomcat down after HTTPS change";
const TOMCAT: &str = "Tomcat 10 on our Ubuntu 22.04 VM fails to start since we enabled the HTTPS \
connector. This is not a security incident.";

#[test]
fn classify_answers_the_check_json_schema() {
    let service = start();
    let rules = RuleSet::embedded().unwrap();
    let answer = service.post_json(
        "/v1/classify",
        &json!({"subject": TOMCAT_SUBJECT, "description": TOMCAT}),
    );
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(answer.json, expected_report(&rules, TOMCAT_SUBJECT, TOMCAT));
    assert_eq!(answer.json["label"], "in-scope");
    assert!(answer.json["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["negated"] == true && e["text"] == "security incident"));
}

#[test]
fn subject_is_optional_and_non_ascii_spans_are_bytes() {
    let service = start();
    let rules = RuleSet::embedded().unwrap();
    let text = "Grüße aus Zürich 😀: nginx returns 502 on our Ubuntu 22.04 VM";
    let answer = service.post_json("/v1/classify", &json!({ "description": text }));
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json, expected_report(&rules, "", text));
    for e in answer.json["evidence"].as_array().unwrap() {
        let (start, end) = (e["start"].as_u64().unwrap(), e["end"].as_u64().unwrap());
        assert_eq!(
            text[start as usize..end as usize],
            *e["text"].as_str().unwrap()
        );
    }
}

#[test]
fn body_that_is_not_json_is_400() {
    let service = start();
    for body in [
        &b"{\"description\": \"unterminated"[..],
        b"",
        b"not json",
        b"{\"description\": \"\xff\xfe invalid utf-8\"}",
        b"{\"description\": \"lone surrogate \\ud800\"}",
        b"\xef\xbb\xbf{\"description\": \"BOM first\"}",
    ] {
        let answer = service.post("/v1/classify", Some("application/json"), body);
        assert_eq!(answer.status, 400, "{body:?}: {}", answer.json);
        assert!(!error_of(&answer).is_empty());
    }
}

#[test]
fn body_not_sent_as_json_is_415() {
    let service = start();
    let body = br#"{"description": "x"}"#;
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let answer = service.post("/v1/classify", content_type, body);
        assert_eq!(answer.status, 415, "{content_type:?}: {}", answer.json);
        assert!(error_of(&answer).contains("application/json"));
    }
    // A charset parameter is fine.
    let answer = service.post(
        "/v1/classify",
        Some("application/json; charset=utf-8"),
        body,
    );
    assert_eq!(answer.status, 200, "{}", answer.json);
}

#[test]
fn json_of_the_wrong_shape_is_422() {
    let service = start();
    for (body, says) in [
        (
            json!({"subject": "no description"}),
            "missing field `description`",
        ),
        (json!({"description": 42}), "invalid type"),
        (
            json!({"description": "x", "priority": "high"}),
            "unknown field `priority`",
        ),
        (json!(["an", "array"]), "invalid type"),
        (json!(null), "invalid type"),
    ] {
        let answer = service.post_json("/v1/classify", &body);
        assert_eq!(answer.status, 422, "{body}: {}", answer.json);
        assert!(error_of(&answer).contains(says), "{body}: {}", answer.json);
    }
}

#[test]
fn body_over_the_limit_is_413_and_the_service_keeps_serving() {
    let service = start();
    let limit = triage::serve::Limits::default().body_bytes;
    let big = json!({ "description": "a".repeat(limit) });
    let answer = service.post_json("/v1/classify", &big);
    assert_eq!(answer.status, 413, "{}", answer.json);
    assert!(error_of(&answer).contains(&limit.to_string()));
    // Just under the limit is classified (on the blocking pool).
    let fits = json!({ "description": "nginx 502 ".repeat((limit - 100) / 10) });
    let answer = service.post_json("/v1/classify", &fits);
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(service.get("/healthz").status, 200);
}

#[test]
fn hostile_bodies_get_4xx_and_never_break_the_service() {
    let service = start();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_object = format!(
        "{{\"description\": {}\"x\"{}}}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let bodies: Vec<Vec<u8>> = vec![
        deep.into_bytes(),
        deep_object.into_bytes(),
        b"{\"description\": \"x\", \"description\": \"y\"}".to_vec(),
        b"{\"description\": 1e999999}".to_vec(),
        vec![0u8; 4096],
        (0..=255u8).cycle().take(100_000).collect(),
        b"{\"description\": \"\\u0000\\u0000\"}".to_vec(),
    ];
    for body in &bodies {
        for path in ["/v1/classify", "/v1/classify/batch"] {
            let answer = service.post(path, Some("application/json"), body);
            assert!(
                (400..500).contains(&answer.status) || answer.status == 200,
                "{path}: {}",
                answer.json
            );
        }
    }
    assert_eq!(service.get("/healthz").json["status"], "ok");
}

#[test]
fn batch_answers_each_ticket_in_order() {
    let service = start();
    let rules = RuleSet::embedded().unwrap();
    let tickets = [
        ("", "How do I add a user with sudo rights on AlmaLinux?"),
        (TOMCAT_SUBJECT, TOMCAT),
        (
            "Server hacked",
            "Our VM was compromised and runs a crypto miner.",
        ),
    ];
    let body: Vec<Value> = tickets
        .iter()
        .map(|(s, d)| json!({"subject": s, "description": d}))
        .collect();
    let answer = service.post_json("/v1/classify/batch", &Value::Array(body));
    assert_eq!(answer.status, 200, "{}", answer.json);
    let expected: Vec<Value> = tickets
        .iter()
        .map(|(s, d)| expected_report(&rules, s, d))
        .collect();
    assert_eq!(answer.json, Value::Array(expected));
    let labels: Vec<&str> = answer
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["out-of-scope", "in-scope", "out-of-scope"]);

    let empty = service.post_json("/v1/classify/batch", &json!([]));
    assert_eq!((empty.status, empty.json), (200, json!([])));
}

#[test]
fn batch_limits_count_size_and_shape() {
    let service = start();
    let limits = triage::serve::Limits::default();
    let ticket = json!({"description": "nginx returns 502"});
    let full = Value::Array(vec![ticket.clone(); limits.batch_tickets]);
    let answer = service.post_json("/v1/classify/batch", &full);
    assert_eq!(answer.status, 200, "{}", answer.json);
    assert_eq!(answer.json.as_array().unwrap().len(), limits.batch_tickets);

    let over = Value::Array(vec![ticket.clone(); limits.batch_tickets + 1]);
    let answer = service.post_json("/v1/classify/batch", &over);
    assert_eq!(answer.status, 413, "{}", answer.json);
    assert!(error_of(&answer).contains(&format!("at most {}", limits.batch_tickets)));

    let huge = json!([{ "description": "a".repeat(limits.batch_body_bytes) }]);
    let answer = service.post_json("/v1/classify/batch", &huge);
    assert_eq!(answer.status, 413, "{}", answer.json);

    let answer = service.post_json("/v1/classify/batch", &ticket);
    assert_eq!(
        answer.status, 422,
        "an object is not a batch: {}",
        answer.json
    );
    let answer = service.post_json(
        "/v1/classify/batch",
        &json!([{"description": "ok"}, {"subject": "no description"}]),
    );
    assert_eq!(answer.status, 422, "{}", answer.json);
    assert!(error_of(&answer).contains("missing field `description`"));
}

#[test]
fn unknown_paths_are_404_and_wrong_methods_405_in_json() {
    let service = start();
    let answer = service.get("/v2/classify");
    assert_eq!(answer.status, 404);
    assert_eq!(error_of(&answer), "no such endpoint: GET /v2/classify");
    let answer = service.get("/v1/classify");
    assert_eq!(answer.status, 405);
    assert!(error_of(&answer).contains("GET"));
    let answer = service.post_json("/healthz", &json!({}));
    assert_eq!(answer.status, 405);
}

#[test]
fn healthz_and_rules_describe_the_live_rule_set() {
    let service = start();
    let rules = RuleSet::embedded().unwrap();
    let health = service.get("/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.json["status"], "ok");
    let hash = format!("{:016x}", rules.fingerprint);
    assert_eq!(health.json["rule_set"]["hash"], hash.as_str());

    let answer = service.get("/v1/rules");
    assert_eq!(answer.status, 200);
    let r = &answer.json;
    assert_eq!(r["name"], rules.name.as_str());
    assert_eq!(r["version"], rules.version.as_str());
    assert_eq!(r["hash"], hash.as_str());
    assert_eq!(r["generation"], 1);
    assert_eq!(r["source"], "embedded");
    assert_eq!(r["labels"], json!(rules.labels));
    assert_eq!(r["rule_count"], rules.rules.len());
    assert_eq!(r["last_reload_error"], Value::Null);
    let categories = r["categories"].as_array().unwrap();
    assert_eq!(categories.len(), rules.categories.len());
    assert_eq!(categories[0]["name"], "security");
    assert_eq!(categories[0]["label"], "out-of-scope");
    assert_eq!(categories[0]["tier"], 0);
}

#[test]
fn the_page_and_its_assets_are_served_from_the_binary() {
    let service = start();
    let get = |path: &str| {
        let mut r = service.agent.get(service.url(path)).call().unwrap();
        let ct = r.headers()["content-type"].to_str().unwrap().to_owned();
        (
            r.status().as_u16(),
            ct,
            r.body_mut().read_to_string().unwrap(),
        )
    };
    let (status, ct, html) = get("/");
    assert_eq!((status, ct.as_str()), (200, "text/html; charset=utf-8"));
    assert!(html.contains("/assets/app.js") && html.contains("/assets/app.css"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN"
    );
    let (status, ct, js) = get("/assets/app.js");
    assert_eq!(
        (status, ct.as_str()),
        (200, "text/javascript; charset=utf-8")
    );
    assert!(
        !js.contains("innerHTML"),
        "user text is never parsed as markup"
    );
    let (status, ct, _) = get("/assets/app.css");
    assert_eq!((status, ct.as_str()), (200, "text/css; charset=utf-8"));
}

/// Copies the default rules directory into a temporary one.
fn copy_rules() -> tempfile::TempDir {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    copy(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        dir.path(),
    );
    dir
}

const SECURITY: &str = "categories/security.toml";
/// A rule no default rule resembles, to see when reloaded rules are live.
const NEW_RULE: &str = "\n[[rule]]\nid = \"security.reload-probe\"\nreason = \"The reload probe fired.\"\nany = [\"zorglub\"]\n";

/// Breaks the security rules with a TOML syntax error; returns the line it is on.
fn break_rules(dir: &Path) -> usize {
    let path = dir.join(SECURITY);
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text.lines().count() + 2;
    write_whole(&path, &format!("{text}\n[[rule]\nid = \"broken\"\n"));
    line
}

/// Replaces a file in one step, as a deploy does: a watcher polling while `fs::write` has
/// truncated the file but not yet written it (a pause a loaded machine can stretch past two
/// polls) would read it empty.
fn write_whole(path: &Path, text: &str) {
    let staged = path.with_extension("staged");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(&staged, path).unwrap();
}

/// Restores the security rules with one more rule.
fn fix_rules_with_new_rule(dir: &Path) {
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("rules")
            .join(SECURITY),
    )
    .unwrap();
    write_whole(&dir.join(SECURITY), &format!("{original}{NEW_RULE}"));
}

#[test]
fn reload_with_a_broken_rules_dir_keeps_serving_then_takes_the_fix() {
    let dir = copy_rules();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap());
    config.rules_dir = Some(dir.path().to_owned());
    let service = start_with(config, RuleSet::load_dir(dir.path()).unwrap());
    let probe = json!({"description": "zorglub on the VM"});
    let before = service.post_json("/v1/classify", &probe).json;
    let hash = service.get("/v1/rules").json["hash"].clone();

    let line = break_rules(dir.path());
    match service.server.rules().reload() {
        ReloadOutcome::Failed { errors, serving } => {
            let message = errors.to_string();
            let at = format!("security.toml:{line}:");
            assert!(message.contains(&at), "want {at} in: {message}");
            assert_eq!(serde_json::to_value(&serving.hash).unwrap(), hash);
        }
        other => panic!("expected a failed reload, got {other:?}"),
    }
    // Still serving the old rules, and saying the last reload failed.
    assert_eq!(service.post_json("/v1/classify", &probe).json, before);
    let rules = service.get("/v1/rules").json;
    assert_eq!(rules["hash"], hash);
    assert_eq!(rules["generation"], 1);
    let error = rules["last_reload_error"]
        .as_str()
        .expect("reload error shown");
    assert!(error.contains(&format!("security.toml:{line}:")), "{error}");

    fix_rules_with_new_rule(dir.path());
    match service.server.rules().reload() {
        ReloadOutcome::Reloaded { previous, current } => {
            assert_ne!(previous.hash, current.hash);
            assert_eq!(current.generation, 2);
        }
        other => panic!("expected a reload, got {other:?}"),
    }
    let after = service.post_json("/v1/classify", &probe).json;
    assert_eq!(after["rules"], json!(["security.reload-probe"]));
    assert_eq!(after["reason"], "The reload probe fired.");
    let rules = service.get("/v1/rules").json;
    assert_ne!(rules["hash"], hash);
    assert_eq!(rules["generation"], 2);
    assert_eq!(rules["last_reload_error"], Value::Null);

    // The same files again: nothing to swap.
    assert!(matches!(
        service.server.rules().reload(),
        ReloadOutcome::Unchanged(_)
    ));
}

#[test]
fn requests_during_reloads_never_fail() {
    let dir = copy_rules();
    let mut config = Config::new("127.0.0.1:0".parse().unwrap());
    config.rules_dir = Some(dir.path().to_owned());
    let service = start_with(config, RuleSet::load_dir(dir.path()).unwrap());
    let url = service.url("/v1/classify");
    let load = std::thread::spawn(move || {
        let agent = agent();
        let body = json!({"subject": TOMCAT_SUBJECT, "description": TOMCAT}).to_string();
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut answered = 0;
        while Instant::now() < deadline {
            let mut r = agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.as_bytes())
                .expect("request");
            assert_eq!(r.status().as_u16(), 200);
            let v: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
            assert_eq!(v["label"], "in-scope");
            answered += 1;
        }
        answered
    });
    let mut reloads = 0;
    while !load.is_finished() {
        if reloads % 2 == 0 {
            fix_rules_with_new_rule(dir.path());
        } else {
            break_rules(dir.path());
        }
        service.server.rules().reload();
        reloads += 1;
    }
    let answered = load.join().expect("no failed request");
    assert!(
        answered > 10 && reloads > 2,
        "{answered} requests, {reloads} reloads"
    );
}

/// `triage serve` as a child process, its standard error read line by line.
struct Process {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    addr: SocketAddr,
}

impl Process {
    fn start(args: &[&str]) -> Process {
        let mut child = Command::new(env!("CARGO_BIN_EXE_triage"))
            .arg("serve")
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start triage serve");
        let stderr = child.stderr.take().unwrap();
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = Process {
            child,
            lines,
            seen: Vec::new(),
            addr: "0.0.0.0:0".parse().unwrap(),
        };
        let line = process.expect_line("listening on http://");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        process.addr = addr;
        process
    }

    /// Waits for the next line of standard error that contains `needle`.
    fn expect_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => break,
            }
        }
        panic!(
            "no line with {needle:?}; standard error so far: {:#?}",
            self.seen
        );
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    fn get(&self, path: &str) -> Value {
        let mut r = agent()
            .get(format!("http://{}{path}", self.addr))
            .call()
            .expect("request");
        assert_eq!(r.status().as_u16(), 200);
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    }

    fn classify(&self, description: &str) -> Value {
        let mut r = agent()
            .post(format!("http://{}/v1/classify", self.addr))
            .header("Content-Type", "application/json")
            .send(json!({ "description": description }).to_string().as_bytes())
            .expect("request");
        assert_eq!(r.status().as_u16(), 200);
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    }

    /// SIGTERM, then the exit status.
    fn terminate(mut self) -> i32 {
        self.signal("TERM");
        self.expect_line("shutting down");
        let status = self.child.wait().expect("wait");
        status.code().unwrap_or(-1)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(unix)]
#[test]
fn sighup_reload_logs_the_error_with_file_and_line_and_keeps_serving() {
    let dir = copy_rules();
    let dir_arg = dir.path().to_str().unwrap();
    let mut serve = Process::start(&["--rules", dir_arg]);
    let hash = serve.get("/v1/rules")["hash"].clone();

    let line = break_rules(dir.path());
    serve.signal("HUP");
    let log = serve.expect_line("SIGHUP");
    assert!(log.contains("reload of") && log.contains("failed"), "{log}");
    assert!(log.contains(&format!("security.toml:{line}:")), "{log}");
    assert!(
        log.contains(&format!("still serving hash {}", hash.as_str().unwrap())),
        "{log}"
    );
    assert_eq!(serve.get("/healthz")["status"], "ok");
    assert_eq!(serve.get("/v1/rules")["hash"], hash);

    fix_rules_with_new_rule(dir.path());
    serve.signal("HUP");
    let log = serve.expect_line("SIGHUP");
    assert!(log.contains("reloaded"), "{log}");
    assert_eq!(
        serve.classify("zorglub")["rules"],
        json!(["security.reload-probe"])
    );
    assert_eq!(serve.terminate(), 0);
}

#[cfg(unix)]
#[test]
fn sighup_with_embedded_rules_says_there_is_nothing_to_reload() {
    let mut serve = Process::start(&[]);
    serve.signal("HUP");
    let log = serve.expect_line("SIGHUP");
    assert!(log.contains("nothing to reload"), "{log}");
    assert_eq!(serve.get("/healthz")["status"], "ok");
    assert_eq!(serve.terminate(), 0);
}

#[test]
fn watch_reloads_when_the_rules_change() {
    let dir = copy_rules();
    let dir_arg = dir.path().to_str().unwrap();
    let mut serve = Process::start(&["--rules", dir_arg, "--watch", "--watch-interval", "50"]);
    serve.expect_line("watching");
    let line = break_rules(dir.path());
    let log = serve.expect_line("rules changed");
    assert!(log.contains(&format!("security.toml:{line}:")), "{log}");
    assert_eq!(serve.get("/healthz")["status"], "ok");
    fix_rules_with_new_rule(dir.path());
    let log = serve.expect_line("rules changed");
    assert!(log.contains("reloaded"), "{log}");
    assert_eq!(
        serve.classify("zorglub")["rules"],
        json!(["security.reload-probe"])
    );
}

#[test]
fn serve_usage_errors_exit_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["serve", "--watch"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rules"));

    // An address already taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["serve", "--addr", &addr])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );

    // A rules directory that does not load: nothing starts.
    let dir = copy_rules();
    let line = break_rules(dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_triage"))
        .args(["serve", "--addr", "127.0.0.1:0", "--rules"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("security.toml:{line}:")),
        "{stderr}"
    );
}

#[test]
fn concurrent_batches_all_answer() {
    let service = start();
    let url = service.url("/v1/classify/batch");
    let batch = Value::Array(vec![json!({"description": "nginx returns 502"}); 200]).to_string();
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let (url, batch) = (url.clone(), batch.clone());
            std::thread::spawn(move || {
                let mut r = agent()
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .send(batch.as_bytes())
                    .expect("request");
                let v: Value =
                    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                (r.status().as_u16(), v.as_array().map_or(0, Vec::len))
            })
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), (200, 200));
    }
}

#[cfg(unix)]
#[test]
fn a_stalled_client_does_not_hold_the_shutdown() {
    use std::io::{Read, Write};
    let mut serve = Process::start(&[]);
    let mut stalled = std::net::TcpStream::connect(serve.addr).unwrap();
    // `Expect: 100-continue` makes the server say when the handler starts reading the body: only
    // then is the request surely in flight (a connection whose request was not read yet is idle,
    // and a graceful shutdown rightly closes it at once).
    stalled
        .write_all(
            b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut interim = [0u8; 25];
    stalled.read_exact(&mut interim).unwrap();
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue"),
        "{:?}",
        String::from_utf8_lossy(&interim)
    );
    stalled.write_all(b"{\"descr").unwrap();
    assert_eq!(serve.get("/healthz")["status"], "ok");
    let started = Instant::now();
    serve.signal("TERM");
    serve.expect_line("shutting down");
    serve.expect_line("stopped waiting for open connections");
    let status = serve.child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() < triage::serve::SHUTDOWN_GRACE + Duration::from_secs(5));
    drop(stalled);
}

mod any_body {
    use super::*;
    use proptest::prelude::*;

    /// One service for every case (proptest runs many).
    fn service() -> &'static Service {
        static SERVICE: std::sync::OnceLock<Service> = std::sync::OnceLock::new();
        SERVICE.get_or_init(start)
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("subject".to_owned()),
                        Just("description".to_owned()),
                        any::<String>()
                    ],
                    inner,
                    0..3
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn bytes_get_an_answer(body in prop::collection::vec(any::<u8>(), 0..512)) {
            for path in ["/v1/classify", "/v1/classify/batch"] {
                let answer = service().post(path, Some("application/json"), &body);
                prop_assert!([200, 400, 422].contains(&answer.status), "{}", answer.json);
            }
        }

        #[test]
        fn json_gets_a_verdict_or_a_422(body in json_value()) {
            let single = service().post_json("/v1/classify", &body);
            let batch = service().post_json("/v1/classify/batch", &Value::Array(vec![body.clone()]));
            for answer in [&single, &batch] {
                prop_assert!([200, 422].contains(&answer.status), "{body}: {}", answer.json);
            }
            prop_assert_eq!(single.status, batch.status);
        }

        #[test]
        fn any_text_is_classified(subject in any::<String>(), description in any::<String>()) {
            let answer = service().post_json(
                "/v1/classify",
                &json!({"subject": subject, "description": description}),
            );
            prop_assert_eq!(answer.status, 200);
            static RULES: std::sync::OnceLock<RuleSet> = std::sync::OnceLock::new();
            let rules = RULES.get_or_init(|| RuleSet::embedded().unwrap());
            prop_assert_eq!(answer.json, expected_report(rules, &subject, &description));
        }
    }
}

#[test]
fn explain_adds_the_rules_an_exclusion_stopped() {
    let service = start();
    let rules = RuleSet::embedded().unwrap();
    let text = "How should we configure the Tomcat HTTPS connector? Since yesterday Tomcat fails to start.";
    let answer = service.post_json("/v1/classify?explain=true", &json!({ "description": text }));
    assert_eq!(answer.status, 200, "{}", answer.json);
    let expected = rules.explain(&triage::Ticket::new("", text));
    assert_eq!(
        answer.json,
        serde_json::to_value(expected.report(&rules, &triage::Ticket::new("", text))).unwrap()
    );
    assert!(!answer.json["vetoed"].as_array().unwrap().is_empty());
    // Without the parameter (or with explain=false) the verdict has no `vetoed` key.
    let plain = service.post_json(
        "/v1/classify?explain=false",
        &json!({ "description": text }),
    );
    assert_eq!(plain.json, expected_report(&rules, "", text));
    assert!(plain.json.get("vetoed").is_none());
    // A misspelt parameter is an error, not silently ignored.
    let typo = service.post_json("/v1/classify?explian=true", &json!({ "description": text }));
    assert_eq!(typo.status, 400, "{}", typo.json);
    assert!(typo.json["error"].as_str().unwrap().contains("explian"));
}
