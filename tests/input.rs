//! The `input` check outside the demo: write opt-ins, the seed (repeatable
//! order, reported in the run figures), and hostile endpoints (hangs,
//! resets, 5xx to everything) that must end with a defined verdict in time;
//! endpoints behind an identity that logs in (probed with its session, an
//! error naming it when the login fails); privileged fields stored without
//! echo, found by reading the object back (Location or a named endpoint).

mod support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, patch, post};
use serde_json::{Value, json};
use support::hostile::{Behaviour, start};
use support::{run, serve, stderr, stdout, write_profile};

fn profile(port: u16, target_extra: &str, input: &str) -> String {
    format!(
        r#"[target]
name = "input"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "1s"
check_timeout = "30s"
max_rps = 1000
{target_extra}

[checks.https]
enabled = false

[checks.input]
{input}

[[endpoint]]
name = "signup"
method = "POST"
path = "/signup"
auth = "public"
kind = "signup"
onboarding = true
body = {{ email = "a@corp.test", name = "A" }}
fields = {{ email = "email", name = "name" }}

[[endpoint]]
name = "lookup"
path = "/orgs/{{name}}"
auth = "public"
kind = "lookup"
params = {{ name = "acme" }}
"#
    )
}

fn audit(text: &str, extra: &[&str]) -> (serde_json::Value, Duration, String) {
    let (dir, path) = write_profile(text);
    let json = dir.path().join("out.json");
    let journal = dir.path().join("journal.jsonl");
    let started = Instant::now();
    let mut args = vec![
        "audit".to_string(),
        "--profile".into(),
        path.to_str().unwrap().into(),
        "--only".into(),
        "input".into(),
        "--format".into(),
        format!("json={}", json.display()),
        "--journal".into(),
        journal.to_str().unwrap().into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = run(&args);
    let text = std::fs::read_to_string(&json).unwrap_or_else(|_| panic!("{}", stderr(&o)));
    let journal = std::fs::read_to_string(&journal).unwrap_or_default();
    (
        serde_json::from_str(&text).unwrap(),
        started.elapsed(),
        journal,
    )
}

fn rows(card: &serde_json::Value) -> Vec<serde_json::Value> {
    card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "input")
        .unwrap()["subjects"]
        .as_array()
        .unwrap()
        .clone()
}

fn tolerant_app() -> axum::Router {
    axum::Router::new()
        .route(
            "/signup",
            axum::routing::post(|| async { (axum::http::StatusCode::CREATED, "{\"id\":7}") }),
        )
        .route("/orgs/{name}", axum::routing::get(|| async { "{}" }))
}

#[test]
fn writing_endpoints_need_both_opt_ins() {
    let port = serve(tolerant_app());
    let (card, _, journal) = audit(&profile(port, "", "allow_writes = true\nseed = 1"), &[]);
    let rows = rows(&card);
    let signup = rows.iter().find(|r| r["subject"] == "signup").unwrap();
    assert_eq!(signup["verdict"], "skip", "{signup}");
    assert!(signup["reason"].as_str().unwrap().contains("allow_writes"));
    assert!(!journal.contains("\"POST\""), "no write may be sent");
    let lookup = rows.iter().find(|r| r["subject"] == "lookup").unwrap();
    assert_eq!(lookup["verdict"], "pass", "{lookup}");
}

