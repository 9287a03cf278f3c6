//! Security headers of an HTTPS response: Content-Security-Policy, framing
//! (`frame-ancestors` and `X-Frame-Options`), `X-Content-Type-Options` and
//! `Referrer-Policy`, plus the `<meta>` forms of CSP and referrer policy.
//!
//! Presence is not protection: a CSP with `'unsafe-inline'` in `script-src`
//! stops no injected script, an `X-Frame-Options: ALLOW-FROM` is ignored by
//! current browsers, and a `Referrer-Policy` list keeps only its last valid
//! token. Each analysis returns [`Observation`]s whose reasons become
//! evidence. Headers come as `(lowercase name, value as received)` pairs,
//! possibly repeated.

use std::fmt;

use super::{Level, Observation, header_values as values, worst};
use crate::html::scan_tags;

/// One CSP directive: lowercase name and its source expressions as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspDirective {
    /// Lowercase directive name.
    pub name: String,
    /// Source expressions (or other values) in order.
    pub values: Vec<String>,
}

/// Where a policy came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyOrigin {
    /// A `Content-Security-Policy` header.
    Header,
    /// A `<meta http-equiv="Content-Security-Policy">` element.
    Meta,
}

/// One parsed policy (a header value may hold several, separated by commas).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspPolicy {
    /// Directives in order; later duplicates are dropped, as browsers do.
    pub directives: Vec<CspDirective>,
    /// Where it came from.
    pub origin: PolicyOrigin,
    /// Parsing remarks (duplicate directives, directives ignored in `<meta>`).
    pub remarks: Vec<String>,
}

impl CspPolicy {
    /// A directive by lowercase name.
    pub fn directive(&self, name: &str) -> Option<&CspDirective> {
        self.directives.iter().find(|d| d.name == name)
    }

    /// The directive that governs `name`, following the CSP3 fallback list
    /// (`script-src-elem` -> `script-src` -> `default-src`, ...).
    pub fn effective(&self, name: &str) -> Option<&CspDirective> {
        fallback_chain(name)
            .iter()
            .find_map(|candidate| self.directive(candidate))
    }
}

fn fallback_chain(name: &str) -> Vec<&str> {
    match name {
        "script-src-elem" | "script-src-attr" => vec![name, "script-src", "default-src"],
        "style-src-elem" | "style-src-attr" => vec![name, "style-src", "default-src"],
        "worker-src" => vec![name, "child-src", "script-src", "default-src"],
        "frame-src" => vec![name, "child-src", "default-src"],
        "script-src" | "style-src" | "object-src" | "img-src" | "media-src" | "font-src"
        | "connect-src" | "child-src" | "manifest-src" => vec![name, "default-src"],
        _ => vec![name],
    }
}

/// Parses a `Content-Security-Policy` header value (comma-separated policies).
pub fn parse_csp(value: &str, origin: PolicyOrigin) -> Vec<CspPolicy> {
    value
        .split(',')
        .map(|serialized| parse_policy(serialized, origin))
        .filter(|policy| !policy.directives.is_empty() || !policy.remarks.is_empty())
        .collect()
}

/// Directives a `<meta>` policy may not carry (CSP3 §3.3).
const META_FORBIDDEN: &[&str] = &["frame-ancestors", "report-uri", "sandbox"];

fn parse_policy(serialized: &str, origin: PolicyOrigin) -> CspPolicy {
    let mut policy = CspPolicy {
        directives: Vec::new(),
        origin,
        remarks: Vec::new(),
    };
    for token in serialized.split(';') {
        let mut parts = token.split_ascii_whitespace();
        let Some(name) = parts.next() else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            policy
                .remarks
                .push(format!("ignored directive with an invalid name `{name}`"));
            continue;
        }
        if policy.directive(&name).is_some() {
            policy
                .remarks
                .push(format!("duplicate directive `{name}` ignored"));
            continue;
        }
        if origin == PolicyOrigin::Meta && META_FORBIDDEN.contains(&name.as_str()) {
            policy.remarks.push(format!(
                "`{name}` is ignored in a <meta> policy; it only works as a header"
            ));
            continue;
        }
        policy.directives.push(CspDirective {
            name,
            values: parts.map(str::to_string).collect(),
        });
    }
    policy
}

