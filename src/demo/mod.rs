//! The built-in demo target (`readiness demo`): a small, deliberately flawed
//! B2B community platform served in-process on 127.0.0.1, with its own CA,
//! and the profile that audits it.
//!
//! Each part carries a manifest of the findings a correct audit reports
//! ([`Demo::manifest`]); the tests compare real audits with it, so the demo
//! is the one fixture every check shares.

pub mod access;
pub mod active;
pub mod email;
pub mod manifest;
pub mod ops;
pub mod pki;
pub mod platform;
pub mod secrets;
pub mod serve;

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::DemoArgs;
use crate::redact::Redactor;
use manifest::Expected;
use pki::TestCa;
use platform::Site;
use serve::Listener;

/// Host name of the hardened origin.
pub const APP_HOST: &str = "app.readiness-demo.test";
/// Host name of the flawed origin.
pub const LEGACY_HOST: &str = "legacy.readiness-demo.test";

/// A running demo target.
pub struct Demo {
    pub dir: tempfile::TempDir,
    pub profile_path: PathBuf,
    /// The staging access key the profile sends (a secret: must never be printed).
    pub access_key: String,
    pub app_https: String,
    pub app_http: String,
    pub legacy_https: String,
    pub legacy_http: String,
    /// Switches of the operational part (health failing, the leaked `.env`).
    pub ops: Arc<ops::Ops>,
    /// The credentials the secrets part planted (secrets: never print them).
    pub secrets: Arc<secrets::SecretsDemo>,
    _listeners: Vec<Listener>,
    _mail: email::MailDemo,
}

impl Demo {
    /// Starts every part of the demo and writes its profile to a temp folder.
    pub async fn start() -> Result<Demo, String> {
        let ca = TestCa::new("readiness demo CA")?;
        let access_key = format!("demo-staging-{:032x}", rand::random::<u128>());

        let app_leaf = ca.leaf(&[APP_HOST], 90)?;
        let legacy_leaf = ca.leaf(&[LEGACY_HOST], 20)?;

        let mut listeners = Vec::new();
        let ops = Arc::new(ops::Ops::new());
        let io = |e: std::io::Error| format!("cannot start the demo servers: {e}");

        let access_part = access::AccessDemo::new();
        let secrets_part = Arc::new(secrets::SecretsDemo::new());
        let app_tls = serve::serve(
            ops::app_router(
                platform::https_router(Arc::new(site_app(&access_key, None)))
                    .merge(access::router(access_part.clone()))
                    .merge(active::router())
                    .merge(secrets::router(secrets_part.clone())),
                ops.clone(),
            ),
            Some(app_leaf.server_config()?),
        )
        .await
        .map_err(io)?;
        let app_https = format!("https://{APP_HOST}:{}/", app_tls.addr.port());
        let app_plain = serve::serve(
            platform::http_router(Arc::new(site_app(&access_key, Some(app_https.clone())))),
            None,
        )
        .await
        .map_err(io)?;
        let app_http = format!("http://{APP_HOST}:{}/", app_plain.addr.port());

        let legacy = Arc::new(site_legacy(&access_key));
        let legacy_tls = serve::serve(
            platform::https_router(legacy.clone()).merge(ops::legacy_router(ops.clone())),
            Some(legacy_leaf.server_config()?),
        )
        .await
        .map_err(io)?;
        let legacy_plain = serve::serve(platform::http_router(legacy), None)
            .await
            .map_err(io)?;
        let legacy_https = format!("https://{LEGACY_HOST}:{}/", legacy_tls.addr.port());
        let legacy_http = format!("http://{LEGACY_HOST}:{}/", legacy_plain.addr.port());

        let scope: Vec<String> = [&app_tls, &app_plain]
            .iter()
            .map(|l| format!("\"{APP_HOST}:{}\"", l.addr.port()))
            .chain(
                [&legacy_tls, &legacy_plain]
                    .iter()
                    .map(|l| format!("\"{LEGACY_HOST}:{}\"", l.addr.port())),
            )
            .collect();
        listeners.extend([app_tls, app_plain, legacy_tls, legacy_plain]);

        let dir = tempfile::Builder::new()
            .prefix("readiness-demo-")
            .tempdir()
            .map_err(|e| format!("cannot create a temp folder for the demo: {e}"))?;
        let write = |name: &str, text: &str| {
            std::fs::write(dir.path().join(name), text)
                .map_err(|e| format!("cannot write the demo's {name}: {e}"))
        };
        write("demo-ca.pem", &ca.pem())?;
        write("staging-access.key", &access_key)?;
        let (mallory_token, carol_token) = access_part.static_tokens();
        write("mallory.token", &mallory_token)?;
        write("carol.token", &carol_token)?;
        ops::write_env_files(dir.path())?;
        let mail = email::MailDemo::start().await?;
        write(email::SAMPLE_FILE, &mail.sample)?;
        secrets_part.write_repo(dir.path())?;
        let profile = format!(
            r#"# Profile for the built-in demo target, written by `readiness demo`.
[target]
name = "Demo community platform"
base_url = "{app_https}"
scope = [{scope}]
resolve = {{ "{APP_HOST}" = "127.0.0.1", "{LEGACY_HOST}" = "127.0.0.1" }}
ca_file = "demo-ca.pem"
max_requests = 2000
allow_writes = true
max_rps = 500
timeout = "5s"
check_timeout = "60s"

[target.headers]
{access_header} = {{ file = "staging-access.key" }}

[checks.https]
base_http_url = "{app_http}"
origins = [{{ url = "{legacy_https}", http_url = "{legacy_http}" }}]
pages = ["/login"]
{access_profile}{ops_profile}{email}{secrets_profile}"#,
            ops_profile = ops::profile_text(&legacy_https),
            scope = scope.join(", "),
            access_header = platform::ACCESS_HEADER,
            access_profile = access_part.profile(),
            email = mail.profile_text(),
            secrets_profile = secrets::SecretsDemo::profile_text(),
        );
        let profile = format!("{profile}{}", active::profile_text());
        write("readiness.toml", &profile)?;
        let profile_path = dir.path().join("readiness.toml");

        Ok(Demo {
            dir,
            profile_path,
            access_key,
            app_https,
            app_http,
            legacy_https,
            legacy_http,
            ops,
            secrets: secrets_part,
            _listeners: listeners,
            _mail: mail,
        })
    }

