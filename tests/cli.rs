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
    let o = run(&[
        "audit",
        "--profile",
        path.to_str().unwrap(),
        "--dry-run",
        "--format",
        "json",
    ]);
    let plan: serde_json::Value = serde_json::from_slice(&o.stdout).expect("a JSON plan");
    assert_eq!(plan["dry_run"], true);
    assert!(plan["planned_requests"].as_u64().unwrap() > 0);
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

#[test]
fn profile_mistakes_found_late_elsewhere_are_caught_by_validate() {
    let base = "[target]\nname = \"x\"\nbase_url = \"https://a.test/\"\nscope = [\"a.test\"]\n";
    let cases = [
        (
            "[target]\nname = \"x\"\nbase_url = \"https://u:pw-in-url-123@a.test/\"\nscope = [\"a.test\"]\n"
                .to_string(),
            "user name or password",
        ),
        (format!("{base}[checks.https]\norigins = [\"https://b.test/\"]\n"), "outside [target] scope"),
        (
            format!("{base}[checks.https]\nbase_http_url = \"http://a.test:8080/\"\n"),
            "outside [target] scope",
        ),
        (format!("{base}[target.headers]\nX-Key = \"line\\nbreak\"\n"), "not a valid HTTP header value"),
    ];
    for (text, expected) in cases {
        let (_d, path) = write_profile(&text);
        let o = run(&["validate", "--profile", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{text}");
        let err = stderr(&o);
        assert!(err.contains(expected), "{text}: {err}");
        assert!(
            !err.contains("pw-in-url-123"),
            "the password in the URL was printed: {err}"
        );
    }
}

#[test]
fn empty_selection_and_unwritable_outputs_stop_before_sending() {
    let server = start(Behaviour::Fixed(
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".into(),
    ));
    let (dir, path) = write_profile(&profile_for(server.port));
    let p = path.to_str().unwrap();
    let ids = readiness::engine::registry::ids().join(",");
    let same = dir.path().join("same.out");
    let same_json = format!("json={}", same.display());
    let same_md = format!("markdown={}", same.display());
    for args in [
        vec!["audit", "--profile", p, "--skip", ids.as_str()],
        vec![
            "audit",
            "--profile",
            p,
            "--journal",
            "/nonexistent-dir/j.jsonl",
        ],
        vec![
            "audit",
            "--profile",
            p,
            "--format",
            "json=/nonexistent-dir/o.json",
        ],
        vec![
            "audit",
            "--profile",
            p,
            "--format",
            same_json.as_str(),
            "--format",
            same_md.as_str(),
        ],
    ] {
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(server.hits(), 0, "nothing may be sent");
}

#[test]
fn profile_headers_never_travel_over_plain_http() {
    let http = start(Behaviour::Fixed(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".into(),
    ));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "[target]\nname = \"x\"\nbase_url = \"https://127.0.0.1:{closed}/\"\n\
         scope = [\"127.0.0.1:{closed}\", \"127.0.0.1:{http}\"]\ntimeout = \"2s\"\n\
         [target.headers]\nX-Key = \"header-secret-over-http-991\"\n\
         [checks.https]\nbase_http_url = \"http://127.0.0.1:{http}/\"\nlegacy_tls_probe = false\n",
        http = http.port
    );
    let (dir, path) = write_profile(&text);
    let o = run(&[
        "audit",
        "--profile",
        path.to_str().unwrap(),
        "--only",
        "https",
        "--format",
        &format!("json={}", dir.path().join("o.json").display()),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let heads = http.heads.lock().unwrap().clone();
    assert!(!heads.is_empty());
    for head in heads {
        assert!(
            !head.contains("header-secret-over-http-991"),
            "secret sent over http: {head}"
        );
    }
    // Everything went to a file: the verdict is still said on stderr.
    assert!(
        stderr(&o).contains("readiness: verdict fail"),
        "{}",
        stderr(&o)
    );
}
