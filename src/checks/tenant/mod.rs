//! The `tenant` check: no identity of one tenant can read or change another
//! tenant's object, and admin-only endpoints refuse members.
//!
//! For every endpoint with an `owner`, the owner's request is the baseline.
//! Each identity of another tenant then sends (1) the owner's request with
//! its own credential, and (2) its own request with the owner's ids placed in
//! the query or in the JSON body only (literal id-like fields such as a
//! nested `org_id` are replaced for these probes), the way an app that checks
//! the path but trusts the body leaks. Responses are judged by the owner's
//! canary values, minus values the other tenant's own data shares. Same-tenant
//! identities whose role is not in `roles` replay the owner's request.
//! Integer ids are reported as enumerable (low).
//!
//! A write's effect is not in its answer (often a 204 with no body), so for
//! a `writes` endpoint a 2xx to a swapped request is an accepted write when
//! the same request naming a never-existing object is refused: the server
//! found the owner's object by those ids and changed it. When the never-
//! existing object is accepted too, the server does not go by those ids (it
//! acts on the caller's own object) and nothing is reported. Writes send
//! only what the probes need: the owner's request once, the swap probes and
//! their controls, never another identity's own request.

pub mod config;

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;

use crate::checks::access::judge::{self, Access, Baseline, Evidence};
use crate::checks::access::request::{self, Ids};
use crate::checks::access::sessions::{self, Sessions};
use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::HttpRequest;
use crate::profile::Profile;
use crate::profile::access::{Endpoint, Identity};
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};

pub struct TenantCheck;

#[async_trait]
impl Check for TenantCheck {
    fn codes(&self) -> &'static [&'static str] {
        &[
            "tenant.cross-tenant-access",
            "tenant.cross-tenant-write",
            "tenant.id-swap-body",
            "tenant.id-swap-query",
            "tenant.role-not-enforced",
            "tenant.role-write-accepted",
            "tenant.sequential-ids",
        ]
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "tenant",
            title: "Tenant isolation",
            verifies: "no identity of tenant A reads or changes tenant B's objects by using \
                       its own credential or swapping ids in path, query or body; admin-only \
                       endpoints refuse members",
            criterion: "every cross-tenant and wrong-role request is refused (401/403/404) or \
                        carries none of the owner's canary values",
            class: Class::Access,
            read_only: false,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        if !profile.tenant.enabled {
            return Plan::skip("disabled in the profile ([checks.tenant] enabled = false)");
        }
        let owned: Vec<&Endpoint> = profile
            .endpoints
            .iter()
            .filter(|e| e.owner.is_some())
            .collect();
        if owned.is_empty() {
            return Plan::skip(
                "no [[endpoint]] has an `owner`: name the identity whose object each endpoint \
                 returns",
            );
        }
        let mut plan = Plan::default();
        let logins = sessions::login_requests(profile);
        if logins > 0 {
            plan = plan.step("identities", "log every identity in", logins, false);
        }
        for e in owned {
            if e.writes && !writes_allowed(profile) {
                continue;
            }
            let Some(owner) = owner(profile, e) else {
                continue;
            };
            let others = other_tenants(profile, owner).count() as u64;
            let lower = lower_roles(profile, owner, e).count() as u64;
            plan = if e.writes {
                plan.step(
                    &e.name,
                    "owner's request once; per other-tenant identity: credential swap, owner's \
                     ids in query and in body (id-like fields replaced), each with a \
                     never-existing-id control when it is accepted; per lower role: the owner's \
                     request and its control",
                    1 + 6 * others + 2 * lower,
                    true,
                )
            } else {
                plan.step(
                    &e.name,
                    "owner's request; per other-tenant identity: its own request, credential \
                     swap, owner's ids in query and in body (id-like fields replaced); per \
                     lower role: the owner's request",
                    1 + 4 * others + lower,
                    false,
                )
            };
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let profile = ctx.profile.clone();
        let sessions = sessions::establish(&ctx.net, &profile).await;
        let mut rows = sessions.failures.clone();
        for endpoint in profile.endpoints.iter().filter(|e| e.owner.is_some()) {
            if endpoint.writes && !writes_allowed(&profile) {
                rows.push(SubjectRow::skip(
                    &endpoint.name,
                    "mutating endpoint: probed only with [target] allow_writes and \
                     [checks.tenant] allow_writes",
                ));
                continue;
            }
            rows.push(audit_endpoint(&ctx, &profile, &sessions, endpoint).await);
        }
        if rows.is_empty() {
            rows.push(SubjectRow::error("tenant", "no endpoint could be probed"));
        }
        rows
    }
}

