//! What a trial against a real vulnerable API (VAmPI) found in the access
//! checks, each against servers started here, both ways: a weak JWT secret
//! real apps ship with (and where the guess came from), signup enumeration
//! with a fresh account per sample, cross-tenant and wrong-role writes that
//! answer an empty 204, the target's own origin in `allowed_origins`, the
//! params rule for body templates, and an OpenAPI document without security.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use readiness::checks::access::jwt;
use serde_json::{Value, json};
use support::{audit_json, run, serve, stderr, stdout, write_profile};

fn target(name: &str, port: u16) -> String {
    format!(
        r#"[target]
name = "{name}"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "2s"
max_rps = 1000
allow_writes = true
"#
    )
}

/// The subject rows of check `id`.
fn rows(card: &Value, id: &str) -> Vec<Value> {
    card["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .and_then(|c| c["subjects"].as_array().cloned())
        .unwrap_or_default()
}

fn row(card: &Value, id: &str, subject: &str) -> Value {
    rows(card, id)
        .into_iter()
        .find(|r| r["subject"] == subject)
        .unwrap_or_else(|| panic!("no {id} row `{subject}` in {card}"))
}

fn codes(row: &Value) -> Vec<String> {
    row["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|x| x["code"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------- JWT secrets

const STRONG: &str = "k9#Vq2!x7Lm0Zr4Tt8Yw1Pp6Ss3Dd5Ff-strong";

fn token(sub: &str, secret: &str) -> String {
    jwt::sign_hs256(
        &json!({"sub": sub, "exp": 4102444800i64}),
        secret.as_bytes(),
    )
}

/// `/{secret_name}/me`: the caller's record when its token verifies with that secret.
fn jwt_api() -> axum::Router {
    let secrets: HashMap<&str, &str> = [
        ("weak", "random"),
        ("extra", "acme-2019-signing"),
        ("strong", STRONG),
    ]
    .into_iter()
    .collect();
    axum::Router::new().route(
        "/{which}/me",
        get(move |Path(which): Path<String>, h: HeaderMap| {
            let secret = secrets.get(which.as_str()).copied().unwrap_or(STRONG);
            async move {
                let t = h
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("Bearer "))
                    .unwrap_or("");
                match jwt::verify_hs256(t, secret.as_bytes(), false, 1_700_000_000) {
                    Some(c) => {
                        let sub = c["sub"].as_str().unwrap_or("").to_string();
                        axum::Json(json!({"user": sub, "email": format!("{sub}@corp.test")}))
                    }
                    .into_response(),
                    None => StatusCode::UNAUTHORIZED.into_response(),
                }
            }
        }),
    )
}

#[test]
fn a_jwt_secret_real_apps_ship_with_is_found_and_its_source_named() {
    let port = serve(jwt_api());
    let mut text = target("jwt", port);
    text.push_str(
        r#"
[checks.auth]
extra_secrets = ["acme-2019-signing"]
"#,
    );
    for (who, secret) in [
        ("weak", "random"),
        ("extra", "acme-2019-signing"),
        ("strong", STRONG),
    ] {
        text.push_str(&format!(
            r#"
[[identity]]
name = "{who}"
token = "{tok}"

[[endpoint]]
name = "{who} me"
path = "/{who}/me"
owner = "{who}"
"#,
            tok = token(&format!("user-{who}"), secret)
        ));
    }
    let (_dir, path) = write_profile(&text);
    let (o, card) = audit_json(&path, &["--only", "auth"]);
    let weak = row(&card, "auth", "identity weak");
    assert_eq!(codes(&weak), vec!["auth.jwt-weak-secret"], "{}", stderr(&o));
    let evidence = weak["findings"][0]["evidence"].as_str().unwrap();
    assert!(evidence.contains("built-in list"), "{evidence}");
    assert!(evidence.contains("accepted"), "{evidence}");
    assert!(
        !evidence.contains("random"),
        "the secret is not shown: {evidence}"
    );
    let extra = row(&card, "auth", "identity extra");
    let evidence = extra["findings"][0]["evidence"].as_str().unwrap();
    assert!(evidence.contains("extra_secrets"), "{evidence}");
    assert!(!evidence.contains("built-in"), "{evidence}");
    let strong = row(&card, "auth", "identity strong");
    assert_eq!(strong["verdict"], "pass", "{strong}");
}

// ------------------------------------------------------- signup enumeration

#[derive(Default)]
struct Signups {
    users: Mutex<Vec<(String, String)>>,
}

/// `POST /signup`: `tells` answers "already exists" (VAmPI-like); the twin
/// answers every signup alike. Records each (username, email) received.
fn signup_api(tells: bool, state: Arc<Signups>) -> axum::Router {
    axum::Router::new()
        .route(
            "/signup",
            post(
                move |State(s): State<Arc<Signups>>, body: Bytes| async move {
                    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let name = v["username"].as_str().unwrap_or("").to_string();
                    let email = v["email"].as_str().unwrap_or("").to_string();
                    let mut users = s.users.lock().unwrap();
                    let exists = users.iter().any(|(u, _)| *u == name);
                    users.push((name, email));
                    if !tells {
                        let msg = json!({"message": "if this is a new account, check your mail"});
                        return (StatusCode::ACCEPTED, axum::Json(msg));
                    }
                    let msg = if exists {
                        json!({"status": "fail", "message": "User already exists. Please Log in."})
                    } else {
                        json!({"status": "success", "message": "Successfully registered."})
                    };
                    (StatusCode::OK, axum::Json(msg))
                },
            ),
        )
        .with_state(state)
}

fn signup_card(tells: bool) -> (Value, Vec<(String, String)>) {
    let state = Arc::new(Signups::default());
    let port = serve(signup_api(tells, state.clone()));
    let mut text = target("signup", port);
    text.push_str(
        r#"
[checks.auth]
allow_writes = true
timing_samples = 3
seed = 1234

[checks.input]
email_domain = "audit.example.test"

[[endpoint]]
name = "register"
method = "POST"
path = "/signup"
auth = "public"
kind = "signup"
body = { username = "auditbot", email = "auditbot@corp.test", password = "Audit-Pw-1" }
fields = { email = "email", username = "slug" }
"#,
    );
    let (_dir, path) = write_profile(&text);
    let (_o, card) = audit_json(&path, &["--only", "auth"]);
    let users = state.users.lock().unwrap().clone();
    (card, users)
}

#[test]
fn signup_enumeration_uses_a_fresh_account_per_unknown_sample() {
    let (card, users) = signup_card(true);
    let r = row(&card, "auth", "register");
    assert_eq!(codes(&r), vec!["auth.account-enumeration"], "{r}");
    // The known account once to register it, then 3 known and 3 unknown samples.
    assert_eq!(users.len(), 7, "{users:?}");
    let unknown: Vec<_> = users.iter().filter(|(u, _)| u != "auditbot").collect();
    assert_eq!(unknown.len(), 3, "{users:?}");
    let mut names: Vec<_> = unknown.iter().map(|(u, _)| u.clone()).collect();
    names.dedup();
    assert_eq!(
        names.len(),
        3,
        "each unknown sample is a new account: {users:?}"
    );
    for (u, e) in &unknown {
        assert!(u.starts_with("readiness-nobody-4d2-"), "seeded: {u}");
        assert!(!e.contains("auditbot"), "a new address: {e}");
        assert!(
            e.ends_with("@audit.example.test"),
            "in the test domain: {e}"
        );
    }
    // Deterministic: the same seed gives the same names.
    let (_card, again) = signup_card(true);
    let again: Vec<_> = again.into_iter().filter(|(u, _)| u != "auditbot").collect();
    assert_eq!(
        unknown.into_iter().cloned().collect::<Vec<_>>(),
        again,
        "same seed, same accounts"
    );
}

#[test]
fn a_signup_answering_every_account_alike_passes() {
    let (card, _users) = signup_card(false);
    let r = row(&card, "auth", "register");
    assert_eq!(r["verdict"], "pass", "{r}");
}

// ------------------------------------------------------------ writes

#[derive(Default)]
struct Accounts {
    passwords: Mutex<HashMap<String, String>>,
    /// (caller, method, path) of every request.
    log: Mutex<Vec<(String, String, String)>>,
}

fn caller(h: &HeaderMap) -> Option<String> {
    let t = h
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    ["alice", "bob", "carol"]
        .into_iter()
        .find(|u| t == format!("tok-{u}-77f1"))
        .map(str::to_string)
}

/// Password changes, one flaw per version:
/// v1 changes whoever the path names (VAmPI vulnerable), 400 when unknown;
/// v2 refuses another user's path (correct);
/// v3 changes the caller's own password whatever the path says (VAmPI secure);
/// v4 needs no credential at all; v5 (admin only) lets members reset sessions.
fn accounts_api(state: Arc<Accounts>) -> axum::Router {
    async fn change(
        State(s): State<Arc<Accounts>>,
        Path((version, name)): Path<(String, String)>,
        h: HeaderMap,
        body: Bytes,
    ) -> Response {
        let who = caller(&h);
        s.log.lock().unwrap().push((
            who.clone().unwrap_or_else(|| "-".into()),
            "PUT".into(),
            format!("/{version}/users/{name}/password"),
        ));
        let Ok(v) = serde_json::from_slice::<Value>(&body) else {
            return StatusCode::BAD_REQUEST.into_response();
        };
        let pw = v["password"].as_str().unwrap_or("").to_string();
        let mut pws = s.passwords.lock().unwrap();
        if version != "v4" && who.is_none() {
            return (StatusCode::UNAUTHORIZED, "log in").into_response();
        }
        let target = match version.as_str() {
            "v2" if who.as_deref() != Some(name.as_str()) => {
                return (StatusCode::FORBIDDEN, "not yours").into_response();
            }
            "v3" => who.clone().unwrap_or_default(),
            _ => name,
        };
        if !pws.contains_key(&target) {
            return (StatusCode::BAD_REQUEST, r#"{"message":"User Not Found"}"#).into_response();
        }
        pws.insert(target, pw);
        StatusCode::NO_CONTENT.into_response()
    }
    async fn reset_sessions(
        State(s): State<Arc<Accounts>>,
        Path(name): Path<String>,
        h: HeaderMap,
    ) -> Response {
        let who = caller(&h);
        s.log.lock().unwrap().push((
            who.clone().unwrap_or_else(|| "-".into()),
            "DELETE".into(),
            format!("/v5/users/{name}/sessions"),
        ));
        if who.is_none() {
            return StatusCode::UNAUTHORIZED.into_response();
        }
        if !s.passwords.lock().unwrap().contains_key(&name) {
            return StatusCode::NOT_FOUND.into_response();
        }
        StatusCode::NO_CONTENT.into_response()
    }
    axum::Router::new()
        .route("/{version}/users/{name}/password", put(change))
        .route("/v5/users/{name}/sessions", delete(reset_sessions))
        .with_state(state)
}

const WRITES_PROFILE: &str = r#"
[checks.auth]
allow_writes = true

[checks.tenant]
allow_writes = true

[[identity]]
name = "alice"
tenant = "a"
role = "admin"
token = "tok-alice-77f1"
params = { username = "alice" }

[[identity]]
name = "carol"
tenant = "a"
role = "member"
token = "tok-carol-77f1"
params = { username = "carol" }

[[identity]]
name = "bob"
tenant = "b"
role = "member"
token = "tok-bob-77f1"
params = { username = "bob" }
"#;

fn password_endpoint(version: &str) -> String {
    format!(
        r#"
[[endpoint]]
name = "password {version}"
method = "PUT"
path = "/{version}/users/{{username}}/password"
owner = "alice"
body = {{ password = "alice-Pw-81x" }}
"#
    )
}

fn writes_card() -> (Value, Vec<(String, String, String)>, String) {
    let state = Arc::new(Accounts::default());
    for u in ["alice", "bob", "carol"] {
        state
            .passwords
            .lock()
            .unwrap()
            .insert(u.to_string(), format!("{u}-Pw-81x"));
    }
    let port = serve(accounts_api(state.clone()));
    let mut text = target("writes", port);
    text.push_str(WRITES_PROFILE);
    for v in ["v1", "v2", "v3", "v4"] {
        text.push_str(&password_endpoint(v));
    }
    text.push_str(
        r#"
[[endpoint]]
name = "reset sessions"
method = "DELETE"
path = "/v5/users/{username}/sessions"
owner = "alice"
roles = ["admin"]
"#,
    );
    let (_dir, path) = write_profile(&text);
    let (o, card) = audit_json(&path, &["--only", "auth,tenant"]);
    let log = state.log.lock().unwrap().clone();
    (card, log, stderr(&o))
}

#[test]
fn cross_tenant_and_wrong_role_writes_answered_204_are_reported_and_twins_pass() {
    let (card, log, err) = writes_card();
    let v1 = row(&card, "tenant", "password v1");
    assert_eq!(codes(&v1), vec!["tenant.cross-tenant-write"], "{v1}\n{err}");
    let f = &v1["findings"][0];
    assert_eq!(f["severity"], "critical");
    let evidence = f["evidence"].as_str().unwrap();
    assert!(
        evidence.contains("answered 204") && evidence.contains("400"),
        "{evidence}"
    );
    // The correct twin refuses; the VAmPI-secure twin acts on the caller's
    // own account whatever the path says: not a cross-tenant write.
    let v2 = row(&card, "tenant", "password v2");
    assert_eq!(v2["verdict"], "pass", "{v2}");
    let v3 = row(&card, "tenant", "password v3");
    assert_eq!(v3["verdict"], "pass", "{v3}");
    assert!(
        v3["reason"]
            .as_str()
            .unwrap_or("")
            .contains("never-existing"),
        "{v3}"
    );
    // A member resetting the admin's sessions on an admin-only endpoint.
    let v5 = row(&card, "tenant", "reset sessions");
    let c = codes(&v5);
    assert!(
        c.contains(&"tenant.role-write-accepted".to_string()),
        "{v5}"
    );
    // The auth check sees the write accepted without any credential.
    let v4 = row(&card, "auth", "password v4");
    assert_eq!(codes(&v4), vec!["auth.no-credential-accepted"], "{v4}");
    assert!(
        v4["findings"][0]["title"]
            .as_str()
            .unwrap()
            .contains("write is accepted")
    );
    for v in ["password v1", "password v2", "password v3"] {
        let r = row(&card, "auth", v);
        assert_eq!(r["verdict"], "pass", "{r}");
    }
    // Only what the probes need: no identity ever sent its own write, so
    // bob's and carol's passwords were never the target of their own token.
    for (who, method, path) in &log {
        assert!(
            !(who == "bob" && path.contains("/users/bob/")),
            "bob's own write was sent: {method} {path}"
        );
        assert!(
            !(who == "carol" && path.contains("/users/carol/")),
            "carol's own write was sent: {method} {path}"
        );
    }
}

// ------------------------------------------------------------------ CORS

/// A JSON API with no CORS headers at all (same-origin front end only).
fn no_cors_api() -> axum::Router {
    axum::Router::new().route(
        "/api/data",
        get(|h: HeaderMap| async move {
            if caller(&h).is_none() {
                return StatusCode::UNAUTHORIZED.into_response();
            }
            axum::Json(json!({"owner": "alice", "note": "private-note-9f2"})).into_response()
        }),
    )
}

fn cors_card(allowed: &str) -> Value {
    let port = serve(no_cors_api());
    let mut text = target("cors", port);
    text.push_str(&format!(
        r#"
[checks.cors]
allowed_origins = [{allowed}]

[[identity]]
name = "alice"
token = "tok-alice-77f1"

[[endpoint]]
name = "data"
path = "/api/data"
owner = "alice"
"#,
        allowed = allowed.replace("PORT", &port.to_string())
    ));
    let (_dir, path) = write_profile(&text);
    audit_json(&path, &["--only", "cors"]).1
}

#[test]
fn the_targets_own_origin_needs_no_cors_grant() {
    let card = cors_card(r#""http://127.0.0.1:PORT""#);
    let data = row(&card, "cors", "data");
    assert_eq!(data["verdict"], "pass", "{data}");
}

#[test]
fn a_cross_origin_front_end_is_still_demanded() {
    let card = cors_card(r#""http://127.0.0.1:PORT", "https://app.example.test""#);
    let data = row(&card, "cors", "data");
    assert_eq!(codes(&data), vec!["cors.allowed-origin-refused"], "{data}");
    let evidence = data["findings"][0]["evidence"].as_str().unwrap();
    assert!(evidence.contains("https://app.example.test"), "{evidence}");
}

// ------------------------------------------------------------- params rule

#[test]
fn params_fill_placeholders_and_never_replace_literal_body_values() {
    let seen = Arc::new(Mutex::new(Vec::<Value>::new()));
    let s2 = seen.clone();
    let port = serve(axum::Router::new().route(
        "/b",
        post(move |h: HeaderMap, body: Bytes| {
            let seen = s2.clone();
            async move {
                let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                if caller(&h).is_some() {
                    seen.lock().unwrap().push(v.clone());
                    return axum::Json(json!({"echo": v})).into_response();
                }
                StatusCode::UNAUTHORIZED.into_response()
            }
        }),
    ));
    let mut text = target("params", port);
    text.push_str(
        r#"
[checks.auth]
allow_writes = true

[[identity]]
name = "alice"
token = "tok-alice-77f1"
params = { book_title = "from-params" }

[[endpoint]]
name = "add"
method = "POST"
path = "/b"
owner = "alice"
body = { book_title = "from-body", note = "{book_title}" }
"#,
    );
    let (_dir, path) = write_profile(&text);
    let (o, _card) = audit_json(&path, &["--only", "auth"]);
    let seen = seen.lock().unwrap();
    let first = seen.first().unwrap_or_else(|| panic!("{}", stderr(&o)));
    assert_eq!(first["book_title"], "from-body", "{first}");
    assert_eq!(first["note"], "from-params", "{first}");
}

// ------------------------------------------------------------- OpenAPI

const SPEC_NO_SECURITY: &str = r#"
openapi: 3.0.1
info: { title: vampi-like, version: "1" }
paths:
  /createdb:
    get: { operationId: populate_db }
  /users/v1/login:
    post:
      operationId: api_views.users.login_user
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                username: { type: string, example: "alice" }
                password: { type: string, example: "wrong" }
  /users/v1/register:
    post:
      operationId: api_views.users.register_user
  /users/v1/me:
    get: { operationId: api_views.users.me }
  /users/v1/{username}:
    get:
      operationId: api_views.users.get_by_username
      parameters:
        - { name: username, in: path, required: true, example: "name1" }
"#;

/// The VAmPI-like login that tells unknown users apart; records every path.
fn vampi_like(paths: Arc<Mutex<Vec<String>>>) -> axum::Router {
    let p1 = paths.clone();
    axum::Router::new()
        .route(
            "/users/v1/login",
            post(move |body: Bytes| {
                let paths = p1.clone();
                async move {
                    paths.lock().unwrap().push("/users/v1/login".into());
                    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
                    let msg = if v["username"] == "alice" {
                        "Password is not correct for the given username."
                    } else {
                        "Username does not exist"
                    };
                    axum::Json(json!({"status": "fail", "message": msg}))
                }
            }),
        )
        .route(
            "/createdb",
            get(move || {
                let paths = paths.clone();
                async move {
                    paths.lock().unwrap().push("/createdb".into());
                    "database reset"
                }
            }),
        )
}

fn openapi_profile(port: u16, exclude: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let text = format!(
        r#"openapi = "openapi.yml"
openapi_exclude = [{exclude}]

{}
[[endpoint]]
name = "api_views.users.me"
path = "/users/v1/me"
auth = "required"
"#,
        target("openapi", port)
    );
    let (dir, path) = write_profile(&text);
    std::fs::write(dir.path().join("openapi.yml"), SPEC_NO_SECURITY).unwrap();
    (dir, path)
}

#[test]
fn an_openapi_spec_without_security_shows_unknown_auth_and_inferred_kinds() {
    let paths = Arc::new(Mutex::new(Vec::new()));
    let port = serve(vampi_like(paths.clone()));
    let (_dir, path) = openapi_profile(port, r#""GET /createdb""#);
    let p = path.to_str().unwrap();
    let o = run(&["audit", "--profile", p, "--dry-run"]);
    let plan = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{plan}\n{}", stderr(&o));
    assert!(
        plan.contains("5 operations, 3 imported, 1 excluded"),
        "{plan}"
    );
    assert!(plan.contains("excluded: GET /createdb"), "{plan}");
    assert!(
        plan.contains("overridden by the profile: `api_views.users.me`"),
        "{plan}"
    );
    let login = plan
        .lines()
        .find(|l| l.contains("/users/v1/login"))
        .unwrap_or_else(|| panic!("{plan}"));
    assert!(
        login.contains("UNKNOWN") && login.contains("login (inferred)"),
        "{login}"
    );
    let register = plan
        .lines()
        .find(|l| l.contains("/users/v1/register"))
        .unwrap();
    assert!(register.contains("signup (inferred)"), "{register}");
    let lookup = plan.lines().find(|l| l.contains("{username}")).unwrap();
    assert!(lookup.contains("kind: -"), "{lookup}");

    let o = run(&["audit", "--profile", p, "--dry-run", "--format", "json"]);
    let doc: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let eps = doc["openapi"]["endpoints"].as_array().unwrap();
    assert!(eps.iter().all(|e| e["auth"] == "unknown"), "{eps:?}");
    let login = eps.iter().find(|e| e["path"] == "/users/v1/login").unwrap();
    assert_eq!(login["kind"], "login");
    assert_eq!(login["kind_inferred"], true);
    assert_eq!(login["writes"], false);

    // The inferred login kind drives the audit; the excluded operation is never called.
    let (_o, card) = audit_json(&path, &["--only", "auth"]);
    let r = row(&card, "auth", "api_views.users.login_user");
    assert_eq!(codes(&r), vec!["auth.account-enumeration"], "{r}");
    let paths = paths.lock().unwrap();
    assert!(!paths.iter().any(|p| p == "/createdb"), "{paths:?}");
    assert!(paths.iter().any(|p| p == "/users/v1/login"), "{paths:?}");
}

#[test]
fn an_exclude_entry_matching_no_operation_is_a_located_error() {
    let (_dir, path) = openapi_profile(9, r#""GET /createbd""#);
    let o = run(&["validate", "--profile", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("openapi_exclude") && err.contains("GET /createbd"),
        "{err}"
    );
    assert!(err.contains("readiness.toml:2:"), "{err}");
}
