//! Peer suites for the `secrets` rules: gitleaks' per-rule samples and
//! detect-secrets' test data, read from `../shared/peer-suites/` (skipped
//! with a message when absent). Prints recall and false-positive rates and
//! asserts floors at the figures reached.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use readiness::checks::secrets::{Origin, Ruleset, Scanner};

fn suite(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/peer-suites")
        .join(name);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} not found", dir.display());
        None
    }
}

/// gitleaks rule ids for the providers our rule set claims to cover.
const COVERED: &[&str] = &[
    "aws-access-token",
    "gcp-api-key",
    "gcp-service-account",
    "azure-ad-client-secret",
    "github-pat",
    "github-fine-grained-pat",
    "github-oauth",
    "github-app-token",
    "github-refresh-token",
    "gitlab-pat",
    "gitlab-pat-routable",
    "gitlab-ptt",
    "gitlab-rrt",
    "gitlab-runner-authentication-token-routable",
    "stripe-access-token",
    "slack-bot-token",
    "slack-user-token",
    "slack-app-token",
    "slack-config-access-token",
    "slack-config-refresh-token",
    "slack-legacy-bot-token",
    "slack-legacy-token",
    "slack-legacy-workspace-token",
    "slack-webhook-url",
    "twilio-api-key",
    "sendgrid-api-token",
    "mailgun-private-api-token",
    "openai-api-key",
    "anthropic-api-key",
    "anthropic-admin-api-key",
    "npm-access-token",
    "pypi-upload-token",
    "heroku-api-key",
    "heroku-api-key-v2",
    "private-key",
    "jwt",
    "generic-api-key",
    "sidekiq-sensitive-url",
];

#[derive(serde::Deserialize)]
struct Sample {
    rule_id: String,
    kind: String,
    text: String,
    path: Option<String>,
}

#[derive(Default)]
struct Tally {
    tp: usize,
    tp_found: usize,
    fp: usize,
    fp_flagged: usize,
}

#[test]
fn gitleaks_rule_samples() {
    let Some(dir) = suite("gitleaks-rule-samples") else {
        return;
    };
    let text = std::fs::read_to_string(dir.join("samples.json")).unwrap();
    let samples: Vec<Sample> = serde_json::from_str(&text).unwrap();
    let scanner = Scanner::new(&Ruleset::builtin());
    let (mut covered, mut overall) = (Tally::default(), Tally::default());
    let mut misses: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for s in &samples {
        let name = s.path.clone().unwrap_or_else(|| "sample.txt".to_string());
        let flagged = !scanner.scan_text(&s.text, &Origin::file(name)).is_empty();
        let is_covered = COVERED.contains(&s.rule_id.as_str());
        for (tally, on) in [(&mut overall, true), (&mut covered, is_covered)] {
            if !on {
                continue;
            }
            if s.kind == "tp" {
                tally.tp += 1;
                tally.tp_found += usize::from(flagged);
            } else {
                tally.fp += 1;
                tally.fp_flagged += usize::from(flagged);
            }
        }
        if is_covered {
            let entry = misses.entry(s.rule_id.clone()).or_default();
            if s.kind == "tp" && !flagged {
                entry.0 += 1;
            }
            if s.kind == "fp" && flagged {
                entry.1 += 1;
            }
        }
    }
    for (name, t) in [("covered", &covered), ("overall", &overall)] {
        eprintln!(
            "gitleaks {name}: recall {}/{} ({:.1}%), false positives {}/{} ({:.1}%)",
            t.tp_found,
            t.tp,
            100.0 * t.tp_found as f64 / t.tp.max(1) as f64,
            t.fp_flagged,
            t.fp,
            100.0 * t.fp_flagged as f64 / t.fp.max(1) as f64
        );
    }
    for (rule, (missed, flagged)) in misses.iter().filter(|(_, m)| m.0 + m.1 > 0) {
        eprintln!("  {rule}: {missed} true samples missed, {flagged} false samples flagged");
    }
    assert!(covered.tp_found >= COVERED_TP_FLOOR, "covered recall fell");
    assert!(
        covered.fp_flagged <= COVERED_FP_CEILING,
        "covered false positives rose"
    );
    assert!(overall.tp_found >= OVERALL_TP_FLOOR, "overall recall fell");
    assert!(
        overall.fp_flagged <= OVERALL_FP_CEILING,
        "overall false positives rose"
    );
}

const COVERED_TP_FLOOR: usize = 109;
const COVERED_FP_CEILING: usize = 17;
const OVERALL_TP_FLOOR: usize = 142;
const OVERALL_FP_CEILING: usize = 22;

#[test]
fn detect_secrets_test_data() {
    let Some(dir) = suite("detect-secrets-test-data") else {
        return;
    };
    let baseline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("baseline.file")).unwrap()).unwrap();
    let mut expected: BTreeSet<(String, usize)> = BTreeSet::new();
    let stated: &[(&str, &[usize])] = &[
        ("config.ini", &[2, 10, 21, 22, 32]),
        ("config.yaml", &[3, 5, 13]),
    ];
    if let Some(results) = baseline["results"].as_object() {
        for (file, list) in results {
            if !dir.join(file).is_file() || stated.iter().any(|(f, _)| f == file) {
                continue;
            }
            for item in list.as_array().into_iter().flatten() {
                if let Some(line) = item["line_number"].as_u64() {
                    expected.insert((file.clone(), line as usize));
                }
            }
        }
    }
    for (file, lines) in stated {
        expected.extend(lines.iter().map(|l| (file.to_string(), *l)));
    }

    let scanner = Scanner::new(&Ruleset::builtin());
    let files = [
        "config.env",
        "config.ini",
        "config.md",
        "config.yaml",
        "config2.yaml",
        "only_comments.yaml",
        "sample.diff",
        "short_files/last_line.ini",
        "short_files/middle_line.yml",
        "files/private_key",
    ];
    let mut ours: BTreeSet<(String, usize)> = BTreeSet::new();
    let mut lines_total = 0;
    for file in files {
        let path = dir.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        lines_total += text.lines().count();
        for f in scanner.scan_text(&text, &Origin::file(file)) {
            if let readiness::checks::secrets::Location::File { line, .. } = f.location {
                ours.insert((file.to_string(), line));
            }
        }
    }
    let hit = expected.intersection(&ours).count();
    let extra: Vec<_> = ours.difference(&expected).collect();
    let missed: Vec<_> = expected.difference(&ours).collect();
    let negatives = lines_total - expected.len();
    eprintln!(
        "detect-secrets: recall {hit}/{} ({:.1}%), extra findings {}/{negatives} lines ({:.1}%)",
        expected.len(),
        100.0 * hit as f64 / expected.len().max(1) as f64,
        extra.len(),
        100.0 * extra.len() as f64 / negatives.max(1) as f64
    );
    eprintln!("  missed: {missed:?}");
    eprintln!("  extra: {extra:?}");
    assert!(hit >= DS_HIT_FLOOR, "detect-secrets recall fell");
    assert!(
        extra.len() <= DS_EXTRA_CEILING,
        "detect-secrets extras rose"
    );
}

const DS_HIT_FLOOR: usize = 1;
const DS_EXTRA_CEILING: usize = 1;