/// The result of [`analyze_csp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CspReport {
    /// Enforced policies (headers, then `<meta>`).
    pub policies: Vec<CspPolicy>,
    /// Observations, worst first.
    pub observations: Vec<Observation>,
    /// The worst level among the observations.
    pub level: Level,
}

/// Judges the enforced CSP of a response: `Content-Security-Policy` headers
/// plus `<meta>` policies from the HTML. `Content-Security-Policy-Report-Only`
/// enforces nothing and is mentioned only when it is all there is.
///
/// Several policies are all enforced, so a weakness counts only when every
/// policy has it: one strict policy blocks what a lax one allows.
pub fn analyze_csp(headers: &[(String, String)], meta_policies: &[String]) -> CspReport {
    let mut policies: Vec<CspPolicy> = values(headers, "content-security-policy")
        .into_iter()
        .flat_map(|v| parse_csp(v, PolicyOrigin::Header))
        .collect();
    for meta in meta_policies {
        policies.extend(parse_csp(meta, PolicyOrigin::Meta));
    }

    let mut observations = Vec::new();
    if policies.is_empty() {
        let report_only = !values(headers, "content-security-policy-report-only").is_empty();
        observations.push(if report_only {
            Observation::new(
                Level::Warn,
                "csp-report-only",
                "only Content-Security-Policy-Report-Only is set: violations are reported \
                 but nothing is blocked",
            )
        } else {
            Observation::new(
                Level::Warn,
                "csp-missing",
                "no Content-Security-Policy header or <meta> policy",
            )
        });
        return finish(policies, observations);
    }

    let per_policy: Vec<Vec<Observation>> = policies.iter().map(judge_policy).collect();
    if let Some((first, rest)) = per_policy.split_first() {
        for observation in first {
            let shared = rest
                .iter()
                .all(|others| others.iter().any(|o| o.code == observation.code));
            if shared {
                observations.push(observation.clone());
            }
        }
    }
    for policy in &policies {
        for remark in &policy.remarks {
            observations.push(Observation::new(Level::Info, "csp-remark", remark.clone()));
        }
    }
    if observations.iter().all(|o| o.level < Level::Warn) {
        observations.push(Observation::new(
            Level::Pass,
            "csp-ok",
            "Content-Security-Policy restricts scripts without unsafe sources",
        ));
    }
    finish(policies, observations)
}

fn finish(policies: Vec<CspPolicy>, mut observations: Vec<Observation>) -> CspReport {
    observations.sort_by_key(|o| std::cmp::Reverse(o.level));
    let level = worst(&observations);
    CspReport {
        policies,
        observations,
        level,
    }
}

fn judge_policy(policy: &CspPolicy) -> Vec<Observation> {
    let mut found = Vec::new();
    match policy.effective("script-src") {
        None => found.push(Observation::new(
            Level::Fail,
            "csp-scripts-unrestricted",
            "neither script-src nor default-src is set, so scripts are not restricted",
        )),
        Some(directive) => found.extend(judge_script_sources(directive)),
    }
    for name in ["script-src-elem", "script-src-attr"] {
        if let Some(directive) = policy.directive(name) {
            found.extend(judge_script_sources(directive));
        }
    }

    match policy.effective("object-src") {
        None => found.push(Observation::new(
            Level::Info,
            "csp-object-src-missing",
            "no object-src (nor default-src): plugin content is not restricted; \
             `object-src 'none'` is recommended",
        )),
        Some(directive) if is_broad(&directive.values) => found.push(Observation::new(
            Level::Info,
            "csp-object-src-broad",
            format!("{} allows any origin for plugin content", render(directive)),
        )),
        Some(_) => {}
    }
    if policy.directive("base-uri").is_none() {
        found.push(Observation::new(
            Level::Info,
            "csp-base-uri-missing",
            "no base-uri: an injected <base> can redirect relative script URLs; \
             `base-uri 'none'` or `'self'` is recommended",
        ));
    }
    found
}

