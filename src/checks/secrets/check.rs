//! The `secrets` check: live-looking credentials in the work tree, the whole
//! git history, env files and the deployed site's bundles and source maps.
//!
//! Each source is one subject row. A credential is reported once: a value in
//! the work tree that is also committed is one work-tree finding that says
//! so; a value found only in older commits is a `history-only` finding on the
//! history row. Every found value is registered with the run's redactor by
//! the scanner before any finding is built, and findings carry only the
//! public prefix, the length and a fingerprint. Suppressed findings (inline
//! `readiness:allow`, baseline) are counted in the `suppressed` measurement.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use url::Url;

use super::config::{ScanPath, SecretsEnvFile, SecretsSettings};
use super::history::{HistoryOptions, HistoryScan, repository_root, scan_history};
use super::rules::Ruleset;
use super::scan::{Location, Origin, Scanner, SecretFinding};
use super::site::{
    Link, bundle_links, css_imports, inline_source_map, lazy_chunks, parse_source_map,
    source_map_reference, source_map_url,
};
use super::worktree::{WalkOptions, scan_worktree};
use crate::engine::runner::SUPPRESSED_KEY;
use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::HttpRequest;
use crate::profile::Profile;
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};

pub struct SecretsCheck;

/// Every finding code of the check.
pub const CODES: &[&str] = &[
    "secrets.history-incomplete",
    "secrets.history-only",
    "secrets.live-credential",
    "secrets.scan-incomplete",
    "secrets.source-map-public",
    "secrets.test-key",
];

/// Other places a finding lists besides its first.
const MAX_MORE_PLACES: usize = 5;

#[async_trait]
impl Check for SecretsCheck {
    fn codes(&self) -> &'static [&'static str] {
        CODES
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "secrets",
            title: "Leaked secrets",
            verifies: "no live-looking credential in the work tree, git history, env files, \
                       deployed bundles or source maps",
            criterion: "no credential outside test mode in any source; history complete (not \
                        shallow); no public source map",
            class: Class::Passive,
            read_only: true,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let s = &profile.secrets;
        if !s.enabled {
            return Plan::skip("disabled in the profile ([checks.secrets] enabled = false)");
        }
        let mut plan = Plan::default();
        for p in &s.paths {
            plan = plan.step(&worktree_subject(p), "read files (no request)", 0, false);
            if s.history {
                plan = plan.step(
                    &history_subject(p),
                    "read git objects (no request)",
                    0,
                    false,
                );
            }
        }
        for f in &s.env_files {
            plan = plan.step(&f.shown, "read the env file (no request)", 0, false);
        }
        if s.bundles {
            let subject = site_subject(&profile.target.base_url);
            plan = plan
                .step(
                    &subject,
                    "GET the landing page and the listed pages",
                    s.pages.len() as u64,
                    false,
                )
                .step(
                    &subject,
                    &format!(
                        "GET at most {} in-scope scripts/stylesheets (linked, @imported or \
                         imported as lazy chunks) and their source maps",
                        s.max_bundles
                    ),
                    2 * s.max_bundles,
                    false,
                );
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let settings = Arc::new(ctx.profile.secrets.clone());
        let mut scanner =
            Scanner::new(&Ruleset::builtin()).with_redactor(ctx.net.redactor().clone());
        if let Some(b) = &settings.baseline {
            scanner = scanner.with_baseline(b.clone());
        }
        let scanner = Arc::new(scanner);

        let stops = Stops::before(ctx.deadline);
        let local = {
            let (settings, scanner) = (settings.clone(), scanner.clone());
            tokio::task::spawn_blocking(move || scan_local(&settings, &scanner, stops))
        };
        let mut rows = Vec::new();
        let site = if settings.bundles {
            Some(scan_site(&ctx, &settings, &scanner).await)
        } else {
            None
        };
        match local.await {
            Ok(local_rows) => rows.extend(local_rows),
            Err(e) => rows.push(SubjectRow::error("files", format!("file scan failed: {e}"))),
        }
        rows.extend(site);
        rows
    }
}

