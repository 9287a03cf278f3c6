//! What a trial against a real vulnerable API (a Flask app in debug mode)
//! showed, rebuilt with local servers and each tested both ways: framework
//! debug pages in `input` and `hygiene` answers (the Werkzeug console is
//! critical, prose about tracebacks is not a page), SQL driver errors named
//! as a database leak, created objects listed in the table and Markdown
//! (through the redactor), form-encoded endpoints probed in their own
//! encoding by `input` and `rate_limit`, and an `https` origin whose port
//! answers plain HTTP.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use support::hostile::{Behaviour, start};
use support::{bin, serve, stderr, write_profile};

/// A debugger page of the Werkzeug kind, written for this test: the title of
/// the exception, the debugger's resource links and its evaluation switch.
fn werkzeug_page(evalex: bool) -> String {
    format!(
        "<!doctype html>\n<html lang=en><head><title>sqlalchemy.exc.OperationalError: \
         (sqlite3.OperationalError) unrecognized token: \"'\" // Werkzeug Debugger</title>\
         <link rel=\"stylesheet\" href=\"?__debugger__=yes&amp;cmd=resource&amp;f=style.css\">\
         <script>var CONSOLE_MODE = false, EVALEX = {evalex}, EVALEX_TRUSTED = false, \
         SECRET = \"trial0secret\";</script></head><body>...</body></html>"
    )
}

const DJANGO_PAGE: &str = "<html><body><h1>ProgrammingError at /orgs/x</h1><p>You’re seeing \
     this error because you have <code>DEBUG = True</code> in your Django settings file. \
     Change that to False, and Django will display a standard page.</p></body></html>";

/// A 404 page that talks about tracebacks in prose: not a debug page.
const PROSE_PAGE: &str = "<html><body><h1>Not found</h1><p>Looking for our guide on how to \
     read a Python traceback or a stack trace? It moved to /docs/debugging.</p></body></html>";

fn html(status: StatusCode, body: String) -> Response {
    (status, Html(body)).into_response()
}

/// A lookup whose answer to a quote is chosen by `bad`.
fn lookup_app(bad: fn() -> Response) -> axum::Router {
    axum::Router::new().route(
        "/orgs/{name}",
        get(move |Path(name): Path<String>| async move {
            if name.contains('\'') {
                bad()
            } else {
                (StatusCode::OK, "{\"name\":\"acme\"}").into_response()
            }
        }),
    )
}

fn lookup_profile(port: u16) -> String {
    format!(
        r#"[target]
name = "trial"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "2s"
check_timeout = "30s"
max_rps = 1000

[checks.input]
seed = 3

[[endpoint]]
name = "org by name"
path = "/orgs/{{name}}"
auth = "public"
kind = "lookup"
params = {{ name = "acme" }}
"#
    )
}

/// Runs an audit of one check; returns (json card, table text, markdown text).
fn audit(profile: &str, only: &str, env: &[(&str, &str)]) -> (Value, String, String) {
    let (dir, path) = write_profile(profile);
    let json = dir.path().join("out.json");
    let table = dir.path().join("out.txt");
    let md = dir.path().join("out.md");
    let mut cmd = std::process::Command::new(bin());
    cmd.args([
        "audit",
        "--profile",
        path.to_str().unwrap(),
        "--only",
        only,
        "--format",
        &format!("json={}", json.display()),
        "--format",
        &format!("table={}", table.display()),
        "--format",
        &format!("markdown={}", md.display()),
    ])
    .env("NO_COLOR", "1")
    .env_remove("READINESS_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.output().unwrap();
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    (
        serde_json::from_str(&text).unwrap(),
        std::fs::read_to_string(&table).unwrap(),
        std::fs::read_to_string(&md).unwrap(),
    )
}

fn row_of(card: &Value, check: &str, subject: &str) -> Value {
    card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == check)
        .unwrap()["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"] == subject)
        .unwrap_or_else(|| panic!("no {check} row {subject}: {card:#}"))
        .clone()
}

