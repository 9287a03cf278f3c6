//! The terminal table: one row per check and subject, then each finding with
//! its evidence and fix path, then the run figures.

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
