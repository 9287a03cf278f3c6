//! The `input` check: onboarding and lookup endpoints reject invalid,
//! hostile and privileged input with a 4xx, never a 5xx, never by storing a
//! privileged field, and never by echoing markup unescaped.
//!
//! Each body field is mutated one at a time (catalogue in `mutations`), path
//! segments and query values too, plus whole-body cases and mass-assignment
//! fields. The order is a seeded shuffle so a run can be repeated; the seed
//! is in the row and in the run figures. Endpoints that write are probed only
//! under both write opt-ins, and every 2xx they give is listed as a possibly
//! created object so it can be cleaned up.
//!
//! A privileged field is judged in the answer to the write and, under the
//! write opt-ins, in a follow-up read of the object (its `Location`, or the
//! read endpoint `[[checks.input.read_back]]` names): an app that stores
//! `"role": "owner"` without echoing it is caught there. Endpoints that need
//! an identity that logs in use the audit's shared, memoised login.

pub mod config;
pub mod mutations;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bytes::Bytes;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use regex::Regex;
use serde_json::{Map, Value, json};

use crate::checks::access::request::encode_body;
use crate::checks::access::sessions::Credential;
use crate::checks::active::{build_request_with, credential_for, params_for, with_login_step};
use crate::debugpage::{self, DebugPage};
use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::{HttpRequest, HttpResponse, NetError};
use crate::profile::Profile;
use crate::profile::access::Endpoint;
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};
use crate::util::clip;
use mutations::{FieldKind, Mutation, Replacement};

pub struct InputCheck;

/// Endpoint kinds whose bodies are sent privileged fields.
const MASS_ASSIGNMENT_KINDS: &[&str] = &["signup", "invite_accept", "profile_update"];
/// Most created objects listed per endpoint.
const MAX_CREATED_LISTED: usize = 200;

#[async_trait]
impl Check for InputCheck {
    fn codes(&self) -> &'static [&'static str] {
        &[
            "input.database-error",
            "input.debug-page",
            "input.invalid-accepted",
            "input.mass-assignment",
            "input.reflected-markup",
            "input.server-error",
            "input.slow-response",
        ]
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "input",
            title: "Input validation of onboarding endpoints",
            verifies: "invalid, hostile and privileged input is rejected with a 4xx",
            criterion: "no 5xx, database error text or framework debug page, no 2xx for a \
                        value its kind makes invalid, no unescaped echo of markup, no \
                        privileged field taking effect",
            class: Class::Active,
            read_only: false,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let s = &profile.input;
        if !s.enabled {
            return Plan::skip("disabled in the profile ([checks.input] enabled = false)");
        }
        let targets = targets(profile);
        if targets.is_empty() {
            return Plan::skip("no [[endpoint]] with onboarding = true or kind = \"lookup\"");
        }
        let mut plan = Plan::default();
        plan = with_login_step(
            plan,
            profile,
            probed(profile).chain(read_endpoints(profile)),
        );
        for e in targets {
            if e.writes && !writes_allowed(profile) {
                continue;
            }
            let n = probes(profile, e, &mutations::marker(s.seed)).len() as u64;
            let reads = read_backs(profile, e);
            let what = format!(
                "baseline + {} mutations (seed {}){}",
                n.min(s.max_requests_per_endpoint.saturating_sub(1)),
                s.seed,
                if reads > 0 {
                    format!(" + up to {reads} follow-up reads of written objects")
                } else {
                    String::new()
                }
            );
            plan = plan.step(&e.name, &what, planned(profile, e), e.writes);
        }
        if plan.steps.is_empty() {
            return Plan::skip(
                "every onboarding endpoint writes; probing them needs [target] allow_writes \
                 = true and [checks.input] allow_writes = true",
            );
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let seed = ctx.profile.input.seed;
        tracing::info!(seed, "input: mutation seed");
        let endpoints: Vec<Endpoint> = targets(&ctx.profile).into_iter().cloned().collect();
        let mut rows = Vec::new();
        for (i, e) in endpoints.iter().enumerate() {
            rows.push(probe_endpoint(&ctx, e, i as u64).await);
        }
        rows
    }
}

/// The seed for the run figures: set when the check has something to probe.
pub fn run_seed(profile: &Profile, selected: bool) -> Option<u64> {
    (selected && profile.input.enabled && !targets(profile).is_empty())
        .then_some(profile.input.seed)
}

fn writes_allowed(p: &Profile) -> bool {
    p.target.allow_writes && p.input.allow_writes
}

fn targets(profile: &Profile) -> Vec<&Endpoint> {
    profile
        .endpoints
        .iter()
        .filter(|e| e.onboarding || e.kind.as_deref() == Some("lookup"))
        .collect()
}

