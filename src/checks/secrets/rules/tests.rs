//! Per-rule true and false samples, all synthetic and built at run time
//! (checksummed tokens are computed here, never pasted).

use super::*;
use crate::checks::secrets::scan::{Origin, Scanner};

const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &str = "0123456789abcdef";
const DIGITS: &str = "0123456789";
const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const B32: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Deterministic pseudo-random text over `alphabet`.
pub(crate) fn synth(seed: u64, len: usize, alphabet: &str) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            chars[((state >> 33) % chars.len() as u64) as usize]
        })
        .collect()
}

/// A token in the GitHub/npm format with a valid CRC32 checksum.
pub(crate) fn checksummed(prefix: &str, seed: u64) -> String {
    let random = synth(seed, 30, ALNUM);
    format!(
        "{prefix}{random}{}",
        base62_6(crc32fast::hash(random.as_bytes()))
    )
}

fn uuid(seed: u64) -> String {
    let h = synth(seed, 32, HEX);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn pem(label: &str, body: &str) -> String {
    let dashes = "-----";
    format!("{dashes}BEGIN {label}{dashes}\n{body}\n{dashes}END {label}{dashes}\n")
}

fn b64url(text: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

struct Sample {
    rule: &'static str,
    text: String,
    found: bool,
}

fn t(rule: &'static str, text: impl Into<String>) -> Sample {
    Sample {
        rule,
        text: text.into(),
        found: true,
    }
}

fn f(rule: &'static str, text: impl Into<String>) -> Sample {
    Sample {
        rule,
        text: text.into(),
        found: false,
    }
}

fn samples() -> Vec<Sample> {
    let pem_body: String = (0..12)
        .map(|i| synth(100 + i, 64, B64))
        .collect::<Vec<_>>()
        .join("\n");
    let sa_key = pem("PRIVATE KEY", &pem_body).replace('\n', "\\n");
    let jwt = format!(
        "{}.{}.{}",
        b64url(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64url(r#"{"sub":"user-81","role":"admin","iat":1700000000}"#),
        synth(40, 43, B64URL)
    );
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("deploy:{}", synth(41, 18, ALNUM)));
    vec![
        t(
            "aws-access-key-id",
            format!("aws_access_key_id = AKIA{}", synth(1, 16, B32)),
        ),
        f(
            "aws-access-key-id",
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
        ),
        f("aws-access-key-id", "key = AKIAXXXXXXXXXXXXXXXX"),
        t(
            "aws-secret-access-key",
            format!("aws_secret_access_key = {}", synth(2, 40, B64)),
        ),
        f(
            "aws-secret-access-key",
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        ),
        f(
            "aws-secret-access-key",
            "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
        ),
        t(
            "gcp-service-account",
            format!(
                r#"{{"type": "service_account", "project_id": "p", "private_key": "{sa_key}"}}"#
            ),
        ),
        f(
            "gcp-service-account",
            concat!(
                r#"{"type":"service_account","private_key":"-----BEGIN PRIVATE KEY-----\n.."#,
                r#".\n-----END PRIVATE KEY-----\n"}"#,
            ),
        ),
        t(
            "gcp-api-key",
            format!("apiKey: \"AIza{}\"", synth(3, 35, B64URL)),
        ),
        f("gcp-api-key", format!("apiKey: \"AIza{}\"", "a".repeat(35))),
        f("gcp-api-key", "AIzaSyabcdefghijklmnopqrstuvwxyz1234567"),
        t(
            "azure-ad-client-secret",
            format!(
                "client_secret={}8Q~{}",
                synth(4, 3, ALNUM),
                synth(5, 34, ALNUM)
            ),
        ),
        f(
            "azure-ad-client-secret",
            format!("client_secret=bP88Q~{}", "x".repeat(34)),
        ),
        f("azure-ad-client-secret", "~".repeat(40)),
        t(
            "azure-storage-account-key",
            format!(
                "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={}==;",
                synth(6, 86, B64)
            ),
        ),
        f(
            "azure-storage-account-key",
            format!("AccountKey={}==", "A".repeat(86)),
        ),
        t(
            "github-token",
            format!("GH_TOKEN={}", checksummed("ghp_", 7)),
        ),
        t("github-token", checksummed("ghs_", 8)),
        f("github-token", format!("ghp_{}", synth(9, 36, ALNUM))),
        f("github-token", format!("ghp_{}", "x".repeat(36))),
        t(
            "github-fine-grained-pat",
            format!(
                "github_pat_{}_{}",
                synth(10, 22, ALNUM),
                synth(11, 59, ALNUM)
            ),
        ),
        f(
            "github-fine-grained-pat",
            format!("github_pat_{}_{}", "x".repeat(22), "x".repeat(59)),
        ),
        t(
            "gitlab-token",
            format!("token: glpat-{}", synth(12, 20, ALNUM)),
        ),
        // A run of one letter is a documentation placeholder, not a token.
        f(
            "gitlab-token",
            format!("glpat-{}-{}", "X".repeat(11), "X".repeat(8)),
        ),
        t(
            "gitlab-runner-registration-token",
            format!("GR1348941{}", synth(13, 20, ALNUM)),
        ),
        f(
            "gitlab-runner-registration-token",
            "GR1348941XXXXXXXXXXXXXXXXXXXX",
        ),
        t(
            "stripe-secret-key",
            format!("STRIPE_KEY=sk_live_{}", synth(14, 24, ALNUM)),
        ),
        t(
            "stripe-secret-key",
            format!("rk_live_{}", synth(15, 99, ALNUM)),
        ),
        f(
            "stripe-secret-key",
            format!("STRIPE_KEY=sk_live_{}", "0".repeat(24)),
        ),
        t(
            "stripe-webhook-secret",
            format!("whsec_{}", synth(16, 32, ALNUM)),
        ),
        f("stripe-webhook-secret", format!("whsec_{}", "x".repeat(32))),
        t(
            "braintree-access-token",
            format!(
                "access_token$production${}${}",
                synth(17, 16, "abcdefghijklmnopqrstuvwxyz0123456789"),
                synth(18, 32, HEX)
            ),
        ),
        f(
            "braintree-access-token",
            format!(
                "access_token$production${}${}",
                "0".repeat(16),
                "0".repeat(32)
            ),
        ),
        t(
            "slack-token",
            format!(
                "\"bot\": \"xoxb-{}-{}-{}\"",
                synth(19, 12, DIGITS),
                synth(20, 13, DIGITS),
                synth(21, 24, ALNUM)
            ),
        ),
        f("slack-token", "xoxb-xxxxxxxxx-xxxxxxxxxx-xxxxxxxxxxxx"),
        f(
            "slack-token",
            "xoxp-1234-1234-1234-4ddbc191d40ee098cbaae6f3523ada2d",
        ),
        t(
            "slack-webhook-url",
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                synth(22, 8, B32),
                synth(23, 8, B32),
                synth(24, 24, ALNUM)
            ),
        ),
        f(
            "slack-webhook-url",
            format!(
                "https://hooks.slack.com/services/T00000000/B00000000/{}",
                "X".repeat(24)
            ),
        ),
        t(
            "discord-webhook-url",
            format!(
                "https://discord.com/api/webhooks/{}/{}",
                synth(25, 18, DIGITS),
                synth(26, 68, B64URL)
            ),
        ),
        f(
            "discord-webhook-url",
            "https://discord.com/api/webhooks/{id}/{token}",
        ),
        t(
            "twilio-api-key",
            format!("TWILIO_API_KEY=SK{}", synth(27, 32, HEX)),
        ),
        f(
            "twilio-api-key",
            format!("TWILIO_API_KEY=SK{}", "0".repeat(32)),
        ),
        t(
            "twilio-auth-token",
            format!("TWILIO_AUTH_TOKEN={}", synth(28, 32, HEX)),
        ),
        f(
            "twilio-auth-token",
            "TWILIO_AUTH_TOKEN=your_auth_token_here",
        ),
        t(
            "sendgrid-api-key",
            format!("SG.{}.{}", synth(29, 22, B64URL), synth(30, 43, B64URL)),
        ),
        f(
            "sendgrid-api-key",
            format!("SG.{}.{}", "x".repeat(22), "x".repeat(43)),
        ),
        t(
            "mailgun-api-key",
            format!("MAILGUN_KEY=key-{}", synth(31, 32, HEX)),
        ),
        f(
            "mailgun-api-key",
            format!("MAILGUN_KEY=key-{}", "0".repeat(32)),
        ),
        t(
            "postmark-server-token",
            format!("POSTMARK_SERVER_TOKEN={}", uuid(32)),
        ),
        f(
            "postmark-server-token",
            "POSTMARK_SERVER_TOKEN=00000000-0000-0000-0000-000000000000",
        ),
        t(
            "openai-api-key",
            format!(
                "OPENAI_API_KEY=sk-proj-{}T3BlbkFJ{}",
                synth(33, 20, ALNUM),
                synth(34, 20, ALNUM)
            ),
        ),
        f("openai-api-key", format!("sk-proj-{}", "x".repeat(90))),
        t(
            "anthropic-api-key",
            format!("sk-ant-api03-{}AA", synth(35, 93, B64URL)),
        ),
        f(
            "anthropic-api-key",
            format!("sk-ant-api03-{}AA", "x".repeat(93)),
        ),
        t(
            "npm-token",
            format!(
                "//registry.npmjs.org/:_authToken={}",
                checksummed("npm_", 36)
            ),
        ),
        f("npm-token", format!("npm_{}", synth(37, 36, ALNUM))),
        t(
            "pypi-token",
            format!("password = pypi-AgEIcHlwaS5vcmc{}", synth(38, 70, B64URL)),
        ),
        f(
            "pypi-token",
            format!("pypi-AgEIcHlwaS5vcmc{}", "x".repeat(60)),
        ),
        t(
            "docker-hub-token",
            format!("dckr_pat_{}", synth(39, 27, B64URL)),
        ),
        f("docker-hub-token", format!("dckr_pat_{}", "x".repeat(27))),
        t(
            "docker-registry-auth",
            format!(r#"{{"auths": {{"registry.example.com": {{"auth": "{auth}"}}}}}}"#),
        ),
        f(
            "docker-registry-auth",
            r#"{"auths": {"registry.example.com": {"auth": "${REGISTRY_AUTH}"}}}"#,
        ),
        t(
            "heroku-api-key-v2",
            format!("HRKU-{}", synth(42, 60, B64URL)),
        ),
        f("heroku-api-key-v2", format!("HRKU-{}", "x".repeat(60))),
        t("heroku-api-key", format!("HEROKU_API_KEY={}", uuid(43))),
        f(
            "heroku-api-key",
            "HEROKU_API_KEY=00000000-0000-0000-0000-000000000000",
        ),
        t(
            "vercel-token",
            format!("VERCEL_TOKEN={}", synth(44, 24, ALNUM)),
        ),
        f("vercel-token", format!("VERCEL_TOKEN={}", "x".repeat(24))),
        t("netlify-token", format!("nfp_{}", synth(45, 36, ALNUM))),
        t(
            "netlify-token",
            format!("NETLIFY_AUTH_TOKEN={}", synth(46, 43, B64URL)),
        ),
        f("netlify-token", format!("nfp_{}", "x".repeat(36))),
        t("supabase-token", format!("sbp_{}", synth(47, 40, HEX))),
        f("supabase-token", format!("sbp_{}", "0".repeat(40))),
        t(
            "firebase-cloud-messaging-key",
            format!(
                "AAAA{}:APA91b{}",
                synth(48, 7, B64URL),
                synth(49, 134, B64URL)
            ),
        ),
        f(
            "firebase-cloud-messaging-key",
            format!("AAAA{}:APA91b{}", "x".repeat(7), "x".repeat(134)),
        ),
        t("private-key", pem("RSA PRIVATE KEY", &pem_body)),
        t("private-key", pem("OPENSSH PRIVATE KEY", &pem_body)),
        f("private-key", pem("PRIVATE KEY", "...")),
        f("private-key", pem("PRIVATE KEY", "anything")),
        t("jwt", format!("Authorization: Bearer {jwt}")),
        f(
            "jwt",
            format!("eyJ{}.eyJ{}.", "x".repeat(20), "x".repeat(20)),
        ),
        t(
            "database-url-password",
            format!(
                "DATABASE_URL=postgres://app:{}@db.internal:5432/app",
                synth(50, 16, ALNUM)
            ),
        ),
        f(
            "database-url-password",
            "DATABASE_URL=postgres://app:password@localhost:5432/app",
        ),
        f(
            "database-url-password",
            "REDIS_URL=redis://:${REDIS_PASSWORD}@cache:6379/0",
        ),
        t(
            "url-credentials",
            format!(
                "git clone https://deploy:{}@git.example.com/repo.git",
                synth(51, 16, ALNUM)
            ),
        ),
        f(
            "url-credentials",
            "https://user:${TOKEN}@git.example.com/repo.git",
        ),
        t(
            "generic-secret-assignment",
            format!("client_secret = \"{}\"", synth(52, 32, ALNUM)),
        ),
        t(
            "generic-secret-assignment",
            format!("DB_PASSWORD='{}'", synth(53, 14, ALNUM)),
        ),
        f("generic-secret-assignment", "password = \"changeme\""),
        f(
            "generic-secret-assignment",
            "token_url = \"https://auth.example.com/oauth/token\"",
        ),
        f(
            "generic-secret-assignment",
            "secret_key_file = \"keys/app.pem\"",
        ),
        f(
            "generic-secret-assignment",
            "LLM_SECRET_NAME = \"NEXUS-GPT4-API-KEY\"",
        ),
        f(
            "generic-secret-assignment",
            "secret_length = X25519.secret_length",
        ),
        // Code, not assignments: a path, an import list, references.
        f(
            "generic-secret-assignment",
            "use readiness::demo::secrets::{github_token, stripe_key};",
        ),
        f(
            "generic-secret-assignment",
            "assert_eq!(f.kind, SecretKind::PackageRegistry);",
        ),
        f(
            "generic-secret-assignment",
            "let from = match (&l.token_pointer, &l.token_header, &l.cookie) {",
        ),
        f(
            "generic-secret-assignment",
            "write(\"mallory.token\", &mallory_token)?;",
        ),
        // Issue 5: a code expression and an English phrase are not values.
        f(
            "generic-secret-assignment",
            "password=request_data['password'],",
        ),
        f(
            "generic-secret-assignment",
            "secret_content=\"secret for bookTitle\" + randomint",
        ),
        t("generic-secret-assignment", "password = \"hX9#kq2!Lm\""),
        t(
            "generic-secret-assignment",
            "API_KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        ),
        // Quoted, the same shapes are values.
        t(
            "generic-secret-assignment",
            format!("password: \"&{}\"", synth(54, 16, ALNUM)),
        ),
    ]
}

#[test]
fn every_builtin_pattern_compiles() {
    let rules = builtin_rules();
    assert!(Ruleset::from_rules(rules.clone()).is_ok());
    let mut ids: Vec<&str> = rules.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), rules.len(), "rule ids are unique");
    for r in &rules {
        assert!(!r.keywords.is_empty(), "{} has keywords", r.id);
        assert!(
            r.keywords.iter().all(|k| *k == k.to_ascii_lowercase()),
            "{} keywords",
            r.id
        );
    }
}

#[test]
fn every_rule_has_true_and_false_samples() {
    let samples = samples();
    for r in builtin_rules() {
        assert!(
            samples.iter().any(|s| s.rule == r.id && s.found),
            "{} lacks a true sample",
            r.id
        );
        assert!(
            samples.iter().any(|s| s.rule == r.id && !s.found),
            "{} lacks a false one",
            r.id
        );
    }
}

#[test]
fn samples_give_the_expected_verdicts() {
    let scanner = Scanner::new(&Ruleset::builtin());
    let origin = Origin::file("sample.txt");
    let mut wrong = Vec::new();
    for s in samples() {
        let findings = scanner.scan_text(&s.text, &origin);
        let ok = if s.found {
            findings.iter().any(|x| x.rule_id == s.rule)
        } else {
            findings.is_empty()
        };
        if !ok {
            let got: Vec<&str> = findings.iter().map(|x| x.rule_id).collect();
            wrong.push(format!(
                "{} (expected found={}): got {got:?}",
                s.rule, s.found
            ));
        }
    }
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

/// Lines whose generic value is a code expression or prose (issue 5: the
/// first two come from a reviewed Flask API), never a credential.
const NOT_LITERALS: &[&str] = &[
    "user = User(username=request_data['username'], password=request_data['password'],",
    "Book(book_title=\"bookTitle\" + n, secret_content=\"secret for bookTitle\" + n)",
    "db_password = os.environ['DB_PASSWORD']",
    "db_password = os.environ.get('DB_PASSWORD')",
    "api_token = process.env.API_TOKEN_VALUE",
    "client_secret = os.getenv('CLIENT_SECRET')",
    "password: req.body[\"password\"],",
    "secret_key = settings.SECRETS['signing']",
    "password = params[:password_confirmation]",
    "API_KEY=\"${API_KEY_FROM_VAULT}\"",
    "error_message = \"the password you entered is wrong\"",
    "token: 'Please log in again to get a fresh one'",
];

/// Literal credentials the generic rule must keep catching.
const LITERALS: &[&str] = &[
    "password = \"hX9#kq2!Lm\"",
    "API_KEY=9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "API_KEY=f9e8d7c6b5a49382716f0e5d4c3b2a1z",
    "auth_token: Xk9f2LmQ8rT4vW7zPq3s",
    "DB_PASSWORD='Zq7!fake-Pw-2291'",
    "secret_key = 'kd93.Hq-2mZ_8xLp0vR'",
    "\"parent_token\": \"Bearer 7Hq2mZ8xLp0vRkd93Tf5\",",
];

#[test]
fn generic_values_must_be_literals() {
    let scanner = Scanner::new(&Ruleset::builtin().only(&["generic-secret-assignment"]));
    let origin = Origin::file("app.py");
    for line in NOT_LITERALS {
        let found = scanner.scan_text(line, &origin);
        assert!(found.is_empty(), "flagged a non-literal: {line}");
    }
    for line in LITERALS {
        let found = scanner.scan_text(line, &origin);
        assert_eq!(found.len(), 1, "missed a literal: {line}");
    }
}

#[test]
fn reads_a_variable_knows_subscripts_and_calls() {
    for code in ["request_data[", "os.environ[", "getenv(", "a.b_c.d(", "_x["] {
        assert!(reads_a_variable(code), "{code}");
    }
    for literal in [
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "abc.123[",
        "hX9kq2Lm",
        "a.b.c",
        "",
    ] {
        assert!(!reads_a_variable(literal), "{literal}");
    }
}

#[test]
fn a_scheme_and_one_token_is_not_prose() {
    assert!(scheme_and_token("Bearer 7Hq2mZ8xLp0vRkd93Tf5"));
    assert!(scheme_and_token("FlyV1 fm2_lJPEEKnzKy0lkwV3B+WIlmrdw"));
    for prose in [
        "secret for bookTitle",
        "Bearer token",
        "Please log in again",
        "Invalid credentials_provided_here",
        "Bearer 7Hq2mZ8xLp0vRkd93Tf5 extra",
    ] {
        assert!(!scheme_and_token(prose), "{prose}");
    }
}

#[test]
fn base62_checksum_known_answers() {
    assert_eq!(base62_6(0), "000000");
    assert_eq!(base62_6(61), "00000z");
    assert_eq!(base62_6(62), "000010");
    assert_eq!(base62_6(u32::MAX), "4gfFC3");
    let good = checksummed("ghp_", 1);
    assert!(base62_crc32_ok(&good));
    let mut bad = good.clone();
    bad.replace_range(6..7, if &good[6..7] == "A" { "B" } else { "A" });
    assert!(!base62_crc32_ok(&bad));
}

#[test]
fn placeholders_are_recognised() {
    for p in [
        "AKIAIOSFODNN7EXAMPLE",
        "xxxxxxxxxxxxxxxx",
        "<your-key>",
        "changeme",
        "${STRIPE_KEY}",
        "{{ .Values.token }}",
        "_env:EXAMPLE_CLIENT_ID:REDACTED",
        "%2A%2A%2A%2A%2A%2A%2A%2A",
        "00000000-0000-0000-0000-000000000000",
        "abcdefghijklmnop",
        "********",
    ] {
        assert!(looks_like_placeholder(p), "{p} is a placeholder");
    }
    for real in [
        synth(60, 24, ALNUM),
        synth(61, 40, HEX),
        "Zq7!fake-Pw-2291".to_string(),
    ] {
        assert!(
            !looks_like_placeholder(&real),
            "{real} is not a placeholder"
        );
    }
}

#[test]
fn entropy_in_bits_per_char() {
    assert_eq!(shannon_entropy(""), 0.0);
    assert_eq!(shannon_entropy("aaaa"), 0.0);
    assert!((shannon_entropy("abab") - 1.0).abs() < 1e-9);
    assert!(shannon_entropy(&synth(62, 40, B64)) > 4.5);
}

#[test]
fn secret_value_debug_shows_only_length() {
    let v = SecretValue::new("hunter2-hunter2".into());
    assert_eq!(format!("{v:?}"), "SecretValue(*** 15 chars)");
}

#[test]
fn lenient_base64_accepts_both_alphabets_and_missing_padding() {
    assert_eq!(decode_base64_lenient(b"eyJhIjoxfQ"), b"{\"a\":1}");
    assert_eq!(decode_base64_lenient(b"eyJhIjoxfQ=="), b"{\"a\":1}");
    assert_eq!(decode_base64_lenient(b"-_8"), vec![0xfb, 0xff]);
}
