//! The `tenant` check: no identity of one tenant can read or change another
//! tenant's object, and admin-only endpoints refuse members.
//!
//! For every endpoint with an `owner`, the owner's request is the baseline.
//! Each identity of another tenant then sends (1) the owner's request with
//! its own credential, and (2) its own request with the owner's ids placed in
//! the query or in the JSON body only (nested `org_id`-like fields too), the
//! way an app that checks the path but trusts the body leaks. Responses are
//! judged by the owner's canary values, minus values the other tenant's own
//! data shares. Same-tenant identities whose role is not in `roles` replay
//! the owner's request. Integer ids are reported as enumerable (low).

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
            "tenant.id-swap-body",
            "tenant.id-swap-query",
            "tenant.role-not-enforced",
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
            plan = plan.step(
                &e.name,
                "owner's request; per other-tenant identity: its own request, credential swap, \
                 owner's ids in query and in body; per lower role: the owner's request",
                1 + 4 * others + lower,
                e.writes,
            );
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
    let baseline = Baseline::of(&res);
    let mut findings = Vec::new();
    let mut pairs = 0u64;
    let object = format!("{} {}", endpoint.method, owner_req.url.path());
    let credential_swap = ids_placed(endpoint, &owner_params);

    for other in other_tenants(profile, owner) {
        let Some(cred) = sessions.get(&other.name) else {
            continue;
        };
        pairs += 1;
        let other_params = request::identity_params(endpoint, other, &owner_params);
        // The other tenant's own data: values both share are not evidence.
        let mut own_baseline = baseline.clone();
        if let Some(p) = &other_params
            && let Ok(req) = request::build(profile, endpoint, &Ids::same(p))
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
        };
        let swap = cred.apply(owner_req.clone());
        if let Some(f) = probe(
            ctx,
            &own_baseline,
            swap,
            Evidence::Canaries,
            &pair,
            credential_swap,
        )
        .await
        {
            findings.push(f);
        }
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
            let mut ids = Ids::same(&other_params);
            match place {
                Swap::Query => ids.query = owner_params.clone(),
                _ => ids.body = owner_params.clone(),
            }
            let Ok(req) = request::build(profile, endpoint, &ids) else {
                continue;
            };
            // The same request as the credential swap: already judged.
            if req.url == owner_req.url && req.body == owner_req.body {
                continue;
            }
            if let Some(f) = probe(
                ctx,
                &own_baseline,
                cred.apply(req),
                Evidence::Canaries,
                &pair,
                place,
            )
            .await
            {
                findings.push(f);
            }
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
        };
        let req = cred.apply(owner_req.clone());
        if let Some(f) = probe(
            ctx,
            &baseline,
            req,
            Evidence::CanariesOrShape,
            &pair,
            Swap::Role,
        )
        .await
        {
            findings.push(f);
        }
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
    SubjectRow::judged(subject, findings).measure("identity_pairs", pairs)
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Swap {
    Credential,
    Query,
    Body,
    Role,
}

async fn probe(
    ctx: &Context,
    baseline: &Baseline,
    req: HttpRequest,
    evidence: Evidence,
    pair: &Pair<'_>,
    swap: Swap,
) -> Option<Finding> {
    let res = ctx.net.send(req.clone()).await.ok()?;
    let Access::Granted { leaked } = judge::judge(baseline, res.status, &res.body, evidence) else {
        return None;
    };
    let (a, b) = (&pair.owner.name, &pair.other.name);
    let tenant = |i: &Identity| i.tenant.clone().unwrap_or_default();
    let role = |i: &Identity| i.role.clone().unwrap_or_else(|| "no role".into());
    let (code, severity, title, fix) = match swap {
        Swap::Credential => (
            "tenant.cross-tenant-access",
            Severity::Critical,
            format!(
                "`{b}` (tenant {}) gets `{a}`'s (tenant {}) object {} with its own credential",
                tenant(pair.other),
                tenant(pair.owner),
                pair.object
            ),
            "Check that the caller belongs to the object's tenant on every request (scope \
             queries by the session's tenant, not by ids from the request).",
        ),
        Swap::Query | Swap::Body => (
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
        Swap::Role => (
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
    let outcome = Outcome::Fail;
    Some(
        Finding::new(code, severity, outcome, pair.subject, title)
            .evidence(format!(
                "{} {} sent as `{b}`; status {}; owner's values in the answer: {}",
                req.method,
                ctx.net.redactor().redact(req.url.as_str()),
                res.status,
                judge::summarize(&leaked)
            ))
            .fix(fix)
            .at(req.url.path()),
    )
}

/// Path params that hold numbers but not object ids.
const NOT_IDS: &[&str] = &[
    "page", "limit", "offset", "size", "per_page", "year", "month", "day", "version", "v",
];

/// Whether a param value is a small integer (an enumerable id).
fn small_integer(value: &str) -> bool {
    !value.is_empty() && value.len() <= 12 && value.chars().all(|c| c.is_ascii_digit())
}

/// Whether a query param's name says it holds an object id.
fn id_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "id" || n.ends_with("_id") || name.ends_with("Id")
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
        .chain(in_query.into_iter().filter(|p| id_like(p)));
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
    fn integer_ids_and_id_like_names() {
        assert!(small_integer("1042") && !small_integer("doc-7f3e") && !small_integer(""));
        assert!(!small_integer("1234567890123"));
        assert!(id_like("org_id") && id_like("ticketId") && id_like("id"));
        assert!(!id_like("page") && !id_like("paid") && !id_like("valid"));
    }
}
