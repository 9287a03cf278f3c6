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
