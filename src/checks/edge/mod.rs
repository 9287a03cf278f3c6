//! The `edge` check: is each in-scope origin served through a CDN/WAF when
//! the profile says it should be, and does the origin server refuse to serve
//! the site directly?
//!
//! A CDN is recognised by its response headers (Cloudflare's `cf-ray`,
//! Fastly's `x-served-by`, CloudFront's `x-amz-cf-id`, Akamai's...) or by the
//! host's addresses falling in a provider's published ranges, which ship as
//! data with their date. TLS at the edge is the `https` check's.

pub mod config;
pub mod ranges;

use std::net::IpAddr;

use async_trait::async_trait;
use http::HeaderMap;
use url::Url;

use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::scope::url_host;
use crate::net::{HttpRequest, NetError};
use crate::profile::Profile;
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};
use ranges::Ranges;

pub struct EdgeCheck;

/// The subject of the rows about the shipped address ranges and the origin address.
pub const RANGES_SUBJECT: &str = "cdn address ranges";

#[async_trait]
impl Check for EdgeCheck {
    fn codes(&self) -> &'static [&'static str] {
        &[
            "edge.no-cdn",
            "edge.origin-exposed",
            "edge.origin-inconclusive",
            "edge.origin-not-probed",
            "edge.ranges-stale",
        ]
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "edge",
            title: "CDN/WAF in front of the origin",
            verifies: "each origin is served through a CDN/WAF when expect_cdn is set, and the \
                       origin server does not serve the site directly",
            criterion: "a CDN recognised by headers or published address ranges; the origin \
                        address refuses (or does not answer) requests for the site",
            class: Class::Passive,
            read_only: true,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let s = &profile.edge;
        if !s.enabled {
            return Plan::skip("not configured (add [checks.edge] expect_cdn = true|false)");
        }
        let mut plan = Plan::default();
        for o in &s.origins {
            plan = plan.step(&subject_of(o), "GET the origin, read CDN headers", 1, false);
        }
        if let Some(u) = &s.origin_url
            && s.origin_in_scope
        {
            plan = plan.step(
                u.as_str(),
                "GET the origin address with the site's Host",
                1,
                false,
            );
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let s = &ctx.profile.edge;
        let data = match Ranges::shipped() {
            Ok(d) => d,
            Err(e) => return vec![SubjectRow::error(RANGES_SUBJECT, e)],
        };
        let mut rows = Vec::new();
        for o in &s.origins {
            rows.push(audit_origin(&ctx, o, &data).await);
        }
        if let Some(u) = &s.origin_url {
            rows.push(probe_origin_address(&ctx, u, s.origin_in_scope).await);
        }
        let today = time::OffsetDateTime::now_utc().date();
        let age = data.age_days(today);
        if age > s.ranges_max_age_days {
            let f = Finding::new(
                "edge.ranges-stale",
                Severity::Low,
                Outcome::Warn,
                RANGES_SUBJECT,
                "the shipped CDN address ranges are old",
            )
            .evidence(format!(
                "recorded {} ({age} days ago; limit {} days)",
                data.date, s.ranges_max_age_days
            ))
            .fix("update data/cdn-ranges.toml from the providers' published lists");
            rows.push(SubjectRow::judged(RANGES_SUBJECT, vec![f]));
        }
        rows
    }
}

pub fn subject_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A CDN/WAF recognised by its response headers: (provider, the header seen).
pub fn provider_by_headers(headers: &HeaderMap) -> Option<(&'static str, String)> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.to_ascii_lowercase())
    };
    let present: [(&str, &str); 12] = [
        ("cf-ray", "Cloudflare"),
        ("x-amz-cf-id", "Amazon CloudFront"),
        ("x-amz-cf-pop", "Amazon CloudFront"),
        ("x-fastly-request-id", "Fastly"),
        ("fastly-debug-digest", "Fastly"),
        ("x-akamai-transformed", "Akamai"),
        ("akamai-grn", "Akamai"),
        ("x-azure-ref", "Azure Front Door"),
        ("x-sucuri-id", "Sucuri"),
        ("x-iinfo", "Imperva"),
        ("x-vercel-id", "Vercel"),
        ("x-nf-request-id", "Netlify"),
    ];
    for (name, provider) in present {
        if get(name).is_some() {
            return Some((provider, name.to_string()));
        }
    }
    if let Some(server) = get("server") {
        for (needle, provider) in [
            ("cloudflare", "Cloudflare"),
            ("akamaighost", "Akamai"),
            ("cloudfront", "Amazon CloudFront"),
            ("bunnycdn", "BunnyCDN"),
        ] {
            if server.contains(needle) {
                return Some((provider, format!("server: {server}")));
            }
        }
    }
    if let Some(via) = get("via") {
        if via.contains("cloudfront") {
            return Some(("Amazon CloudFront", format!("via: {via}")));
        }
        if via.contains("varnish") && get("x-served-by").is_some_and(|v| v.contains("cache-")) {
            return Some(("Fastly", "x-served-by: cache-...".into()));
        }
        if via.contains("google") {
            return Some(("Google Cloud CDN", format!("via: {via}")));
        }
    }
    None
}

