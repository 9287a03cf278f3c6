//! `[checks.hygiene]`: which origins to probe for leaks and error pages, the
//! API base whose errors are provoked too, and the env files to compare.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::net::scope::Scope;

use crate::profile::check_config::{ConfigError, existing_file, scoped_url};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHygiene {
    pub enabled: Option<bool>,
    /// More origins to probe besides base_url.
    #[serde(default)]
    pub origins: Vec<Spanned<String>>,
    /// The API base (URL or path) whose 404 and malformed-request pages are judged too.
    pub api_url: Option<Spanned<String>>,
    /// Skip the leak-path probes (error pages and env files only).
    pub leak_paths: Option<bool>,
    /// The production env file.
    pub production_env: Option<Spanned<String>>,
    /// Development and staging env files compared with it.
    #[serde(default)]
    pub other_env: Vec<Spanned<String>>,
}

/// An env file with the name shown in reports (as the profile wrote it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFileRef {
    pub shown: String,
    pub path: PathBuf,
}

#[derive(Debug, Clone)]
pub struct HygieneSettings {
    pub enabled: bool,
    /// Origins (scheme, host, port) to probe; base_url's first.
    pub origins: Vec<Url>,
    /// Where error pages are provoked: each origin root, then the API base.
    pub error_bases: Vec<Url>,
    pub leak_paths: bool,
    pub production_env: Option<EnvFileRef>,
    pub other_env: Vec<EnvFileRef>,
}

fn origin_root(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_path("/");
    u.set_query(None);
    u.set_fragment(None);
    u
}

/// Resolves `[checks.hygiene]` (absent: base_url's origin, no env files).
pub fn resolve(
    raw: Option<RawHygiene>,
    base_url: &Url,
    scope: &Scope,
    dir: &Path,
) -> Result<HygieneSettings, ConfigError> {
    let raw = raw.unwrap_or_default();
    let mut origins = vec![origin_root(base_url)];
    for o in &raw.origins {
        let url = origin_root(&scoped_url(o, base_url, scope, "[checks.hygiene] origins")?);
        if !origins.contains(&url) {
            origins.push(url);
        }
    }
    let mut api_base = None;
    if let Some(api) = &raw.api_url {
        let mut url = scoped_url(api, base_url, scope, "[checks.hygiene] api_url")?;
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        let root = origin_root(&url);
        if !origins.contains(&root) {
            origins.push(root);
        }
        api_base = Some(url);
    }
    let mut error_bases = origins.clone();
    if let Some(url) = api_base
        && !error_bases.contains(&url)
    {
        error_bases.push(url);
    }
    let file = |v: &Spanned<String>, key: &str| -> Result<EnvFileRef, ConfigError> {
        Ok(EnvFileRef {
            shown: v.get_ref().clone(),
            path: existing_file(v, dir, key)?,
        })
    };
    let production_env = raw
        .production_env
        .as_ref()
        .map(|v| file(v, "[checks.hygiene] production_env"))
        .transpose()?;
    let mut other_env = Vec::new();
    for v in &raw.other_env {
        other_env.push(file(v, "[checks.hygiene] other_env")?);
    }
    if production_env.is_none() && !other_env.is_empty() {
        return Err(ConfigError::new(
            raw.other_env[0].span(),
            "[checks.hygiene] other_env",
            "other_env files are compared with production_env; set production_env too",
        ));
    }
    Ok(HygieneSettings {
        enabled: raw.enabled.unwrap_or(true),
        origins,
        error_bases,
        leak_paths: raw.leak_paths.unwrap_or(true),
        production_env,
        other_env,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::profile::parse;
    use crate::redact::Redactor;

    const BASE: &str = "[target]\nname = \"x\"\nbase_url = \"https://app.example.test/\"\n\
                        scope = [\"app.example.test\", \"api.example.test\"]\n";

    fn load(extra: &str) -> Result<crate::profile::Profile, crate::profile::ProfileError> {
        parse(
            &format!("{BASE}{extra}"),
            Path::new("/tmp/p/r.toml"),
            &Redactor::new(),
        )
    }

    #[test]
    fn defaults_probe_the_base_origin() {
        let p = load("").unwrap();
        assert!(p.hygiene.enabled && p.hygiene.leak_paths);
        assert_eq!(p.hygiene.origins.len(), 1);
        assert!(p.hygiene.production_env.is_none());
    }

    #[test]
    fn api_url_adds_its_origin_and_an_error_base() {
        let p = load("[checks.hygiene]\napi_url = \"https://api.example.test/v1\"\n").unwrap();
        assert_eq!(p.hygiene.origins.len(), 2);
        assert_eq!(
            p.hygiene.error_bases.last().unwrap().as_str(),
            "https://api.example.test/v1/"
        );
    }

    #[test]
    fn bad_origins_and_files_are_located() {
        let e = load("[checks.hygiene]\norigins = [\"https://evil.test/\"]\n").unwrap_err();
        assert!(
            e.to_string().contains("outside [target] scope") && e.line == Some(6),
            "{e}"
        );
        let e = load("[checks.hygiene]\nproduction_env = \"nope.env\"\n").unwrap_err();
        assert!(e.to_string().contains("not a readable file"), "{e}");
    }
}
