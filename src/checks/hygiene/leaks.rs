//! Leak paths and the content that proves each one.
//!
//! A status code is never evidence: many apps answer 200 with their SPA shell
//! for every path, or a custom error page full of `#` and `=`. Each probe
//! names the structure its file must have (a `.git/HEAD` that starts with
//! `ref:`, an `.env` made of `KEY=value` lines served as something other than
//! HTML), and any answer identical to the origin's random-path baseline is a
//! soft 404, not a hit (pitfall B39).

use crate::envfile;

/// What a proven leak is, for the finding code and severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LeakKind {
    EnvFile,
    GitRepo,
    DsStore,
    BackupFile,
    ServerStatus,
    DebugConsole,
    Graphql,
    ApiDocs,
}

impl LeakKind {
    pub fn code(self) -> &'static str {
        match self {
            LeakKind::EnvFile => "hygiene.env-exposed",
            LeakKind::GitRepo => "hygiene.git-exposed",
            LeakKind::DsStore => "hygiene.ds-store-exposed",
            LeakKind::BackupFile => "hygiene.backup-exposed",
            LeakKind::ServerStatus => "hygiene.server-status-exposed",
            LeakKind::DebugConsole => "hygiene.debug-console-exposed",
            LeakKind::Graphql => "hygiene.graphql-introspection",
            LeakKind::ApiDocs => "hygiene.api-docs-public",
        }
    }
}

/// How the body must look for a probe to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    /// `KEY=value` lines, nothing else, not HTML.
    EnvLines,
    /// `ref: refs/...` or a 40/64-hex object id.
    GitHead,
    /// `[core]` with `repositoryformatversion`.
    GitConfig,
    /// The `Bud1` magic of a Finder `.DS_Store`.
    DsStore,
    /// Server-side source or markup served as something other than HTML.
    Source,
    /// A Vim swap file (`b0VIM`).
    VimSwap,
    /// Apache `mod_status`.
    ApacheStatus,
    /// Spring Boot actuator `env` JSON.
    ActuatorEnv,
    /// A Java heap dump (`JAVA PROFILE`).
    HeapDump,
    /// `phpinfo()` output.
    PhpInfo,
    /// Laravel Ignition's health check answering that it can run commands.
    Ignition,
    /// Rails' development info page.
    RailsInfo,
    /// A GraphQL introspection result.
    GraphqlSchema,
    /// An OpenAPI or Swagger document.
    OpenApi,
}

/// One path to try and what proves it.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    pub path: &'static str,
    pub kind: LeakKind,
    pub proof: Proof,
}

const fn probe(path: &'static str, kind: LeakKind, proof: Proof) -> Probe {
    Probe { path, kind, proof }
}

/// Every leak path probed on each origin (read-only GETs).
pub const PROBES: &[Probe] = &[
    probe("/.env", LeakKind::EnvFile, Proof::EnvLines),
    probe("/.env.production", LeakKind::EnvFile, Proof::EnvLines),
    probe("/.env.local", LeakKind::EnvFile, Proof::EnvLines),
    probe("/.env.backup", LeakKind::EnvFile, Proof::EnvLines),
    probe("/.git/HEAD", LeakKind::GitRepo, Proof::GitHead),
    probe("/.git/config", LeakKind::GitRepo, Proof::GitConfig),
    probe("/.DS_Store", LeakKind::DsStore, Proof::DsStore),
    probe("/index.php.bak", LeakKind::BackupFile, Proof::Source),
    probe("/index.php~", LeakKind::BackupFile, Proof::Source),
    probe("/index.html.bak", LeakKind::BackupFile, Proof::Source),
    probe("/index.html~", LeakKind::BackupFile, Proof::Source),
    probe("/.index.php.swp", LeakKind::BackupFile, Proof::VimSwap),
    probe("/.index.html.swp", LeakKind::BackupFile, Proof::VimSwap),
    probe(
        "/server-status",
        LeakKind::ServerStatus,
        Proof::ApacheStatus,
    ),
    probe("/actuator/env", LeakKind::DebugConsole, Proof::ActuatorEnv),
    probe(
        "/actuator/heapdump",
        LeakKind::DebugConsole,
        Proof::HeapDump,
    ),
    probe("/phpinfo.php", LeakKind::DebugConsole, Proof::PhpInfo),
    probe("/info.php", LeakKind::DebugConsole, Proof::PhpInfo),
    probe(
        "/_ignition/health-check",
        LeakKind::DebugConsole,
        Proof::Ignition,
    ),
    probe(
        "/rails/info/properties",
        LeakKind::DebugConsole,
        Proof::RailsInfo,
    ),
    probe(
        "/graphql?query=%7B__schema%7Btypes%7Bname%7D%7D%7D",
        LeakKind::Graphql,
        Proof::GraphqlSchema,
    ),
    probe("/openapi.json", LeakKind::ApiDocs, Proof::OpenApi),
    probe("/swagger.json", LeakKind::ApiDocs, Proof::OpenApi),
    probe("/v3/api-docs", LeakKind::ApiDocs, Proof::OpenApi),
];

