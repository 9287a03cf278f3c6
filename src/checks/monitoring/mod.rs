//! The `monitoring` check: someone must hear within minutes when signup,
//! login or mail breaks.
//!
//! Health endpoints must answer 2xx quickly with a body that says healthy,
//! and must not say ok while a dependency is down (when the profile names a
//! dependency-down probe). The uptime monitors the team declares must cover
//! the required flows, check at least every five minutes and alert someone.

pub mod config;
pub mod watch;

use async_trait::async_trait;
use serde_json::Value;

use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::{HttpRequest, HttpResponse};
use crate::profile::Profile;
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};
use crate::util::human_duration;
use config::{HealthAuth, HealthEndpoint, MonitoringSettings};

pub struct MonitoringCheck;

/// The subject of the declared-monitor row.
pub const MONITORS_SUBJECT: &str = "monitors";

#[async_trait]
impl Check for MonitoringCheck {
    fn codes(&self) -> &'static [&'static str] {
        &[
            "monitoring.flow-unmonitored",
            "monitoring.health-failing",
            "monitoring.health-hides-failure",
            "monitoring.health-slow",
            "monitoring.health-unclear",
            "monitoring.interval-too-long",
            "monitoring.no-alert-route",
        ]
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "monitoring",
            title: "Health endpoints and uptime monitors",
            verifies: "health endpoints answer fast and truthfully; declared monitors cover \
                       signup, login and mail, check often and alert someone",
            criterion: "health: 2xx within max_latency (1 s) saying healthy, not ok while a \
                        dependency is down; monitors: every required flow covered, interval \
                        <= 5 min, an alert route on each",
            class: Class::Passive,
            read_only: true,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let s = &profile.monitoring;
        if !s.enabled {
            return Plan::skip("not configured (add [checks.monitoring] to the profile)");
        }
        let mut plan = Plan::default().step(MONITORS_SUBJECT, "judge declared monitors", 0, false);
        for h in &s.health {
            plan = plan.step(h.url.as_str(), "GET health endpoint", 1, false);
            if h.dependency_down.is_some() {
                plan = plan.step(h.url.as_str(), "GET dependency-down probe", 1, false);
            }
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let s = &ctx.profile.monitoring;
        let mut rows = Vec::new();
        for h in &s.health {
            rows.push(audit_health(&ctx, h, s).await);
        }
        rows.push(judge_monitors(s));
        rows
    }
}

/// What a health body says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Says {
    Healthy,
    Unhealthy,
    Unclear,
}

const HEALTHY: &[&str] = &[
    "ok",
    "healthy",
    "up",
    "pass",
    "passing",
    "green",
    "available",
    "alive",
];
const UNHEALTHY: &[&str] = &[
    "down",
    "fail",
    "failing",
    "error",
    "unhealthy",
    "degraded",
    "red",
    "unavailable",
    "critical",
];

fn word_says(word: &str) -> Says {
    let w = word
        .trim()
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_ascii_lowercase();
    if HEALTHY.contains(&w.as_str()) {
        Says::Healthy
    } else if UNHEALTHY.contains(&w.as_str()) {
        Says::Unhealthy
    } else {
        Says::Unclear
    }
}

/// Reads a health body: JSON `status`/`health`/`state` (or `ok`/`healthy`
/// booleans), or a short plain-text word.
pub fn says(body: &str) -> Says {
    let text = body.trim();
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        let Some(obj) = v.as_object() else {
            return match &v {
                Value::String(s) => word_says(s),
                _ => Says::Unclear,
            };
        };
        for key in ["status", "health", "state", "overall"] {
            if let Some(Value::String(s)) = obj.get(key) {
                return word_says(s);
            }
        }
        for key in ["ok", "healthy", "up"] {
            if let Some(Value::Bool(b)) = obj.get(key) {
                return if *b { Says::Healthy } else { Says::Unhealthy };
            }
        }
        return Says::Unclear;
    }
    if text.len() <= 40 && !text.starts_with('<') {
        let first = text.split_whitespace().next().unwrap_or("");
        return word_says(first);
    }
    Says::Unclear
}

fn request(url: &url::Url, auth: &Option<HealthAuth>) -> HttpRequest {
    let req = HttpRequest::get(url.clone()).header("accept", "application/json, text/plain");
    match auth {
        None => req,
        Some(HealthAuth::Bearer(t)) => {
            req.header("authorization", &format!("Bearer {}", t.expose()))
        }
        Some(HealthAuth::Cookie { name, value }) => {
            req.header("cookie", &format!("{name}={}", value.expose()))
        }
    }
}

