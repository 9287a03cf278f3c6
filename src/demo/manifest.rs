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
    ["https.http-no-redirect"]
        .iter()
        .map(|code| expect("https", &legacy, code))
        .collect()
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

/// The `input` part: the flawed signup, lookup and preview; their twins
/// (`signup v2`, `org lookup`, `profile preview (escaped)`) have no finding.
pub fn input() -> Vec<Expected> {
    [
        ("signup", "input.server-error"),
        ("signup", "input.invalid-accepted"),
        ("signup", "input.mass-assignment"),
        ("org by name", "input.server-error"),
        ("org by name", "input.database-error"),
        ("profile preview", "input.reflected-markup"),
    ]
    .iter()
    .map(|(subject, code)| expect("input", subject, code))
    .collect()
}
