//! The demo's access-control part: a small JSON API with the classic flaws of
//! the `auth`, `tenant` and `cors` checks, each beside a correct twin.
//!
//! | flaw | twin |
//! | --- | --- |
//! | `GET /api/orgs/{org}/members` checks login, not membership | `.../projects` checks it |
//! | `POST /api/orgs/{org}/reports` trusts the body's `org_id` | `.../exports` rejects a mismatch |
//! | `GET /api/v1/orgs/{org}/settings` accepts `alg: none` | `/api/orgs/{org}/settings` |
//! | partner tokens signed with a secret from the common list | user tokens: 32 random bytes |
//! | `POST /api/login` says "no such user" | `POST /api/session` says the same for both |
//! | `POST /api/invites/{id}/accept` needs no auth | `/api/v2/invites/{id}/accept` does |
//! | `GET /api/orgs/{org}/audit-log` (admin) open to members | `.../billing` refuses them |
//! | `GET /api/orgs/{org}/dashboard` answers 200 "please log in" (not a flaw) | |
//! | `/api/embed/...` reflects any Origin with credentials | the rest honours the allow-list |
//! | `/api/preview/...` trusts any `*.vercel.app` page | the rest honours the allow-list |
//! | `POST /api/v1/logout` leaves the session valid | `POST /api/logout` ends it |
//! | `.../files/download` takes `?access_token=` and a cookie too | `.../files`: header only |
//! | `GET /api/invoices?org_id=` trusts the query's org | `/api/payments?org_id=` checks it |
//! | `GET /api/tickets/{id}`: sequential integer ids | `/api/documents/{id}`: random ids |
//! | `POST /api/mobile/login` hashes only for known accounts (timing) | `.../v2/login` always |

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::checks::access::jwt;

/// The front end the honest CORS policy allows.
pub const CONSOLE_ORIGIN: &str = "https://console.readiness-demo.test";
/// The partner-token secret: on the common list, so guessable.
const WEAK_SECRET: &str = "supersecret";
pub const ORG_A: &str = "org-acme-4f1c9b";
pub const ORG_B: &str = "org-globex-8d2e7a";
const INVITE: &str = "inv-5b7e21c4";
/// Tickets have sequential integer ids (enumerable); documents random ones.
const TICKETS: &[(u32, &str)] = &[(1042, ORG_A), (1043, ORG_B)];
const DOCUMENTS: &[(&str, &str)] = &[("doc-9c41e07b2f5a", ORG_A), ("doc-3e8d52a6c1f4", ORG_B)];
/// The password-hashing time the mobile logins simulate.
const HASH_TIME: std::time::Duration = std::time::Duration::from_millis(120);

#[derive(Debug, Clone)]
struct User {
    id: &'static str,
    email: &'static str,
    name: &'static str,
    org: &'static str,
    role: &'static str,
}

const USERS: &[User] = &[
    User {
        id: "u-alice-31f0",
        email: "alice@acme.demo",
        name: "Alice Admin",
        org: ORG_A,
        role: "admin",
    },
    User {
        id: "u-bob-77c2",
        email: "bob@acme.demo",
        name: "Bob Member",
        org: ORG_A,
        role: "member",
    },
    User {
        id: "u-mallory-a9d4",
        email: "mallory@globex.demo",
        name: "Mallory Globex",
        org: ORG_B,
        role: "admin",
    },
    User {
        id: "u-carol-partner",
        email: "carol@globex.demo",
        name: "Carol Partner",
        org: ORG_B,
        role: "partner",
    },
];

/// The access part's state: secrets, passwords, sessions, revoked tokens.
pub struct AccessDemo {
    secret: Vec<u8>,
    pub passwords: HashMap<&'static str, String>,
    sessions: Mutex<HashMap<String, &'static str>>,
    revoked: Mutex<HashSet<String>>,
}

impl AccessDemo {
    pub fn new() -> Arc<AccessDemo> {
        let secret = format!(
            "{:032x}{:032x}",
            rand::random::<u128>(),
            rand::random::<u128>()
        );
        let passwords = USERS
            .iter()
            .map(|u| (u.email, format!("pw-{:024x}", rand::random::<u128>())))
            .collect();
        Arc::new(AccessDemo {
            secret: secret.into_bytes(),
            passwords,
            sessions: Mutex::new(HashMap::new()),
            revoked: Mutex::new(HashSet::new()),
        })
    }