/// When the file scans stop so that their rows still reach the report
/// before the runner's `check_timeout` ends the check.
#[derive(Clone, Copy, Debug)]
struct Stops {
    /// Work tree and history stop reading here.
    scan: Instant,
    /// History keeps counting its listing (for "N of M") until here.
    count_grace: Duration,
}

impl Stops {
    /// Scans get two thirds of the time left, the history count one sixth
    /// more; the rest is for attribution, the other rows and the report.
    fn before(deadline: Instant) -> Stops {
        let left = deadline.saturating_duration_since(Instant::now());
        Stops {
            scan: Instant::now() + left * 2 / 3,
            count_grace: left / 6,
        }
    }
}

/// The warning of a scan the deadline cut short: never a pass.
fn incomplete_finding(subject: &str, what: String) -> Finding {
    Finding::new(
        "secrets.scan-incomplete",
        Severity::Medium,
        Outcome::Warn,
        subject,
        what.clone(),
    )
    .evidence(format!(
        "{what}; the rest was not scanned, so this source cannot be vouched for"
    ))
    .fix(
        "raise [target] check_timeout, or narrow [checks.secrets] paths / exclude so the \
         scan fits in it",
    )
}

fn worktree_subject(p: &ScanPath) -> String {
    format!("{} (work tree)", p.shown)
}

fn history_subject(p: &ScanPath) -> String {
    format!("{} (git history)", p.shown)
}

/// The deployed site's subject: base_url's origin.
pub fn site_subject(base: &Url) -> String {
    base.origin().ascii_serialization()
}

/// Which source a finding came from, for titles and fixes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    WorkTree,
    History,
    EnvFile,
    Site,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::WorkTree => "the work tree",
            Source::History => "git history",
            Source::EnvFile => "an env file",
            Source::Site => "the deployed site",
        }
    }
}

/// Findings of one source grouped by fingerprint, in order of first place.
fn group(findings: Vec<SecretFinding>) -> Vec<Vec<SecretFinding>> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<SecretFinding>> = BTreeMap::new();
    for f in findings {
        if !groups.contains_key(&f.fingerprint) {
            order.push(f.fingerprint.clone());
        }
        groups.entry(f.fingerprint.clone()).or_default().push(f);
    }
    order
        .into_iter()
        .filter_map(|fp| groups.remove(&fp))
        .collect()
}

/// Where a history finding was introduced, for the evidence of a work-tree finding.
fn introduced(f: &SecretFinding) -> String {
    match &f.location {
        Location::Commit { commit, date, .. } if !commit.is_empty() => {
            let short = commit.get(..12).unwrap_or(commit);
            format!("committed in {short} ({date})")
        }
        _ => "committed".to_string(),
    }
}

/// One finding for all places of one credential in one source.
fn secret_finding(
    subject: &str,
    source: Source,
    places: &[SecretFinding],
    committed: Option<&SecretFinding>,
) -> Option<Finding> {
    let first = places.first()?;
    let (code, outcome, title, fix) = if first.test_mode {
        (
            "secrets.test-key",
            Outcome::Warn,
            format!("test-mode {} in {}", first.description, source.name()),
            first.fix().to_string(),
        )
    } else if source == Source::History && first.history_only {
        (
            "secrets.history-only",
            Outcome::Fail,
            format!("{} deleted but still in git history", first.description),
            "deleted but still in history: rotate it, then remove it from history \
             (git filter-repo) and force-push every branch"
                .to_string(),
        )
    } else {
        let fix = match (source, committed.is_some()) {
            (Source::Site, _) => {
                "rotate it, then remove it from the client bundle (server-side only) and redeploy"
            }
            (Source::WorkTree, false) | (Source::EnvFile, false) => {
                "rotate it, then keep it out of files the project ships: a secret store or an \
                 untracked env file"
            }
            _ => "rotate it, then remove it from the code and from history (git filter-repo)",
        };
        (
            "secrets.live-credential",
            Outcome::Fail,
            format!("{} in {}", first.description, source.name()),
            fix.to_string(),
        )
    };
    let mut evidence = format!(
        "{} ({}, {}): {}, fingerprint {}",
        first.description,
        first.rule_id,
        kind_name(first),
        first.preview,
        first.fingerprint
    );
    if first.decoded.is_some() {
        evidence.push_str(", inside a base64 blob");
    }
    if places.len() > 1 {
        let more: Vec<String> = places[1..]
            .iter()
            .take(MAX_MORE_PLACES)
            .map(|p| p.location.to_string())
            .collect();
        evidence.push_str(&format!(
            "; {} more place(s): {}",
            places.len() - 1,
            more.join(", ")
        ));
    }
    if let Some(c) = committed {
        evidence.push_str(&format!("; also {}", introduced(c)));
    }
    let sev = if first.test_mode {
        Severity::Info
    } else {
        first.severity
    };
    Some(
        Finding::new(code, sev, outcome, subject, title)
            .at(first.location.to_string())
            .evidence(evidence)
            .fix(fix),
    )
}

