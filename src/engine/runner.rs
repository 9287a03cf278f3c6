//! The runner: phases in order, checks of a phase concurrently, each with its
//! budget, deadline and cancellation; panics, overruns and interruptions
//! become `error` rows while the other checks finish.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{Check, Context};
use crate::net::Net;
use crate::profile::Profile;
use crate::report::model::{
    CheckResult, Class, RunFigures, SCHEMA_VERSION, Scorecard, SubjectRow, Verdict,
};

/// The subject measurement a check uses to report findings it suppressed.
pub const SUPPRESSED_KEY: &str = "suppressed";
/// The subject measurement a check uses to report the seed of its randomness.
pub const SEED_KEY: &str = "seed";

/// How long checks get to wind down after Ctrl-C before they are abandoned.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// Which checks to run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Selection {
    pub fn includes(&self, id: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|o| o == id))
            && !self.skip.iter().any(|s| s == id)
    }
}

/// Runs the selected checks and builds the scorecard.
pub async fn run(
    profile: Arc<Profile>,
    net: Arc<Net>,
    checks: Vec<Arc<dyn Check>>,
    selection: &Selection,
    interrupt: CancellationToken,
    started_at: String,
) -> Scorecard {
    let start = net.journal.start();
    let mut results: Vec<(usize, CheckResult)> = Vec::new();
    let selected: Vec<(usize, Arc<dyn Check>)> = checks
        .into_iter()
        .enumerate()
        .filter(|(_, c)| selection.includes(c.meta().id))
        .collect();

    for phase in [Class::Passive, Class::Access, Class::Active, Class::Load] {
        let in_phase: Vec<_> = selected
            .iter()
            .filter(|(_, c)| c.meta().class == phase)
            .collect();
        if in_phase.is_empty() {
            continue;
        }
        tracing::info!(
            phase = phase.as_str(),
            checks = in_phase.len(),
            "starting phase"
        );
        let mut handles = Vec::new();
        for (order, check) in in_phase {
            let meta = check.meta();
            if interrupt.is_cancelled() {
                let row = SubjectRow::error(meta.id, "not run: the audit was interrupted");
                results.push((
                    *order,
                    CheckResult::new(meta.id, meta.title, meta.class, vec![row], 0, 0),
                ));
                continue;
            }
            let plan = check.plan(&profile);
            if let Some(reason) = plan.skip {
                let row = SubjectRow::skip(meta.id, reason);
                results.push((
                    *order,
                    CheckResult::new(meta.id, meta.title, meta.class, vec![row], 0, 0),
                ));
                continue;
            }
            let allowance = match net.budget.reserve(plan.requests()) {
                Ok(a) => a,
                Err(left) => {
                    let row = SubjectRow::error(
                        meta.id,
                        format!(
                            "request budget exhausted: this check plans {} requests but only {left} \
                             of [target] max_requests = {} are left; raise max_requests",
                            plan.requests(),
                            net.budget.max()
                        ),
                    );
                    results.push((
                        *order,
                        CheckResult::new(meta.id, meta.title, meta.class, vec![row], 0, 0),
                    ));
                    continue;
                }
            };
            tracing::info!(
                check = meta.id,
                planned_requests = plan.requests(),
                "starting check"
            );
            let cancel = interrupt.child_token();
            let deadline = Instant::now() + profile.target.check_timeout;
            let ctx = Context {
                profile: profile.clone(),
                net: net.for_check(meta.id, allowance, cancel.clone()),
                deadline,
                cancel: cancel.clone(),
            };
            let used = ctx.net.clone();
            let check = check.clone();
            let timeout = profile.target.check_timeout;
            let began = Instant::now();
            let handle =
                tokio::spawn(async move { tokio::time::timeout(timeout, check.run(ctx)).await });
            handles.push((*order, meta, handle, cancel, used, began));
        }

        for (order, meta, mut handle, cancel, used, began) in handles {
            let joined = tokio::select! {
                j = &mut handle => Some(j),
                _ = interrupt.cancelled() => {
                    cancel.cancel();
                    match tokio::time::timeout(INTERRUPT_GRACE, &mut handle).await {
                        Ok(j) => Some(j),
                        Err(_) => { handle.abort(); None }
                    }
                }
            };
            let rows = match joined {
                Some(Ok(Ok(rows))) if interrupt.is_cancelled() => mark_interrupted(rows),
                Some(Ok(Ok(rows))) => rows,
                Some(Ok(Err(_elapsed))) => {
                    cancel.cancel();
                    vec![SubjectRow::error(
                        meta.id,
                        format!(
                            "the check did not finish within {} s ([target] check_timeout)",
                            profile.target.check_timeout.as_secs()
                        ),
                    )]
                }
                Some(Err(join)) if join.is_panic() => {
                    let msg = panic_message(join.into_panic());
                    tracing::error!(check = meta.id, "check panicked: {msg}");
                    vec![SubjectRow::error(
                        meta.id,
                        format!("the check crashed (panic: {msg}); please report it"),
                    )]
                }
                Some(Err(_)) | None => {
                    vec![SubjectRow::error(
                        meta.id,
                        "not finished: the audit was interrupted",
                    )]
                }
            };
            // The check is over: nothing of it may send any more (this also
            // ends the net layer's watcher of its token).
            cancel.cancel();
            let result = CheckResult::new(
                meta.id,
                meta.title,
                meta.class,
                rows,
                began.elapsed().as_millis() as u64,
                used.requests_used(),
            );
            tracing::info!(
                check = meta.id,
                verdict = result.verdict.as_str(),
                "check finished"
            );
            results.push((order, result));
        }
    }

    results.sort_by_key(|(order, _)| *order);
    let checks: Vec<CheckResult> = results.into_iter().map(|(_, r)| r).collect();
    let verdict = checks
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Skip);
    // Checks report suppressed findings (baseline, inline allow) as a measurement.
    let suppressed_findings = checks
        .iter()
        .flat_map(|c| c.subjects.iter())
        .filter_map(|s| s.measurements.get(SUPPRESSED_KEY).and_then(|v| v.as_u64()))
        .sum();
    let seed = checks
        .iter()
        .flat_map(|c| c.subjects.iter())
        .find_map(|s| s.measurements.get(SEED_KEY).and_then(|v| v.as_u64()));
    Scorecard {
        schema_version: SCHEMA_VERSION.to_string(),
        tool: format!("readiness {}", env!("CARGO_PKG_VERSION")),
        target: profile.target.name.clone(),
        base_url: profile.target.base_url.to_string(),
        started_at,
        verdict,
        checks,
        run: RunFigures {
            requests_sent: net.journal.sent(),
            requests_refused: net.journal.refused(),
            peak_rps: net.journal.peak_rps(),
            duration_ms: start.elapsed().as_millis() as u64,
            max_requests: net.budget.max(),
            suppressed_findings,
            seed,
            interrupted: interrupt.is_cancelled(),
            fail_on: None,
            exit_code: None,
        },
    }
}

