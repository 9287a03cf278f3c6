//! Scanner behaviour: pitfalls B25/B27/B29, previews, fingerprints,
//! suppressions, test mode, decoding and large one-line inputs.

use base64::Engine as _;

use super::*;
use crate::checks::secrets::rules::Ruleset;
use crate::checks::secrets::rules::tests::{checksummed, synth};

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn scanner() -> Scanner {
    Scanner::new(&Ruleset::builtin())
}

fn scan(text: &str) -> Vec<SecretFinding> {
    scanner().scan_text(text, &Origin::file("app/config.txt"))
}

#[test]
fn b25_lockfile_integrity_hashes_are_not_secrets() {
    let integrity = concat!(
        "sha512-t4MVHV5innph4NxAoMgZ/vh2Ilp9PUGlDwR4hYsHiOTj771fhD4D4fILu",
        "xwhoJyfUMsAyRyhs9SatL23iw1r3g=="
    );
    let tarball = "datadog-metrics-0.11.0.tgz";
    let lock = format!(
        "\"node_modules/datadog-metrics\": {{\n  \"version\": \"0.11.0\",\n  \
         \"resolved\": \"https://registry.npmjs.org/datadog-metrics/-/{tarball}\",\n  \
         \"integrity\": \"{integrity}\"\n}}"
    );
    let gosum = "example.com/mod v1.2.3 h1:7dNHIQ82C/0VEB20Q6hLSGo+oEWGeDCrXmT7RsoGl2Y=\n";
    for (name, text) in [
        ("package-lock.json", lock.as_str()),
        ("go.sum", gosum),
        ("notes.txt", lock.as_str()),
    ] {
        let found = scanner().scan_text(text, &Origin::file(name));
        assert!(found.is_empty(), "{name}: {found:?}");
    }
}

#[test]
fn b27_placeholders_and_redactions_are_not_secrets() {
    for text in [
        "integromat_api_key = '00000000-0000-0000-0000-000000000000'",
        concat!(
            r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\n.."#,
            r#".\n-----END PRIVATE KEY-----\n"}"#,
        ),
        "DATABASE_URL=postgres://app:%2A%2A%2A%2A%2A%2A%2A%2A@db.example.com:5432/app",
        r#"client_id: "_env:EXAMPLE_CLIENT_ID:REDACTED""#,
    ] {
        assert!(scan(text).is_empty(), "{text}: {:?}", scan(text));
    }
}

#[test]
fn b27_control_percent_encoded_real_password_is_a_finding() {
    let text = "DATABASE_URL=postgres://app:s3cr%40tPa55w0rd%21@db.example.com:5432/app";
    let found = scan(text);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule_id, "database-url-password");
    // The fingerprint is over the decoded password.
    assert_eq!(
        found[0].fingerprint,
        fingerprint("database-url-password", "s3cr@tPa55w0rd!")
    );
    assert_eq!(found[0].preview, "(15 chars)");
    assert_eq!(found[0].severity, Severity::Critical);
}

#[test]
fn b29_unquoted_base64_dockerconfigjson_in_templated_yaml_is_a_finding() {
    let login = concat!(
        r#"{"auths":{"registry.example.com":{"username":"ci-bot","password":"Zq7!fa"#,
        r#"ke-Pw-2291","auth":"Y2ktYm90OlpxNyFmYWtlLVB3LTIyOTE="}}}"#,
    );
    let blob = base64::engine::general_purpose::STANDARD.encode(login);
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{{{ .Values.name }}}}-pull\n\
         type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {blob}\n"
    );
    let found = scanner().scan_text(&yaml, &Origin::file("chart/templates/pull-secret.yaml"));
    assert!(
        !found.is_empty(),
        "registry credential inside the blob is found"
    );
    let f = &found[0];
    assert_eq!(f.rule_id, "docker-registry-auth");
    assert_eq!(f.kind, SecretKind::PackageRegistry);
    assert_eq!(f.decoded, Some("base64"));
    assert!(
        matches!(
            f.location,
            Location::File {
                line: 7,
                column: 22,
                ..
            }
        ),
        "{:?}",
        f.location
    );
}

#[test]
fn preview_shows_prefix_and_length_only_and_debug_cannot_leak() {
    let key = format!("sk_live_{}", synth(70, 24, ALNUM));
    let text = format!("const stripe = require('stripe')('{key}');");
    let found = scan(&text);
    assert_eq!(found.len(), 1);
    let f = &found[0];
    assert_eq!(f.preview, "sk_live_… (32 chars)");
    assert_eq!(f.fingerprint.len(), 16);
    assert_eq!(f.fingerprint, fingerprint("stripe-secret-key", &key));
    let debug = format!("{found:?}");
    let json = serde_json::to_string(&found).unwrap();
    let secret_part = &key["sk_live_".len()..];
    for out in [&debug, &json, &f.location.to_string()] {
        assert!(!out.contains(secret_part), "raw value leaked: {out}");
    }
}

#[test]
fn fingerprint_is_sha256_of_rule_nul_value() {
    let mut h = Sha256::new();
    h.update(b"jwt\0abc");
    let full = hex::encode(h.finalize());
    assert_eq!(fingerprint("jwt", "abc"), full[..16]);
}

#[test]
fn test_mode_keys_are_info_unless_in_a_production_env_file() {
    let text = format!("STRIPE_SECRET_KEY=sk_test_{}\n", synth(71, 24, ALNUM));
    let dev = scanner().scan_text(&text, &Origin::file(".env"));
    assert_eq!(dev.len(), 1);
    assert!(dev[0].test_mode);
    assert_eq!(dev[0].severity, Severity::Info);
    let prod = scanner().scan_text(&text, &Origin::file("deploy/.env.production"));
    assert!(!prod[0].test_mode);
    assert_eq!(prod[0].severity, Severity::Critical);
}

