//! The `secrets` check at its edges: scans cut short by a deadline report
//! what they scanned and never pass, and the deployed-site scan follows
//! inline source maps, CSS `@import`s and lazy chunks named literally in a
//! bundle (a local server on 127.0.0.1 serves a leaking site and its clean
//! twin). Planted values are built at run time.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use base64::Engine as _;
use readiness::checks::secrets::rules::Follows;
use readiness::checks::secrets::{
    HistoryOptions, Ruleset, Scanner, SecretsCheck, WalkOptions, scan_history, scan_worktree,
};
use readiness::demo::secrets::{github_token, stripe_key};
use readiness::engine::{Check, Context};
use readiness::net::Net;
use readiness::net::budget::Allowance;
use readiness::redact::Redactor;
use readiness::report::model::{SubjectRow, Verdict};
use std::sync::Arc;
use support::{audit_json, serve, write_profile};
use tokio_util::sync::CancellationToken;

/// Every subject row of the secrets check.
fn subjects(card: &serde_json::Value) -> Vec<serde_json::Value> {
    card["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == "secrets")
        .and_then(|c| c["subjects"].as_array())
        .cloned()
        .unwrap_or_else(|| panic!("no secrets rows: {card}"))
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository of `files` source files in `commits` commits.
fn generated_repo(dir: &Path, files: usize, commits: usize, bytes_each: usize) {
    git(dir, &["init", "-q"]);
    let line = "let value = compute(a, b); // ordinary source text\n";
    let body = line.repeat(bytes_each / line.len() + 1);
    let per = files.div_ceil(commits);
    for c in 0..commits {
        for f in c * per..((c + 1) * per).min(files) {
            let path = dir.join(format!("src/m{}/f{f}.rs", f % 17));
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, format!("// file {f}\n{body}")).unwrap();
        }
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", &format!("c{c}")]);
    }
}

#[test]
fn a_work_tree_scan_past_its_deadline_stops_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    generated_repo(tmp.path(), 60, 1, 2000);
    let scanner = Scanner::new(&Ruleset::builtin());
    let late = WalkOptions {
        deadline: Some(Instant::now()),
        ..WalkOptions::default()
    };
    let cut = scan_worktree(tmp.path(), &scanner, &late).unwrap();
    assert!(cut.stopped_at_deadline);
    assert!(cut.files_scanned < 60);

    let in_time = WalkOptions {
        deadline: Some(Instant::now() + Duration::from_secs(600)),
        ..WalkOptions::default()
    };
    let whole = scan_worktree(tmp.path(), &scanner, &in_time).unwrap();
    assert!(!whole.stopped_at_deadline);
    assert_eq!(whole.files_scanned, 60);
}

#[test]
fn a_history_scan_past_its_deadline_reports_n_of_m() {
    let tmp = tempfile::tempdir().unwrap();
    generated_repo(tmp.path(), 40, 4, 1000);
    let scanner = Scanner::new(&Ruleset::builtin());
    let late = HistoryOptions {
        deadline: Some(Instant::now()),
        count_grace: Duration::from_secs(30),
        ..HistoryOptions::default()
    };
    let scan = scan_history(tmp.path(), &scanner, &late).unwrap();
    let cut = scan.cutoff.expect("cut off");
    assert!(cut.counted_all);
    assert_eq!(cut.listed, 40);
    assert_eq!(scan.blobs, 0);
    assert_eq!(
        cut.describe(scan.blobs),
        "history scan incomplete: 0 of 40 blobs scanned before the deadline"
    );

    let whole = scan_history(tmp.path(), &scanner, &HistoryOptions::default()).unwrap();
    assert!(whole.cutoff.is_none());
    assert_eq!(whole.blobs, 40);
}

