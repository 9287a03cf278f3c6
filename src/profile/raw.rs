//! The profile as written in TOML, before validation.
//!
//! Every table denies unknown keys so a typo is an error with its line, not a
//! silently ignored setting. Values that need checking beyond their type keep
//! their span (`Spanned`) so validation errors can point at them too.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::secret::SecretSpec;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    pub target: RawTarget,
    #[serde(default)]
    pub dns: RawDns,
    #[serde(default)]
    pub checks: RawChecks,
    #[serde(default, rename = "identity")]
    pub identities: Vec<Spanned<super::access::RawIdentity>>,
    #[serde(default, rename = "endpoint")]
    pub endpoints: Vec<Spanned<super::access::RawEndpoint>>,
    pub openapi: Option<Spanned<String>>,
    pub openapi_exclude: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub name: String,
    pub base_url: Spanned<String>,
    pub scope: Vec<Spanned<String>>,
    #[serde(default)]
    pub resolve: BTreeMap<String, Spanned<String>>,
    pub max_requests: Option<Spanned<u64>>,
    pub max_rps: Option<Spanned<f64>>,
    pub timeout: Option<Spanned<String>>,
    pub check_timeout: Option<Spanned<String>>,
    pub user_agent: Option<String>,
    #[serde(default)]
    pub allow_writes: bool,
    pub ca_file: Option<Spanned<String>>,
    pub max_body_bytes: Option<u64>,
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<SecretSpec>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDns {
    #[serde(default)]
    pub nameservers: Vec<Spanned<String>>,
    pub timeout: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawChecks {
    pub https: Option<RawHttps>,
    pub auth: Option<crate::checks::auth::config::RawAuth>,
    pub tenant: Option<crate::checks::tenant::config::RawTenant>,
    pub cors: Option<crate::checks::cors::config::RawCors>,
    pub hygiene: Option<crate::checks::hygiene::config::RawHygiene>,
    pub monitoring: Option<crate::checks::monitoring::config::RawMonitoring>,
    pub edge: Option<crate::checks::edge::config::RawEdge>,
    pub latency: Option<crate::checks::latency::config::RawLatency>,
    pub rate_limit: Option<crate::checks::rate_limit::config::RawRateLimit>,
    pub input: Option<crate::checks::input::config::RawInput>,
    pub email: Option<crate::checks::email::config::RawEmail>,
    pub secrets: Option<crate::checks::secrets::config::RawSecrets>,
}

/// An extra origin for the `https` check: a URL, or a table with its plain-HTTP twin.
#[derive(Debug)]
pub struct RawOrigin {
    pub url: String,
    pub http_url: Option<String>,
}

impl<'de> Deserialize<'de> for RawOrigin {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OriginVisitor;

        impl<'de> serde::de::Visitor<'de> for OriginVisitor {
            type Value = RawOrigin;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a URL string or { url = \"https://...\", http_url = \"http://...\" }")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawOrigin, E> {
                Ok(RawOrigin {
                    url: v.to_string(),
                    http_url: None,
                })
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawOrigin, A::Error> {
                let mut url = None;
                let mut http_url = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "url" => url = Some(map.next_value::<String>()?),
                        "http_url" => http_url = Some(map.next_value::<String>()?),
                        other => {
                            return Err(serde::de::Error::unknown_field(
                                other,
                                &["url", "http_url"],
                            ));
                        }
                    }
                }
                let url = url.ok_or_else(|| serde::de::Error::missing_field("url"))?;
                Ok(RawOrigin { url, http_url })
            }
        }

        deserializer.deserialize_any(OriginVisitor)
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttps {
    pub enabled: Option<bool>,
    pub base_http_url: Option<Spanned<String>>,
    #[serde(default)]
    pub origins: Vec<Spanned<RawOrigin>>,
    #[serde(default)]
    pub pages: Vec<String>,
    pub min_hsts_max_age: Option<u64>,
    pub require_include_subdomains: Option<bool>,
    pub cert_fail_days: Option<i64>,
    pub cert_warn_days: Option<i64>,
    pub legacy_tls_probe: Option<bool>,
    #[serde(default)]
    pub session_cookies: Vec<String>,
}
