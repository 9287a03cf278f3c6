//! The load generators: an open model (constant arrival rate, latency from
//! the scheduled send time) and a closed model (fixed concurrency). Both
//! send through a load lane of the check's share of the shared client (one
//! connection per worker) and stop early at the check's deadline, on
//! cancellation, or when the budget is spent.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::config::{LatencySettings, LoadModel};
use super::stats::Distribution;
use crate::engine::Context;
use crate::net::load::{LaneAnswer, LaneConnection, LoadLane};
use crate::net::{HttpRequest, NetError};

/// What a load produced.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Successful latencies (open model: from the scheduled send time).
    pub latency: Distribution,
    /// Open model only: latencies from the actual send (uncorrected).
    pub service: Option<Distribution>,
    /// Measured requests answered or failed (warm-up excluded).
    pub sent: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub achieved_rps: f64,
    pub target_rps: Option<f64>,
    pub model_text: String,
}

/// One measured request.
struct Sample {
    /// From the due time (open) or the send (closed) to the full body.
    latency: Duration,
    service: Duration,
    error: Option<String>,
    budget_spent: bool,
}

/// A failure in words, or `None` for an answer that counts as a success.
fn failure(result: &Result<LaneAnswer, NetError>) -> Option<String> {
    match result {
        Ok(r) if r.status < 400 => None,
        Ok(r) => Some(format!("HTTP {}", r.status)),
        Err(e) => Some(e.to_string()),
    }
}

/// When the load must stop: starting requests (`stop_at`, when one more could
/// not finish before the deadline) and waiting for any (`hard_stop`: a
/// request the rate cap, a host pause or a slow server would carry past it
/// ends as a failure instead of overrunning the check's deadline).
#[derive(Clone, Copy)]
struct Stops {
    stop_at: Instant,
    hard_stop: Instant,
}

/// Runs the warm-up and the measured load for one request.
pub async fn run(ctx: &Context, req: &HttpRequest, s: &LatencySettings) -> LoadResult {
    let timeout = req.timeout.unwrap_or(ctx.profile.target.timeout);
    let stops = Stops {
        stop_at: ctx
            .deadline
            .checked_sub(timeout + Duration::from_millis(500))
            .unwrap_or_else(Instant::now),
        hard_stop: ctx
            .deadline
            .checked_sub(Duration::from_millis(250))
            .unwrap_or_else(Instant::now),
    };
    let lane = match ctx.net.load_lane(req) {
        Ok(lane) => Arc::new(lane),
        Err(e) => {
            return LoadResult {
                first_error: Some(e.to_string()),
                model_text: "not started".into(),
                ..LoadResult::default()
            };
        }
    };

    // The warm-up opens the first connection; the load reuses it.
    let pool = Arc::new(Mutex::new(Vec::new()));
    let mut conn = LaneConnection::default();
    for _ in 0..s.warmup {
        if ctx.cancel.is_cancelled() || Instant::now() >= stops.stop_at {
            break;
        }
        if let Err(NetError::Budget | NetError::Cancelled) =
            lane.send(&mut conn, stops.hard_stop).await
        {
            break;
        }
    }
    give_back(&pool, conn);

    match s.model {
        LoadModel::Open { rate } => open(ctx, lane, pool, s, rate, stops).await,
        LoadModel::Closed { requests } => closed(ctx, lane, pool, s, requests, stops).await,
    }
}

type Pool = Arc<Mutex<Vec<LaneConnection>>>;

fn take(pool: &Pool) -> LaneConnection {
    match pool.lock() {
        Ok(mut g) => g.pop().unwrap_or_default(),
        Err(p) => p.into_inner().pop().unwrap_or_default(),
    }
}

fn give_back(pool: &Pool, conn: LaneConnection) {
    match pool.lock() {
        Ok(mut g) => g.push(conn),
        Err(p) => p.into_inner().push(conn),
    }
}

fn absorb(out: &mut LoadResult, sample: Sample, service: bool) -> bool {
    if sample.budget_spent {
        // Refused before sending: not a measured request.
        return true;
    }
    out.sent += 1;
    match sample.error {
        None => {
            out.latency.record(sample.latency);
            if service && let Some(d) = out.service.as_mut() {
                d.record(sample.service);
            }
        }
        Some(e) => {
            out.errors += 1;
            if out.first_error.is_none() {
                out.first_error = Some(e);
            }
        }
    }
    sample.budget_spent
}

