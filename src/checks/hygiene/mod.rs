//! The `hygiene` check: production must not be configured like development.
//!
//! On every in-scope origin it probes a bounded list of leak paths (each hit
//! needs content that proves the file, compared with a random-path baseline
//! so SPA catch-alls are not leaks), provokes a 404 and a malformed request
//! to look for stack traces and framework debug pages, reads version banners
//! in `Server` / `X-Powered-By`, and compares the production env file with
//! the development and staging ones by key. It reports exposure and
//! configuration; credential values are the `secrets` check's.

pub mod config;
pub mod envcompare;
pub mod errors;
pub mod leaks;

use std::collections::BTreeMap;

use async_trait::async_trait;
use futures::future::join_all;
use url::Url;

use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::{HttpRequest, HttpResponse};
use crate::profile::Profile;
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};
use config::EnvFileRef;
use leaks::{LeakKind, PROBES, Seen};

pub struct HygieneCheck;

/// Shorter credential values are not registered for redaction: masking every
/// `dev` or `secret` in a report would garble it, and such values are not live.
const MIN_REGISTERED: usize = 8;

#[async_trait]
impl Check for HygieneCheck {
    fn codes(&self) -> &'static [&'static str] {
        &[
            "hygiene.api-docs-public",
            "hygiene.backup-exposed",
            "hygiene.debug-console-exposed",
            "hygiene.ds-store-exposed",
            "hygiene.env-debug-flag",
            "hygiene.env-exposed",
            "hygiene.env-local-url",
            "hygiene.env-missing-key",
            "hygiene.env-shared-secret",
            "hygiene.env-test-key",
            "hygiene.git-exposed",
            "hygiene.graphql-introspection",
            "hygiene.server-status-exposed",
            "hygiene.stack-trace",
            "hygiene.version-disclosed",
        ]
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "hygiene",
            title: "Deployment hygiene",
            verifies: "no exposed .env/.git/backups/debug consoles, no stack traces or debug \
                       pages, no version banners, production env file not set up like dev",
            criterion: "leak paths answer nothing that proves the file; 404 and malformed \
                        requests show no stack trace; env file: no shared secrets, test keys, \
                        loopback URLs or debug flags",
            class: Class::Passive,
            read_only: true,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let s = &profile.hygiene;
        if !s.enabled {
            return Plan::skip("disabled in the profile ([checks.hygiene] enabled = false)");
        }
        let mut plan = Plan::default();
        for origin in &s.origins {
            let subject = subject_of(origin);
            plan = plan.step(&subject, "GET landing page (version banners)", 1, false);
            if s.leak_paths {
                plan = plan.step(
                    &subject,
                    "GET leak paths (.env, .git, backups, debug consoles, API docs)",
                    PROBES.len() as u64,
                    false,
                );
            }
        }
        for base in &s.error_bases {
            plan = plan.step(
                &subject_of(base),
                &format!(
                    "GET a random 404 and a malformed path under {}",
                    base.path()
                ),
                2,
                false,
            );
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let s = &ctx.profile.hygiene;
        let mut rows: Vec<SubjectRow> =
            join_all(s.origins.iter().map(|o| audit_origin(&ctx, o))).await;
        if let Some(prod) = &s.production_env {
            rows.push(compare_env_files(&ctx, prod, &s.other_env));
        }
        rows
    }
}

/// The subject of an origin: `https://host[:port]`.
pub fn subject_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// A random path segment no application routes.
fn random_segment() -> String {
    format!("readiness-zz9{:016x}", rand::random::<u64>())
}

fn seen(r: &HttpResponse) -> Seen<'_> {
    Seen {
        status: r.status,
        content_type: r
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        body: &r.body,
    }
}

/// What one origin answered, kept for judging.
#[derive(Default)]
struct Answers {
    /// (url, response) of every request that got an answer.
    responses: Vec<(String, HttpResponse)>,
    failed: Vec<String>,
    consecutive_failures: usize,
}

/// After this many failed requests in a row an origin is given up on.
const MAX_CONSECUTIVE_FAILURES: usize = 3;

impl Answers {
    async fn get(&mut self, ctx: &Context, req: HttpRequest) -> Option<HttpResponse> {
        let url = req.url.to_string();
        if self.consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
            return None;
        }
        match ctx.net.send(req).await {
            Ok(r) => {
                self.consecutive_failures = 0;
                self.responses.push((url, r.clone()));
                Some(r)
            }
            Err(e) => {
                self.failed.push(format!("{url}: {e}"));
                self.consecutive_failures += 1;
                None
            }
        }
    }
}

