//! `[checks.cors]`: settings of the CORS check.

use serde::Deserialize;
use url::Url;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCors {
    pub enabled: Option<bool>,
    /// Front-end origins that may call the private API (`https://app.example.com`).
    #[serde(default)]
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CorsSettings {
    pub enabled: bool,
    /// Serialized origins (`scheme://host[:port]`), lowercase.
    pub allowed_origins: Vec<String>,
}

impl Default for CorsSettings {
    fn default() -> Self {
        CorsSettings {
            enabled: true,
            allowed_origins: Vec::new(),
        }
    }
}

pub fn resolve(raw: Option<RawCors>) -> Result<CorsSettings, String> {
    let raw = raw.unwrap_or_default();
    let mut allowed_origins = Vec::new();
    for text in &raw.allowed_origins {
        let url = Url::parse(text)
            .map_err(|e| format!("allowed_origins: `{text}` is not an origin URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(format!(
                "allowed_origins: `{text}` must look like https://app.example.com"
            ));
        }
        allowed_origins.push(url.origin().ascii_serialization().to_ascii_lowercase());
    }
    Ok(CorsSettings {
        enabled: raw.enabled.unwrap_or(true),
        allowed_origins,
    })
}