async fn open(
    ctx: &Context,
    lane: Arc<LoadLane>,
    pool: Pool,
    s: &LatencySettings,
    rate: f64,
    stops: Stops,
) -> LoadResult {
    let total = s.measured_requests();
    let mut out = LoadResult {
        service: Some(Distribution::new()),
        target_rps: Some(rate),
        model_text: format!(
            "open model, {rate}/s for {}, at most {} in flight, latency from the scheduled send",
            crate::util::human_duration(s.duration),
            s.concurrency
        ),
        ..LoadResult::default()
    };
    let in_flight = Arc::new(Semaphore::new(s.concurrency as usize));
    let mut tasks: JoinSet<Sample> = JoinSet::new();
    let start = Instant::now();
    let mut stopped = false;

    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        if due >= stops.stop_at || ctx.cancel.is_cancelled() || stopped {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            _ = ctx.cancel.cancelled() => break,
        }
        // Waiting for a free slot delays the send, never the due time.
        let permit = tokio::select! {
            p = in_flight.clone().acquire_owned() => p,
            _ = ctx.cancel.cancelled() => break,
        };
        let Ok(permit) = permit else { break };
        let lane = lane.clone();
        let pool = pool.clone();
        tasks.spawn(async move {
            let mut conn = take(&pool);
            let result = lane.send(&mut conn, stops.hard_stop).await;
            let done = Instant::now();
            let sent = result.as_ref().map_or(done, |a| a.sent_at);
            give_back(&pool, conn);
            drop(permit);
            Sample {
                latency: done - due,
                service: done - sent,
                error: failure(&result),
                budget_spent: matches!(result, Err(NetError::Budget)),
            }
        });
        while let Some(joined) = tasks.try_join_next() {
            if let Ok(sample) = joined {
                stopped |= absorb(&mut out, sample, true);
            }
        }
    }
    // Requests in flight finish (each bounded by its timeout) unless the
    // check is cancelled: then they are dropped at once.
    let mut aborted = false;
    loop {
        let joined = if aborted {
            tasks.join_next().await
        } else {
            tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => {
                    tasks.abort_all();
                    aborted = true;
                    continue;
                }
                j = tasks.join_next() => j,
            }
        };
        let Some(joined) = joined else { break };
        if let Ok(sample) = joined {
            absorb(&mut out, sample, true);
        }
    }
    out.achieved_rps = rate_of(out.sent, start.elapsed());
    out
}

async fn closed(
    ctx: &Context,
    lane: Arc<LoadLane>,
    pool: Pool,
    s: &LatencySettings,
    requests: u64,
    stops: Stops,
) -> LoadResult {
    let start = Instant::now();
    let end = (start + s.duration).min(stops.stop_at);
    let left = Arc::new(std::sync::atomic::AtomicU64::new(requests));
    let mut workers = JoinSet::new();
    for _ in 0..s.concurrency {
        let lane = lane.clone();
        let mut conn = take(&pool);
        let left = left.clone();
        let cancel = ctx.cancel.clone();
        workers.spawn(async move {
            // Each worker keeps its own histogram and connection.
            let mut mine = LoadResult::default();
            let work = async {
                loop {
                    let claimed = left.fetch_update(
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                        |n| n.checked_sub(1),
                    );
                    if claimed.is_err() || Instant::now() >= end {
                        break;
                    }
                    let result = lane.send(&mut conn, stops.hard_stop).await;
                    // From the request's actual send: the closed model measures
                    // the server, not the rate cap's wait in front of it.
                    let done = Instant::now();
                    let took = result.as_ref().map_or(Duration::ZERO, |a| done - a.sent_at);
                    let sample = Sample {
                        latency: took,
                        service: took,
                        error: failure(&result),
                        budget_spent: matches!(result, Err(NetError::Budget | NetError::Cancelled)),
                    };
                    if absorb(&mut mine, sample, false) {
                        break;
                    }
                }
            };
            // Cancellation drops the request in flight; what was measured stays.
            tokio::select! {
                biased;
                _ = cancel.cancelled() => {}
                _ = work => {}
            }
            mine
        });
    }
    let mut out = LoadResult {
        model_text: format!(
            "closed model, {} workers for {} (at most {requests} requests), latency from \
             each send",
            s.concurrency,
            crate::util::human_duration(s.duration)
        ),
        ..LoadResult::default()
    };
    while let Some(joined) = workers.join_next().await {
        if let Ok(mine) = joined {
            out.latency.merge(&mine.latency);
            out.sent += mine.sent;
            out.errors += mine.errors;
            if out.first_error.is_none() {
                out.first_error = mine.first_error;
            }
        }
    }
    out.achieved_rps = rate_of(out.sent, start.elapsed());
    out
}

fn rate_of(n: u64, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs <= 0.0 { 0.0 } else { n as f64 / secs }
}