fn judge_script_sources(directive: &CspDirective) -> Vec<Observation> {
    let values = &directive.values;
    let has = |keyword: &str| values.iter().any(|v| v.eq_ignore_ascii_case(keyword));
    let nonce_or_hash = values.iter().any(|v| is_nonce_or_hash(v));
    let strict_dynamic = has("'strict-dynamic'");
    let mut found = Vec::new();

    if has("'unsafe-inline'") {
        if nonce_or_hash || strict_dynamic {
            found.push(Observation::new(
                Level::Info,
                "csp-unsafe-inline-neutralised",
                format!(
                    "{}: 'unsafe-inline' is ignored by CSP3 browsers because a nonce, hash \
                     or 'strict-dynamic' is present (kept for old browsers)",
                    directive.name
                ),
            ));
        } else {
            found.push(Observation::new(
                Level::Fail,
                "csp-unsafe-inline",
                format!(
                    "{} allows 'unsafe-inline' without a nonce or hash: injected inline \
                     scripts run",
                    directive.name
                ),
            ));
        }
    }

    if !strict_dynamic {
        let broad: Vec<&str> = values
            .iter()
            .filter(|v| is_broad_source(v))
            .map(String::as_str)
            .collect();
        if !broad.is_empty() {
            found.push(Observation::new(
                Level::Fail,
                "csp-script-broad",
                format!(
                    "{} allows scripts from {}: any site of that kind can serve script",
                    directive.name,
                    broad.join(" ")
                ),
            ));
        }

        let insecure: Vec<&str> = values
            .iter()
            .filter(|v| v.to_ascii_lowercase().starts_with("http://"))
            .map(String::as_str)
            .collect();
        if !insecure.is_empty() {
            found.push(Observation::new(
                Level::Fail,
                "csp-script-insecure-scheme",
                format!(
                    "{} allows scripts over plain http: {}",
                    directive.name,
                    insecure.join(" ")
                ),
            ));
        }
    }

    if has("'unsafe-eval'") {
        found.push(Observation::new(
            Level::Warn,
            "csp-unsafe-eval",
            format!(
                "{} allows 'unsafe-eval' (eval and new Function)",
                directive.name
            ),
        ));
    }
    found
}

fn is_nonce_or_hash(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    lower.ends_with('\'')
        && ["'nonce-", "'sha256-", "'sha384-", "'sha512-"]
            .iter()
            .any(|prefix| lower.starts_with(prefix))
}

/// Sources that admit scripts from anywhere (or from data the page controls).
fn is_broad_source(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "*" | "http:" | "https:" | "data:" | "blob:" | "filesystem:" | "http://*" | "https://*"
    )
}

fn is_broad(values: &[String]) -> bool {
    values.iter().any(|v| is_broad_source(v))
}

fn render(directive: &CspDirective) -> String {
    if directive.values.is_empty() {
        directive.name.clone()
    } else {
        format!("{} {}", directive.name, directive.values.join(" "))
    }
}

/// Judges protection against framing (clickjacking).
///
/// A header CSP `frame-ancestors` directive takes precedence over
/// `X-Frame-Options` in current browsers. `X-Frame-Options` values are split
/// on commas across all fields; conflicting values make browsers ignore it,
/// `ALLOW-FROM` is obsolete and ignored.
pub fn analyze_framing(headers: &[(String, String)]) -> Observation {
    let policies: Vec<CspPolicy> = values(headers, "content-security-policy")
        .into_iter()
        .flat_map(|v| parse_csp(v, PolicyOrigin::Header))
        .collect();
    let ancestors: Vec<&CspDirective> = policies
        .iter()
        .filter_map(|p| p.directive("frame-ancestors"))
        .collect();
    if !ancestors.is_empty() {
        return match ancestors.iter().find(|d| !is_broad(&d.values)) {
            Some(directive) => Observation::new(
                Level::Pass,
                "framing-csp",
                format!("framing restricted by CSP `{}`", render(directive)),
            ),
            None => Observation::new(
                Level::Fail,
                "framing-csp-broad",
                format!(
                    "CSP `{}` lets any site frame the page (and overrides X-Frame-Options)",
                    render(ancestors[0])
                ),
            ),
        };
    }

    let raw = values(headers, "x-frame-options");
    if raw.is_empty() {
        return Observation::new(
            Level::Fail,
            "framing-unprotected",
            "neither CSP frame-ancestors nor X-Frame-Options is set: any site can frame \
             the page (clickjacking)",
        );
    }

    let mut distinct: Vec<String> = Vec::new();
    for value in raw.iter().flat_map(|v| v.split(',')) {
        let value = value.trim().to_ascii_lowercase();
        if !value.is_empty() && !distinct.contains(&value) {
            distinct.push(value);
        }
    }
    let shown = raw.join(", ");
    match distinct.as_slice() {
        [one] if one == "deny" || one == "sameorigin" => Observation::new(
            Level::Pass,
            "framing-xfo",
            format!("X-Frame-Options: {shown}"),
        ),
        [one] if one.starts_with("allow-from") => Observation::new(
            Level::Fail,
            "framing-xfo-allow-from",
            format!(
                "X-Frame-Options `{shown}`: ALLOW-FROM is obsolete and ignored by current \
                 browsers; use CSP frame-ancestors"
            ),
        ),
        [_, _, ..] => Observation::new(
            Level::Fail,
            "framing-xfo-conflict",
            format!("X-Frame-Options has conflicting values `{shown}`; browsers ignore it"),
        ),
        _ => Observation::new(
            Level::Fail,
            "framing-xfo-invalid",
            format!("X-Frame-Options `{shown}` is not DENY or SAMEORIGIN; browsers ignore it"),
        ),
    }
}

