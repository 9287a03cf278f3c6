//! The production env file compared by key with the development and staging
//! ones: shared secret values (compared by SHA-256, never shown), test-mode
//! keys, loopback or private addresses in public URLs, debug flags, and keys
//! development has that production lacks. Findings name keys, never values;
//! the values themselves are the `secrets` check's to report.

use std::net::IpAddr;

use sha2::{Digest, Sha256};

use super::leaks::secret_bearing;
use crate::envfile::EnvFile;

/// One problem of the production file, by key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvProblem {
    pub code: &'static str,
    pub keys: Vec<String>,
    /// Which file the keys were compared with (for shared values and missing keys).
    pub other: Option<String>,
    /// A non-secret detail (a public prefix such as `sk_test_`, "loopback").
    pub detail: String,
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

/// Public prefixes and hosts of test-mode credentials and sandboxes.
const TEST_PREFIXES: &[&str] = &["sk_test_", "pk_test_", "rk_test_", "whsec_test_", "SG.test"];
const SANDBOX_HOSTS: &[&str] = &[
    "sandbox.",
    ".sandbox.",
    "api.sandbox.",
    "sandbox-",
    "api-m.sandbox.paypal.com",
    "test.api.",
];

/// The test-mode marker in a value, if any (a public prefix or a sandbox host).
pub fn test_marker(value: &str) -> Option<&'static str> {
    let v = value.trim();
    if let Some(p) = TEST_PREFIXES.iter().find(|p| v.starts_with(*p)) {
        return Some(p);
    }
    let host = url_host(v)?;
    SANDBOX_HOSTS
        .iter()
        .find(|h| host.starts_with(*h) || host.contains(*h))
        .map(|_| "sandbox host")
}

fn url_host(value: &str) -> Option<String> {
    let url = url::Url::parse(value.trim()).ok()?;
    url.host_str()
        .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
}

/// "loopback" or "private" when a URL value points at such a host.
pub fn local_host_kind(value: &str) -> Option<&'static str> {
    let host = url_host(value)?;
    if host == "localhost" || host.ends_with(".localhost") || host == "host.docker.internal" {
        return Some("loopback");
    }
    if host.ends_with(".local") || host.ends_with(".internal") {
        return Some("private");
    }
    match host.parse::<IpAddr>().ok()? {
        IpAddr::V4(ip) if ip.is_loopback() || ip.is_unspecified() => Some("loopback"),
        IpAddr::V4(ip) if ip.is_private() || ip.is_link_local() => Some("private"),
        IpAddr::V6(ip) if ip.is_loopback() || ip.is_unspecified() => Some("loopback"),
        IpAddr::V6(ip) if (ip.segments()[0] & 0xfe00) == 0xfc00 => Some("private"),
        _ => None,
    }
}

/// Keys whose URL is handed to browsers, mail recipients or third parties.
fn public_url_key(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    let base = k.ends_with("BASE_URL") && !k.ends_with("DATABASE_URL");
    [
        "PUBLIC", "APP_URL", "SITE_URL", "FRONTEND", "CALLBACK", "REDIRECT", "WEBHOOK",
    ]
    .iter()
    .any(|w| k.contains(w))
        || base
        || k == "URL"
        || k == "HOST"
}

/// The debug flags that must be off in production.
pub fn debug_flag(key: &str, value: &str) -> bool {
    let k = key.to_ascii_uppercase();
    let v = value.trim().to_ascii_lowercase();
    let truthy = matches!(v.as_str(), "1" | "true" | "yes" | "on");
    let dev = matches!(v.as_str(), "development" | "dev" | "local" | "debug");
    match k.as_str() {
        "NODE_ENV"
        | "APP_ENV"
        | "RAILS_ENV"
        | "RACK_ENV"
        | "FLASK_ENV"
        | "ENVIRONMENT"
        | "ASPNETCORE_ENVIRONMENT"
        | "DOTNET_ENVIRONMENT"
        | "MIX_ENV" => dev,
        "SPRING_PROFILES_ACTIVE" => v.split(',').any(|p| matches!(p.trim(), "dev" | "local")),
        _ => (k == "DEBUG" || k.ends_with("_DEBUG") || k.starts_with("DEBUG_")) && truthy,
    }
}

/// Keys that only make sense in development (not expected in production).
fn dev_only(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    k.split('_')
        .any(|p| matches!(p, "DEV" | "DEBUG" | "TEST" | "LOCAL" | "MOCK"))
}

