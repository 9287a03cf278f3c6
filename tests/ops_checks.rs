//! The operational checks driven through the real binary: `watch` against
//! its own demo and a webhook receiver on 127.0.0.1 (alert on failure, alert
//! on recovery), the `edge` origin-bypass probe both ways, and the hygiene
//! rows of the demo (the SPA catch-all passes, the leaking origin fails,
//! the leaked credential never reaches any output).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use support::hostile::{Behaviour, start};
use support::{background_runtime, bin, run, stderr, stdout, write_profile};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A webhook receiver on 127.0.0.1 that keeps every posted body.
fn receiver() -> (u16, Arc<Mutex<Vec<String>>>) {
    let rt = background_runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let store = bodies.clone();
    rt.spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                continue;
            };
            let store = store.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let n = match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    let Some(end) = text.find("\r\n\r\n") else {
                        continue;
                    };
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())
                                .flatten()
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]);
                        store.lock().unwrap().push(body.to_string());
                        let _ = stream
                            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                            .await;
                        return;
                    }
                }
            });
        }
    });
    (port, bodies)
}

#[test]
fn watch_alerts_on_failure_and_on_recovery() {
    let rt = background_runtime();
    let demo = rt.block_on(readiness::demo::Demo::start()).unwrap();
    let (port, bodies) = receiver();
    let text = std::fs::read_to_string(&demo.profile_path).unwrap();
    let text = text.replacen(
        "[checks.monitoring]\n",
        &format!(
            "[checks.monitoring]\nwebhook = \"http://127.0.0.1:{port}/hook\"\n\
             watch_max_requests = 50\n"
        ),
        1,
    );
    let profile = demo.dir.path().join("watch.toml");
    std::fs::write(&profile, text).unwrap();
    let journal = demo.dir.path().join("watch-journal.jsonl");

    let mut child = Command::new(bin())
        .args([
            "watch",
            "--profile",
            profile.to_str().unwrap(),
            "--every",
            "1s",
            "--cycles",
            "4",
            "--only",
            "monitoring",
            "--journal",
            journal.to_str().unwrap(),
        ])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for line in out.lines() {
        let line = line.unwrap();
        if line.starts_with("cycle 1:") {
            demo.ops.db_down.store(true, Ordering::SeqCst);
        }
        if line.starts_with("cycle 2:") {
            demo.ops.db_down.store(false, Ordering::SeqCst);
        }
        lines.push(line);
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.starts_with("cycle 4:")),
        "{lines:#?}"
    );

    let got = bodies.lock().unwrap().clone();
    assert_eq!(got.len(), 2, "one alert and one recovery: {got:#?}");
    let first: serde_json::Value = serde_json::from_str(&got[0]).unwrap();
    let second: serde_json::Value = serde_json::from_str(&got[1]).unwrap();
    let ready = format!("{}health/ready", demo.app_https);
    assert_eq!(first["event"], "failing");
    assert_eq!(first["subject"], ready.as_str());
    assert_eq!(first["findings"][0]["code"], "monitoring.health-failing");
    assert_eq!(second["event"], "recovered");
    assert_eq!(second["subject"], ready.as_str());
    for body in &got {
        assert!(
            !body.contains(&demo.access_key),
            "the access key leaked: {body}"
        );
    }
    // Webhook posts are journaled, with the webhook URL redacted.
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(journal_text.lines().count(), 2, "{journal_text}");
    assert!(journal_text.contains("\"kind\":\"webhook\""));
    assert!(
        !journal_text.contains(&format!("127.0.0.1:{port}")),
        "{journal_text}"
    );
    drop(demo);
}

#[test]
fn demo_control_switches_the_health_endpoint() {
    let rt = background_runtime();
    let demo = rt.block_on(readiness::demo::Demo::start()).unwrap();
    // The control's route contract, served here over plain HTTP; the watch
    // test above flips the same switch in-process.
    let ops = demo.ops.clone();
    let router = readiness::demo::ops::app_router(axum::Router::new(), ops.clone());
    let listener = rt
        .block_on(readiness::demo::serve::serve(router, None))
        .unwrap();
    let post = |query: &str| {
        let q = query.to_string();
        let port = listener.addr.port();
        rt.block_on(async move {
            let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let req = format!(
                "POST /_demo/control?{q} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n"
            );
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        })
    };
    assert!(post("health=failing").starts_with("HTTP/1.1 200"));
    assert!(ops.db_down.load(Ordering::SeqCst));
    assert!(post("health=ok").starts_with("HTTP/1.1 200"));
    assert!(!ops.db_down.load(Ordering::SeqCst));
    assert!(post("nonsense").starts_with("HTTP/1.1 400"));
}

