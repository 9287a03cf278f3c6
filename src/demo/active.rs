//! The demo's parts for the active checks (`latency`, `rate_limit`, `input`):
//! each planted flaw next to its correct twin.
//!
//! Latency: `/api/reports/export` answers the last 3 of every 50 requests
//! after 600 ms and the rest after 10 ms (of any 100 requests in a row, 6
//! are slow: true p50 10 ms, true p95 600 ms, over budget); its twin
//! `/api/reports/summary` has the same pattern at 150 ms. The pattern is a
//! counter, not chance, so the true percentiles are exact. Each demo
//! instance has its own counters, and within one instance each client key
//! (the `X-Demo-Client` request header, see [`client_profile`]) has its own,
//! so audits run side by side against one demo (the tests do) each see the
//! exact pattern instead of an interleaving of theirs.
//!
//! Rate limits: `/api/login` (served by the access part) answers every wrong password and never
//! throttles; its twin `/api/password-reset` answers 429 with Retry-After and
//! RateLimit headers after 5 requests for one account, counting the account
//! in lower case and ignoring X-Forwarded-For.
//!
//! Input: `/api/signup` crashes (500, with a framework stack-trace page) on
//! a null byte, accepts a 1 MiB name and any malformed value, and honours
//! `"role": "owner"`; its twin
//! `/api/signup-v2` validates every field and refuses privileged ones.
//! `/api/join` validates every field but stores a `role` it is sent without
//! echoing it: only the follow-up read of `/api/accounts/{id}` (its
//! `Location`, with the account token from its answer) shows it.
//! `/api/orgs/by-name/{name}` answers a quote with a 500 carrying a database
//! error; its twin `/api/orgs/lookup?name=` does not. `/profile/preview`
//! echoes the name unescaped into HTML; `/profile/preview-safe` escapes it.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// The request header that keys the delay counters (absent: one shared key).
pub const CLIENT_HEADER: &str = "x-demo-client";
/// Most client keys one schedule tracks; the oldest is forgotten beyond it.
const MAX_CLIENTS: usize = 1024;

/// A fixed delay pattern: of every `period` requests of one client (in
/// arrival order), the last `slow_count` wait `slow`, the others `fast`.
/// The slow ones come last so a short warm-up does not meet them.
#[derive(Debug)]
pub struct Schedule {
    /// Requests seen per client key, and the order keys were first seen.
    counters: Mutex<(HashMap<String, u64>, std::collections::VecDeque<String>)>,
    pub period: u64,
    pub slow_count: u64,
    pub slow: Duration,
    pub fast: Duration,
}

impl Schedule {
    pub fn new(period: u64, slow_count: u64, slow: Duration, fast: Duration) -> Schedule {
        let period = period.max(1);
        Schedule {
            counters: Mutex::default(),
            period,
            slow_count: slow_count.min(period),
            slow,
            fast,
        }
    }

    /// The delay of the next request of `client`.
    pub fn next_delay(&self, client: &str) -> Duration {
        let n = {
            let mut guard = match self.counters.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            let (counts, order) = &mut *guard;
            if !counts.contains_key(client) {
                if order.len() >= MAX_CLIENTS
                    && let Some(oldest) = order.pop_front()
                {
                    counts.remove(&oldest);
                }
                order.push_back(client.to_string());
            }
            let n = counts.entry(client.to_string()).or_insert(0);
            *n += 1;
            *n - 1
        };
        if n % self.period >= self.period - self.slow_count {
            self.slow
        } else {
            self.fast
        }
    }
}

