//! What a correct audit of the demo reports, part by part.
//!
//! Each entry names the check, the subject and the finding code. Tests run
//! the real binary against the demo and require exactly these findings: a
//! missing one is a missed flaw, an extra one a false positive on a twin.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Expected {
    pub check: String,
    pub subject: String,
    pub code: String,
}

fn expect(check: &str, subject: &str, code: &str) -> Expected {
    Expected {
        check: check.into(),
        subject: subject.into(),
        code: code.into(),
    }
}

fn origin(url: &str) -> String {
    url.trim_end_matches('/').to_string()
}

/// The `https` part: the hardened origin has no finding; the legacy one has these.
pub fn https(_app_https: &str, legacy_https: &str) -> Vec<Expected> {
    let legacy = origin(legacy_https);
    [
        "https.http-no-redirect",
        "https.cert-expiring",
        "https.hsts-short",
        "https.hsts-no-subdomains",
        "https.cookie-not-secure",
        "https.cookie-not-httponly",
        "https.cookie-samesite-missing",
        "https.mixed-content",
        "https.csp-missing",
        "https.xcto-missing",
        "https.framing-unprotected",
        "https.referrer-policy-missing",
    ]
    .iter()
    .map(|code| expect("https", &legacy, code))
    .collect()
}

/// The access part (`demo/access.rs`): one finding per planted flaw, none on the twins.
pub fn access() -> Vec<Expected> {
    vec![
        expect("auth", "settings v1", "auth.jwt-alg-none"),
        expect("auth", "accept invite", "auth.no-credential-accepted"),
        expect("auth", "identity carol", "auth.jwt-weak-secret"),
        expect("auth", "login", "auth.account-enumeration"),
        expect("auth", "mobile login", "auth.account-enumeration"),
        // The input part's `signup v2` answers 409 "already registered" for a known e-mail.
        expect("auth", "signup v2", "auth.account-enumeration"),
        expect("auth", "logout v1", "auth.revoked-session-accepted"),
        expect("auth", "file download", "auth.credential-in-query"),
        expect("auth", "file download", "auth.credential-alt-carrier"),
        expect("tenant", "invoices", "tenant.id-swap-query"),
        expect("tenant", "ticket", "tenant.sequential-ids"),
        expect(
            "cors",
            "preview feed",
            "cors.origin-reflected-with-credentials",
        ),
        expect("tenant", "org members", "tenant.cross-tenant-access"),
        expect("tenant", "create report", "tenant.id-swap-body"),
        expect("tenant", "audit log", "tenant.role-not-enforced"),
        expect(
            "cors",
            "embed feed",
            "cors.origin-reflected-with-credentials",
        ),
    ]
}

/// The operational part: hygiene flaws on the legacy origin and the
/// production env file; the hardened origin's SPA catch-all is a decoy.
pub fn ops(app_https: &str, legacy_https: &str) -> Vec<Expected> {
    let legacy = origin(legacy_https);
    let mut out: Vec<Expected> = [
        "hygiene.env-exposed",
        "hygiene.git-exposed",
        "hygiene.stack-trace",
        "hygiene.version-disclosed",
    ]
    .iter()
    .map(|code| expect("hygiene", &legacy, code))
    .collect();
    for code in ["hygiene.env-test-key", "hygiene.env-local-url"] {
        out.push(expect("hygiene", "env/production.env", code));
    }
    let lying = format!("{}/health/lying", origin(app_https));
    out.push(expect(
        "monitoring",
        &lying,
        "monitoring.health-hides-failure",
    ));
    out.push(expect(
        "monitoring",
        "monitors",
        "monitoring.flow-unmonitored",
    ));
    out.push(expect("edge", &legacy, "edge.no-cdn"));
    out
}

/// The `latency` part: the export report is over budget; its summary twin is not.
pub fn latency() -> Vec<Expected> {
    vec![expect(
        "latency",
        "/api/reports/export",
        "latency.p95-over-budget",
    )]
}

/// The `rate_limit` part: login never throttles; password reset does, and
/// survives the X-Forwarded-For and letter-case probes.
pub fn rate_limit() -> Vec<Expected> {
    vec![expect("rate_limit", "login", "rate_limit.not-throttled")]
}

/// The `input` part: the flawed signup (its crash is a stack-trace page),
/// lookup and preview, and `join`, whose stored role only the follow-up
/// read shows; their twins (`signup v2`, `org lookup`, `profile preview
/// (escaped)`) have no finding, and the lookup's plain 500 is no debug page.
pub fn input() -> Vec<Expected> {
    [
        ("signup", "input.server-error"),
        ("signup", "input.debug-page"),
        ("signup", "input.invalid-accepted"),
        ("signup", "input.mass-assignment"),
        ("join", "input.mass-assignment"),
        ("org by name", "input.server-error"),
        ("org by name", "input.database-error"),
        ("profile preview", "input.reflected-markup"),
    ]
    .iter()
    .map(|(subject, code)| expect("input", subject, code))
    .collect()
}

/// The `email` part: the good domain and the sample mail have no finding;
/// the broken twin has these.
pub fn email() -> Vec<Expected> {
    [
        "email.spf-pass-all",
        "email.spf-lookup-limit",
        "email.dmarc-missing",
        "email.dkim-key-revoked",
    ]
    .iter()
    .map(|code| expect("email", super::email::BROKEN_DOMAIN, code))
    .collect()
}

/// The secrets part (`demo/secrets.rs`): the planted keys, none of the decoys.
pub fn secrets(app_https: &str) -> Vec<Expected> {
    let site = origin(app_https);
    vec![
        expect("secrets", "repo (work tree)", "secrets.live-credential"),
        expect("secrets", "repo (work tree)", "secrets.test-key"),
        expect("secrets", "repo (git history)", "secrets.history-only"),
        expect("secrets", &site, "secrets.live-credential"),
        expect("secrets", &site, "secrets.source-map-public"),
    ]
}
