//! Account enumeration: do login, signup or password reset answer a known
//! account differently from an unknown one?
//!
//! The endpoint's body template names a known account (its e-mail or user
//! name field). Each case is sampled a few times, alternating, with the same
//! wrong password; the answers are compared by status, by wording (with the
//! account names masked, and only when each case answers consistently), and
//! by timing (a median gap well beyond the spread within each case).

use std::time::Duration;

use serde_json::Value;

use crate::checks::access::request::{self, Ids};
use crate::engine::Context;
use crate::profile::Profile;
use crate::profile::access::Endpoint;
use crate::report::model::{Finding, Outcome, Severity, SubjectRow};

/// One answer, reduced to what is compared.
#[derive(Debug, Clone)]
pub struct Sample {
    pub status: u16,
    pub body: String,
    pub elapsed: Duration,
}

/// Smallest median timing gap reported, whatever the noise.
const MIN_TIMING_GAP: Duration = Duration::from_millis(100);

pub async fn audit(ctx: &Context, profile: &Profile, endpoint: &Endpoint) -> SubjectRow {
    let subject = endpoint.name.as_str();
    let Some(template) = &endpoint.body else {
        return SubjectRow::skip(subject, "no body template naming a known account");
    };
    let body = template.render();
    let Some(id_field) = identifier_field(endpoint, &body) else {
        return SubjectRow::skip(
            subject,
            "the body has no e-mail or user name field (name it `email` or `username`, or set \
             `fields = { x = \"email\" }`)",
        );
    };
    let known = body[&id_field].as_str().unwrap_or_default().to_string();
    let tag = format!("{:08x}", rand::random::<u32>());
    let unknown = match known.split_once('@') {
        Some((_, domain)) => format!("readiness-nobody-{tag}@{domain}"),
        None => format!("readiness-nobody-{tag}"),
    };
    let wrong_password = format!("readiness-wrong-{tag}");
    let params = request::owner_params(endpoint, None);
    let mut known_samples = Vec::new();
    let mut unknown_samples = Vec::new();
    for _ in 0..profile.auth.timing_samples {
        for (account, into) in [
            (&known, &mut known_samples),
            (&unknown, &mut unknown_samples),
        ] {
            let mut req = match request::build(profile, endpoint, &Ids::same(&params)) {
                Ok(r) => r,
                Err(e) => return SubjectRow::skip(subject, e),
            };
            let mut b = body.clone();
            b[&id_field] = Value::from(account.as_str());
            for key in password_fields(&b) {
                b[&key] = Value::from(wrong_password.as_str());
            }
            req.body = Some(b.to_string().into());
            match ctx.net.send(req).await {
                Ok(res) => into.push(Sample {
                    status: res.status,
                    body: res.text(),
                    elapsed: res.elapsed,
                }),
                Err(e) => return SubjectRow::error(subject, format!("request failed: {e}")),
            }
        }
    }
    let accounts = [known.as_str(), unknown.as_str()];
    let differences = compare(&known_samples, &unknown_samples, &accounts);
    let findings = if differences.is_empty() {
        Vec::new()
    } else {
        vec![
            Finding::new(
                "auth.account-enumeration",
                Severity::Medium,
                Outcome::Fail,
                subject,
                format!(
                    "{} tells a known account from an unknown one",
                    endpoint.kind.as_deref().unwrap_or("the endpoint")
                ),
            )
            .evidence(format!(
                "known account vs `readiness-nobody-...`, same wrong password, {} samples each: {}",
                known_samples.len(),
                differences.join("; ")
            ))
            .fix(
                "Answer known and unknown accounts with the same status, the same message \
                 (\"invalid e-mail or password\" / \"if the account exists, we sent a mail\") \
                 and the same work (hash a dummy password for unknown accounts).",
            )
            .at(endpoint.path.as_str()),
        ]
    };
    SubjectRow::judged(subject, findings).measure("samples_per_case", known_samples.len() as u64)
}

fn identifier_field(endpoint: &Endpoint, body: &Value) -> Option<String> {
    let map = body.as_object()?;
    if let Some((k, _)) = endpoint
        .fields
        .iter()
        .find(|(k, kind)| kind.as_str() == "email" && map.contains_key(k.as_str()))
    {
        return Some(k.clone());
    }
    [
        "email",
        "username",
        "login",
        "user",
        "identifier",
        "email_address",
    ]
    .iter()
    .find(|k| map.get(**k).is_some_and(Value::is_string))
    .map(|k| k.to_string())
}