/// A GET route that answers a small JSON body after the schedule's delay
/// for the caller's client key.
pub fn scheduled(schedule: Arc<Schedule>) -> axum::routing::MethodRouter {
    get(move |headers: axum::http::HeaderMap| {
        let schedule = schedule.clone();
        async move {
            let client = headers
                .get(CLIENT_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let delay = schedule.next_delay(&client);
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            (
                [(header::CONTENT_TYPE, "application/json")],
                "{\"ok\":true}",
            )
        }
    })
}

/// The active checks' routes of the demo app.
pub fn router() -> Router {
    let export = Arc::new(Schedule::new(
        50,
        3,
        Duration::from_millis(600),
        Duration::from_millis(10),
    ));
    let summary = Arc::new(Schedule::new(
        50,
        3,
        Duration::from_millis(150),
        Duration::from_millis(10),
    ));
    let accounts = Arc::new(Accounts::default());
    Router::new()
        .route("/api/reports/export", scheduled(export))
        .route("/api/reports/summary", scheduled(summary))
        .route("/api/password-reset", post(password_reset))
        .route("/api/signup", post(signup_flawed))
        .route("/api/signup-v2", post(signup_checked))
        .route("/api/join", post(join_flawed).with_state(accounts.clone()))
        .route("/api/accounts/{id}", get(account).with_state(accounts))
        .route("/api/orgs/by-name/{name}", get(org_by_name_flawed))
        .route("/api/orgs/lookup", get(org_lookup_checked))
        .route("/profile/preview", get(preview_flawed))
        .route("/profile/preview-safe", get(preview_escaped))
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn has_null_byte(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(has_null_byte),
        serde_json::Value::Object(o) => o.values().any(has_null_byte),
        _ => false,
    }
}

/// Flawed: crashes on a null byte (with Express's development-mode stack
/// trace page), stores anything, honours `role`.
async fn signup_flawed(Json(body): Json<serde_json::Value>) -> Response {
    if has_null_byte(&body) {
        let page = "<!DOCTYPE html><html><head><title>Error</title></head><body><pre>\
                    TypeError: Cannot read properties of undefined (reading &#39;slug&#39;)\
                    <br> &nbsp; &nbsp;at createOrg (/srv/app/routes/signup.js:41:23)<br> \
                    &nbsp; &nbsp;at Layer.handle [as handle_request] \
                    (/srv/app/node_modules/express/lib/router/layer.js:95:5)</pre></body></html>";
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page,
        )
            .into_response();
    }
    let role = body
        .get("role")
        .cloned()
        .unwrap_or_else(|| serde_json::json!("member"));
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let email = body.get("email").cloned().unwrap_or_default();
    let reply = serde_json::json!({"id": id, "email": email, "role": role});
    (StatusCode::CREATED, Json(reply)).into_response()
}

fn valid_email(v: &serde_json::Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c));
    let domain_ok = domain.contains('.')
        && !domain.contains("..")
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c));
    s.len() <= 254 && local_ok && domain_ok
}

fn valid_name(v: &serde_json::Value) -> bool {
    v.as_str().is_some_and(|s| {
        let n = s.chars().count();
        (1..=100).contains(&n) && !s.chars().any(char::is_control)
    })
}

fn valid_slug(v: &serde_json::Value) -> bool {
    v.as_str().is_some_and(|s| {
        (1..=40).contains(&s.len())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

fn registered() -> &'static Mutex<std::collections::HashSet<String>> {
    static SEEN: std::sync::OnceLock<Mutex<std::collections::HashSet<String>>> =
        std::sync::OnceLock::new();
    SEEN.get_or_init(Mutex::default)
}

/// Correct twin: only known fields, each validated; privileged ones refused.
async fn signup_checked(Json(body): Json<serde_json::Value>) -> Response {
    let unprocessable = |why: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({"error": why})),
        )
            .into_response()
    };
    let Some(map) = body.as_object() else {
        return unprocessable("expected a JSON object");
    };
    if map
        .keys()
        .any(|k| !matches!(k.as_str(), "email" | "name" | "org"))
    {
        return unprocessable("unknown field");
    }
    let null = serde_json::Value::Null;
    let field = |k: &str| map.get(k).unwrap_or(&null);
    if !valid_email(field("email")) {
        return unprocessable("email is not a valid address");
    }
    if !valid_name(field("name")) {
        return unprocessable("name must be 1 to 100 characters without control characters");
    }
    if !valid_slug(field("org")) {
        return unprocessable("org must be 1 to 40 of a-z, 0-9 and -");
    }
    let email = field("email")
        .as_str()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let fresh = match registered().lock() {
        Ok(mut g) => g.insert(email.clone()),
        Err(p) => p.into_inner().insert(email.clone()),
    };
    if !fresh {
        return (
            StatusCode::CONFLICT,
            Json(serde_json::json!({"error": "already registered"})),
        )
            .into_response();
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let reply = serde_json::json!({"id": id, "email": email, "role": "member"});
    (StatusCode::CREATED, Json(reply)).into_response()
}

