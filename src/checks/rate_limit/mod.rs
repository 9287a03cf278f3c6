//! The `rate_limit` check: login, signup and password reset throttle
//! repeated wrong attempts within the configured count.
//!
//! Attempts use an account that does not exist (a fresh address at the
//! domain of the endpoint's own template) or the profile's throwaway
//! account, never a shared identity, and are sent at a bounded rate. The
//! attempt at which throttling started and the headers that announced it
//! are reported. An opt-in probe then checks that the limit is not reset by
//! rotating `X-Forwarded-For` or by changing the username's letter case.
//! An endpoint that needs a session (an OTP step after login) is probed only
//! with an identity marked `throwaway` (wrong attempts could lock it); one
//! that logs in uses the audit's shared, memoised login, and a failed login
//! makes the row an `error` naming the identity. Bodies are sent in the
//! endpoint's own encoding (JSON, or form fields for `form = {...}`), and
//! every account a signup attempt may have created is listed in the row's
//! `created` measurement (shown in the report) so it can be cleaned up.

pub mod config;

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::checks::access::request::encode_body;
use crate::checks::active::{
    build_request_with, credential_for, identity_for, params_for, with_login_step,
};
use crate::checks::input::in_encoding_of;
use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::net::{HttpRequest, HttpResponse, NetError};
use crate::profile::Profile;
use crate::profile::access::{CredentialSource, Endpoint};
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};

pub struct RateLimitCheck;

/// Extra requests of the bypass probe: forwarded-for, letter case, control.
const BYPASS_REQUESTS: u64 = 3;

/// Words of a body that announce throttling, lockout or a challenge.
const THROTTLE_WORDS: &[&str] = &[
    "too many",
    "rate limit",
    "rate-limit",
    "try again later",
    "temporarily locked",
    "account locked",
    "captcha",
];

#[async_trait]
impl Check for RateLimitCheck {
    fn codes(&self) -> &'static [&'static str] {
        &[
            "rate_limit.bypass-forwarded-for",
            "rate_limit.bypass-username-case",
            "rate_limit.not-throttled",
        ]
    }

    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "rate_limit",
            title: "Throttling of login, signup and password reset",
            verifies: "repeated wrong attempts are throttled (429, lockout or challenge)",
            criterion: "throttling starts at or before the configured attempt (30 by default), \
                        and (opt-in) survives X-Forwarded-For rotation and username case changes",
            class: Class::Active,
            read_only: false,
        }
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let s = &profile.rate_limit;
        if !s.enabled {
            return Plan::skip("disabled in the profile ([checks.rate_limit] enabled = false)");
        }
        let selected = s.selected(&profile.endpoints);
        if selected.is_empty() {
            return Plan::skip(
                "no [[endpoint]] of kind login, signup or password_reset, and none named in \
                 [checks.rate_limit] endpoints",
            );
        }
        let extra = if s.bypass_probe { BYPASS_REQUESTS } else { 0 };
        let mut plan = Plan::default();
        let probed = selected
            .iter()
            .copied()
            .filter(|e| !needs_writes(e) || profile.target.allow_writes)
            .filter(|e| shared_session(profile, e).is_none());
        plan = with_login_step(plan, profile, probed);
        for e in selected {
            // Skipped at run time: the plan reserves nothing and says why.
            let skip = if needs_writes(e) && !profile.target.allow_writes {
                Some("skipped: it creates accounts (needs [target] allow_writes = true)")
            } else if account_field(e).is_none() {
                Some("skipped: the body names no account field")
            } else if shared_session(profile, e).is_some() {
                Some("skipped: it needs the session of a shared identity (mark one throwaway)")
            } else {
                None
            };
            if let Some(why) = skip {
                plan = plan.step(&e.name, why, 0, false);
                continue;
            }
            let what = format!(
                "up to {} wrong attempts at {}/s{}",
                s.attempts,
                s.rate,
                if s.bypass_probe {
                    ", then the bypass probe"
                } else {
                    ""
                }
            );
            plan = plan.step(&e.name, &what, s.attempts + extra, needs_writes(e));
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let selected: Vec<Endpoint> = ctx
            .profile
            .rate_limit
            .selected(&ctx.profile.endpoints)
            .into_iter()
            .cloned()
            .collect();
        let mut rows = Vec::new();
        for e in &selected {
            rows.push(probe_endpoint(&ctx, e).await);
        }
        rows
    }
}

/// Signup attempts create accounts; login and password reset for an
/// account that does not exist change nothing.
fn needs_writes(e: &Endpoint) -> bool {
    e.kind.as_deref() == Some("signup") || (e.writes && e.kind.is_none())
}

