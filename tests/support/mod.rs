//! Test-only helpers: running the built binary, the shared demo target, and
//! hostile servers. Everything listens on 127.0.0.1 only.

#![allow(dead_code)]

pub mod hostile;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The built `readiness` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_readiness"))
}

/// Runs the binary with `args`, with no colour and a clean log filter.
pub fn run(args: &[&str]) -> Output {
    run_in(args, None)
}

pub fn run_in(args: &[&str], dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env_remove("READINESS_LOG");
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    cmd.output().expect("run the readiness binary")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Paths and secrets of the demo started once for this test binary.
pub struct DemoInfo {
    pub profile: PathBuf,
    pub access_key: String,
    pub app_https: String,
    pub legacy_https: String,
    pub legacy_http: String,
    pub manifest: Vec<readiness::demo::manifest::Expected>,
}

/// Starts the demo target on a background runtime (once per test binary).
pub fn demo() -> &'static DemoInfo {
    static DEMO: OnceLock<DemoInfo> = OnceLock::new();
    DEMO.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("demo runtime");
            rt.block_on(async move {
                let demo = readiness::demo::Demo::start()
                    .await
                    .expect("start the demo");
                let info = DemoInfo {
                    profile: demo.profile_path.clone(),
                    access_key: demo.access_key.clone(),
                    app_https: demo.app_https.clone(),
                    legacy_https: demo.legacy_https.clone(),
                    legacy_http: demo.legacy_http.clone(),
                    manifest: demo.manifest(),
                };
                tx.send(info).expect("send demo info");
                // Keep the servers (and the temp folder) alive for the whole test binary.
                std::future::pending::<()>().await;
                drop(demo);
            });
        });
        rx.recv().expect("demo started")
    })
}

/// Runs `f` on a fresh runtime thread that lives for the test binary (for hostile servers).
pub fn background_runtime() -> &'static tokio::runtime::Handle {
    static RT: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    RT.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            tx.send(rt.handle().clone()).expect("send handle");
            rt.block_on(std::future::pending::<()>());
        });
        rx.recv().expect("runtime started")
    })
}

/// Serves an axum router on 127.0.0.1 (plain HTTP) on the shared background runtime.
pub fn serve(router: axum::Router) -> u16 {
    let rt = background_runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind a test server");
    let port = listener.local_addr().expect("addr").port();
    rt.spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    port
}

/// Runs `audit --profile PATH --format json=<temp> EXTRA...`; returns the output and the card.
pub fn audit_json(profile: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let json = profile.with_file_name("out.json");
    let fmt = format!("json={}", json.display());
    let mut args = vec![
        "audit",
        "--profile",
        profile.to_str().expect("utf-8 path"),
        "--format",
        &fmt,
    ];
    args.extend_from_slice(extra);
    let o = run(&args);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("no JSON: {}", stderr(&o)));
    let card = serde_json::from_str(&text).expect("the JSON output parses");
    (o, card)
}

/// The first subject row of check `id` in a JSON scorecard.
pub fn check_row(card: &serde_json::Value, id: &str) -> serde_json::Value {
    let check = card["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no `{id}` row"));
    check["subjects"][0].clone()
}

/// Writes a profile to a temp folder and returns (folder, path).
pub fn write_profile(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("readiness.toml");
    std::fs::write(&path, text).expect("write profile");
    (dir, path)
}