    /// Every finding a correct audit of the demo reports.
    pub fn manifest(&self) -> Vec<Expected> {
        let mut all = manifest::https(&self.app_https, &self.legacy_https);
        all.extend(manifest::access());
        all.extend(manifest::ops(&self.app_https, &self.legacy_https));
        all.extend(manifest::latency());
        all.extend(manifest::rate_limit());
        all.extend(manifest::input());
        all.extend(manifest::email());
        all.extend(manifest::secrets(&self.app_https));
        all
    }
}

fn site_app(access_key: &str, upgrade_to: Option<String>) -> Site {
    Site {
        name: "app",
        access_key: access_key.to_string(),
        upgrade_to,
        hsts: Some("max-age=63072000; includeSubDomains; preload"),
        hardened_cookies: true,
        security_headers: true,
        mixed_content: false,
    }
}

fn site_legacy(access_key: &str) -> Site {
    Site {
        name: "legacy",
        access_key: access_key.to_string(),
        upgrade_to: None,
        hsts: Some("max-age=3600"),
        hardened_cookies: false,
        security_headers: false,
        mixed_content: true,
    }
}

/// `readiness demo`: start the target, then audit it (or keep serving it).
pub async fn command(args: DemoArgs, redactor: Redactor) -> i32 {
    let demo = match Demo::start().await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return crate::app::EXIT_USAGE;
        }
    };
    redactor.register(&demo.access_key);
    redactor.register(&demo.ops.leaked_secret());
    for value in demo.secrets.planted() {
        redactor.register(&value);
    }
    if args.serve {
        println!("Demo target running (Ctrl-C to stop):");
        println!(
            "  hardened origin  {}  (plain HTTP {})",
            demo.app_https, demo.app_http
        );
        println!(
            "  flawed origin    {}  (plain HTTP {})",
            demo.legacy_https, demo.legacy_http
        );
        println!("  names resolve to 127.0.0.1 through the profile's [target] resolve");
        println!("{}", ops::control_help(&demo.app_https));
        println!("  profile          {}", demo.profile_path.display());
        println!(
            "Audit it with: readiness audit --profile {}",
            demo.profile_path.display()
        );
        // Stop on Ctrl-C or SIGTERM alike, so the temp folder (with its keys) is removed.
        wait_for_stop().await;
        return crate::app::EXIT_OK;
    }
    let profile = match crate::profile::load(&demo.profile_path, &redactor) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: the demo wrote a profile it cannot read: {e}");
            return crate::app::EXIT_USAGE;
        }
    };
    crate::app::audit_profile(profile, &args.output, redactor).await
}

/// Waits for Ctrl-C, or SIGTERM where there is one.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