/// A response as the classifier sees it.
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub status: u16,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

fn is_html(seen: &Seen) -> bool {
    let ct = seen.content_type.to_ascii_lowercase();
    if ct.contains("html") {
        return true;
    }
    let head = String::from_utf8_lossy(&seen.body[..seen.body.len().min(512)]).to_lowercase();
    let head = head.trim_start();
    head.starts_with("<!doctype html") || head.starts_with("<html")
}

/// Whether the answer is the origin's catch-all (same status and body as a random path).
pub fn is_soft_404(seen: &Seen, baseline: Option<&Seen>) -> bool {
    baseline
        .is_some_and(|b| b.status == seen.status && b.body == seen.body && !seen.body.is_empty())
}

/// What proved a leak, for evidence (never the file's values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proven {
    pub what: String,
    /// Values the leaked file carries that must be redacted from every output.
    pub secrets: Vec<String>,
}

fn proven(what: impl Into<String>) -> Option<Proven> {
    Some(Proven {
        what: what.into(),
        secrets: Vec::new(),
    })
}

/// Key names whose values are credentials.
pub fn secret_bearing(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    let words = ["KEY", "APIKEY", "PWD", "PASS", "DSN", "AUTH"];
    [
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "TOKEN",
        "PRIVATE",
        "CREDENTIAL",
    ]
    .iter()
    .any(|w| k.contains(w))
        || k.split(['_', '.']).any(|part| words.contains(&part))
        || k.ends_with("DATABASE_URL")
}