/// The endpoints the check sends requests to (writers only under the opt-ins).
fn probed(profile: &Profile) -> impl Iterator<Item = &Endpoint> {
    targets(profile)
        .into_iter()
        .filter(|e| !e.writes || writes_allowed(profile))
}

/// The endpoints named to read written objects back (used under the opt-ins).
fn read_endpoints(profile: &Profile) -> impl Iterator<Item = &Endpoint> {
    let names: Vec<&str> = if writes_allowed(profile) {
        profile
            .input
            .read_back
            .iter()
            .filter(|r| r.token_pointer.is_none())
            .filter_map(|r| r.read.as_ref().map(|x| x.name.as_str()))
            .collect()
    } else {
        Vec::new()
    };
    profile
        .endpoints
        .iter()
        .filter(move |e| names.contains(&e.name.as_str()))
}

/// Whether the endpoint is sent privileged fields (mass assignment).
fn takes_privileged(e: &Endpoint) -> bool {
    e.body.is_some()
        && e.kind
            .as_deref()
            .is_some_and(|k| MASS_ASSIGNMENT_KINDS.contains(&k))
}

/// Most follow-up reads of one endpoint: one per privileged field, and only
/// under the write opt-ins (the reads look at objects the probes wrote).
fn read_backs(profile: &Profile, e: &Endpoint) -> u64 {
    if !writes_allowed(profile) || !takes_privileged(e) {
        return 0;
    }
    mutations::privileged(&other_tenant(profile, e)).len() as u64
}

/// Requests reserved for one endpoint: the baseline, the bounded probes and
/// the follow-up reads.
fn planned(profile: &Profile, e: &Endpoint) -> u64 {
    let n = probes(profile, e, &mutations::marker(profile.input.seed)).len() as u64;
    1 + n.min(profile.input.max_requests_per_endpoint.saturating_sub(1)) + read_backs(profile, e)
}

/// Where a probe changes the request.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Body(String),
    Path(String),
    Query(String),
    Whole,
}

impl Part {
    fn describe(&self) -> String {
        match self {
            Part::Body(f) => format!("body field `{f}`"),
            Part::Path(p) => format!("path segment `{{{p}}}`"),
            Part::Query(q) => format!("query parameter `{q}`"),
            Part::Whole => "whole body".to_string(),
        }
    }
}

/// One request to send and how to read its answer.
#[derive(Debug, Clone)]
struct Probe {
    part: Part,
    mutation: Mutation,
    /// Mass assignment: the privileged field and value sent.
    privileged: Option<(String, Value)>,
    /// Whole-body cases: a content type other than JSON, or a raw body.
    content_type: Option<&'static str>,
    raw_body: Option<String>,
    /// Send the same unique values as the previous request (duplicate case).
    duplicate: bool,
}

impl Probe {
    fn new(part: Part, mutation: Mutation) -> Probe {
        Probe {
            part,
            mutation,
            privileged: None,
            content_type: None,
            raw_body: None,
            duplicate: false,
        }
    }
}

fn other_tenant(profile: &Profile, e: &Endpoint) -> String {
    let own = e
        .owner
        .as_ref()
        .and_then(|o| profile.identities.iter().find(|i| &i.name == o))
        .and_then(|i| i.tenant.clone());
    profile
        .identities
        .iter()
        .find(|i| i.tenant.is_some() && i.tenant != own)
        .and_then(|i| i.params.get("org_id").cloned().or_else(|| i.tenant.clone()))
        .unwrap_or_else(|| "999999".to_string())
}

