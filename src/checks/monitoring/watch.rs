//! `readiness watch`: runs the fast read-only checks on an interval, within
//! a per-cycle request budget, and posts a redacted JSON alert to the
//! profile's webhook when a (check, subject) turns failing and again when it
//! recovers. State lives in memory only; the first cycle sets the baseline.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::app::{EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};
use crate::cli::WatchArgs;
use crate::engine::registry;
use crate::engine::runner::{self, Selection};
use crate::net::Net;
use crate::net::journal::Journal;
use crate::net::webhook::Webhook;
use crate::profile;
use crate::redact::Redactor;
use crate::report::model::{Class, Scorecard, SubjectRow, Verdict};
use crate::util::parse_duration;

/// A change worth telling someone about.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `failing` or `recovered`.
    pub event: &'static str,
    pub check: String,
    pub subject: String,
    pub previous: Verdict,
    pub verdict: Verdict,
    pub findings: Vec<serde_json::Value>,
    pub reason: Option<String>,
}

impl Alert {
    pub fn payload(&self, target: &str, cycle: u64) -> serde_json::Value {
        json!({
            "event": self.event,
            "target": target,
            "check": self.check,
            "subject": self.subject,
            "previous": self.previous,
            "verdict": self.verdict,
            "findings": self.findings,
            "reason": self.reason,
            "cycle": cycle,
            "at": now_rfc3339(),
        })
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn degraded(v: Verdict) -> bool {
    matches!(v, Verdict::Fail | Verdict::Error)
}

/// The last verdict of every (check, subject) seen.
#[derive(Debug, Default)]
pub struct Tracker {
    state: BTreeMap<(String, String), Verdict>,
}

impl Tracker {
    /// Records a cycle's scorecard and returns the changes since the last one.
    pub fn observe(&mut self, card: &Scorecard) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for check in &card.checks {
            for row in &check.subjects {
                let key = (check.id.clone(), row.subject.clone());
                let previous = self.state.insert(key, row.verdict);
                let Some(previous) = previous else { continue };
                let event = match (degraded(previous), degraded(row.verdict)) {
                    (false, true) => "failing",
                    (true, false) => "recovered",
                    _ => continue,
                };
                alerts.push(alert(event, &check.id, row, previous));
            }
        }
        alerts
    }

    pub fn failing(&self) -> usize {
        self.state.values().filter(|v| degraded(**v)).count()
    }
}

fn alert(event: &'static str, check: &str, row: &SubjectRow, previous: Verdict) -> Alert {
    Alert {
        event,
        check: check.to_string(),
        subject: row.subject.clone(),
        previous,
        verdict: row.verdict,
        findings: row
            .findings
            .iter()
            .map(|f| json!({"code": f.code, "severity": f.severity, "title": f.title}))
            .collect(),
        reason: row.reason.clone(),
    }
}

/// Which checks `watch` runs: passive, read-only, narrowed by --only/--skip.
pub fn watched(only: &[String], skip: &[String]) -> Result<Vec<String>, String> {
    let known = registry::ids();
    for id in only.iter().chain(skip) {
        if !known.contains(&id.as_str()) {
            return Err(format!(
                "unknown check id `{id}`; known ids: {}",
                known.join(", ")
            ));
        }
    }
    let ids: Vec<String> = registry::all()
        .iter()
        .map(|c| c.meta())
        .filter(|m| m.read_only && m.class == Class::Passive)
        .map(|m| m.id.to_string())
        .filter(|id| (only.is_empty() || only.contains(id)) && !skip.contains(id))
        .collect();
    if ids.is_empty() {
        return Err("no fast read-only check is selected; check --only/--skip".into());
    }
    Ok(ids)
}

fn say(line: &str, redactor: &Redactor) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", redactor.redact(line));
    let _ = out.flush();
}