fn clip_body(r: &HttpResponse) -> String {
    crate::util::clip(r.text().trim(), 120)
}

async fn audit_health(ctx: &Context, h: &HealthEndpoint, s: &MonitoringSettings) -> SubjectRow {
    let subject = h.url.to_string();
    let mut findings = Vec::new();
    let response = match ctx.net.send(request(&h.url, &h.auth)).await {
        Ok(r) => r,
        Err(e) => {
            let f = Finding::new(
                "monitoring.health-failing",
                Severity::Medium,
                Outcome::Fail,
                &subject,
                "the health endpoint does not answer",
            )
            .at(&subject)
            .evidence(format!("GET {subject}: {e}"))
            .fix("make the health endpoint answer quickly, or fix what keeps it down");
            return SubjectRow::judged(&subject, vec![f]);
        }
    };
    let said = says(&response.text());
    let ok_status = (200..300).contains(&response.status);
    if !ok_status || said == Says::Unhealthy {
        findings.push(
            Finding::new(
                "monitoring.health-failing",
                Severity::Medium,
                Outcome::Fail,
                &subject,
                "the health endpoint reports the service unhealthy",
            )
            .at(&subject)
            .evidence(format!(
                "GET {subject} -> {}: {}",
                response.status,
                clip_body(&response)
            ))
            .fix("find the failing dependency; the endpoint is doing its job"),
        );
    } else if said == Says::Unclear {
        findings.push(
            Finding::new(
                "monitoring.health-unclear",
                Severity::Low,
                Outcome::Warn,
                &subject,
                "the health endpoint's body does not say whether the service is healthy",
            )
            .at(&subject)
            .evidence(format!(
                "GET {subject} -> {}: {}",
                response.status,
                clip_body(&response)
            ))
            .fix("answer {\"status\":\"ok\"} (or \"down\" with the failing dependency)"),
        );
    }
    if response.elapsed > s.max_latency {
        findings.push(
            Finding::new(
                "monitoring.health-slow",
                Severity::Low,
                Outcome::Warn,
                &subject,
                "the health endpoint is slow",
            )
            .at(&subject)
            .evidence(format!(
                "answered in {}, limit {}",
                human_duration(response.elapsed),
                human_duration(s.max_latency)
            ))
            .fix("keep health checks cheap: cache dependency results for a few seconds"),
        );
    }

    if let Some(down) = &h.dependency_down {
        match ctx.net.send(request(down, &h.auth)).await {
            Ok(r) if (200..300).contains(&r.status) && says(&r.text()) == Says::Healthy => {
                findings.push(
                    Finding::new(
                        "monitoring.health-hides-failure",
                        Severity::Medium,
                        Outcome::Fail,
                        &subject,
                        "the health endpoint says ok while a dependency is down",
                    )
                    .at(down.as_str())
                    .evidence(format!(
                        "dependency-down probe GET {down} -> {}: {}",
                        r.status,
                        clip_body(&r)
                    ))
                    .fix(
                        "check the dependencies signup and login need (database, mail) in the \
                         health endpoint and answer 503 when one is down",
                    ),
                );
            }
            Ok(_) => {}
            Err(e) => {
                return SubjectRow::error(
                    &subject,
                    format!("the dependency-down probe {down} did not answer: {e}"),
                );
            }
        }
    }
    SubjectRow::judged(&subject, findings)
        .measure("status", response.status)
        .measure("ms", response.elapsed.as_millis() as u64)
}

