//! Profiling aid: where the work-tree scan spends its time, per phase and per
//! rule, over files already read into memory (one thread).

use std::time::Instant;

use aho_corasick::AhoCorasick;
use readiness::checks::secrets::{Origin, Ruleset, Scanner};

fn main() {
    let root = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let mut files = Vec::new();
    for entry in ignore::WalkBuilder::new(&root)
        .hidden(false)
        .git_ignore(false)
        .build()
        .flatten()
    {
        if entry.file_type().is_some_and(|t| t.is_file())
            && let Ok(d) = std::fs::read(entry.path())
            && d.len() < 5 << 20
            && !d.iter().take(8192).any(|b| *b == 0)
        {
            files.push(d);
        }
    }
    let total: usize = files.iter().map(Vec::len).sum();
    let mb = total as f64 / 1e6;
    let ruleset = Ruleset::builtin();
    let keywords: Vec<&str> = ruleset
        .rules()
        .iter()
        .flat_map(|r| r.rule.keywords.iter().copied())
        .collect();
    let kind = match std::env::var("AC_KIND").as_deref() {
        Ok("dfa") => Some(aho_corasick::AhoCorasickKind::DFA),
        Ok("nfa") => Some(aho_corasick::AhoCorasickKind::ContiguousNFA),
        _ => None,
    };
    let ac = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .kind(kind)
        .build(&keywords)
        .unwrap();
    let t = Instant::now();
    let mut hits = 0usize;
    for f in &files {
        hits += ac.find_overlapping_iter(f).count();
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "automaton (overlapping): {:.2}s {:.0} MB/s, {hits} keyword hits",
        s,
        mb / s
    );
    let t = Instant::now();
    let mut leftmost = 0usize;
    for f in &files {
        leftmost += ac.find_iter(f).count();
    }
    std::hint::black_box(leftmost);
    let s = t.elapsed().as_secs_f64();
    println!("automaton (leftmost): {:.2}s {:.0} MB/s", s, mb / s);
    let mut per_rule = Vec::new();
    for r in ruleset
        .rules()
        .iter()
        .filter(|_| std::env::var("AC_KIND").is_err())
    {
        let single = ruleset.clone().only(&[r.rule.id]);
        let scanner = Scanner::new(&single);
        let t = Instant::now();
        for f in &files {
            scanner.scan_bytes(f, &Origin::file("x"));
        }
        per_rule.push((t.elapsed().as_secs_f64(), r.rule.id));
    }
    per_rule.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (s, id) in per_rule.iter().take(8) {
        println!("rule alone {id}: {s:.2}s");
    }
    let scanner = Scanner::new(&ruleset);
    let t = Instant::now();
    for f in &files {
        scanner.scan_bytes(f, &Origin::file("x"));
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "full scan, one thread: {s:.2}s {:.0} MB/s over {mb:.0} MB",
        mb / s
    );
}
