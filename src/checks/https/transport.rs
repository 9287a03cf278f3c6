//! TLS of an HTTPS origin: does it speak TLS 1.2+, refuse TLS 1.0/1.1, and
//! present a chain that verifies for the host with enough time left?

use serde_json::{Map, Value};

use crate::engine::Context;
use crate::net::{NetError, TlsInfo};
use crate::profile::HttpsOrigin;
use crate::report::model::{Finding, Outcome, Severity};

/// What the TLS part found.
#[derive(Debug, Default)]
pub struct TlsPart {
    pub serves_https: bool,
    pub findings: Vec<Finding>,
    pub measurements: Map<String, Value>,
    pub info: Option<TlsInfo>,
}

pub async fn audit(ctx: &Context, origin: &HttpsOrigin, subject: &str) -> TlsPart {
    let host = origin.url.host_str().unwrap_or_default().to_string();
    let port = origin.url.port_or_known_default().unwrap_or(443);
    let mut part = TlsPart::default();

    let info = match ctx.net.tls_probe(&host, port).await {
        Ok(info) => info,
        Err(e) => {
            part.findings.push(no_https(subject, &host, port, &e));
            return part;
        }
    };
    part.serves_https = true;
    part.measurements
        .insert("tls_version".into(), Value::String(info.version.clone()));
    part.measurements
        .insert("tls_cipher".into(), Value::String(info.cipher.clone()));
    if let Err(reason) = &info.verification {
        part.findings.push(certificate_rejected(subject, reason));
    }
    part.info = Some(info);
    part
}

fn no_https(subject: &str, host: &str, port: u16, e: &NetError) -> Finding {
    let (code, title, fix) = match e {
        NetError::Tls(_) => (
            "https.tls-handshake-failed",
            "the HTTPS port does not complete a TLS 1.2 or 1.3 handshake",
            "serve TLS 1.2 and 1.3 with a certificate for this host; disable SSLv3, TLS 1.0 and 1.1",
        ),
        _ => (
            "https.no-https",
            "the site serves no HTTPS",
            "serve the site over HTTPS on port 443 with a certificate for this host",
        ),
    };
    Finding::new(code, Severity::Critical, Outcome::Fail, subject, title)
        .at(format!("{host}:{port}"))
        .evidence(format!("TLS to {host}:{port}: {e}"))
        .fix(fix)
}

fn certificate_rejected(subject: &str, reason: &str) -> Finding {
    let (code, fix) = if reason.contains("does not cover") {
        (
            "https.cert-name-mismatch",
            "issue a certificate whose subjectAltName lists this exact host name",
        )
    } else if reason.contains("expired") {
        (
            "https.cert-expired",
            "renew the certificate now and automate renewal (ACME)",
        )
    } else if reason.contains("trusted root") {
        (
            "https.cert-untrusted",
            "serve the full chain (leaf plus intermediates) from a publicly trusted CA",
        )
    } else {
        (
            "https.cert-invalid",
            "replace the certificate with a valid one for this host",
        )
    };
    Finding::new(
        code,
        Severity::Critical,
        Outcome::Fail,
        subject,
        "browsers reject the certificate",
    )
    .evidence(reason.to_string())
    .fix(fix)
}