/// Rows of a check that returned while being cancelled: partial, so not a pass.
fn mark_interrupted(rows: Vec<SubjectRow>) -> Vec<SubjectRow> {
    rows.into_iter()
        .map(|mut r| {
            if r.verdict == Verdict::Pass {
                r.verdict = Verdict::Error;
                r.reason = Some("interrupted before the check finished".into());
            }
            r
        })
        .collect()
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use async_trait::async_trait;

    use super::*;
    use crate::engine::{CheckMeta, Plan};
    use crate::redact::Redactor;

    struct Fake {
        id: &'static str,
        class: Class,
        behaviour: &'static str,
    }

    #[async_trait]
    impl Check for Fake {
        fn meta(&self) -> CheckMeta {
            CheckMeta {
                id: self.id,
                title: "fake",
                verifies: "",
                criterion: "",
                class: self.class,
                read_only: true,
            }
        }

        fn plan(&self, _: &Profile) -> Plan {
            match self.behaviour {
                "skip" => Plan::skip("not configured"),
                "greedy" => Plan::default().step("x", "too much", 10_000, false),
                _ => Plan::default().step("x", "nothing", 1, false),
            }
        }

        async fn run(&self, _ctx: Context) -> Vec<SubjectRow> {
            match self.behaviour {
                "panic" => panic!("planted panic"),
                "hang" => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    vec![]
                }
                "empty" => vec![],
                _ => vec![SubjectRow::judged("x", vec![])],
            }
        }
    }

    fn profile() -> Arc<Profile> {
        let text = "[target]\nname = \"t\"\nbase_url = \"https://a.test/\"\nscope = [\"a.test\"]\n\
                    check_timeout = \"300ms\"\nmax_requests = 100\n";
        Arc::new(crate::profile::parse(text, Path::new("r.toml"), &Redactor::new()).unwrap())
    }

    #[tokio::test]
    async fn panics_overruns_and_empty_results_become_errors_and_others_finish() {
        let p = profile();
        let net = Net::new(&p, Redactor::new(), Instant::now()).unwrap();
        let checks: Vec<Arc<dyn Check>> = vec![
            Arc::new(Fake {
                id: "a",
                class: Class::Passive,
                behaviour: "panic",
            }),
            Arc::new(Fake {
                id: "b",
                class: Class::Passive,
                behaviour: "hang",
            }),
            Arc::new(Fake {
                id: "c",
                class: Class::Access,
                behaviour: "ok",
            }),
            Arc::new(Fake {
                id: "d",
                class: Class::Load,
                behaviour: "empty",
            }),
            Arc::new(Fake {
                id: "e",
                class: Class::Active,
                behaviour: "skip",
            }),
            Arc::new(Fake {
                id: "f",
                class: Class::Active,
                behaviour: "greedy",
            }),
        ];
        let card = run(
            p,
            net,
            checks,
            &Selection::default(),
            CancellationToken::new(),
            String::new(),
        )
        .await;
        let verdicts: Vec<(&str, Verdict)> = card
            .checks
            .iter()
            .map(|c| (c.id.as_str(), c.verdict))
            .collect();
        assert_eq!(
            verdicts,
            vec![
                ("a", Verdict::Error),
                ("b", Verdict::Error),
                ("c", Verdict::Pass),
                ("d", Verdict::Error),
                ("e", Verdict::Skip),
                ("f", Verdict::Error),
            ]
        );
        assert!(
            card.checks[0].subjects[0]
                .reason
                .as_ref()
                .unwrap()
                .contains("planted panic")
        );
        assert!(
            card.checks[1].subjects[0]
                .reason
                .as_ref()
                .unwrap()
                .contains("check_timeout")
        );
        assert!(
            card.checks[5].subjects[0]
                .reason
                .as_ref()
                .unwrap()
                .contains("max_requests")
        );
    }

    #[tokio::test]
    async fn selection_filters_and_interrupt_marks_the_run() {
        let p = profile();
        let net = Net::new(&p, Redactor::new(), Instant::now()).unwrap();
        let checks: Vec<Arc<dyn Check>> = vec![
            Arc::new(Fake {
                id: "a",
                class: Class::Passive,
                behaviour: "hang",
            }),
            Arc::new(Fake {
                id: "b",
                class: Class::Access,
                behaviour: "ok",
            }),
        ];
        let interrupt = CancellationToken::new();
        let trigger = interrupt.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            trigger.cancel();
        });
        let sel = Selection {
            only: vec![],
            skip: vec![],
        };
        let card = run(p.clone(), net, checks, &sel, interrupt, String::new()).await;
        assert!(card.run.interrupted);
        assert!(card.checks.iter().all(|c| c.verdict == Verdict::Error));

        let net = Net::new(&p, Redactor::new(), Instant::now()).unwrap();
        let checks: Vec<Arc<dyn Check>> = vec![
            Arc::new(Fake {
                id: "a",
                class: Class::Passive,
                behaviour: "ok",
            }),
            Arc::new(Fake {
                id: "b",
                class: Class::Access,
                behaviour: "ok",
            }),
        ];
        let sel = Selection {
            only: vec![],
            skip: vec!["a".into()],
        };
        let card = run(
            p,
            net,
            checks,
            &sel,
            CancellationToken::new(),
            String::new(),
        )
        .await;
        assert_eq!(card.checks.len(), 1);
        assert_eq!(card.checks[0].id, "b");
    }
}
