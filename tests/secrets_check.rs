//! The `secrets` check driven through the real binary: repositories built
//! with the git CLI in temp folders (clean, leaking, shallow, with fixtures,
//! baseline and inline suppressions), env files, and the demo's deployed
//! bundle and source map. Every planted value is built at run time; the
//! redaction test greps every output format for them.

mod support;

use std::path::Path;
use std::process::Command;

use readiness::demo::secrets::{github_token, stripe_key};
use support::{run, stderr, stdout};

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn commit_all(dir: &Path, msg: &str) {
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", msg]);
}

/// A profile in `dir` whose site part is off (no server needed).
fn local_profile(dir: &Path, section: &str) -> std::path::PathBuf {
    let text = format!(
        "[target]\nname = \"t\"\nbase_url = \"https://app.invalid.test/\"\n\
         scope = [\"app.invalid.test\"]\n\n[checks.secrets]\nbundles = false\n{section}"
    );
    let path = dir.join("readiness.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn audit(profile: &Path) -> (std::process::Output, serde_json::Value) {
    let out_dir = tempfile::tempdir().unwrap();
    let json = out_dir.path().join("o.json");
    let o = run(&[
        "audit",
        "--profile",
        profile.to_str().unwrap(),
        "--only",
        "secrets",
        "--format",
        &format!("json={}", json.display()),
    ]);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    (o, serde_json::from_str(&text).unwrap())
}

/// (subject, verdict, codes) of every row of the secrets check.
fn rows(card: &serde_json::Value) -> Vec<(String, String, Vec<String>)> {
    let check = card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "secrets")
        .expect("secrets row");
    check["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let codes = s["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["code"].as_str().unwrap().to_string())
                .collect();
            (
                s["subject"].as_str().unwrap().to_string(),
                s["verdict"].as_str().unwrap().to_string(),
                codes,
            )
        })
        .collect()
}

fn row<'a>(
    rows: &'a [(String, String, Vec<String>)],
    subject: &str,
) -> &'a (String, String, Vec<String>) {
    rows.iter()
        .find(|r| r.0 == subject)
        .unwrap_or_else(|| panic!("no row {subject} in {rows:#?}"))
}

#[test]
fn a_clean_repository_passes_and_a_leaking_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("app");
    write(&repo, "src/main.js", "console.log('hello');\n");
    // Decoys: a documentation example, a placeholder, an env template.
    write(
        &repo,
        ".env.example",
        &format!(
            "STRIPE_SECRET_KEY=sk_live_{}\nAPI_TOKEN=<your-key>\n",
            "x".repeat(24)
        ),
    );
    git(&repo, &["init", "-q"]);
    commit_all(&repo, "init");
    let profile = local_profile(dir.path(), "paths = [\"app\"]\n");
    let (o, card) = audit(&profile);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = rows(&card);
    assert_eq!(row(&r, "app (work tree)").1, "pass", "{r:#?}");
    assert_eq!(row(&r, "app (git history)").1, "pass", "{r:#?}");

    // The flawed twin: a live token in the tree, a key only in history.
    let token = github_token();
    let gone = stripe_key("live");
    write(
        &repo,
        "src/deploy.sh",
        &format!("export STRIPE_KEY={gone}\n"),
    );
    commit_all(&repo, "deploy script");
    std::fs::remove_file(repo.join("src/deploy.sh")).unwrap();
    write(
        &repo,
        "src/release.js",
        &format!("const t = \"{token}\";\n"),
    );
    commit_all(&repo, "release");
    let (o, card) = audit(&profile);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = rows(&card);
    assert_eq!(
        row(&r, "app (work tree)").2,
        vec!["secrets.live-credential"]
    );
    assert_eq!(row(&r, "app (git history)").2, vec!["secrets.history-only"]);
}