/// Judges `X-Content-Type-Options`: the first value must be `nosniff`
/// (ASCII case-insensitive, as the Fetch standard reads it).
pub fn analyze_content_type_options(headers: &[(String, String)]) -> Observation {
    let raw = values(headers, "x-content-type-options");
    let Some(first) = raw.first() else {
        return Observation::new(
            Level::Warn,
            "xcto-missing",
            "no X-Content-Type-Options: browsers may sniff content types",
        );
    };

    let first_value = first.split(',').next().unwrap_or_default().trim();
    if first_value.eq_ignore_ascii_case("nosniff") {
        Observation::new(Level::Pass, "xcto-ok", "X-Content-Type-Options: nosniff")
    } else {
        Observation::new(
            Level::Warn,
            "xcto-invalid",
            format!("X-Content-Type-Options `{first}` is not `nosniff`; browsers ignore it"),
        )
    }
}

/// A referrer policy token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrerPolicy {
    /// `no-referrer`.
    NoReferrer,
    /// `no-referrer-when-downgrade`.
    NoReferrerWhenDowngrade,
    /// `same-origin`.
    SameOrigin,
    /// `origin`.
    Origin,
    /// `strict-origin`.
    StrictOrigin,
    /// `origin-when-cross-origin`.
    OriginWhenCrossOrigin,
    /// `strict-origin-when-cross-origin` (the browser default).
    StrictOriginWhenCrossOrigin,
    /// `unsafe-url`.
    UnsafeUrl,
}

const REFERRER_TOKENS: [(&str, ReferrerPolicy); 8] = [
    ("no-referrer", ReferrerPolicy::NoReferrer),
    (
        "no-referrer-when-downgrade",
        ReferrerPolicy::NoReferrerWhenDowngrade,
    ),
    ("same-origin", ReferrerPolicy::SameOrigin),
    ("origin", ReferrerPolicy::Origin),
    ("strict-origin", ReferrerPolicy::StrictOrigin),
    (
        "origin-when-cross-origin",
        ReferrerPolicy::OriginWhenCrossOrigin,
    ),
    (
        "strict-origin-when-cross-origin",
        ReferrerPolicy::StrictOriginWhenCrossOrigin,
    ),
    ("unsafe-url", ReferrerPolicy::UnsafeUrl),
];

impl ReferrerPolicy {
    /// Parses one token (ASCII case-insensitive).
    pub fn from_token(token: &str) -> Option<Self> {
        REFERRER_TOKENS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(token.trim()))
            .map(|(_, policy)| *policy)
    }

    /// The token.
    pub fn as_str(self) -> &'static str {
        REFERRER_TOKENS
            .iter()
            .find(|(_, policy)| *policy == self)
            .map_or("", |(name, _)| name)
    }
}

impl fmt::Display for ReferrerPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The policy a `Referrer-Policy` header sets: the last valid token of the
/// comma-separated list (all fields joined); unknown tokens are skipped.
pub fn referrer_policy_from_header(values: &[&str]) -> Option<ReferrerPolicy> {
    values
        .iter()
        .rev()
        .flat_map(|v| v.split(',').rev())
        .find_map(ReferrerPolicy::from_token)
}

