//! The terminal table: one row per check and subject, then each finding with
//! its evidence and fix path, then what the audit may have created (so it
//! can be cleaned up), then the run figures.

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

use super::model::{Outcome, Scorecard, Verdict};
use crate::util::{clip, human_duration};

/// Renders the scorecard as text; `colour` adds ANSI colours to verdicts.
pub fn render(card: &Scorecard, colour: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!("readiness: {} ({})\n", card.target, card.base_url));

    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(110)
        .set_header(vec!["check", "subject", "verdict", "findings / reason"]);
    for check in &card.checks {
        for (i, row) in check.subjects.iter().enumerate() {
            let name = if i == 0 {
                check.id.clone()
            } else {
                String::new()
            };
            let summary = match (&row.reason, row.findings.len()) {
                (Some(reason), 0) => clip(reason, 160),
                (None, 0) => "no findings".to_string(),
                (_, _) => summarise_codes(row),
            };
            table.add_row(vec![
                name,
                row.subject.clone(),
                paint(row.verdict, colour),
                summary,
            ]);
        }
    }
    out.push_str(&table.to_string());
    out.push('\n');

    let findings: Vec<_> = card
        .findings()
        .filter(|(_, f)| f.outcome == Outcome::Fail)
        .collect();
    let warnings: Vec<_> = card
        .findings()
        .filter(|(_, f)| f.outcome == Outcome::Warn)
        .collect();
    for (title, list) in [("Failures", findings), ("Warnings and notes", warnings)] {
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!("\n{title}\n"));
        for (_, f) in list {
            out.push_str(&format!(
                "\n  {} {:<8} {}  [{}]\n    {}\n",
                match f.outcome {
                    Outcome::Fail => "FAIL",
                    Outcome::Warn => "WARN",
                },
                f.severity.as_str(),
                f.code,
                f.subject,
                f.title
            ));
            if let Some(loc) = &f.location {
                out.push_str(&format!("    where:    {loc}\n"));
            }
            if !f.evidence.is_empty() {
                out.push_str(&format!("    evidence: {}\n", clip(&f.evidence, 400)));
            }
            if !f.fix.is_empty() {
                out.push_str(&format!("    fix:      {}\n", f.fix));
            }
        }
    }

    let created = created_objects(card);
    if !created.is_empty() {
        out.push_str("\nCreated during the audit (clean these up)\n");
        for c in &created {
            out.push_str(&format!(
                "\n  {} / {}: {} object{}\n",
                c.check,
                c.subject,
                c.total,
                if c.total == 1 { "" } else { "s" }
            ));
            for line in &c.lines {
                out.push_str(&format!("    {line}\n"));
            }
            if c.total > c.lines.len() {
                out.push_str(&format!(
                    "    and {} more (JSON output: measurements.created)\n",
                    c.total - c.lines.len()
                ));
            }
        }
    }

    let r = &card.run;
    if r.suppressed_findings > 0 {
        out.push_str(&format!(
            "\n{} findings suppressed (baseline or inline readiness:allow).",
            r.suppressed_findings
        ));
    }
    if let Some(seed) = r.seed {
        out.push_str(&format!(
            "\nSeed {seed} (repeat the same probes with [checks.input] seed = {seed})."
        ));
    }
    out.push_str(&format!(
        "\n{} requests sent ({} refused), peak {}/s, {} of budget {}, took {}{}.\nVerdict: {}{}\n",
        r.requests_sent,
        r.requests_refused,
        r.peak_rps,
        r.requests_sent,
        r.max_requests,
        human_duration(std::time::Duration::from_millis(r.duration_ms)),
        if r.interrupted {
            " (interrupted: partial scorecard)"
        } else {
            ""
        },
        paint(card.verdict, colour),
        gate_note(card)
    ));
    out
}

/// Explains the exit code next to the verdict, so a `fail` row with exit 0 is not a surprise.
pub fn gate_note(card: &Scorecard) -> String {
    let (Some(code), Some(fail_on)) = (card.run.exit_code, card.run.fail_on) else {
        return String::new();
    };
    match code {
        0 => format!(" (exit 0: no failing finding at or above {fail_on}, the --fail-on level)"),
        1 => format!(" (exit 1: a failing finding at or above {fail_on})"),
        3 => " (exit 3: a check ended in error and --fail-on-error is set)".to_string(),
        130 => " (exit 130: interrupted)".to_string(),
        other => format!(" (exit {other})"),
    }
}

/// Most created objects shown per row; the JSON output has them all.
pub const CREATED_SHOWN: usize = 10;

/// The objects one subject row lists as possibly created by the audit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObjects {
    pub check: String,
    pub subject: String,
    /// How many the row lists.
    pub total: usize,
    /// The first few, one line each: `id 7 (HTTP 201): test values`.
    pub lines: Vec<String>,
}

/// Every row's `created` measurement (written by checks that send writes),
/// in scorecard order. Shared by the table and Markdown renderers.
pub fn created_objects(card: &Scorecard) -> Vec<CreatedObjects> {
    let mut out = Vec::new();
    for check in &card.checks {
        for row in &check.subjects {
            let Some(items) = row
                .measurements
                .get("created")
                .and_then(|v| v.as_array())
                .filter(|a| !a.is_empty())
            else {
                continue;
            };
            out.push(CreatedObjects {
                check: check.id.clone(),
                subject: row.subject.clone(),
                total: items.len(),
                lines: items.iter().take(CREATED_SHOWN).map(created_line).collect(),
            });
        }
    }
    out
}

/// One created object: its id (when the answer had one), the status and the
/// test values that identify it.
fn created_line(item: &serde_json::Value) -> String {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let mut line = match item.get("id").filter(|v| !v.is_null()) {
        Some(id) => format!("id {}", clip(&text(id), 60)),
        None => "no id in the answer".to_string(),
    };
    if let Some(status) = item.get("status").and_then(|v| v.as_u64()) {
        line.push_str(&format!(" (HTTP {status})"));
    }
    let values: Vec<String> = item
        .get("test_values")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().map(|v| clip(&text(v), 80)).collect())
        .unwrap_or_default();
    if !values.is_empty() {
        line.push_str(&format!(": {}", values.join(", ")));
    }
    line
}

fn summarise_codes(row: &super::model::SubjectRow) -> String {
    let mut codes: Vec<String> = Vec::new();
    for f in &row.findings {
        let short = f.code.split_once('.').map(|(_, c)| c).unwrap_or(&f.code);
        let tag = format!("{short} ({})", f.severity.as_str());
        if !codes.contains(&tag) {
            codes.push(tag);
        }
    }
    codes.join(", ")
}

fn paint(v: Verdict, colour: bool) -> String {
    if !colour {
        return v.as_str().to_string();
    }
    let code = match v {
        Verdict::Pass => "32",
        Verdict::Fail => "31;1",
        Verdict::Warn => "33",
        Verdict::Error => "35",
        Verdict::Skip => "2",
    };
    format!("\x1b[{code}m{}\x1b[0m", v.as_str())
}
