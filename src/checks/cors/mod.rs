//! The `cors` check: only the allowed front ends (`[checks.cors]
//! allowed_origins`) are granted cross-origin access; no foreign, `null` or
//! look-alike origin is reflected, least of all with credentials.
//!
//! For the API base and every authenticated endpoint, each probe origin is
//! sent on a simple request (with the owner's credential, as a browser would
//! send cookies; skipped for mutating endpoints) and on a preflight
//! (`OPTIONS`, never a write). Pages on public hosting services (github.io,
//! vercel.app, codepen.io...) are sent once per subject (the simple request,
//! or the preflight for mutating endpoints), so an allow-list that trusts a
//! hosting suffix is caught at a bounded cost. An allowed origin that is the
//! target's own origin is not demanded a grant: same-origin calls need no
//! CORS. Answers are judged in [`verdict`].

pub mod config;
pub mod verdict;

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::checks::access::request::{self, Ids};
use crate::checks::access::sessions::{self, Sessions};
use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::{HttpRequest, NetError};
use crate::profile::Profile;
use crate::profile::access::{AuthRequirement, Endpoint};
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};
use verdict::{Answer, Issue, ProbeKind, ProbeOrigin};

pub struct CorsCheck;

#[async_trait]
impl Check for CorsCheck {
    fn codes(&self) -> &'static [&'static str] {
        &[
            "cors.allowed-origin-refused",
            "cors.null-origin-trusted",
            "cors.origin-reflected",
            "cors.origin-reflected-with-credentials",
            "cors.subdomain-trusted",
            "cors.vary-origin-missing",
            "cors.wildcard-origin",
            "cors.wildcard-with-credentials",
        ]
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "cors",
            title: "Cross-origin access (CORS)",
            verifies: "only the allowed front-end origins may read the API from a browser",
            criterion: "no foreign, null or look-alike Origin is reflected in \
                        Access-Control-Allow-Origin with credentials; origin-dependent answers \
                        carry Vary: Origin; allowed origins are granted",
            class: Class::Access,
            read_only: false,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        if !profile.cors.enabled {
            return Plan::skip("disabled in the profile ([checks.cors] enabled = false)");
        }
        if authenticated(profile).next().is_none() && profile.cors.allowed_origins.is_empty() {
            return Plan::skip(
                "no authenticated [[endpoint]] and no [checks.cors] allowed_origins: nothing \
                 private is declared to protect",
            );
        }
        let origins = origins(profile).len() as u64;
        let hosting = verdict::hosting_origins(&profile.cors.allowed_origins).len() as u64;
        let mut plan = Plan::default();
        let logins = sessions::login_requests(profile);
        if logins > 0 && authenticated(profile).next().is_some() {
            plan = plan.step("identities", "log every identity in", logins, false);
        }
        plan = plan.step(
            &base_subject(profile),
            "simple GET and preflight per probe origin, a simple GET per hosting-service origin",
            2 * origins + hosting,
            false,
        );
        for e in authenticated(profile) {
            let per = if e.writes { 1 } else { 2 };
            plan = plan.step(
                &e.name,
                if e.writes {
                    "preflight (OPTIONS) per probe and hosting-service origin"
                } else {
                    "simple request and preflight per probe origin, a simple request per \
                     hosting-service origin"
                },
                per * origins + hosting,
                false,
            );
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let profile = ctx.profile.clone();
        let origins = all_origins(&profile);
        let sessions = if authenticated(&profile).next().is_some() {
            sessions::establish(&ctx.net, &profile).await
        } else {
            Sessions {
                credentials: BTreeMap::new(),
                failures: Vec::new(),
            }
        };
        let mut rows = sessions.failures.clone();
        let base = HttpRequest::get(profile.target.base_url.clone());
        rows.push(audit_subject(&ctx, &base_subject(&profile), base, true, false, &origins).await);
        for endpoint in authenticated(&profile) {
            rows.push(audit_endpoint(&ctx, &profile, &sessions, endpoint, &origins).await);
        }
        rows
    }
}