    fn token_for(&self, user: &User, secret: &[u8]) -> String {
        let now = crate::checks::auth::now();
        jwt::sign_hs256(
            &json!({
                "sub": user.id, "org_id": user.org, "role": user.role,
                "iat": now, "exp": now + 3600,
                "jti": format!("{:016x}", rand::random::<u64>()),
            }),
            secret,
        )
    }

    /// Static tokens for the profile: mallory (strong secret), carol (weak secret).
    pub fn static_tokens(&self) -> (String, String) {
        (
            self.token_for(&USERS[2], &self.secret),
            self.token_for(&USERS[3], WEAK_SECRET.as_bytes()),
        )
    }

    /// The profile text of this part (identities, endpoints, settings).
    pub fn profile(&self) -> String {
        let pw = |email: &str| self.passwords.get(email).cloned().unwrap_or_default();
        format!(
            r#"
[checks.auth]
allow_writes = true
timing_samples = 5

[checks.tenant]
allow_writes = true

[checks.cors]
allowed_origins = ["{CONSOLE_ORIGIN}"]

[[identity]]
name = "alice"
tenant = "acme"
role = "admin"
params = {{ org_id = "{ORG_A}" }}
[identity.login]
url = "/api/login"
json = {{ email = "alice@acme.demo", password = "{alice}" }}
token_pointer = "/token"

[[identity]]
name = "bob"
tenant = "acme"
role = "member"
params = {{ org_id = "{ORG_A}" }}
[identity.login]
url = "/api/session"
form = {{ email = "bob@acme.demo", password = "{bob}" }}
cookie = "sid"

[[identity]]
name = "mallory"
tenant = "globex"
role = "admin"
token = {{ file = "mallory.token" }}
params = {{ org_id = "{ORG_B}", ticket_id = "{ticket_b}", doc_id = "{doc_b}" }}

[[identity]]
name = "carol"
tenant = "globex"
role = "partner"
token = {{ file = "carol.token" }}
params = {{ org_id = "{ORG_B}" }}

[[endpoint]]
name = "login"
method = "POST"
path = "/api/login"
auth = "public"
kind = "login"
body = {{ email = "alice@acme.demo", password = "not-the-password" }}

[[endpoint]]
name = "session login"
method = "POST"
path = "/api/session"
auth = "public"
kind = "login"
form = {{ email = "bob@acme.demo", password = "not-the-password" }}

[[endpoint]]
name = "mobile login"
method = "POST"
path = "/api/mobile/login"
auth = "public"
kind = "login"
form = {{ email = "bob@acme.demo", password = "not-the-password" }}

[[endpoint]]
name = "mobile login v2"
method = "POST"
path = "/api/mobile/v2/login"
auth = "public"
kind = "login"
form = {{ email = "bob@acme.demo", password = "not-the-password" }}

[[endpoint]]
name = "logout v1"
method = "POST"
path = "/api/v1/logout"
kind = "logout"

[[endpoint]]
name = "logout"
method = "POST"
path = "/api/logout"
kind = "logout"

[[endpoint]]
name = "me"
path = "/api/me"
owner = "alice"
kind = "current_user"

[[endpoint]]
name = "org members"
path = "/api/orgs/{{org_id}}/members"
owner = "alice"
kind = "membership"

[[endpoint]]
name = "org projects"
path = "/api/orgs/{{org_id}}/projects"
owner = "alice"

[[endpoint]]
name = "create report"
method = "POST"
path = "/api/orgs/{{org_id}}/reports"
owner = "alice"
body = {{ org_id = "{ORG_A}", title = "Quarterly" }}

[[endpoint]]
name = "create export"
method = "POST"
path = "/api/orgs/{{org_id}}/exports"
owner = "alice"
body = {{ org_id = "{ORG_A}", format = "csv" }}

[[endpoint]]
name = "settings v1"
path = "/api/v1/orgs/{{org_id}}/settings"
owner = "alice"

[[endpoint]]
name = "settings"
path = "/api/orgs/{{org_id}}/settings"
owner = "alice"

[[endpoint]]
name = "partner usage"
path = "/api/partner/orgs/{{org_id}}/usage"
owner = "carol"

[[endpoint]]
name = "accept invite"
method = "POST"
path = "/api/invites/{{invite_id}}/accept"
params = {{ invite_id = "{INVITE}" }}
kind = "invite_accept"

[[endpoint]]
name = "accept invite v2"
method = "POST"
path = "/api/v2/invites/{{invite_id}}/accept"
params = {{ invite_id = "{INVITE}" }}
kind = "invite_accept"

[[endpoint]]
name = "audit log"
path = "/api/orgs/{{org_id}}/audit-log"
owner = "alice"
roles = ["admin"]

[[endpoint]]
name = "billing"
path = "/api/orgs/{{org_id}}/billing"
owner = "alice"
roles = ["admin"]

[[endpoint]]
name = "dashboard"
path = "/api/orgs/{{org_id}}/dashboard"
owner = "alice"

[[endpoint]]
name = "embed feed"
path = "/api/embed/orgs/{{org_id}}/feed"
owner = "alice"

[[endpoint]]
name = "preview feed"
path = "/api/preview/orgs/{{org_id}}/feed"
owner = "alice"

[[endpoint]]
name = "file download"
path = "/api/orgs/{{org_id}}/files/download"
owner = "alice"

[[endpoint]]
name = "file list"
path = "/api/orgs/{{org_id}}/files"
owner = "alice"

[[endpoint]]
name = "invoices"
path = "/api/invoices"
query = {{ org_id = "{ORG_A}" }}
owner = "alice"

[[endpoint]]
name = "payments"
path = "/api/payments"
query = {{ org_id = "{ORG_A}" }}
owner = "alice"

[[endpoint]]
name = "ticket"
path = "/api/tickets/{{ticket_id}}"
owner = "alice"
params = {{ ticket_id = "{ticket_a}" }}

[[endpoint]]
name = "document"
path = "/api/documents/{{doc_id}}"
owner = "alice"
params = {{ doc_id = "{doc_a}" }}
"#,
            ticket_a = TICKETS[0].0,
            ticket_b = TICKETS[1].0,
            doc_a = DOCUMENTS[0].0,
            doc_b = DOCUMENTS[1].0,
            alice = pw("alice@acme.demo"),
            bob = pw("bob@acme.demo"),
        )
    }
}

