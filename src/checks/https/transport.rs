//! TLS of an HTTPS origin: does it speak TLS 1.2+, refuse TLS 1.0/1.1, and
//! present a chain that verifies for the host with enough time left? When
//! the handshake fails, one plain-HTTP request to the same port tells a
//! port that serves no TLS at all (a common slip: an `http://` base URL, or
//! the app's own port) from a broken or legacy TLS server.

use serde_json::{Map, Value};

use super::names::{KeyKind, SanName, cert_covers, leaf_summary};
use crate::engine::Context;
use crate::net::legacy_tls::{self, LegacyVersion};
use crate::net::{HttpRequest, NetError, TlsInfo};
use crate::profile::{HttpsOrigin, HttpsSettings};
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

    let settings = &ctx.profile.https;
    let info = match ctx.net.tls_probe(&host, port).await {
        Ok(info) => info,
        Err(e) => {
            if matches!(e, NetError::Tls(_))
                && let Some(finding) = plain_http(ctx, origin, subject, &host, port, &e).await
            {
                part.findings.push(finding);
                part.measurements
                    .insert("plain_http_port".into(), Value::Bool(true));
                return part;
            }
            part.findings.push(no_https(subject, &host, port, &e));
            // Something answered but not with TLS 1.2+: maybe only a legacy version.
            if matches!(e, NetError::Tls(_)) && settings.legacy_tls_probe {
                for version in [LegacyVersion::Tls10, LegacyVersion::Tls11] {
                    probe_legacy(ctx, &host, port, version, subject, &mut part).await;
                }
            }
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
    judge_chain(&info, &host, settings, subject, unix_now(), &mut part);
    if settings.legacy_tls_probe {
        for version in [LegacyVersion::Tls10, LegacyVersion::Tls11] {
            probe_legacy(ctx, &host, port, version, subject, &mut part).await;
        }
    }
    part.info = Some(info);
    part
}

/// Every code the TLS part can emit.
pub const CODES: &[&str] = &[
    "https.no-https",
    "https.tls-handshake-failed",
    "https.cert-name-mismatch",
    "https.cert-expired",
    "https.cert-untrusted",
    "https.cert-invalid",
    "https.cert-expiring",
    "https.intermediate-expiring",
    "https.cert-weak-key",
    "https.tls-legacy-accepted",
];

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Judges the chain's lifetimes, key strength and name coverage.
pub fn judge_chain(
    info: &TlsInfo,
    host: &str,
    settings: &HttpsSettings,
    subject: &str,
    now: i64,
    part: &mut TlsPart,
) {
    let rejected = info
        .verification
        .as_ref()
        .err()
        .cloned()
        .unwrap_or_default();
    for (position, der) in info.chain.iter().enumerate() {
        let Ok(cert) = leaf_summary(der) else {
            continue;
        };
        if cert.is_ca && cert.self_issued && position > 0 {
            // A root sent along with the chain: its lifetime is the trust store's business.
            continue;
        }
        let days_left = (cert.not_after - now).div_euclid(86_400);
        let leaf = position == 0;
        if leaf {
            part.measurements
                .insert("cert_days_left".into(), Value::from(days_left));
            part.measurements
                .insert("cert_issuer".into(), Value::String(cert.issuer.clone()));
            part.measurements
                .insert("cert_key".into(), Value::String(describe_key(&cert.key)));
            let names: Vec<String> = cert.sans.iter().map(san_text).collect();
            part.measurements
                .insert("cert_names".into(), Value::from(names.clone()));
            if !rejected.contains("does not cover") && !cert_covers(&cert.sans, host) {
                part.findings.push(
                    Finding::new(
                        "https.cert-name-mismatch",
                        Severity::Critical,
                        Outcome::Fail,
                        subject,
                        format!("the certificate does not cover `{host}`"),
                    )
                    .evidence(format!("subjectAltName: {}", names.join(", ")))
                    .fix("issue a certificate whose subjectAltName lists this exact host name"),
                );
            }
            if let Some(weak) = weak_key(&cert.key) {
                part.findings.push(
                    Finding::new(
                        "https.cert-weak-key",
                        Severity::High,
                        Outcome::Fail,
                        subject,
                        format!("the certificate key is too weak ({weak})"),
                    )
                    .evidence(describe_key(&cert.key))
                    .fix("reissue with RSA 2048+ or ECDSA P-256+"),
                );
            }
        }
        let what = if leaf {
            "certificate"
        } else {
            "intermediate certificate"
        };
        let code = if leaf {
            "https.cert-expiring"
        } else {
            "https.intermediate-expiring"
        };
        let until = time::OffsetDateTime::from_unix_timestamp(cert.not_after)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_else(|| cert.not_after.to_string());
        let evidence = format!(
            "{what} `{}` valid until {until} ({days_left} days left)",
            cert.subject
        );
        if days_left < 0 {
            if !rejected.contains("expired") {
                part.findings.push(
                    Finding::new(
                        "https.cert-expired",
                        Severity::Critical,
                        Outcome::Fail,
                        subject,
                        format!("the {what} has expired"),
                    )
                    .evidence(evidence)
                    .fix("renew it now and automate renewal (ACME)"),
                );
            }
        } else if days_left < settings.cert_fail_days {
            part.findings.push(
                Finding::new(
                    code,
                    Severity::High,
                    Outcome::Fail,
                    subject,
                    format!("the {what} expires in {days_left} days"),
                )
                .evidence(evidence)
                .fix("renew it now and automate renewal (ACME)"),
            );
        } else if days_left < settings.cert_warn_days {
            part.findings.push(
                Finding::new(
                    code,
                    Severity::Medium,
                    Outcome::Warn,
                    subject,
                    format!("the {what} expires in {days_left} days"),
                )
                .evidence(evidence)
                .fix("renew it before launch and make sure renewal is automated"),
            );
        }
    }
}

fn weak_key(key: &KeyKind) -> Option<String> {
    match key {
        KeyKind::Rsa { bits } if *bits < 2048 => Some(format!("RSA {bits} bits, below 2048")),
        KeyKind::Ec {
            bits: Some(bits),
            curve,
        } if *bits < 256 => Some(format!("{curve}, {bits} bits")),
        _ => None,
    }
}

fn describe_key(key: &KeyKind) -> String {
    match key {
        KeyKind::Rsa { bits } => format!("RSA {bits}"),
        KeyKind::Ec { curve, .. } => format!("EC {curve}"),
        KeyKind::Ed25519 => "Ed25519".into(),
        KeyKind::Ed448 => "Ed448".into(),
        KeyKind::Other { oid } => format!("key algorithm {oid}"),
    }
}

fn san_text(name: &SanName) -> String {
    match name {
        SanName::Dns(d) => d.clone(),
        SanName::Ip(ip) => ip.to_string(),
    }
}

async fn probe_legacy(
    ctx: &Context,
    host: &str,
    port: u16,
    version: LegacyVersion,
    subject: &str,
    part: &mut TlsPart,
) {
    let key = match version {
        LegacyVersion::Tls10 => "tls_1_0",
        LegacyVersion::Tls11 => "tls_1_1",
    };
    let stream = match ctx
        .net
        .connect_tcp(host, port, &format!("{version} probe"))
        .await
    {
        Ok(s) => s,
        Err(e) => {
            part.measurements
                .insert(key.into(), Value::String(format!("not probed: {e}")));
            return;
        }
    };
    let reply = legacy_tls::probe(stream, version, host, ctx.net.timeout()).await;
    let described = reply.describe(version);
    part.measurements
        .insert(key.into(), Value::String(described.clone()));
    if reply.accepts_legacy() {
        part.findings.push(
            Finding::new(
                "https.tls-legacy-accepted",
                Severity::High,
                Outcome::Fail,
                subject,
                format!("the server still accepts {version}"),
            )
            .evidence(described)
            .fix("disable TLS 1.0 and 1.1 (and SSL); allow only TLS 1.2 and 1.3"),
        );
    }
}

fn no_https(subject: &str, host: &str, port: u16, e: &NetError) -> Finding {
    let (code, title, fix) = match e {
        NetError::Tls(_) => (
            "https.tls-handshake-failed",
            "the HTTPS port does not complete a TLS 1.2 or 1.3 handshake",
            "serve TLS 1.2 and 1.3 with a certificate for this host; disable SSLv3, TLS 1.0 \
             and 1.1",
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

/// After a failed handshake: does the port answer a plain-HTTP request? If
/// so the server has no TLS there (rustls saw `HTTP/...` where a TLS record
/// should be, "corrupt message"), which is a missing HTTPS, not an old one.
async fn plain_http(
    ctx: &Context,
    origin: &HttpsOrigin,
    subject: &str,
    host: &str,
    port: u16,
    tls_error: &NetError,
) -> Option<Finding> {
    let mut url = origin.url.clone();
    url.set_scheme("http").ok()?;
    url.set_port(Some(port)).ok()?;
    url.set_path("/");
    url.set_query(None);
    let answer = ctx.net.send(HttpRequest::get(url.clone())).await.ok()?;
    Some(
        Finding::new(
            "https.no-https",
            Severity::Critical,
            Outcome::Fail,
            subject,
            "no TLS on this port: the server answered plain HTTP",
        )
        .at(format!("{host}:{port}"))
        .evidence(format!(
            "TLS to {host}:{port}: {tls_error}; a plain-HTTP GET {url} on the same port was \
             answered HTTP {}",
            answer.status
        ))
        .fix(
            "serve HTTPS on this port (TLS 1.2+ with a certificate for this host, usually at \
             a reverse proxy on 443) and redirect plain HTTP to it; if HTTPS is served \
             elsewhere, list that URL in [checks.https] origins",
        ),
    )
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
