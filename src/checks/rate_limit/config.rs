//! `[checks.rate_limit]`: which endpoints are hammered, how many wrong
//! attempts at what rate, which account they use, and the opt-in bypass probe.

use serde::Deserialize;
use toml::Spanned;

use crate::profile::access::{CredentialSource, Endpoint, Identity, LoginBody};
use crate::profile::check_config::ConfigError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    pub enabled: Option<bool>,
    /// `[[endpoint]]` names; default: every endpoint of kind login, signup
    /// or password_reset.
    #[serde(default)]
    pub endpoints: Vec<Spanned<String>>,
    /// Wrong attempts sent at most; throttling must start at or before it.
    pub attempts: Option<Spanned<u64>>,
    /// Attempts per second.
    pub rate: Option<Spanned<f64>>,
    /// The account probed: one that does not exist or a throwaway one.
    pub account: Option<Spanned<String>>,
    /// Also test that rotating X-Forwarded-For or the username's letter
    /// case does not reset the limit.
    pub bypass_probe: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// Endpoint names; empty means "by kind".
    pub endpoints: Vec<String>,
    pub attempts: u64,
    pub rate: f64,
    pub account: Option<String>,
    pub bypass_probe: bool,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            enabled: true,
            endpoints: Vec::new(),
            attempts: DEFAULT_ATTEMPTS,
            rate: DEFAULT_RATE,
            account: None,
            bypass_probe: false,
        }
    }
}

pub const DEFAULT_ATTEMPTS: u64 = 30;
pub const DEFAULT_RATE: f64 = 5.0;
/// Kinds probed when no endpoint is named.
pub const KINDS: &[&str] = &["login", "signup", "password_reset"];

impl RateLimitSettings {
    /// The endpoints probed, in profile order.
    pub fn selected<'a>(&self, endpoints: &'a [Endpoint]) -> Vec<&'a Endpoint> {
        endpoints
            .iter()
            .filter(|e| {
                if self.endpoints.is_empty() {
                    e.kind.as_deref().is_some_and(|k| KINDS.contains(&k))
                } else {
                    self.endpoints.contains(&e.name)
                }
            })
            .collect()
    }
}

/// Whether `account` is the login of an identity that is not a throwaway.
pub fn shared_identity_with<'a>(identities: &'a [Identity], account: &str) -> Option<&'a str> {
    identities
        .iter()
        .filter(|i| !i.throwaway)
        .find(|i| match &i.credential {
            CredentialSource::Login(l) => match &l.body {
                Some(LoginBody::Json(t)) | Some(LoginBody::Form(t)) => t
                    .render()
                    .as_object()
                    .is_some_and(|o| o.values().any(|v| v.as_str() == Some(account))),
                None => false,
            },
            _ => false,
        })
        .map(|i| i.name.as_str())
}

pub fn resolve(
    raw: Option<RawRateLimit>,
    endpoints: &[Endpoint],
    identities: &[Identity],
) -> Result<RateLimitSettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(RateLimitSettings::default());
    };
    let key = |k: &str| format!("[checks.rate_limit] {k}");
    let mut names = Vec::new();
    for e in &raw.endpoints {
        if !endpoints.iter().any(|ep| &ep.name == e.get_ref()) {
            return Err(ConfigError::new(
                e.span(),
                &key("endpoints"),
                format!("no [[endpoint]] is named `{}`", e.get_ref()),
            ));
        }
        names.push(e.get_ref().clone());
    }
    let attempts = match &raw.attempts {
        None => DEFAULT_ATTEMPTS,
        Some(a) if (1..=1000).contains(a.get_ref()) => *a.get_ref(),
        Some(a) => {
            return Err(ConfigError::new(
                a.span(),
                &key("attempts"),
                "must be 1 to 1000",
            ));
        }
    };
    let rate = match &raw.rate {
        None => DEFAULT_RATE,
        Some(r) if r.get_ref().is_finite() && *r.get_ref() > 0.0 => *r.get_ref(),
        Some(r) => {
            return Err(ConfigError::new(
                r.span(),
                &key("rate"),
                "must be above zero",
            ));
        }
    };
    if let Some(a) = &raw.account
        && let Some(name) = shared_identity_with(identities, a.get_ref())
    {
        return Err(ConfigError::new(
            a.span(),
            &key("account"),
            format!(
                "`{}` is the login of identity `{name}`, which is not marked throwaway; \
                 probing it could lock a shared account",
                a.get_ref()
            ),
        ));
    }
    Ok(RateLimitSettings {
        enabled: raw.enabled.unwrap_or(true),
        endpoints: names,
        attempts,
        rate,
        account: raw.account.map(|a| a.into_inner()),
        bypass_probe: raw.bypass_probe.unwrap_or(false),
    })
}
