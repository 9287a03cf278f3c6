//! Benchmark driver for `scripts/bench-secrets.sh`: runs the work-tree or the
//! history scan once and prints counts and throughput (never a raw value).
//!
//! Usage: `secrets_bench worktree <dir>` or `secrets_bench history <repo>`.

use std::path::PathBuf;
use std::time::Instant;

use readiness::checks::secrets::{
    HistoryOptions, Ruleset, Scanner, WalkOptions, scan_history, scan_worktree,
};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let path = PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let scanner = Scanner::new(&Ruleset::builtin());
    let started = Instant::now();

    let (bytes, units, findings, note) = match mode.as_str() {
        "worktree" => {
            let threads = std::env::var("SECRETS_THREADS")
                .ok()
                .and_then(|t| t.parse().ok());
            let options = WalkOptions {
                respect_gitignore: false,
                threads: threads.unwrap_or(0),
                ..WalkOptions::default()
            };
            let s = scan_worktree(&path, &scanner, &options)?;
            let note = format!("skipped={}", s.skipped.total());
            (s.bytes, s.files_scanned, s.findings, note)
        }
        "history" => {
            let s = scan_history(&path, &scanner, &HistoryOptions::default())?;
            let note = format!("skipped_large={} shallow={}", s.skipped_large, s.shallow);
            (s.bytes, s.blobs, s.findings, note)
        }
        _ => anyhow::bail!("usage: secrets_bench worktree|history <path>"),
    };

    let secs = started.elapsed().as_secs_f64();
    let mut by_rule = std::collections::BTreeMap::new();
    for f in &findings {
        *by_rule.entry(f.rule_id).or_insert(0usize) += 1;
    }
    println!(
        "{mode}: units={units} bytes={bytes} findings={} secs={secs:.2} MB/s={:.1} {note}",
        findings.len(),
        bytes as f64 / 1e6 / secs.max(1e-9)
    );
    println!("{mode}: findings by rule {by_rule:?}");
    // The process's own peak; /usr/bin/time's figure also covers the git
    // children (rev-list keeps every object id it has listed).
    let own_peak_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0);
    println!("{mode}: own peak RSS {} MiB", own_peak_kib / 1024);
    Ok(())
}
