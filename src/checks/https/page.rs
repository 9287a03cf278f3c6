//! What the HTTPS pages say: HSTS on the origin's first response, cookie
//! flags on the landing and extra pages, mixed content and the security
//! headers of the landing page. The analysis functions return observations;
//! this module maps each observation code to a severity, an outcome and a fix.

use std::collections::BTreeSet;

use http::HeaderMap;
use serde_json::{Map, Value};

use super::cookie::{assess_cookie, parse_set_cookie};
use super::headers::analyze_security_headers;
use super::hsts::{HstsState, effective_hsts};
use super::mixed::{MixedKind, check_sri, find_mixed_content};
use super::{Level, MAX_HOPS, Observation};
use crate::engine::Context;
use crate::net::{HttpRequest, HttpResponse};
use crate::profile::{HttpsOrigin, HttpsSettings};
use crate::report::model::{Finding, Outcome, Severity};
use crate::util::clip;

/// Findings and measurements of the page part.
#[derive(Debug, Default)]
pub struct PagePart {
    pub findings: Vec<Finding>,
    pub measurements: Map<String, Value>,
}

/// Redirects followed for each extra page (the plan reserves one more request).
const PAGE_HOPS: usize = 2;

/// Every code this part can emit (for the check's code list).
pub const CODES: &[&str] = &[
    "https.landing-unreachable",
    "https.page-unavailable",
    "https.hsts-missing",
    "https.hsts-invalid",
    "https.hsts-disabled",
    "https.hsts-short",
    "https.hsts-no-subdomains",
    "https.cookie-not-secure",
    "https.cookie-not-httponly",
    "https.cookie-samesite-missing",
    "https.cookie-samesite-invalid",
    "https.cookie-samesite-none-insecure",
    "https.cookie-prefix-violated",
    "https.mixed-content",
    "https.mixed-content-passive",
    "https.sri-missing",
    "https.csp-missing",
    "https.csp-unsafe-inline",
    "https.csp-unsafe-eval",
    "https.csp-scripts-unrestricted",
    "https.csp-script-broad",
    "https.csp-script-insecure-scheme",
    "https.csp-object-src-missing",
    "https.csp-object-src-broad",
    "https.csp-base-uri-missing",
    "https.csp-report-only",
    "https.csp-remark",
    "https.framing-unprotected",
    "https.framing-csp-broad",
    "https.framing-xfo-allow-from",
    "https.framing-xfo-conflict",
    "https.framing-xfo-invalid",
    "https.xcto-missing",
    "https.xcto-invalid",
    "https.referrer-policy-missing",
    "https.referrer-invalid",
    "https.referrer-weak",
];

pub async fn audit(
    ctx: &Context,
    origin: &HttpsOrigin,
    settings: &HttpsSettings,
    subject: &str,
) -> PagePart {
    let mut part = PagePart::default();

    let landing = ctx
        .net
        .follow(HttpRequest::get(origin.url.clone()), MAX_HOPS)
        .await;
    let Some(last) = landing.last.clone().filter(|_| landing.stop.is_none()) else {
        part.findings.push(
            Finding::new(
                "https.landing-unreachable",
                Severity::Medium,
                Outcome::Fail,
                subject,
                "the HTTPS landing page could not be fetched, so its headers are unjudged",
            )
            .evidence(landing.describe())
            .fix("make the base URL answer over HTTPS (or correct it in the profile)"),
        );
        return part;
    };

    // HSTS counts on the origin's own first response (a redirect can set it).
    let first_headers: &HeaderMap = landing
        .hops
        .first()
        .map(|h| &h.headers)
        .unwrap_or(&last.headers);
    part.findings.extend(judge_hsts(
        first_headers,
        settings,
        subject,
        &mut part.measurements,
    ));

    let mut cookie_sources: Vec<(String, HeaderMap)> = landing
        .hops
        .iter()
        .map(|h| (h.url.to_string(), h.headers.clone()))
        .chain(std::iter::once((
            last.url.to_string(),
            last.headers.clone(),
        )))
        .collect();
    for page in &settings.pages {
        let Ok(url) = origin.url.join(page) else {
            continue;
        };
        let chain = ctx
            .net
            .follow(HttpRequest::get(url.clone()), PAGE_HOPS)
            .await;
        let status = chain.last.as_ref().map(|r| r.status);
        if chain.stop.is_some() || status.is_some_and(|s| s >= 400) {
            part.findings.push(
                Finding::new(
                    "https.page-unavailable",
                    Severity::Info,
                    Outcome::Warn,
                    subject,
                    format!("the page {page} from [checks.https] pages could not be judged"),
                )
                .at(url.to_string())
                .evidence(chain.describe())
                .fix("correct the path in [checks.https] pages, or remove it"),
            );
        }
        for hop in &chain.hops {
            cookie_sources.push((hop.url.to_string(), hop.headers.clone()));
        }
        if let Some(r) = &chain.last {
            cookie_sources.push((r.url.to_string(), r.headers.clone()));
        }
    }
    part.findings
        .extend(judge_cookies(&cookie_sources, settings, subject));
    part.findings.extend(judge_landing(&last, subject));
    part
}