/// The routes of this part, with the CORS policies.
pub fn router(state: Arc<AccessDemo>) -> Router {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/session", post(session))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/orgs/{org}/members", get(members))
        .route("/api/orgs/{org}/projects", get(projects))
        .route("/api/orgs/{org}/reports", post(reports))
        .route("/api/orgs/{org}/exports", post(exports))
        .route("/api/v1/orgs/{org}/settings", get(settings_v1))
        .route("/api/orgs/{org}/settings", get(settings))
        .route("/api/partner/orgs/{org}/usage", get(partner_usage))
        .route("/api/invites/{id}/accept", post(accept_open))
        .route("/api/v2/invites/{id}/accept", post(accept))
        .route("/api/orgs/{org}/audit-log", get(audit_log))
        .route("/api/orgs/{org}/billing", get(billing))
        .route("/api/orgs/{org}/dashboard", get(dashboard))
        .route("/api/embed/orgs/{org}/feed", get(feed))
        .route("/api/preview/orgs/{org}/feed", get(feed))
        .route("/api/v1/logout", post(logout_v1))
        .route("/api/mobile/login", post(mobile_login))
        .route("/api/mobile/v2/login", post(mobile_login_v2))
        .route("/api/orgs/{org}/files/download", get(file_download))
        .route("/api/orgs/{org}/files", get(file_list))
        .route("/api/invoices", get(invoices))
        .route("/api/payments", get(payments))
        .route("/api/tickets/{id}", get(ticket))
        .route("/api/documents/{id}", get(document))
        .layer(middleware::from_fn(cors))
        .with_state(state)
}

type St = State<Arc<AccessDemo>>;

fn user_by_id(id: &str) -> Option<&'static User> {
    USERS.iter().find(|u| u.id == id)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    v.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|p| {
            let (k, v) = p.trim().split_once('=')?;
            (k == name).then(|| v.to_string())
        })
}

/// Which verifier a route uses.
#[derive(Clone, Copy, PartialEq)]
enum Verifier {
    Strict,
    /// Accepts `alg: none` (the planted flaw).
    Lax,
    /// Partner tokens, signed with the weak secret.
    Partner,
}

fn authn(s: &AccessDemo, headers: &HeaderMap, verifier: Verifier) -> Option<&'static User> {
    if verifier != Verifier::Partner
        && let Some(sid) = cookie(headers, "sid")
    {
        let sessions = s.sessions.lock().ok()?;
        return sessions.get(&sid).copied().and_then(user_by_id);
    }
    let token = bearer(headers)?;
    if s.revoked.lock().ok()?.contains(&token) {
        return None;
    }
    let now = crate::checks::auth::now();
    let claims = match verifier {
        Verifier::Strict => jwt::verify_hs256(&token, &s.secret, false, now),
        Verifier::Lax => jwt::verify_hs256(&token, &s.secret, true, now),
        Verifier::Partner => jwt::verify_hs256(&token, WEAK_SECRET.as_bytes(), false, now),
    }?;
    let user = user_by_id(claims.get("sub")?.as_str()?)?;
    if (verifier == Verifier::Partner) != (user.role == "partner") {
        return None;
    }
    Some(user)
}