/// The `watch` command.
pub async fn command(args: WatchArgs, redactor: Redactor) -> i32 {
    let every = match parse_duration(&args.every) {
        Ok(d) if d >= Duration::from_secs(1) => d,
        Ok(_) => {
            eprintln!("error: --every must be at least 1s");
            return EXIT_USAGE;
        }
        Err(e) => {
            eprintln!("error: --every: {e}");
            return EXIT_USAGE;
        }
    };
    let o = &args.output;
    if !o.formats.is_empty()
        || o.dry_run
        || o.fail_on_error
        || o.fail_on != crate::cli::FailOn::High
    {
        eprintln!(
            "error: watch prints state changes and posts alerts; --format, --fail-on, \
             --fail-on-error and --dry-run belong to `readiness audit`"
        );
        return EXIT_USAGE;
    }
    let mut profile = match profile::load(&args.profile, &redactor) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let ids = match watched(&args.output.only, &args.output.skip) {
        Ok(ids) => ids,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let budget = profile
        .monitoring
        .watch_max_requests
        .min(profile.target.max_requests);
    profile.target.max_requests = budget;
    let profile = Arc::new(profile);
    let journal = Arc::new(Journal::new(Instant::now()));
    let webhook = match &profile.monitoring.webhook {
        None => None,
        Some(url) => match Webhook::new(
            url,
            profile.target.ca_file.as_deref(),
            redactor.clone(),
            journal.clone(),
        ) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("error: {}", redactor.redact(&e));
                return EXIT_USAGE;
            }
        },
    };
    if webhook.is_none() {
        eprintln!(
            "note: no [checks.monitoring] webhook in the profile; alerts are printed here only"
        );
    }
    let selection = Selection {
        only: ids.clone(),
        skip: Vec::new(),
    };
    say(
        &format!(
            "watching `{}`: {} every {} s, at most {budget} requests per cycle",
            profile.target.name,
            ids.join(", "),
            every.as_secs()
        ),
        &redactor,
    );

    let interrupt = CancellationToken::new();
    {
        let interrupt = interrupt.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupt.cancel();
            }
        });
    }
    let mut tracker = Tracker::default();
    let mut cycle: u64 = 0;
    loop {
        cycle += 1;
        let started = Instant::now();
        let net = match Net::new(&profile, redactor.clone(), started) {
            Ok(n) => n,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        };
        let card = runner::run(
            profile.clone(),
            net,
            registry::all(),
            &selection,
            interrupt.child_token(),
            now_rfc3339(),
        )
        .await;
        if interrupt.is_cancelled() {
            break;
        }
        let alerts = tracker.observe(&card);
        say(
            &format!(
                "cycle {cycle}: {} requests, {} failing subjects, {} alerts",
                card.run.requests_sent,
                tracker.failing(),
                alerts.len()
            ),
            &redactor,
        );
        for a in &alerts {
            let payload = a.payload(&profile.target.name, cycle);
            say(&format!("alert: {payload}"), &redactor);
            if let Some(w) = &webhook
                && let Err(e) = w.post(&payload).await
            {
                eprintln!("warning: the webhook post failed: {e}");
            }
        }
        if args.cycles.is_some_and(|n| cycle >= n) {
            break;
        }
        let next = started + every;
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = interrupt.cancelled() => break,
        }
    }
    if let Some(p) = &args.output.journal
        && let Err(e) = std::fs::write(p, journal.to_jsonl(&redactor))
    {
        eprintln!("error: cannot write the journal {}: {e}", p.display());
        return EXIT_USAGE;
    }
    if interrupt.is_cancelled() {
        EXIT_INTERRUPTED
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::{CheckResult, RunFigures};

    fn card(verdict: Verdict) -> Scorecard {
        let mut row = SubjectRow::judged("https://a.test/health", vec![]);
        row.verdict = verdict;
        Scorecard {
            schema_version: "1".into(),
            tool: "t".into(),
            target: "t".into(),
            base_url: "https://a.test/".into(),
            started_at: String::new(),
            verdict,
            checks: vec![CheckResult::new(
                "monitoring",
                "M",
                Class::Passive,
                vec![row],
                0,
                0,
            )],
            run: RunFigures::default(),
        }
    }

    #[test]
    fn alerts_on_change_and_recovery_only() {
        let mut t = Tracker::default();
        assert!(
            t.observe(&card(Verdict::Fail)).is_empty(),
            "first cycle is the baseline"
        );
        assert!(t.observe(&card(Verdict::Fail)).is_empty());
        let a = t.observe(&card(Verdict::Pass));
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].event, "recovered");
        assert!(
            t.observe(&card(Verdict::Warn)).is_empty(),
            "warn is not failing"
        );
        let a = t.observe(&card(Verdict::Error));
        assert_eq!((a.len(), a[0].event), (1, "failing"));
    }

    #[test]
    fn only_passive_read_only_checks_are_watched() {
        let ids = watched(&[], &[]).unwrap();
        assert!(ids.contains(&"monitoring".to_string()));
        assert!(watched(&["nope".into()], &[]).is_err());
        assert_eq!(
            watched(&["edge".into()], &[]).unwrap(),
            vec!["edge".to_string()]
        );
    }
}