/// Judges one probe's answer. `None`: not exposed.
pub fn classify(probe: &Probe, seen: &Seen, baseline: Option<&Seen>) -> Option<Proven> {
    if !(200..300).contains(&seen.status) || seen.body.is_empty() {
        return None;
    }
    if is_soft_404(seen, baseline) {
        return None;
    }
    let text = String::from_utf8_lossy(seen.body);
    let trimmed = text.trim();
    match probe.proof {
        Proof::EnvLines => {
            if is_html(seen) || trimmed.starts_with('<') {
                return None;
            }
            let file = envfile::parse(&text);
            if file.entries.is_empty() || file.stray_lines() > 0 {
                return None;
            }
            let keys = file.keys();
            let shown: Vec<&str> = keys.iter().take(8).copied().collect();
            let more = if keys.len() > shown.len() {
                ", ..."
            } else {
                ""
            };
            Some(Proven {
                what: format!(
                    "{} KEY=value lines served as `{}`; keys: {}{more} (values not shown)",
                    file.entries.len(),
                    seen.content_type,
                    shown.join(", ")
                ),
                secrets: file
                    .entries
                    .iter()
                    .filter(|e| secret_bearing(&e.key))
                    .map(|e| e.value.expose().to_string())
                    .collect(),
            })
        }
        Proof::GitHead => {
            let first = trimmed.lines().next().unwrap_or("");
            let is_ref = first.starts_with("ref: refs/");
            let is_oid =
                matches!(first.len(), 40 | 64) && first.chars().all(|c| c.is_ascii_hexdigit());
            if is_html(seen) || !(is_ref || is_oid) || trimmed.lines().count() > 1 {
                return None;
            }
            proven("a git HEAD (`ref: refs/...` or an object id)")
        }
        Proof::GitConfig => {
            if is_html(seen) || !trimmed.starts_with('[') {
                return None;
            }
            let lower = trimmed.to_ascii_lowercase();
            (lower.contains("[core]") && lower.contains("repositoryformatversion"))
                .then(|| proven("a git config with `[core]` and `repositoryformatversion`"))
                .flatten()
        }
        Proof::DsStore => (seen.body.len() >= 8 && &seen.body[4..8] == b"Bud1")
            .then(|| proven("a Finder .DS_Store (Bud1 magic) listing file names"))
            .flatten(),
        Proof::Source => {
            if is_html(seen) {
                return None;
            }
            let lower = trimmed.to_ascii_lowercase();
            if lower.starts_with("<?php") || lower.contains("<?php") {
                proven("PHP source served as a download")
            } else if lower.starts_with("<!doctype html") || lower.starts_with("<html") {
                proven("page source served with a non-HTML type (an editor or backup copy)")
            } else {
                None
            }
        }
        Proof::VimSwap => seen
            .body
            .starts_with(b"b0VIM")
            .then(|| proven("a Vim swap file (b0VIM) of the page source"))
            .flatten(),
        Proof::ApacheStatus => (text.contains("Apache Server Status")
            && (text.contains("Server uptime") || text.contains("requests currently being")))
        .then(|| proven("Apache mod_status with uptime and live requests"))
        .flatten(),
        Proof::ActuatorEnv => {
            let v: serde_json::Value = serde_json::from_str(trimmed).ok()?;
            (v.get("propertySources").is_some_and(|p| p.is_array())
                && v.get("activeProfiles").is_some())
            .then(|| proven("Spring Boot actuator env (propertySources, activeProfiles)"))
            .flatten()
        }
        Proof::HeapDump => seen
            .body
            .starts_with(b"JAVA PROFILE 1.0")
            .then(|| proven("a Java heap dump (JAVA PROFILE header)"))
            .flatten(),
        Proof::PhpInfo => (text.contains("phpinfo()") && text.contains("PHP Version"))
            .then(|| proven("phpinfo() output with the PHP version and configuration"))
            .flatten(),
        Proof::Ignition => {
            let v: serde_json::Value = serde_json::from_str(trimmed).ok()?;
            (v.get("can_execute_commands") == Some(&serde_json::Value::Bool(true)))
                .then(|| proven("Laravel Ignition says it can execute commands"))
                .flatten()
        }
        Proof::RailsInfo => (text.contains("Rails version") && text.contains("Ruby version"))
            .then(|| proven("Rails development info page (Rails and Ruby versions)"))
            .flatten(),
        Proof::GraphqlSchema => {
            let v: serde_json::Value = serde_json::from_str(trimmed).ok()?;
            v.pointer("/data/__schema/types")
                .is_some_and(|t| t.is_array())
                .then(|| proven("GraphQL introspection returns the schema's types"))
                .flatten()
        }
        Proof::OpenApi => {
            let v: serde_json::Value = serde_json::from_str(trimmed).ok()?;
            ((v.get("openapi").is_some() || v.get("swagger").is_some())
                && v.get("paths").is_some_and(|p| p.is_object()))
            .then(|| proven("an OpenAPI/Swagger document with paths"))
            .flatten()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(path: &str) -> Probe {
        *PROBES.iter().find(|p| p.path == path).unwrap()
    }

    fn seen<'a>(status: u16, ct: &'a str, body: &'a str) -> Seen<'a> {
        Seen {
            status,
            content_type: ct,
            body: body.as_bytes(),
        }
    }

    const SPA: &str = "<!doctype html><html><head><script>var a=[1,2]</script></head>\
                       <body><div id=\"root\"></div></body></html>";

    // Pitfall B39, line by line.

    #[test]
    fn b39_git_config_404_html_with_bracket_is_not_exposed() {
        let s = seen(
            404,
            "text/html",
            "<html><script>var a=[1,2]</script></html>",
        );
        assert_eq!(classify(&p("/.git/config"), &s, None), None);
    }

    #[test]
    fn b39_git_config_200_spa_shell_is_not_exposed() {
        let s = seen(200, "text/html", SPA);
        assert_eq!(classify(&p("/.git/config"), &s, None), None);
        // And again when the baseline is the same shell.
        let b = seen(200, "text/html", SPA);
        assert_eq!(classify(&p("/.git/config"), &s, Some(&b)), None);
    }

    #[test]
    fn b39_env_200_json_false_is_not_exposed() {
        let s = seen(200, "application/json", "false");
        assert_eq!(classify(&p("/.env"), &s, None), None);
    }

    #[test]
    fn b39_env_200_html_error_page_with_hash_and_equals_is_not_exposed() {
        let body = "<html><body><h1>Oops</h1><p>#404 a=b</p><a href=\"/?x=1#top\">home</a>\
                    </body></html>";
        let s = seen(200, "text/html", body);
        assert_eq!(classify(&p("/.env"), &s, None), None);
    }

    #[test]
    fn b39_git_config_real_file_is_exposed() {
        let s = seen(
            200,
            "text/plain",
            "[core]\n\trepositoryformatversion = 0\n\tbare = false\n",
        );
        assert!(classify(&p("/.git/config"), &s, None).is_some());
    }

    #[test]
    fn b39_env_real_file_is_exposed_and_values_stay_hidden() {
        let s = seen(
            200,
            "text/plain",
            "APP_ENV=production\nDB_PASSWORD=Xy7fakefake\n",
        );
        let got = classify(&p("/.env"), &s, None).unwrap();
        assert!(got.what.contains("DB_PASSWORD") && got.what.contains("APP_ENV"));
        assert!(!got.what.contains("Xy7fakefake") && !got.what.contains("production\n"));
        assert_eq!(got.secrets, vec!["Xy7fakefake".to_string()]);
    }

    #[test]
    fn b39_identical_to_random_path_baseline_is_soft_404() {
        let body = "APP_ENV=production\nDB_PASSWORD=Xy7fakefake\n";
        let s = seen(200, "text/plain", body);
        let b = seen(200, "text/plain", body);
        assert_eq!(classify(&p("/.env"), &s, Some(&b)), None);
    }

    #[test]
    fn git_head_needs_a_ref_or_object_id() {
        let head = p("/.git/HEAD");
        assert!(
            classify(
                &head,
                &seen(200, "text/plain", "ref: refs/heads/main\n"),
                None
            )
            .is_some()
        );
        let oid = "a".repeat(40);
        assert!(classify(&head, &seen(200, "application/octet-stream", &oid), None).is_some());
        assert!(classify(&head, &seen(200, "text/html", SPA), None).is_none());
        assert!(classify(&head, &seen(200, "text/plain", "ref: nothing"), None).is_none());
        assert!(
            classify(
                &head,
                &seen(403, "text/plain", "ref: refs/heads/main"),
                None
            )
            .is_none()
        );
    }

    #[test]
    fn debug_consoles_need_their_own_structure() {
        let env = p("/actuator/env");
        let good = r#"{"activeProfiles":["prod"],"propertySources":[{"name":"x"}]}"#;
        assert!(classify(&env, &seen(200, "application/json", good), None).is_some());
        assert!(
            classify(
                &env,
                &seen(200, "application/json", "{\"status\":\"UP\"}"),
                None
            )
            .is_none()
        );
        let php = p("/phpinfo.php");
        let info = "<title>PHP 8.2.1 - phpinfo()</title><h1>PHP Version 8.2.1</h1>";
        assert!(classify(&php, &seen(200, "text/html", info), None).is_some());
        assert!(classify(&php, &seen(200, "text/html", SPA), None).is_none());
        let ign = p("/_ignition/health-check");
        let yes = "{\"can_execute_commands\":true}";
        assert!(classify(&ign, &seen(200, "application/json", yes), None).is_some());
        let no = "{\"can_execute_commands\":false}";
        assert!(classify(&ign, &seen(200, "application/json", no), None).is_none());
        let heap = p("/actuator/heapdump");
        let dump = "JAVA PROFILE 1.0.2\0....";
        assert!(classify(&heap, &seen(200, "application/octet-stream", dump), None).is_some());
        assert!(classify(&heap, &seen(200, "text/html", SPA), None).is_none());
        let status = p("/server-status");
        let page = "<h1>Apache Server Status for x</h1><dt>Server uptime: 3 days</dt>";
        assert!(classify(&status, &seen(200, "text/html", page), None).is_some());
        assert!(classify(&status, &seen(200, "text/html", SPA), None).is_none());
        let rails = p("/rails/info/properties");
        let page = "<table><tr><td>Rails version</td></tr><tr><td>Ruby version</td></tr>";
        assert!(classify(&rails, &seen(200, "text/html", page), None).is_some());
        assert!(classify(&rails, &seen(200, "text/html", SPA), None).is_none());
    }

    #[test]
    fn backups_and_swap_files_need_source_not_a_page() {
        let bak = p("/index.php.bak");
        let src = "<?php echo 'hi'; ?>";
        assert!(classify(&bak, &seen(200, "application/octet-stream", src), None).is_some());
        assert!(classify(&bak, &seen(200, "text/html", SPA), None).is_none());
        assert!(classify(&bak, &seen(200, "text/plain", "not found"), None).is_none());
        let swp = p("/.index.html.swp");
        assert!(
            classify(
                &swp,
                &seen(200, "application/octet-stream", "b0VIM 8.2"),
                None
            )
            .is_some()
        );
        assert!(classify(&swp, &seen(200, "text/html", SPA), None).is_none());
        let ds = p("/.DS_Store");
        let magic = "\0\0\0\u{1}Bud1\0\0";
        assert!(classify(&ds, &seen(200, "application/octet-stream", magic), None).is_some());
        assert!(classify(&ds, &seen(200, "text/html", SPA), None).is_none());
    }

    #[test]
    fn graphql_and_api_docs_need_their_documents() {
        let gql = p("/graphql?query=%7B__schema%7Btypes%7Bname%7D%7D%7D");
        let schema = r#"{"data":{"__schema":{"types":[{"name":"Query"}]}}}"#;
        assert!(classify(&gql, &seen(200, "application/json", schema), None).is_some());
        let denied = r#"{"errors":[{"message":"introspection is disabled"}]}"#;
        assert!(classify(&gql, &seen(200, "application/json", denied), None).is_none());
        let docs = p("/openapi.json");
        let doc = r#"{"openapi":"3.0.0","paths":{"/a":{}}}"#;
        assert!(classify(&docs, &seen(200, "application/json", doc), None).is_some());
        assert!(classify(&docs, &seen(200, "text/html", SPA), None).is_none());
    }

    #[test]
    fn secret_bearing_key_names() {
        for k in [
            "DB_PASSWORD",
            "STRIPE_SECRET_KEY",
            "API_KEY",
            "SENTRY_DSN",
            "DATABASE_URL",
        ] {
            assert!(secret_bearing(k), "{k}");
        }
        for k in [
            "APP_ENV",
            "KEYBOARD_LAYOUT",
            "PORT",
            "APP_URL",
            "AUTHOR_NAME",
        ] {
            assert!(!secret_bearing(k), "{k}");
        }
    }
}