async fn audit_origin(ctx: &Context, origin: &Url) -> SubjectRow {
    let s = &ctx.profile.hygiene;
    let subject = subject_of(origin);
    let mut answers = Answers::default();
    let mut findings = Vec::new();

    let Some(landing) = answers.get(ctx, HttpRequest::get(origin.clone())).await else {
        let why = answers.failed.first().cloned().unwrap_or_default();
        return SubjectRow::error(&subject, format!("the origin did not answer: {why}"));
    };

    // Error pages: a random 404 and a malformed path under each base of this origin.
    let mut baseline: Option<HttpResponse> = None;
    let mut debug_pages: Vec<String> = Vec::new();
    let mut first_debug_url = None;
    let mut console = false;
    for base in s.error_bases.iter().filter(|b| subject_of(b) == subject) {
        let segment = random_segment();
        let probes = [
            (segment.clone(), "404"),
            (format!("{segment}-%E0%A4%A%zz"), "malformed"),
        ];
        for (path, what) in probes {
            let Ok(url) = base.join(&path) else { continue };
            let Some(r) = answers.get(ctx, HttpRequest::get(url.clone())).await else {
                continue;
            };
            if what == "404" && base == origin {
                baseline = Some(r.clone());
            }
            if let Some(page) = crate::debugpage::detect(&r.text()) {
                if first_debug_url.is_none() {
                    first_debug_url = Some(url.to_string());
                }
                console |= page.console;
                debug_pages.push(format!(
                    "{what} request {url} -> {}, stack trace or debug page of {} (`{}`)",
                    r.status,
                    page.describe(),
                    page.snippet
                ));
            }
        }
    }
    if let Some(at) = first_debug_url {
        let (severity, title) = if console {
            (
                Severity::Critical,
                "error pages carry a debugger console that runs code on the server",
            )
        } else {
            (
                Severity::High,
                "error pages show a stack trace or framework debug page",
            )
        };
        findings.push(
            Finding::new(
                "hygiene.stack-trace",
                severity,
                Outcome::Fail,
                &subject,
                title,
            )
            .at(at)
            .evidence(debug_pages.join("; "))
            .fix(
                "turn off debug mode in production and serve a generic error page; log the \
                 details server-side instead",
            ),
        );
    }

    // Leak paths, each judged on its content against the baseline.
    let mut hits: BTreeMap<LeakKind, Vec<(String, String)>> = BTreeMap::new();
    if s.leak_paths {
        for probe in PROBES {
            let Ok(url) = origin.join(probe.path) else {
                continue;
            };
            let mut req = HttpRequest::get(url.clone());
            if probe.path.ends_with("heapdump") {
                req = req.header("range", "bytes=0-1023");
            }
            let Some(r) = answers.get(ctx, req).await else {
                continue;
            };
            let base_seen = baseline.as_ref().map(seen);
            if let Some(proof) = leaks::classify(probe, &seen(&r), base_seen.as_ref()) {
                for secret in proof.secrets.iter().filter(|v| v.len() >= MIN_REGISTERED) {
                    ctx.net.redactor().register(secret);
                }
                hits.entry(probe.kind)
                    .or_default()
                    .push((url.to_string(), proof.what));
            }
        }
    }
    for (kind, proofs) in &hits {
        findings.push(leak_finding(*kind, &subject, proofs));
    }

    // Version banners on anything this origin answered.
    let mut banners: Vec<String> = Vec::new();
    for (_, r) in &answers.responses {
        for name in errors::VERSION_HEADERS {
            for value in r.header_values(name) {
                let line = format!("{name}: {value}");
                if errors::discloses_version(&value) && !banners.contains(&line) {
                    banners.push(line);
                }
            }
        }
    }
    if !banners.is_empty() {
        findings.push(
            Finding::new(
                "hygiene.version-disclosed",
                Severity::Low,
                Outcome::Warn,
                &subject,
                "response headers disclose software versions",
            )
            .at(origin.as_str())
            .evidence(banners.join("; "))
            .fix(
                "drop the version from Server and remove X-Powered-By (Express: \
                 app.disable('x-powered-by'); nginx: server_tokens off)",
            ),
        );
    }

    let catch_all = baseline
        .as_ref()
        .is_some_and(|b| (200..300).contains(&b.status));
    if !answers.failed.is_empty() && findings.is_empty() {
        return SubjectRow::error(
            &subject,
            format!(
                "{} probes got no answer, so the origin cannot be cleared (first: {})",
                answers.failed.len(),
                answers.failed[0]
            ),
        );
    }
    SubjectRow::judged(&subject, findings)
        .measure("requests_answered", answers.responses.len() as u64)
        .measure("requests_failed", answers.failed.len() as u64)
        .measure("catch_all_200", catch_all)
        .measure("landing_status", landing.status)
}

