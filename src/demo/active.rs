//! The demo's parts for the active checks (`latency`, `rate_limit`, `input`):
//! each planted flaw next to its correct twin.
//!
//! Latency: `/api/reports/export` answers 3 of every 25 requests after
//! 600 ms and the rest after 10 ms (true p50 10 ms, true p95 600 ms: over
//! budget); its twin `/api/reports/summary` has the same pattern at 150 ms.
//! The pattern is a counter, not chance, so the true percentiles are exact.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::routing::get;

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
"#
    .to_string()
}
