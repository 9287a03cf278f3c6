//! The `input` check outside the demo: write opt-ins, the seed (repeatable
//! order, reported in the run figures), and hostile endpoints (hangs,
//! resets, 5xx to everything) that must end with a defined verdict in time.

mod support;

use std::time::{Duration, Instant};

use support::hostile::{Behaviour, start};
use support::{run, serve, stderr, write_profile};

fn profile(port: u16, target_extra: &str, input: &str) -> String {
    format!(
        r#"[target]
name = "input"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "1s"
check_timeout = "30s"
max_rps = 1000
{target_extra}

[checks.https]
enabled = false

[checks.input]
{input}

[[endpoint]]
name = "signup"
method = "POST"
path = "/signup"
auth = "public"
kind = "signup"
onboarding = true
body = {{ email = "a@corp.test", name = "A" }}
fields = {{ email = "email", name = "name" }}

[[endpoint]]
name = "lookup"
path = "/orgs/{{name}}"
auth = "public"
kind = "lookup"
params = {{ name = "acme" }}
"#
    )
}

fn audit(text: &str, extra: &[&str]) -> (serde_json::Value, Duration, String) {
    let (dir, path) = write_profile(text);
    let json = dir.path().join("out.json");
    let journal = dir.path().join("journal.jsonl");
    let started = Instant::now();
    let mut args = vec![
        "audit".to_string(),
        "--profile".into(),
        path.to_str().unwrap().into(),
        "--only".into(),
        "input".into(),
        "--format".into(),
        format!("json={}", json.display()),
        "--journal".into(),
        journal.to_str().unwrap().into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    let journal = std::fs::read_to_string(&journal).unwrap_or_default();
    (
        serde_json::from_str(&text).unwrap(),
        started.elapsed(),
        journal,
    )
}

fn rows(card: &serde_json::Value) -> Vec<serde_json::Value> {
    card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "input")
        .unwrap()["subjects"]
        .as_array()
        .unwrap()
        .clone()
}

fn tolerant_app() -> axum::Router {
    axum::Router::new()
        .route(
            "/signup",
            axum::routing::post(|| async { (axum::http::StatusCode::CREATED, "{\"id\":7}") }),
        )
        .route("/orgs/{name}", axum::routing::get(|| async { "{}" }))
}

#[test]
fn writing_endpoints_need_both_opt_ins() {
    let port = serve(tolerant_app());
    let (card, _, journal) = audit(&profile(port, "", "allow_writes = true\nseed = 1"), &[]);
    let rows = rows(&card);
    let signup = rows.iter().find(|r| r["subject"] == "signup").unwrap();
    assert_eq!(signup["verdict"], "skip", "{signup}");
    assert!(signup["reason"].as_str().unwrap().contains("allow_writes"));
    assert!(!journal.contains("\"POST\""), "no write may be sent");
    let lookup = rows.iter().find(|r| r["subject"] == "lookup").unwrap();
    assert_eq!(lookup["verdict"], "pass", "{lookup}");
}

#[test]
fn accepted_invalid_values_are_found_and_created_objects_listed() {
    let port = serve(tolerant_app());
    let (card, _, _) = audit(
        &profile(port, "allow_writes = true", "allow_writes = true\nseed = 5"),
        &[],
    );
    let rows = rows(&card);
    let signup = rows.iter().find(|r| r["subject"] == "signup").unwrap();
    let codes: Vec<&str> = signup["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"input.invalid-accepted"), "{codes:?}");
    assert!(
        !codes.contains(&"input.mass-assignment"),
        "no echo, no finding"
    );
    let created = signup["measurements"]["created"].as_array().unwrap();
    assert!(!created.is_empty());
    assert_eq!(created[0]["id"], 7);
    assert_eq!(card["run"]["seed"], 5);
}

#[test]
fn the_same_seed_sends_the_same_requests_in_the_same_order() {
    let port = serve(tolerant_app());
    let text = profile(port, "", "seed = 99");
    let urls = |journal: &str| -> Vec<String> {
        journal
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["url"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let (card, _, a) = audit(&text, &[]);
    let (_, _, b) = audit(&text, &[]);
    assert_eq!(card["run"]["seed"], 99);
    assert!(urls(&a).len() > 3);
    assert_eq!(urls(&a), urls(&b));
    let (_, _, c) = audit(&profile(port, "", "seed = 100"), &[]);
    assert_ne!(urls(&a), urls(&c));
}

#[test]
fn hostile_endpoints_end_with_a_defined_verdict_in_time() {
    let five =
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    for behaviour in [
        Behaviour::Fixed(five.into()),
        Behaviour::Silent,
        Behaviour::Garbage,
    ] {
        let h = start(behaviour);
        let (card, elapsed, _) = audit(&profile(h.port, "", "seed = 3"), &[]);
        for row in rows(&card) {
            let v = row["verdict"].as_str().unwrap();
            assert!(v == "error" || v == "skip", "{row}");
        }
        assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    }
}