fn status(code: StatusCode, message: &str) -> Response {
    (code, axum::Json(json!({ "error": message }))).into_response()
}

fn unauthorized() -> Response {
    status(StatusCode::UNAUTHORIZED, "authentication required")
}

fn forbidden() -> Response {
    status(StatusCode::FORBIDDEN, "forbidden")
}

fn org_members(org: &str) -> Value {
    let members: Vec<Value> = USERS
        .iter()
        .filter(|u| u.org == org && u.role != "partner")
        .map(|u| json!({"id": u.id, "email": u.email, "name": u.name, "role": u.role}))
        .collect();
    json!({ "org_id": org, "members": members })
}

fn org_data(org: &str, what: &str) -> Value {
    let label = if org == ORG_A {
        "Acme Corp"
    } else {
        "Globex Inc"
    };
    json!({ "org_id": org, "org_name": label, what: format!("{what} of {label} ({org})") })
}

fn ok(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn body_fields(headers: &HeaderMap, body: &Bytes) -> HashMap<String, String> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if form {
        return url::form_urlencoded::parse(body).into_owned().collect();
    }
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map(str::to_string).unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn check_password(s: &AccessDemo, f: &HashMap<String, String>) -> Result<&'static User, bool> {
    let email = f.get("email").cloned().unwrap_or_default();
    let Some(user) = USERS.iter().find(|u| u.email == email) else {
        return Err(false);
    };
    match s.passwords.get(user.email) {
        Some(pw) if Some(pw) == f.get("password") => Ok(user),
        _ => Err(true),
    }
}

/// Flaw: tells "no such user" from "wrong password".
async fn login(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    match check_password(&s, &body_fields(&headers, &body)) {
        Ok(user) => ok(json!({ "token": s.token_for(user, &s.secret) })),
        Err(false) => status(StatusCode::UNAUTHORIZED, "no such user"),
        Err(true) => status(StatusCode::UNAUTHORIZED, "wrong password"),
    }
}

/// Twin: one answer for both, a session cookie on success.
async fn session(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    match check_password(&s, &body_fields(&headers, &body)) {
        Ok(user) => {
            let sid = format!("{:032x}", rand::random::<u128>());
            if let Ok(mut m) = s.sessions.lock() {
                m.insert(sid.clone(), user.id);
            }
            let mut res = ok(json!({ "ok": true }));
            if let Ok(v) = HeaderValue::from_str(&format!(
                "sid={sid}; Path=/; Secure; HttpOnly; SameSite=Lax"
            )) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(_) => status(StatusCode::UNAUTHORIZED, "invalid email or password"),
    }
}

async fn logout(State(s): St, headers: HeaderMap) -> Response {
    if authn(&s, &headers, Verifier::Strict).is_none() {
        return unauthorized();
    }
    if let Some(sid) = cookie(&headers, "sid")
        && let Ok(mut m) = s.sessions.lock()
    {
        m.remove(&sid);
    }
    if let Some(t) = bearer(&headers)
        && let Ok(mut r) = s.revoked.lock()
    {
        r.insert(t);
    }
    ok(json!({ "ok": true }))
}

async fn me(State(s): St, headers: HeaderMap) -> Response {
    match authn(&s, &headers, Verifier::Strict) {
        Some(u) => ok(
            json!({"id": u.id, "email": u.email, "name": u.name, "org_id": u.org,
                             "role": u.role}),
        ),
        None => unauthorized(),
    }
}

/// Member of `org` (any role), or the refusal to send.
fn member_of(
    s: &AccessDemo,
    headers: &HeaderMap,
    org: &str,
    verifier: Verifier,
) -> Result<&'static User, Refusal> {
    let user = authn(s, headers, verifier).ok_or(Refusal::Unauthorized)?;
    if user.org != org {
        return Err(Refusal::Forbidden);
    }
    Ok(user)
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy)]
enum Refusal {
    Unauthorized,
    Forbidden,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Unauthorized => unauthorized(),
            Refusal::Forbidden => forbidden(),
        }
    }
}

