//! The journal: one redacted line per request, for the run figures and the
//! consultant's evidence log (`--journal PATH`, JSON lines).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;

use crate::redact::Redactor;

/// One request as it was sent (or refused).
#[derive(Debug, Clone, Serialize)]
pub struct JournalEntry {
    pub seq: u64,
    /// Milliseconds since the run started, when the request was sent.
    pub at_ms: u64,
    pub check: Arc<str>,
    /// `http`, `tls` or `tcp`.
    pub kind: &'static str,
    pub method: Arc<str>,
    pub url: Arc<str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub ms: u64,
    pub bytes: u64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    /// Set when the request was refused before sending (scope, budget).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug)]
pub struct Journal {
    start: Instant,
    entries: Mutex<Vec<JournalEntry>>,
}

impl Journal {
    pub fn new(start: Instant) -> Journal {
        Journal {
            start,
            entries: Mutex::new(Vec::new()),
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    pub fn start(&self) -> Instant {
        self.start
    }

    pub fn record(&self, mut entry: JournalEntry) {
        let mut entries = match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        entry.seq = entries.len() as u64 + 1;
        entries.push(entry);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<JournalEntry>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    pub fn entries(&self) -> Vec<JournalEntry> {
        self.lock().clone()
    }

    /// Requests actually sent (refused ones excluded).
    pub fn sent(&self) -> u64 {
        self.lock().iter().filter(|e| e.refused.is_none()).count() as u64
    }

    pub fn refused(&self) -> u64 {
        self.lock().iter().filter(|e| e.refused.is_some()).count() as u64
    }

    /// The most requests started within any one-second window.
    pub fn peak_rps(&self) -> u64 {
        let mut times: Vec<u64> = self
            .lock()
            .iter()
            .filter(|e| e.refused.is_none())
            .map(|e| e.at_ms)
            .collect();
        times.sort_unstable();
        let mut peak = 0;
        let mut lo = 0;
        for hi in 0..times.len() {
            while times[hi] - times[lo] >= 1000 {
                lo += 1;
            }
            peak = peak.max(hi - lo + 1);
        }
        peak as u64
    }

    /// The journal as JSON lines, passed through the redactor.
    pub fn to_jsonl(&self, redactor: &Redactor) -> String {
        let mut out = String::new();
        for e in self.lock().iter() {
            let Ok(mut value) = serde_json::to_value(e) else {
                continue;
            };
            redactor.redact_json(&mut value);
            if let Ok(line) = serde_json::to_string(&value) {
                out.push_str(&redactor.redact(&line));
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(at_ms: u64) -> JournalEntry {
        JournalEntry {
            seq: 0,
            at_ms,
            check: "c".into(),
            kind: "http",
            method: "GET".into(),
            url: "https://a.test/".into(),
            status: Some(200),
            ms: 1,
            bytes: 0,
            truncated: false,
            refused: None,
            error: None,
        }
    }

    #[test]
    fn peak_rps_is_the_densest_second() {
        let j = Journal::new(Instant::now());
        for t in [0, 100, 200, 1500, 1600, 1700, 1800, 2400] {
            j.record(entry(t));
        }
        assert_eq!(j.peak_rps(), 5);
        assert_eq!(j.sent(), 8);
    }
}