#[test]
fn production_env_file_names() {
    for yes in [
        ".env.production",
        ".env.prod",
        "production.env",
        ".env.production.local",
    ] {
        assert!(is_production_env_file(Path::new(yes)), "{yes}");
    }
    for no in [
        ".env",
        ".env.development",
        ".env.test",
        "production.yaml",
        "envoy.prod",
    ] {
        assert!(!is_production_env_file(Path::new(no)), "{no}");
    }
}

#[test]
fn inline_allow_comment_suppresses_that_line_only() {
    let a = checksummed("ghp_", 72);
    let b = checksummed("ghp_", 73);
    let text = format!("t1 = \"{a}\" # readiness:allow fixture\nt2 = \"{b}\"\n");
    let found = scan(&text);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].suppression, Some(Suppression::Inline));
    assert_eq!(found[1].suppression, None);
    assert!(matches!(found[1].location, Location::File { line: 2, .. }));
}

#[test]
fn baseline_suppresses_by_fingerprint_with_reason() {
    let token = checksummed("npm_", 74);
    let text = format!("//registry.npmjs.org/:_authToken={token}\n");
    let fp = fingerprint("npm-token", &token);
    let toml_text = format!("[[accepted]]\nfingerprint = \"{fp}\"\nreason = \"revoked 2024-05\"\n");
    let json_text = format!(r#"{{"accepted": [{{"fingerprint": "{fp}", "reason": "revoked"}}]}}"#);
    for (text_b, json) in [(toml_text, false), (json_text, true)] {
        let baseline = Baseline::parse(&text_b, json).unwrap();
        let found = scanner()
            .with_baseline(baseline)
            .scan_text(&text, &Origin::file(".npmrc"));
        assert_eq!(found.len(), 1);
        assert!(matches!(
            found[0].suppression,
            Some(Suppression::Baseline { .. })
        ));
    }
    assert!(
        Baseline::parse(
            "[[accepted]]\nfingerprint = \"zz\"\nreason = \"x\"\n",
            false
        )
        .is_err()
    );
    let no_reason = format!("[[accepted]]\nfingerprint = \"{fp}\"\nreason = \" \"\n");
    assert!(Baseline::parse(&no_reason, false).is_err());
}

#[test]
fn found_values_are_registered_with_the_redactor() {
    let redactor = Redactor::new();
    let token = checksummed("ghp_", 75);
    let found = scanner().with_redactor(redactor.clone()).scan_text(
        &format!("token: {token}"),
        &Origin::url("https://app.example/app.js"),
    );
    assert_eq!(found.len(), 1);
    assert!(matches!(
        found[0].location,
        Location::Url {
            line: 1,
            column: 8,
            ..
        }
    ));
    assert_eq!(redactor.redact(&format!("leak {token}")), "leak ***");
}

#[test]
fn specific_rule_wins_over_generic_on_the_same_value() {
    let key = format!("sk_live_{}", synth(76, 30, ALNUM));
    let found = scan(&format!("api_key = \"{key}\""));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule_id, "stripe-secret-key");
}

#[test]
fn megabyte_one_line_bundle_is_scanned_in_bounded_time() {
    let token = checksummed("ghp_", 77);
    let mut bundle = String::with_capacity(3 << 20);
    let filler = "var token=e.token||null,apiKey=t.apiKey;function secret(n){return n.password}";
    while bundle.len() < (3 << 20) / 2 {
        bundle.push_str(filler);
    }
    bundle.push_str(&format!("const gh=\"{token}\";"));
    while bundle.len() < 3 << 20 {
        bundle.push_str(filler);
    }
    let started = std::time::Instant::now();
    let found = scanner().scan_text(&bundle, &Origin::url("https://app.example/main.js"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].rule_id, "github-token");
    assert!(
        started.elapsed().as_secs() < 20,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn line_and_column_are_counted_in_bytes_from_one() {
    let key = format!("AKIA{}", synth(78, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"));
    let found = scan(&format!("a\nbb\n  id={key}\n"));
    assert!(matches!(
        found[0].location,
        Location::File {
            line: 3,
            column: 6,
            ..
        }
    ));
}

#[test]
fn packed_keyword_search_matches_the_dfa_fallback() {
    let fast = scanner();
    assert!(!fast.packed.is_empty(), "no packed searcher on this CPU");
    let mut slow = scanner();
    slow.packed.clear();
    // Mixed-case keywords, overlapping keywords (`aws_secret_access_key`
    // holds `aws`, `secret`, `secret_access_key`, `access_key`), a short
    // keyword at the very end, and a base64-JSON blob.
    let aws_secret = synth(11, 40, ALNUM);
    let blob = base64::engine::general_purpose::STANDARD.encode(format!(
        "{{\"auths\":{{\"r\":{{\"password\":\"{}\"}}}}}}",
        synth(5, 24, ALNUM)
    ));
    let text = format!(
        "AWS_Secret_Access_Key = \"{aws_secret}\"\nconst DB_PASSWORD = \"{}\";\n\
         Token: {}\nauth: {blob}\nsk_live_{}\nPWD",
        synth(3, 20, ALNUM),
        checksummed("ghp_", 9),
        synth(4, 30, ALNUM),
    );
    let a = fast.scan_text(&text, &Origin::file("x.env"));
    let b = slow.scan_text(&text, &Origin::file("x.env"));
    assert!(a.len() >= 4, "{a:#?}");
    assert_eq!(a, b);
}