/// The policy a `<meta name="referrer" content=...>` sets per the HTML
/// standard: one token (legacy `never`, `default`, `always` and
/// `origin-when-crossorigin` mapped); a comma list is not valid there.
pub fn referrer_policy_from_meta(content: &str) -> Option<ReferrerPolicy> {
    let value = content.trim().to_ascii_lowercase();
    let mapped = match value.as_str() {
        "never" => "no-referrer",
        "default" => "strict-origin-when-cross-origin",
        "always" => "unsafe-url",
        "origin-when-crossorigin" => "origin-when-cross-origin",
        other => other,
    };
    ReferrerPolicy::from_token(mapped)
}

/// Judges the referrer policy in effect: the header, overridden by a valid
/// `<meta name="referrer">` when `meta` is given.
pub fn analyze_referrer_policy(headers: &[(String, String)], meta: &MetaPolicies) -> Observation {
    let raw = values(headers, "referrer-policy");
    let from_header = referrer_policy_from_header(&raw);
    let from_meta = meta.referrer.as_deref().and_then(referrer_policy_from_meta);

    let (policy, source) = match (from_meta, from_header) {
        (Some(policy), _) => (policy, "<meta name=referrer>"),
        (None, Some(policy)) => (policy, "Referrer-Policy header"),
        (None, None) => {
            let mut reasons = Vec::new();
            if !raw.is_empty() {
                reasons.push(format!(
                    "Referrer-Policy `{}` has no valid token",
                    raw.join(", ")
                ));
            }
            if let Some(content) = &meta.referrer {
                reasons.push(format!(
                    "<meta name=referrer content=\"{content}\"> is not a single valid token"
                ));
            }
            if reasons.is_empty() {
                return Observation::new(
                    Level::Pass,
                    "referrer-default",
                    "no Referrer-Policy: browsers apply strict-origin-when-cross-origin",
                );
            }
            return Observation::new(
                Level::Warn,
                "referrer-invalid",
                format!(
                    "{}; browsers fall back to strict-origin-when-cross-origin",
                    reasons.join("; ")
                ),
            );
        }
    };

    match policy {
        ReferrerPolicy::UnsafeUrl | ReferrerPolicy::NoReferrerWhenDowngrade => Observation::new(
            Level::Warn,
            "referrer-weak",
            format!("{source} sets `{policy}`: full URLs (paths, query strings) go to other sites"),
        ),
        ReferrerPolicy::Origin | ReferrerPolicy::OriginWhenCrossOrigin => Observation::new(
            Level::Info,
            "referrer-origin",
            format!("{source} sets `{policy}`: the origin is sent even on HTTPS to HTTP"),
        ),
        _ => Observation::new(
            Level::Pass,
            "referrer-ok",
            format!("{source} sets `{policy}`"),
        ),
    }
}

/// Policies found in `<meta>` elements of an HTML page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetaPolicies {
    /// `content` of each `<meta http-equiv="Content-Security-Policy">`, in order.
    pub csp: Vec<String>,
    /// `content` of the last `<meta name="referrer">`.
    pub referrer: Option<String>,
    /// `http-equiv` values browsers do not honour in `<meta>` (for example
    /// `X-Frame-Options`), as written.
    pub ignored: Vec<String>,
}

/// Extracts CSP and referrer policy from `<meta>` elements. `http-equiv` and
/// `name` are matched ASCII case-insensitively after trimming whitespace.
pub fn parse_meta_policies(html: &str) -> MetaPolicies {
    let mut found = MetaPolicies::default();
    for tag in scan_tags(html) {
        if tag.name != "meta" {
            continue;
        }
        let content = tag.attribute("content");
        if let Some(equiv) = tag.attribute("http-equiv") {
            let equiv = equiv.trim();
            if equiv.eq_ignore_ascii_case("content-security-policy") {
                if let Some(content) = content {
                    found.csp.push(content.to_string());
                }
            } else if [
                "x-frame-options",
                "strict-transport-security",
                "referrer-policy",
            ]
            .iter()
            .any(|name| equiv.eq_ignore_ascii_case(name))
            {
                found.ignored.push(equiv.to_string());
            }
        }
        if let (Some(name), Some(content)) = (tag.attribute("name"), content)
            && name.trim().eq_ignore_ascii_case("referrer")
        {
            found.referrer = Some(content.to_string());
        }
    }
    found
}

/// All header analyses of one HTTPS response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityHeaders {
    /// Content-Security-Policy.
    pub csp: CspReport,
    /// Framing protection.
    pub framing: Observation,
    /// X-Content-Type-Options.
    pub content_type_options: Observation,
    /// Referrer policy.
    pub referrer_policy: Observation,
    /// `<meta>` policies found in the body, if one was given.
    pub meta: MetaPolicies,
}