fn judge_hsts(
    headers: &HeaderMap,
    settings: &HttpsSettings,
    subject: &str,
    measurements: &mut Map<String, Value>,
) -> Vec<Finding> {
    let values: Vec<String> = headers
        .get_all("strict-transport-security")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let effective = effective_hsts(&refs);
    let mut out = Vec::new();
    let evidence = match &effective.state {
        HstsState::Absent => {
            "no Strict-Transport-Security header on the HTTPS response".to_string()
        }
        HstsState::Invalid(_) => effective.reason.clone(),
        _ => format!("Strict-Transport-Security: {}", values.join(" | ")),
    };
    match &effective.state {
        HstsState::Absent => out.push(hsts_finding(
            "https.hsts-missing",
            Severity::High,
            subject,
            "no HSTS header",
            &evidence,
        )),
        HstsState::Invalid(_) => out.push(hsts_finding(
            "https.hsts-invalid",
            Severity::High,
            subject,
            "the HSTS header is malformed, so browsers ignore it",
            &evidence,
        )),
        HstsState::Disabled(_) => out.push(hsts_finding(
            "https.hsts-disabled",
            Severity::High,
            subject,
            "HSTS is explicitly disabled (max-age=0)",
            &evidence,
        )),
        HstsState::Active(policy) => {
            measurements.insert("hsts_max_age".into(), Value::from(policy.max_age));
            measurements.insert("hsts_preload".into(), Value::from(policy.preload));
            if policy.max_age < settings.min_hsts_max_age {
                out.push(hsts_finding(
                    "https.hsts-short",
                    Severity::Medium,
                    subject,
                    format!(
                        "HSTS max-age is {} s, below the required {} s",
                        policy.max_age, settings.min_hsts_max_age
                    ),
                    &evidence,
                ));
            }
            if settings.require_include_subdomains && !policy.include_subdomains {
                out.push(
                    Finding::new(
                        "https.hsts-no-subdomains",
                        Severity::Low,
                        Outcome::Warn,
                        subject,
                        "HSTS does not cover subdomains (no includeSubDomains)",
                    )
                    .evidence(evidence.clone())
                    .fix("add includeSubDomains once every subdomain serves HTTPS"),
                );
            }
        }
    }
    out
}

fn hsts_finding(
    code: &str,
    severity: Severity,
    subject: &str,
    title: impl Into<String>,
    evidence: &str,
) -> Finding {
    Finding::new(code, severity, Outcome::Fail, subject, title)
        .evidence(evidence.to_string())
        .fix("send `Strict-Transport-Security: max-age=31536000; includeSubDomains` on every HTTPS response")
}

fn judge_cookies(
    sources: &[(String, HeaderMap)],
    settings: &HttpsSettings,
    subject: &str,
) -> Vec<Finding> {
    let mut seen: BTreeSet<(String, &'static str)> = BTreeSet::new();
    let mut out = Vec::new();
    for (url, headers) in sources {
        for raw in headers.get_all("set-cookie") {
            let line = String::from_utf8_lossy(raw.as_bytes()).into_owned();
            let Some(mut cookie) = parse_set_cookie(&line) else {
                continue;
            };
            let forced_session = settings
                .session_cookies
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&cookie.name));
            let name = cookie.name.clone();
            // Evidence shows the attributes, never the value.
            let shown = format!(
                "Set-Cookie: {}=<{} chars>{}",
                name,
                cookie.value.len(),
                attributes_of(&line)
            );
            cookie.value.clear();
            let mut observations = assess_cookie(&cookie);
            if forced_session {
                observations = upgrade_for_session(&cookie, observations);
            }
            for obs in observations {
                if obs.level == Level::Pass || !seen.insert((name.clone(), obs.code)) {
                    continue;
                }
                if let Some(f) = cookie_finding(&obs, subject, url, &shown) {
                    out.push(f);
                }
            }
        }
    }
    out
}