fn finding(row: &Value, code: &str) -> Option<Value> {
    row["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
        .cloned()
}

#[test]
fn input_names_the_werkzeug_console_as_critical_and_the_sql_error_as_injection() {
    let port = serve(lookup_app(|| {
        html(StatusCode::INTERNAL_SERVER_ERROR, werkzeug_page(true))
    }));
    let (card, table, _) = audit(&lookup_profile(port), "input", &[]);
    let row = row_of(&card, "input", "org by name");
    let debug = finding(&row, "input.debug-page").unwrap_or_else(|| panic!("{row:#}"));
    assert_eq!(debug["severity"], "critical", "{debug:#}");
    assert!(
        debug["title"]
            .as_str()
            .unwrap()
            .contains("Werkzeug debugger"),
        "{debug:#}"
    );
    assert!(debug["evidence"].as_str().unwrap().contains("single quote"));
    let db = finding(&row, "input.database-error").unwrap_or_else(|| panic!("{row:#}"));
    assert!(
        db["title"]
            .as_str()
            .unwrap()
            .contains("database error leaked for crafted input (possible SQL injection)"),
        "{db:#}"
    );
    assert!(
        db["evidence"]
            .as_str()
            .unwrap()
            .contains("sqlalchemy.exc.OperationalError"),
        "{db:#}"
    );
    assert!(finding(&row, "input.server-error").is_some(), "{row:#}");
    assert!(table.contains("debug-page (critical)"), "{table}");
    assert!(
        !table.contains("trial0secret"),
        "the debugger's own secret is never quoted: {table}"
    );
}

#[test]
fn input_debug_page_without_console_is_high_and_a_plain_error_passes() {
    let port = serve(lookup_app(|| {
        html(StatusCode::INTERNAL_SERVER_ERROR, DJANGO_PAGE.to_string())
    }));
    let (card, _, _) = audit(&lookup_profile(port), "input", &[]);
    let row = row_of(&card, "input", "org by name");
    let debug = finding(&row, "input.debug-page").unwrap_or_else(|| panic!("{row:#}"));
    assert_eq!(debug["severity"], "high");
    assert!(debug["title"].as_str().unwrap().contains("Django"));

    let port = serve(lookup_app(|| {
        html(StatusCode::NOT_FOUND, PROSE_PAGE.to_string())
    }));
    let (card, _, _) = audit(&lookup_profile(port), "input", &[]);
    let row = row_of(&card, "input", "org by name");
    assert_eq!(row["verdict"], "pass", "{row:#}");

    let port = serve(lookup_app(|| {
        (
            StatusCode::BAD_REQUEST,
            "{\"error\":\"name may hold letters, digits and dashes\"}",
        )
            .into_response()
    }));
    let (card, _, _) = audit(&lookup_profile(port), "input", &[]);
    let row = row_of(&card, "input", "org by name");
    assert_eq!(row["verdict"], "pass", "{row:#}");
    assert!(finding(&row, "input.database-error").is_none());
}

/// Requests a signup endpoint received: (content type, body).
type Seen = Arc<Mutex<Vec<(String, String)>>>;

/// A signup that records what it gets and answers 201 with a new id (the
/// secret id, when one is given, so redaction of created objects is shown).
fn signup_app(seen: Seen, id_text: Option<&'static str>) -> axum::Router {
    let next = Arc::new(AtomicU64::new(1));
    axum::Router::new().route(
        "/signup",
        post(move |headers: HeaderMap, body: String| {
            let seen = seen.clone();
            let next = next.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                seen.lock().unwrap().push((ct, body));
                let n = next.fetch_add(1, Ordering::SeqCst);
                let id = match id_text {
                    Some(t) => format!("\"{t}\""),
                    None => n.to_string(),
                };
                (StatusCode::CREATED, format!("{{\"id\":{id}}}"))
            }
        }),
    )
}

fn signup_profile(port: u16, body_key: &str, extra_target: &str) -> String {
    format!(
        r#"[target]
name = "trial"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "2s"
check_timeout = "30s"
max_rps = 1000
allow_writes = true
{extra_target}

[checks.input]
allow_writes = true
seed = 9
max_requests_per_endpoint = 60

[[endpoint]]
name = "signup"
method = "POST"
path = "/signup"
auth = "public"
kind = "signup"
onboarding = true
writes = true
{body_key} = {{ email = "a@corp.test", name = "A" }}
fields = {{ email = "email", name = "name" }}
"#
    )
}