#[test]
fn a_shallow_clone_warns_history_incomplete_never_passes() {
    let dir = tempfile::tempdir().unwrap();
    let origin = dir.path().join("origin");
    write(&origin, "a.txt", "one\n");
    git(&origin, &["init", "-q"]);
    commit_all(&origin, "one");
    write(&origin, "a.txt", "two\n");
    commit_all(&origin, "two");
    let url = format!("file://{}", origin.display());
    let out = Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url])
        .arg(dir.path().join("shallow"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let profile = local_profile(dir.path(), "paths = [\"shallow\", \"origin\"]\n");
    let (_o, card) = audit(&profile);
    let r = rows(&card);
    let shallow = row(&r, "shallow (git history)");
    assert_eq!(shallow.1, "warn", "{r:#?}");
    assert_eq!(shallow.2, vec!["secrets.history-incomplete"]);
    assert_eq!(row(&r, "origin (git history)").1, "pass", "{r:#?}");
}

#[test]
fn fixtures_are_excluded_and_suppressions_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("svc");
    let fixture_key = stripe_key("live");
    let allowed = github_token();
    let accepted = stripe_key("live");
    write(
        &repo,
        "fixtures/keys.txt",
        &format!("key = \"{fixture_key}\"\n"),
    );
    write(
        &repo,
        "src/a.js",
        &format!("const t = \"{allowed}\"; // readiness:allow rotated 2026-01\n"),
    );
    write(&repo, "src/b.js", &format!("const k = \"{accepted}\";\n"));
    git(&repo, &["init", "-q"]);
    commit_all(&repo, "init");

    // Without a baseline the accepted key counts.
    let profile = local_profile(dir.path(), "paths = [\"svc\"]\n");
    let (_o, card) = audit(&profile);
    let r = rows(&card);
    assert_eq!(
        row(&r, "svc (work tree)").2,
        vec!["secrets.live-credential"]
    );

    // Find its fingerprint in the output and accept it.
    let text = card.to_string();
    let fp_at = text.find("fingerprint ").unwrap() + "fingerprint ".len();
    let fp = &text[fp_at..fp_at + 16];
    std::fs::write(
        dir.path().join("baseline.toml"),
        format!("[[accepted]]\nfingerprint = \"{fp}\"\nreason = \"revoked test account\"\n"),
    )
    .unwrap();
    let profile = local_profile(
        dir.path(),
        "paths = [\"svc\"]\nbaseline = \"baseline.toml\"\n",
    );
    let (o, card) = audit(&profile);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = rows(&card);
    assert_eq!(row(&r, "svc (work tree)").1, "pass", "{r:#?}");
    assert_eq!(row(&r, "svc (git history)").1, "pass", "{r:#?}");
    // Inline + baseline, in the tree and in history: never silently dropped.
    assert_eq!(card["run"]["suppressed_findings"], 4, "{}", card["run"]);

    // With no exclusion the fixture is reported in both sources.
    let profile = local_profile(
        dir.path(),
        "paths = [\"svc\"]\nbaseline = \"baseline.toml\"\nexclude = []\n",
    );
    let (_o, card) = audit(&profile);
    let r = rows(&card);
    assert_eq!(
        row(&r, "svc (work tree)").2,
        vec!["secrets.live-credential"]
    );
}

#[test]
fn test_keys_are_info_unless_in_a_production_env_file() {
    let dir = tempfile::tempdir().unwrap();
    let test_key = stripe_key("test");
    write(
        dir.path(),
        "deploy/.env.production",
        &format!("STRIPE_KEY={test_key}\n"),
    );
    write(
        dir.path(),
        "deploy/.env.development",
        &format!("STRIPE_KEY={test_key}\n"),
    );
    write(
        dir.path(),
        "deploy/live.env",
        &format!("STRIPE_KEY={test_key}\n"),
    );
    let profile = local_profile(
        dir.path(),
        "history = false\nexclude = [\"deploy/\"]\n\
         env_files = [\"deploy/.env.production\", \"deploy/.env.development\"]\n\
         production_env_files = [\"deploy/live.env\"]\n",
    );
    let (_o, card) = audit(&profile);
    let r = rows(&card);
    assert_eq!(
        row(&r, "deploy/.env.production").2,
        vec!["secrets.live-credential"]
    );
    assert_eq!(
        row(&r, "deploy/live.env").2,
        vec!["secrets.live-credential"]
    );
    let dev = row(&r, "deploy/.env.development");
    assert_eq!(
        (dev.1.as_str(), dev.2.clone()),
        ("pass", vec!["secrets.test-key".into()])
    );
    assert_eq!(row(&r, ". (work tree)").1, "pass", "{r:#?}");
}