/// Every probe of an endpoint, unshuffled.
fn probes(profile: &Profile, e: &Endpoint, marker: &str) -> Vec<Probe> {
    let mut out = Vec::new();
    let body = e.body.as_ref().and_then(|t| t.shape().as_object().cloned());
    if let Some(body) = &body {
        for field in body.keys() {
            let kind = e
                .fields
                .get(field)
                .map(|k| FieldKind::parse(k))
                .unwrap_or(FieldKind::Unknown);
            let cases = if e.form {
                mutations::for_form_field(kind, marker)
            } else {
                mutations::for_field(kind, marker)
            };
            for m in cases {
                out.push(Probe::new(Part::Body(field.clone()), m));
            }
        }
        let whole = |name: &str| Mutation {
            name: name.to_string(),
            value: Replacement::Missing,
            invalid: false,
            marker: false,
        };
        let mut p = Probe::new(Part::Whole, whole("wrong content type (text/plain)"));
        p.content_type = Some("text/plain");
        out.push(p);
        if e.form {
            let mut p = Probe::new(Part::Whole, whole("malformed percent-encoding"));
            p.raw_body = Some("a=%zz&%E0%A4%A=1&=&&b".to_string());
            out.push(p);
            let mut p = Probe::new(Part::Whole, whole("20,000 repeated fields"));
            p.raw_body = Some("items=0&".repeat(20_000));
            out.push(p);
        } else {
            let mut p = Probe::new(Part::Whole, whole("JSON nested 10,000 levels deep"));
            p.raw_body = Some(format!(
                "{{\"nested\":{}{}}}",
                "[".repeat(10_000),
                "]".repeat(10_000)
            ));
            out.push(p);
            let mut p = Probe::new(Part::Whole, whole("array of 100,000 items"));
            p.raw_body = Some(format!("{{\"items\":[{}0]}}", "0,".repeat(99_999)));
            out.push(p);
        }
        let mut p = Probe::new(Part::Whole, whole("duplicate submission of unique values"));
        p.duplicate = true;
        out.push(p);
        if takes_privileged(e) {
            for (field, value) in mutations::privileged(&other_tenant(profile, e)) {
                let mut p = Probe::new(
                    Part::Body(field.to_string()),
                    whole(&format!("privileged field {field} = {value}")),
                );
                p.privileged = Some((field.to_string(), value));
                out.push(p);
            }
        }
    }
    for param in e.path_params() {
        for m in mutations::for_path_or_query(marker) {
            out.push(Probe::new(Part::Path(param.clone()), m));
        }
    }
    if let Some(query) = e.query.shape().as_object() {
        for key in query.keys() {
            for m in mutations::for_path_or_query(marker) {
                out.push(Probe::new(Part::Query(key.clone()), m));
            }
        }
    }
    out
}

/// Fresh unique test values for the email and slug fields of a body.
struct TestData {
    seed: u64,
    counter: u64,
    domain: String,
}

impl TestData {
    fn fill(&mut self, e: &Endpoint, body: &mut Map<String, Value>) -> Vec<String> {
        self.counter += 1;
        let mut used = Vec::new();
        for (field, kind) in &e.fields {
            if !body.contains_key(field) {
                continue;
            }
            let value = match FieldKind::parse(kind) {
                FieldKind::Email => {
                    format!("readiness+{:x}-{}@{}", self.seed, self.counter, self.domain)
                }
                FieldKind::Slug => format!("readiness-{:x}-{}", self.seed, self.counter),
                _ => continue,
            };
            used.push(value.clone());
            body.insert(field.clone(), Value::String(value));
        }
        used
    }
}

/// Finds the email domain for test data: the profile's, else the template's.
fn email_domain(profile: &Profile, e: &Endpoint, body: &Map<String, Value>) -> String {
    if let Some(d) = &profile.input.email_domain {
        return d.clone();
    }
    e.fields
        .iter()
        .filter(|(_, k)| FieldKind::parse(k) == FieldKind::Email)
        .find_map(|(f, _)| {
            body.get(f)
                .and_then(|v| v.as_str())
                .and_then(|v| v.rsplit_once('@'))
                .map(|(_, d)| d.to_string())
        })
        .unwrap_or_else(|| "example.invalid".to_string())
}

/// Text in a response that shows a database error leaked through: driver
/// exception names and the database's own syntax-error sentences, for the
/// usual engines (SQLite, PostgreSQL, MySQL/MariaDB, SQL Server, Oracle) and
/// the layers in front of them (SQLAlchemy, PDO, JDBC/Hibernate, Sequelize).
fn database_error(text: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let re = RE
        .get_or_init(|| {
            let signatures = [
                // SQLAlchemy and the Python drivers.
                r"sqlalchemy\.exc\.\w+",
                r"sqlite3\.\w*(error|warning)\b",
                r"psycopg2?\.(errors\.)?\w+",
                r"(mysqldb|pymysql|mysql\.connector)\.\w*error",
                // SQLite.
                r"sqlite_error",
                r"sqlite3::\w+",
                r"near \S+: syntax error",
                // PostgreSQL.
                r"syntax error at or near",
                r"unterminated quoted string at or near",
                r"pg::\w+error",
                r"org\.postgresql\.util\.psqlexception",
                // PHP PDO and the SQLSTATE codes every ANSI driver reports.
                r"pdoexception",
                r"sqlstate\[\w{5}\]",
                r"sqlstate[ =:]+[0-9a-z]{5}\b",
                // MySQL and MariaDB.
                r"you have an error in your sql syntax",
                r"check the manual that (corresponds to|fits) your (mysql|mariadb)",
                r"mysql_fetch|mysqli?_\w+\(\)",
                r"com\.mysql\.\w+",
                // SQL Server.
                r"unclosed quotation mark after the character string",
                r"incorrect syntax near",
                r"system\.data\.sqlclient\.sqlexception",
                r"odbc (sql server )?driver",
                // Oracle.
                r"\bora-\d{5}\b",
                r"quoted string not properly terminated",
                // JDBC, Hibernate, Sequelize.
                r"java\.sql\.sql\w*exception",
                r"org\.hibernate",
                r"sequelizedatabaseerror",
            ];
            Regex::new(&format!("(?i)({})", signatures.join("|"))).ok()
        })
        .as_ref()?;
    re.find(text).map(|m| m.as_str().to_string())
}