/// Accounts made by `/api/join`: id -> (token, record); the oldest are
/// forgotten beyond a bound so a long-running demo stays small.
#[derive(Default)]
pub struct Accounts {
    by_id: Mutex<BTreeMap<u64, (String, serde_json::Value)>>,
}

const MAX_ACCOUNTS: usize = 4096;

/// Flawed (silently): every field validated, unknown ones ignored, except
/// `role`, which is stored as sent and not echoed. Answers the new account's
/// id and token, and its `Location`.
async fn join_flawed(
    axum::extract::State(accounts): axum::extract::State<Arc<Accounts>>,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let unprocessable = |why: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(serde_json::json!({"error": why})),
        )
            .into_response()
    };
    let Some(map) = body.as_object() else {
        return unprocessable("expected a JSON object");
    };
    let null = serde_json::Value::Null;
    let field = |k: &str| map.get(k).unwrap_or(&null);
    if !valid_email(field("email")) {
        return unprocessable("email is not a valid address");
    }
    if !valid_name(field("name")) {
        return unprocessable("name must be 1 to 100 characters without control characters");
    }
    if !valid_slug(field("org")) {
        return unprocessable("org must be 1 to 40 of a-z, 0-9 and -");
    }
    let role = match field("role") {
        serde_json::Value::Null => serde_json::json!("member"),
        sent => sent.clone(),
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let token = format!("acct-{:032x}", rand::random::<u128>());
    let record = serde_json::json!({
        "id": id,
        "email": field("email"),
        "name": field("name"),
        "org": field("org"),
        "role": role,
    });
    {
        let mut by_id = match accounts.by_id.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        by_id.insert(id, (token.clone(), record));
        while by_id.len() > MAX_ACCOUNTS {
            by_id.pop_first();
        }
    }
    (
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/accounts/{id}"))],
        Json(serde_json::json!({"id": id, "token": token})),
    )
        .into_response()
}

/// An account, for the holder of its token only.
async fn account(
    axum::extract::State(accounts): axum::extract::State<Arc<Accounts>>,
    axum::extract::Path(id): axum::extract::Path<u64>,
    headers: axum::http::HeaderMap,
) -> Response {
    let sent = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let found = {
        let by_id = match accounts.by_id.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        by_id.get(&id).cloned()
    };
    match found {
        Some((token, record)) if !sent.is_empty() && token == sent => Json(record).into_response(),
        Some(_) => (
            StatusCode::UNAUTHORIZED,
            Json(serde_json::json!({"error": "not your account"})),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "no such account"})),
        )
            .into_response(),
    }
}

/// Flawed: the name is pasted into SQL; a quote breaks the statement.
async fn org_by_name_flawed(axum::extract::Path(name): axum::extract::Path<String>) -> Response {
    if name.contains('\'') {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("SQLITE_ERROR: near \"{name}\": syntax error"),
        )
            .into_response();
    }
    org_answer(&name)
}

#[derive(serde::Deserialize)]
struct NameQuery {
    #[serde(default)]
    name: String,
}

/// Correct twin: the name is a bound parameter.
async fn org_lookup_checked(axum::extract::Query(q): axum::extract::Query<NameQuery>) -> Response {
    org_answer(&q.name)
}

fn org_answer(name: &str) -> Response {
    if name == "acme" {
        Json(serde_json::json!({"id": 1, "name": "acme"})).into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "no such organisation"})),
        )
            .into_response()
    }
}