/// The probe origins, then the hosting-service ones (sent once per subject).
fn origins(profile: &Profile) -> Vec<ProbeOrigin> {
    verdict::probe_origins(&profile.cors.allowed_origins, &profile.target.base_url)
}

fn all_origins(profile: &Profile) -> Vec<ProbeOrigin> {
    let mut all = origins(profile);
    all.extend(verdict::hosting_origins(&profile.cors.allowed_origins));
    all
}

fn base_subject(profile: &Profile) -> String {
    profile.target.base_url.to_string()
}

fn authenticated(profile: &Profile) -> impl Iterator<Item = &Endpoint> {
    profile
        .endpoints
        .iter()
        .filter(|e| e.auth == AuthRequirement::Required)
}

async fn audit_endpoint(
    ctx: &Context,
    profile: &Profile,
    sessions: &Sessions,
    endpoint: &Endpoint,
    origins: &[ProbeOrigin],
) -> SubjectRow {
    let subject = endpoint.name.as_str();
    let caller = sessions::caller(profile, sessions, endpoint);
    let params = request::owner_params(endpoint, caller);
    let req = match request::build(profile, endpoint, &Ids::same(&params)) {
        Ok(r) => r,
        Err(e) => return SubjectRow::skip(subject, e),
    };
    let req = match caller.and_then(|c| sessions.get(&c.name)) {
        Some(cred) => cred.apply(req),
        None => req,
    };
    // Only a cross-origin front end needs a grant; the target's own origin does not.
    let must_grant = origins.iter().any(|o| o.kind == ProbeKind::Allowed);
    audit_subject(ctx, subject, req, !endpoint.writes, must_grant, origins).await
}

/// Sends every probe origin (simple and preflight) and judges the answers.
async fn audit_subject(
    ctx: &Context,
    subject: &str,
    req: HttpRequest,
    simple: bool,
    must_grant: bool,
    origins: &[ProbeOrigin],
) -> SubjectRow {
    let authenticated = req
        .headers
        .iter()
        .any(|(k, _)| k == "authorization" || k == "cookie");
    // code -> (severity, outcome, evidence lines)
    let mut issues: BTreeMap<&'static str, (Severity, Outcome, Vec<String>)> = BTreeMap::new();
    let mut answered = 0u64;
    let mut allowed_granted = false;
    let mut reflects_any = false;
    for probe in origins {
        let mut requests = Vec::new();
        // A hosting-service origin gets one request: the simple one where it can be sent.
        let one_only = probe.kind == ProbeKind::Hosting;
        if simple {
            requests.push(("simple", req.clone().header("origin", &probe.origin)));
        }
        let mut pre = HttpRequest::get(req.url.clone())
            .header("origin", &probe.origin)
            .header("access-control-request-method", req.method.as_str())
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            );
        pre.method = http::Method::OPTIONS;
        if !(one_only && simple) {
            requests.push(("preflight", pre));
        }
        for (how, r) in requests {
            let res = match ctx.net.send(r).await {
                Ok(res) => res,
                Err(e @ (NetError::Timeout(_) | NetError::Connect(_) | NetError::Tls(_))) => {
                    return SubjectRow::error(subject, format!("the target did not answer: {e}"));
                }
                Err(_) => continue,
            };
            answered += 1;
            let answer = Answer::of(&res);
            if probe.kind == ProbeKind::Allowed && answer.reflects(&probe.origin) {
                allowed_granted = true;
            }
            if probe.kind == ProbeKind::Foreign && answer.reflects(&probe.origin) {
                reflects_any = true;
            }
            for Issue {
                code,
                severity,
                outcome,
            } in verdict::classify(probe.kind, &probe.origin, &answer, authenticated)
            {
                let line = format!(
                    "{how} with Origin: {} ({}) -> Access-Control-Allow-Origin: {}{}",
                    probe.origin,
                    probe.kind.label(),
                    answer.acao.clone().unwrap_or_default(),
                    if answer.acac {
                        ", Allow-Credentials: true"
                    } else {
                        ""
                    }
                );
                let entry = issues
                    .entry(code)
                    .or_insert((severity, outcome, Vec::new()));
                entry.0 = entry.0.max(severity);
                entry.1 = entry.1.max(outcome);
                entry.2.push(line);
            }
        }
    }
    if answered == 0 {
        return SubjectRow::error(subject, "no probe got an answer");
    }
    if reflects_any {
        fold_into_reflection(&mut issues);
    }
    if must_grant && !allowed_granted {
        issues.insert(
            "cors.allowed-origin-refused",
            (
                Severity::Low,
                Outcome::Warn,
                vec![format!(
                    "neither the simple request nor the preflight from {} was granted",
                    origins.first().map(|o| o.origin.as_str()).unwrap_or("")
                )],
            ),
        );
    }
    let findings = issues
        .into_iter()
        .map(|(code, (severity, outcome, lines))| {
            Finding::new(code, severity, outcome, subject, title_of(code))
                .evidence(lines.join("; "))
                .fix(fix_of(code))
                .at(req.url.path())
        })
        .collect();
    SubjectRow::judged(subject, findings).measure("answers", answered)
}