#[test]
fn accepted_invalid_values_are_found_and_created_objects_listed() {
    let port = serve(tolerant_app());
    let (card, _, _) = audit(
        &profile(port, "allow_writes = true", "allow_writes = true\nseed = 5"),
        &[],
    );
    let rows = rows(&card);
    let signup = rows.iter().find(|r| r["subject"] == "signup").unwrap();
    let codes: Vec<&str> = signup["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"input.invalid-accepted"), "{codes:?}");
    assert!(
        !codes.contains(&"input.mass-assignment"),
        "no echo, no finding"
    );
    let created = signup["measurements"]["created"].as_array().unwrap();
    assert!(!created.is_empty());
    assert_eq!(created[0]["id"], 7);
    assert_eq!(card["run"]["seed"], 5);
}

#[test]
fn the_same_seed_sends_the_same_requests_in_the_same_order() {
    let port = serve(tolerant_app());
    let text = profile(port, "", "seed = 99");
    let urls = |journal: &str| -> Vec<String> {
        journal
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["url"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let (card, _, a) = audit(&text, &[]);
    let (_, _, b) = audit(&text, &[]);
    assert_eq!(card["run"]["seed"], 99);
    assert!(urls(&a).len() > 3);
    assert_eq!(urls(&a), urls(&b));
    let (_, _, c) = audit(&profile(port, "", "seed = 100"), &[]);
    assert_ne!(urls(&a), urls(&c));
}

#[test]
fn hostile_endpoints_end_with_a_defined_verdict_in_time() {
    let five =
        "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    for behaviour in [
        Behaviour::Fixed(five.into()),
        Behaviour::Silent,
        Behaviour::Garbage,
    ] {
        let h = start(behaviour);
        let (card, elapsed, _) = audit(&profile(h.port, "", "seed = 3"), &[]);
        for row in rows(&card) {
            let v = row["verdict"].as_str().unwrap();
            assert!(v == "error" || v == "skip", "{row}");
        }
        assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    }
}

/// Tokens the login route issued, and requests to protected routes without one.
#[derive(Default)]
struct Sessions {
    issued: Mutex<Vec<String>>,
    unauthorised: AtomicU64,
}

impl Sessions {
    fn valid(&self, headers: &HeaderMap) -> bool {
        let sent = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        let ok = self.issued.lock().unwrap().iter().any(|t| t == sent);
        if !ok {
            self.unauthorised.fetch_add(1, Ordering::SeqCst);
        }
        ok
    }
}

/// `POST /login` issues a token for the right password; `PATCH /me` (a
/// correct profile update: name validated, privileged fields ignored) needs it.
fn session_app(sessions: Arc<Sessions>) -> axum::Router {
    let login = sessions.clone();
    axum::Router::new()
        .route(
            "/login",
            post(move |Json(body): Json<Value>| {
                let sessions = login.clone();
                async move {
                    if body["password"] != "right-pass-4321" {
                        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "no"})));
                    }
                    let token = format!("tok-{:024x}", rand::random::<u128>());
                    sessions.issued.lock().unwrap().push(token.clone());
                    (StatusCode::OK, Json(json!({"token": token})))
                }
            }),
        )
        .route(
            "/me",
            patch(move |headers: HeaderMap, body: Option<Json<Value>>| {
                let sessions = sessions.clone();
                async move {
                    if !sessions.valid(&headers) {
                        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "login"})));
                    }
                    let name = body.as_ref().map(|b| b["name"].clone());
                    match name.as_ref().and_then(|n| n.as_str()) {
                        Some(n)
                            if (1..=100).contains(&n.chars().count())
                                && !n.chars().any(char::is_control) =>
                        {
                            (StatusCode::OK, Json(json!({"name": n, "role": "member"})))
                        }
                        _ => (
                            StatusCode::UNPROCESSABLE_ENTITY,
                            Json(json!({"error": "name"})),
                        ),
                    }
                }
            }),
        )
}

fn session_profile(port: u16, password: &str) -> String {
    format!(
        r#"[target]
name = "input sessions"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "1s"
check_timeout = "30s"
max_rps = 1000
allow_writes = true

[checks.https]
enabled = false

[checks.input]
allow_writes = true
seed = 11
max_requests_per_endpoint = 30

[[identity]]
name = "dana"
[identity.login]
url = "/login"
json = {{ email = "dana@corp.test", password = "{password}" }}
token_pointer = "/token"

[[endpoint]]
name = "profile"
method = "PATCH"
path = "/me"
owner = "dana"
kind = "profile_update"
onboarding = true
writes = true
body = {{ name = "Dana" }}
fields = {{ name = "name" }}
"#
    )
}

fn journal_paths(journal: &str, path: &str) -> usize {
    journal
        .lines()
        .filter(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["url"].as_str().unwrap().ends_with(path)
        })
        .count()
}

#[test]
fn endpoints_of_an_identity_that_logs_in_are_probed_with_its_session() {
    let sessions = Arc::new(Sessions::default());
    let port = serve(session_app(sessions.clone()));
    let (card, _, journal) = audit(&session_profile(port, "right-pass-4321"), &[]);
    let row = rows(&card)
        .into_iter()
        .find(|r| r["subject"] == "profile")
        .unwrap();
    assert_eq!(row["verdict"], "pass", "{row}");
    assert_eq!(row["measurements"]["baseline_status"], 200, "{row}");
    assert_eq!(journal_paths(&journal, "/login"), 1, "one login per audit");
    assert!(journal_paths(&journal, "/me") >= 20, "{journal}");
    assert_eq!(
        sessions.unauthorised.load(Ordering::SeqCst),
        0,
        "every probe carried the session"
    );
    // The plan counted the login: nothing was refused.
    assert_eq!(card["run"]["requests_refused"], 0, "{}", card["run"]);
    let token = sessions.issued.lock().unwrap()[0].clone();
    assert!(!card.to_string().contains(&token));
    assert!(!journal.contains(&token));
    assert!(!journal.contains("right-pass-4321"));
}

