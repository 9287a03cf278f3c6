//! The `rate_limit` check against servers started here: a limiter keyed on
//! X-Forwarded-For and the raw username (both bypasses flagged), the demo's
//! flawed login and correct reset (see demo_audit), and hostile servers that
//! must end with a defined verdict within the deadline; an endpoint behind
//! a throwaway identity's login (one login shared with `input`, an error
//! naming the identity when it fails, a skip for a shared identity).

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use support::hostile::{Behaviour, start};
use support::{audit_json, check_row, run, serve, stderr, write_profile};

fn profile(port: u16, section: &str, extra: &str) -> String {
    format!(
        r#"[target]
name = "rate"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "1s"
check_timeout = "20s"
max_rps = 1000

[checks.https]
enabled = false

[checks.rate_limit]
{section}

[[endpoint]]
name = "login"
method = "POST"
path = "/login"
auth = "public"
kind = "login"
body = {{ email = "someone@corp.test", password = "x" }}
{extra}
"#
    )
}

fn audit(text: &str) -> (serde_json::Value, Duration) {
    let (_dir, path) = write_profile(text);
    let started = Instant::now();
    let (_o, card) = audit_json(&path, &["--only", "rate_limit"]);
    (check_row(&card, "rate_limit"), started.elapsed())
}

fn codes(row: &serde_json::Value) -> Vec<String> {
    let mut c: Vec<String> = row["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    c.sort();
    c
}

/// Limits 3 attempts per (X-Forwarded-For, username as typed).
fn naive_limiter() -> axum::Router {
    let counts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    axum::Router::new().route(
        "/login",
        axum::routing::post(
            move |headers: HeaderMap, axum::Json(body): axum::Json<serde_json::Value>| {
                let counts = counts.clone();
                async move {
                    let ip = headers
                        .get("x-forwarded-for")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("direct")
                        .to_string();
                    let key = format!("{ip}|{}", body["email"].as_str().unwrap_or(""));
                    let mut counts = counts.lock().unwrap();
                    let n = counts.entry(key).or_insert(0);
                    *n += 1;
                    if *n > 3 {
                        (StatusCode::TOO_MANY_REQUESTS, "slow down")
                    } else {
                        (StatusCode::UNAUTHORIZED, "invalid credentials")
                    }
                }
            },
        ),
    )
}

#[test]
fn limiter_keyed_on_forwarded_for_and_raw_case_is_bypassed() {
    let port = serve(naive_limiter());
    let (row, _) = audit(&profile(port, "rate = 50\nbypass_probe = true", ""));
    assert_eq!(row["measurements"]["throttled_at"], 4, "{row}");
    assert_eq!(
        codes(&row),
        vec![
            "rate_limit.bypass-forwarded-for".to_string(),
            "rate_limit.bypass-username-case".to_string()
        ],
        "{row}"
    );
    assert_eq!(row["verdict"], "fail");
}

#[test]
fn limiter_without_the_probe_passes_and_reports_the_attempt() {
    let port = serve(naive_limiter());
    let (row, _) = audit(&profile(port, "rate = 50", ""));
    assert_eq!(row["verdict"], "pass", "{row}");
    assert_eq!(row["measurements"]["throttled_at"], 4);
    assert!(row["reason"].as_str().unwrap().contains("no Retry-After"));
}

#[test]
fn throttling_after_the_configured_count_fails() {
    let port = serve(naive_limiter());
    let (row, _) = audit(&profile(port, "rate = 50\nattempts = 3", ""));
    assert_eq!(codes(&row), vec!["rate_limit.not-throttled".to_string()]);
}

#[test]
fn server_answering_5xx_to_everything_is_an_error_not_a_pass() {
    let h = start(Behaviour::Fixed(
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .into(),
    ));
    let (row, elapsed) = audit(&profile(h.port, "rate = 50\nattempts = 10", ""));
    assert_eq!(row["verdict"], "error", "{row}");
    assert!(elapsed < Duration::from_secs(20));
}

#[test]
fn hanging_and_resetting_servers_end_as_errors_within_the_deadline() {
    for behaviour in [Behaviour::Silent, Behaviour::Garbage] {
        let h = start(behaviour);
        let (row, elapsed) = audit(&profile(h.port, "rate = 50\nattempts = 5", ""));
        assert_eq!(row["verdict"], "error", "{row}");
        assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
    }
}

#[test]
fn shared_identity_account_is_refused() {
    let text = profile(
        1,
        "account = \"alice@corp.test\"",
        "\n[[identity]]\nname = \"alice\"\nlogin = { url = \"/login\", json = { email = \
         \"alice@corp.test\" }, cookie = \"sid\" }\n",
    );
    let (_dir, path) = write_profile(&text);
    let o = run(&["validate", "--profile", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not marked throwaway"),
        "{}",
        stderr(&o)
    );
}

/// Tokens issued by `POST /login`, and protected requests that came without one.
#[derive(Default)]
struct Sessions {
    issued: Mutex<Vec<String>>,
    unauthorised: Mutex<u32>,
    /// Wrong codes per session token.
    attempts: Mutex<HashMap<String, u32>>,
}

/// `POST /login` (password "right-pass-4321") issues a token; `POST /otp`
/// needs it and throttles after 5 wrong codes per session; `GET /orgs/acme`
/// needs it too (an input lookup, to share the login with another check).
fn session_app(sessions: Arc<Sessions>) -> axum::Router {
    let login = sessions.clone();
    let orgs = sessions.clone();
    let token_of = |headers: &HeaderMap, s: &Sessions| -> Option<String> {
        let sent = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let known = s.issued.lock().unwrap().iter().any(|t| t == sent);
        if !known {
            *s.unauthorised.lock().unwrap() += 1;
        }
        known.then(|| sent.to_string())
    };
    axum::Router::new()
        .route(
            "/login",
            axum::routing::post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let s = login.clone();
                async move {
                    if body["password"] != "right-pass-4321" {
                        return (StatusCode::UNAUTHORIZED, "{}".to_string());
                    }
                    let token = format!("tok-{:024x}", rand::random::<u128>());
                    s.issued.lock().unwrap().push(token.clone());
                    (StatusCode::OK, format!("{{\"token\":\"{token}\"}}"))
                }
            }),
        )
        .route(
            "/otp",
            axum::routing::post(move |headers: HeaderMap| {
                let s = sessions.clone();
                async move {
                    let Some(token) = token_of(&headers, &s) else {
                        return (StatusCode::UNAUTHORIZED, "log in first");
                    };
                    let mut attempts = s.attempts.lock().unwrap();
                    let n = attempts.entry(token).or_insert(0);
                    *n += 1;
                    if *n > 5 {
                        (StatusCode::TOO_MANY_REQUESTS, "too many codes")
                    } else {
                        (StatusCode::UNAUTHORIZED, "wrong code")
                    }
                }
            }),
        )
        .route(
            "/orgs/acme",
            axum::routing::get(move |headers: HeaderMap| {
                let s = orgs.clone();
                async move {
                    match token_of(&headers, &s) {
                        Some(_) => (StatusCode::OK, "{\"name\":\"acme\"}"),
                        None => (StatusCode::UNAUTHORIZED, "{}"),
                    }
                }
            }),
        )
}

