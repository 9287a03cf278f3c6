//! Redirect chains of the plain-HTTP upgrade against real servers on
//! 127.0.0.1, including pitfall B33 (relative and scheme-relative Location).

mod support;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use readiness::demo::pki::TestCa;
use readiness::demo::serve;
use support::{background_runtime, run, stderr, write_profile};

/// A plain-HTTP server answering by Host and path from a table of (host, path, status, location).
fn plain(routes: Vec<(&'static str, &'static str, u16, String)>) -> serve::Listener {
    let router = Router::new().fallback(move |req: Request| {
        let routes = routes.clone();
        async move {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("")
                .split(':')
                .next()
                .unwrap_or("")
                .to_string();
            let path = req.uri().path().to_string();
            for (h, p, status, location) in &routes {
                if *h == host && *p == path {
                    let status = StatusCode::from_u16(*status).unwrap();
                    return (status, [(header::LOCATION, location.clone())], "").into_response();
                }
            }
            (StatusCode::OK, "plain page").into_response()
        }
    });
    background_runtime()
        .block_on(serve::serve(router, None))
        .unwrap()
}

fn tls_site(ca: &TestCa, names: &[&str]) -> serve::Listener {
    let leaf = ca.leaf(names, 200).unwrap();
    let router = Router::new().fallback(|| async {
        (
            [(
                "strict-transport-security",
                "max-age=31536000; includeSubDomains",
            )],
            "secure page",
        )
    });
    background_runtime()
        .block_on(serve::serve(router, Some(leaf.server_config().unwrap())))
        .unwrap()
}

fn audit(
    ca: &TestCa,
    tls_port: u16,
    http_port: u16,
    base_host: &str,
) -> Vec<(String, String, String)> {
    let text = format!(
        r#"[target]
name = "redirects"
base_url = "https://{base_host}:{tls_port}/"
scope = ["example.test:{tls_port}", "www.example.test:{tls_port}", "example.test:{http_port}", "www.example.test:{http_port}"]
resolve = {{ "example.test" = "127.0.0.1", "www.example.test" = "127.0.0.1" }}
ca_file = "ca.pem"
timeout = "2s"
[checks.https]
base_http_url = "http://{base_host}:{http_port}/"
legacy_tls_probe = false
"#
    );
    let (dir, path) = write_profile(&text);
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let json = dir.path().join("o.json");
    let o = run(&[
        "audit",
        "--profile",
        path.to_str().unwrap(),
        "--format",
        &format!("json={}", json.display()),
    ]);
    let card: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("{}", stderr(&o))),
    )
    .unwrap();
    let subject = &card["checks"][0]["subjects"][0];
    let mut out: Vec<(String, String, String)> = subject["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| {
            f["code"].as_str().unwrap().contains("redirect")
                || f["code"].as_str().unwrap().contains("http-")
        })
        .map(|f| {
            (
                f["code"].as_str().unwrap().into(),
                f["outcome"].as_str().unwrap().into(),
                f["evidence"].as_str().unwrap().into(),
            )
        })
        .collect();
    out.push((
        "chain".into(),
        String::new(),
        subject["measurements"]["http_chain"]
            .as_str()
            .unwrap_or("")
            .into(),
    ));
    out
}

#[test]
fn b33_relative_location_is_resolved_and_followed() {
    let ca = TestCa::new("ca").unwrap();
    let tls = tls_site(&ca, &["example.test", "www.example.test"]);
    let tls_port = tls.addr.port();
    let http = plain(vec![
        ("example.test", "/", 301, "/en/".to_string()),
        (
            "example.test",
            "/en/",
            301,
            format!("https://example.test:{tls_port}/en/"),
        ),
    ]);
    let findings = audit(&ca, tls_port, http.addr.port(), "example.test");
    let codes: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
    // Upgrade present after one same-scheme hop: no failure, no long-chain warning (2 hops).
    assert!(!codes.contains(&"https.http-no-redirect"), "{findings:?}");
    assert!(
        !codes.contains(&"https.redirect-chain-long"),
        "{findings:?}"
    );
    let chain = &findings.last().unwrap().2;
    assert!(
        chain.contains(&format!("http://example.test:{}/en/", http.addr.port())),
        "{chain}"
    );
    assert!(chain.contains("https://example.test:"), "{chain}");
}

#[test]
fn b33_scheme_relative_location_keeps_http_and_changes_host() {
    let ca = TestCa::new("ca").unwrap();
    let tls = tls_site(&ca, &["example.test", "www.example.test"]);
    let tls_port = tls.addr.port();
    // Bind first to learn the port, then describe routes that mention it.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let http_port = probe.local_addr().unwrap().port();
    drop(probe);
    let http = plain_on(
        http_port,
        vec![
            (
                "example.test",
                "/",
                301,
                format!("//www.example.test:{http_port}/"),
            ),
            (
                "www.example.test",
                "/",
                301,
                format!("https://www.example.test:{tls_port}/"),
            ),
        ],
    );
    let findings = audit(&ca, tls_port, http, "example.test");
    let codes: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
    assert!(
        codes.contains(&"https.redirect-host-before-upgrade"),
        "{findings:?}"
    );
    assert!(!codes.contains(&"https.http-no-redirect"), "{findings:?}");
    let chain = &findings.last().unwrap().2;
    assert!(
        chain.contains(&format!("http://www.example.test:{http_port}/")),
        "{chain}"
    );
}

#[test]
fn temporary_and_long_chains_warn_and_plain_content_fails() {
    let ca = TestCa::new("ca").unwrap();
    let tls = tls_site(&ca, &["example.test", "www.example.test"]);
    let tls_port = tls.addr.port();
    let http = plain(vec![
        ("example.test", "/", 302, "/a".to_string()),
        ("example.test", "/a", 302, "/b".to_string()),
        (
            "example.test",
            "/b",
            302,
            format!("https://example.test:{tls_port}/"),
        ),
    ]);
    let findings = audit(&ca, tls_port, http.addr.port(), "example.test");
    let codes: Vec<&str> = findings.iter().map(|f| f.0.as_str()).collect();
    assert!(codes.contains(&"https.redirect-temporary"), "{findings:?}");
    assert!(codes.contains(&"https.redirect-chain-long"), "{findings:?}");

    let http = plain(vec![]);
    let findings = audit(&ca, tls_port, http.addr.port(), "example.test");
    let f = findings
        .iter()
        .find(|f| f.0 == "https.http-no-redirect")
        .expect("no redirect");
    assert_eq!(f.1, "fail");
}

/// Serves the table on a chosen port (for routes that must name their own port).
fn plain_on(port: u16, routes: Vec<(&'static str, &'static str, u16, String)>) -> u16 {
    let listener = plain(routes);
    // Forward the chosen port to the listener with a tiny TCP relay, so the table can name it.
    let target = listener.addr;
    let rt = background_runtime();
    let relay = rt
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
        .unwrap();
    rt.spawn(async move {
        let _keep = listener;
        loop {
            let Ok((mut inbound, _)) = relay.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    port
}
