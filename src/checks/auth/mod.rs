//! The `auth` check: no protected endpoint answers with the owner's data to
//! a missing, malformed, tampered, expired or revoked credential, no token is
//! signed with a guessable HMAC secret, and login, signup and password reset
//! do not tell known accounts from unknown ones.
//!
//! Each required endpoint is first called as its owner (the baseline); every
//! probe replays that request with one thing changed and is judged by status
//! and content against the baseline ([`crate::checks::access::judge`]).

pub mod config;
mod enumeration;

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::checks::access::judge::{self, Access, Baseline, Evidence};
use crate::checks::access::jwt::{self, Jwt};
use crate::checks::access::request::{self, Ids};
use crate::checks::access::sessions::{self, Carrier, Credential, Sessions};
use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::HttpRequest;
use crate::profile::Profile;
use crate::profile::access::{AuthRequirement, CredentialSource, Endpoint, Identity};
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};

pub struct AuthCheck;

/// Most probes one endpoint gets: baseline, none, empty, malformed,
/// corrupted, alg none, expired, three edited claims, two carriers.
const PROBES_PER_ENDPOINT: u64 = 12;

/// Requests per identity and logout endpoint: log in, read, log out, read again.
const REVOCATION_REQUESTS: u64 = 4;

/// Endpoint kinds that are not probed as protected resources.
const NOT_PROBED: &[&str] = &["login", "logout", "signup", "password_reset"];

