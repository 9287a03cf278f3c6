//! `[checks.edge]`: whether a CDN/WAF is expected in front of the origins,
//! which origins to look at, and the origin's own address for the bypass probe.

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::net::scope::Scope;
use crate::profile::check_config::{ConfigError, scoped_url};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEdge {
    pub enabled: Option<bool>,
    pub expect_cdn: Option<bool>,
    #[serde(default)]
    pub origins: Vec<Spanned<String>>,
    /// The origin server's own URL (an address behind the CDN), e.g. `https://203.0.113.7/`.
    pub origin_url: Option<Spanned<String>>,
    /// After this many days the shipped address ranges are reported stale.
    pub ranges_max_age_days: Option<i64>,
}

#[derive(Debug, Clone, Default)]
pub struct EdgeSettings {
    /// False when `[checks.edge]` is absent or disabled.
    pub enabled: bool,
    pub expect_cdn: bool,
    pub origins: Vec<Url>,
    pub origin_url: Option<Url>,
    /// The origin URL is in scope, so it may be probed.
    pub origin_in_scope: bool,
    pub ranges_max_age_days: i64,
}

/// Resolves `[checks.edge]` (absent: the check is skipped).
pub fn resolve(
    raw: Option<RawEdge>,
    base_url: &Url,
    scope: &Scope,
) -> Result<EdgeSettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(EdgeSettings::default());
    };
    let mut origins = vec![base_url.clone()];
    for o in &raw.origins {
        let url = scoped_url(o, base_url, scope, "[checks.edge] origins")?;
        if !origins.contains(&url) {
            origins.push(url);
        }
    }
    let origin_url = match &raw.origin_url {
        None => None,
        Some(v) => {
            let url = Url::parse(v.get_ref()).map_err(|e| {
                ConfigError::new(
                    v.span(),
                    "[checks.edge] origin_url",
                    format!("not a URL: {e}"),
                )
            })?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(ConfigError::new(
                    v.span(),
                    "[checks.edge] origin_url",
                    "must be an http:// or https:// URL with a host",
                ));
            }
            Some(url)
        }
    };
    let origin_in_scope = origin_url.as_ref().is_some_and(|u| scope.allows_url(u));
    Ok(EdgeSettings {
        enabled: raw.enabled.unwrap_or(true),
        expect_cdn: raw.expect_cdn.unwrap_or(true),
        origins,
        origin_url,
        origin_in_scope,
        ranges_max_age_days: raw.ranges_max_age_days.unwrap_or(180),
    })
}