/// Compares `prod` with the other files (each with the name to show).
pub fn compare(prod: &EnvFile, others: &[(String, EnvFile)]) -> Vec<EnvProblem> {
    let mut out = Vec::new();

    for (name, other) in others {
        let shared: Vec<String> = prod
            .keys()
            .into_iter()
            .filter(|k| secret_bearing(k))
            .filter(|k| {
                let (Some(p), Some(o)) = (prod.get(k), other.get(k)) else {
                    return false;
                };
                !p.value.expose().trim().is_empty()
                    && digest(p.value.expose()) == digest(o.value.expose())
            })
            .map(str::to_string)
            .collect();
        if !shared.is_empty() {
            out.push(EnvProblem {
                code: "hygiene.env-shared-secret",
                keys: shared,
                other: Some(name.clone()),
                detail: "equal SHA-256 of the values".into(),
            });
        }
    }

    let mut test_keys = Vec::new();
    let mut markers: Vec<&str> = Vec::new();
    let mut local_keys = Vec::new();
    let mut kinds: Vec<&str> = Vec::new();
    let mut debug_keys = Vec::new();
    for key in prod.keys() {
        let Some(entry) = prod.get(key) else { continue };
        if let Some(m) = test_marker(entry.value.expose()) {
            test_keys.push(key.to_string());
            if !markers.contains(&m) {
                markers.push(m);
            }
        }
        if let Some(kind) = local_host_kind(entry.value.expose())
            && (kind == "loopback" || public_url_key(key))
        {
            local_keys.push(key.to_string());
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        if debug_flag(key, entry.value.expose()) {
            debug_keys.push(key.to_string());
        }
    }
    if !test_keys.is_empty() {
        out.push(EnvProblem {
            code: "hygiene.env-test-key",
            keys: test_keys,
            other: None,
            detail: markers.join(", "),
        });
    }
    if !local_keys.is_empty() {
        out.push(EnvProblem {
            code: "hygiene.env-local-url",
            keys: local_keys,
            other: None,
            detail: kinds.join(", "),
        });
    }
    if !debug_keys.is_empty() {
        out.push(EnvProblem {
            code: "hygiene.env-debug-flag",
            keys: debug_keys,
            other: None,
            detail: "a debug or development setting".into(),
        });
    }

    for (name, other) in others {
        let missing: Vec<String> = other
            .keys()
            .into_iter()
            .filter(|k| prod.get(k).is_none() && !dev_only(k))
            .map(str::to_string)
            .collect();
        if !missing.is_empty() {
            out.push(EnvProblem {
                code: "hygiene.env-missing-key",
                keys: missing,
                other: Some(name.clone()),
                detail: "present there, absent in production".into(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envfile::parse;

    fn codes(p: &[EnvProblem]) -> Vec<&'static str> {
        p.iter().map(|x| x.code).collect()
    }

    const GOOD_PROD: &str = "NODE_ENV=production\nDEBUG=false\nAPP_URL=https://app.acme.example\n\
        DB_HOST=10.0.0.5\nDATABASE_URL=postgres://u:prod-pass-1@10.0.0.5/app\n\
        STRIPE_SECRET_KEY=sk_live_prodvalue\nAPP_NAME=Acme\n";
    const DEV: &str = "NODE_ENV=development\nDEBUG=true\nAPP_URL=http://localhost:3000\n\
        DB_HOST=127.0.0.1\nDATABASE_URL=postgres://u:dev@localhost/app\n\
        STRIPE_SECRET_KEY=sk_test_devvalue\nAPP_NAME=Acme\nDEV_SEED=1\n";

    #[test]
    fn a_clean_production_file_passes() {
        let got = compare(&parse(GOOD_PROD), &[("dev".into(), parse(DEV))]);
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn shared_secret_is_found_by_hash_and_shown_by_key() {
        let staging = DEV.replace("sk_test_devvalue", "sk_live_prodvalue");
        let got = compare(&parse(GOOD_PROD), &[("staging".into(), parse(&staging))]);
        assert_eq!(codes(&got), vec!["hygiene.env-shared-secret"]);
        assert_eq!(got[0].keys, vec!["STRIPE_SECRET_KEY".to_string()]);
        assert!(!format!("{got:?}").contains("prodvalue"));
    }

    #[test]
    fn test_keys_local_urls_and_debug_flags_are_found() {
        let prod = "STRIPE_SECRET_KEY=sk_test_abc\nPAYPAL_API=https://api-m.sandbox.paypal.com\n\
                    APP_URL=http://localhost:3000\nCALLBACK_URL=https://192.168.1.20/cb\n\
                    NODE_ENV=development\nAPP_DEBUG=true\nAPP_ENV=local\n";
        let got = compare(&parse(prod), &[]);
        assert_eq!(
            codes(&got),
            vec![
                "hygiene.env-test-key",
                "hygiene.env-local-url",
                "hygiene.env-debug-flag"
            ]
        );
        assert_eq!(got[0].keys, vec!["STRIPE_SECRET_KEY", "PAYPAL_API"]);
        assert_eq!(got[1].keys, vec!["APP_URL", "CALLBACK_URL"]);
        assert_eq!(got[2].keys, vec!["NODE_ENV", "APP_DEBUG", "APP_ENV"]);
    }

    #[test]
    fn missing_keys_ignore_dev_only_names() {
        let prod = "NODE_ENV=production\n";
        let dev = "NODE_ENV=development\nSENTRY_DSN=x\nDEV_SEED=1\nMOCK_MAIL=1\n";
        let got = compare(&parse(prod), &[("dev".into(), parse(dev))]);
        assert_eq!(codes(&got), vec!["hygiene.env-missing-key"]);
        assert_eq!(got[0].keys, vec!["SENTRY_DSN"]);
    }

    #[test]
    fn private_addresses_are_fine_for_internal_services() {
        assert_eq!(
            local_host_kind("postgres://u:p@10.0.0.5/db"),
            Some("private")
        );
        let got = compare(&parse("REDIS_URL=redis://10.1.2.3:6379\n"), &[]);
        assert!(got.is_empty(), "{got:?}");
        assert!(!debug_flag("DEBUG", "false") && debug_flag("DEBUG", "1"));
        assert!(!debug_flag("NODE_ENV", "production"));
        assert_eq!(test_marker("sk_live_abc"), None);
        assert_eq!(test_marker("https://api.stripe.com"), None);
    }
}
