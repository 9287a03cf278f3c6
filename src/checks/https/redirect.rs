//! The plain-HTTP upgrade: does `http://` answer with a permanent redirect
//! that reaches HTTPS on one canonical origin in at most two hops?

use serde_json::{Map, Value};
use url::Url;

use super::MAX_HOPS;
use crate::engine::Context;
use crate::net::{Chain, ChainStop, HttpRequest, NetError};
use crate::report::model::{Finding, Outcome, Severity};

/// Findings and measurements of one part of the check.
#[derive(Debug, Default)]
pub struct Part {
    pub findings: Vec<Finding>,
    pub measurements: Map<String, Value>,
}

/// Every code the redirect part can emit.
pub const CODES: &[&str] = &[
    "https.http-not-probed",
    "https.http-unreachable",
    "https.redirect-target-unreachable",
    "https.redirect-loop",
    "https.redirect-too-many",
    "https.redirect-out-of-scope",
    "https.redirect-bad-location",
    "https.http-no-redirect",
    "https.redirect-temporary",
    "https.redirect-host-before-upgrade",
    "https.redirect-chain-long",
];

pub async fn audit(ctx: &Context, http_url: &Url, subject: &str) -> Part {
    let chain = ctx
        .net
        .follow(HttpRequest::get(http_url.clone()), MAX_HOPS)
        .await;
    let mut part = Part {
        findings: judge(&chain, http_url, subject),
        ..Part::default()
    };
    part.measurements
        .insert("http_chain".into(), Value::String(chain.describe()));
    if let Some(last) = &chain.last
        && chain.stop.is_none()
        && last.url.scheme() == "https"
    {
        part.measurements.insert(
            "canonical_origin".into(),
            Value::String(last.url.origin().ascii_serialization()),
        );
    }
    part
}

/// When the plain-HTTP URL cannot be derived (HTTPS on a non-default port).
pub fn not_probed(subject: &str) -> Part {
    let f = Finding::new(
        "https.http-not-probed",
        Severity::Info,
        Outcome::Warn,
        subject,
        "the plain-HTTP upgrade was not tested",
    )
    .evidence("the origin uses a non-default HTTPS port, so its plain-HTTP twin is unknown")
    .fix("set http_url for this origin in [checks.https] (or base_http_url for the base URL)");
    Part {
        findings: vec![f],
        measurements: Map::new(),
    }
}