/// The identity whose session the endpoint needs when it is not marked
/// throwaway: wrong attempts in that session could lock a shared account.
fn shared_session<'a>(profile: &'a Profile, e: &Endpoint) -> Option<&'a str> {
    match identity_for(profile, e) {
        Ok(Some(i)) if !i.throwaway && !matches!(i.credential, CredentialSource::None) => {
            Some(i.name.as_str())
        }
        _ => None,
    }
}

/// The body field that names the account: the one of kind email, or a
/// conventional name.
fn account_field(e: &Endpoint) -> Option<String> {
    if let Some((k, _)) = e.fields.iter().find(|(_, kind)| kind.as_str() == "email") {
        return Some(k.clone());
    }
    let body = e.body.as_ref()?.shape().as_object()?.clone();
    ["email", "username", "login", "user", "identifier"]
        .iter()
        .find(|k| body.contains_key(**k))
        .map(|k| k.to_string())
}

/// A fresh account name: at the template's own email domain when it has one.
fn fresh_account(template_value: Option<&str>) -> String {
    let tag = format!("{:012x}", rand::random::<u64>() & 0xffff_ffff_ffff);
    match template_value.and_then(|v| v.rsplit_once('@')) {
        Some((_, domain)) if !domain.is_empty() => format!("readiness-probe-{tag}@{domain}"),
        _ => format!("readiness-probe-{tag}@example.invalid"),
    }
}

/// Whether a response throttles, and how it said so.
pub fn throttle_signal(r: &HttpResponse) -> Option<String> {
    if r.status == 429 {
        return Some("HTTP 429".into());
    }
    if r.status == 423 {
        return Some("HTTP 423 Locked".into());
    }
    let text = r.text().to_ascii_lowercase();
    THROTTLE_WORDS
        .iter()
        .find(|w| text.contains(**w))
        .map(|w| format!("HTTP {} with \"{w}\" in the body", r.status))
}

/// The limit headers of a response, `name: value` each.
fn limit_headers(r: &HttpResponse) -> Vec<String> {
    r.headers
        .iter()
        .filter(|(name, _)| {
            let n = name.as_str();
            n == "retry-after" || n.starts_with("ratelimit") || n.starts_with("x-ratelimit")
        })
        .map(|(n, v)| format!("{n}: {}", String::from_utf8_lossy(v.as_bytes())))
        .collect()
}

/// The body of one wrong attempt, in the endpoint's own encoding.
fn attempt_body(e: &Endpoint, field: &str, account: &str, wrong: &str) -> Bytes {
    let mut body = e
        .body
        .as_ref()
        .map(|t| t.render())
        .unwrap_or_else(|| json!({}));
    if let Some(map) = body.as_object_mut() {
        map.insert(field.to_string(), Value::String(account.to_string()));
        for (k, v) in map.iter_mut() {
            if k.to_ascii_lowercase().contains("password") {
                *v = Value::String(wrong.to_string());
            }
        }
    }
    Bytes::from(encode_body(e, &body).1)
}

/// Most created accounts listed per endpoint.
const MAX_CREATED_LISTED: usize = 50;

/// Lists an account a 2xx answer to a signup attempt may have created
/// (once per account and id).
fn note_created(e: &Endpoint, account: &str, r: &HttpResponse, out: &mut Vec<Value>) {
    if !needs_writes(e) || !(200..300).contains(&r.status) || out.len() >= MAX_CREATED_LISTED {
        return;
    }
    let id = serde_json::from_slice::<Value>(&r.body)
        .ok()
        .and_then(|v| v.get("id").cloned())
        .unwrap_or(Value::Null);
    let item = json!({
        "endpoint": e.name,
        "status": r.status,
        "id": id,
        "test_values": [account],
    });
    let same = |x: &Value| x["test_values"] == item["test_values"] && x["id"] == item["id"];
    if !out.iter().any(same) {
        out.push(item);
    }
}

/// Flips the letter case of the part before `@` (or the whole name).
fn other_case(account: &str) -> String {
    let (local, rest) = match account.split_once('@') {
        Some((l, d)) => (l, format!("@{d}")),
        None => (account, String::new()),
    };
    let flipped: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    format!("{flipped}{rest}")
}