fn writes_allowed(profile: &Profile) -> bool {
    profile.target.allow_writes && profile.tenant.allow_writes
}

fn owner<'a>(profile: &'a Profile, endpoint: &Endpoint) -> Option<&'a Identity> {
    let name = endpoint.owner.as_ref()?;
    profile.identities.iter().find(|i| &i.name == name)
}

/// Identities of another tenant than the owner's (both tenants named).
fn other_tenants<'a>(
    profile: &'a Profile,
    owner: &'a Identity,
) -> impl Iterator<Item = &'a Identity> {
    profile.identities.iter().filter(move |i| {
        i.name != owner.name && matches!((&i.tenant, &owner.tenant), (Some(a), Some(b)) if a != b)
    })
}

/// Identities of the owner's tenant whose role the endpoint does not allow.
fn lower_roles<'a>(
    profile: &'a Profile,
    owner: &'a Identity,
    endpoint: &'a Endpoint,
) -> impl Iterator<Item = &'a Identity> {
    profile.identities.iter().filter(move |i| {
        !endpoint.roles.is_empty()
            && i.name != owner.name
            && i.tenant.is_some()
            && i.tenant == owner.tenant
            && i.role.as_ref().is_some_and(|r| !endpoint.roles.contains(r))
    })
}

async fn audit_endpoint(
    ctx: &Context,
    profile: &Profile,
    sessions: &Sessions,
    endpoint: &Endpoint,
) -> SubjectRow {
    let subject = endpoint.name.as_str();
    let Some(owner) = owner(profile, endpoint) else {
        return SubjectRow::error(subject, "the owner is not an identity");
    };
    let Some(owner_cred) = sessions.get(&owner.name) else {
        return SubjectRow::error(subject, sessions.missing_reason(&owner.name));
    };
    let owner_params = request::owner_params(endpoint, Some(owner));
    let owner_req = match request::build(profile, endpoint, &Ids::same(&owner_params)) {
        Ok(r) => r,
        Err(e) => return SubjectRow::skip(subject, e),
    };
    let res = match ctx.net.send(owner_cred.apply(owner_req.clone())).await {
        Ok(r) => r,
        Err(e) => return SubjectRow::error(subject, format!("the owner's request failed: {e}")),
    };
    if !(200..300).contains(&res.status) {
        return SubjectRow::error(
            subject,
            format!(
                "the owner's ({}) request answered {}; without a baseline nothing can be judged",
                owner.name, res.status
            ),
        );
    }
    let mut baseline = Baseline::of(&res);
    if endpoint.writes {
        // A write echoes what it was sent: only the owner's ids are evidence.
        baseline = baseline.without_values_of(sent_values(&owner_req, &owner_params).as_bytes());
    }
    let owner_status = res.status;
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut pairs = 0u64;
    let object = format!("{} {}", endpoint.method, owner_req.url.path());
    let credential_swap = ids_placed(endpoint, &owner_params);
    let never = never_existing(&owner_params);

    for other in other_tenants(profile, owner) {
        let Some(cred) = sessions.get(&other.name) else {
            continue;
        };
        pairs += 1;
        let other_params = request::identity_params(endpoint, other, &owner_params);
        // The other tenant's own data: values both share are not evidence.
        // Never for a write: that would change the other identity's object.
        let mut own_baseline = baseline.clone();
        if !endpoint.writes
            && let Some(p) = &other_params
            && let Ok(req) = request::build(profile, endpoint, &Ids::swapped(p))
            && let Ok(r) = ctx.net.send(cred.apply(req)).await
            && (200..300).contains(&r.status)
        {
            own_baseline = baseline.without_values_of(&r.body);
        }
        let pair = Pair {
            owner,
            other,
            object: &object,
            subject,
            roles: &endpoint.roles,
            owner_status,
        };
        let swap = cred.apply(owner_req.clone());
        let control = control_request(profile, endpoint, &owner_params, &never, credential_swap)
            .map(|r| cred.apply(r));
        let sent = Sent {
            req: swap,
            control,
            writes: endpoint.writes,
        };
        let judged = probe(
            ctx,
            &own_baseline,
            sent,
            Evidence::Canaries,
            &pair,
            credential_swap,
        );
        push(judged.await, &mut findings, &mut notes);
        let Some(other_params) = other_params else {
            continue;
        };
        for place in [Swap::Query, Swap::Body] {
            let template = match place {
                Swap::Query => Some(endpoint.query.render()),
                _ => endpoint.body.as_ref().map(|b| b.render()),
            };
            let Some(template) = template else {
                continue;
            };
            if request::params_in(&template, &owner_params).is_empty() {
                continue;
            }
            let placed = |ids_for_place: &BTreeMap<String, String>| {
                let mut ids = Ids::swapped(&other_params);
                match place {
                    Swap::Query => ids.query = ids_for_place.clone(),
                    _ => ids.body = ids_for_place.clone(),
                }
                request::build(profile, endpoint, &ids).ok()
            };
            let Some(req) = placed(&owner_params) else {
                continue;
            };
            // The same request as the credential swap: already judged.
            if req.url == owner_req.url && req.body == owner_req.body {
                continue;
            }
            let control = placed(&never)
                .filter(|c| c.url != req.url || c.body != req.body)
                .map(|c| cred.apply(c));
            let sent = Sent {
                req: cred.apply(req),
                control,
                writes: endpoint.writes,
            };
            let judged = probe(ctx, &own_baseline, sent, Evidence::Canaries, &pair, place);
            push(judged.await, &mut findings, &mut notes);
        }
    }
    for lower in lower_roles(profile, owner, endpoint) {
        let Some(cred) = sessions.get(&lower.name) else {
            continue;
        };
        pairs += 1;
        let pair = Pair {
            owner,
            other: lower,
            object: &object,
            subject,
            roles: &endpoint.roles,
            owner_status,
        };
        let control = control_request(profile, endpoint, &owner_params, &never, credential_swap)
            .map(|r| cred.apply(r));
        let sent = Sent {
            req: cred.apply(owner_req.clone()),
            control,
            writes: endpoint.writes,
        };
        let judged = probe(
            ctx,
            &baseline,
            sent,
            Evidence::CanariesOrShape,
            &pair,
            Swap::Role,
        );
        push(judged.await, &mut findings, &mut notes);
    }
    if let Some(f) = sequential_ids(profile, endpoint, owner, &owner_params) {
        findings.push(f);
    }
    if pairs == 0 {
        return SubjectRow::error(
            subject,
            "no identity of another tenant (or of a lower role) with a credential: add one \
             [[identity]] with a different `tenant`",
        );
    }
    let mut row = SubjectRow::judged(subject, findings).measure("identity_pairs", pairs);
    if !notes.is_empty() {
        row.reason = Some(notes.join("; "));
    }
    row
}