fn html_page(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// Flawed: the name goes into the page as it came.
async fn preview_flawed(axum::extract::Query(q): axum::extract::Query<NameQuery>) -> Response {
    html_page(format!("<!doctype html><h1>Welcome, {}</h1>", q.name))
}

/// Correct twin: the name is escaped for HTML.
async fn preview_escaped(axum::extract::Query(q): axum::extract::Query<NameQuery>) -> Response {
    let escaped = q
        .name
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;");
    html_page(format!("<!doctype html><h1>Welcome, {escaped}</h1>"))
}

/// Reset requests per client key and account (lower-cased), for the
/// throttled twin. Keyed by client like the delay schedules, so audits run
/// side by side against one demo do not spend each other's attempts.
fn reset_counts() -> &'static Mutex<HashMap<String, u32>> {
    static COUNTS: std::sync::OnceLock<Mutex<HashMap<String, u32>>> = std::sync::OnceLock::new();
    COUNTS.get_or_init(Mutex::default)
}

/// Correct twin: 5 requests per account, then 429 with the limit headers.
async fn password_reset(
    headers: axum::http::HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> Response {
    let client = headers
        .get(CLIENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let email = format!(
        "{client}|{}",
        body["email"].as_str().unwrap_or("").to_lowercase()
    );
    let count = {
        let mut counts = match reset_counts().lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let c = counts.entry(email).or_insert(0);
        *c += 1;
        *c
    };
    if count > 5 {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::RETRY_AFTER, "1"),
                (header::HeaderName::from_static("ratelimit-limit"), "5"),
                (header::HeaderName::from_static("ratelimit-remaining"), "0"),
                (header::HeaderName::from_static("ratelimit-reset"), "1"),
            ],
            Json(serde_json::json!({"error": "too many requests"})),
        )
            .into_response();
    }
    (
        StatusCode::ACCEPTED,
        Json(serde_json::json!({"status": "if the account exists, a mail is on its way"})),
    )
        .into_response()
}

