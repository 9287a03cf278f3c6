//! `[checks.tenant]`: settings of the tenant isolation check.

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTenant {
    pub enabled: Option<bool>,
    /// This check's own write opt-in (the master switch is `[target] allow_writes`).
    pub allow_writes: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct TenantSettings {
    pub enabled: bool,
    pub allow_writes: bool,
}

impl Default for TenantSettings {
    fn default() -> Self {
        TenantSettings {
            enabled: true,
            allow_writes: false,
        }
    }
}

pub fn resolve(raw: Option<RawTenant>) -> Result<TenantSettings, String> {
    let raw = raw.unwrap_or_default();
    Ok(TenantSettings {
        enabled: raw.enabled.unwrap_or(true),
        allow_writes: raw.allow_writes.unwrap_or(false),
    })
}