fn push(judged: Judged, findings: &mut Vec<Finding>, notes: &mut Vec<String>) {
    match judged {
        Judged::Finding(f) => findings.push(*f),
        Judged::Note(n) => notes.push(n),
        Judged::Clean => {}
    }
}

/// The string values a request carries besides the owner's ids (echoed
/// back by a write, they prove nothing), joined for a containment test.
fn sent_values(req: &HttpRequest, owner_params: &BTreeMap<String, String>) -> String {
    let mut out = Vec::new();
    if let Some(body) = &req.body
        && let Ok(json) = serde_json::from_slice::<Value>(body)
    {
        strings(&json, &mut out);
    }
    for (_, v) in req.url.query_pairs() {
        out.push(v.into_owned());
    }
    out.retain(|v| !owner_params.values().any(|id| id == v));
    out.join("\n")
}

fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => map.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// Ids of objects that cannot exist, shaped like the owner's (digits stay
/// digits), for the control request of a write probe.
fn never_existing(params: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let tag = rand::random::<u32>();
    params
        .iter()
        .map(|(k, v)| {
            let fresh = if !v.is_empty() && v.chars().all(|c| c.is_ascii_digit()) {
                format!("9{:0>9}", tag % 1_000_000_000)
            } else {
                format!("readiness-none-{tag:08x}")
            };
            (k.clone(), fresh)
        })
        .collect()
}

