//! What a new user hit on a first try, each pinned both ways: a work-tree
//! scan from a relative profile path, the run's own reports in the scanned
//! folder, the closed model measuring the rate cap instead of the server, an
//! open-model rate the cap cannot carry, and a scheme-relative endpoint path.

mod support;

use std::path::Path;

use axum::Router;
use axum::routing::get;
use support::{check_row, run, run_in, serve, stderr, write_profile};

/// A Stripe-shaped live key built at run time (no literal key in this file).
fn live_key() -> String {
    let tail: String = (0..28)
        .map(|i| {
            let alphabet = b"aB3dE5gH7jK9mN2pQ4sT6vW8yZ";
            alphabet[(i * 7 + 3) % alphabet.len()] as char
        })
        .collect();
    format!("sk_live_{tail}")
}

fn secrets_profile(dir: &Path) {
    std::fs::write(
        dir.join("readiness.toml"),
        r#"[target]
name = "local"
base_url = "http://127.0.0.1:9/"
scope = ["127.0.0.1:9"]

[checks.secrets]
history = false
"#,
    )
    .unwrap();
}

fn secrets_rows(card: &serde_json::Value) -> Vec<serde_json::Value> {
    card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "secrets")
        .map(|c| c["subjects"].as_array().unwrap().clone())
        .unwrap_or_default()
}

fn work_tree(card: &serde_json::Value) -> serde_json::Value {
    secrets_rows(card)
        .into_iter()
        .find(|r| {
            r["subject"]
                .as_str()
                .unwrap_or_default()
                .contains("work tree")
        })
        .unwrap_or_default()
}

/// Audits the secrets of `dir` with its profile named by a relative path,
/// from inside `dir`, writing `out.json` plus any `more` outputs there.
fn audit_secrets_in(dir: &Path, more: &[&str]) -> serde_json::Value {
    let _ = std::fs::remove_file(dir.join("out.json"));
    let mut args = vec![
        "audit",
        "--profile",
        "readiness.toml",
        "--only",
        "secrets",
        "--format",
        "json=out.json",
    ];
    args.extend_from_slice(more);
    let o = run_in(&args, Some(dir));
    let text =
        std::fs::read_to_string(dir.join("out.json")).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    serde_json::from_str(&text).unwrap()
}

fn old_report(dir: &Path) {
    std::fs::write(
        dir.join("report.md"),
        format!("| secrets | key `{}` |\n", live_key()),
    )
    .unwrap();
}

#[test]
fn a_relative_profile_path_scans_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    secrets_profile(dir.path());
    std::fs::write(
        dir.path().join("settings.py"),
        format!("STRIPE_KEY = \"{}\"\n", live_key()),
    )
    .unwrap();
    let card = audit_secrets_in(dir.path(), &[]);
    let tree = work_tree(&card);
    assert_eq!(tree["verdict"], "fail", "{tree}");
    assert!(!card.to_string().contains(&live_key()));

    // The clean twin: the same folder without the key passes.
    std::fs::write(
        dir.path().join("settings.py"),
        "STRIPE_KEY = os.environ[\"K\"]\n",
    )
    .unwrap();
    let tree = work_tree(&audit_secrets_in(dir.path(), &[]));
    assert_eq!(tree["verdict"], "pass", "{tree}");
}

#[test]
fn the_runs_own_reports_are_not_scanned() {
    let dir = tempfile::tempdir().unwrap();
    secrets_profile(dir.path());
    std::fs::write(dir.path().join("app.py"), "print('hello')\n").unwrap();
    // A report of an earlier run holding a key-shaped line sits where the
    // next run writes its report again.
    old_report(dir.path());
    let card = audit_secrets_in(dir.path(), &["--format", "markdown=report.md"]);
    assert_eq!(work_tree(&card)["verdict"], "pass", "{card}");

    // Written elsewhere this time, the same old report is just a file in the
    // tree, and its key is found.
    old_report(dir.path());
    let card = audit_secrets_in(dir.path(), &["--format", "markdown=other.md"]);
    assert_eq!(work_tree(&card)["verdict"], "fail", "{card}");
}

