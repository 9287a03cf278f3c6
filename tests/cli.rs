//! The command line as a user meets it: exit codes, init/validate/checks,
//! usage errors, dry runs that send nothing.

mod support;

use support::hostile::{Behaviour, start};
use support::{run, run_in, stderr, stdout, write_profile};

fn profile_for(port: u16) -> String {
    format!(
        r#"[target]
name = "local"
base_url = "https://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "2s"
"#
    )
}

#[test]
fn version_and_help() {
    let o = run(&["--version"]);
    assert!(o.status.success());
    assert!(stdout(&o).starts_with("readiness "));
    let o = run(&["audit", "--help"]);
    assert!(stdout(&o).contains("--fail-on"));
}

#[test]
fn init_writes_a_profile_that_validates() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(&["init"], Some(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = run_in(&["validate"], Some(dir.path()));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("is valid"));
    // A second init refuses to overwrite.
    let o = run_in(&["init"], Some(dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"));
}

#[test]
fn example_profile_documents_every_key_and_loads() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/readiness.toml.example");
    let text = std::fs::read_to_string(example).expect("readiness.toml.example exists");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("staging-ca.pem"),
        readiness::demo::pki::TestCa::new("x").unwrap().pem(),
    )
    .unwrap();
    std::fs::write(dir.path().join("staging.key"), "example-key-value").unwrap();
    std::fs::write(
        dir.path().join("onboarding.eml"),
        "From: a@acme.example\r\n\r\nx",
    )
    .unwrap();
    let path = dir.path().join("readiness.toml");
    std::fs::write(&path, text).unwrap();
    let o = std::process::Command::new(support::bin())
        .args(["validate", "--profile", path.to_str().unwrap()])
        .env("STAGING_BASIC_AUTH", "Basic ZXhhbXBsZTpleGFtcGxl")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn missing_profile_is_exit_2_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    let o = run_in(&["audit"], Some(dir.path()));
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("readiness init"), "{}", stderr(&o));
}

#[test]
fn profile_errors_are_exit_2_with_location() {
    let (_d, path) = write_profile(
        "[target]\nname = \"x\"\nbase_url = \"https://a.test/\"\nscope = [\"a.test\"]\nmax_rsp = 1\n",
    );
    let o = run(&["audit", "--profile", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("readiness.toml:5:1") && err.contains("max_rsp"),
        "{err}"
    );
}

#[test]
fn usage_errors_are_exit_2_and_send_nothing() {
    let server = start(Behaviour::Fixed(
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(),
    ));
    let (_d, path) = write_profile(&profile_for(server.port));
    let p = path.to_str().unwrap();
    for args in [
        vec!["audit", "--profile", p, "--only", "nope"],
        vec!["audit", "--profile", p, "--format", "xml"],
        vec![
            "audit",
            "--profile",
            p,
            "--format",
            "json",
            "--format",
            "table",
        ],
        vec!["audit", "--profile", p, "--fail-on", "severe"],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(server.hits(), 0, "a usage error must send nothing");
}

#[test]
fn dry_run_shows_the_plan_and_sends_nothing() {
    let server = start(Behaviour::Fixed(
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(),
    ));
    let (_d, path) = write_profile(&profile_for(server.port));
    let o = run(&["audit", "--profile", path.to_str().unwrap(), "--dry-run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("nothing is sent") && out.contains("https (passive)"),
        "{out}"
    );
    assert!(out.contains("Total:"), "{out}");
    assert_eq!(server.hits(), 0);
}

#[test]
fn checks_lists_every_check() {
    let o = run(&["checks"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("https"));
    let o = run(&["checks", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|c| c["id"] == "https"));
}

#[test]
fn completions_for_bash() {
    let o = run(&["completions", "bash"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("readiness"));
}