#[test]
fn a_failed_login_is_an_error_naming_the_identity() {
    let sessions = Arc::new(Sessions::default());
    let port = serve(session_app(sessions.clone()));
    let (card, _, journal) = audit(&session_profile(port, "wrong-pass-0000"), &[]);
    let row = rows(&card)
        .into_iter()
        .find(|r| r["subject"] == "profile")
        .unwrap();
    assert_eq!(row["verdict"], "error", "{row}");
    let reason = row["reason"].as_str().unwrap();
    assert!(reason.contains("identity `dana`"), "{reason}");
    assert!(reason.contains("401"), "{reason}");
    assert_eq!(
        journal_paths(&journal, "/me"),
        0,
        "nothing is sent without the session"
    );
    assert!(!journal.contains("wrong-pass-0000"));
}

type Store = Arc<Mutex<Vec<(String, Value)>>>;

/// Creates an account from any JSON object: 201 with `{id, token}` and a
/// `Location`, the stored role echoed nowhere. `/quiet` stores the role it
/// is sent; `/plain` always stores "member" (the correct twin).
fn account_app() -> axum::Router {
    let store: Store = Arc::default();
    let create = |keeps_role: bool, store: Store| {
        post(move |Json(body): Json<Value>| {
            let store = store.clone();
            async move {
                let role = match (&body["role"], keeps_role) {
                    (Value::Null, _) | (_, false) => json!("member"),
                    (sent, true) => sent.clone(),
                };
                let token = format!("acct-{:024x}", rand::random::<u128>());
                let mut store = store.lock().unwrap();
                let id = store.len();
                store.push((token.clone(), json!({"id": id, "role": role})));
                (
                    StatusCode::CREATED,
                    [("location", format!("/accounts/{id}"))],
                    Json(json!({"id": id, "token": token})),
                )
            }
        })
    };
    let by_token = store.clone();
    let by_query = store.clone();
    axum::Router::new()
        .route("/quiet/signup", create(true, store.clone()))
        .route("/plain/signup", create(false, store))
        .route(
            "/accounts/{id}",
            get(move |Path(id): Path<usize>, headers: HeaderMap| {
                let store = by_token.clone();
                async move {
                    let store = store.lock().unwrap();
                    let sent = headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    match store.get(id) {
                        Some((t, record)) if sent == format!("Bearer {t}") => {
                            (StatusCode::OK, Json(record.clone()))
                        }
                        _ => (StatusCode::UNAUTHORIZED, Json(json!({}))),
                    }
                }
            }),
        )
        .route(
            "/users",
            get(move |Query(q): Query<HashMap<String, String>>| {
                let store = by_query.clone();
                async move {
                    let id: usize = q
                        .get("id")
                        .and_then(|i| i.parse().ok())
                        .unwrap_or(usize::MAX);
                    match store.lock().unwrap().get(id) {
                        Some((_, record)) => (StatusCode::OK, Json(record.clone())),
                        None => (StatusCode::NOT_FOUND, Json(json!({}))),
                    }
                }
            }),
        )
}

fn account_profile(port: u16, opt_in: bool, read_back: &str) -> String {
    format!(
        r#"[target]
name = "input read-back"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "1s"
check_timeout = "30s"
max_rps = 1000
allow_writes = {opt_in}

[checks.https]
enabled = false

[checks.input]
allow_writes = {opt_in}
seed = 21

[[endpoint]]
name = "quiet signup"
method = "POST"
path = "/quiet/signup"
auth = "public"
kind = "signup"
onboarding = true
body = {{ email = "a@corp.test", name = "A" }}

[[endpoint]]
name = "plain signup"
method = "POST"
path = "/plain/signup"
auth = "public"
kind = "signup"
onboarding = true
body = {{ email = "a@corp.test", name = "A" }}

[[endpoint]]
name = "user by id"
path = "/users"
auth = "public"
query = {{ id = "0" }}
{read_back}
"#
    )
}