async fn probe_endpoint(ctx: &Context, e: &Endpoint) -> SubjectRow {
    let subject = e.name.clone();
    let s = ctx.profile.rate_limit.clone();
    if needs_writes(e) && !ctx.profile.target.allow_writes {
        return SubjectRow::skip(
            &subject,
            format!(
                "`{}` creates accounts; probing it needs [target] allow_writes = true",
                e.name
            ),
        );
    }
    let Some(field) = account_field(e) else {
        return SubjectRow::skip(
            &subject,
            "the body names no account field; mark it with fields = { <name> = \"email\" }",
        );
    };
    let template_value = e.body.as_ref().and_then(|t| {
        t.render()
            .get(&field)
            .and_then(|v| v.as_str().map(String::from))
    });
    let account = s
        .account
        .clone()
        .unwrap_or_else(|| fresh_account(template_value.as_deref()));
    if let Some(identity) = shared_session(&ctx.profile, e) {
        return SubjectRow::skip(
            &subject,
            format!(
                "`{}` needs the session of identity `{identity}`, which is not marked \
                 throwaway; wrong attempts could lock a shared account, so make a throwaway \
                 identity (throwaway = true) its owner",
                e.name
            ),
        );
    }
    let credential = match credential_for(&ctx.net, &ctx.profile, e).await {
        Ok(c) => c,
        Err(missing) => return missing.row(&subject),
    };
    let wrong = format!("wrong-{:016x}", rand::random::<u64>());
    ctx.net.redactor().register(&wrong);
    let params = params_for(&ctx.profile, e);
    let make = |account: &str| -> Result<HttpRequest, String> {
        let body = attempt_body(e, &field, account, &wrong);
        build_request_with(
            &ctx.profile,
            e,
            &params,
            None,
            Some(body),
            credential.as_ref(),
        )
        .map(|req| in_encoding_of(e, req))
    };
    let base = match make(&account) {
        Ok(r) => r,
        Err(reason) => return SubjectRow::skip(&subject, reason),
    };
    let location = format!("{} {}", base.method, base.url);
    let interval = Duration::from_secs_f64(1.0 / s.rate);

    let mut statuses: Vec<u16> = Vec::new();
    let mut failures = 0u64;
    let mut throttled: Option<(u64, String, Vec<String>)> = None;
    let mut created: Vec<Value> = Vec::new();
    let mut next = tokio::time::Instant::now();
    for attempt in 1..=s.attempts {
        if ctx.cancel.is_cancelled() || std::time::Instant::now() >= ctx.deadline {
            break;
        }
        tokio::time::sleep_until(next).await;
        next += interval;
        match ctx.net.send(base.clone()).await {
            Ok(r) => {
                statuses.push(r.status);
                note_created(e, &account, &r, &mut created);
                if let Some(signal) = throttle_signal(&r) {
                    throttled = Some((attempt, signal, limit_headers(&r)));
                    break;
                }
            }
            Err(NetError::Budget | NetError::Cancelled) => break,
            Err(_) => failures += 1,
        }
    }
    let answered = statuses.len() as u64;
    let summary = status_summary(&statuses);
    let mut row_findings = Vec::new();
    let mut measurements = serde_json::Map::new();
    measurements.insert("attempts_sent".into(), json!(answered + failures));
    measurements.insert("statuses".into(), json!(summary));
    measurements.insert("configured_attempts".into(), json!(s.attempts));

    let reason;
    match &throttled {
        None if answered == 0 => {
            return SubjectRow::error(
                &subject,
                format!("no attempt was answered ({failures} failed); nothing to judge"),
            );
        }
        None if statuses.iter().all(|st| *st >= 500) => {
            let mut row = SubjectRow::error(
                &subject,
                format!("every attempt answered 5xx ({summary}); throttling cannot be judged"),
            );
            row.measurements = measurements;
            return row;
        }
        None => {
            reason = format!("not throttled after {answered} attempts ({summary})");
            row_findings.push(
                Finding::new(
                    "rate_limit.not-throttled",
                    Severity::High,
                    Outcome::Fail,
                    &subject,
                    format!("{answered} wrong attempts in a row were never throttled"),
                )
                .at(&location)
                .evidence(format!(
                    "{answered} attempts at {}/s for a non-shared account: {summary}; no 429, \
                     lockout or challenge",
                    s.rate
                ))
                .fix(
                    "Throttle per account and per client (for example 5 to 10 attempts per \
                     15 minutes), answer 429 with Retry-After, and alert on bursts.",
                ),
            );
        }
        Some((attempt, signal, headers)) => {
            measurements.insert("throttled_at".into(), json!(attempt));
            measurements.insert("signal".into(), json!(signal));
            measurements.insert("limit_headers".into(), json!(headers));
            reason = format!(
                "throttled at attempt {attempt} ({signal}); {}",
                if headers.is_empty() {
                    "no Retry-After or RateLimit-* header".to_string()
                } else {
                    headers.join(", ")
                }
            );
            if s.bypass_probe {
                let target = Target {
                    endpoint: e,
                    account: &account,
                    subject: &subject,
                    location: &location,
                };
                let probe = bypass(ctx, &base, &make, &target, &mut created).await;
                measurements.insert("bypass_probe".into(), probe.0);
                row_findings.extend(probe.1);
            }
        }
    }
    if !created.is_empty() {
        measurements.insert("created".into(), Value::Array(created));
    }
    let mut row = SubjectRow::judged(&subject, row_findings);
    row.measurements = measurements;
    row.reason = Some(reason);
    row
}

