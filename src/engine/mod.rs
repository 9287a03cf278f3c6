//! The engine: the `Check` trait, the registry and the phased runner.
//!
//! A check knows nothing of other checks. It declares its metadata and a plan
//! (what it will send, shown by `--dry-run`), then runs with a [`Context`] and
//! returns subject rows. The runner reserves each check's budget from its
//! plan, runs the phases in order (passive, access, active, load) with the
//! checks of a phase concurrently, and turns panics and overruns into `error`
//! rows so the others finish.

pub mod registry;
pub mod runner;

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::net::CheckNet;
use crate::profile::Profile;
use crate::report::model::{Class, SubjectRow};

/// What a check is and what it verifies, for `readiness checks` and reports.
#[derive(Debug, Clone, Serialize)]
pub struct CheckMeta {
    pub id: &'static str,
    pub title: &'static str,
    pub verifies: &'static str,
    pub criterion: &'static str,
    pub class: Class,
    /// Sends only reads (GET/HEAD, handshakes, DNS): safe for `watch`.
    pub read_only: bool,
}

/// One line of a plan: requests of one kind against one subject.
#[derive(Debug, Clone, Serialize)]
pub struct PlanStep {
    pub subject: String,
    pub what: String,
    pub requests: u64,
    /// Mutating requests (POST/PUT/PATCH/DELETE with side effects).
    pub writes: bool,
}

/// What a check will do, before it does it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub steps: Vec<PlanStep>,
    /// When set, the check will not run, for this reason (not configured...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip: Option<String>,
}

impl Plan {
    pub fn skip(reason: impl Into<String>) -> Plan {
        Plan {
            steps: Vec::new(),
            skip: Some(reason.into()),
        }
    }

    pub fn step(mut self, subject: &str, what: &str, requests: u64, writes: bool) -> Plan {
        self.steps.push(PlanStep {
            subject: subject.to_string(),
            what: what.to_string(),
            requests,
            writes,
        });
        self
    }

    /// Requests this plan reserves from the budget.
    pub fn requests(&self) -> u64 {
        self.steps.iter().map(|s| s.requests).sum()
    }
}

/// Everything a running check may use.
#[derive(Clone)]
pub struct Context {
    pub profile: Arc<Profile>,
    pub net: CheckNet,
    pub deadline: Instant,
    pub cancel: CancellationToken,
}

/// A check of the checklist.
#[async_trait]
pub trait Check: Send + Sync {
    fn meta(&self) -> CheckMeta;

    /// Every finding code this check can emit (stable; a test keeps them unique).
    fn codes(&self) -> &'static [&'static str] {
        &[]
    }

    /// What the check will send for this profile; pure (sends nothing).
    fn plan(&self, profile: &Profile) -> Plan;

    /// Runs the check; never panics on target behaviour, returns at least one row.
    async fn run(&self, ctx: Context) -> Vec<SubjectRow>;
}
