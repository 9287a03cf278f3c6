//! The demo's secrets part: a git repository generated at start (with the
//! git CLI) and a page of the hardened origin whose bundle leaks a key.
//!
//! Planted: a live-looking GitHub token in the work tree (and so in
//! history), a Stripe live key committed and then deleted (history only), a
//! Stripe test key in a test file (info), and on the site a bundle carrying
//! a Stripe live key with a public source map that embeds the original
//! source. Decoys that must not be reported: placeholders in `.env.example`
//! and a clean bundle whose `.map` neighbour is only the SPA catch-all page.
//! Every credential is built at run time, so no secret-shaped literal sits
//! in this source.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;

use crate::checks::secrets::rules::base62_6;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_alnum(len: usize) -> String {
    (0..len)
        .map(|_| ALNUM[rand::random::<usize>() % ALNUM.len()] as char)
        .collect()
}

/// A GitHub classic token with a valid checksum: `ghp_` + 30 random + CRC32.
pub fn github_token() -> String {
    let random = random_alnum(30);
    let check = base62_6(crc32fast::hash(random.as_bytes()));
    format!("ghp_{random}{check}")
}

/// A Stripe key of the given mode (`live` or `test`).
pub fn stripe_key(mode: &str) -> String {
    format!("sk_{mode}_{}", random_alnum(32))
}

/// The planted values (secrets: register them, never print them).
#[derive(Debug, Clone)]
pub struct SecretsDemo {
    /// In the work tree and in history.
    pub worktree_token: String,
    /// Committed, then deleted: only in history.
    pub history_key: String,
    /// A test-mode key in a test file (reported as info).
    pub test_key: String,
    /// In the deployed bundle and its source map.
    pub bundle_key: String,
}

impl Default for SecretsDemo {
    fn default() -> Self {
        Self::new()
    }
}

impl SecretsDemo {
    pub fn new() -> SecretsDemo {
        SecretsDemo {
            worktree_token: github_token(),
            history_key: stripe_key("live"),
            test_key: stripe_key("test"),
            bundle_key: stripe_key("live"),
        }
    }

    /// Every planted value.
    pub fn planted(&self) -> Vec<String> {
        vec![
            self.worktree_token.clone(),
            self.history_key.clone(),
            self.test_key.clone(),
            self.bundle_key.clone(),
        ]
    }

    fn bundle(&self) -> String {
        format!(
            "(function(){{var c={{billing:\"{}\",theme:\"dark\"}};window.cfg=c;}})();\n\
             //# sourceMappingURL=console.js.map\n",
            self.bundle_key
        )
    }

    fn source_map(&self) -> String {
        let original = format!(
            "// Billing console settings.\nexport const billing = \"{}\";\n\
             export const theme = \"dark\";\n",
            self.bundle_key
        );
        serde_json::json!({
            "version": 3,
            "file": "console.js",
            "sources": ["src/console/settings.ts"],
            "sourcesContent": [original],
            "names": [],
            "mappings": "AAAA",
        })
        .to_string()
    }

    /// Writes the repository under `dir/repo` with three commits.
    pub fn write_repo(&self, dir: &Path) -> Result<(), String> {
        let repo = dir.join("repo");
        let placeholder = format!("sk_live_{}", "x".repeat(24));
        let files_v1: &[(&str, String)] = &[
            (
                "src/config.js",
                format!(
                    "// Release bot settings.\nexport const releaseToken = \"{}\";\n",
                    self.worktree_token
                ),
            ),
            (
                "deploy/billing.sh",
                format!(
                    "#!/bin/sh\nexport STRIPE_SECRET_KEY={}\n./migrate\n",
                    self.history_key
                ),
            ),
            (
                ".env.example",
                format!("STRIPE_SECRET_KEY={placeholder}\nGITHUB_TOKEN=<your-token>\n"),
            ),
            (
                "tests/billing_test.js",
                format!("const stripe = require('stripe')('{}');\n", self.test_key),
            ),
            (
                "README.md",
                "# Community platform\n\nCopy .env.example to .env.\n".to_string(),
            ),
        ];
        for (rel, text) in files_v1 {
            write(&repo.join(rel), text)?;
        }
        git(&repo, &["init", "-q"], "2026-01-05T10:00:00Z")?;
        git(&repo, &["add", "-A"], "2026-01-05T10:00:00Z")?;
        git(
            &repo,
            &["commit", "-q", "-m", "Billing and release settings"],
            "2026-01-05T10:00:00Z",
        )?;
        std::fs::remove_file(repo.join("deploy/billing.sh"))
            .map_err(|e| format!("cannot edit the demo repository: {e}"))?;
        git(&repo, &["add", "-A"], "2026-02-10T09:30:00Z")?;
        git(
            &repo,
            &["commit", "-q", "-m", "Read the billing key from the vault"],
            "2026-02-10T09:30:00Z",
        )?;
        write(
            &repo.join("README.md"),
            "# Community platform\n\nCopy .env.example to .env and fill in the keys.\n",
        )?;
        git(&repo, &["add", "-A"], "2026-03-01T16:00:00Z")?;
        git(
            &repo,
            &["commit", "-q", "-m", "Document the env file"],
            "2026-03-01T16:00:00Z",
        )
    }

    /// The profile section of this part.
    pub fn profile_text() -> &'static str {
        "\n[checks.secrets]\npaths = [\"repo\"]\npages = [\"/console\"]\n"
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs git in the demo repository with a fixed identity and date.
fn git(repo: &Path, args: &[&str], date: &str) -> Result<(), String> {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Demo Dev",
            "-c",
            "user.email=dev@readiness-demo.test",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .arg("-C")
        .arg(repo)
        .args(args)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .map_err(|e| format!("cannot run git for the demo repository: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {} failed for the demo repository: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

fn typed(content_type: &'static str, body: String) -> Response {
    let mut res = Response::new(axum::body::Body::from(body));
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// Routes merged into the hardened origin: a console page with a leaking
/// bundle and its public map, and a clean bundle without a map.
pub fn router(part: Arc<SecretsDemo>) -> Router {
    let page = "<!doctype html><html><head><title>Billing console</title>\
        <link rel=\"stylesheet\" href=\"/assets/console.css\">\
        <script src=\"https://cdn.readiness-demo-assets.test/analytics.js\"></script>\
        <script src=\"/assets/vendor.js\"></script>\
        <script src=\"/assets/console.js\"></script></head>\
        <body><div id=\"console\"></div></body></html>";
    let (bundle_part, map_part) = (part.clone(), part);
    Router::new()
        .route(
            "/console",
            get(move || async move { typed("text/html; charset=utf-8", page.to_string()) }),
        )
        .route(
            "/assets/console.js",
            get(move || async move { typed("application/javascript", bundle_part.bundle()) }),
        )
        .route(
            "/assets/console.js.map",
            get(move || async move { typed("application/json", map_part.source_map()) }),
        )
        .route(
            "/assets/vendor.js",
            get(|| async {
                // The twin: a placeholder only, and no map (the .map guess
                // gets the SPA catch-all page, which is not a source map).
                let body = format!(
                    "var stripeKey = \"sk_live_{}\"; // set at deploy\n",
                    "x".repeat(24)
                );
                typed("application/javascript", body)
            }),
        )
        .route(
            "/assets/console.css",
            get(|| async { typed("text/css", "#console{margin:0}\n".to_string()) }),
        )
}