fn mass_assignment(row: &Value) -> Option<Value> {
    row["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "input.mass-assignment")
        .cloned()
}

fn row_of(card: &Value, subject: &str) -> Value {
    rows(card)
        .into_iter()
        .find(|r| r["subject"] == subject)
        .unwrap()
}

#[test]
fn a_role_stored_without_echo_is_found_by_reading_the_location_back() {
    let port = serve(account_app());
    let read_back = r#"
[[checks.input.read_back]]
endpoint = "quiet signup"
token_pointer = "/token"

[[checks.input.read_back]]
endpoint = "plain signup"
token_pointer = "/token"
"#;
    let (card, _, journal) = audit(&account_profile(port, true, read_back), &[]);
    let quiet = row_of(&card, "quiet signup");
    let finding = mass_assignment(&quiet).unwrap_or_else(|| panic!("{quiet}"));
    assert_eq!(finding["severity"], "critical");
    let evidence = finding["evidence"].as_str().unwrap();
    assert!(evidence.contains("role = \"owner\""), "{evidence}");
    assert!(evidence.contains("read back GET /accounts/"), "{evidence}");
    // The correct twin stores "member": every read came back clean.
    let plain = row_of(&card, "plain signup");
    assert!(mass_assignment(&plain).is_none(), "{plain}");
    assert_eq!(
        plain["measurements"]["read_backs"]["attempted"], 8,
        "{plain}"
    );
    assert_eq!(plain["measurements"]["read_backs"]["clean"], 8, "{plain}");
    assert_eq!(card["run"]["requests_refused"], 0, "the reads were planned");
    // The account tokens from the answers are secrets.
    assert!(journal_paths(&journal, "/signup") > 20);
    assert!(!card.to_string().contains("acct-"), "a token leaked");
}

#[test]
fn a_named_read_endpoint_takes_the_id_from_the_answer() {
    let port = serve(account_app());
    let read_back = r#"
[[checks.input.read_back]]
endpoint = "quiet signup"
read = "user by id"
id_pointer = "/id"
id_param = "id"
"#;
    let (card, _, _) = audit(&account_profile(port, true, read_back), &[]);
    let quiet = row_of(&card, "quiet signup");
    let finding = mass_assignment(&quiet).unwrap_or_else(|| panic!("{quiet}"));
    assert!(
        finding["evidence"]
            .as_str()
            .unwrap()
            .contains("read back GET /users"),
        "{finding}"
    );
    // Without a read_back entry the twin is read through its Location,
    // without the token: the reads are refused, nothing is concluded.
    let plain = row_of(&card, "plain signup");
    assert!(mass_assignment(&plain).is_none(), "{plain}");
    let reads = &plain["measurements"]["read_backs"];
    assert_eq!(reads["clean"], 0, "{plain}");
    assert!(
        reads["problems"][0].as_str().unwrap().contains("HTTP 401"),
        "{plain}"
    );
}

#[test]
fn follow_up_reads_are_planned_under_the_write_opt_ins_only() {
    let port = serve(account_app());
    let plan = |opt_in: bool| {
        let (_dir, path) = write_profile(&account_profile(port, opt_in, ""));
        let o = run(&[
            "audit",
            "--profile",
            path.to_str().unwrap(),
            "--only",
            "input",
            "--dry-run",
        ]);
        stdout(&o) + &stderr(&o)
    };
    let on = plan(true);
    assert_eq!(
        on.matches("up to 8 follow-up reads").count(),
        2,
        "both signups: {on}"
    );
    let off = plan(false);
    assert!(!off.contains("follow-up"), "{off}");
    let (card, _, journal) = audit(&account_profile(port, false, ""), &[]);
    assert_eq!(card["run"]["requests_sent"], 0, "{card}");
    assert!(journal.is_empty());
}

#[test]
fn read_back_entries_are_validated_with_their_location() {
    let check = |read_back: &str, want: &str| {
        let (_dir, path) = write_profile(&account_profile(1, true, read_back));
        let o = run(&["validate", "--profile", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("readiness.toml:") && err.contains(want),
            "{err}"
        );
    };
    check(
        "[[checks.input.read_back]]\nendpoint = \"nope\"\n",
        "no [[endpoint]] is named `nope`",
    );
    check(
        "[[checks.input.read_back]]\nendpoint = \"user by id\"\n",
        "mark it onboarding = true",
    );
    check(
        "[[checks.input.read_back]]\nendpoint = \"quiet signup\"\nread = \"user by id\"\n",
        "name the one that takes the id with id_param",
    );
    check(
        "[[checks.input.read_back]]\nendpoint = \"quiet signup\"\nread = \"user by id\"\n\
         id_param = \"id\"\nid_pointer = \"id\"\n",
        "is not a JSON pointer",
    );
    check(
        "[[checks.input.read_back]]\nendpoint = \"quiet signup\"\nid_pointer = \"/id\"\n",
        "need `read`",
    );
}