#[async_trait]
impl Check for AuthCheck {
    fn codes(&self) -> &'static [&'static str] {
        &[
            "auth.account-enumeration",
            "auth.bad-signature-accepted",
            "auth.credential-alt-carrier",
            "auth.credential-in-query",
            "auth.jwt-alg-none",
            "auth.jwt-claims-unverified",
            "auth.jwt-expired-accepted",
            "auth.jwt-weak-secret",
            "auth.malformed-credential-accepted",
            "auth.no-credential-accepted",
            "auth.revoked-session-accepted",
        ]
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "auth",
            title: "Authentication bypass",
            verifies: "protected endpoints refuse missing, malformed, tampered, expired and \
                       revoked credentials; tokens are not signed with a guessable secret; \
                       login, signup and reset do not reveal which accounts exist",
            criterion: "every probe of a required endpoint is refused (status and content \
                        compared with the owner's answer); no HMAC secret from the built-in \
                        list verifies a token; known and unknown accounts get the same answer",
            class: Class::Access,
            read_only: false,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let s = &profile.auth;
        if !s.enabled {
            return Plan::skip("disabled in the profile ([checks.auth] enabled = false)");
        }
        let probed: Vec<&Endpoint> = probed_endpoints(profile).collect();
        let enumerable: Vec<&Endpoint> = enumeration_endpoints(profile).collect();
        if probed.is_empty() && enumerable.is_empty() {
            return Plan::skip(
                "no [[endpoint]] with auth = \"required\" and no login, signup or \
                 password_reset endpoint: declare the API's endpoints (or `openapi = ...`)",
            );
        }
        let mut plan = Plan::default();
        let logins = sessions::login_requests(profile);
        if logins > 0 {
            plan = plan.step("identities", "log every identity in", logins, false);
        }
        let writes_ok = writes_allowed(profile);
        for e in &probed {
            if e.writes && !writes_ok {
                continue;
            }
            plan = plan.step(
                &e.name,
                "owner's request, then no/empty/malformed/corrupted/forged/expired \
                 credential and moved credential probes",
                PROBES_PER_ENDPOINT,
                e.writes,
            );
        }
        let revocable = revocable_identities(profile).count() as u64;
        for logout in logout_endpoints(profile) {
            if revocable > 0 {
                plan = plan.step(
                    &logout.name,
                    "per login identity: a separate session logs in, reads, logs out, reads again",
                    REVOCATION_REQUESTS * revocable,
                    false,
                );
            }
        }
        let jwt_identities = profile
            .identities
            .iter()
            .filter(|i| !matches!(i.credential, CredentialSource::None))
            .count() as u64;
        if jwt_identities > 0 {
            plan = plan.step(
                "identities",
                "one forged-token request per identity whose HMAC secret is guessed offline",
                jwt_identities,
                false,
            );
        }
        for e in &enumerable {
            let write = e.kind.as_deref() != Some("login");
            let signup = e.kind.as_deref() == Some("signup");
            if write && !writes_ok {
                // Skipped at run time: the plan reserves nothing and says why.
                plan = plan.step(
                    &e.name,
                    "skipped: enumeration here sends writes (needs [target] allow_writes and \
                     [checks.auth] allow_writes)",
                    0,
                    false,
                );
                continue;
            }
            plan = plan.step(
                &e.name,
                if signup {
                    "register the known account once, then known vs a fresh unknown account \
                     per sample"
                } else {
                    "known vs a fresh unknown account per sample"
                },
                2 * s.timing_samples + u64::from(signup),
                write,
            );
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let profile = ctx.profile.clone();
        let sessions = sessions::establish(&ctx.net, &profile).await;
        let mut rows = sessions.failures.clone();
        let mut baselines: BTreeMap<String, (HttpRequest, Baseline)> = BTreeMap::new();

        for endpoint in probed_endpoints(&profile) {
            if endpoint.writes && !writes_allowed(&profile) {
                rows.push(SubjectRow::skip(
                    &endpoint.name,
                    "mutating endpoint: probed only with [target] allow_writes and \
                     [checks.auth] allow_writes",
                ));
                continue;
            }
            let (row, baseline) = probe_endpoint(&ctx, &profile, &sessions, endpoint).await;
            if let Some(b) = baseline {
                baselines.insert(endpoint.name.clone(), b);
            }
            rows.push(row);
        }

        for logout in logout_endpoints(&profile) {
            rows.push(revocation(&ctx, &profile, logout).await);
        }

        for identity in &profile.identities {
            if let Some(row) = weak_secret(&ctx, &profile, &sessions, &baselines, identity).await {
                rows.push(row);
            }
        }

        // Enumeration endpoints are sampled side by side (each one's own
        // known and unknown samples stay interleaved), so slow logins overlap.
        let audits = enumeration_endpoints(&profile).map(|endpoint| {
            let (ctx, profile) = (&ctx, &profile);
            async move {
                let write = endpoint.kind.as_deref() != Some("login");
                if write && !writes_allowed(profile) {
                    return SubjectRow::skip(
                        &endpoint.name,
                        "account enumeration on signup/reset sends writes: needs [target] \
                         allow_writes and [checks.auth] allow_writes",
                    );
                }
                enumeration::audit(ctx, profile, endpoint).await
            }
        });
        rows.extend(futures::future::join_all(audits).await);
        if rows.is_empty() {
            rows.push(SubjectRow::error("auth", "nothing could be probed"));
        }
        rows
    }
}

fn writes_allowed(profile: &Profile) -> bool {
    profile.target.allow_writes && profile.auth.allow_writes
}

fn probed_endpoints(profile: &Profile) -> impl Iterator<Item = &Endpoint> {
    profile.endpoints.iter().filter(|e| {
        e.auth == AuthRequirement::Required
            && !e.kind.as_deref().is_some_and(|k| NOT_PROBED.contains(&k))
    })
}

fn enumeration_endpoints(profile: &Profile) -> impl Iterator<Item = &Endpoint> {
    profile.endpoints.iter().filter(|e| {
        matches!(
            e.kind.as_deref(),
            Some("login") | Some("signup") | Some("password_reset")
        )
    })
}

fn logout_endpoints(profile: &Profile) -> impl Iterator<Item = &Endpoint> {
    profile
        .endpoints
        .iter()
        .filter(|e| e.kind.as_deref() == Some("logout"))
}

/// Identities that log in (so a separate session can be made and revoked).
fn revocable_identities(profile: &Profile) -> impl Iterator<Item = &Identity> {
    profile
        .identities
        .iter()
        .filter(|i| matches!(i.credential, CredentialSource::Login(_)))
}

