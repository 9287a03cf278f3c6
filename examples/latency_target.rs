//! A small local target for `scripts/bench-latency.sh`: plain HTTP on
//! 127.0.0.1 with a zero-delay endpoint (`/fast`) and a known delay
//! schedule (`/schedule`: 6 of every 100 requests after 600 ms, the rest
//! after 20 ms, so the true p50 is 20 ms and the true p95 and p99 600 ms).
//!
//! Prints `port=N` on stdout once listening; serves until killed.

use std::sync::Arc;
use std::time::Duration;

use readiness::demo::active::{Schedule, scheduled};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let schedule = Arc::new(Schedule::new(
        100,
        6,
        Duration::from_millis(600),
        Duration::from_millis(20),
    ));
    let router = axum::Router::new()
        .route("/fast", axum::routing::get(|| async { "ok" }))
        .route("/schedule", scheduled(schedule));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("port={}", listener.local_addr()?.port());
    axum::serve(listener, router).await
}