/// Profile-named session cookies get the session rules even if the name heuristic missed them.
fn upgrade_for_session(
    cookie: &super::cookie::SetCookie,
    mut obs: Vec<Observation>,
) -> Vec<Observation> {
    for o in &mut obs {
        if o.code == "cookie-not-secure" {
            o.level = Level::Fail;
        }
    }
    if !cookie.http_only && !obs.iter().any(|o| o.code == "cookie-not-httponly") {
        obs.push(Observation::new(
            Level::Fail,
            "cookie-not-httponly",
            format!(
                "session cookie `{}` lacks HttpOnly: injected scripts can read it",
                cookie.name
            ),
        ));
    }
    if cookie.same_site.is_none() && !obs.iter().any(|o| o.code == "cookie-samesite-missing") {
        obs.push(Observation::new(
            Level::Info,
            "cookie-samesite-missing",
            format!("session cookie `{}` has no SameSite", cookie.name),
        ));
    }
    obs.retain(|o| o.level != Level::Pass);
    obs
}

fn attributes_of(line: &str) -> String {
    match line.find(';') {
        Some(i) => line[i..].to_string(),
        None => String::new(),
    }
}

fn cookie_finding(obs: &Observation, subject: &str, url: &str, shown: &str) -> Option<Finding> {
    let (severity, outcome, fix) = match (obs.code, obs.level) {
        ("cookie-not-secure", Level::Fail) => {
            (Severity::High, Outcome::Fail, "add the Secure attribute")
        }
        ("cookie-not-secure", _) => (Severity::Low, Outcome::Warn, "add the Secure attribute"),
        ("cookie-not-httponly", _) => (
            Severity::Medium,
            Outcome::Fail,
            "add HttpOnly: scripts never need to read a session cookie",
        ),
        ("cookie-samesite-missing", _) => (
            Severity::Low,
            Outcome::Warn,
            "set SameSite=Lax (or Strict) explicitly on session cookies",
        ),
        ("cookie-samesite-none-insecure", _) => (
            Severity::Low,
            Outcome::Warn,
            "SameSite=None needs Secure, or browsers drop the cookie",
        ),
        ("cookie-samesite-invalid", _) => (
            Severity::Low,
            Outcome::Warn,
            "use SameSite=Strict, Lax or None",
        ),
        ("cookie-prefix-violated", _) => (
            Severity::Low,
            Outcome::Warn,
            "__Host- cookies need Secure, Path=/ and no Domain",
        ),
        _ => return None,
    };
    Some(
        Finding::new(
            &format!("https.{}", obs.code),
            severity,
            outcome,
            subject,
            obs.reason.clone(),
        )
        .at(url.to_string())
        .evidence(shown.to_string())
        .fix(fix),
    )
}

fn judge_landing(page: &HttpResponse, subject: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let headers: Vec<(String, String)> = page
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let is_html = page.content_type().contains("html");
    let body = page.text();
    let html = is_html.then_some(body.as_str());

    if let Some(html) = html {
        let mixed = find_mixed_content(html);
        for (kind, code, severity, outcome) in [
            (
                MixedKind::Active,
                "https.mixed-content",
                Severity::High,
                Outcome::Fail,
            ),
            (
                MixedKind::Passive,
                "https.mixed-content-passive",
                Severity::Low,
                Outcome::Warn,
            ),
        ] {
            let items: Vec<String> = mixed
                .iter()
                .filter(|m| m.kind == kind)
                .map(|m| format!("<{} {}=\"{}\">", m.tag, m.attribute, m.url))
                .collect();
            if items.is_empty() {
                continue;
            }
            out.push(
                Finding::new(
                    code,
                    severity,
                    outcome,
                    subject,
                    format!("the HTTPS landing page loads {} resource(s) over plain http", items.len()),
                )
                .at(page.url.to_string())
                .evidence(clip(&items.join(" "), 400))
                .fix("load every script, style, frame and form target over https:// (or same-origin paths)"),
            );
        }
        let sri = check_sri(html, &page.url);
        if sri.observation.code == "sri-missing" {
            out.push(
                Finding::new(
                    "https.sri-missing",
                    Severity::Info,
                    Outcome::Warn,
                    subject,
                    "external scripts without integrity",
                )
                .at(page.url.to_string())
                .evidence(sri.observation.reason.clone())
                .fix("add integrity= (Subresource Integrity) to scripts served from other origins"),
            );
        }
    }

    let report = analyze_security_headers(&headers, html);
    let mut observations: Vec<Observation> = report.csp.observations.clone();
    observations.push(report.framing.clone());
    observations.push(report.content_type_options.clone());
    observations.push(report.referrer_policy.clone());
    for obs in observations {
        // A missing Referrer-Policy is fine in current browsers: listed as information.
        if obs.level == Level::Pass && obs.code != "referrer-default" {
            continue;
        }
        if let Some(f) = header_finding(&obs, &headers, subject, page.url.as_str()) {
            out.push(f);
        }
    }
    out
}