fn edge_profile(site: u16, origin: u16, origin_in_scope: bool) -> String {
    let extra_scope = if origin_in_scope {
        format!(", \"127.0.0.1:{origin}\"")
    } else {
        String::new()
    };
    format!(
        "[target]\nname = \"edge\"\nbase_url = \"http://127.0.0.1:{site}/\"\n\
         scope = [\"127.0.0.1:{site}\"{extra_scope}]\ntimeout = \"2s\"\n\
         [checks.edge]\nexpect_cdn = true\norigin_url = \"http://127.0.0.1:{origin}/\"\n"
    )
}

fn edge_codes(profile: &str) -> (Vec<String>, serde_json::Value) {
    let (dir, path) = write_profile(profile);
    let json = dir.path().join("out.json");
    let o = run(&[
        "audit",
        "--profile",
        path.to_str().unwrap(),
        "--only",
        "edge",
        "--format",
        &format!("json={}", json.display()),
    ]);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    let card: serde_json::Value = serde_json::from_str(&text).unwrap();
    let codes = card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subjects"].as_array().unwrap().iter())
        .flat_map(|s| s["findings"].as_array().unwrap().iter())
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    (codes, card)
}

const CDN_SITE: &str = "HTTP/1.1 200 OK\r\ncf-ray: 8a1b2c-AMS\r\nContent-Length: 2\r\n\r\nok";

#[test]
fn edge_flags_an_origin_that_serves_the_site_directly() {
    let site = start(Behaviour::Fixed(CDN_SITE.into()));
    let origin = start(Behaviour::Fixed(
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nsite".into(),
    ));
    let (codes, card) = edge_codes(&edge_profile(site.port, origin.port, true));
    assert_eq!(codes, vec!["edge.origin-exposed".to_string()], "{card}");
}

#[test]
fn edge_passes_an_origin_that_refuses_direct_requests() {
    let site = start(Behaviour::Fixed(CDN_SITE.into()));
    let origin = start(Behaviour::Fixed(
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n".into(),
    ));
    let (codes, card) = edge_codes(&edge_profile(site.port, origin.port, true));
    assert!(codes.is_empty(), "{codes:?} {card}");
    assert_eq!(card["checks"][0]["verdict"], "pass");
}

#[test]
fn edge_never_probes_an_origin_outside_the_scope() {
    let site = start(Behaviour::Fixed(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".into(),
    ));
    let origin = start(Behaviour::Fixed(
        "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nsite".into(),
    ));
    let (codes, _card) = edge_codes(&edge_profile(site.port, origin.port, false));
    assert_eq!(codes, vec!["edge.no-cdn", "edge.origin-not-probed"]);
    assert_eq!(
        origin.hits(),
        0,
        "the out-of-scope origin must receive nothing"
    );
}

#[test]
fn demo_hygiene_passes_the_catch_all_and_fails_the_leaks_without_printing_them() {
    let rt = background_runtime();
    let demo = rt.block_on(readiness::demo::Demo::start()).unwrap();
    let secret = demo.ops.leaked_secret();
    assert!(secret.len() > 16);
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("o.json");
    let journal = dir.path().join("j.jsonl");
    let o = run(&[
        "audit",
        "--profile",
        demo.profile_path.to_str().unwrap(),
        "--only",
        "hygiene",
        "--format",
        &format!("json={}", json.display()),
        "--format",
        "markdown",
        "--journal",
        journal.to_str().unwrap(),
        "-vv",
    ]);
    let card: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rows = card["checks"][0]["subjects"].as_array().unwrap();
    let verdict = |prefix: &str| {
        rows.iter()
            .find(|r| prefix.starts_with(r["subject"].as_str().unwrap()))
            .map(|r| r["verdict"].as_str().unwrap().to_string())
    };
    assert_eq!(verdict(&demo.app_https).as_deref(), Some("pass"), "{card}");
    assert_eq!(
        verdict(&demo.legacy_https).as_deref(),
        Some("fail"),
        "{card}"
    );
    let env_text = std::fs::read_to_string(demo.dir.path().join("env/production.env")).unwrap();
    let stripe = env_text
        .lines()
        .find_map(|l| l.strip_prefix("export STRIPE_SECRET_KEY="))
        .unwrap()
        .to_string();
    for text in [
        stdout(&o),
        stderr(&o),
        std::fs::read_to_string(&json).unwrap(),
        std::fs::read_to_string(&journal).unwrap(),
    ] {
        assert!(
            !text.contains(&secret),
            "the leaked .env value reached an output"
        );
        assert!(
            !text.contains(&stripe),
            "an env-file value reached an output"
        );
    }
    drop(demo);
}
