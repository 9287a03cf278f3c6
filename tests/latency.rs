//! The `latency` check against servers started here: a server that freezes
//! for a known interval (the open model must count the stalled requests
//! from their scheduled send time), a fast one that passes, and hostile ones
//! (hangs, resets, 5xx to everything) that must end with a defined verdict
//! within the check's deadline.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::hostile::{Behaviour, start};
use support::{audit_json, check_row, run, serve, stderr, write_profile};

fn profile(port: u16, latency: &str) -> String {
    format!(
        r#"[target]
name = "latency"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "1s"
check_timeout = "20s"
max_rps = 1000
max_requests = 5000

[checks.https]
enabled = false

[checks.latency]
{latency}
"#
    )
}

/// Audits with only the latency check; returns (exit code, the latency row, elapsed).
fn audit(text: &str) -> (Option<i32>, serde_json::Value, Duration) {
    let (_dir, path) = write_profile(text);
    let started = Instant::now();
    let (o, card) = audit_json(&path, &["--only", "latency"]);
    let elapsed = started.elapsed();
    (o.status.code(), check_row(&card, "latency"), elapsed)
}

fn codes(row: &serde_json::Value) -> Vec<String> {
    row["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

/// Requests arriving between 300 ms and 1300 ms after the first one wait
/// until 1300 ms: a one-second stall at a known time.
fn freezing_router() -> axum::Router {
    let first: Arc<std::sync::Mutex<Option<Instant>>> = Arc::default();
    axum::Router::new().route(
        "/stall",
        axum::routing::get(move || {
            let first = first.clone();
            async move {
                let t0 = *first.lock().unwrap().get_or_insert_with(Instant::now);
                let since = t0.elapsed();
                let (from, to) = (Duration::from_millis(300), Duration::from_millis(1300));
                if since >= from && since < to {
                    tokio::time::sleep_until((t0 + to).into()).await;
                }
                "ok"
            }
        }),
    )
}

#[test]
fn open_model_counts_a_stall_from_the_scheduled_send_time() {
    let port = serve(freezing_router());
    // 50/s for 2 s with at most 2 in flight: during the stall the load
    // generator cannot send, and those requests are still due.
    let text = profile(
        port,
        "endpoints = [\"/stall\"]\nrate = 50\nduration = \"2s\"\nconcurrency = 2\nwarmup = 0\n",
    )
    .replace("timeout = \"1s\"", "timeout = \"3s\"");
    let (code, row, _) = audit(&text);
    let m = &row["measurements"];
    let p95 = m["p95_ms"].as_f64().unwrap();
    let service_p95 = m["service_time"]["p95_ms"].as_f64().unwrap();
    eprintln!("corrected p95 {p95} ms, uncorrected p95 {service_p95} ms");
    assert!(p95 >= 700.0, "the stall must show in the p95: {m}");
    assert!(service_p95 < 300.0, "the uncorrected view hides it: {m}");
    assert_eq!(m["samples"], 100, "{m}");
    assert!(codes(&row).contains(&"latency.p95-over-budget".to_string()));
    assert_eq!(row["verdict"], "fail");
    assert_eq!(code, Some(0), "medium failures stay under --fail-on high");
}

#[test]
fn fast_endpoint_passes_with_its_distribution() {
    let port = serve(axum::Router::new().route("/fast", axum::routing::get(|| async { "ok" })));
    let (_, row, _) = audit(&profile(
        port,
        "endpoints = [\"/fast\"]\nrate = 100\nduration = \"1s\"\n",
    ));
    assert_eq!(row["verdict"], "pass", "{row}");
    let m = &row["measurements"];
    assert_eq!(m["samples"], 100);
    assert_eq!(m["distribution"]["samples"], 100);
    assert!(m["histogram"].as_str().unwrap().contains('['));
    assert!(row["reason"].as_str().unwrap().starts_with("p95 "));
}

#[test]
fn closed_model_merges_worker_histograms() {
    let port = serve(axum::Router::new().route("/fast", axum::routing::get(|| async { "ok" })));
    let (_, row, _) = audit(&profile(
        port,
        "endpoints = [\"/fast\"]\nmode = \"closed\"\nconcurrency = 4\nrequests = 120\n\
         duration = \"5s\"\n",
    ));
    assert_eq!(row["verdict"], "pass", "{row}");
    assert_eq!(row["measurements"]["samples"], 120);
}

/// B37: every request fails, so there are no samples: the gate must not pass.
#[test]
fn b37_no_samples_never_passes_when_everything_is_5xx() {
    let h = start(Behaviour::Fixed(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
    ));
    let (_, row, elapsed) = audit(&profile(
        h.port,
        "endpoints = [\"/\"]\nrate = 20\nduration = \"1s\"\nwarmup = 1\n",
    ));
    assert_eq!(row["verdict"], "fail", "{row}");
    assert_eq!(codes(&row), vec!["latency.no-samples".to_string()]);
    assert!(elapsed < Duration::from_secs(20));
}

#[test]
fn hanging_server_ends_as_no_samples_within_the_deadline() {
    let h = start(Behaviour::Silent);
    let (_, row, elapsed) = audit(&profile(
        h.port,
        "endpoints = [\"/\"]\nrate = 10\nduration = \"1s\"\nwarmup = 0\n",
    ));
    assert_eq!(row["verdict"], "fail", "{row}");
    assert_eq!(codes(&row), vec!["latency.no-samples".to_string()]);
    assert!(elapsed < Duration::from_secs(20), "{elapsed:?}");
}

#[test]
fn resetting_server_ends_as_no_samples() {
    let h = start(Behaviour::Garbage);
    let (_, row, elapsed) = audit(&profile(
        h.port,
        "endpoints = [\"/\"]\nrate = 10\nduration = \"1s\"\nwarmup = 0\n",
    ));
    assert_eq!(row["verdict"], "fail", "{row}");
    assert!(codes(&row).contains(&"latency.no-samples".to_string()));
    assert!(elapsed < Duration::from_secs(20));
}

#[test]
fn rate_above_max_rps_is_a_profile_error() {
    let text = profile(1, "endpoints = [\"/\"]\nrate = 5000\n");
    let (_dir, path) = write_profile(&text);
    let o = run(&["validate", "--profile", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("max_rps"), "{}", stderr(&o));
}
