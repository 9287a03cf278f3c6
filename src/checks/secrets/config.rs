//! `[checks.secrets]`: which folders, repositories, env files and deployed
//! pages the `secrets` check scans, and how (ignore rules, size cap,
//! exclusions, baseline of accepted findings).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use super::scan::{Baseline, is_production_env_file};
use super::worktree::DEFAULT_MAX_FILE_SIZE;
use crate::net::scope::Scope;
use crate::profile::check_config::{ConfigError, existing_file, scoped_url};

/// Exclusions applied when the profile gives none: test fixtures and the peer
/// test vectors beside the crate hold fake keys on purpose.
pub const DEFAULT_EXCLUDE: &[&str] = &["fixtures/", "../shared"];

/// Bundles (scripts and stylesheets) fetched from the deployed site by default.
pub const DEFAULT_MAX_BUNDLES: u64 = 8;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecrets {
    pub enabled: Option<bool>,
    /// Folders to scan (relative to the profile); default: the profile's folder.
    #[serde(default)]
    pub paths: Vec<Spanned<String>>,
    /// Scan the git history of the repositories holding `paths`.
    pub history: Option<bool>,
    pub respect_gitignore: Option<bool>,
    /// Bytes; larger files and blobs are skipped and counted.
    pub max_file_size: Option<Spanned<i64>>,
    /// Globs relative to each path, or paths (`../x`, `/abs`); replaces the default.
    pub exclude: Option<Vec<String>>,
    /// Accepted findings by fingerprint, each with a reason (TOML or JSON).
    pub baseline: Option<Spanned<String>>,
    /// Env files to scan; `.env.production`-style names count as production.
    #[serde(default)]
    pub env_files: Vec<Spanned<String>>,
    /// Env files that are production whatever their name.
    #[serde(default)]
    pub production_env_files: Vec<Spanned<String>>,
    /// Fetch and scan the deployed site's scripts, stylesheets and source maps.
    pub bundles: Option<bool>,
    /// Pages besides base_url whose bundles are scanned.
    #[serde(default)]
    pub pages: Vec<Spanned<String>>,
    /// Most bundles fetched (each may add one source-map request).
    pub max_bundles: Option<Spanned<i64>>,
}

/// A folder to scan, with the name reports show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanPath {
    pub shown: String,
    pub path: PathBuf,
}

/// An env file to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretsEnvFile {
    pub shown: String,
    pub path: PathBuf,
    /// Test-mode keys here are findings, not info.
    pub production: bool,
}

#[derive(Debug, Clone)]
pub struct SecretsSettings {
    pub enabled: bool,
    pub paths: Vec<ScanPath>,
    pub history: bool,
    pub respect_gitignore: bool,
    pub max_file_size: u64,
    pub exclude: Vec<String>,
    pub baseline: Option<Baseline>,
    pub baseline_path: Option<PathBuf>,
    pub env_files: Vec<SecretsEnvFile>,
    pub bundles: bool,
    /// Pages whose bundles are scanned: base_url first, then `pages`.
    pub pages: Vec<Url>,
    pub max_bundles: u64,
}

impl SecretsSettings {
    /// Requests the deployed-site scan may send: each page, then each bundle
    /// and its source map.
    pub fn site_requests(&self) -> u64 {
        if !self.bundles {
            return 0;
        }
        self.pages.len() as u64 + 2 * self.max_bundles
    }
}

fn positive(value: &Option<Spanned<i64>>, key: &str, default: u64) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) if *v.get_ref() > 0 => Ok(*v.get_ref() as u64),
        Some(v) => Err(ConfigError::new(v.span(), key, "must be at least 1")),
    }
}

