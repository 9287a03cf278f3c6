//! The `rate_limit` check against servers started here: a limiter keyed on
//! X-Forwarded-For and the raw username (both bypasses flagged), the demo's
//! flawed login and correct reset (see demo_audit), and hostile servers that
//! must end with a defined verdict within the deadline.

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
