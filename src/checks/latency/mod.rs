//! The `latency` check: p95 of each configured endpoint under a bounded load
//! stays within its budget, and failed requests stay under their own rate.
//!
//! The default load is an open model: request i is due at `start + i/rate`
//! whether or not earlier ones have answered, and its latency is counted from
//! that due time. A server that stalls therefore cannot hide its tail behind
//! requests the load generator never got round to sending (coordinated
//! omission). A closed model (fixed concurrency) is available too. All load
//! goes through the shared client, so scope, budget and `max_rps` hold.

pub mod config;
pub mod load;
pub mod stats;

use async_trait::async_trait;
use serde_json::json;

use crate::checks::active::{
    NoCredential, build_request_with, credential_for, join, params_for, with_login_step,
};
use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::HttpRequest;
use crate::profile::Profile;
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};
use config::{LatencyTarget, LoadModel};
use load::LoadResult;
use stats::round3;

pub struct LatencyCheck;

#[async_trait]
impl Check for LatencyCheck {
    fn codes(&self) -> &'static [&'static str] {
        &[
            "latency.error-rate",
            "latency.no-samples",
            "latency.p95-over-budget",
        ]
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "latency",
            title: "Latency under load",
            verifies: "each configured endpoint answers fast enough under a bounded load",
            criterion: "p95 (nearest rank, from the scheduled send time) within the budget \
                        (500 ms by default) and failed requests at most 1 %; no samples fails",
            class: Class::Load,
            read_only: false,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let s = &profile.latency;
        if !s.enabled {
            return Plan::skip("disabled in the profile ([checks.latency] enabled = false)");
        }
        if s.targets.is_empty() {
            return Plan::skip("no endpoints configured ([checks.latency] endpoints)");
        }
        let what = match s.model {
            LoadModel::Open { rate } => format!(
                "{} warm-up, then {rate}/s for {} (open model, at most {} in flight)",
                s.warmup,
                crate::util::human_duration(s.duration),
                s.concurrency
            ),
            LoadModel::Closed { requests } => format!(
                "{} warm-up, then {} workers for {} (at most {requests} requests)",
                s.warmup,
                s.concurrency,
                crate::util::human_duration(s.duration)
            ),
        };
        let mut plan = Plan::default();
        let endpoints = s.targets.iter().filter_map(|t| endpoint_of(profile, t));
        plan = with_login_step(plan, profile, endpoints);
        for t in &s.targets {
            let writes = endpoint_of(profile, t).is_some_and(|e| e.writes);
            plan = plan.step(t.subject(), &what, s.warmup + s.measured_requests(), writes);
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let mut rows = Vec::new();
        // One endpoint at a time, so loads do not disturb each other's figures.
        for target in ctx.profile.latency.targets.clone() {
            rows.push(measure_target(&ctx, &target).await);
        }
        rows
    }
}

fn endpoint_of<'a>(
    profile: &'a Profile,
    target: &LatencyTarget,
) -> Option<&'a crate::profile::access::Endpoint> {
    match target {
        LatencyTarget::Endpoint(name) => profile.endpoints.iter().find(|e| &e.name == name),
        LatencyTarget::Path(_) => None,
    }
}

/// The request one target sends, or the row saying why it cannot be sent
/// (a `skip` when the profile does not allow it, an `error` when the
/// identity's login failed).
async fn request_for(ctx: &Context, target: &LatencyTarget) -> Result<HttpRequest, SubjectRow> {
    let profile = &ctx.profile;
    let subject = target.subject();
    match target {
        LatencyTarget::Path(path) => join(&profile.target.base_url, path)
            .map(HttpRequest::get)
            .map_err(|reason| SubjectRow::skip(subject, reason)),
        LatencyTarget::Endpoint(name) => {
            let Some(e) = profile.endpoints.iter().find(|e| &e.name == name) else {
                let reason = format!("no [[endpoint]] is named `{name}`");
                return Err(SubjectRow::skip(subject, reason));
            };
            if e.writes && !profile.target.allow_writes {
                let reason = format!(
                    "endpoint `{name}` writes; loading it needs [target] allow_writes = true"
                );
                return Err(SubjectRow::skip(subject, reason));
            }
            let credential = credential_for(&ctx.net, profile, e)
                .await
                .map_err(|no: NoCredential| no.row(subject))?;
            build_request_with(
                profile,
                e,
                &params_for(profile, e),
                None,
                None,
                credential.as_ref(),
            )
            .map_err(|reason| SubjectRow::skip(subject, reason))
        }
    }
}

async fn measure_target(ctx: &Context, target: &LatencyTarget) -> SubjectRow {
    let subject = target.subject().to_string();
    let req = match request_for(ctx, target).await {
        Ok(r) => r,
        Err(row) => return row,
    };
    let settings = ctx.profile.latency.clone();
    let result = load::run(ctx, &req, &settings).await;
    judge(&subject, &req, &settings, &result)
}