/// Runs every header analysis; `html` is the response body when it is HTML.
pub fn analyze_security_headers(
    headers: &[(String, String)],
    html: Option<&str>,
) -> SecurityHeaders {
    let meta = html.map(parse_meta_policies).unwrap_or_default();
    SecurityHeaders {
        csp: analyze_csp(headers, &meta.csp),
        framing: analyze_framing(headers),
        content_type_options: analyze_content_type_options(headers),
        referrer_policy: analyze_referrer_policy(headers, &meta),
        meta,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn codes(report: &CspReport) -> Vec<&'static str> {
        report.observations.iter().map(|o| o.code).collect()
    }

    #[test]
    fn csp_parsing_and_fallback() {
        let policies = parse_csp(
            "default-src 'self'; SCRIPT-SRC 'self' https://cdn.test; script-src *;;",
            PolicyOrigin::Header,
        );
        assert_eq!(policies.len(), 1);
        let policy = &policies[0];
        assert_eq!(
            policy.effective("script-src").map(|d| d.values.clone()),
            Some(vec!["'self'".to_string(), "https://cdn.test".to_string()])
        );
        assert_eq!(
            policy.effective("img-src").map(|d| d.name.as_str()),
            Some("default-src")
        );
        assert_eq!(policy.remarks.len(), 1, "duplicate script-src is remarked");
        assert_eq!(
            parse_csp("a 'self', b 'none'", PolicyOrigin::Header).len(),
            2
        );
    }

    #[test]
    fn strict_policy_passes() {
        let headers = h(&[(
            "content-security-policy",
            "default-src 'none'; script-src 'self'; object-src 'none'; base-uri 'none'",
        )]);
        let report = analyze_csp(&headers, &[]);
        assert_eq!(report.level, Level::Pass, "{report:?}");
    }

    #[test]
    fn unsafe_inline_fails_unless_neutralised() {
        let bad = analyze_csp(
            &h(&[(
                "content-security-policy",
                "script-src 'self' 'unsafe-inline'",
            )]),
            &[],
        );
        assert_eq!(bad.level, Level::Fail);
        assert!(codes(&bad).contains(&"csp-unsafe-inline"));

        for neutraliser in ["'nonce-abc123'", "'sha256-AAAA'", "'strict-dynamic'"] {
            let value = format!(
                "script-src 'unsafe-inline' {neutraliser}; object-src 'none'; base-uri 'self'"
            );
            let good = analyze_csp(&h(&[("content-security-policy", &value)]), &[]);
            assert!(good.level < Level::Warn, "{neutraliser}: {good:?}");
            assert!(codes(&good).contains(&"csp-unsafe-inline-neutralised"));
        }
    }

    #[test]
    fn default_src_fallback_is_judged() {
        let report = analyze_csp(
            &h(&[(
                "content-security-policy",
                "default-src 'self' 'unsafe-inline'",
            )]),
            &[],
        );
        assert!(codes(&report).contains(&"csp-unsafe-inline"));
        let report = analyze_csp(&h(&[("content-security-policy", "img-src 'self'")]), &[]);
        assert!(codes(&report).contains(&"csp-scripts-unrestricted"));
    }

    #[test]
    fn broad_and_insecure_sources() {
        let report = analyze_csp(&h(&[("content-security-policy", "script-src https:")]), &[]);
        assert!(codes(&report).contains(&"csp-script-broad"));
        let report = analyze_csp(
            &h(&[("content-security-policy", "script-src http://cdn.test")]),
            &[],
        );
        assert!(codes(&report).contains(&"csp-script-insecure-scheme"));
        let report = analyze_csp(
            &h(&[(
                "content-security-policy",
                "script-src 'nonce-x' 'strict-dynamic' https:; object-src 'none'; base-uri 'none'",
            )]),
            &[],
        );
        assert_eq!(
            report.level,
            Level::Pass,
            "strict-dynamic ignores https: {report:?}"
        );
    }

    #[test]
    fn lower_notes() {
        let report = analyze_csp(
            &h(&[("content-security-policy", "script-src 'self' 'unsafe-eval'")]),
            &[],
        );
        let found = codes(&report);
        assert!(found.contains(&"csp-unsafe-eval"));
        assert!(found.contains(&"csp-object-src-missing"));
        assert!(found.contains(&"csp-base-uri-missing"));
        assert_eq!(report.level, Level::Warn);
    }

    #[test]
    fn one_strict_policy_among_several_wins() {
        let headers = h(&[
            ("content-security-policy", "script-src * 'unsafe-inline'"),
            (
                "content-security-policy",
                "script-src 'self'; object-src 'none'; base-uri 'none'",
            ),
        ]);
        let report = analyze_csp(&headers, &[]);
        assert_eq!(report.level, Level::Pass, "{report:?}");
    }

    #[test]
    fn missing_and_report_only() {
        assert_eq!(codes(&analyze_csp(&[], &[])), vec!["csp-missing"]);
        let headers = h(&[("content-security-policy-report-only", "default-src 'none'")]);
        assert_eq!(codes(&analyze_csp(&headers, &[])), vec!["csp-report-only"]);
    }

    #[test]
    fn framing_both_ways() {
        let code = |pairs: &[(&str, &str)]| analyze_framing(&h(pairs)).code;
        assert_eq!(code(&[("x-frame-options", "DENY")]), "framing-xfo");
        assert_eq!(code(&[("x-frame-options", " sameorigin ")]), "framing-xfo");
        assert_eq!(code(&[("x-frame-options", "DENY, DENY")]), "framing-xfo");
        assert_eq!(
            code(&[("x-frame-options", "ALLOW-FROM https://a.test")]),
            "framing-xfo-allow-from"
        );
        assert_eq!(
            code(&[
                ("x-frame-options", "DENY"),
                ("x-frame-options", "SAMEORIGIN")
            ]),
            "framing-xfo-conflict"
        );
        assert_eq!(code(&[("x-frame-options", "yes")]), "framing-xfo-invalid");
        assert_eq!(code(&[]), "framing-unprotected");
        assert_eq!(
            code(&[("content-security-policy", "frame-ancestors 'none'")]),
            "framing-csp"
        );
        assert_eq!(
            code(&[
                ("content-security-policy", "frame-ancestors *"),
                ("x-frame-options", "DENY"),
            ]),
            "framing-csp-broad"
        );
        let pass = analyze_framing(&h(&[("x-frame-options", "DENY")]));
        assert_eq!(pass.level, Level::Pass);
    }

    #[test]
    fn content_type_options_both_ways() {
        let level = |pairs: &[(&str, &str)]| analyze_content_type_options(&h(pairs)).level;
        assert_eq!(level(&[("x-content-type-options", "nosniff")]), Level::Pass);
        assert_eq!(level(&[("x-content-type-options", "NoSniff")]), Level::Pass);
        assert_eq!(
            level(&[("x-content-type-options", "no-sniff")]),
            Level::Warn
        );
        assert_eq!(level(&[]), Level::Warn);
    }

    #[test]
    fn referrer_policy_last_valid_token_wins() {
        assert_eq!(
            referrer_policy_from_header(&["no-referrer, unknown-thing"]),
            Some(ReferrerPolicy::NoReferrer)
        );
        assert_eq!(
            referrer_policy_from_header(&["unsafe-url", "strict-origin"]),
            Some(ReferrerPolicy::StrictOrigin)
        );
        assert_eq!(referrer_policy_from_header(&["nope"]), None);

        let judge = |value: &str| {
            analyze_referrer_policy(&h(&[("referrer-policy", value)]), &MetaPolicies::default())
        };
        assert_eq!(judge("strict-origin-when-cross-origin").level, Level::Pass);
        assert_eq!(judge("no-referrer, unsafe-url").code, "referrer-weak");
        assert_eq!(judge("no-referrer-when-downgrade").code, "referrer-weak");
        assert_eq!(judge("origin").level, Level::Info);
        assert_eq!(judge("bogus").code, "referrer-invalid");
        let none = analyze_referrer_policy(&[], &MetaPolicies::default());
        assert_eq!(none.code, "referrer-default");
    }

    #[test]
    fn meta_referrer_overrides_header() {
        let meta = parse_meta_policies("<meta name=referrer content=never>");
        assert_eq!(meta.referrer.as_deref(), Some("never"));
        let verdict = analyze_referrer_policy(&h(&[("referrer-policy", "unsafe-url")]), &meta);
        assert_eq!(verdict.code, "referrer-ok");
        assert!(verdict.reason.contains("no-referrer"));
    }
}