#[test]
fn no_planted_secret_reaches_any_output() {
    let demo = support::background_runtime()
        .block_on(readiness::demo::Demo::start())
        .expect("demo starts");
    let dir = demo.dir.path();
    let mut planted = demo.secrets.planted();

    // An env file with a live key, and a suppressed one in the tree.
    let env_key = stripe_key("live");
    let allowed = github_token();
    write(
        dir,
        "deploy/.env.production",
        &format!("STRIPE_SECRET_KEY={env_key}\n"),
    );
    write(
        dir,
        "repo/src/allowed.js",
        &format!("const t = \"{allowed}\"; // readiness:allow\n"),
    );
    planted.extend([env_key, allowed]);
    let text = std::fs::read_to_string(&demo.profile_path)
        .unwrap()
        .replace(
            "[checks.secrets]\n",
            "[checks.secrets]\nenv_files = [\"deploy/.env.production\"]\n",
        );
    let profile = dir.join("secrets-only.toml");
    std::fs::write(&profile, text).unwrap();

    let out = tempfile::tempdir().unwrap();
    let files: Vec<_> = ["o.json", "o.md", "o.txt", "journal.jsonl"]
        .iter()
        .map(|n| out.path().join(n))
        .collect();
    let o = run(&[
        "audit",
        "--profile",
        profile.to_str().unwrap(),
        "--only",
        "secrets",
        "--format",
        &format!("json={}", files[0].display()),
        "--format",
        &format!("markdown={}", files[1].display()),
        "--format",
        &format!("table={}", files[2].display()),
        "--format",
        "table",
        "--journal",
        files[3].to_str().unwrap(),
        "-vv",
    ]);
    let mut outputs = vec![
        ("stdout".to_string(), stdout(&o)),
        ("stderr -vv".into(), stderr(&o)),
    ];
    for f in &files {
        outputs.push((f.display().to_string(), std::fs::read_to_string(f).unwrap()));
    }
    // The audit really found them in every source (so the grep means something).
    let card: serde_json::Value = serde_json::from_str(&outputs[2].1).unwrap();
    let r = rows(&card);
    assert_eq!(row(&r, "repo (work tree)").1, "fail", "{r:#?}");
    assert_eq!(
        row(&r, "repo (git history)").2,
        vec!["secrets.history-only"]
    );
    assert_eq!(
        row(&r, "deploy/.env.production").2,
        vec!["secrets.live-credential"]
    );
    let site = r.iter().find(|x| x.0.starts_with("https://")).unwrap();
    assert!(
        site.2.contains(&"secrets.source-map-public".to_string()),
        "{r:#?}"
    );
    assert_eq!(card["run"]["suppressed_findings"], 1, "{}", card["run"]);
    assert!(outputs[1].1.contains("request"), "-vv logged no request");
    assert!(
        outputs[5].1.contains("console.js.map"),
        "journal misses the map"
    );
    // The out-of-scope script is counted, never fetched.
    assert!(
        !outputs[5].1.contains("readiness-demo-assets"),
        "fetched out of scope"
    );
    let site_row = card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["subjects"].as_array().unwrap())
        .find(|s| s["subject"].as_str().unwrap().starts_with("https://"))
        .unwrap();
    assert_eq!(site_row["measurements"]["skipped_out_of_scope"], 1);

    let mut hits = Vec::new();
    for value in &planted {
        for (name, text) in &outputs {
            let n = text.matches(value.as_str()).count();
            if n > 0 {
                hits.push(format!("{n} in {name}"));
            }
        }
    }
    assert!(hits.is_empty(), "raw values leaked: {hits:?}");
    drop(demo);
}

#[test]
fn a_key_written_while_merging_is_attributed_to_the_merge_commit() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("m");
    write(&repo, "a.txt", "base\n");
    git(&repo, &["init", "-q"]);
    commit_all(&repo, "base");
    git(&repo, &["checkout", "-q", "-b", "feature"]);
    write(&repo, "b.txt", "feature\n");
    commit_all(&repo, "feature");
    git(&repo, &["checkout", "-q", "main"]);
    git(&repo, &["merge", "-q", "--no-ff", "--no-commit", "feature"]);
    write(
        &repo,
        "merge.js",
        &format!("const t = \"{}\";\n", github_token()),
    );
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "merge feature"]);
    let head = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();

    let profile = local_profile(dir.path(), "paths = [\"m\"]\n");
    let (_o, card) = audit(&profile);
    let text = card.to_string();
    assert!(
        text.contains(&format!("also committed in {head}")),
        "merge commit {head} not named: {text}"
    );
}
