//! The load lane of the `latency` check against servers started here: a load
//! keeps the client's safety rules (plan, rate cap, profile headers only over
//! HTTPS, the check's deadline) and works over HTTPS with a generated CA and
//! with an identity that logs in.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use readiness::demo::pki::TestCa;
use readiness::demo::serve;
use support::{audit_json, background_runtime, check_row, serve, write_profile};

const SECRET: &str = "lane-gate-7f3a9c1e55d2";

/// Counts requests and the ones that carried the staging header.
#[derive(Clone, Default)]
struct Seen {
    requests: Arc<AtomicUsize>,
    with_header: Arc<AtomicUsize>,
    logins: Arc<AtomicUsize>,
}

fn router(seen: Seen) -> Router {
    let s1 = seen.clone();
    let s2 = seen.clone();
    let s3 = seen;
    Router::new()
        .route(
            "/fast",
            get(move |headers: HeaderMap| {
                let seen = s1.clone();
                async move {
                    seen.requests.fetch_add(1, Ordering::SeqCst);
                    if headers.get("x-staging-key").is_some() {
                        seen.with_header.fetch_add(1, Ordering::SeqCst);
                    }
                    "ok"
                }
            }),
        )
        .route(
            "/login",
            post(move || {
                let seen = s2.clone();
                async move {
                    seen.logins.fetch_add(1, Ordering::SeqCst);
                    axum::Json(serde_json::json!({ "token": "lane-session-token-91b2" }))
                }
            }),
        )
        .route(
            "/api/me",
            get(move |headers: HeaderMap| {
                let seen = s3.clone();
                async move {
                    seen.requests.fetch_add(1, Ordering::SeqCst);
                    let ok = headers
                        .get("authorization")
                        .is_some_and(|v| v == "Bearer lane-session-token-91b2");
                    if ok {
                        (axum::http::StatusCode::OK, "{\"id\": 1}")
                    } else {
                        (axum::http::StatusCode::UNAUTHORIZED, "{}")
                    }
                }
            }),
        )
}

fn target(base: &str, scope: &str, extra: &str, latency: &str) -> String {
    format!(
        r#"[target]
name = "lane"
base_url = "{base}"
scope = ["{scope}"]
timeout = "2s"
check_timeout = "30s"
max_rps = 1000
max_requests = 2000
{extra}

[target.headers]
X-Staging-Key = "${{LANE_STAGING_KEY}}"

[checks.https]
enabled = false

[checks.latency]
{latency}
"#
    )
}

fn audit(text: &str, files: &[(&str, String)]) -> (serde_json::Value, serde_json::Value) {
    let (dir, path) = write_profile(text);
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    // SAFETY: tests in this binary that read the variable all set the same value.
    unsafe { std::env::set_var("LANE_STAGING_KEY", SECRET) };
    let (_o, card) = audit_json(&path, &["--only", "latency"]);
    (check_row(&card, "latency"), card)
}

#[test]
fn a_plain_http_load_never_carries_the_profile_headers() {
    let seen = Seen::default();
    let port = serve(router(seen.clone()));
    let text = target(
        &format!("http://127.0.0.1:{port}/"),
        &format!("127.0.0.1:{port}"),
        "",
        "endpoints = [\"/fast\"]\nmode = \"closed\"\nconcurrency = 4\nrequests = 200\n\
         warmup = 2\nduration = \"10s\"\n",
    );
    let (row, card) = audit(&text, &[]);
    assert_eq!(row["verdict"], "pass", "{row}");
    assert_eq!(row["measurements"]["samples"], 200);
    assert_eq!(seen.requests.load(Ordering::SeqCst), 202);
    assert_eq!(seen.with_header.load(Ordering::SeqCst), 0);
    assert_eq!(card["run"]["requests_sent"], 202, "{}", card["run"]);
}