/// The owner's request with the ids of `place` replaced by never-existing
/// ones; `None` when the request names no id there (nothing to control).
fn control_request(
    profile: &Profile,
    endpoint: &Endpoint,
    owner_params: &BTreeMap<String, String>,
    never: &BTreeMap<String, String>,
    place: Swap,
) -> Option<HttpRequest> {
    let mut ids = Ids::swapped(owner_params);
    match place {
        Swap::Query => ids.query = never.clone(),
        Swap::Body => ids.body = never.clone(),
        Swap::Credential | Swap::Role => ids.path = never.clone(),
    }
    let control = request::build(profile, endpoint, &ids).ok()?;
    let original = request::build(profile, endpoint, &Ids::swapped(owner_params)).ok()?;
    (control.url != original.url || control.body != original.body).then_some(control)
}

/// Where the owner's ids travel, which names what a plain credential swap
/// tests: the path when it has params, else the query, else the body. An
/// endpoint like `GET /api/invoices?org_id=...` is an id swap in the query.
fn ids_placed(endpoint: &Endpoint, params: &BTreeMap<String, String>) -> Swap {
    let in_template =
        |t: Option<Value>| t.is_some_and(|t| !request::params_in(&t, params).is_empty());
    if endpoint
        .path_params()
        .iter()
        .any(|p| params.contains_key(p))
    {
        Swap::Credential
    } else if in_template(Some(endpoint.query.render())) {
        Swap::Query
    } else if in_template(endpoint.body.as_ref().map(|b| b.render())) {
        Swap::Body
    } else {
        Swap::Credential
    }
}

/// Who probes whose object.
struct Pair<'a> {
    owner: &'a Identity,
    other: &'a Identity,
    object: &'a str,
    subject: &'a str,
    roles: &'a [String],
    /// The status of the owner's own request.
    owner_status: u16,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swap {
    Credential,
    Query,
    Body,
    Role,
}

/// One probe as sent: the request, and for a write the control request
/// naming a never-existing object instead of the owner's.
struct Sent {
    req: HttpRequest,
    control: Option<HttpRequest>,
    writes: bool,
}

/// What a probe amounts to.
enum Judged {
    Finding(Box<Finding>),
    /// Not a finding, but worth a line in the row (an unverifiable write).
    Note(String),
    Clean,
}

/// Words of an answer that refuses in a 2xx body.
const REFUSALS: &[&str] = &[
    "error",
    "denied",
    "forbidden",
    "unauthorized",
    "unauthorised",
    "not allowed",
    "permission",
    "not found",
];

fn refuses_in_body(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    REFUSALS.iter().any(|w| text.contains(w))
}

