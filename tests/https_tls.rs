//! The `https` check against real TLS servers on 127.0.0.1 with certificates
//! from a generated CA: each certificate flaw fails, its correct twin passes.

mod support;

#[path = "support/legacy_tls.rs"]
#[allow(dead_code)]
mod legacy_support;

use axum::Router;
use axum::routing::get;
use readiness::demo::pki::{Leaf, TestCa};
use readiness::demo::serve::{self, Listener};
use support::hostile::{Behaviour, start};
use support::{background_runtime, run, stderr, write_profile};

const HOST: &str = "site.tls-test.test";

fn hardened() -> Router {
    Router::new().route(
        "/",
        get(|| async {
            (
                [
                    ("strict-transport-security", "max-age=31536000; includeSubDomains"),
                    ("content-security-policy", "default-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"),
                    ("x-content-type-options", "nosniff"),
                    ("referrer-policy", "no-referrer"),
                    ("content-type", "text/html"),
                ],
                "<html><body>ok</body></html>",
            )
        }),
    )
}

fn serve_tls(leaf: &Leaf) -> Listener {
    let config = leaf.server_config().unwrap();
    background_runtime()
        .block_on(serve::serve(hardened(), Some(config)))
        .unwrap()
}

/// Audits `https://HOST:port/` with the CA trusted (or not) and returns the finding codes.
fn audit(port: u16, ca: Option<&TestCa>) -> (Option<i32>, Vec<String>, serde_json::Value) {
    let ca_line = if ca.is_some() {
        "ca_file = \"ca.pem\""
    } else {
        ""
    };
    let text = format!(
        r#"[target]
name = "tls"
base_url = "https://{HOST}:{port}/"
scope = ["{HOST}:{port}"]
resolve = {{ "{HOST}" = "127.0.0.1" }}
timeout = "2s"
{ca_line}
"#
    );
    let (dir, path) = write_profile(&text);
    if let Some(ca) = ca {
        std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    }
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
    let codes = card["checks"][0]["subjects"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    (o.status.code(), codes, card)
}

fn has(codes: &[String], code: &str) -> bool {
    codes.iter().any(|c| c == code)
}

#[test]
fn good_certificate_passes_the_tls_part() {
    let ca = TestCa::new("test CA").unwrap();
    let server = serve_tls(&ca.leaf(&[HOST], 200).unwrap());
    let (_code, codes, card) = audit(server.addr.port(), Some(&ca));
    // Only the plain-HTTP twin is unknown (non-default port): an info note.
    assert_eq!(codes, vec!["https.http-not-probed"], "{card:#}");
    assert_eq!(card["checks"][0]["subjects"][0]["verdict"], "pass");
    let m = &card["checks"][0]["subjects"][0]["measurements"];
    assert_eq!(m["cert_names"][0], HOST);
    assert!(m["tls_version"].as_str().unwrap().starts_with("TLS 1."));
}

#[test]
fn untrusted_chain_is_critical() {
    let ca = TestCa::new("test CA").unwrap();
    let server = serve_tls(&ca.leaf(&[HOST], 200).unwrap());
    let (code, codes, _) = audit(server.addr.port(), None);
    assert!(has(&codes, "https.cert-untrusted"), "{codes:?}");
    assert_eq!(code, Some(1));
}

#[test]
fn wrong_name_and_wildcard_apex_are_mismatches() {
    let ca = TestCa::new("test CA").unwrap();
    // B31: *.tls-test.test covers neither tls-test.test nor a.b.tls-test.test; here the host
    // is site.tls-test.test, so a certificate for another name must fail.
    let server = serve_tls(&ca.leaf(&["other.tls-test.test"], 200).unwrap());
    let (_, codes, _) = audit(server.addr.port(), Some(&ca));
    assert!(has(&codes, "https.cert-name-mismatch"), "{codes:?}");
    // The correct twin: a wildcard one label deep does cover it.
    let server = serve_tls(&ca.leaf(&["*.tls-test.test"], 200).unwrap());
    let (_, codes, _) = audit(server.addr.port(), Some(&ca));
    assert!(!has(&codes, "https.cert-name-mismatch"), "{codes:?}");
}

#[test]
fn expired_and_expiring_certificates() {
    let ca = TestCa::new("test CA").unwrap();
    let expired = serve_tls(&ca.leaf(&[HOST], -2).unwrap());
    let (_, codes, _) = audit(expired.addr.port(), Some(&ca));
    assert!(has(&codes, "https.cert-expired"), "{codes:?}");

    let soon = serve_tls(&ca.leaf(&[HOST], 3).unwrap());
    let (code, _, card) = audit(soon.addr.port(), Some(&ca));
    let f = &card["checks"][0]["subjects"][0]["findings"];
    let expiring = f
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "https.cert-expiring")
        .expect("expiring");
    assert_eq!(expiring["severity"], "high");
    assert_eq!(expiring["outcome"], "fail");
    assert_eq!(code, Some(1));

    let later = serve_tls(&ca.leaf(&[HOST], 25).unwrap());
    let (code, _, card) = audit(later.addr.port(), Some(&ca));
    let f = &card["checks"][0]["subjects"][0]["findings"];
    let expiring = f
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "https.cert-expiring")
        .expect("expiring");
    assert_eq!(expiring["outcome"], "warn");
    assert_eq!(code, Some(0), "a warning does not fail the build");
}

#[test]
fn a_server_that_only_speaks_tls_1_0_is_caught_by_the_raw_probe() {
    let server = start(Behaviour::Raw(legacy_support::server_hello(0x0301)));
    let (code, codes, card) = audit(server.port, None);
    assert!(has(&codes, "https.tls-handshake-failed"), "{codes:?}");
    assert!(
        has(&codes, "https.tls-legacy-accepted"),
        "{codes:?} {card:#}"
    );
    assert_eq!(code, Some(1));
}

#[test]
fn hardened_rustls_server_refuses_legacy_versions() {
    let ca = TestCa::new("test CA").unwrap();
    let server = serve_tls(&ca.leaf(&[HOST], 200).unwrap());
    let (_, codes, card) = audit(server.addr.port(), Some(&ca));
    assert!(!has(&codes, "https.tls-legacy-accepted"));
    let m = &card["checks"][0]["subjects"][0]["measurements"];
    assert!(m["tls_1_0"].as_str().unwrap().contains("refused"), "{m}");
}