/// Writes a copy of a demo profile, in the same folder (its relative paths
/// stay valid), that sends `client` as the delay schedules' client key.
/// Audits run side by side against one demo each use their own copy.
pub fn client_profile(profile: &Path, client: &str) -> Result<PathBuf, String> {
    let safe = !client.is_empty()
        && client.len() <= 64
        && client
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !safe {
        return Err(format!(
            "client key `{client}`: use 1 to 64 of a-z, A-Z, 0-9, - and _"
        ));
    }
    let text = std::fs::read_to_string(profile)
        .map_err(|e| format!("cannot read {}: {e}", profile.display()))?;
    let section = "[target.headers]\n";
    let Some(at) = text.find(section) else {
        return Err(format!(
            "{} has no [target.headers] table",
            profile.display()
        ));
    };
    let at = at + section.len();
    let text = format!(
        "{}X-Demo-Client = \"{client}\"\n{}",
        &text[..at],
        &text[at..]
    );
    let path = profile.with_file_name(format!("readiness-{client}.toml"));
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// Profile text for the active checks, appended to the demo profile.
pub fn profile_text() -> String {
    r#"
[checks.latency]
endpoints = ["/api/reports/export", "/api/reports/summary"]
rate = 50
duration = "2s"
warmup = 3
p95_budget = "500ms"

[checks.rate_limit]
endpoints = ["login", "password reset"]
attempts = 30
rate = 40
bypass_probe = true

# The `login` endpoint is declared by the access part (its login has no throttling).

[[endpoint]]
name = "password reset"
method = "POST"
path = "/api/password-reset"
auth = "public"
kind = "password_reset"
body = { email = "member@readiness-demo.test" }
fields = { email = "email" }

[checks.input]
allow_writes = true
seed = 20240601

[[endpoint]]
name = "signup"
method = "POST"
path = "/api/signup"
auth = "public"
kind = "signup"
onboarding = true
body = { email = "new@readiness-demo.test", name = "Audit Bot", org = "audit-org" }
fields = { email = "email", name = "name", org = "slug" }

[[endpoint]]
name = "join"
method = "POST"
path = "/api/join"
auth = "public"
kind = "signup"
onboarding = true
writes = true
body = { email = "new@readiness-demo.test", name = "Audit Bot", org = "audit-org" }
fields = { email = "email", name = "name", org = "slug" }

# The account `join` creates is read back through its Location, with the
# account's own token from the answer.
[[checks.input.read_back]]
endpoint = "join"
token_pointer = "/token"

[[endpoint]]
name = "signup v2"
method = "POST"
path = "/api/signup-v2"
auth = "public"
kind = "signup"
onboarding = true
body = { email = "new@readiness-demo.test", name = "Audit Bot", org = "audit-org" }
fields = { email = "email", name = "name", org = "slug" }

[[endpoint]]
name = "org by name"
path = "/api/orgs/by-name/{name}"
auth = "public"
kind = "lookup"
params = { name = "acme" }

[[endpoint]]
name = "org lookup"
path = "/api/orgs/lookup"
auth = "public"
kind = "lookup"
query = { name = "acme" }

[[endpoint]]
name = "profile preview"
path = "/profile/preview"
auth = "public"
onboarding = true
query = { name = "Audit Bot" }

[[endpoint]]
name = "profile preview (escaped)"
path = "/profile/preview-safe"
auth = "public"
onboarding = true
query = { name = "Audit Bot" }
"#
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slow_among(schedule: &Schedule, client: &str, n: usize) -> usize {
        (0..n)
            .filter(|_| schedule.next_delay(client) == schedule.slow)
            .count()
    }

    #[test]
    fn three_in_fifty_come_last_and_any_hundred_in_a_row_hold_six() {
        let s = Schedule::new(50, 3, Duration::from_millis(600), Duration::from_millis(10));
        // A warm-up of 3 meets no slow request.
        assert_eq!(slow_among(&s, "a", 3), 0);
        assert_eq!(slow_among(&s, "a", 100), 6);
        for offset in [0, 1, 17, 49] {
            let s = Schedule::new(50, 3, Duration::from_millis(600), Duration::ZERO);
            slow_among(&s, "b", offset);
            assert_eq!(slow_among(&s, "b", 100), 6, "offset {offset}");
        }
    }

    #[test]
    fn interleaved_clients_each_see_the_exact_pattern() {
        let s = Schedule::new(50, 3, Duration::from_millis(600), Duration::ZERO);
        let mut slow = HashMap::new();
        for i in 0..300 {
            let client = ["x", "y", "z"][i % 3];
            if s.next_delay(client) == s.slow {
                *slow.entry(client).or_insert(0) += 1;
            }
        }
        assert_eq!(slow, HashMap::from([("x", 6), ("y", 6), ("z", 6)]));
        // One shared key (the old behaviour) mixes them: the pattern is
        // exact only for the sum, not for each audit.
        let shared = Schedule::new(50, 3, Duration::from_millis(600), Duration::ZERO);
        let mut x = 0;
        for i in 0..200 {
            let delay = shared.next_delay("");
            if i % 2 == 0 && delay == shared.slow {
                x += 1;
            }
        }
        assert_eq!(
            x, 4,
            "two audits alternating: 4 of one's 100 are slow, not 6"
        );
    }

    #[test]
    fn client_profiles_add_the_key_beside_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("readiness.toml");
        std::fs::write(
            &path,
            "[target]\nname = \"d\"\n\n[target.headers]\nA = \"b\"\n",
        )
        .unwrap();
        let copy = client_profile(&path, "audit-7").unwrap();
        assert_eq!(copy.parent(), path.parent());
        let text = std::fs::read_to_string(copy).unwrap();
        assert!(text.contains("[target.headers]\nX-Demo-Client = \"audit-7\"\nA = \"b\"\n"));
        assert!(client_profile(&path, "a\"b").is_err());
        assert!(client_profile(&path, "").is_err());
    }
}
