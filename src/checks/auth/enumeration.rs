//! Account enumeration: do login, signup or password reset answer a known
//! account differently from an unknown one?
//!
//! The endpoint's body template names a known account (its e-mail or user
//! name field); a signup registers it once first, so it is known. Each case
//! is sampled a few times, alternating, with the same wrong password; every
//! unknown sample is a fresh, never-registered account from the seed (an
//! e-mail in the profile's test domain), so a signup that registers one
//! sample does not make the next one "known". The answers are compared by
//! status, by wording (with the account names masked, and only when each
//! case answers consistently), and by timing (a gap between the medians of
//! at least 50 ms and four times the larger median deviation within a case,
//! so a few slow samples on a busy machine neither hide nor fake a gap). The
//! body goes in the endpoint's own encoding (JSON or form).

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
const MIN_TIMING_GAP: Duration = Duration::from_millis(50);

/// How many times the larger median deviation the gap must exceed.
const NOISE_FACTOR: u32 = 4;

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
    let seed = profile.auth.seed;
    let fresh = FreshAccounts::new(seed, subject, test_domain(profile, &known));
    let account_fields = account_fields(endpoint, &body, &id_field);
    let wrong_password = format!("readiness-wrong-{seed:x}");
    let params = request::owner_params(endpoint, None);
    if endpoint.kind.as_deref() == Some("signup") {
        // The known account must exist before it is compared: a signup
        // template may name one not registered yet. Its answer is not a sample.
        let req = match request::build(profile, endpoint, &Ids::same(&params)) {
            Ok(r) => r,
            Err(e) => return SubjectRow::skip(subject, e),
        };
        if let Err(e) = ctx.net.send(req).await {
            return SubjectRow::error(subject, format!("request failed: {e}"));
        }
    }
    let mut known_samples = Vec::new();
    let mut unknown_samples = Vec::new();
    // Every value sent as an account name, masked when answers are compared.
    let mut accounts = vec![known.clone()];
    for round in 0..profile.auth.timing_samples {
        // Interleaved, and the order flipped every round, so load and warm-up
        // fall on both cases alike.
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for is_known in order {
            let mut req = match request::build(profile, endpoint, &Ids::same(&params)) {
                Ok(r) => r,
                Err(e) => return SubjectRow::skip(subject, e),
            };
            let mut b = body.clone();
            if !is_known {
                // A never-registered account per sample: a signup that
                // registers one must not turn the next "unknown" into a known.
                for field in &account_fields {
                    let value = fresh.value(round, &b[field]);
                    accounts.push(value.clone());
                    b[field] = Value::from(value);
                }
            }
            for key in password_fields(&b) {
                b[&key] = Value::from(wrong_password.as_str());
            }
            req.body = Some(request::encode_body(endpoint, &b).1.into());
            let into = if is_known {
                &mut known_samples
            } else {
                &mut unknown_samples
            };
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
    let masks: Vec<&str> = accounts.iter().map(String::as_str).collect();
    let differences = compare(&known_samples, &unknown_samples, &masks);
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
                "known account vs a fresh never-registered one per sample \
                 (`{}`, [checks.auth] seed = {seed}), same wrong password, {} samples each: {}",
                fresh.pattern(),
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
    SubjectRow::judged(subject, findings)
        .measure("samples_per_case", known_samples.len() as u64)
        .measure("unknown_account_seed", seed)
}

/// Never-registered account names, one per sample, from the seed and the
/// endpoint (a signup probed beside a login must not register the login's
/// "unknown" names): e-mail addresses in the profile's test domain, plain
/// names otherwise.
#[derive(Debug, Clone)]
pub struct FreshAccounts {
    seed: u64,
    endpoint: u32,
    domain: String,
}

impl FreshAccounts {
    pub fn new(seed: u64, endpoint: &str, domain: String) -> FreshAccounts {
        FreshAccounts {
            seed,
            endpoint: crc32fast::hash(endpoint.as_bytes()) & 0xffff,
            domain,
        }
    }

    /// The value of one account field for sample `n`: an address in the
    /// test domain when the template's value is one, a plain name otherwise.
    pub fn value(&self, n: u64, current: &Value) -> String {
        let name = format!("readiness-nobody-{:x}-{:04x}{n}", self.seed, self.endpoint);
        if current.as_str().is_some_and(|v| v.contains('@')) {
            format!("{name}@{}", self.domain)
        } else {
            name
        }
    }

    /// How the names look, for evidence.
    pub fn pattern(&self) -> String {
        format!("readiness-nobody-{:x}-{:04x}N", self.seed, self.endpoint)
    }
}

/// The domain of test addresses: `[checks.input] email_domain` when the
/// profile sets one, else the known account's own domain.
fn test_domain(profile: &Profile, known: &str) -> String {
    if let Some(d) = &profile.input.email_domain {
        return d.clone();
    }
    known
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| "example.invalid".to_string())
}