/// The endpoint a fresh session of `identity` reads to show it works: the
/// declared "current user" endpoint, else one the identity owns.
fn session_probe<'a>(profile: &'a Profile, identity: &Identity) -> Option<&'a Endpoint> {
    let readable = |e: &&Endpoint| {
        e.auth == AuthRequirement::Required
            && !e.writes
            && e.path_params()
                .iter()
                .all(|p| e.params.contains_key(p) || identity.params.contains_key(p))
    };
    let mut candidates = probed_endpoints(profile).filter(readable);
    let current = profile
        .endpoints
        .iter()
        .filter(readable)
        .find(|e| e.kind.as_deref() == Some("current_user"));
    current.or_else(|| candidates.find(|e| e.owner.as_deref() == Some(identity.name.as_str())))
}

/// Whether a logout endpoint ends the session on the server: for each login
/// identity, a separate session (never the shared one) logs in, reads an
/// endpoint, logs out through it, and reads again. Still served afterwards
/// means the token or session id outlives the logout.
async fn revocation(ctx: &Context, profile: &Profile, logout: &Endpoint) -> SubjectRow {
    let subject = logout.name.as_str();
    let mut survived = Vec::new();
    let mut tested = Vec::new();
    let mut untested = Vec::new();
    for identity in revocable_identities(profile) {
        match revocation_of(ctx, profile, logout, identity).await {
            Ok(Some(line)) => {
                tested.push(identity.name.clone());
                survived.push(line);
            }
            Ok(None) => tested.push(identity.name.clone()),
            Err(why) => untested.push(format!("`{}`: {why}", identity.name)),
        }
    }
    if tested.is_empty() {
        let reason = if untested.is_empty() {
            "no [[identity]] logs in: a static token cannot be logged in and out".to_string()
        } else {
            format!("no session could be tested ({})", untested.join("; "))
        };
        return SubjectRow::error(subject, reason);
    }
    let findings = if survived.is_empty() {
        Vec::new()
    } else {
        vec![
            Finding::new(
                "auth.revoked-session-accepted",
                Severity::High,
                Outcome::Fail,
                subject,
                format!(
                    "a session logged out through {} {} still works",
                    logout.method, logout.path
                ),
            )
            .evidence(survived.join("; "))
            .fix(fix_for("auth.revoked-session-accepted"))
            .at(logout.path.as_str()),
        ]
    };
    let mut row =
        SubjectRow::judged(subject, findings).measure("sessions_tested", tested.len() as u64);
    if !untested.is_empty() {
        row.reason = Some(format!("not tested: {}", untested.join("; ")));
    }
    row
}

/// One identity's logout round; `Ok(Some(evidence))` when the session survived.
async fn revocation_of(
    ctx: &Context,
    profile: &Profile,
    logout: &Endpoint,
    identity: &Identity,
) -> Result<Option<String>, String> {
    let CredentialSource::Login(login) = &identity.credential else {
        return Err("no login".into());
    };
    let probe = session_probe(profile, identity).ok_or(
        "no readable endpoint to try the session on (declare kind = \"current_user\" or \
         give the identity an endpoint it owns)",
    )?;
    let read = request::build(
        profile,
        probe,
        &Ids::same(&request::owner_params(probe, Some(identity))),
    )?;
    let out = request::build(
        profile,
        logout,
        &Ids::same(&request::owner_params(logout, Some(identity))),
    )?;
    let cred = sessions::log_in(&ctx.net, login)
        .await
        .map_err(|e| format!("a separate login failed: {e}"))?;
    let before = ctx
        .net
        .send(cred.apply(read.clone()))
        .await
        .map_err(|e| e.to_string())?;
    if !(200..300).contains(&before.status) {
        return Err(format!(
            "the fresh session got {} from `{}`",
            before.status, probe.name
        ));
    }
    let baseline = Baseline::of(&before);
    let res = ctx
        .net
        .send(cred.apply(out.clone()))
        .await
        .map_err(|e| e.to_string())?;
    if !(200..400).contains(&res.status) {
        return Err(format!("the logout answered {}", res.status));
    }
    let logout_status = res.status;
    let after = ctx
        .net
        .send(cred.apply(read.clone()))
        .await
        .map_err(|e| e.to_string())?;
    Ok(
        match judge::judge(
            &baseline,
            after.status,
            &after.body,
            Evidence::CanariesOrShape,
        ) {
            Access::Granted { leaked } => Some(format!(
                "`{}` ({}): {} {} answered {logout_status}, then {} {} still answered {} with \
                 the session's data ({})",
                identity.name,
                cred.describe(),
                out.method,
                out.url.path(),
                read.method,
                read.url.path(),
                after.status,
                judge::summarize(&leaked)
            )),
            Access::Denied(_) => None,
        },
    )
}