/// A server that echoes any origin also echoes `null`, subdomains and
/// look-alikes: one finding (the worst reflection) says it, with every origin
/// in its evidence.
fn fold_into_reflection(issues: &mut BTreeMap<&'static str, (Severity, Outcome, Vec<String>)>) {
    const REFLECTIONS: &[&str] = &[
        "cors.origin-reflected-with-credentials",
        "cors.origin-reflected",
        "cors.null-origin-trusted",
        "cors.subdomain-trusted",
    ];
    let Some(main) = REFLECTIONS
        .iter()
        .take(2)
        .find(|c| issues.contains_key(**c))
        .copied()
    else {
        return;
    };
    for code in REFLECTIONS.iter().filter(|c| **c != main) {
        if let Some((sev, out, lines)) = issues.remove(code)
            && let Some(entry) = issues.get_mut(main)
        {
            entry.0 = entry.0.max(sev);
            entry.1 = entry.1.max(out);
            entry.2.extend(lines);
        }
    }
}

fn title_of(code: &str) -> &'static str {
    match code {
        "cors.origin-reflected-with-credentials" => {
            "a foreign or look-alike origin is granted credentialed access: any site can read \
             the user's data"
        }
        "cors.null-origin-trusted" => {
            "the `null` origin is trusted with credentials: sandboxed iframes and data: pages \
             can read the user's data"
        }
        "cors.origin-reflected" => "a foreign or look-alike origin is reflected (no credentials)",
        "cors.wildcard-with-credentials" => {
            "`*` with Allow-Credentials: browsers refuse it; the policy is broken"
        }
        "cors.wildcard-origin" => "any origin may read anonymous responses (`*`)",
        "cors.subdomain-trusted" => "every subdomain of the allowed host is trusted",
        "cors.vary-origin-missing" => {
            "the answer depends on Origin but lacks `Vary: Origin` (cache poisoning)"
        }
        _ => "the allowed front-end origin is not granted",
    }
}

fn fix_of(code: &str) -> &'static str {
    match code {
        "cors.vary-origin-missing" => "Send `Vary: Origin` whenever ACAO depends on the request.",
        "cors.allowed-origin-refused" => {
            "Grant the front end in the CORS policy, or remove it from allowed_origins."
        }
        "cors.wildcard-origin" | "cors.wildcard-with-credentials" => {
            "Keep `*` for public, anonymous data only; for private data list exact origins."
        }
        "cors.subdomain-trusted" => {
            "Trust exact origins; a takeover or XSS on any subdomain otherwise reads the API."
        }
        _ => {
            "Compare the Origin header with an exact allow-list of full origins (scheme, host, \
             port); never echo it, never trust `null`, never match by prefix, suffix or regex."
        }
    }
}
