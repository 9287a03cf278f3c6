//! The `secrets` scanning core against real sources: a work tree on disk and
//! git repositories built with the git CLI in temp folders (secrets added,
//! deleted, on other branches, in shallow clones).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use readiness::checks::secrets::{
    HistoryOptions, Location, Origin, Ruleset, Scanner, WalkOptions, scan_history, scan_worktree,
};

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn synth(seed: u64, len: usize) -> String {
    let chars: Vec<char> = ALNUM.chars().collect();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(7);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            chars[((state >> 33) % 62) as usize]
        })
        .collect()
}

fn stripe(seed: u64) -> String {
    format!("sk_live_{}", synth(seed, 28))
}

fn git(dir: &Path, args: &[&str], date: &str) {
    let status = Command::new("git")
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
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn commit(dir: &Path, msg: &str, date: &str) {
    git(dir, &["add", "-A"], date);
    git(dir, &["commit", "-q", "-m", msg], date);
}

/// Every file under `.git` with its size and modification time.
fn snapshot(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.join(".git")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.insert(
                    e.path().display().to_string(),
                    (m.len(), m.modified().unwrap()),
                );
            }
        }
    }
    out
}

struct Repo {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    deleted: String,
    branch_only: String,
    live: String,
}

fn build_repo() -> Repo {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("repo");
    std::fs::create_dir_all(&dir).unwrap();
    let (deleted, branch_only, live) = (stripe(1), stripe(2), stripe(3));
    git(&dir, &["init", "-q"], "2021-01-01T00:00:00Z");
    write(
        &dir,
        "config/payments.js",
        &format!("module.exports = {{ key: '{deleted}' }};\n"),
    );
    write(
        &dir,
        "README.md",
        "docs: aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n",
    );
    commit(&dir, "add payments", "2021-01-02T00:00:00Z");
    // The same blob under a second path: scanned once, reported once.
    write(
        &dir,
        "copy/payments.js",
        &format!("module.exports = {{ key: '{deleted}' }};\n"),
    );
    commit(&dir, "copy", "2021-01-03T00:00:00Z");
    std::fs::remove_file(dir.join("config/payments.js")).unwrap();
    std::fs::remove_file(dir.join("copy/payments.js")).unwrap();
    write(&dir, "app/settings.py", &format!("STRIPE = \"{live}\"\n"));
    commit(&dir, "move key to settings", "2021-01-04T00:00:00Z");
    git(
        &dir,
        &["checkout", "-q", "-b", "feature"],
        "2021-01-05T00:00:00Z",
    );
    write(&dir, "feature.txt", &format!("key={branch_only}\n"));
    commit(&dir, "feature", "2021-01-05T00:00:00Z");
    git(&dir, &["checkout", "-q", "main"], "2021-01-06T00:00:00Z");
    write(&dir, "big.txt", &"x".repeat(20_000));
    commit(&dir, "big", "2021-01-06T00:00:00Z");
    Repo {
        _tmp: tmp,
        dir,
        deleted,
        branch_only,
        live,
    }
}

fn fp(rule: &str, value: &str) -> String {
    readiness::checks::secrets::scan::fingerprint(rule, value)
}

#[test]
fn history_finds_deleted_branch_and_live_secrets_once_each_without_writing() {
    let repo = build_repo();
    let before = snapshot(&repo.dir);
    let scanner = Scanner::new(&Ruleset::builtin());
    let options = HistoryOptions {
        max_blob_size: 10_000,
        threads: 2,
        ..HistoryOptions::default()
    };
    let scan = scan_history(&repo.dir, &scanner, &options).unwrap();
    assert_eq!(
        snapshot(&repo.dir),
        before,
        "history scan wrote to the repository"
    );

    assert!(!scan.shallow);
    assert!(scan.incomplete.is_none());
    assert_eq!(scan.skipped_large, 1, "big.txt is over the cap");
    assert_eq!(
        scan.blobs, 4,
        "README, payments (one blob), settings, feature"
    );
    assert_eq!(scan.findings.len(), 3, "{:#?}", scan.findings);

    let by_fp = |value: &str| {
        let want = fp("stripe-secret-key", value);
        scan.findings
            .iter()
            .find(|f| f.fingerprint == want)
            .expect("finding present")
    };
    let deleted = by_fp(&repo.deleted);
    assert!(deleted.history_only);
    assert!(deleted.fix().contains("still in history"));
    match &deleted.location {
        Location::Commit {
            commit,
            date,
            path,
            line,
            ..
        } => {
            assert_eq!(commit.len(), 40);
            assert!(date.starts_with("2021-01-02"), "oldest commit: {date}");
            assert_eq!(path, "config/payments.js");
            assert_eq!(*line, 1);
        }
        other => panic!("unexpected location {other:?}"),
    }
    assert!(
        by_fp(&repo.branch_only).history_only,
        "not in HEAD: only on a branch"
    );
    let live = by_fp(&repo.live);
    assert!(!live.history_only);
    assert!(matches!(&live.location, Location::Commit { path, .. } if path == "app/settings.py"));

    let all = format!("{:?}", scan.findings);
    for raw in [&repo.deleted, &repo.branch_only, &repo.live] {
        assert!(!all.contains(&raw[8..]), "raw value in output");
    }
}