/// One probe: a label, the finding it raises, and the request.
struct Probe {
    label: String,
    code: &'static str,
    severity: Severity,
    credential: String,
    req: HttpRequest,
}

async fn probe_endpoint(
    ctx: &Context,
    profile: &Profile,
    sessions: &Sessions,
    endpoint: &Endpoint,
) -> (SubjectRow, Option<(HttpRequest, Baseline)>) {
    let subject = endpoint.name.as_str();
    let Some(owner) = sessions::caller(profile, sessions, endpoint) else {
        return (
            SubjectRow::skip(
                subject,
                "no identity to call it as: set `owner` or give an identity the params",
            ),
            None,
        );
    };
    let Some(cred) = sessions.get(&owner.name) else {
        return (
            SubjectRow::error(subject, sessions.missing_reason(&owner.name)),
            None,
        );
    };
    let params = request::owner_params(endpoint, Some(owner));
    let req = match request::build(profile, endpoint, &Ids::same(&params)) {
        Ok(r) => r,
        Err(e) => return (SubjectRow::skip(subject, e), None),
    };
    let res = match ctx.net.send(cred.apply(req.clone())).await {
        Ok(r) => r,
        Err(e) => {
            return (
                SubjectRow::error(subject, format!("the owner's request failed: {e}")),
                None,
            );
        }
    };
    if !(200..300).contains(&res.status) {
        return (
            SubjectRow::error(
                subject,
                format!(
                    "the owner's ({}) authorised request answered {}; without a working \
                     baseline no probe can be judged",
                    owner.name, res.status
                ),
            ),
            None,
        );
    }
    let baseline = Baseline::of(&res);
    let mut findings = Vec::new();
    let mut sent = 1u64;

    // Without any credential first: when that works, the rest adds nothing.
    let anonymous = Probe {
        label: "no credential".into(),
        code: "auth.no-credential-accepted",
        severity: Severity::Critical,
        credential: "none".into(),
        req: req.clone(),
    };
    let writes = endpoint.writes;
    let first = run_probe(ctx, &baseline, &anonymous, subject, &owner.name, writes).await;
    sent += 1;
    if let Some(f) = first {
        findings.push(f);
    } else {
        for probe in probes(ctx, &req, cred) {
            sent += 1;
            if let Some(f) = run_probe(ctx, &baseline, &probe, subject, &owner.name, writes).await {
                findings.push(f);
            }
        }
    }
    let mut row = SubjectRow::judged(subject, findings).measure("probes_sent", sent);
    row.reason = Some(format!("probed as `{}`", owner.name));
    (row, Some((req, baseline)))
}

