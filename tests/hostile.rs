//! Hostile targets: loops, out-of-scope redirects, silence, endless bodies,
//! garbage. Each must end as a defined verdict within its deadline, and
//! nothing outside the scope may receive a single request.

mod support;

use std::time::{Duration, Instant};

use support::hostile::{Behaviour, start};
use support::{run, stderr, write_profile};

/// A profile whose base URL is HTTPS on `tls_port` and whose plain-HTTP twin is `http_port`.
fn profile(tls_port: u16, http_port: u16, extra: &str) -> String {
    format!(
        r#"[target]
name = "hostile"
base_url = "https://127.0.0.1:{tls_port}/"
scope = ["127.0.0.1:{tls_port}", "127.0.0.1:{http_port}"]
timeout = "1s"
check_timeout = "20s"
max_body_bytes = 65536
{extra}
[checks.https]
base_http_url = "http://127.0.0.1:{http_port}/"
legacy_tls_probe = false
"#
    )
}

/// Audits and returns (exit code, finding codes, elapsed).
fn audit(profile_text: &str) -> (Option<i32>, Vec<String>, Duration, serde_json::Value) {
    let (dir, path) = write_profile(profile_text);
    let json = dir.path().join("out.json");
    let started = Instant::now();
    let o = run(&[
        "audit",
        "--profile",
        path.to_str().unwrap(),
        "--format",
        &format!("json={}", json.display()),
    ]);
    let elapsed = started.elapsed();
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    let card: serde_json::Value = serde_json::from_str(&text).unwrap();
    let codes = card["checks"][0]["subjects"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    (o.status.code(), codes, elapsed, card)
}

fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn redirect_loop_is_reported_as_a_loop() {
    let http = start(Behaviour::RedirectLoop);
    let (code, codes, elapsed, _) = audit(&profile(closed_port(), http.port, ""));
    assert!(
        codes.contains(&"https.redirect-loop".to_string()),
        "{codes:?}"
    );
    assert!(codes.contains(&"https.no-https".to_string()), "{codes:?}");
    assert_eq!(code, Some(1));
    assert!(elapsed < Duration::from_secs(15));
    assert!(
        http.hits() <= 6,
        "loop following must be bounded: {}",
        http.hits()
    );
}

#[test]
fn redirect_out_of_scope_is_reported_and_never_fetched() {
    let outside = start(Behaviour::Fixed(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".into(),
    ));
    for location in [
        format!("http://127.0.0.1:{}/steal", outside.port),
        format!("//127.0.0.1:{}/", outside.port),
        format!("https://127.0.0.1:{}/", outside.port),
        format!("http://localhost:{}/", outside.port),
    ] {
        let http = start(Behaviour::RedirectTo(location.clone()));
        let (_code, codes, _elapsed, card) = audit(&profile(closed_port(), http.port, ""));
        assert!(
            codes.contains(&"https.redirect-out-of-scope".to_string()),
            "{location}: {codes:?}"
        );
        assert!(card["run"]["requests_refused"].as_u64().unwrap() >= 1);
    }
    assert_eq!(
        outside.hits(),
        0,
        "the out-of-scope server must receive nothing"
    );
}

#[test]
fn silent_server_times_out_into_a_verdict() {
    let silent = start(Behaviour::Silent);
    let silent_tls = start(Behaviour::Silent);
    let (code, codes, elapsed, card) = audit(&profile(silent_tls.port, silent.port, ""));
    assert!(codes.contains(&"https.no-https".to_string()), "{codes:?}");
    assert!(
        codes.contains(&"https.http-unreachable".to_string()),
        "{codes:?}"
    );
    assert_eq!(code, Some(1));
    assert!(elapsed < Duration::from_secs(15), "{elapsed:?}");
    let evidence = card.to_string();
    assert!(
        evidence.contains("no answer within 1000 ms") || evidence.contains("timed out"),
        "{evidence}"
    );
}

#[test]
fn endless_body_is_capped() {
    let endless = start(Behaviour::EndlessBody);
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("j.jsonl");
    let (profile_dir, path) = write_profile(&profile(closed_port(), endless.port, ""));
    let started = Instant::now();
    let o = run(&[
        "audit",
        "--profile",
        path.to_str().unwrap(),
        "--journal",
        journal.to_str().unwrap(),
        "--format",
        &format!("json={}", profile_dir.path().join("o.json").display()),
    ]);
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let j = std::fs::read_to_string(&journal).unwrap();
    let entry = j
        .lines()
        .find(|l| l.contains(&format!(":{}/", endless.port)))
        .expect("journaled");
    let v: serde_json::Value = serde_json::from_str(entry).unwrap();
    assert_eq!(v["truncated"], true, "{entry}");
    assert_eq!(v["bytes"], 65536);
}

#[test]
fn garbage_and_malformed_responses_end_as_verdicts() {
    let garbage = start(Behaviour::Garbage);
    let (code, codes, elapsed, _) = audit(&profile(garbage.port, garbage.port, ""));
    assert!(
        codes.contains(&"https.tls-handshake-failed".to_string()),
        "{codes:?}"
    );
    assert!(
        codes.contains(&"https.http-unreachable".to_string()),
        "{codes:?}"
    );
    assert_eq!(code, Some(1));
    assert!(elapsed < Duration::from_secs(15));

    let bad_location = start(Behaviour::Fixed(
        "HTTP/1.1 301 Moved\r\nLocation: http://[::1\r\nContent-Length: 0\r\n\r\n".into(),
    ));
    let (_, codes, _, _) = audit(&profile(closed_port(), bad_location.port, ""));
    assert!(
        codes.contains(&"https.redirect-bad-location".to_string()),
        "{codes:?}"
    );

    let no_colon = start(Behaviour::Fixed(
        "HTTP/1.1 200 OK\r\nthis header has no colon\r\n\r\n".into(),
    ));
    let (_, codes, _, _) = audit(&profile(closed_port(), no_colon.port, ""));
    assert!(
        codes.contains(&"https.http-unreachable".to_string()),
        "{codes:?}"
    );
}

#[test]
fn budget_caps_requests_and_says_so() {
    let http = start(Behaviour::RedirectLoop);
    let text = profile(closed_port(), http.port, "max_requests = 3");
    let (_code, _codes, _elapsed, card) = audit(&text);
    let https = &card["checks"][0];
    assert_eq!(https["verdict"], "error", "{https}");
    assert!(
        https["subjects"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("max_requests")
    );
    assert_eq!(http.hits(), 0);
}