#[test]
fn shallow_clone_is_reported_incomplete() {
    let repo = build_repo();
    let clone = repo.dir.parent().unwrap().join("shallow");
    let url = format!("file://{}", repo.dir.display());
    let status = Command::new("git")
        .args(["clone", "-q", "--depth", "1", &url])
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success());
    let scanner = Scanner::new(&Ruleset::builtin());
    let scan = scan_history(&clone, &scanner, &HistoryOptions::default()).unwrap();
    assert!(scan.shallow);
    assert_eq!(
        scan.incomplete.as_deref(),
        Some("shallow clone: history incomplete")
    );
    assert_eq!(scan.findings.len(), 1, "only the live key is reachable");
}

#[test]
fn history_of_a_clean_repository_has_no_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    git(dir, &["init", "-q"], "2022-01-01T00:00:00Z");
    write(
        dir,
        "a.txt",
        "password = \"changeme\"\nkey = AKIAIOSFODNN7EXAMPLE\n",
    );
    commit(dir, "one", "2022-01-01T00:00:00Z");
    let scanner = Scanner::new(&Ruleset::builtin());
    let scan = scan_history(dir, &scanner, &HistoryOptions::default()).unwrap();
    assert_eq!(scan.blobs, 1);
    assert!(scan.findings.is_empty());
    assert!(scan_history(&dir.join("nope"), &scanner, &HistoryOptions::default()).is_err());
}

#[test]
fn worktree_walk_respects_gitignore_exclusions_caps_and_skips_git_and_binaries() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    let shared = tmp.path().join("shared");
    write(&root, ".gitignore", "ignored.txt\n");
    write(&root, "ignored.txt", &format!("k={}\n", stripe(10)));
    write(&root, ".git/config", &format!("k={}\n", stripe(11)));
    write(&root, "fixtures/keys.txt", &format!("k={}\n", stripe(12)));
    write(
        &root,
        "src/app.js",
        &format!("const k = '{}';\n", stripe(13)),
    );
    write(&root, ".env", &format!("STRIPE_KEY={}\n", stripe(14)));
    write(
        &root,
        "big.log",
        &format!("{}\n{}", stripe(15), "y".repeat(3000)),
    );
    write(&shared, "peer.txt", &format!("k={}\n", stripe(16)));
    std::fs::write(root.join("logo.bin"), format!("\0\0{}", stripe(17))).unwrap();

    let scanner = Scanner::new(&Ruleset::builtin());
    let options = WalkOptions {
        max_file_size: 2048,
        exclude: vec!["fixtures/".into(), "../shared".into()],
        ..WalkOptions::default()
    };
    let scan = scan_worktree(&root, &scanner, &options).unwrap();
    let paths: Vec<String> = scan
        .findings
        .iter()
        .map(|f| match &f.location {
            Location::File { path, .. } => path.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(paths, vec![".env".to_string(), "src/app.js".to_string()]);
    assert_eq!(scan.skipped.binary, 1);
    assert_eq!(scan.skipped.too_large, 1);
    assert_eq!(scan.files_scanned, 3, ".gitignore, .env, src/app.js");

    let everything = WalkOptions {
        respect_gitignore: false,
        ..WalkOptions::default()
    };
    let scan = scan_worktree(&root, &scanner, &everything).unwrap();
    assert_eq!(
        scan.findings.len(),
        5,
        "ignored.txt, fixtures, big.log, .env, src/app.js"
    );

    // Scanning the parent reaches ../shared, unless excluded by path.
    let parent = WalkOptions {
        exclude: vec!["shared".into()],
        ..WalkOptions::default()
    };
    let scan = scan_worktree(tmp.path(), &scanner, &parent).unwrap();
    assert!(
        scan.findings
            .iter()
            .all(|f| !f.location.to_string().contains("peer.txt"))
    );
}

#[test]
fn worktree_counts_suppressed_findings_separately() {
    let tmp = tempfile::tempdir().unwrap();
    write(
        tmp.path(),
        "a.py",
        &format!("K = '{}'  # readiness:allow demo key\n", stripe(20)),
    );
    let scanner = Scanner::new(&Ruleset::builtin());
    let scan = scan_worktree(tmp.path(), &scanner, &WalkOptions::default()).unwrap();
    assert!(scan.findings.is_empty());
    assert_eq!(scan.suppressed.len(), 1);
    let _ = Origin::file("unused");
}