fn header_finding(
    obs: &Observation,
    headers: &[(String, String)],
    subject: &str,
    url: &str,
) -> Option<Finding> {
    let low_or_info = |level: Level| {
        if level == Level::Info {
            Severity::Info
        } else {
            Severity::Low
        }
    };
    let (code, severity, fix): (&str, Severity, &str) = match obs.code {
        "csp-missing" => (
            "csp-missing",
            Severity::Low,
            "send a Content-Security-Policy that restricts script-src",
        ),
        "csp-unsafe-inline" => (
            "csp-unsafe-inline",
            Severity::Low,
            "replace 'unsafe-inline' in script-src with nonces or hashes",
        ),
        "csp-scripts-unrestricted" | "csp-script-broad" => (
            obs.code,
            Severity::Low,
            "restrict script-src to your own origins (no *, https: or data:)",
        ),
        "csp-script-insecure-scheme" => (
            "csp-script-insecure-scheme",
            Severity::Medium,
            "remove http: sources from script-src",
        ),
        "csp-unsafe-eval"
        | "csp-object-src-missing"
        | "csp-object-src-broad"
        | "csp-base-uri-missing"
        | "csp-report-only"
        | "csp-remark" => (
            obs.code,
            low_or_info(obs.level).min(Severity::Info),
            "tighten the policy: object-src 'none', base-uri 'self', no 'unsafe-eval'",
        ),
        "framing-unprotected" => (
            "framing-unprotected",
            Severity::Low,
            "send `Content-Security-Policy: frame-ancestors 'none'` (or X-Frame-Options: DENY)",
        ),
        "framing-csp-broad"
        | "framing-xfo-allow-from"
        | "framing-xfo-conflict"
        | "framing-xfo-invalid" => (
            obs.code,
            low_or_info(obs.level),
            "use frame-ancestors with the exact origins allowed to frame the site",
        ),
        "xcto-missing" | "xcto-invalid" => (
            obs.code,
            Severity::Low,
            "send `X-Content-Type-Options: nosniff`",
        ),
        "referrer-default" => (
            "referrer-policy-missing",
            Severity::Info,
            "send `Referrer-Policy: strict-origin-when-cross-origin` to make the default explicit",
        ),
        "referrer-invalid" | "referrer-weak" => (
            obs.code,
            low_or_info(obs.level),
            "use `Referrer-Policy: strict-origin-when-cross-origin` or stricter",
        ),
        _ => return None,
    };
    let full = format!("https.{code}");
    let code_ref = CODES.iter().find(|c| **c == full)?;
    let header = if code.starts_with("csp") {
        "content-security-policy"
    } else if code.starts_with("framing") {
        "x-frame-options"
    } else if code.starts_with("xcto") {
        "x-content-type-options"
    } else {
        "referrer-policy"
    };
    let mut seen: Vec<String> = headers
        .iter()
        .filter(|(n, _)| {
            n == header || (code.starts_with("framing") && n == "content-security-policy")
        })
        .map(|(n, v)| format!("{n}: {v}"))
        .collect();
    if seen.is_empty() {
        seen.push(format!("{header}: (absent)"));
    }
    Some(
        Finding::new(
            code_ref,
            severity,
            Outcome::Warn,
            subject,
            obs.reason.clone(),
        )
        .at(url.to_string())
        .evidence(clip(&seen.join(" | "), 400))
        .fix(fix),
    )
}