async fn probe(
    ctx: &Context,
    baseline: &Baseline,
    sent: Sent,
    evidence: Evidence,
    pair: &Pair<'_>,
    swap: Swap,
) -> Judged {
    let Ok(res) = ctx.net.send(sent.req.clone()).await else {
        return Judged::Clean;
    };
    let req = &sent.req;
    if let Access::Granted { leaked } = judge::judge(baseline, res.status, &res.body, evidence) {
        let line = format!(
            "{} {} sent as `{}`; status {}; owner's values in the answer: {}",
            req.method,
            ctx.net.redactor().redact(req.url.as_str()),
            pair.other.name,
            res.status,
            judge::summarize(&leaked)
        );
        return Judged::Finding(Box::new(finding(pair, swap, false, req, line)));
    }
    let accepted = (200..300).contains(&res.status) && !refuses_in_body(&res.body);
    if !sent.writes || !accepted {
        return Judged::Clean;
    }
    let Some(control) = sent.control else {
        return Judged::Clean;
    };
    let Ok(c) = ctx.net.send(control.clone()).await else {
        return Judged::Clean;
    };
    let redact = |r: &HttpRequest| ctx.net.redactor().redact(r.url.as_str());
    if (200..300).contains(&c.status) {
        return Judged::Note(format!(
            "`{}`'s write {} {} answered {}, and so did the same write naming a never-existing \
             object ({}): the server does not go by these ids, so the write's target cannot be \
             told; not reported",
            pair.other.name,
            req.method,
            req.url.path(),
            res.status,
            control.url.path()
        ));
    }
    let line = format!(
        "{} {} sent as `{}` answered {} (the owner's own request: {}); the same write naming a \
         never-existing object ({} {}) answered {}: the server found `{}`'s object by these ids \
         and accepted the write",
        req.method,
        redact(req),
        pair.other.name,
        res.status,
        pair.owner_status,
        control.method,
        redact(&control),
        c.status,
        pair.owner.name
    );
    Judged::Finding(Box::new(finding(pair, swap, true, req, line)))
}

/// The finding of a granted probe; `write` when the evidence is an accepted write.
fn finding(pair: &Pair<'_>, swap: Swap, write: bool, req: &HttpRequest, line: String) -> Finding {
    let (a, b) = (&pair.owner.name, &pair.other.name);
    let tenant = |i: &Identity| i.tenant.clone().unwrap_or_default();
    let role = |i: &Identity| i.role.clone().unwrap_or_else(|| "no role".into());
    let place = match swap {
        Swap::Query => "with its ids in the query",
        Swap::Body => "with its ids in the body",
        _ => "with its own credential",
    };
    let isolate = "Check that the caller belongs to the object's tenant on every request (scope \
                   queries by the session's tenant, not by ids from the request).";
    let (code, severity, title, fix) = match (swap, write) {
        (Swap::Role, true) => (
            "tenant.role-write-accepted",
            Severity::Critical,
            format!(
                "`{b}` ({}) performs {}, allowed only to {}, on `{a}`'s object: the write went \
                 through",
                role(pair.other),
                pair.object,
                pair.roles.join(", ")
            ),
            "Enforce the role on the server for this action, not only in the UI.",
        ),
        (_, true) => (
            "tenant.cross-tenant-write",
            Severity::Critical,
            format!(
                "`{b}` (tenant {}) changes `{a}`'s (tenant {}) object {} {place}: the write went \
                 through",
                tenant(pair.other),
                tenant(pair.owner),
                pair.object
            ),
            isolate,
        ),
        (Swap::Credential, false) => (
            "tenant.cross-tenant-access",
            Severity::Critical,
            format!(
                "`{b}` (tenant {}) gets `{a}`'s (tenant {}) object {} with its own credential",
                tenant(pair.other),
                tenant(pair.owner),
                pair.object
            ),
            isolate,
        ),
        (Swap::Query | Swap::Body, false) => (
            if swap == Swap::Query {
                "tenant.id-swap-query"
            } else {
                "tenant.id-swap-body"
            },
            Severity::Critical,
            format!(
                "`{b}` (tenant {}) gets `{a}`'s (tenant {}) data by putting its ids in the {} \
                 of {}",
                tenant(pair.other),
                tenant(pair.owner),
                if swap == Swap::Query { "query" } else { "body" },
                pair.object
            ),
            "Take the tenant from the session (or the authorised path) only; ignore or reject \
             tenant and object ids in the query or body that differ from it.",
        ),
        (Swap::Role, false) => (
            "tenant.role-not-enforced",
            Severity::High,
            format!(
                "`{b}` ({}) calls {}, allowed only to {}, on `{a}`'s object",
                role(pair.other),
                pair.object,
                pair.roles.join(", ")
            ),
            "Enforce the role on the server for this action, not only in the UI.",
        ),
    };
    Finding::new(code, severity, Outcome::Fail, pair.subject, title)
        .evidence(line)
        .fix(fix)
        .at(req.url.path())
}

