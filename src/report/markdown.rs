//! A Markdown report a consultant can hand to a client.

use super::model::{Outcome, Scorecard};

pub fn render(card: &Scorecard) -> String {
    let mut out = format!("# Launch readiness: {}\n\n", escape(&card.target));
    out.push_str(&format!(
        "Target `{}`, audited {} with {}. Overall verdict: **{}**.\n\n",
        card.base_url, card.started_at, card.tool, card.verdict
    ));
    out.push_str("| check | subject | verdict | findings |\n| --- | --- | --- | --- |\n");
    for check in &card.checks {
        for row in &check.subjects {
            let detail = match &row.reason {
                Some(r) => escape(r),
                None => row
                    .findings
                    .iter()
                    .map(|f| f.code.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                check.id,
                escape(&row.subject),
                row.verdict,
                detail
            ));
        }
    }
    for (heading, outcome) in [("Failures", Outcome::Fail), ("Warnings", Outcome::Warn)] {
        let list: Vec<_> = card
            .findings()
            .filter(|(_, f)| f.outcome == outcome)
            .collect();
        if list.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {heading}\n"));
        for (_, f) in list {
            out.push_str(&format!(
                "\n### {} ({})\n\n{}\n\n- Subject: `{}`\n",
                f.code,
                f.severity,
                escape(&f.title),
                f.subject
            ));
            if let Some(l) = &f.location {
                out.push_str(&format!("- Where: `{l}`\n"));
            }
            out.push_str(&format!(
                "- Evidence: `{}`\n- Fix: {}\n",
                f.evidence.replace('`', "'"),
                escape(&f.fix)
            ));
        }
    }
    let created = super::table::created_objects(card);
    if !created.is_empty() {
        out.push_str(
            "\n## Created during the audit\n\nThe audit's write probes may have created \
             these objects; clean them up.\n\n",
        );
        for c in &created {
            let mut shown: Vec<String> = c
                .lines
                .iter()
                .map(|l| format!("`{}`", l.replace('`', "'")))
                .collect();
            if c.total > c.lines.len() {
                shown.push(format!(
                    "and {} more (JSON output: measurements.created)",
                    c.total - c.lines.len()
                ));
            }
            out.push_str(&format!(
                "- {} / {} ({}): {}\n",
                c.check,
                escape(&c.subject),
                c.total,
                escape(&shown.join("; "))
            ));
        }
    }
    let r = &card.run;
    out.push_str(&format!(
        "\n---\n{} requests sent, peak {}/s, {} ms.\n",
        r.requests_sent, r.peak_rps, r.duration_ms
    ));
    out
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