async fn audit_origin(ctx: &Context, origin: &Url, data: &Ranges) -> SubjectRow {
    let subject = subject_of(origin);
    let s = &ctx.profile.edge;
    let response = match ctx.net.send(HttpRequest::get(origin.clone())).await {
        Ok(r) => r,
        Err(e) => return SubjectRow::error(&subject, format!("the origin did not answer: {e}")),
    };
    let by_header = provider_by_headers(&response.headers);
    let host = url_host(origin).unwrap_or_default();
    let port = origin.port_or_known_default().unwrap_or(443);
    let addrs: Vec<IpAddr> = ctx
        .net
        .net()
        .resolver
        .resolve(&host, port)
        .await
        .map(|v| v.into_iter().map(|a| a.ip()).collect())
        .unwrap_or_default();
    let by_range = addrs
        .iter()
        .find_map(|ip| data.provider_of(*ip).map(|p| (p, *ip)));
    let seen = match (&by_header, &by_range) {
        (Some((p, h)), _) => Some(format!("{p} (header {h})")),
        (None, Some((p, ip))) => Some(format!("{p} (address {ip} in its published ranges)")),
        (None, None) => None,
    };
    let addr_list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    let mut findings = Vec::new();
    if s.expect_cdn && seen.is_none() {
        findings.push(
            Finding::new(
                "edge.no-cdn",
                Severity::Medium,
                Outcome::Fail,
                &subject,
                "the origin is not served through a CDN/WAF",
            )
            .at(origin.as_str())
            .evidence(format!(
                "no CDN header in the response and addresses {} are in no shipped provider range",
                if addr_list.is_empty() {
                    "(unresolved)".to_string()
                } else {
                    addr_list.join(", ")
                }
            ))
            .fix(
                "put the site behind the CDN/WAF and point DNS at it, or set expect_cdn = false \
                 if serving directly is intended",
            ),
        );
    }
    SubjectRow::judged(&subject, findings)
        .measure("cdn", seen.unwrap_or_else(|| "none".into()))
        .measure("addresses", addr_list.join(", "))
}

/// Requests the site from the origin server's own address with the site's Host.
async fn probe_origin_address(ctx: &Context, url: &Url, in_scope: bool) -> SubjectRow {
    let subject = url.as_str().to_string();
    if !in_scope {
        let f = Finding::new(
            "edge.origin-not-probed",
            Severity::Info,
            Outcome::Warn,
            &subject,
            "the origin address is outside the scope, so direct access was not tested",
        )
        .evidence(format!("{url} is not in [target] scope"))
        .fix("add the origin address to scope to test that it refuses direct requests");
        return SubjectRow::judged(&subject, vec![f]);
    }
    let site_host = ctx
        .profile
        .target
        .base_url
        .host_str()
        .unwrap_or_default()
        .to_string();
    let req = HttpRequest::get(url.clone()).header("host", &site_host);
    let (finding, status) = match ctx.net.send(req).await {
        Ok(r) if (200..400).contains(&r.status) => (
            Some(
                Finding::new(
                    "edge.origin-exposed",
                    Severity::Medium,
                    Outcome::Fail,
                    &subject,
                    "the origin server serves the site directly, bypassing the CDN/WAF",
                )
                .at(url.as_str())
                .evidence(format!("GET {url} with Host: {site_host} -> {}", r.status))
                .fix(
                    "accept connections only from the CDN's ranges (firewall or authenticated \
                     origin pulls)",
                ),
            ),
            r.status.to_string(),
        ),
        Ok(r) => (None, r.status.to_string()),
        Err(NetError::Connect(_) | NetError::Timeout(_)) => (None, "no answer".into()),
        Err(NetError::Tls(e)) => (
            Some(
                Finding::new(
                    "edge.origin-inconclusive",
                    Severity::Low,
                    Outcome::Warn,
                    &subject,
                    "the origin address answered TLS with a certificate not valid for it",
                )
                .evidence(format!("GET {url}: {e}"))
                .fix("probe the origin over plain HTTP or give its own name in origin_url"),
            ),
            "TLS error".into(),
        ),
        Err(e) => return SubjectRow::error(&subject, format!("GET {url}: {e}")),
    };
    SubjectRow::judged(&subject, finding.into_iter().collect()).measure("direct", status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn providers_are_recognised_by_headers() {
        let cases: [(&[(&str, &str)], &str); 5] = [
            (&[("cf-ray", "8a1b2c3d4e-AMS")], "Cloudflare"),
            (&[("x-amz-cf-id", "abc")], "Amazon CloudFront"),
            (
                &[
                    ("via", "1.1 varnish"),
                    ("x-served-by", "cache-ams21050-AMS"),
                ],
                "Fastly",
            ),
            (&[("server", "AkamaiGHost")], "Akamai"),
            (
                &[("via", "1.1 abc.cloudfront.net (CloudFront)")],
                "Amazon CloudFront",
            ),
        ];
        for (h, want) in cases {
            assert_eq!(
                provider_by_headers(&headers(h)).map(|p| p.0),
                Some(want),
                "{h:?}"
            );
        }
    }

    #[test]
    fn ordinary_servers_are_not_cdns() {
        for h in [
            &[("server", "nginx/1.25.3")][..],
            &[("via", "1.1 varnish")][..],
            &[("x-served-by", "web-01")][..],
            &[][..],
        ] {
            assert_eq!(provider_by_headers(&headers(h)), None, "{h:?}");
        }
    }
}