/// Body fields that name the account: the identifier, and (for a signup)
/// every other e-mail, user name or slug field, so each unknown sample is a
/// wholly new account.
fn account_fields(endpoint: &Endpoint, body: &Value, id_field: &str) -> Vec<String> {
    let mut out = vec![id_field.to_string()];
    let Some(map) = body.as_object() else {
        return out;
    };
    for (key, value) in map {
        if key == id_field || !value.is_string() {
            continue;
        }
        let declared = endpoint
            .fields
            .get(key)
            .is_some_and(|k| matches!(k.as_str(), "email" | "slug"));
        if declared || IDENTIFIER_NAMES.contains(&key.to_ascii_lowercase().as_str()) {
            out.push(key.clone());
        }
    }
    out
}

/// Field names that hold an account's e-mail or user name.
const IDENTIFIER_NAMES: &[&str] = &[
    "email",
    "username",
    "login",
    "user",
    "identifier",
    "email_address",
];

fn identifier_field(endpoint: &Endpoint, body: &Value) -> Option<String> {
    let map = body.as_object()?;
    if let Some((k, _)) = endpoint
        .fields
        .iter()
        .find(|(k, kind)| kind.as_str() == "email" && map.contains_key(k.as_str()))
    {
        return Some(k.clone());
    }
    IDENTIFIER_NAMES
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
    let noise = deviation(known).max(deviation(unknown));
    if gap >= MIN_TIMING_GAP && gap > noise * NOISE_FACTOR {
        out.push(format!(
            "timing: median {} ms for the known account vs {} ms for the unknown one \
             (median deviation {} ms)",
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
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// The median absolute deviation from the median: the spread of a case that
/// one or two slow samples (a busy machine, a TLS handshake) do not inflate.
fn deviation(s: &[Sample]) -> Duration {
    let m = median(s);
    let mut d: Vec<Duration> = s.iter().map(|x| x.elapsed.abs_diff(m)).collect();
    d.sort();
    d.get(d.len() / 2).copied().unwrap_or_default()
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
    fn fresh_accounts_differ_per_sample_and_per_endpoint() {
        let signup = FreshAccounts::new(7, "register", "t.test".into());
        let login = FreshAccounts::new(7, "login", "t.test".into());
        let email = Value::from("known@corp.test");
        let name = Value::from("known");
        assert_ne!(signup.value(0, &name), signup.value(1, &name));
        assert_ne!(signup.value(0, &name), login.value(0, &name));
        assert!(signup.value(0, &email).ends_with("@t.test"));
        assert!(!signup.value(0, &name).contains('@'));
        // Deterministic from the seed.
        let again = FreshAccounts::new(7, "register", "t.test".into());
        assert_eq!(signup.value(2, &email), again.value(2, &email));
    }

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

    #[test]
    fn a_timing_gap_survives_a_busy_machine() {
        // Known accounts hash (~120 ms), unknown ones do not (~2 ms); two of
        // five samples of each case hit a stall.
        let k: Vec<Sample> = [121, 260, 123, 122, 300]
            .iter()
            .map(|ms| s(401, "invalid", *ms))
            .collect();
        let u: Vec<Sample> = [2, 150, 3, 190, 2]
            .iter()
            .map(|ms| s(401, "invalid", *ms))
            .collect();
        let got = compare(&k, &u, ACCOUNTS);
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].contains("median 123 ms"), "{got:?}");
    }

    #[test]
    fn equal_work_with_stalls_is_not_a_timing_gap() {
        // Both cases hash; stalls land on either side.
        let k: Vec<Sample> = [121, 260, 123, 122, 124]
            .iter()
            .map(|ms| s(401, "invalid", *ms))
            .collect();
        let u: Vec<Sample> = [122, 125, 300, 190, 121]
            .iter()
            .map(|ms| s(401, "invalid", *ms))
            .collect();
        assert!(compare(&k, &u, ACCOUNTS).is_empty());
        // Fast both ways, one case unlucky twice: the medians stay together.
        let k: Vec<Sample> = [2, 90, 3, 2, 95]
            .iter()
            .map(|ms| s(401, "x", *ms))
            .collect();
        let u: Vec<Sample> = [2, 3, 2, 4, 3].iter().map(|ms| s(401, "x", *ms)).collect();
        assert!(compare(&k, &u, ACCOUNTS).is_empty());
    }
}
