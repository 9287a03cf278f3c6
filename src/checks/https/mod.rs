//! The `https` check: HTTP to HTTPS transport, TLS, HSTS, cookies and headers.
//!
//! This folder holds the pure analysis layer: functions over header strings,
//! HTML text and certificate data that return structured results with a
//! human-readable reason. The fetching lives in the check itself (and in
//! `net/`), so everything here is testable without a network.

use std::fmt;

pub mod cookie;
pub mod headers;
pub mod hsts;
pub mod html;
pub mod mixed;
pub mod names;

/// How an observation weighs before the check maps it to a report severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// The property holds.
    Pass,
    /// Worth knowing, not a weakness by itself.
    Info,
    /// A weakness that does not defeat the protection.
    Warn,
    /// The protection is missing, invalid or defeated.
    Fail,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            Level::Pass => "pass",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Fail => "fail",
        };
        f.write_str(text)
    }
}

/// One judged observation: a level, a stable code and the reason as evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// How much it weighs.
    pub level: Level,
    /// Stable short code, unique within its module (for example `csp-unsafe-inline`).
    pub code: &'static str,
    /// Human-readable reason; it becomes evidence in the report.
    pub reason: String,
}

impl Observation {
    /// Builds an observation.
    pub fn new(level: Level, code: &'static str, reason: impl Into<String>) -> Self {
        Self {
            level,
            code,
            reason: reason.into(),
        }
    }
}

/// The worst level among observations (`Pass` when there are none).
pub fn worst(observations: &[Observation]) -> Level {
    observations
        .iter()
        .map(|o| o.level)
        .max()
        .unwrap_or(Level::Pass)
}

/// All values of one header, in the order received.
///
/// `headers` holds names (expected lowercase, compared case-insensitively)
/// and values as received.
pub fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}
