//! The demo target audited by the real binary: the findings must be exactly
//! the demo's manifest (no missed flaw, no false positive on a twin), every
//! output format must validate and hold no secret, and exit codes follow
//! `--fail-on`.

mod support;

use std::collections::BTreeSet;

use support::{demo, run, stderr, stdout};

/// Audits the shared demo with a profile of its own client key, so audits
/// run side by side each see the exact latency pattern (demo/active.rs).
fn audit_json(extra: &[&str]) -> (std::process::Output, serde_json::Value, tempfile::TempDir) {
    static AUDITS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let d = demo();
    let n = AUDITS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let profile = readiness::demo::active::client_profile(&d.profile, &format!("audit-{n}"))
        .expect("a client profile");
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("out.json");
    let mut args = vec![
        "audit".to_string(),
        "--profile".into(),
        profile.to_str().unwrap().into(),
        "--format".into(),
        format!("json={}", json.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("no json: {}", stderr(&o)));
    (o, serde_json::from_str(&text).unwrap(), dir)
}

fn findings(card: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for check in card["checks"].as_array().unwrap() {
        for subject in check["subjects"].as_array().unwrap() {
            for f in subject["findings"].as_array().unwrap() {
                out.insert((
                    check["id"].as_str().unwrap().to_string(),
                    f["subject"].as_str().unwrap().to_string(),
                    f["code"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    out
}

#[test]
fn demo_audit_matches_the_manifest() {
    let (o, card, _dir) = audit_json(&[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let got = findings(&card);
    let want: BTreeSet<_> = demo()
        .manifest
        .iter()
        .map(|e| (e.check.clone(), e.subject.clone(), e.code.clone()))
        .collect();
    let declared: BTreeSet<&str> = readiness::engine::registry::all()
        .iter()
        .flat_map(|c| c.codes().iter().copied())
        .collect();
    for (_, _, code) in &got {
        assert!(
            declared.contains(code.as_str()),
            "{code} is emitted but not declared in codes()"
        );
    }
    let missed: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed: {missed:#?}\nextra: {extra:#?}"
    );

    // The hardened origin passes, the legacy one fails.
    let https = &card["checks"][0];
    assert_eq!(https["id"], "https");
    let verdicts: Vec<_> = https["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["subject"].as_str().unwrap().to_string(),
                s["verdict"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        verdicts
            .iter()
            .any(|(s, v)| demo().app_https.starts_with(s.as_str()) && v == "pass"),
        "{verdicts:?}"
    );
    assert!(
        verdicts
            .iter()
            .any(|(s, v)| demo().legacy_https.starts_with(s.as_str()) && v == "fail"),
        "{verdicts:?}"
    );
}

#[test]
fn json_output_validates_against_the_schema() {
    let (_o, card, _dir) = audit_json(&[]);
    let schema_text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/scorecard.schema.json"
    ))
    .unwrap();
    let schema: serde_json::Value = serde_json::from_str(&schema_text).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&card)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        card["schema_version"],
        readiness::report::model::SCHEMA_VERSION
    );
    assert!(card["run"]["requests_sent"].as_u64().unwrap() > 0);
}

#[test]
fn fail_on_threshold_sets_the_exit_code() {
    // The access and input parts plant critical flaws; the https part's worst
    // failure is high, so --fail-on critical lets an https-only audit pass.
    let (o, _card, _dir) = audit_json(&["--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let (o, _card, _dir) = audit_json(&["--only", "https", "--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (o, _card, _dir) = audit_json(&["--only", "https", "--fail-on", "low"]);
    assert_eq!(o.status.code(), Some(1));
    // The input part plants critical flaws (mass assignment, reflected markup).
    let (o, _card, _dir) = audit_json(&["--only", "input", "--fail-on", "critical"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
}

#[test]
fn no_secret_reaches_any_output() {
    let d = demo();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("o.json");
    let md = dir.path().join("o.md");
    let table = dir.path().join("o.txt");
    let journal = dir.path().join("journal.jsonl");
    let o = run(&[
        "audit",
        "--profile",
        d.profile.to_str().unwrap(),
        "--format",
        &format!("json={}", json.display()),
        "--format",
        &format!("markdown={}", md.display()),
        "--format",
        &format!("table={}", table.display()),
        "--format",
        "table",
        "--journal",
        journal.to_str().unwrap(),
        "-vv",
    ]);
    let mut outputs = vec![("stdout", stdout(&o)), ("stderr -vv", stderr(&o))];
    for p in [&json, &md, &table, &journal] {
        outputs.push(("file", std::fs::read_to_string(p).unwrap()));
    }
    // The journal must be there, one JSON object per request.
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    assert!(journal_text.lines().count() > 3);
    for line in journal_text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["check"].is_string() && v["url"].is_string());
    }
    // The -vv log really logged requests (so the grep below means something).
    assert!(outputs[1].1.contains("request"), "{}", outputs[1].1);
    for (name, text) in &outputs {
        assert!(
            !text.contains(&d.access_key),
            "the staging key leaked into {name}"
        );
    }
}

#[test]
fn same_target_gives_the_same_findings_in_the_same_order() {
    let (_o, a, _d1) = audit_json(&[]);
    let (_o, b, _d2) = audit_json(&[]);
    let codes = |c: &serde_json::Value| -> Vec<String> {
        c["checks"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|ch| ch["subjects"].as_array().unwrap().iter())
            .flat_map(|s| s["findings"].as_array().unwrap().iter())
            .map(|f| format!("{} {}", f["subject"], f["code"]))
            .collect()
    };
    assert_eq!(codes(&a), codes(&b));
}