fn password_fields(body: &Value) -> Vec<String> {
    body.as_object()
        .map(|m| {
            m.keys()
                .filter(|k| k.to_ascii_lowercase().contains("password"))
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// The ways the two cases differ, in words; empty when they look the same.
pub fn compare(known: &[Sample], unknown: &[Sample], accounts: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    if known.is_empty() || unknown.is_empty() {
        return out;
    }
    let status_k = known[0].status;
    let status_u = unknown[0].status;
    let stable = |s: &[Sample], status: u16| s.iter().all(|x| x.status == status);
    if status_k != status_u && stable(known, status_k) && stable(unknown, status_u) {
        out.push(format!(
            "status {status_k} for the known account, {status_u} for the unknown one"
        ));
    }
    let norm = |s: &Sample| normalize(&s.body, accounts);
    let body_k = norm(&known[0]);
    let body_u = norm(&unknown[0]);
    let consistent =
        known.iter().all(|s| norm(s) == body_k) && unknown.iter().all(|s| norm(s) == body_u);
    if consistent && body_k != body_u {
        out.push(format!(
            "wording differs: known `{}` vs unknown `{}`",
            clip(&body_k),
            clip(&body_u)
        ));
    }
    let med_k = median(known);
    let med_u = median(unknown);
    let gap = med_k.abs_diff(med_u);
    let noise = spread(known).max(spread(unknown));
    if gap >= MIN_TIMING_GAP && gap > noise * 3 {
        out.push(format!(
            "timing: median {} ms for the known account vs {} ms for the unknown one \
             (spread {} ms)",
            med_k.as_millis(),
            med_u.as_millis(),
            noise.as_millis()
        ));
    }
    out
}

/// The body with the account names masked and digits dropped (ids, times).
fn normalize(body: &str, accounts: &[&str]) -> String {
    let mut t = body.to_string();
    for a in accounts {
        if !a.is_empty() {
            t = t.replace(a, "<account>");
        }
    }
    t.chars()
        .filter(|c| !c.is_ascii_digit())
        .collect::<String>()
        .trim()
        .to_string()
}

fn clip(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

fn median(s: &[Sample]) -> Duration {
    let mut v: Vec<Duration> = s.iter().map(|x| x.elapsed).collect();
    v.sort();
    v[v.len() / 2]
}

fn spread(s: &[Sample]) -> Duration {
    let min = s.iter().map(|x| x.elapsed).min().unwrap_or_default();
    let max = s.iter().map(|x| x.elapsed).max().unwrap_or_default();
    max - min
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(status: u16, body: &str, ms: u64) -> Sample {
        Sample {
            status,
            body: body.to_string(),
            elapsed: Duration::from_millis(ms),
        }
    }

    const ACCOUNTS: &[&str] = &["alice@a.test", "readiness-nobody-1@a.test"];

    #[test]
    fn same_answer_for_both_is_not_enumeration() {
        let k = vec![
            s(401, "invalid email or password", 20),
            s(401, "invalid email or password", 25),
        ];
        let u = vec![
            s(401, "invalid email or password", 22),
            s(401, "invalid email or password", 21),
        ];
        assert!(compare(&k, &u, ACCOUNTS).is_empty());
        // Echoing the account back is not a difference either.
        let k = vec![s(200, "if alice@a.test exists we sent a mail", 20)];
        let u = vec![s(
            200,
            "if readiness-nobody-1@a.test exists we sent a mail",
            20,
        )];
        assert!(compare(&k, &u, ACCOUNTS).is_empty());
    }

    #[test]
    fn wording_status_and_timing_are_each_detected() {
        let k = vec![s(401, "wrong password", 20), s(401, "wrong password", 21)];
        let u = vec![s(401, "no such user", 20), s(401, "no such user", 22)];
        assert_eq!(compare(&k, &u, ACCOUNTS).len(), 1);
        let k = vec![s(401, "denied", 20), s(401, "denied", 20)];
        let u = vec![s(404, "denied", 20), s(404, "denied", 20)];
        assert!(compare(&k, &u, ACCOUNTS)[0].contains("status 401"));
        let k = vec![s(401, "x", 400), s(401, "x", 410), s(401, "x", 405)];
        let u = vec![s(401, "x", 20), s(401, "x", 30), s(401, "x", 25)];
        assert!(compare(&k, &u, ACCOUNTS)[0].contains("timing"));
    }

    #[test]
    fn noisy_timing_and_inconsistent_bodies_are_not_reported() {
        let k = vec![
            s(401, "x req-a", 400),
            s(401, "x req-b", 20),
            s(401, "x req-c", 300),
        ];
        let u = vec![
            s(401, "x req-d", 20),
            s(401, "x req-e", 380),
            s(401, "x req-f", 30),
        ];
        assert!(compare(&k, &u, ACCOUNTS).is_empty());
    }
}