/// Judges a redirect chain that started at `http_url`.
pub fn judge(chain: &Chain, http_url: &Url, subject: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let evidence = chain.describe();
    let first = chain.hops.first();

    match &chain.stop {
        Some(ChainStop::Failed(e)) if chain.hops.is_empty() => {
            let why = match e {
                NetError::Timeout(ms) => format!("no answer within {ms} ms"),
                other => other.to_string(),
            };
            out.push(
                Finding::new(
                    "https.http-unreachable",
                    Severity::Low,
                    Outcome::Warn,
                    subject,
                    "plain HTTP does not answer, so people who type the bare name get an error",
                )
                .at(http_url.as_str())
                .evidence(format!("GET {http_url}: {why}"))
                .fix("serve port 80 with a 301 redirect to the HTTPS origin"),
            );
            return out;
        }
        Some(ChainStop::Failed(e)) => out.push(
            Finding::new(
                "https.redirect-target-unreachable",
                Severity::Medium,
                Outcome::Fail,
                subject,
                "a redirect from plain HTTP leads to a URL that does not answer",
            )
            .evidence(format!("{evidence} ({e})"))
            .fix("point the redirect at the live HTTPS origin"),
        ),
        Some(ChainStop::Loop(url)) => out.push(
            Finding::new(
                "https.redirect-loop",
                Severity::High,
                Outcome::Fail,
                subject,
                "plain HTTP redirects in a loop and never serves the site",
            )
            .at(url.as_str())
            .evidence(evidence.clone())
            .fix("make the plain-HTTP listener redirect once, straight to the HTTPS URL"),
        ),
        Some(ChainStop::TooManyHops(n)) => out.push(
            Finding::new(
                "https.redirect-too-many",
                Severity::Medium,
                Outcome::Fail,
                subject,
                format!("plain HTTP redirects more than {n} times"),
            )
            .evidence(evidence.clone())
            .fix("redirect plain HTTP in one hop to the canonical HTTPS origin"),
        ),
        Some(ChainStop::OutOfScope(url)) => out.push(
            Finding::new(
                "https.redirect-out-of-scope",
                Severity::Medium,
                Outcome::Warn,
                subject,
                "the redirect from plain HTTP leaves the profile's scope; the hop was not fetched",
            )
            .at(url.as_str())
            .evidence(evidence.clone())
            .fix("if that host is yours, add it to [target] scope; otherwise fix the redirect"),
        ),
        Some(ChainStop::BadLocation(loc)) => out.push(
            Finding::new(
                "https.redirect-bad-location",
                Severity::Medium,
                Outcome::Fail,
                subject,
                "a redirect from plain HTTP has a missing or unusable Location header",
            )
            .evidence(format!("{evidence}; Location: `{loc}`"))
            .fix("send an absolute https:// URL in Location"),
        ),
        None => {}
    }

    let reached_https = chain.stop.is_none()
        && chain
            .last
            .as_ref()
            .is_some_and(|r| r.url.scheme() == "https");
    let upgraded_somewhere = chain
        .hops
        .iter()
        .filter_map(|h| h.location.as_deref())
        .any(|l| l.trim_start().to_ascii_lowercase().starts_with("https://"));

    if chain.stop.is_none() && !reached_https {
        let status = chain.last.as_ref().map(|r| r.status).unwrap_or(0);
        out.push(
            Finding::new(
                "https.http-no-redirect",
                Severity::High,
                Outcome::Fail,
                subject,
                "plain HTTP serves the site instead of redirecting to HTTPS",
            )
            .at(http_url.as_str())
            .evidence(if chain.hops.is_empty() {
                format!("GET {http_url} -> {status} with content, no redirect")
            } else {
                format!("{evidence}: the chain ends on plain HTTP")
            })
            .fix(
                "answer every plain-HTTP request with a 301 (or 308) to the same path on https://",
            ),
        );
        return out;
    }
    if !reached_https && !upgraded_somewhere {
        return out;
    }

    if let Some(first) = first {
        if matches!(first.status, 302 | 303 | 307) {
            out.push(
                Finding::new(
                    "https.redirect-temporary",
                    Severity::Low,
                    Outcome::Warn,
                    subject,
                    format!("the upgrade redirect is temporary ({})", first.status),
                )
                .evidence(evidence.clone())
                .fix("use 301 or 308 so browsers and crawlers remember the HTTPS URL"),
            );
        }
        // B33: a first hop that changes host but stays on http.
        if let Some(next) = first
            .location
            .as_deref()
            .and_then(|l| first.url.join(l).ok())
            && next.scheme() == "http"
            && next.host_str() != first.url.host_str()
        {
            out.push(
                Finding::new(
                    "https.redirect-host-before-upgrade",
                    Severity::Low,
                    Outcome::Warn,
                    subject,
                    "the first redirect changes host without upgrading to HTTPS",
                )
                .evidence(evidence.clone())
                .fix("redirect to https:// on the same host first, so it can set HSTS"),
            );
        }
    }
    if chain.hops.len() > 2 {
        out.push(
            Finding::new(
                "https.redirect-chain-long",
                Severity::Low,
                Outcome::Warn,
                subject,
                format!(
                    "{} redirects before the HTTPS page (at most 2 expected)",
                    chain.hops.len()
                ),
            )
            .evidence(evidence)
            .fix("redirect plain HTTP straight to the canonical HTTPS URL"),
        );
    }
    out
}
