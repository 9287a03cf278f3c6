//! The demo's injected delays: `/api/reports/export` is slow (600 ms) for
//! the last 3 of every 50 requests of a client and fast (10 ms) otherwise,
//! its twin `/api/reports/summary` the same at 150 ms. Three latency audits
//! run side by side against one demo (two with their own client key, one
//! without), and each must see the exact pattern: of its 100 measured
//! requests per endpoint, exactly 6 slow, so the p95 is the slow value.

mod support;

use support::{demo, run, stderr};

/// (all measured latencies in ms with their counts) of one latency subject.
fn values(row: &serde_json::Value) -> Vec<(f64, u64)> {
    row["measurements"]["distribution"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v[0].as_f64().unwrap(), v[1].as_u64().unwrap()))
        .collect()
}

fn latency_rows(profile: &std::path::Path) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let o = run(&[
        "audit",
        "--profile",
        profile.to_str().unwrap(),
        "--only",
        "latency",
        "--format",
        &format!("json={}", json.display()),
    ]);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    let card: serde_json::Value = serde_json::from_str(&text).unwrap();
    card["checks"][0]["subjects"].as_array().unwrap().clone()
}

fn assert_exact(row: &serde_json::Value, slow_ms: f64) {
    let m = &row["measurements"];
    assert_eq!(m["samples"], 100, "{row}");
    let vals = values(row);
    let slow: u64 = vals
        .iter()
        .filter(|(ms, _)| *ms >= slow_ms - 1.0)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(slow, 6, "exactly 3 in every 50 slow: {vals:?}");
    assert!(
        vals.iter()
            .filter(|(ms, _)| *ms < slow_ms - 1.0)
            .all(|(ms, _)| *ms < slow_ms / 2.0),
        "the fast ones are fast: {vals:?}"
    );
    // Nearest rank: the 95th of 100 sorted samples is the first slow one.
    let p95 = m["p95_ms"].as_f64().unwrap();
    assert!(p95 >= slow_ms && p95 < slow_ms + 100.0, "p95 {p95}: {row}");
    let p50 = m["p50_ms"].as_f64().unwrap();
    assert!(p50 >= 10.0 && p50 < slow_ms / 2.0, "p50 {p50}: {row}");
}

#[test]
fn side_by_side_audits_each_see_the_exact_delay_pattern() {
    let d = demo();
    let profiles = [
        readiness::demo::active::client_profile(&d.profile, "delays-a").unwrap(),
        readiness::demo::active::client_profile(&d.profile, "delays-b").unwrap(),
        d.profile.clone(),
    ];
    let handles: Vec<_> = profiles
        .into_iter()
        .map(|p| std::thread::spawn(move || latency_rows(&p)))
        .collect();
    for h in handles {
        let rows = h.join().unwrap();
        let row = |s: &str| rows.iter().find(|r| r["subject"] == s).unwrap().clone();
        let export = row("/api/reports/export");
        assert_exact(&export, 600.0);
        assert_eq!(export["verdict"], "fail");
        assert_eq!(
            export["findings"][0]["code"], "latency.p95-over-budget",
            "{export}"
        );
        let summary = row("/api/reports/summary");
        assert_exact(&summary, 150.0);
        assert_eq!(summary["verdict"], "pass", "{summary}");
    }
}
