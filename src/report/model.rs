//! The scorecard model: findings, subject rows, check rows and run figures.
//!
//! This is the contract between checks and renderers (DESIGN.md). Checks
//! produce [`SubjectRow`]s; the runner wraps them into [`CheckResult`]s; the
//! renderers read a finished [`Scorecard`] and never decide pass or fail.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Version of the JSON output; bump on any incompatible change of the shape.
pub const SCHEMA_VERSION: &str = "1.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a finding fails its subject or only warns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Warn,
    Fail,
}

/// The verdict of a subject row or a check row. Ordered from best to worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Skip,
    Warn,
    Error,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Skip => "skip",
            Verdict::Warn => "warn",
            Verdict::Error => "error",
            Verdict::Fail => "fail",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found on one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable code, `<check>.<kebab-name>`, e.g. `https.hsts-missing`.
    pub code: String,
    pub severity: Severity,
    pub outcome: Outcome,
    /// What it is about: host, endpoint, domain, file or identity pair.
    pub subject: String,
    /// One line a person reads first.
    pub title: String,
    /// Where exactly: a URL, header name, file:line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// What was seen (redacted before output).
    pub evidence: String,
    /// What to do about it, in one or two sentences.
    pub fix: String,
}

/// One check on one subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubjectRow {
    pub subject: String,
    pub verdict: Verdict,
    /// Why the verdict is skip or error; a short summary otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub findings: Vec<Finding>,
    /// Facts measured on the way (TLS version, days to expiry, latencies).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub measurements: serde_json::Map<String, serde_json::Value>,
}

impl SubjectRow {
    /// A row judged from its findings: any `fail` finding fails it; any `warn`
    /// finding above info warns it; info findings are listed but neutral.
    pub fn judged(subject: impl Into<String>, findings: Vec<Finding>) -> SubjectRow {
        let verdict = verdict_of(&findings);
        SubjectRow {
            subject: subject.into(),
            verdict,
            reason: None,
            findings,
            measurements: serde_json::Map::new(),
        }
    }

    pub fn skip(subject: impl Into<String>, reason: impl Into<String>) -> SubjectRow {
        Self::bare(subject, Verdict::Skip, reason)
    }

    pub fn error(subject: impl Into<String>, reason: impl Into<String>) -> SubjectRow {
        Self::bare(subject, Verdict::Error, reason)
    }

    fn bare(subject: impl Into<String>, verdict: Verdict, reason: impl Into<String>) -> SubjectRow {
        SubjectRow {
            subject: subject.into(),
            verdict,
            reason: Some(reason.into()),
            findings: Vec::new(),
            measurements: serde_json::Map::new(),
        }
    }

    /// Records a measurement (builder style).
    pub fn measure(mut self, key: &str, value: impl Into<serde_json::Value>) -> SubjectRow {
        self.measurements.insert(key.to_string(), value.into());
        self
    }
}

/// The verdict a list of findings gives.
pub fn verdict_of(findings: &[Finding]) -> Verdict {
    if findings.iter().any(|f| f.outcome == Outcome::Fail) {
        Verdict::Fail
    } else if findings
        .iter()
        .any(|f| f.outcome == Outcome::Warn && f.severity > Severity::Info)
    {
        Verdict::Warn
    } else {
        Verdict::Pass
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Passive,
    Access,
    Active,
    Load,
}

impl Class {
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Passive => "passive",
            Class::Access => "access",
            Class::Active => "active",
            Class::Load => "load",
        }
    }
}

/// A check's row: the worst of its subject rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub class: Class,
    pub verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub duration_ms: u64,
    pub requests: u64,
    pub subjects: Vec<SubjectRow>,
}