#[test]
fn an_https_load_verifies_the_ca_and_carries_the_profile_headers() {
    let host = "lane.tls-test.test";
    let ca = TestCa::new("lane test CA").unwrap();
    let leaf = ca.leaf(&[host], 90).unwrap();
    let seen = Seen::default();
    let listener = background_runtime()
        .block_on(serve::serve(
            router(seen.clone()),
            Some(leaf.server_config().unwrap()),
        ))
        .unwrap();
    let port = listener.addr.port();
    let text = target(
        &format!("https://{host}:{port}/"),
        &format!("{host}:{port}"),
        &format!("ca_file = \"ca.pem\"\nresolve = {{ \"{host}\" = \"127.0.0.1\" }}"),
        "endpoints = [\"/fast\"]\nmode = \"closed\"\nconcurrency = 4\nrequests = 100\n\
         warmup = 0\nduration = \"10s\"\n",
    );
    let (row, _) = audit(&text, &[("ca.pem", ca.pem())]);
    assert_eq!(row["verdict"], "pass", "{row}");
    assert_eq!(row["measurements"]["samples"], 100);
    assert_eq!(seen.with_header.load(Ordering::SeqCst), 100);

    // Without the CA the same load must not reach the server at all.
    let before = seen.requests.load(Ordering::SeqCst);
    let untrusted = text.replace("ca_file = \"ca.pem\"\n", "");
    let (row, _) = audit(&untrusted, &[]);
    assert_eq!(row["verdict"], "fail", "{row}");
    assert_eq!(seen.requests.load(Ordering::SeqCst), before);
    drop(listener);
}

#[test]
fn a_load_keeps_under_max_rps() {
    let seen = Seen::default();
    let port = serve(router(seen.clone()));
    let text = target(
        &format!("http://127.0.0.1:{port}/"),
        &format!("127.0.0.1:{port}"),
        "",
        "endpoints = [\"/fast\"]\nmode = \"closed\"\nconcurrency = 16\nrequests = 1000\n\
         warmup = 0\nduration = \"2500ms\"\n",
    )
    .replace("max_rps = 1000", "max_rps = 60");
    let (row, card) = audit(&text, &[]);
    let sent = row["measurements"]["sent"].as_u64().unwrap();
    assert!(
        card["run"]["peak_rps"].as_u64().unwrap() <= 60,
        "{}",
        card["run"]
    );
    // About 2.5 s at 60/s (plus the slots the 16 workers had already claimed
    // when the duration ended), never the 1000 the workers asked for.
    assert!((100..=180).contains(&sent), "{sent} sent");
}

#[test]
fn a_dead_target_fails_within_a_short_check_timeout() {
    // A port nobody listens on: every connection is refused, the host backs off.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = target(
        &format!("http://127.0.0.1:{port}/"),
        &format!("127.0.0.1:{port}"),
        "",
        "endpoints = [\"/fast\"]\nrate = 20\nduration = \"20s\"\nwarmup = 0\n",
    )
    .replace("check_timeout = \"30s\"", "check_timeout = \"4s\"");
    let started = Instant::now();
    let (row, _) = audit(&text, &[]);
    assert_eq!(row["verdict"], "fail", "{row}");
    let codes: Vec<&str> = row["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["latency.no-samples"], "{row}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_endpoint_of_an_identity_that_logs_in_is_loaded_with_its_session() {
    let seen = Seen::default();
    let port = serve(router(seen.clone()));
    let mut text = target(
        &format!("http://127.0.0.1:{port}/"),
        &format!("127.0.0.1:{port}"),
        "",
        "endpoints = [\"me\"]\nmode = \"closed\"\nconcurrency = 2\nrequests = 50\n\
         warmup = 0\nduration = \"10s\"\n",
    );
    text.push_str(
        r#"
[[identity]]
name = "alice"
tenant = "acme"
role = "member"
login = { method = "POST", url = "/login", json = { email = "a@acme.test" }, token_pointer = "/token" }

[[endpoint]]
name = "me"
path = "/api/me"
owner = "alice"
"#,
    );
    let (row, card) = audit(&text, &[]);
    assert_eq!(row["verdict"], "pass", "{row}");
    assert_eq!(row["measurements"]["samples"], 50);
    assert_eq!(row["measurements"]["errors"], 0);
    assert_eq!(seen.logins.load(Ordering::SeqCst), 1);
    assert!(!card.to_string().contains("lane-session-token-91b2"));
}
