//! Helpers for the checks' own profile sections (`[checks.<id>]`): one
//! located error type and the validations several sections share. The
//! profile validator turns a [`ConfigError`] into a `file:line:col` error.

use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;
use url::Url;

use crate::net::scope::Scope;

/// A located problem in a check's profile section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub span: Range<usize>,
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(span: Range<usize>, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            span,
            key: key.to_string(),
            message: message.into(),
        }
    }
}

/// Parses an in-scope http(s) URL (or a path joined to `base`).
pub fn scoped_url(
    value: &Spanned<String>,
    base: &Url,
    scope: &Scope,
    key: &str,
) -> Result<Url, ConfigError> {
    let url = base
        .join(value.get_ref())
        .map_err(|e| ConfigError::new(value.span(), key, format!("not a URL or path: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            value.span(),
            key,
            "must be an http:// or https:// URL",
        ));
    }
    if !scope.allows_url(&url) {
        return Err(ConfigError::new(
            value.span(),
            key,
            format!("`{url}` is outside [target] scope; add its host (and port) to scope"),
        ));
    }
    Ok(url)
}

/// An existing file, relative to the profile's folder.
pub fn existing_file(
    value: &Spanned<String>,
    dir: &Path,
    key: &str,
) -> Result<PathBuf, ConfigError> {
    let path = dir.join(value.get_ref());
    if !path.is_file() {
        return Err(ConfigError::new(
            value.span(),
            key,
            format!("`{}` is not a readable file", path.display()),
        ));
    }
    Ok(path)
}