/// What the bypass probe is about.
struct Target<'a> {
    endpoint: &'a Endpoint,
    account: &'a str,
    subject: &'a str,
    location: &'a str,
}

/// After throttling began: does a rotated X-Forwarded-For or a username in
/// another letter case get through? A control request last tells a reset
/// limit from an expired one (then nothing is concluded).
async fn bypass(
    ctx: &Context,
    base: &HttpRequest,
    make: &(dyn Fn(&str) -> Result<HttpRequest, String> + Sync),
    target: &Target<'_>,
    created: &mut Vec<Value>,
) -> (Value, Vec<Finding>) {
    let Target {
        endpoint,
        account,
        subject,
        location,
    } = *target;
    let mut throttled = |account: &str, r: &Result<HttpResponse, NetError>| match r {
        Ok(r) => {
            note_created(endpoint, account, r, created);
            Some(throttle_signal(r).is_some())
        }
        Err(_) => None,
    };
    let forwarded = base
        .clone()
        .header("x-forwarded-for", "203.0.113.77")
        .header("x-real-ip", "203.0.113.77");
    let xff = throttled(account, &ctx.net.send(forwarded).await);
    let other = other_case(account);
    let case = match make(&other) {
        Ok(req) => throttled(&other, &ctx.net.send(req).await),
        Err(_) => None,
    };
    let control = throttled(account, &ctx.net.send(base.clone()).await);
    let facts = json!({
        "forwarded_for_throttled": xff,
        "other_case_throttled": case,
        "control_throttled": control,
    });
    if control != Some(true) {
        return (facts, Vec::new());
    }
    let mut out = Vec::new();
    if xff == Some(false) {
        out.push(
            Finding::new(
                "rate_limit.bypass-forwarded-for",
                Severity::High,
                Outcome::Fail,
                subject,
                "a new X-Forwarded-For value resets the limit",
            )
            .at(location)
            .evidence(
                "throttled attempt, then the same attempt with X-Forwarded-For: 203.0.113.77 \
                 was answered unthrottled while a control attempt stayed throttled",
            )
            .fix(
                "Take the client address from the connection or from the one proxy hop you \
                 trust, never from a header the client controls; also limit per account.",
            ),
        );
    }
    if case == Some(false) {
        out.push(
            Finding::new(
                "rate_limit.bypass-username-case",
                Severity::High,
                Outcome::Fail,
                subject,
                "changing the username's letter case resets the limit",
            )
            .at(location)
            .evidence(format!(
                "throttled for `{account}`, unthrottled for `{}` while a control attempt \
                 stayed throttled",
                other_case(account)
            ))
            .fix("Normalise the account name (case, Unicode) before counting attempts."),
        );
    }
    (facts, out)
}

/// `401 x29, 429 x1`, in order of first appearance.
fn status_summary(statuses: &[u16]) -> String {
    let mut counts: Vec<(u16, usize)> = Vec::new();
    for s in statuses {
        match counts.iter_mut().find(|(c, _)| c == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((*s, 1)),
        }
    }
    counts
        .iter()
        .map(|(s, n)| format!("{s} x{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse {
            url: url::Url::parse("https://a.test/").unwrap(),
            status,
            headers: http::HeaderMap::new(),
            body: Bytes::from(body.to_string()),
            truncated: false,
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn throttle_signals_both_ways() {
        assert!(throttle_signal(&response(429, "")).is_some());
        assert!(throttle_signal(&response(423, "")).is_some());
        assert!(throttle_signal(&response(401, "Too many attempts, try again later")).is_some());
        assert!(throttle_signal(&response(401, "{\"error\":\"invalid credentials\"}")).is_none());
        assert!(throttle_signal(&response(200, "welcome")).is_none());
    }

    #[test]
    fn accounts_and_case() {
        let a = fresh_account(Some("alice@acme.example"));
        assert!(a.starts_with("readiness-probe-") && a.ends_with("@acme.example"));
        assert!(fresh_account(None).ends_with("@example.invalid"));
        assert_eq!(other_case("probe-ab@x.test"), "PROBE-AB@x.test");
        assert_eq!(status_summary(&[401, 401, 429]), "401 x2, 429 x1");
    }
}