#[test]
fn input_sends_form_endpoints_form_bodies_with_text_mutations_only() {
    let seen: Seen = Arc::default();
    let port = serve(signup_app(seen.clone(), None));
    let (card, _, _) = audit(&signup_profile(port, "form", ""), "input", &[]);
    let row = row_of(&card, "input", "signup");
    assert!(
        row["verdict"] != "error" && row["verdict"] != "skip",
        "{row:#}"
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > 20, "{}", seen.len());
    let form: Vec<&(String, String)> = seen
        .iter()
        .filter(|(ct, _)| ct == "application/x-www-form-urlencoded")
        .collect();
    let others: Vec<&(String, String)> =
        seen.iter().filter(|(ct, _)| !ct.contains("form")).collect();
    assert_eq!(
        others.len(),
        1,
        "only the wrong-content-type case: {others:?}"
    );
    assert_eq!(others[0].0, "text/plain");
    assert!(
        seen.iter().all(|(_, b)| !b.starts_with('{')),
        "no JSON body is sent to a form endpoint"
    );
    assert!(
        form.iter()
            .any(|(_, b)| b.contains("name=") && !b.contains("email=")),
        "the missing-field case"
    );
    assert!(
        form.iter()
            .any(|(_, b)| b.contains("email=&") || b.ends_with("email="))
    );
    assert!(
        form.iter().any(|(_, b)| b.contains("%ED%A0%80")),
        "invalid UTF-8 bytes"
    );
    assert!(
        form.iter().any(|(_, b)| b.contains("role=owner")),
        "privileged fields go form-encoded too"
    );
    let invalid = finding(&row, "input.invalid-accepted").expect("the tolerant signup");
    let evidence = invalid["evidence"].as_str().unwrap();
    for json_only in [
        "null ->",
        "wrong JSON type",
        "array instead",
        "object instead",
    ] {
        assert!(!evidence.contains(json_only), "{json_only}: {evidence}");
    }

    // The JSON twin still gets JSON.
    let seen_json: Seen = Arc::default();
    let port = serve(signup_app(seen_json.clone(), None));
    audit(&signup_profile(port, "body", ""), "input", &[]);
    let seen_json = seen_json.lock().unwrap().clone();
    assert!(
        seen_json
            .iter()
            .filter(|(ct, _)| ct == "application/json")
            .count()
            > 20
    );
    assert!(!seen_json.iter().any(|(ct, _)| ct.contains("form")));
}

#[test]
fn created_objects_are_listed_in_table_and_markdown_through_the_redactor() {
    let secret = "trial-created-id-0123456789";
    let seen: Seen = Arc::default();
    let port = serve(signup_app(seen, Some("trial-created-id-0123456789")));
    let profile = signup_profile(
        port,
        "body",
        "[target.headers]\nX-Trial-Key = \"${TRIAL_CREATED_KEY}\"",
    );
    let (card, table, md) = audit(&profile, "input", &[("TRIAL_CREATED_KEY", secret)]);
    let row = row_of(&card, "input", "signup");
    let created = row["measurements"]["created"].as_array().unwrap();
    assert!(!created.is_empty());
    assert!(table.contains("Created during the audit"), "{table}");
    assert!(table.contains("input / signup:"), "{table}");
    assert!(table.contains("readiness+9-1@corp.test"), "{table}");
    assert!(
        table.contains("and ") && table.contains("more (JSON output"),
        "{table}"
    );
    assert!(md.contains("## Created during the audit"), "{md}");
    assert!(md.contains("readiness+9-1@corp.test"), "{md}");
    for text in [&table, &md, &card.to_string()] {
        assert!(!text.contains(secret), "the secret id must be redacted");
    }
    assert!(
        table.contains("id ***") || table.contains("id *"),
        "{table}"
    );

    // A read-only audit creates nothing and prints no such section.
    let port = serve(lookup_app(|| {
        (StatusCode::BAD_REQUEST, "{}").into_response()
    }));
    let (_, table, md) = audit(&lookup_profile(port), "input", &[]);
    assert!(!table.contains("Created during the audit"), "{table}");
    assert!(!md.contains("Created during the audit"), "{md}");
}

fn rate_profile(port: u16, endpoint: &str) -> String {
    format!(
        r#"[target]
name = "trial"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "2s"
check_timeout = "30s"
max_rps = 1000
allow_writes = true

[checks.rate_limit]
attempts = 6
rate = 50

{endpoint}
"#
    )
}

#[test]
fn rate_limit_lists_signup_accounts_as_created_and_sends_form_bodies() {
    // A signup that creates the account once (201 with an id), then 409s.
    let accounts: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen: Seen = Arc::default();
    let (a, s) = (accounts.clone(), seen.clone());
    let app = axum::Router::new().route(
        "/signup",
        post(move |headers: HeaderMap, body: String| {
            let (accounts, seen) = (a.clone(), s.clone());
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                seen.lock().unwrap().push((ct, body.clone()));
                let mut accounts = accounts.lock().unwrap();
                if accounts.contains(&body) {
                    return (StatusCode::CONFLICT, "{\"error\":\"exists\"}".to_string());
                }
                accounts.push(body);
                (
                    StatusCode::CREATED,
                    format!("{{\"id\":{}}}", 40 + accounts.len()),
                )
            }
        }),
    );
    let port = serve(app);
    let endpoint = r#"[[endpoint]]