/// The OTP check writes nothing, but as a POST it needs the write opt-in.
fn session_profile(port: u16, password: &str, throwaway: bool) -> String {
    let text = profile(
        port,
        "endpoints = [\"otp\"]\nattempts = 10\nrate = 50",
        &format!(
            r#"
[[identity]]
name = "tess"
throwaway = {throwaway}
[identity.login]
url = "/login"
json = {{ email = "tess@corp.test", password = "{password}" }}
token_pointer = "/token"

[[endpoint]]
name = "otp"
method = "POST"
path = "/otp"
owner = "tess"
body = {{ email = "tess@corp.test", code = "000000" }}
fields = {{ email = "email" }}

[[endpoint]]
name = "org"
path = "/orgs/acme"
owner = "tess"
kind = "lookup"
"#
        ),
    );
    text.replace("max_rps = 1000", "max_rps = 1000\nallow_writes = true")
}

/// Audits `checks`; returns the card, the journal and the rate_limit row of `otp`.
fn audit_sessions(text: &str, checks: &str) -> (serde_json::Value, String, serde_json::Value) {
    let (dir, path) = write_profile(text);
    let journal = dir.path().join("journal.jsonl");
    let (_o, card) = audit_json(
        &path,
        &["--only", checks, "--journal", journal.to_str().unwrap()],
    );
    let journal = std::fs::read_to_string(&journal).unwrap_or_default();
    let row = card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "rate_limit")
        .and_then(|c| {
            c["subjects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["subject"] == "otp")
                .cloned()
        })
        .unwrap_or_else(|| panic!("no otp row: {card}"));
    (card, journal, row)
}

fn sent_to(journal: &str, path: &str) -> usize {
    journal
        .lines()
        .filter(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["url"].as_str().unwrap().ends_with(path)
        })
        .count()
}

#[test]
fn a_session_endpoint_is_probed_with_one_login_shared_with_input() {
    let sessions = Arc::new(Sessions::default());
    let port = serve(session_app(sessions.clone()));
    let text = session_profile(port, "right-pass-4321", true);
    let (card, journal, row) = audit_sessions(&text, "rate_limit,input");
    assert_eq!(row["verdict"], "pass", "{row}");
    assert_eq!(row["measurements"]["throttled_at"], 6, "{row}");
    assert_eq!(sent_to(&journal, "/login"), 1, "one login for both checks");
    assert_eq!(
        sent_to(&journal, "/orgs/acme"),
        1,
        "input used the session too"
    );
    assert_eq!(*sessions.unauthorised.lock().unwrap(), 0);
    assert_eq!(card["run"]["requests_refused"], 0, "{}", card["run"]);
    let token = sessions.issued.lock().unwrap()[0].clone();
    assert!(!journal.contains(&token) && !card.to_string().contains(&token));
}

#[test]
fn a_failed_session_login_is_an_error_naming_the_identity() {
    let sessions = Arc::new(Sessions::default());
    let port = serve(session_app(sessions.clone()));
    let text = session_profile(port, "wrong-pass-0000", true);
    let (_card, journal, row) = audit_sessions(&text, "rate_limit");
    assert_eq!(row["verdict"], "error", "{row}");
    assert!(
        row["reason"].as_str().unwrap().contains("identity `tess`"),
        "{row}"
    );
    assert_eq!(sent_to(&journal, "/otp"), 0);
}

#[test]
fn a_session_of_a_shared_identity_is_not_hammered() {
    let sessions = Arc::new(Sessions::default());
    let port = serve(session_app(sessions.clone()));
    let text = session_profile(port, "right-pass-4321", false);
    let (_card, journal, row) = audit_sessions(&text, "rate_limit");
    assert_eq!(row["verdict"], "skip", "{row}");
    assert!(
        row["reason"]
            .as_str()
            .unwrap()
            .contains("not marked throwaway"),
        "{row}"
    );
    assert!(journal.is_empty(), "{journal}");
}
