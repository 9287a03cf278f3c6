//! `[checks.input]`: the write opt-in, the seed that fixes the mutation
//! order, the per-endpoint bound, test-data domain and the slowness factor.

use serde::Deserialize;
use toml::Spanned;

use crate::profile::check_config::ConfigError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    pub enabled: Option<bool>,
    /// Second opt-in (with `[target] allow_writes`) for mutating endpoints.
    pub allow_writes: Option<bool>,
    /// Fixes the order of mutations and the test values; random when absent.
    pub seed: Option<u64>,
    /// Most mutation requests per endpoint.
    pub max_requests_per_endpoint: Option<Spanned<u64>>,
    /// Domain of the unique email addresses used as test data.
    pub email_domain: Option<String>,
    /// A response this many times slower than the baseline (and over 1 s) warns.
    pub slow_factor: Option<Spanned<f64>>,
}

#[derive(Debug, Clone)]
pub struct InputSettings {
    pub enabled: bool,
    pub allow_writes: bool,
    pub seed: u64,
    /// The seed came from the profile (not drawn for this run).
    pub seed_given: bool,
    pub max_requests_per_endpoint: u64,
    pub email_domain: Option<String>,
    pub slow_factor: f64,
}

pub const DEFAULT_MAX_PER_ENDPOINT: u64 = 200;
pub const DEFAULT_SLOW_FACTOR: f64 = 10.0;

impl Default for InputSettings {
    fn default() -> Self {
        InputSettings {
            enabled: true,
            allow_writes: false,
            seed: rand::random::<u32>() as u64,
            seed_given: false,
            max_requests_per_endpoint: DEFAULT_MAX_PER_ENDPOINT,
            email_domain: None,
            slow_factor: DEFAULT_SLOW_FACTOR,
        }
    }
}

pub fn resolve(raw: Option<RawInput>) -> Result<InputSettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(InputSettings::default());
    };
    let key = |k: &str| format!("[checks.input] {k}");
    let max = match &raw.max_requests_per_endpoint {
        None => DEFAULT_MAX_PER_ENDPOINT,
        Some(m) if (1..=100_000).contains(m.get_ref()) => *m.get_ref(),
        Some(m) => {
            return Err(ConfigError::new(
                m.span(),
                &key("max_requests_per_endpoint"),
                "must be 1 to 100000",
            ));
        }
    };
    let slow_factor = match &raw.slow_factor {
        None => DEFAULT_SLOW_FACTOR,
        Some(f) if f.get_ref().is_finite() && *f.get_ref() >= 1.0 => *f.get_ref(),
        Some(f) => {
            return Err(ConfigError::new(
                f.span(),
                &key("slow_factor"),
                "must be >= 1",
            ));
        }
    };
    let defaults = InputSettings::default();
    Ok(InputSettings {
        enabled: raw.enabled.unwrap_or(true),
        allow_writes: raw.allow_writes.unwrap_or(false),
        seed: raw.seed.unwrap_or(defaults.seed),
        seed_given: raw.seed.is_some(),
        max_requests_per_endpoint: max,
        email_domain: raw.email_domain,
        slow_factor,
    })
}