name = "signup"
method = "POST"
path = "/signup"
auth = "public"
kind = "signup"
writes = true
form = { email = "new@corp.test", password = "pw-Trial-1" }
fields = { email = "email" }"#;
    let (card, table, md) = audit(&rate_profile(port, endpoint), "rate_limit", &[]);
    let row = row_of(&card, "rate_limit", "signup");
    assert!(
        finding(&row, "rate_limit.not-throttled").is_some(),
        "{row:#}"
    );
    let created = row["measurements"]["created"].as_array().unwrap();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["id"], 41);
    let account = created[0]["test_values"][0].as_str().unwrap();
    assert!(account.starts_with("readiness-probe-"), "{account}");
    assert!(table.contains("rate_limit / signup: 1 object"), "{table}");
    assert!(table.contains(account), "{table}");
    assert!(md.contains(account), "{md}");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 6);
    for (ct, body) in &seen {
        assert_eq!(ct, "application/x-www-form-urlencoded");
        assert!(body.contains("email=readiness-probe-") && body.contains("password=wrong-"));
    }

    // A login (JSON, never creating anything) lists nothing.
    let port = serve(
        axum::Router::new().route("/login", post(|| async { (StatusCode::OK, "{\"id\":5}") })),
    );
    let endpoint = r#"[[endpoint]]
name = "login"
method = "POST"
path = "/login"
auth = "public"
kind = "login"
body = { email = "someone@corp.test", password = "x" }"#;
    let (card, table, _) = audit(&rate_profile(port, endpoint), "rate_limit", &[]);
    let row = row_of(&card, "rate_limit", "login");
    assert!(row["measurements"].get("created").is_none(), "{row:#}");
    assert!(!table.contains("Created during the audit"));
}

fn hygiene_profile(port: u16) -> String {
    format!(
        r#"[target]
name = "trial"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "2s"
check_timeout = "30s"
max_rps = 1000

[checks.hygiene]
leak_paths = false
"#
    )
}

#[test]
fn hygiene_reads_debug_pages_in_its_error_answers_both_ways() {
    let subject = |port: u16| format!("http://127.0.0.1:{port}");
    let with_fallback = |page: fn() -> String| {
        axum::Router::new()
            .route("/", get(|| async { "home" }))
            .fallback(move || async move { html(StatusCode::NOT_FOUND, page()) })
    };

    let port = serve(with_fallback(|| werkzeug_page(true)));
    let (card, _, _) = audit(&hygiene_profile(port), "hygiene", &[]);
    let row = row_of(&card, "hygiene", &subject(port));
    let f = finding(&row, "hygiene.stack-trace").unwrap_or_else(|| panic!("{row:#}"));
    assert_eq!(f["severity"], "critical", "{f:#}");
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("Werkzeug debugger")
    );

    let port = serve(with_fallback(|| DJANGO_PAGE.to_string()));
    let (card, _, _) = audit(&hygiene_profile(port), "hygiene", &[]);
    let row = row_of(&card, "hygiene", &subject(port));
    let f = finding(&row, "hygiene.stack-trace").unwrap_or_else(|| panic!("{row:#}"));
    assert_eq!(f["severity"], "high", "{f:#}");

    let port = serve(with_fallback(|| PROSE_PAGE.to_string()));
    let (card, _, _) = audit(&hygiene_profile(port), "hygiene", &[]);
    let row = row_of(&card, "hygiene", &subject(port));
    assert!(finding(&row, "hygiene.stack-trace").is_none(), "{row:#}");
    assert_eq!(row["verdict"], "pass", "{row:#}");
}

fn https_profile(port: u16) -> String {
    format!(
        r#"[target]
name = "trial"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "1s"
check_timeout = "20s"
max_rps = 1000
"#
    )
}

#[test]
fn https_on_a_plain_http_port_says_there_is_no_tls() {
    let port = serve(axum::Router::new().route("/", get(|| async { "plain" })));
    let (card, table, _) = audit(&https_profile(port), "https", &[]);
    let row = row_of(&card, "https", &format!("https://127.0.0.1:{port}"));
    let f = finding(&row, "https.no-https").unwrap_or_else(|| panic!("{row:#}"));
    assert_eq!(
        f["title"],
        "no TLS on this port: the server answered plain HTTP"
    );
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("answered HTTP 200")
    );
    assert!(f["fix"].as_str().unwrap().contains("serve HTTPS"));
    assert!(
        finding(&row, "https.tls-handshake-failed").is_none(),
        "{row:#}"
    );
    assert!(!table.contains("disable SSLv3"), "{table}");

    // A port that answers neither TLS nor HTTP keeps the handshake finding.
    let garbage = start(Behaviour::Garbage);
    let (card, _, _) = audit(&https_profile(garbage.port), "https", &[]);
    let row = row_of(
        &card,
        "https",
        &format!("https://127.0.0.1:{}", garbage.port),
    );
    let f = finding(&row, "https.tls-handshake-failed").unwrap_or_else(|| panic!("{row:#}"));
    assert_ne!(
        f["title"],
        "no TLS on this port: the server answered plain HTTP"
    );
    assert!(finding(&row, "https.no-https").is_none(), "{row:#}");
}