/// Whether the (HTML) response carries the marker unescaped.
fn echoes_marker(r: &HttpResponse, marker: &str) -> bool {
    r.content_type().contains("html") && r.text().contains(marker)
}

/// Whether a response (JSON, at any depth) shows `field` holding `value`.
fn shows_field(v: &Value, field: &str, value: &Value) -> bool {
    match v {
        Value::Object(map) => map
            .iter()
            .any(|(k, x)| (k == field && x == value) || shows_field(x, field, value)),
        Value::Array(a) => a.iter().any(|x| shows_field(x, field, value)),
        _ => false,
    }
}

/// One piece of evidence, grouped by (code, part).
type Evidence = BTreeMap<(&'static str, Part), Vec<String>>;

fn excerpt(r: &HttpResponse) -> String {
    let text = r.text().replace(['\n', '\r'], " ");
    clip(text.trim(), 120)
}

async fn probe_endpoint(ctx: &Context, e: &Endpoint, index: u64) -> SubjectRow {
    let subject = e.name.clone();
    let s = ctx.profile.input.clone();
    if e.writes && !writes_allowed(&ctx.profile) {
        return SubjectRow::skip(
            &subject,
            format!(
                "`{}` writes; probing it needs [target] allow_writes = true and \
                 [checks.input] allow_writes = true",
                e.name
            ),
        );
    }
    let credential = match credential_for(&ctx.net, &ctx.profile, e).await {
        Ok(c) => c,
        Err(missing) => return missing.row(&subject),
    };
    let marker = mutations::marker(s.seed);
    let mut all = probes(&ctx.profile, e, &marker);
    let mut rng = StdRng::seed_from_u64(s.seed.wrapping_add(index));
    all.shuffle(&mut rng);
    all.truncate(s.max_requests_per_endpoint.saturating_sub(1) as usize);

    let base_body = e
        .body
        .as_ref()
        .and_then(|t| t.render().as_object().cloned());
    let params = params_for(&ctx.profile, e);
    let mut data = TestData {
        seed: s.seed,
        counter: 0,
        domain: email_domain(&ctx.profile, e, base_body.as_ref().unwrap_or(&Map::new())),
    };
    let timeout = ctx.profile.target.timeout;
    let stop_at = ctx
        .deadline
        .checked_sub(timeout + Duration::from_millis(500))
        .unwrap_or_else(Instant::now);
    let location_of = |req: &HttpRequest| format!("{} {}", req.method, req.url.path());
    let mut created: Vec<Value> = Vec::new();
    let mut last_unique: Option<Map<String, Value>> = None;

    // The baseline: the profile's request with fresh unique values.
    let baseline_body = base_body.clone().map(|mut b| {
        let used = data.fill(e, &mut b);
        last_unique = Some(b.clone());
        (b, used)
    });
    let baseline_req = match build_request_with(
        &ctx.profile,
        e,
        &params,
        None,
        baseline_body
            .as_ref()
            .map(|(b, _)| Bytes::from(encode(e, b.clone()))),
        credential.as_ref(),
    ) {
        Ok(r) => in_encoding_of(e, r),
        Err(reason) => return SubjectRow::skip(&subject, reason),
    };
    let location = location_of(&baseline_req);
    let baseline = match ctx.net.send(baseline_req.clone()).await {
        Ok(r) => r,
        Err(err) => {
            return SubjectRow::error(
                &subject,
                format!("the baseline request got no answer ({err}); nothing to compare"),
            );
        }
    };
    if baseline.status >= 500 {
        return SubjectRow::error(
            &subject,
            format!(
                "the baseline request (the profile's own values) answered HTTP {}; fix the \
                 endpoint or its template first",
                baseline.status
            ),
        );
    }
    note_created(
        e,
        &baseline,
        baseline_body.as_ref().map(|(_, u)| u),
        &mut created,
    );
    let baseline_ok = (200..400).contains(&baseline.status);
    let baseline_time = baseline.elapsed;
    let mut debug = DebugPages::default();
    debug.judge("the baseline request", &baseline);

    let mut evidence: Evidence = BTreeMap::new();
    let mut reads = ReadBacks::default();
    let mut sent = 1u64;
    let mut answered = 1u64;
    for probe in &all {
        if ctx.cancel.is_cancelled() || Instant::now() >= stop_at {
            break;
        }
        let built = build_probe(
            ctx,
            e,
            &params,
            probe,
            &mut data,
            &mut last_unique,
            credential.as_ref(),
        );
        let (req, used) = match built {
            Ok(x) => x,
            Err(_) => continue,
        };
        let result = ctx.net.send(req).await;
        sent += 1;
        let r = match result {
            Ok(r) => r,
            Err(NetError::Budget | NetError::Cancelled) => break,
            Err(NetError::Timeout(ms)) => {
                evidence
                    .entry(("input.slow-response", probe.part.clone()))
                    .or_default()
                    .push(format!("{}: no answer within {ms} ms", probe.mutation.name));
                continue;
            }
            Err(_) => continue,
        };
        answered += 1;
        note_created(e, &r, used.as_ref(), &mut created);
        debug.judge(&probe.mutation.name, &r);
        judge(
            probe,
            &r,
            &marker,
            baseline_ok,
            baseline_time,
            s.slow_factor,
            &mut evidence,
        );

        // A privileged field the answer does not show may still have been stored.
        if let Some((field, value)) = &probe.privileged
            && writes_allowed(&ctx.profile)
            && (200..300).contains(&r.status)
            && !shows_field(&json_of(&r), field, value)
        {
            reads.attempted += 1;
            match read_back(ctx, e, &r, credential.as_ref()).await {
                Ok((what, read)) if !(200..300).contains(&read.status) => {
                    if reads.problems.len() < 3 {
                        reads
                            .problems
                            .push(format!("{what} answered HTTP {}", read.status));
                    }
                }
                Ok((what, read)) => {
                    if shows_field(&json_of(&read), field, value) {
                        evidence
                            .entry(("input.mass-assignment", probe.part.clone()))
                            .or_default()
                            .push(format!(
                                "{field} = {value} -> HTTP {} without it; the read back {what} \
                                 -> HTTP {} shows {field} = {value}",
                                r.status, read.status
                            ));
                    } else {
                        reads.clean += 1;
                    }
                }
                Err(reason) => {
                    if reads.problems.len() < 3 {
                        reads.problems.push(reason);
                    }
                }
            }
        }
    }

    if answered <= 1 && sent > 1 {
        return SubjectRow::error(
            &subject,
            format!("none of the {} mutation requests was answered", sent - 1),
        );
    }
    let mut findings: Vec<Finding> = evidence
        .into_iter()
        .map(|((code, part), items)| finding(code, &subject, &part, &location, &items))
        .collect();
    findings.extend(debug.finding(&subject, &location));
    let mut row = SubjectRow::judged(&subject, findings);
    row.reason = Some(format!(
        "{sent} requests (baseline HTTP {}), seed {} (repeat with [checks.input] seed = {}){}",
        baseline.status,
        s.seed,
        s.seed,
        if created.is_empty() {
            String::new()
        } else {
            format!(
                "; {} objects may have been created (listed in the report)",
                created.len()
            )
        }
    ));
    row = row
        .measure("seed", s.seed)
        .measure("requests", sent)
        .measure("mutations_planned", all.len() as u64)
        .measure("baseline_status", baseline.status);
    if !created.is_empty() {
        row = row.measure("created", Value::Array(created));
    }
    if reads.attempted > 0 {
        row = row.measure(
            "read_backs",
            json!({"attempted": reads.attempted, "clean": reads.clean, "problems": reads.problems}),
        );
    }
    row
}

/// Framework debug pages in the endpoint's 4xx/5xx answers: one finding per
/// endpoint (debug mode is the app's setting, not a field's).
#[derive(Debug, Default)]
struct DebugPages {
    /// The first page seen, which names the framework.
    first: Option<DebugPage>,
    /// Some page offered a code console.
    console: bool,
    /// `case -> HTTP status` of each answer that was a debug page.
    seen: Vec<String>,
}

impl DebugPages {
    fn judge(&mut self, case: &str, r: &HttpResponse) {
        if r.status < 400 {
            return;
        }
        let Some(page) = debugpage::detect(&r.text()) else {
            return;
        };
        self.console |= page.console;
        self.seen.push(format!(
            "{case} -> HTTP {}: {} (`{}`)",
            r.status,
            page.describe(),
            page.snippet
        ));
        if self.first.is_none() || (page.console && !self.first.as_ref().is_some_and(|f| f.console))
        {
            self.first = Some(page);
        }
    }

    fn finding(&self, subject: &str, location: &str) -> Option<Finding> {
        let page = self.first.as_ref()?;
        let (severity, title) = if self.console {
            (
                Severity::Critical,
                format!(
                    "error answers are the {} page with a console that runs code on the \
                     server (remote code execution)",
                    page.framework
                ),
            )
        } else {
            (
                Severity::High,
                format!(
                    "error answers are a framework debug page ({}): stack traces and \
                     internals leak",
                    page.framework
                ),
            )
        };
        let shown: Vec<&str> = self.seen.iter().take(4).map(String::as_str).collect();
        let mut evidence = shown.join("; ");
        if self.seen.len() > shown.len() {
            evidence.push_str(&format!("; and {} more", self.seen.len() - shown.len()));
        }
        Some(
            Finding::new("input.debug-page", severity, Outcome::Fail, subject, title)
                .at(location)
                .evidence(evidence)
                .fix(
                    "Turn debug mode off in production (Flask: debug=False and no \
                     FLASK_DEBUG; Django: DEBUG = False; Laravel: APP_DEBUG=false; Rails: \
                     consider_all_requests_local = false and no web-console; Symfony: \
                     APP_ENV=prod) and serve a generic error page; log details server-side.",
                ),
        )
    }
}

/// Follow-up reads of written objects, for the row's measurements.
#[derive(Debug, Default)]
struct ReadBacks {
    /// Privileged writes answered 2xx without the field: reads tried.
    attempted: u64,
    /// Reads answered 2xx that did not show the privileged value.
    clean: u64,
    /// Why some reads could not be made or answered (first few).
    problems: Vec<String>,
}

fn json_of(r: &HttpResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap_or(Value::Null)
}

/// An id or token at a JSON pointer, as text (strings and numbers).
fn text_at(body: &Value, pointer: &str) -> Option<String> {
    match body.pointer(pointer)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Reads back the object a write created or updated: through the endpoint
/// the profile names for it (the id from the answer), else the answer's
/// `Location`. Returns what was read (`GET /path`) and the answer.
async fn read_back(
    ctx: &Context,
    e: &Endpoint,
    written: &HttpResponse,
    write_credential: Option<&Credential>,
) -> Result<(String, HttpResponse), String> {
    let profile = &ctx.profile;
    let how = profile.input.read_back_of(&e.name);
    let body = json_of(written);
    let token = match &how.token_pointer {
        Some(p) => {
            let token = text_at(&body, p)
                .ok_or_else(|| format!("no token at `{p}` in the answer to the write"))?;
            ctx.net.redactor().register(&token);
            Some(Credential::bearer(&token))
        }
        None => None,
    };
    let req = match &how.read {
        Some(r) => {
            let Some(reader) = profile.endpoints.iter().find(|x| x.name == r.name) else {
                return Err(format!("no [[endpoint]] is named `{}`", r.name));
            };
            let id = text_at(&body, &r.id_pointer)
                .ok_or_else(|| format!("no id at `{}` in the answer to the write", r.id_pointer))?;
            let mut params = params_for(profile, reader);
            let mut query = reader.query.render();
            if r.id_in_path {
                params.insert(r.id_param.clone(), id);
            } else if let Some(map) = query.as_object_mut() {
                map.insert(r.id_param.clone(), Value::String(id));
            }
            let credential = match token {
                Some(t) => Some(t),
                None => credential_for(&ctx.net, profile, reader)
                    .await
                    .map_err(|missing| match missing {
                        crate::checks::active::NoCredential::NotConfigured(reason) => reason,
                        crate::checks::active::NoCredential::LoginFailed { identity, reason } => {
                            format!("login of identity `{identity}` failed: {reason}")
                        }
                    })?,
            };
            let body = reader
                .body
                .as_ref()
                .map(|t| Bytes::from(encode_body(reader, &t.render()).1));
            in_encoding_of(
                reader,
                build_request_with(
                    profile,
                    reader,
                    &params,
                    Some(&query),
                    body,
                    credential.as_ref(),
                )?,
            )
        }
        None => {
            let location = written
                .header("location")
                .ok_or("the answer to the write has no Location header to read back")?;
            let url = written
                .url
                .join(location.trim())
                .map_err(|err| format!("its Location `{location}` is not a URL: {err}"))?;
            let req = HttpRequest::get(url);
            match token.as_ref().or(write_credential) {
                Some(c) => c.apply(req),
                None => req,
            }
        }
    };
    let what = format!("{} {}", req.method, req.url.path());
    let res = ctx
        .net
        .send(req)
        .await
        .map_err(|err| format!("{what}: {err}"))?;
    Ok((what, res))
}

/// Builds a probe's request; returns the unique values it used.
fn build_probe(
    ctx: &Context,
    e: &Endpoint,
    params: &BTreeMap<String, String>,
    probe: &Probe,
    data: &mut TestData,
    last_unique: &mut Option<Map<String, Value>>,
    credential: Option<&Credential>,
) -> Result<(HttpRequest, Option<Vec<String>>), String> {
    let mut params = params.clone();
    let mut query = e.query.render();
    let mut used = None;
    let mut body_text: Option<String> = None;
    if let Some(base) = e
        .body
        .as_ref()
        .and_then(|t| t.render().as_object().cloned())
    {
        let mut base = base;
        if probe.duplicate {
            if let Some(prev) = last_unique.clone() {
                base = prev;
            }
        } else {
            used = Some(data.fill(e, &mut base));
            *last_unique = Some(base.clone());
        }
        body_text = Some(match (&probe.part, &probe.privileged, &probe.raw_body) {
            (_, _, Some(raw)) => raw.clone(),
            (_, Some((field, value)), _) => {
                base.insert(field.clone(), value.clone());
                encode(e, base)
            }
            (Part::Body(field), None, None) if e.form => {
                mutations::form_body_with(&base, field, &probe.mutation.value)
            }
            (Part::Body(field), None, None) => {
                mutations::body_with(&base, field, &probe.mutation.value)
            }
            _ => encode(e, base),
        });
    }
    let text_of = |r: &Replacement| match r {
        Replacement::Json(Value::String(s)) => s.clone(),
        Replacement::Json(v) => v.to_string(),
        Replacement::Raw(s) => s.clone(),
        Replacement::Missing => String::new(),
    };
    match &probe.part {
        Part::Path(p) => {
            params.insert(p.clone(), text_of(&probe.mutation.value));
        }
        Part::Query(q) => {
            if let Some(map) = query.as_object_mut() {
                map.insert(q.clone(), Value::String(text_of(&probe.mutation.value)));
            }
        }
        _ => {}
    }
    let mut req = in_encoding_of(
        e,
        build_request_with(
            &ctx.profile,
            e,
            &params,
            Some(&query),
            body_text.map(Bytes::from),
            credential,
        )?,
    );
    if let Some(ct) = probe.content_type {
        req.headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
        req = req.header("content-type", ct);
    }
    Ok((req, used))
}

/// A body in the endpoint's own encoding: JSON, or form fields for `form = {...}`.
fn encode(e: &Endpoint, body: Map<String, Value>) -> String {
    encode_body(e, &Value::Object(body)).1
}

/// Gives a request with a body the endpoint's own content type (the shared
/// builder labels every body JSON).
pub fn in_encoding_of(e: &Endpoint, mut req: HttpRequest) -> HttpRequest {
    if !e.form || req.body.is_none() {
        return req;
    }
    let (content_type, _) = encode_body(e, &Value::Null);
    req.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
    req.header("content-type", content_type)
}

/// Lists a 2xx answer of a writing endpoint as a possibly created object.
fn note_created(e: &Endpoint, r: &HttpResponse, used: Option<&Vec<String>>, out: &mut Vec<Value>) {
    if !e.writes || !(200..300).contains(&r.status) || out.len() >= MAX_CREATED_LISTED {
        return;
    }
    let id = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v.get("id").cloned());
    out.push(json!({
        "endpoint": e.name,
        "status": r.status,
        "id": id,
        "test_values": used.cloned().unwrap_or_default(),
    }));
}

fn judge(
    probe: &Probe,
    r: &HttpResponse,
    marker: &str,
    baseline_ok: bool,
    baseline_time: Duration,
    slow_factor: f64,
    evidence: &mut Evidence,
) {
    let name = &probe.mutation.name;
    let mut add = |code: &'static str, text: String| {
        evidence
            .entry((code, probe.part.clone()))
            .or_default()
            .push(text);
    };
    if r.status >= 500 {
        add(
            "input.server-error",
            format!("{name} -> HTTP {} `{}`", r.status, excerpt(r)),
        );
    }
    if let Some(text) = database_error(&r.text()) {
        add(
            "input.database-error",
            format!("{name} -> HTTP {} with `{text}` in the body", r.status),
        );
    }
    if probe.mutation.marker && echoes_marker(r, marker) {
        add(
            "input.reflected-markup",
            format!("{name} -> HTTP {} HTML with the marker unescaped", r.status),
        );
    }
    if let Some((field, value)) = &probe.privileged {
        let body: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        if (200..300).contains(&r.status) && shows_field(&body, field, value) {
            add(
                "input.mass-assignment",
                format!("{field} = {value} -> HTTP {} `{}`", r.status, excerpt(r)),
            );
        }
    }
    if baseline_ok && probe.mutation.invalid && (200..300).contains(&r.status) {
        add(
            "input.invalid-accepted",
            format!("{name} -> HTTP {}", r.status),
        );
    }
    let slow = baseline_time.as_secs_f64() * slow_factor;
    if r.elapsed.as_secs_f64() > slow.max(1.0) {
        add(
            "input.slow-response",
            format!(
                "{name} -> {} ms (baseline {} ms)",
                r.elapsed.as_millis(),
                baseline_time.as_millis()
            ),
        );
    }
}