/// Flaw: any logged-in user gets any org's member list.
async fn members(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    match authn(&s, &headers, Verifier::Strict) {
        Some(_) => ok(org_members(&org)),
        None => unauthorized(),
    }
}

async fn projects(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    match member_of(&s, &headers, &org, Verifier::Strict) {
        Ok(_) => ok(org_data(&org, "projects")),
        Err(r) => r.into_response(),
    }
}

/// Flaw: checks the path's org, then reports on the body's `org_id`.
async fn reports(
    State(s): St,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = member_of(&s, &headers, &org, Verifier::Strict) {
        return r.into_response();
    }
    let target = body_fields(&headers, &body)
        .get("org_id")
        .cloned()
        .unwrap_or(org);
    ok(org_data(&target, "report"))
}

/// Twin: a body `org_id` other than the path's is refused.
async fn exports(
    State(s): St,
    Path(org): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = member_of(&s, &headers, &org, Verifier::Strict) {
        return r.into_response();
    }
    match body_fields(&headers, &body).get("org_id") {
        Some(b) if *b != org => forbidden(),
        _ => ok(org_data(&org, "export")),
    }
}

/// Flaw: the legacy verifier accepts `alg: none`.
async fn settings_v1(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    match member_of(&s, &headers, &org, Verifier::Lax) {
        Ok(_) => ok(org_data(&org, "settings")),
        Err(r) => r.into_response(),
    }
}

async fn settings(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    match member_of(&s, &headers, &org, Verifier::Strict) {
        Ok(_) => ok(org_data(&org, "settings")),
        Err(r) => r.into_response(),
    }
}

async fn partner_usage(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    match member_of(&s, &headers, &org, Verifier::Partner) {
        Ok(_) => ok(org_data(&org, "usage")),
        Err(r) => r.into_response(),
    }
}

fn invite() -> Value {
    json!({"invite_id": INVITE, "org_id": ORG_A, "email": "newhire@acme.demo", "accepted": true})
}

/// Flaw: accepting an invite needs no session.
async fn accept_open(Path(id): Path<String>) -> Response {
    if id != INVITE {
        return status(StatusCode::NOT_FOUND, "no such invite");
    }
    ok(invite())
}

async fn accept(State(s): St, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if authn(&s, &headers, Verifier::Strict).is_none() {
        return unauthorized();
    }
    if id != INVITE {
        return status(StatusCode::NOT_FOUND, "no such invite");
    }
    ok(invite())
}

/// Flaw: admin-only in the UI, open to members on the server.
async fn audit_log(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    match member_of(&s, &headers, &org, Verifier::Strict) {
        Ok(_) => ok(org_data(&org, "audit log")),
        Err(r) => r.into_response(),
    }
}

async fn billing(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    match member_of(&s, &headers, &org, Verifier::Strict) {
        Ok(u) if u.role == "admin" => ok(org_data(&org, "billing")),
        Ok(_) => forbidden(),
        Err(r) => r.into_response(),
    }
}

/// Not a flaw: 200 with a login page when not logged in.
async fn dashboard(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    if authn(&s, &headers, Verifier::Strict).is_none() {
        let page = "<!doctype html><html><body><h1>Please log in</h1>\
                    <form method=\"post\" action=\"/api/session\"></form></body></html>";
        return ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response();
    }
    match member_of(&s, &headers, &org, Verifier::Strict) {
        Ok(_) => ok(org_data(&org, "dashboard")),
        Err(r) => r.into_response(),
    }
}

async fn feed(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    match member_of(&s, &headers, &org, Verifier::Strict) {
        Ok(_) => ok(org_data(&org, "feed")),
        Err(r) => r.into_response(),
    }
}

/// CORS: `/api/embed/` reflects any Origin with credentials and
/// `/api/preview/` trusts every `*.vercel.app` page (the flaws); the rest
/// grants only the console origin. All send `Vary: Origin`.
async fn cors(req: Request, next: Next) -> Response {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let reflect_any = req.uri().path().starts_with("/api/embed/");
    // Preview deployments live on vercel.app, so the preview API trusts all of it.
    let trust_vercel = req.uri().path().starts_with("/api/preview/");
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut res = if preflight {
        StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = res.headers_mut();
    h.append(header::VARY, HeaderValue::from_static("Origin"));
    let granted = origin.filter(|o| {
        reflect_any
            || o == CONSOLE_ORIGIN
            || trust_vercel && o.starts_with("https://") && o.ends_with(".vercel.app")
    });
    if let Some(o) = granted
        && let Ok(v) = HeaderValue::from_str(&o)
    {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        if preflight {
            h.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            h.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type"),
            );
        }
    }
    res
}