fn latency_profile(port: u16, latency: &str, max_rps: u32) -> String {
    format!(
        r#"[target]
name = "latency"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "2s"
check_timeout = "30s"
max_rps = {max_rps}
max_requests = 500

[checks.https]
enabled = false

[checks.latency]
{latency}
"#
    )
}

#[test]
fn the_closed_model_measures_the_server_not_the_rate_cap() {
    let port = serve(Router::new().route("/", get(|| async { "ok" })));
    // 8 workers behind a 15/s cap: each waits about half a second for its
    // slot, but the server answers in about a millisecond.
    let text = latency_profile(
        port,
        "endpoints = [\"/\"]\nmode = \"closed\"\nconcurrency = 8\nrequests = 30\n\
         warmup = 0\nduration = \"10s\"\np95_budget = \"200ms\"\n",
        15,
    );
    let (_dir, path) = write_profile(&text);
    let (_o, card) = support::audit_json(&path, &["--only", "latency"]);
    let subject = &check_row(&card, "latency");
    assert_eq!(subject["verdict"], "pass", "{subject}");
    let p95 = subject["measurements"]["p95_ms"].as_f64().unwrap();
    assert!(p95 < 100.0, "p95 {p95} ms counts the cap's wait");
    assert!(card["run"]["peak_rps"].as_u64().unwrap() <= 15);
}

#[test]
fn an_open_rate_the_cap_cannot_carry_is_refused() {
    let at_cap = latency_profile(1, "endpoints = [\"/\"]\nrate = 10\n", 10);
    let (_dir, path) = write_profile(&at_cap);
    let o = run(&["validate", "--profile", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("[checks.latency] rate"),
        "{}",
        stderr(&o)
    );

    let under = latency_profile(1, "endpoints = [\"/\"]\nrate = 9\n", 10);
    let (_dir, path) = write_profile(&under);
    let o = run(&["validate", "--profile", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn a_scheme_relative_endpoint_path_is_a_profile_error() {
    let base = latency_profile(1, "enabled = false", 100);
    for (path, code) in [("//127.0.0.1:9/api", 2), ("/api/items", 0)] {
        let text = format!("{base}\n[[endpoint]]\nname = \"items\"\npath = \"{path}\"\n");
        let (_dir, file) = write_profile(&text);
        let o = run(&["validate", "--profile", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(code), "{path}: {}", stderr(&o));
    }
}

const SIGNUP_AND_LOGIN: &str = r#"
[checks.https]
enabled = false

[[endpoint]]
name = "signup"
method = "POST"
path = "/signup"
auth = "public"
kind = "signup"
body = { email = "a@b.test", password = "x" }

[[endpoint]]
name = "login"
method = "POST"
path = "/login"
auth = "public"
kind = "login"
body = { email = "a@b.test", password = "x" }
"#;

fn planned_writes(allow_writes: bool) -> (u64, u64) {
    let text = format!(
        "[target]\nname = \"dr\"\nbase_url = \"http://127.0.0.1:9/\"\nscope = [\"127.0.0.1:9\"]\n\
         allow_writes = {allow_writes}\n\n[checks.auth]\nallow_writes = {allow_writes}\n\
         {SIGNUP_AND_LOGIN}"
    );
    let (_dir, path) = write_profile(&text);
    let o = run(&[
        "audit",
        "--profile",
        path.to_str().unwrap(),
        "--dry-run",
        "--only",
        "auth,rate_limit",
        "--format",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("a JSON plan");
    let steps: Vec<&serde_json::Value> = plan["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["steps"].as_array().unwrap())
        .filter(|s| s["subject"] == "signup")
        .collect();
    let requests = steps.iter().map(|s| s["requests"].as_u64().unwrap()).sum();
    let writes = steps.iter().filter(|s| s["writes"] == true).count() as u64;
    (requests, writes)
}

#[test]
fn the_plan_reserves_nothing_for_writes_that_will_not_be_sent() {
    assert_eq!(planned_writes(false), (0, 0));
    let (requests, writes) = planned_writes(true);
    assert!(
        requests > 0 && writes == 2,
        "{requests} requests, {writes} write steps"
    );
}