/// Resolves `[checks.secrets]` (absent: scan the profile's folder, its git
/// history and base_url's bundles).
pub fn resolve(
    raw: Option<RawSecrets>,
    base_url: &Url,
    scope: &Scope,
    dir: &Path,
) -> Result<SecretsSettings, ConfigError> {
    let raw = raw.unwrap_or_default();

    let mut paths = Vec::new();
    for p in &raw.paths {
        let path = dir.join(p.get_ref());
        if !path.is_dir() {
            return Err(ConfigError::new(
                p.span(),
                "[checks.secrets] paths",
                format!("`{}` is not a folder", path.display()),
            ));
        }
        paths.push(ScanPath {
            shown: p.get_ref().clone(),
            path,
        });
    }
    if paths.is_empty() {
        paths.push(ScanPath {
            shown: ".".into(),
            path: dir.to_path_buf(),
        });
    }

    let max_file_size = positive(
        &raw.max_file_size,
        "[checks.secrets] max_file_size",
        DEFAULT_MAX_FILE_SIZE,
    )?;
    let max_bundles = positive(
        &raw.max_bundles,
        "[checks.secrets] max_bundles",
        DEFAULT_MAX_BUNDLES,
    )?;

    let (baseline, baseline_path) = match &raw.baseline {
        None => (None, None),
        Some(v) => {
            let path = existing_file(v, dir, "[checks.secrets] baseline")?;
            let loaded = Baseline::load(&path).map_err(|e| {
                ConfigError::new(v.span(), "[checks.secrets] baseline", e.to_string())
            })?;
            (Some(loaded), Some(path))
        }
    };

    let mut env_files: Vec<SecretsEnvFile> = Vec::new();
    let listed = raw
        .env_files
        .iter()
        .map(|v| (v, false))
        .chain(raw.production_env_files.iter().map(|v| (v, true)));
    for (v, explicit) in listed {
        let key = if explicit {
            "[checks.secrets] production_env_files"
        } else {
            "[checks.secrets] env_files"
        };
        let path = existing_file(v, dir, key)?;
        let production = explicit || is_production_env_file(&path);
        if let Some(seen) = env_files.iter_mut().find(|f| f.path == path) {
            seen.production |= production;
            continue;
        }
        env_files.push(SecretsEnvFile {
            shown: v.get_ref().clone(),
            path,
            production,
        });
    }

    let mut pages = vec![base_url.clone()];
    for p in &raw.pages {
        let url = scoped_url(p, base_url, scope, "[checks.secrets] pages")?;
        if !pages.contains(&url) {
            pages.push(url);
        }
    }

    Ok(SecretsSettings {
        enabled: raw.enabled.unwrap_or(true),
        paths,
        history: raw.history.unwrap_or(true),
        respect_gitignore: raw.respect_gitignore.unwrap_or(true),
        max_file_size,
        exclude: raw
            .exclude
            .unwrap_or_else(|| DEFAULT_EXCLUDE.iter().map(|s| s.to_string()).collect()),
        baseline,
        baseline_path,
        env_files,
        bundles: raw.bundles.unwrap_or(true),
        pages,
        max_bundles,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::profile::parse;
    use crate::redact::Redactor;

    const BASE: &str = "[target]\nname = \"x\"\nbase_url = \"https://app.example.test/\"\n\
                        scope = [\"app.example.test\"]\n";

    fn load_in(
        dir: &Path,
        extra: &str,
    ) -> Result<crate::profile::Profile, crate::profile::ProfileError> {
        parse(
            &format!("{BASE}{extra}"),
            &dir.join("readiness.toml"),
            &Redactor::new(),
        )
    }

    #[test]
    fn defaults_scan_the_profile_folder_history_and_landing_page() {
        let dir = tempfile::tempdir().unwrap();
        let p = load_in(dir.path(), "").unwrap();
        let s = &p.secrets;
        assert!(s.enabled && s.history && s.respect_gitignore && s.bundles);
        assert_eq!(s.paths.len(), 1);
        assert_eq!(s.paths[0].path, dir.path());
        assert_eq!(s.exclude, vec!["fixtures/", "../shared"]);
        assert_eq!(s.pages.len(), 1);
        assert_eq!(s.site_requests(), 1 + 2 * super::DEFAULT_MAX_BUNDLES);
        assert!(s.env_files.is_empty() && s.baseline.is_none());
    }

    #[test]
    fn env_files_are_production_by_name_or_by_list() {
        let dir = tempfile::tempdir().unwrap();
        for f in [".env.production", ".env", "deploy.env"] {
            std::fs::write(dir.path().join(f), "A=1\n").unwrap();
        }
        let p = load_in(
            dir.path(),
            "[checks.secrets]\nenv_files = [\".env.production\", \".env\"]\n\
             production_env_files = [\"deploy.env\"]\nexclude = []\n",
        )
        .unwrap();
        let got: Vec<(&str, bool)> = p
            .secrets
            .env_files
            .iter()
            .map(|f| (f.shown.as_str(), f.production))
            .collect();
        assert_eq!(
            got,
            vec![
                (".env.production", true),
                (".env", false),
                ("deploy.env", true)
            ]
        );
        assert!(p.secrets.exclude.is_empty());
    }

    #[test]
    fn bad_values_are_located() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_in(dir.path(), "[checks.secrets]\npaths = [\"nope\"]\n").unwrap_err();
        assert!(
            e.to_string().contains("not a folder") && e.line == Some(6),
            "{e}"
        );
        let e = load_in(dir.path(), "[checks.secrets]\nmax_file_size = 0\n").unwrap_err();
        assert!(e.to_string().contains("at least 1"), "{e}");
        let e = load_in(
            dir.path(),
            "[checks.secrets]\npages = [\"https://x.test/\"]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("outside [target] scope"), "{e}");
        std::fs::write(
            dir.path().join("b.toml"),
            "[[accepted]]\nfingerprint = \"0011223344556677\"\nreason = \"\"\n",
        )
        .unwrap();
        let e = load_in(dir.path(), "[checks.secrets]\nbaseline = \"b.toml\"\n").unwrap_err();
        assert!(e.to_string().contains("no reason"), "{e}");
    }

    #[test]
    fn a_baseline_with_reasons_loads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("b.toml"),
            "[[accepted]]\nfingerprint = \"0011223344556677\"\nreason = \"revoked\"\n",
        )
        .unwrap();
        let p = load_in(dir.path(), "[checks.secrets]\nbaseline = \"b.toml\"\n").unwrap();
        let b = p.secrets.baseline.as_ref().unwrap();
        assert_eq!(b.reason("0011223344556677"), Some("revoked"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_in(dir.path(), "[checks.secrets]\nhistroy = false\n").unwrap_err();
        assert!(e.to_string().contains("histroy"), "{e}");
    }
}