fn probes(ctx: &Context, req: &HttpRequest, cred: &Credential) -> Vec<Probe> {
    let mut out = vec![
        Probe {
            label: "empty bearer token".into(),
            code: "auth.malformed-credential-accepted",
            severity: Severity::Critical,
            credential: "Authorization: Bearer (empty)".into(),
            req: req.clone().header("authorization", "Bearer "),
        },
        Probe {
            label: "malformed bearer token".into(),
            code: "auth.malformed-credential-accepted",
            severity: Severity::Critical,
            credential: "Authorization: Bearer readiness-malformed-token".into(),
            req: req
                .clone()
                .header("authorization", "Bearer readiness-malformed-token"),
        },
    ];
    let forged = |label: &str, code: &'static str, severity: Severity, value: String| {
        ctx.net.redactor().register(&value);
        let c = cred.with_value(&value);
        Probe {
            label: label.to_string(),
            code,
            severity,
            credential: format!("{} ({label})", c.describe()),
            req: c.apply(req.clone()),
        }
    };
    let mut extra = vec![forged(
        "corrupted signature",
        "auth.bad-signature-accepted",
        Severity::Critical,
        jwt::corrupt(&cred.value),
    )];
    if let Some(token) = Jwt::parse(&cred.value) {
        extra.push(forged(
            "JWT alg none, signature stripped",
            "auth.jwt-alg-none",
            Severity::Critical,
            token.alg_none(),
        ));
        extra.push(forged(
            "JWT exp in the past",
            "auth.jwt-expired-accepted",
            Severity::High,
            token.expired(now()),
        ));
        for (claim, value) in token.edited_claims() {
            extra.push(forged(
                &format!("JWT `{claim}` edited, signature not updated"),
                "auth.jwt-claims-unverified",
                Severity::Critical,
                value,
            ));
        }
    }
    out.extend(extra);
    // The credential moved to another carrier: a URL (logged everywhere) or a cookie.
    let mut in_query = req.clone();
    in_query
        .url
        .query_pairs_mut()
        .append_pair("access_token", &cred.value);
    out.push(Probe {
        label: "credential moved to the query string (?access_token=)".into(),
        code: "auth.credential-in-query",
        severity: Severity::Medium,
        credential: "?access_token=***".into(),
        req: in_query,
    });
    let moved = match &cred.carrier {
        Carrier::Bearer => Credential {
            carrier: Carrier::Cookie("access_token".into()),
            value: cred.value.clone(),
        },
        Carrier::Cookie(_) => Credential::bearer(&cred.value),
    };
    out.push(Probe {
        label: format!("credential moved to {}", moved.describe()),
        code: "auth.credential-alt-carrier",
        severity: Severity::Low,
        credential: moved.describe(),
        req: moved.apply(req.clone()),
    });
    out
}

async fn run_probe(
    ctx: &Context,
    baseline: &Baseline,
    probe: &Probe,
    subject: &str,
    owner: &str,
    writes: bool,
) -> Option<Finding> {
    let res = ctx.net.send(probe.req.clone()).await.ok()?;
    let access = if writes {
        judge::judge_write(baseline, res.status, &res.body)
    } else {
        judge::judge(baseline, res.status, &res.body, Evidence::CanariesOrShape)
    };
    let Access::Granted { leaked } = access else {
        return None;
    };
    let outcome = if probe.severity >= Severity::Medium {
        Outcome::Fail
    } else {
        Outcome::Warn
    };
    let title = match probe.code {
        "auth.credential-in-query" | "auth.credential-alt-carrier" => format!(
            "{}: the owner's credential is also accepted there",
            probe.label
        ),
        _ if writes => format!("{}: the owner's ({owner}) write is accepted", probe.label),
        _ => format!("{}: the owner's ({owner}) data is served", probe.label),
    };
    Some(
        Finding::new(probe.code, probe.severity, outcome, subject, title)
            .evidence(format!(
                "probe: {}; request: {} {} with {}; status {}; leaked: {}",
                probe.label,
                probe.req.method,
                ctx.net.redactor().redact(probe.req.url.as_str()),
                probe.credential,
                res.status,
                judge::summarize(&leaked)
            ))
            .fix(fix_for(probe.code))
            .at(probe.req.url.path()),
    )
}