/// Judges the declared monitors against the required flows (sends nothing).
pub fn judge_monitors(s: &MonitoringSettings) -> SubjectRow {
    let subject = MONITORS_SUBJECT;
    let mut findings = Vec::new();
    for flow in &s.require_flows {
        if !s
            .monitors
            .iter()
            .any(|m| m.flow.as_deref() == Some(flow.as_str()))
        {
            findings.push(
                Finding::new(
                    "monitoring.flow-unmonitored",
                    Severity::Medium,
                    Outcome::Fail,
                    subject,
                    format!("no uptime monitor watches the {flow} flow"),
                )
                .at(format!("flow {flow}"))
                .evidence(format!(
                    "{} monitors declared; none has flow = \"{flow}\" (declared flows: {})",
                    s.monitors.len(),
                    declared_flows(s)
                ))
                .fix(format!(
                    "add a [[checks.monitoring.monitor]] that exercises {flow} end to end every \
                     few minutes and alerts the on-call route"
                )),
            );
        }
    }
    let slow: Vec<String> = s
        .monitors
        .iter()
        .filter(|m| m.interval > s.max_interval)
        .map(|m| format!("{} every {}", m.name, human_secs(m.interval.as_secs())))
        .collect();
    if !slow.is_empty() {
        findings.push(
            Finding::new(
                "monitoring.interval-too-long",
                Severity::Medium,
                Outcome::Fail,
                subject,
                "monitors check too rarely to catch an outage within minutes",
            )
            .evidence(format!(
                "{} (limit {})",
                slow.join("; "),
                human_secs(s.max_interval.as_secs())
            ))
            .fix("run these monitors at least every 5 minutes"),
        );
    }
    let silent: Vec<&str> = s
        .monitors
        .iter()
        .filter(|m| m.alert.is_empty())
        .map(|m| m.name.as_str())
        .collect();
    if !silent.is_empty() {
        findings.push(
            Finding::new(
                "monitoring.no-alert-route",
                Severity::Medium,
                Outcome::Fail,
                subject,
                "monitors alert nobody",
            )
            .evidence(format!("no alert route: {}", silent.join(", ")))
            .fix("give every monitor an alert route (pager, on-call channel or address)"),
        );
    }
    SubjectRow::judged(subject, findings)
        .measure("monitors", s.monitors.len() as u64)
        .measure("required_flows", s.require_flows.join(","))
}

fn declared_flows(s: &MonitoringSettings) -> String {
    let flows: Vec<&str> = s
        .monitors
        .iter()
        .filter_map(|m| m.flow.as_deref())
        .collect();
    if flows.is_empty() {
        "none".into()
    } else {
        flows.join(", ")
    }
}

fn human_secs(secs: u64) -> String {
    if secs.is_multiple_of(60) && secs >= 60 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::config::Monitor;
    use super::*;
    use std::time::Duration;

    #[test]
    fn health_bodies_are_read() {
        assert_eq!(says("{\"status\":\"ok\"}"), Says::Healthy);
        assert_eq!(says("{\"status\":\"UP\",\"components\":{}}"), Says::Healthy);
        assert_eq!(says("{\"healthy\":true}"), Says::Healthy);
        assert_eq!(says("OK"), Says::Healthy);
        assert_eq!(says("{\"status\":\"down\"}"), Says::Unhealthy);
        assert_eq!(says("{\"ok\":false}"), Says::Unhealthy);
        assert_eq!(says("<!doctype html><html>ok</html>"), Says::Unclear);
        assert_eq!(says("{\"version\":\"1.2\"}"), Says::Unclear);
        assert_eq!(says(""), Says::Unclear);
    }

    fn monitor(name: &str, flow: &str, secs: u64, alert: &[&str]) -> Monitor {
        Monitor {
            name: name.into(),
            target: "https://x/".into(),
            flow: Some(flow.into()),
            interval: Duration::from_secs(secs),
            alert: alert.iter().map(|a| a.to_string()).collect(),
        }
    }

    fn settings(monitors: Vec<Monitor>) -> MonitoringSettings {
        MonitoringSettings {
            enabled: true,
            monitors,
            require_flows: vec!["signup".into(), "login".into(), "mail".into()],
            max_interval: Duration::from_secs(300),
            ..MonitoringSettings::default()
        }
    }

    fn codes(row: &SubjectRow) -> Vec<&str> {
        row.findings.iter().map(|f| f.code.as_str()).collect()
    }

    #[test]
    fn full_coverage_passes_including_the_five_minute_boundary() {
        let row = judge_monitors(&settings(vec![
            monitor("signup", "signup", 60, &["pager:oncall"]),
            monitor("login", "login", 300, &["pager:oncall"]),
            monitor("mail", "mail", 120, &["email:ops@x"]),
        ]));
        assert!(row.findings.is_empty(), "{:?}", row.findings);
        assert_eq!(row.verdict, crate::report::model::Verdict::Pass);
    }

    #[test]
    fn gaps_slow_intervals_and_silent_monitors_fail() {
        let row = judge_monitors(&settings(vec![
            monitor("signup", "signup", 301, &["pager:oncall"]),
            monitor("login", "login", 60, &[]),
        ]));
        assert_eq!(
            codes(&row),
            vec![
                "monitoring.flow-unmonitored",
                "monitoring.interval-too-long",
                "monitoring.no-alert-route"
            ]
        );
        assert!(row.findings[0].title.contains("mail"));
    }
}
