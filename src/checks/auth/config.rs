//! `[checks.auth]`: settings of the auth check.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAuth {
    pub enabled: Option<bool>,
    /// This check's own write opt-in (the master switch is `[target] allow_writes`).
    pub allow_writes: Option<bool>,
    /// Samples per case when comparing answers for known and unknown accounts.
    pub timing_samples: Option<u64>,
    /// More HMAC secrets to try besides the built-in list and the names.
    #[serde(default)]
    pub extra_secrets: Vec<String>,
    /// Fixes the fresh unknown account names of the enumeration probes; random when absent.
    pub seed: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub enabled: bool,
    pub allow_writes: bool,
    pub timing_samples: u64,
    pub extra_secrets: Vec<String>,
    /// Seeds the fresh, never-registered account names the enumeration probes use.
    pub seed: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            enabled: true,
            allow_writes: false,
            timing_samples: 3,
            extra_secrets: Vec::new(),
            seed: rand::random::<u32>() as u64,
        }
    }
}

pub fn resolve(raw: Option<RawAuth>) -> Result<AuthSettings, String> {
    let raw = raw.unwrap_or_default();
    let timing_samples = raw.timing_samples.unwrap_or(3);
    if !(1..=20).contains(&timing_samples) {
        return Err(format!(
            "timing_samples = {timing_samples} is out of range; use 1 to 20"
        ));
    }
    Ok(AuthSettings {
        enabled: raw.enabled.unwrap_or(true),
        allow_writes: raw.allow_writes.unwrap_or(false),
        timing_samples,
        extra_secrets: raw.extra_secrets,
        seed: raw.seed.unwrap_or_else(|| rand::random::<u32>() as u64),
    })
}