/// Runs the secrets check itself (not the binary) on the folder of
/// `profile_text`, with the check deadline given: the same rows the runner
/// would put in the report.
async fn run_check(dir: &Path, profile_text: &str, deadline: Instant) -> Vec<SubjectRow> {
    let path = dir.join("readiness.toml");
    std::fs::write(&path, profile_text).unwrap();
    let redactor = Redactor::new();
    let profile = readiness::profile::parse(profile_text, &path, &redactor).unwrap();
    let net = Net::new(&profile, redactor, Instant::now()).unwrap();
    let ctx = Context {
        profile: Arc::new(profile),
        net: net.for_check("secrets", Allowance::fixed(0), CancellationToken::new()),
        deadline,
        cancel: CancellationToken::new(),
    };
    SecretsCheck.run(ctx).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_already_past_gives_incomplete_rows_never_a_pass() {
    // The deadline is taken before the check starts, so every scan meets it
    // before its first file or blob whatever the machine's speed: the rows
    // must say the scan was cut, never pass. The twin with time to spare
    // passes the same clean repository, so the cut rows are not vacuous.
    let tmp = tempfile::tempdir().unwrap();
    generated_repo(tmp.path(), 30, 3, 2000);
    let text = "[target]\nname = \"t\"\nbase_url = \"https://app.invalid.test/\"\n\
                scope = [\"app.invalid.test\"]\n\n[checks.secrets]\nbundles = false\n";

    let cut = run_check(tmp.path(), text, Instant::now()).await;
    assert_eq!(cut.len(), 2, "work tree and history rows: {cut:?}");
    for row in &cut {
        assert_ne!(row.verdict, Verdict::Pass, "{row:?}");
        assert_eq!(row.verdict, Verdict::Warn, "{row:?}");
        let incomplete: Vec<&str> = row
            .findings
            .iter()
            .filter(|f| f.code == "secrets.scan-incomplete")
            .map(|f| f.title.as_str())
            .collect();
        assert_eq!(incomplete.len(), 1, "{row:?}");
        let title = incomplete[0];
        assert!(
            title == "work-tree scan incomplete: 0 files scanned before the deadline"
                || (title.starts_with("history scan incomplete: 0 of ")
                    && title.ends_with(" blobs scanned before the deadline")),
            "{title}"
        );
    }

    let whole = run_check(tmp.path(), text, Instant::now() + Duration::from_secs(600)).await;
    assert_eq!(whole.len(), 2, "{whole:?}");
    for row in &whole {
        assert_eq!(row.verdict, Verdict::Pass, "{row:?}");
        assert!(row.findings.is_empty(), "{row:?}");
    }
}

#[test]
fn follow_up_tests_admit_what_the_rules_match_and_cut_the_rest() {
    let yes: &[(&[u8], Follows, usize)] = &[
        (b"API_TOKEN = \"x\"", Follows::Assignment, 5),
        (b"\"password\": \"x\"", Follows::Assignment, 9),
        (b"secretKey\n  : x", Follows::Assignment, 6),
        (b"token:=abcdefgh", Follows::AssignedValue, 5),
        (b"token => 'x'", Follows::AssignedValue, 5),
        (b"://user:pw@db.internal/x", Follows::Userinfo, 3),
        (b"PRIVATE KEY-----\n", Follows::PemHeader, 11),
        (b"PRIVATE KEY BLOCK-----", Follows::PemHeader, 11),
    ];
    for (text, follows, end) in yes {
        assert!(
            follows.admits(text, *end),
            "{follows:?} {:?}",
            String::from_utf8_lossy(text)
        );
    }
    let no: &[(&[u8], Follows, usize)] = &[
        (b"tokens are parsed here", Follows::Assignment, 5),
        (b"laws of nature", Follows::Assignment, 4),
        (b"token: Token,", Follows::AssignedValue, 5),
        (b"://docs.rs/user:pw@x", Follows::Userinfo, 3),
        (b"://example.com path@x", Follows::Userinfo, 3),
        (b"private key is kept", Follows::PemHeader, 11),
    ];
    for (text, follows, end) in no {
        assert!(
            !follows.admits(text, *end),
            "{follows:?} {:?}",
            String::from_utf8_lossy(text)
        );
    }
}

/// The site: a page linking a script and a stylesheet; the script imports a
/// lazy chunk and carries an inline source map; the stylesheet imports a
/// second one. `leak` puts a credential in the chunk, the imported sheet and
/// the inline map's original source.
fn site(leak: bool) -> axum::Router {
    let (chunk_key, css_key, map_key) = if leak {
        (
            github_token(),
            format!("https://user:{}@hooks.internal.test/x", "Zq8wVt3rLm5pXc2n"),
            stripe_key("live"),
        )
    } else {
        ("none".to_string(), "none".to_string(), "none".to_string())
    };
    let map = serde_json::json!({
        "version": 3,
        "sources": ["src/config.ts"],
        "sourcesContent": [format!("export const payments = \"{map_key}\";\n")],
        "mappings": "AAAA"
    });
    let inline = base64::engine::general_purpose::STANDARD.encode(map.to_string());
    let app = format!(
        "const open = () => import(\"./chunk-lazy.js\");\n\
         //# sourceMappingURL=data:application/json;charset=utf-8;base64,{inline}\n"
    );
    let chunk = format!("export const gh = \"{chunk_key}\";\n");
    let theme = format!("/* feed: {css_key} */\nbody {{ color: #222 }}\n");
    let js = |body: String| ([(CONTENT_TYPE, "application/javascript")], body);
    let css = |body: String| ([(CONTENT_TYPE, "text/css")], body);
    let page = "<html><head><link rel=\"stylesheet\" href=\"/main.css\">\
                <script src=\"/app.js\"></script></head><body>hi</body></html>";
    axum::Router::new()
        .route(
            "/",
            get(move || async move { ([(CONTENT_TYPE, "text/html")], page) }),
        )
        .route("/app.js", get(move || async move { js(app) }))
        .route("/chunk-lazy.js", get(move || async move { js(chunk) }))
        .route(
            "/main.css",
            get(move || async move { css("@import url(\"/theme.css\");\n".to_string()) }),
        )
        .route("/theme.css", get(move || async move { css(theme) }))
}

fn site_row(leak: bool, max_bundles: u32) -> (serde_json::Value, String) {
    let port = serve(site(leak));
    let (dir, profile) = write_profile(&format!(
        "[target]\nname = \"t\"\nbase_url = \"http://127.0.0.1:{port}/\"\n\
         scope = [\"127.0.0.1:{port}\"]\n\n[checks.secrets]\nhistory = false\n\
         max_bundles = {max_bundles}\n"
    ));
    std::fs::write(dir.path().join("README.md"), "clean\n").unwrap();
    let (out, card) = audit_json(&profile, &["--only", "secrets"]);
    let rows = subjects(&card);
    let subject = format!("http://127.0.0.1:{port}");
    let site = rows
        .iter()
        .find(|s| s["subject"] == subject.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no site row: {rows:?}\n{}", support::stderr(&out)));
    (site, support::stdout(&out))
}

#[test]
fn the_site_scan_follows_imports_lazy_chunks_and_inline_maps() {
    let (row, _) = site_row(true, 8);
    assert_eq!(row["verdict"], "fail", "{row}");
    let m = &row["measurements"];
    assert_eq!(m["bundles"], 4, "{row}");
    assert_eq!(m["followed_imports"], 2, "{row}");
    assert_eq!(m["inline_source_maps"], 1, "{row}");
    let findings = row["findings"].as_array().expect("findings");
    // A value found in several places lists the others in its evidence.
    let at = |needle: &str| {
        findings.iter().any(|f| {
            f["location"].as_str().unwrap_or("").contains(needle)
                || f["evidence"].as_str().unwrap_or("").contains(needle)
        })
    };
    assert!(at("/chunk-lazy.js"), "lazy chunk: {row}");
    assert!(at("/theme.css"), "imported stylesheet: {row}");
    assert!(at("inline source map: src/config.ts"), "inline map: {row}");
    assert!(
        findings
            .iter()
            .all(|f| f["code"] != "secrets.source-map-public"),
        "an inline map is not a public map file: {row}"
    );
}

#[test]
fn the_clean_twin_site_passes_and_the_cap_bounds_the_fetches() {
    let (row, _) = site_row(false, 8);
    assert_eq!(row["verdict"], "pass", "{row}");
    assert_eq!(row["measurements"]["bundles"], 4, "{row}");

    let (capped, _) = site_row(true, 2);
    let m = &capped["measurements"];
    assert_eq!(m["bundles"], 2, "{capped}");
    assert_eq!(m["skipped_over_cap"], 2, "{capped}");
}
