//! The `https` check: HTTP upgrades to one canonical HTTPS origin, TLS is
//! modern with a valid certificate not near expiry, HSTS is long enough,
//! cookies are Secure/HttpOnly/SameSite, no mixed content, and the usual
//! security headers are set.
//!
//! The check itself (here, `redirect`, `transport` and `page`) fetches through
//! the scoped client and judges. The submodules `hsts`, `cookie`, `names`,
//! `headers` and `mixed` are the pure analysis layer: functions over
//! header strings, HTML text and certificate data that return observations
//! with a human-readable reason, testable without a network.

pub mod cookie;
pub mod headers;
pub mod hsts;
pub mod mixed;
pub mod names;
mod page;
mod redirect;
mod transport;

use std::fmt;

use async_trait::async_trait;
use futures::future::join_all;

use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::profile::{HttpsOrigin, Profile};
use crate::report::model::{Class, Finding, SubjectRow};

pub struct HttpsCheck;

/// Every finding code of the check, from all its parts.
static CODES: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| [transport::CODES, redirect::CODES, page::CODES].concat());

/// Most redirects followed from plain HTTP before giving up.
pub(crate) const MAX_HOPS: usize = 5;

#[async_trait]
impl Check for HttpsCheck {
    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "https",
            title: "HTTPS, TLS, HSTS and cookies",
            verifies: "plain HTTP upgrades to one HTTPS origin; TLS and certificate are sound; \
                       HSTS, cookie flags and security headers are set",
            criterion: "HTTP redirects (301/308) to HTTPS in at most 2 hops; TLS >= 1.2 only; \
                        certificate valid for the host with > 30 days left; HSTS max-age >= 1 \
                        year with includeSubDomains; session cookies Secure and HttpOnly",
            class: Class::Passive,
            read_only: true,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let s = &profile.https;
        if !s.enabled {
            return Plan::skip("disabled in the profile ([checks.https] enabled = false)");
        }
        let mut plan = Plan::default();
        for origin in &s.origins {
            let subject = subject_of(origin);
            if origin.http_url.is_some() {
                plan = plan.step(
                    &subject,
                    "GET plain HTTP, follow redirects",
                    MAX_HOPS as u64 + 1,
                    false,
                );
            }
            plan = plan.step(
                &subject,
                "TLS handshake (version, cipher, chain); if it fails, one plain-HTTP GET to \
                 tell a port without TLS",
                2,
                false,
            );
            if s.legacy_tls_probe {
                plan = plan.step(&subject, "raw TLS 1.0 and 1.1 ClientHello probes", 2, false);
            }
            plan = plan.step(
                &subject,
                "GET landing page over HTTPS",
                MAX_HOPS as u64 + 1,
                false,
            );
            if !s.pages.is_empty() {
                plan = plan.step(
                    &subject,
                    "GET extra pages for cookies",
                    s.pages.len() as u64,
                    false,
                );
            }
        }
        plan
    }

    fn codes(&self) -> &'static [&'static str] {
        &CODES
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let origins = ctx.profile.https.origins.clone();
        join_all(origins.iter().map(|o| audit_origin(&ctx, o))).await
    }
}

/// The subject name of an origin: `https://host[:port]`.
pub fn subject_of(origin: &HttpsOrigin) -> String {
    origin.url.origin().ascii_serialization()
}

async fn audit_origin(ctx: &Context, origin: &HttpsOrigin) -> SubjectRow {
    let subject = subject_of(origin);
    let mut findings: Vec<Finding> = Vec::new();

    let mut tls = transport::audit(ctx, origin, &subject).await;
    let serves_https = tls.serves_https;
    findings.extend(tls.findings);

    if serves_https {
        let page = page::audit(ctx, origin, &ctx.profile.https, &subject).await;
        findings.extend(page.findings);
        for (k, v) in page.measurements {
            tls.measurements.insert(k, v);
        }
    }

    let redirect = match &origin.http_url {
        Some(http_url) => redirect::audit(ctx, http_url, &subject).await,
        None => redirect::not_probed(&subject),
    };
    findings.extend(redirect.findings);

    let mut row = SubjectRow::judged(&subject, findings);
    row.measurements = tls.measurements;
    for (k, v) in redirect.measurements {
        row.measurements.insert(k, v);
    }
    if !serves_https {
        row.reason = Some("no HTTPS: nothing else can be judged".into());
    }
    row
}

/// How an observation weighs before the check maps it to a report severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The property holds.
    Pass,
    /// Worth knowing, not a weakness by itself.
    Info,
    /// A weakness that does not defeat the protection.
    Warn,
    /// The protection is missing, invalid or defeated.
    Fail,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Level::Pass => "pass",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Fail => "fail",
        };
        f.write_str(text)
    }
}

/// One judged observation: a level, a stable code and the reason as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// How much it weighs.
    pub level: Level,
    /// Stable short code, unique within its module (for example `csp-unsafe-inline`).
    pub code: &'static str,
    /// Human-readable reason; it becomes evidence in the report.
    pub reason: String,
}

impl Observation {
    /// Builds an observation.
    pub fn new(level: Level, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            level,
            code,
            reason: reason.into(),
        }
    }
}

/// The worst level among observations (`Pass` when there are none).
pub fn worst(observations: &[Observation]) -> Level {
    observations
        .iter()
        .map(|o| o.level)
        .max()
        .unwrap_or(Level::Pass)
}

/// All values of one header, in the order received.
///
/// `headers` holds names (expected lowercase, compared case-insensitively)
/// and values as received.
pub fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}