impl CheckResult {
    pub fn new(
        id: &str,
        title: &str,
        class: Class,
        subjects: Vec<SubjectRow>,
        duration_ms: u64,
        requests: u64,
    ) -> CheckResult {
        let (verdict, reason) = if subjects.is_empty() {
            (
                Verdict::Error,
                Some("the check produced no subject rows".to_string()),
            )
        } else {
            (
                subjects
                    .iter()
                    .map(|s| s.verdict)
                    .max()
                    .unwrap_or(Verdict::Error),
                None,
            )
        };
        CheckResult {
            id: id.to_string(),
            title: title.to_string(),
            class,
            verdict,
            reason,
            duration_ms,
            requests,
            subjects,
        }
    }
}

/// Counts and figures of the whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunFigures {
    pub requests_sent: u64,
    pub requests_refused: u64,
    pub peak_rps: u64,
    pub duration_ms: u64,
    pub max_requests: u64,
    pub suppressed_findings: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    pub interrupted: bool,
    /// The `--fail-on` threshold the exit code was computed with.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fail_on: Option<Severity>,
    /// The exit code of the run that produced this scorecard.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    pub schema_version: String,
    pub tool: String,
    pub target: String,
    pub base_url: String,
    pub started_at: String,
    pub verdict: Verdict,
    pub checks: Vec<CheckResult>,
    pub run: RunFigures,
}

impl Scorecard {
    /// Every finding with its check id, in output order.
    pub fn findings(&self) -> impl Iterator<Item = (&CheckResult, &Finding)> {
        self.checks.iter().flat_map(|c| {
            c.subjects
                .iter()
                .flat_map(move |s| s.findings.iter().map(move |f| (c, f)))
        })
    }

    /// Whether a `fail` finding at or above `threshold` exists (exit code 1).
    pub fn fails_at(&self, threshold: Severity) -> bool {
        self.findings()
            .any(|(_, f)| f.outcome == Outcome::Fail && f.severity >= threshold)
    }

    pub fn has_error(&self) -> bool {
        self.checks.iter().any(|c| {
            c.verdict == Verdict::Error || c.subjects.iter().any(|s| s.verdict == Verdict::Error)
        })
    }
}

impl Finding {
    /// Starts a finding; add evidence, fix and location with the builders.
    pub fn new(
        code: &str,
        severity: Severity,
        outcome: Outcome,
        subject: &str,
        title: impl Into<String>,
    ) -> Finding {
        Finding {
            code: code.to_string(),
            severity,
            outcome,
            subject: subject.to_string(),
            title: title.into(),
            location: None,
            evidence: String::new(),
            fix: String::new(),
        }
    }

    pub fn evidence(mut self, evidence: impl Into<String>) -> Finding {
        self.evidence = evidence.into();
        self
    }

    pub fn fix(mut self, fix: impl Into<String>) -> Finding {
        self.fix = fix.into();
        self
    }

    pub fn at(mut self, location: impl Into<String>) -> Finding {
        self.location = Some(location.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(outcome: Outcome, severity: Severity) -> Finding {
        Finding {
            code: "x.y".into(),
            severity,
            outcome,
            subject: "s".into(),
            title: "t".into(),
            location: None,
            evidence: String::new(),
            fix: String::new(),
        }
    }

    #[test]
    fn subject_verdicts() {
        assert_eq!(verdict_of(&[]), Verdict::Pass);
        assert_eq!(
            verdict_of(&[finding(Outcome::Warn, Severity::Info)]),
            Verdict::Pass
        );
        assert_eq!(
            verdict_of(&[finding(Outcome::Warn, Severity::Low)]),
            Verdict::Warn
        );
        assert_eq!(
            verdict_of(&[
                finding(Outcome::Warn, Severity::High),
                finding(Outcome::Fail, Severity::Low)
            ]),
            Verdict::Fail
        );
    }

    #[test]
    fn check_row_is_worst_subject_and_empty_is_error() {
        let rows = vec![
            SubjectRow::judged("a", vec![]),
            SubjectRow::error("b", "boom"),
        ];
        assert_eq!(
            CheckResult::new("c", "C", Class::Passive, rows, 0, 0).verdict,
            Verdict::Error
        );
        assert_eq!(
            CheckResult::new("c", "C", Class::Passive, vec![], 0, 0).verdict,
            Verdict::Error
        );
    }
}