fn finding(code: &str, subject: &str, part: &Part, location: &str, items: &[String]) -> Finding {
    let (severity, outcome, title, fix) = match code {
        "input.server-error" => (
            Severity::High,
            Outcome::Fail,
            "answers 5xx to malformed input",
            "Validate input at the edge and map validation errors to 400/422; a 5xx means \
             the value reached code that did not expect it.",
        ),
        "input.database-error" => (
            Severity::High,
            Outcome::Fail,
            "a database error leaked for crafted input (possible SQL injection)",
            "Use parameterised queries (never build SQL from request text) and return a \
             generic error; never send driver messages to the client.",
        ),
        "input.reflected-markup" => (
            Severity::Critical,
            Outcome::Fail,
            "echoes submitted markup unescaped in HTML",
            "Escape every user value for its HTML context (use the template engine's \
             auto-escaping) and add a strict Content-Security-Policy.",
        ),
        "input.mass-assignment" => (
            Severity::Critical,
            Outcome::Fail,
            "accepts a privileged field from the request body",
            "Bind request bodies to an explicit allow-list of fields; set roles, plans, \
             verification and tenant ids only on the server.",
        ),
        "input.invalid-accepted" => (
            Severity::Medium,
            Outcome::Fail,
            "accepts values its kind makes invalid",
            "Validate type, length, character set and syntax of the field on the server \
             and answer 400/422.",
        ),
        _ => (
            Severity::Low,
            Outcome::Warn,
            "answers far slower than the baseline for some input",
            "Bound the work per request (input length limits, timeouts) so crafted input \
             cannot tie up workers.",
        ),
    };
    let shown: Vec<&String> = items.iter().take(4).collect();
    let more = items.len().saturating_sub(shown.len());
    let mut ev = shown
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    if more > 0 {
        ev.push_str(&format!("; and {more} more"));
    }
    Finding::new(
        code,
        severity,
        outcome,
        subject,
        format!("{}: {title}", part.describe()),
    )
    .at(format!("{location} ({})", part.describe()))
    .evidence(ev)
    .fix(fix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_errors_are_recognised_both_ways() {
        for (text, want) in [
            ("SQLITE_ERROR: near \"'\": syntax error", "SQLITE_ERROR"),
            (
                "ERROR: syntax error at or near \"'\"",
                "syntax error at or near",
            ),
            (
                "You have an error in your SQL syntax; check",
                "You have an error",
            ),
            (
                "<title>sqlalchemy.exc.OperationalError: (sqlite3.OperationalError) \
                 unrecognized token: \"'\"</title>",
                "sqlalchemy.exc.OperationalError",
            ),
            (
                "sqlite3.OperationalError: unrecognized token",
                "sqlite3.OperationalError",
            ),
            (
                "psycopg2.errors.SyntaxError: syntax error at or near",
                "psycopg2.errors.SyntaxError",
            ),
            (
                "PDOException: SQLSTATE[42000]: Syntax error or access violation",
                "PDOException",
            ),
            ("SQLSTATE[42601]: Syntax error", "SQLSTATE[42601]"),
            (
                "ORA-01756: quoted string not properly terminated",
                "ORA-01756",
            ),
            (
                "check the manual that corresponds to your MariaDB server version for \
                 the right syntax to use near 'x' at line 1",
                "check the manual that corresponds to your MariaDB",
            ),
            (
                "Unclosed quotation mark after the character string 'x'.",
                "Unclosed quotation mark after the character string",
            ),
        ] {
            let got = database_error(text).unwrap_or_else(|| panic!("missed: {text}"));
            assert!(got.starts_with(want), "{text}: {got}");
        }
        for text in [
            "{\"error\":\"name must be 1-100 characters\"}",
            "Syntax of the slug is invalid",
            "{\"message\":\"The SQL reporting feature is in beta; ask support\"}",
            "<p>We store data in PostgreSQL and SQLite; quotes are fine in names.</p>",
            "{\"error\":\"invalid query parameter `sort`\"}",
            "Order ORA-1234 shipped",
        ] {
            assert_eq!(database_error(text), None, "{text}");
        }
    }

    #[test]
    fn privileged_fields_are_found_at_any_depth() {
        let v: Value = serde_json::from_str(r#"{"user":{"role":"owner"}}"#).unwrap();
        assert!(shows_field(&v, "role", &json!("owner")));
        let v: Value = serde_json::from_str(r#"{"user":{"role":"member"}}"#).unwrap();
        assert!(!shows_field(&v, "role", &json!("owner")));
    }

    #[test]
    fn seeded_order_is_repeatable() {
        let mut a: Vec<u32> = (0..50).collect();
        let mut b = a.clone();
        a.shuffle(&mut StdRng::seed_from_u64(7));
        b.shuffle(&mut StdRng::seed_from_u64(7));
        assert_eq!(a, b);
        let mut c: Vec<u32> = (0..50).collect();
        c.shuffle(&mut StdRng::seed_from_u64(8));
        assert_ne!(a, c);
    }
}