/// Path params that hold numbers but not object ids.
const NOT_IDS: &[&str] = &[
    "page", "limit", "offset", "size", "per_page", "year", "month", "day", "version", "v",
];

/// Whether a param value is a small integer (an enumerable id).
fn small_integer(value: &str) -> bool {
    !value.is_empty() && value.len() <= 12 && value.chars().all(|c| c.is_ascii_digit())
}

/// Integer ids of tenant objects (in the path, or in the query under an
/// id-like name) can be enumerated: a low finding, with the other tenants'
/// values when the profile gives them.
fn sequential_ids(
    profile: &Profile,
    endpoint: &Endpoint,
    owner: &Identity,
    params: &BTreeMap<String, String>,
) -> Option<Finding> {
    let in_query = request::params_in(&endpoint.query.render(), params);
    let candidates = endpoint
        .path_params()
        .into_iter()
        .filter(|p| !NOT_IDS.contains(&p.to_ascii_lowercase().as_str()))
        .chain(in_query.into_iter().filter(|p| request::id_like(p)));
    let (param, value) = candidates
        .filter_map(|p| {
            let v = params.get(&p)?;
            small_integer(v).then(|| (p, v.clone()))
        })
        .next()?;
    let others: Vec<String> = other_tenants(profile, owner)
        .filter_map(|i| i.params.get(&param).cloned())
        .collect();
    Some(
        Finding::new(
            "tenant.sequential-ids",
            Severity::Low,
            Outcome::Warn,
            &endpoint.name,
            format!("`{param}` is a small integer ({value}): object ids can be enumerated"),
        )
        .evidence(format!(
            "`{}`'s {param} = {value}{}",
            owner.name,
            if others.is_empty() {
                String::new()
            } else {
                format!("; other tenants: {}", others.join(", "))
            }
        ))
        .fix(
            "Use random identifiers (UUIDv4 or 128-bit random) for tenant objects in URLs, \
             and keep checking the caller's access to each object.",
        )
        .at(endpoint.path.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_ids() {
        assert!(small_integer("1042") && !small_integer("doc-7f3e") && !small_integer(""));
        assert!(!small_integer("1234567890123"));
    }

    #[test]
    fn never_existing_ids_keep_the_shape_and_differ() {
        let mut p = BTreeMap::new();
        p.insert("ticket_id".to_string(), "1042".to_string());
        p.insert("username".to_string(), "alice".to_string());
        let n = never_existing(&p);
        assert!(n["ticket_id"].chars().all(|c| c.is_ascii_digit()));
        assert_eq!(n["ticket_id"].len(), 10);
        assert!(n["username"].starts_with("readiness-none-"));
    }

    #[test]
    fn refusals_in_a_2xx_body() {
        assert!(refuses_in_body(br#"{"error":"forbidden"}"#));
        assert!(!refuses_in_body(b""));
        assert!(!refuses_in_body(br#"{"status":"success"}"#));
    }
}