fn kind_name(f: &SecretFinding) -> String {
    serde_json::to_value(f.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Work trees, their histories and the env files (blocking: file and git I/O).
fn scan_local(s: &SecretsSettings, scanner: &Scanner, stops: Stops) -> Vec<SubjectRow> {
    let mut rows = Vec::new();
    let mut histories_done: HashSet<PathBuf> = HashSet::new();
    let env_paths: Vec<PathBuf> = s.env_files.iter().map(|f| canonical(&f.path)).collect();
    for p in &s.paths {
        let options = WalkOptions {
            respect_gitignore: s.respect_gitignore,
            max_file_size: s.max_file_size,
            exclude: s.exclude.clone(),
            threads: 0,
            deadline: Some(stops.scan),
        };
        let tree = match scan_worktree(&p.path, scanner, &options) {
            Ok(t) => Some(t),
            Err(e) => {
                rows.push(SubjectRow::error(worktree_subject(p), e.to_string()));
                None
            }
        };
        let root = if s.history {
            repository_root(&p.path)
        } else {
            None
        };
        // `None`: not asked; `Err(None)`: not a repository; `Err(Some(why))`: failed.
        let mut history: Option<Result<HistoryScan, Option<String>>> = None;
        if s.history {
            history = match &root {
                None => Some(Err(None)),
                Some(r) if !histories_done.insert(canonical(r)) => None,
                Some(r) => {
                    let opts = HistoryOptions {
                        max_blob_size: s.max_file_size,
                        threads: 0,
                        deadline: Some(stops.scan),
                        count_grace: stops.count_grace,
                    };
                    Some(scan_history(r, scanner, &opts).map_err(|e| Some(e.to_string())))
                }
            };
        }

        // History findings: excluded paths dropped, grouped by value.
        let mut committed: BTreeMap<String, SecretFinding> = BTreeMap::new();
        let mut history_groups = Vec::new();
        if let Some(Ok(h)) = &history {
            let excluded = exclusion_matcher(root.as_deref().unwrap_or(&p.path), &s.exclude);
            let kept: Vec<SecretFinding> = h
                .findings
                .iter()
                .filter(|f| !history_path_excluded(f, excluded.as_ref()))
                .cloned()
                .collect();
            history_groups = group(kept);
            for g in &history_groups {
                if let Some(first) = g.first() {
                    committed.insert(first.fingerprint.clone(), first.clone());
                }
            }
        }

        let mut in_tree: HashSet<String> = HashSet::new();
        if let Some(t) = tree {
            let findings: Vec<SecretFinding> = t
                .findings
                .into_iter()
                .filter(|f| !in_env_files(f, &p.path, &env_paths))
                .collect();
            let groups = group(findings);
            let mut out = Vec::new();
            if t.stopped_at_deadline {
                out.push(incomplete_finding(
                    &worktree_subject(p),
                    format!(
                        "work-tree scan incomplete: {} files scanned before the deadline",
                        t.files_scanned
                    ),
                ));
            }
            for g in &groups {
                if let Some(first) = g.first() {
                    in_tree.insert(first.fingerprint.clone());
                    let c = committed.get(&first.fingerprint);
                    out.extend(secret_finding(&worktree_subject(p), Source::WorkTree, g, c));
                }
            }
            let row = if t.files_scanned == 0 && !t.stopped_at_deadline {
                SubjectRow::error(
                    worktree_subject(p),
                    "no text file to scan under this path (all ignored, excluded, binary or \
                     too large)",
                )
            } else {
                SubjectRow::judged(worktree_subject(p), out)
            };
            rows.push(
                row.measure("files", t.files_scanned)
                    .measure("bytes", t.bytes)
                    .measure("skipped", t.skipped.total())
                    .measure(SUPPRESSED_KEY, t.suppressed.len() as u64),
            );
        }

        match history {
            None => {}
            Some(Err(None)) => rows.push(SubjectRow::skip(
                history_subject(p),
                "not inside a git repository",
            )),
            Some(Err(Some(e))) => rows.push(SubjectRow::error(history_subject(p), e)),
            Some(Ok(h)) => {
                let subject = history_subject(p);
                let mut out: Vec<Finding> = history_groups
                    .iter()
                    .filter(|g| g.first().is_some_and(|f| !in_tree.contains(&f.fingerprint)))
                    .filter_map(|g| secret_finding(&subject, Source::History, g, None))
                    .collect();
                if let Some(cut) = &h.cutoff {
                    out.push(incomplete_finding(&subject, cut.describe(h.blobs)));
                }
                if let Some(why) = &h.incomplete {
                    out.push(
                        Finding::new(
                            "secrets.history-incomplete",
                            Severity::Medium,
                            Outcome::Warn,
                            &subject,
                            "history incomplete: the repository is a shallow clone",
                        )
                        .evidence(format!(
                            "{why}; {} blobs scanned, older commits were never fetched",
                            h.blobs
                        ))
                        .fix(
                            "scan a full clone (git fetch --unshallow) so no old commit \
                             hides a key",
                        ),
                    );
                }
                let row = if h.blobs == 0 && out.is_empty() && h.cutoff.is_none() {
                    SubjectRow::error(&subject, "the repository has no blob to scan")
                } else {
                    SubjectRow::judged(&subject, out)
                };
                rows.push(
                    row.measure("blobs", h.blobs)
                        .measure("bytes", h.bytes)
                        .measure("skipped_large", h.skipped_large)
                        .measure("skipped_binary", h.skipped_binary)
                        .measure("shallow", h.shallow)
                        .measure(SUPPRESSED_KEY, h.suppressed.len() as u64),
                );
            }
        }
    }
    for f in &s.env_files {
        rows.push(scan_env_file(f, scanner, s.max_file_size));
    }
    rows
}

fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Whether a work-tree finding sits in an env file that has its own row.
fn in_env_files(f: &SecretFinding, root: &Path, env_paths: &[PathBuf]) -> bool {
    match &f.location {
        Location::File { path, .. } => env_paths.contains(&canonical(&root.join(path))),
        _ => false,
    }
}

/// The exclusion globs as a matcher for repository-relative paths.
fn exclusion_matcher(root: &Path, exclude: &[String]) -> Option<ignore::overrides::Override> {
    let mut b = ignore::overrides::OverrideBuilder::new(root);
    let mut any = false;
    for e in exclude {
        let is_path = e.starts_with('/') || e.starts_with("..") || e.starts_with("./");
        if !is_path && b.add(&format!("!{e}")).is_ok() {
            any = true;
        }
    }
    if !any {
        return None;
    }
    b.build().ok()
}

fn history_path_excluded(f: &SecretFinding, m: Option<&ignore::overrides::Override>) -> bool {
    let (Some(m), Location::Commit { path, .. }) = (m, &f.location) else {
        return false;
    };
    // A file matches when it or any folder above it is excluded.
    let p = Path::new(path);
    p.ancestors()
        .filter(|a| !a.as_os_str().is_empty())
        .any(|a| m.matched(a, a != p).is_ignore())
}

fn scan_env_file(f: &SecretsEnvFile, scanner: &Scanner, max: u64) -> SubjectRow {
    let data = match std::fs::read(&f.path) {
        Ok(d) => d,
        Err(e) => return SubjectRow::error(&f.shown, format!("cannot read the env file: {e}")),
    };
    if data.len() as u64 > max {
        return SubjectRow::error(
            &f.shown,
            format!(
                "{} bytes is over [checks.secrets] max_file_size",
                data.len()
            ),
        );
    }
    let origin = Origin::File {
        path: PathBuf::from(&f.shown),
        production_env: f.production,
    };
    let (suppressed, found): (Vec<_>, Vec<_>) = scanner
        .scan_bytes(&data, &origin)
        .into_iter()
        .partition(|x| x.suppression.is_some());
    let findings = group(found)
        .iter()
        .filter_map(|g| secret_finding(&f.shown, Source::EnvFile, g, None))
        .collect();
    SubjectRow::judged(&f.shown, findings)
        .measure("production", f.production)
        .measure("bytes", data.len() as u64)
        .measure(SUPPRESSED_KEY, suppressed.len() as u64)
}

/// Counts of the deployed-site scan, for measurements.
#[derive(Default)]
struct SiteTally {
    pages: u64,
    bundles: u64,
    maps: u64,
    /// Inline (`data:`) source maps read from bundles.
    inline_maps: u64,
    /// Stylesheets (`@import`) and lazy chunks (`import("…")`) queued.
    followed: u64,
    out_of_scope: u64,
    over_cap: u64,
    /// Bundle URLs that answered an HTML page.
    not_bundles: u64,
    failed: Vec<String>,
}

/// Fetches the pages, their in-scope bundles and the bundles' source maps
/// through the scoped client, and scans all of it.
async fn scan_site(ctx: &Context, s: &SecretsSettings, scanner: &Scanner) -> SubjectRow {
    let subject = site_subject(&ctx.profile.target.base_url);
    let mut tally = SiteTally::default();
    let mut found: Vec<SecretFinding> = Vec::new();
    let mut map_findings: Vec<Finding> = Vec::new();
    let mut bundles: Vec<Url> = Vec::new();
    let scope = ctx.net.scope().clone();

    for page in &s.pages {
        match ctx.net.send(HttpRequest::get(page.clone())).await {
            Ok(r) if (200..300).contains(&r.status) => {
                tally.pages += 1;
                found.extend(scanner.scan_bytes(&r.body, &Origin::url(page.as_str())));
                let html = r.text();
                for link in bundle_links(&html, page, |u| scope.allows_url(u)) {
                    match link {
                        Link::Fetch(u) if !bundles.contains(&u) => bundles.push(u),
                        Link::Fetch(_) => {}
                        Link::OutOfScope(_) => tally.out_of_scope += 1,
                    }
                }
            }
            Ok(r) => tally.failed.push(format!("GET {page} -> {}", r.status)),
            Err(e) => tally.failed.push(format!("GET {page}: {e}")),
        }
    }
    if tally.pages == 0 {
        let why = tally.failed.join("; ");
        return SubjectRow::error(
            &subject,
            format!("no page answered 2xx, so no bundle could be scanned: {why}"),
        );
    }

    // Bundles linked from the pages first, then stylesheets they @import and
    // chunks they import literally, all within the same cap.
    let cap = s.max_bundles as usize;
    let mut queue: VecDeque<Url> = bundles.iter().cloned().collect();
    let mut seen: Vec<Url> = bundles.clone();
    let mut maps_seen: Vec<Url> = Vec::new();
    let mut fetched = 0usize;
    while let Some(bundle) = queue.pop_front() {
        if fetched == cap {
            tally.over_cap = (queue.len() + 1) as u64;
            break;
        }
        fetched += 1;
        let r = match ctx.net.send(HttpRequest::get(bundle.clone())).await {
            Ok(r) if r.status == 200 => r,
            Ok(r) => {
                tally.failed.push(format!("GET {bundle} -> {}", r.status));
                continue;
            }
            Err(e) => {
                tally.failed.push(format!("GET {bundle}: {e}"));
                continue;
            }
        };
        if r.content_type().starts_with("text/html") {
            // An SPA catch-all answering a missing bundle: nothing to scan or map.
            tally.not_bundles += 1;
            continue;
        }
        tally.bundles += 1;
        found.extend(scanner.scan_bytes(&r.body, &Origin::url(bundle.as_str())));

        let is_css = r.content_type().starts_with("text/css") || bundle.path().ends_with(".css");
        let named = if is_css {
            css_imports(&r.body, &bundle)
        } else {
            lazy_chunks(&r.body, &bundle)
        };
        for next in named {
            if seen.contains(&next) {
                continue;
            }
            seen.push(next.clone());
            if scope.allows_url(&next) {
                tally.followed += 1;
                queue.push_back(next);
            } else {
                tally.out_of_scope += 1;
            }
        }

        let reference = source_map_reference(&r.body);
        if let Some(bytes) = reference.as_deref().and_then(inline_source_map) {
            // An inline map is part of the bundle, not a separate public file:
            // its original sources are scanned, nothing more is reported.
            if let Some(map) = parse_source_map(&bytes) {
                tally.inline_maps += 1;
                for (name, content) in &map.sources {
                    let origin = Origin::url(format!("{bundle} (inline source map: {name})"));
                    found.extend(scanner.scan_text(content, &origin));
                }
            }
            continue;
        }
        let header = r.header("sourcemap").or_else(|| r.header("x-sourcemap"));
        let Some(map_url) = source_map_url(&bundle, reference.as_deref(), header.as_deref()) else {
            continue;
        };
        if maps_seen.contains(&map_url) || !scope.allows_url(&map_url) {
            continue;
        }
        maps_seen.push(map_url.clone());
        let Ok(m) = ctx.net.send(HttpRequest::get(map_url.clone())).await else {
            continue;
        };
        if m.status != 200 {
            continue;
        }
        let Some(map) = parse_source_map(&m.body) else {
            continue;
        };
        tally.maps += 1;
        let before = found.len();
        for (name, content) in &map.sources {
            let origin = Origin::url(format!("{map_url} ({name})"));
            found.extend(scanner.scan_text(content, &origin));
        }
        let in_map = found[before..]
            .iter()
            .filter(|f| f.suppression.is_none())
            .count();
        map_findings.push(
            Finding::new(
                "secrets.source-map-public",
                Severity::Medium,
                Outcome::Warn,
                &subject,
                "a source map of a deployed bundle is public",
            )
            .at(map_url.as_str())
            .evidence(format!(
                "GET {map_url} -> 200, a source map of {bundle} with {} original source(s) \
                 embedded; {in_map} credential(s) found in them",
                map.sources.len()
            ))
            .fix(
                "stop uploading .map files with the deployment (or serve them only to your \
                 error tracker) and drop sourcesContent from production builds",
            ),
        );
    }

    let (suppressed, live): (Vec<_>, Vec<_>) =
        found.into_iter().partition(|f| f.suppression.is_some());
    let mut findings: Vec<Finding> = group(live)
        .iter()
        .filter_map(|g| secret_finding(&subject, Source::Site, g, None))
        .collect();
    findings.extend(map_findings);
    SubjectRow::judged(&subject, findings)
        .measure("pages", tally.pages)
        .measure("bundles", tally.bundles)
        .measure("source_maps", tally.maps)
        .measure("inline_source_maps", tally.inline_maps)
        .measure("followed_imports", tally.followed)
        .measure("skipped_out_of_scope", tally.out_of_scope)
        .measure("skipped_over_cap", tally.over_cap)
        .measure("html_instead_of_bundle", tally.not_bundles)
        .measure("requests_failed", tally.failed.len() as u64)
        .measure(SUPPRESSED_KEY, suppressed.len() as u64)
}