fn leak_finding(kind: LeakKind, subject: &str, proofs: &[(String, String)]) -> Finding {
    let (severity, outcome, title, fix) = match kind {
        LeakKind::EnvFile => (
            Severity::High,
            Outcome::Fail,
            "an environment file is downloadable",
            "stop serving dotfiles (deny /\\. in the web server), move .env out of the web \
             root, and rotate every credential it held",
        ),
        LeakKind::GitRepo => (
            Severity::High,
            Outcome::Fail,
            "the git repository is downloadable",
            "deny /.git in the web server and deploy build artefacts, not the work tree",
        ),
        LeakKind::DsStore => (
            Severity::Low,
            Outcome::Warn,
            "a .DS_Store file lists the folder's file names",
            "delete .DS_Store files from the deployment and deny dotfiles",
        ),
        LeakKind::BackupFile => (
            Severity::Medium,
            Outcome::Fail,
            "a backup or editor copy of the page source is downloadable",
            "remove backup and swap files from the web root and deny *~, *.bak, *.swp",
        ),
        LeakKind::ServerStatus => (
            Severity::Medium,
            Outcome::Fail,
            "the web server's status page is public",
            "restrict server-status to localhost or the admin network",
        ),
        LeakKind::DebugConsole => (
            Severity::High,
            Outcome::Fail,
            "a framework debug or admin console is public",
            "disable debug endpoints in production (Spring: management.endpoints.web.exposure; \
             remove phpinfo files; APP_DEBUG=false) or put them behind authentication",
        ),
        LeakKind::Graphql => (
            Severity::Info,
            Outcome::Warn,
            "GraphQL introspection is enabled",
            "disable introspection in production unless the schema is meant to be public",
        ),
        LeakKind::ApiDocs => (
            Severity::Info,
            Outcome::Warn,
            "API documentation is public",
            "make sure publishing the API description is intended",
        ),
    };
    let evidence: Vec<String> = proofs
        .iter()
        .map(|(url, what)| format!("GET {url}: {what}"))
        .collect();
    let mut f = Finding::new(kind.code(), severity, outcome, subject, title)
        .evidence(evidence.join("; "))
        .fix(fix);
    if let Some((url, _)) = proofs.first() {
        f = f.at(url.clone());
    }
    f
}

/// Compares the production env file with the others, by key.
fn compare_env_files(ctx: &Context, prod: &EnvFileRef, others: &[EnvFileRef]) -> SubjectRow {
    let subject = prod.shown.clone();
    let read = |f: &EnvFileRef| {
        std::fs::read_to_string(&f.path)
            .map(|t| crate::envfile::parse(&t))
            .map_err(|e| format!("cannot read {}: {e}", f.path.display()))
    };
    let prod_file = match read(prod) {
        Ok(f) => f,
        Err(e) => return SubjectRow::error(&subject, e),
    };
    let mut other_files = Vec::new();
    for o in others {
        match read(o) {
            Ok(f) => other_files.push((o.shown.clone(), f)),
            Err(e) => return SubjectRow::error(&subject, e),
        }
    }
    for (_, file) in std::iter::once(&(String::new(), prod_file.clone())).chain(&other_files) {
        for e in &file.entries {
            if leaks::secret_bearing(&e.key) && e.value.expose().len() >= MIN_REGISTERED {
                ctx.net.redactor().register(e.value.expose());
            }
        }
    }
    if prod_file.entries.is_empty() {
        return SubjectRow::error(&subject, "the production env file has no KEY=value lines");
    }
    let problems = envcompare::compare(&prod_file, &other_files);
    let findings = problems
        .into_iter()
        .map(|p| env_finding(&subject, p))
        .collect();
    SubjectRow::judged(&subject, findings)
        .measure("keys", prod_file.keys().len() as u64)
        .measure("compared_with", other_files.len() as u64)
}

fn env_finding(subject: &str, p: envcompare::EnvProblem) -> Finding {
    let keys = p.keys.join(", ");
    let other = p.other.clone().unwrap_or_default();
    let (severity, outcome, title, evidence, fix) = match p.code {
        "hygiene.env-shared-secret" => (
            Severity::High,
            Outcome::Fail,
            "production shares secret values with another environment",
            format!(
                "{keys}: same value in {other} ({}; values not shown)",
                p.detail
            ),
            "give production its own credentials and rotate the shared ones",
        ),
        "hygiene.env-test-key" => (
            Severity::High,
            Outcome::Fail,
            "production is configured with test-mode keys or sandbox hosts",
            format!("{keys}: {} (values not shown)", p.detail),
            "use the provider's live keys and hosts in production",
        ),
        "hygiene.env-local-url" => (
            Severity::Medium,
            Outcome::Fail,
            "production URLs point at localhost or a private address",
            format!("{keys}: {} host (values not shown)", p.detail),
            "set the public production URLs; links and callbacks built from these break",
        ),
        "hygiene.env-debug-flag" => (
            Severity::High,
            Outcome::Fail,
            "production has debug or development settings on",
            format!("{keys}: {} (values not shown)", p.detail),
            "set DEBUG off and NODE_ENV/APP_ENV/RAILS_ENV to production",
        ),
        _ => (
            Severity::Medium,
            Outcome::Warn,
            "keys set in another environment are missing in production",
            format!("{keys}: {} ({other})", p.detail),
            "add the keys to production or remove them where they are unused",
        ),
    };
    Finding::new(p.code, severity, outcome, subject, title)
        .at(subject)
        .evidence(evidence)
        .fix(fix)
}