fn fix_for(code: &str) -> &'static str {
    match code {
        "auth.no-credential-accepted" => {
            "Require authentication on this route (a deny-by-default middleware) and \
             check the caller's access to the object."
        }
        "auth.malformed-credential-accepted" | "auth.bad-signature-accepted" => {
            "Reject any credential that does not verify; never fall back to an anonymous or \
             default user when verification fails."
        }
        "auth.jwt-alg-none" => {
            "Pin the accepted algorithms in the JWT verifier (e.g. HS256 or RS256 only) and \
             reject `alg: none`."
        }
        "auth.jwt-expired-accepted" => "Verify `exp` (and `nbf`) on every request.",
        "auth.jwt-claims-unverified" => {
            "Verify the token's signature before reading any claim; never decode without \
             verifying."
        }
        "auth.revoked-session-accepted" => {
            "Invalidate the session server-side on logout (a deny-list of token ids or \
             short-lived tokens with revocable refresh tokens)."
        }
        "auth.credential-in-query" => {
            "Accept credentials only in the Authorization header or a cookie: URLs end up \
             in logs, proxies and Referer headers."
        }
        _ => "Accept the credential in one place only.",
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Guesses the HMAC secret of an identity's JWT offline; on a match, sends
/// ONE request with a freshly forged token to prove it.
async fn weak_secret(
    ctx: &Context,
    profile: &Profile,
    sessions: &Sessions,
    baselines: &BTreeMap<String, (HttpRequest, Baseline)>,
    identity: &Identity,
) -> Option<SubjectRow> {
    let cred = sessions.get(&identity.name)?;
    let token = Jwt::parse(&cred.value)?;
    if !token.alg().starts_with("HS") {
        return None;
    }
    let subject = sessions::identity_subject(&identity.name);
    let host = profile.target.base_url.host_str().unwrap_or("").to_string();
    let first_label = host.split('.').next().unwrap_or("").to_string();
    let names = [
        profile.target.name.as_str(),
        host.as_str(),
        first_label.as_str(),
    ];
    let candidates = jwt::candidates(&names, &profile.auth.extra_secrets);
    let Some(found) = jwt::guess_secret(&token, &candidates) else {
        return Some(
            SubjectRow::judged(&subject, Vec::new())
                .measure("hmac_secrets_tried", candidates.len() as u64),
        );
    };
    let secret = found.secret.clone();
    ctx.net.redactor().register(&secret);
    let mut claims = token.claims.clone();
    let t = now();
    claims.insert("iat".into(), t.into());
    if claims.contains_key("exp") {
        claims.insert("exp".into(), (t + 600).into());
    }
    claims.insert("jti".into(), format!("readiness-forged-{t}").into());
    let forged = token.resigned(&claims, secret.as_bytes())?;
    ctx.net.redactor().register(&forged);
    let forged_cred = cred.with_value(&forged);
    // Proof against an endpoint this identity owns (or any it was the baseline of).
    // A read first: a write would be sent again just to prove the secret.
    let owned = || {
        profile
            .endpoints
            .iter()
            .filter(|e| e.owner.as_deref() == Some(identity.name.as_str()))
    };
    let proof = owned()
        .filter(|e| !e.writes)
        .chain(owned().filter(|e| e.writes))
        .find_map(|e| baselines.get(&e.name).map(|b| (e.writes, b)));
    let proof_text = match proof {
        Some((writes, (req, baseline))) => match ctx.net.send(forged_cred.apply(req.clone())).await
        {
            Ok(res) => {
                let access = if writes {
                    judge::judge_write(baseline, res.status, &res.body)
                } else {
                    judge::judge(baseline, res.status, &res.body, Evidence::CanariesOrShape)
                };
                match access {
                    Access::Granted { .. } => format!(
                        "a token forged with it was accepted: {} {} with {} answered {} with the \
                     owner's data",
                        req.method,
                        ctx.net.redactor().redact(req.url.as_str()),
                        forged_cred.describe(),
                        res.status
                    ),
                    Access::Denied(why) => format!(
                        "a token forged with it was sent to {} {} and {why} (the match itself \
                     proves the secret)",
                        req.method,
                        req.url.path()
                    ),
                }
            }
            Err(e) => format!("the forged-token request failed: {e}"),
        },
        None => "no endpoint owned by this identity to prove it with a request".to_string(),
    };
    let finding = Finding::new(
        "auth.jwt-weak-secret",
        Severity::Critical,
        Outcome::Fail,
        &subject,
        format!(
            "the {} signing secret of `{}`'s token is guessable: anyone can forge any user's \
             token",
            token.alg(),
            identity.name
        ),
    )
    .evidence(format!(
        "secret *** ({} characters) {} verifies the token's signature offline; {proof_text}",
        secret.chars().count(),
        found.source.describe()
    ))
    .fix(
        "Rotate the signing key to 32+ random bytes from a secrets manager (or move to an \
         asymmetric algorithm) and invalidate every token signed with the old one.",
    );
    Some(SubjectRow::judged(&subject, vec![finding]))
}
