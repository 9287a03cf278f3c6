//! The demo's parts for the active checks (`latency`, `rate_limit`, `input`):
//! each planted flaw next to its correct twin.
//!
//! Latency: `/api/reports/export` answers 3 of every 25 requests after
//! 600 ms and the rest after 10 ms (true p50 10 ms, true p95 600 ms: over
//! budget); its twin `/api/reports/summary` has the same pattern at 150 ms.
//! The pattern is a counter, not chance, so the true percentiles are exact.
//!
//! Rate limits: `/api/login` answers every wrong password with 401 and never
//! throttles; its twin `/api/password-reset` answers 429 with Retry-After and
//! RateLimit headers after 5 requests for one account, counting the account
//! in lower case and ignoring X-Forwarded-For.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// A fixed delay pattern: of every `period` requests (in arrival order), the
/// first `slow_count` wait `slow`, the others `fast`.
#[derive(Debug)]
pub struct Schedule {
    counter: AtomicU64,
    pub period: u64,
    pub slow_count: u64,
    pub slow: Duration,
    pub fast: Duration,
}

impl Schedule {
    pub fn new(period: u64, slow_count: u64, slow: Duration, fast: Duration) -> Schedule {
        Schedule {
            counter: AtomicU64::new(0),
            period: period.max(1),
            slow_count,
            slow,
            fast,
        }
    }

    /// The delay of the next request.
    pub fn next_delay(&self) -> Duration {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        if n % self.period < self.slow_count {
            self.slow
        } else {
            self.fast
        }
    }
}

/// A GET route that answers a small JSON body after the schedule's delay.
pub fn scheduled(schedule: Arc<Schedule>) -> axum::routing::MethodRouter {
    get(move || {
        let schedule = schedule.clone();
        async move {
            let delay = schedule.next_delay();
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
        25,
        3,
        Duration::from_millis(600),
        Duration::from_millis(10),
    ));
    let summary = Arc::new(Schedule::new(
        25,
        3,
        Duration::from_millis(150),
        Duration::from_millis(10),
    ));
    Router::new()
        .route("/api/reports/export", scheduled(export))
        .route("/api/reports/summary", scheduled(summary))
        .route("/api/login", post(login))
        .route("/api/password-reset", post(password_reset))
}

/// Flawed: every wrong password gets the same 401, forever.
async fn login(Json(_body): Json<serde_json::Value>) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(serde_json::json!({"error": "invalid email or password"})),
    )
        .into_response()
}

/// Reset requests per account (lower-cased), for the throttled twin.
fn reset_counts() -> &'static Mutex<HashMap<String, u32>> {
    static COUNTS: std::sync::OnceLock<Mutex<HashMap<String, u32>>> = std::sync::OnceLock::new();
    COUNTS.get_or_init(Mutex::default)
}

/// Correct twin: 5 requests per account, then 429 with the limit headers.
async fn password_reset(Json(body): Json<serde_json::Value>) -> Response {
    let email = body["email"].as_str().unwrap_or("").to_lowercase();
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
attempts = 30
rate = 40
bypass_probe = true

[[endpoint]]
name = "login"
method = "POST"
path = "/api/login"
auth = "public"
kind = "login"
body = { email = "member@readiness-demo.test", password = "not-the-password" }
fields = { email = "email" }

[[endpoint]]
name = "password reset"
method = "POST"
path = "/api/password-reset"
auth = "public"
kind = "password_reset"
body = { email = "member@readiness-demo.test" }
fields = { email = "email" }
"#
    .to_string()
}