/// Flaw: clears the cookie in the browser but ends nothing on the server.
async fn logout_v1(State(s): St, headers: HeaderMap) -> Response {
    if authn(&s, &headers, Verifier::Strict).is_none() {
        return unauthorized();
    }
    let mut res = ok(json!({ "ok": true }));
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("sid=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"),
    );
    res
}

/// The fields of a form body; `None` for any other content type.
fn form_fields(headers: &HeaderMap, body: &Bytes) -> Option<HashMap<String, String>> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    form.then(|| body_fields(headers, body))
}

/// A form-only login; `hash_unknown` decides whether unknown accounts pay
/// the hashing time too. The wording is the same either way.
async fn mobile(s: &AccessDemo, headers: &HeaderMap, body: &Bytes, hash_unknown: bool) -> Response {
    let Some(fields) = form_fields(headers, body) else {
        return status(StatusCode::UNSUPPORTED_MEDIA_TYPE, "send a form");
    };
    let outcome = check_password(s, &fields);
    if hash_unknown || !matches!(outcome, Err(false)) {
        tokio::time::sleep(HASH_TIME).await;
    }
    match outcome {
        Ok(user) => ok(json!({ "token": s.token_for(user, &s.secret) })),
        Err(_) => status(StatusCode::UNAUTHORIZED, "invalid email or password"),
    }
}

/// Flaw: only known accounts pay the hashing time, so timing tells them apart.
async fn mobile_login(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    mobile(&s, &headers, &body, false).await
}

/// Twin: a dummy hash for unknown accounts, so both take the same time.
async fn mobile_login_v2(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    mobile(&s, &headers, &body, true).await
}

/// Flaw: besides the header, takes the token from `?access_token=` or an
/// `access_token` cookie (download links).
async fn file_download(
    State(s): St,
    Path(org): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    mut headers: HeaderMap,
) -> Response {
    if bearer(&headers).is_none()
        && let Some(token) = q
            .get("access_token")
            .cloned()
            .or_else(|| cookie(&headers, "access_token"))
        && let Ok(v) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        headers.insert(header::AUTHORIZATION, v);
    }
    match member_of(&s, &headers, &org, Verifier::Strict) {
        Ok(_) => ok(org_data(&org, "files")),
        Err(r) => r.into_response(),
    }
}

/// Twin: the Authorization header only.
async fn file_list(State(s): St, Path(org): Path<String>, headers: HeaderMap) -> Response {
    match member_of(&s, &headers, &org, Verifier::Strict) {
        Ok(_) => ok(org_data(&org, "files")),
        Err(r) => r.into_response(),
    }
}

/// Flaw: any logged-in user reads the invoices of the query's org.
async fn invoices(
    State(s): St,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if authn(&s, &headers, Verifier::Strict).is_none() {
        return unauthorized();
    }
    match q.get("org_id") {
        Some(org) => ok(org_data(org, "invoices")),
        None => status(StatusCode::BAD_REQUEST, "org_id is required"),
    }
}

/// Twin: the query's org must be the caller's.
async fn payments(
    State(s): St,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let org = q.get("org_id").cloned().unwrap_or_default();
    match member_of(&s, &headers, &org, Verifier::Strict) {
        Ok(_) => ok(org_data(&org, "payments")),
        Err(r) => r.into_response(),
    }
}

/// An object of the caller's org by id, else 404 (as if it did not exist).
fn owned_object(s: &AccessDemo, headers: &HeaderMap, id: &str, org: Option<&str>) -> Response {
    let Some(user) = authn(s, headers, Verifier::Strict) else {
        return unauthorized();
    };
    match org {
        Some(org) if org == user.org => {
            ok(json!({ "id": id, "org_id": org, "title": format!("object {id} of {org}") }))
        }
        _ => status(StatusCode::NOT_FOUND, "not found"),
    }
}

/// Tenant-checked, but with sequential integer ids (enumerable).
async fn ticket(State(s): St, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let org = TICKETS
        .iter()
        .find(|(n, _)| n.to_string() == id)
        .map(|(_, o)| *o);
    owned_object(&s, &headers, &id, org)
}

/// Twin: random ids.
async fn document(State(s): St, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let org = DOCUMENTS.iter().find(|(d, _)| *d == id).map(|(_, o)| *o);
    owned_object(&s, &headers, &id, org)
}