/// Turns a load result into a row: gates, measurements and the summary line.
pub fn judge(
    subject: &str,
    req: &HttpRequest,
    s: &config::LatencySettings,
    r: &LoadResult,
) -> SubjectRow {
    let budget_ms = s.p95_budget.as_secs_f64() * 1000.0;
    let location = format!("{} {}", req.method, req.url);
    let mut findings = Vec::new();
    let samples = r.latency.samples();
    let p95 = r.latency.quantile_ms(0.95);

    match p95 {
        None => findings.push(
            Finding::new(
                "latency.no-samples",
                Severity::Medium,
                Outcome::Fail,
                subject,
                "no successful request was measured, so the p95 gate cannot pass",
            )
            .at(&location)
            .evidence(format!(
                "{} requests sent, {} failed{}",
                r.sent,
                r.errors,
                r.first_error
                    .as_ref()
                    .map(|e| format!("; first failure: {e}"))
                    .unwrap_or_default()
            ))
            .fix("Make the endpoint answer with a 2xx/3xx to the profile's request, then rerun."),
        ),
        Some(p95) if p95 > budget_ms => findings.push(
            Finding::new(
                "latency.p95-over-budget",
                Severity::Medium,
                Outcome::Fail,
                subject,
                format!("p95 latency {p95:.0} ms is over the {budget_ms:.0} ms budget"),
            )
            .at(&location)
            .evidence(format!(
                "p50 {:.1} ms, p95 {p95:.1} ms, p99 {:.1} ms, max {:.1} ms over {samples} samples \
                 ({})",
                r.latency.quantile_ms(0.5).unwrap_or(0.0),
                r.latency.quantile_ms(0.99).unwrap_or(0.0),
                r.latency.max_ms().unwrap_or(0.0),
                r.model_text
            ))
            .fix(
                "Profile the slow requests (the tail, not the average): slow queries, lock \
                 waits, cold caches or a saturated worker pool.",
            ),
        ),
        Some(_) => {}
    }
    let error_rate = if r.sent == 0 {
        0.0
    } else {
        r.errors as f64 / r.sent as f64
    };
    if r.errors > 0 && error_rate > s.max_error_rate && samples > 0 {
        findings.push(
            Finding::new(
                "latency.error-rate",
                Severity::Medium,
                Outcome::Fail,
                subject,
                format!(
                    "{:.1} % of requests failed under load (at most {:.1} % allowed)",
                    error_rate * 100.0,
                    s.max_error_rate * 100.0
                ),
            )
            .at(&location)
            .evidence(format!(
                "{} of {} failed{}",
                r.errors,
                r.sent,
                r.first_error
                    .as_ref()
                    .map(|e| format!("; first failure: {e}"))
                    .unwrap_or_default()
            ))
            .fix("Find what fails under this load (5xx, timeouts, resets) in the server logs."),
        );
    }

    let mut row = SubjectRow::judged(subject, findings);
    let ms = |q: f64| r.latency.quantile_ms(q).map(round3);
    row.reason = Some(match p95 {
        None => format!("no samples ({} sent, {} failed)", r.sent, r.errors),
        Some(p95) => format!(
            "p95 {p95:.0} ms (budget {budget_ms:.0}), p50 {:.0}, p99 {:.0}, max {:.0}; \
             {:.1} % errors; {:.1}/s; {}",
            r.latency.quantile_ms(0.5).unwrap_or(0.0),
            r.latency.quantile_ms(0.99).unwrap_or(0.0),
            r.latency.max_ms().unwrap_or(0.0),
            error_rate * 100.0,
            r.achieved_rps,
            r.latency.compact()
        ),
    });
    row = row
        .measure("model", r.model_text.clone())
        .measure("sent", r.sent)
        .measure("samples", samples)
        .measure("errors", r.errors)
        .measure("error_rate", round3(error_rate))
        .measure("achieved_rps", round3(r.achieved_rps))
        .measure("p50_ms", json!(ms(0.5)))
        .measure("p95_ms", json!(ms(0.95)))
        .measure("p99_ms", json!(ms(0.99)))
        .measure("max_ms", json!(r.latency.max_ms().map(round3)))
        .measure("p95_budget_ms", round3(budget_ms))
        .measure("histogram", r.latency.compact())
        .measure("distribution", r.latency.to_json());
    if let Some(target) = r.target_rps {
        row = row.measure("target_rps", round3(target));
    }
    if let Some(service) = &r.service {
        row = row.measure(
            "service_time",
            json!({
                "note": "from the actual send, without the coordinated-omission correction",
                "p50_ms": service.quantile_ms(0.5).map(round3),
                "p95_ms": service.quantile_ms(0.95).map(round3),
                "p99_ms": service.quantile_ms(0.99).map(round3),
                "max_ms": service.max_ms().map(round3),
            }),
        );
    }
    row
}
