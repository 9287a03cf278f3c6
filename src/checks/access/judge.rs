//! Did a response hand out the owner's data? Judged by status AND content.
//!
//! Many apps answer 200 with an error or a login page, so a status alone is
//! not evidence. The owner's authorised response is the baseline: its JSON
//! keys and its "canary" values (distinctive strings such as ids, e-mail
//! addresses and names). A probe response grants access when it is a 2xx
//! and carries canary values of the owner's, or (for the auth check) the
//! same JSON shape. A 200 HTML page that is not the baseline grants nothing.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::net::HttpResponse;

/// Words too common to prove anything when found in another response.
const COMMON: &[&str] = &[
    "true", "false", "null", "none", "admin", "member", "owner", "user", "users", "active",
    "pending", "enabled", "disabled", "success", "error", "ok", "read", "write", "default",
    "public", "private", "viewer", "editor", "guest",
];

/// The owner's authorised response, reduced to what identifies its data.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub status: u16,
    pub is_json: bool,
    pub keys: BTreeSet<String>,
    pub canaries: Vec<String>,
    pub body: String,
}

impl Baseline {
    pub fn of(res: &HttpResponse) -> Baseline {
        Baseline::from_parts(res.status, &res.body)
    }

    pub fn from_parts(status: u16, body: &[u8]) -> Baseline {
        let text = String::from_utf8_lossy(body).into_owned();
        match serde_json::from_slice::<Value>(body) {
            Ok(json) if json.is_object() || json.is_array() => {
                let mut keys = BTreeSet::new();
                let mut canaries = Vec::new();
                walk(&json, &mut keys, &mut canaries);
                canaries.sort();
                canaries.dedup();
                Baseline {
                    status,
                    is_json: true,
                    keys,
                    canaries,
                    body: text,
                }
            }
            _ => Baseline {
                status,
                is_json: false,
                keys: BTreeSet::new(),
                canaries: Vec::new(),
                body: text,
            },
        }
    }

    /// Drops canaries that also appear in `other` (another identity's own
    /// data): values both tenants share prove nothing.
    pub fn without_values_of(&self, other: &[u8]) -> Baseline {
        let text = String::from_utf8_lossy(other);
        let mut b = self.clone();
        b.canaries.retain(|c| !text.contains(c.as_str()));
        b
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

fn walk(value: &Value, keys: &mut BTreeSet<String>, canaries: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                keys.insert(k.clone());
                walk(v, keys, canaries);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, keys, canaries)),
        Value::String(s) => {
            let t = s.trim();
            if t.chars().count() >= 5 && !COMMON.contains(&t.to_ascii_lowercase().as_str()) {
                canaries.push(t.to_string());
            }
        }
        _ => {}
    }
}

/// What a probe response amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The owner's data came back: these canaries or keys leaked.
    Granted { leaked: Vec<String> },
    /// Refused, or an answer without the owner's data, with why.
    Denied(String),
}

impl Access {
    pub fn granted(&self) -> bool {
        matches!(self, Access::Granted { .. })
    }
}

/// How strict the content comparison is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// Canary values or the same JSON shape (auth bypass: same user's data).
    CanariesOrShape,
    /// Canary values only (cross-tenant: the other tenant's shape is the same).
    Canaries,
}

/// Judges a probe response against the owner's baseline.
pub fn judge(baseline: &Baseline, status: u16, body: &[u8], evidence: Evidence) -> Access {
    if !(200..300).contains(&status) {
        return Access::Denied(format!("refused with {status}"));
    }
    let text = String::from_utf8_lossy(body);
    if !baseline.is_json {
        return if !baseline.body.trim().is_empty() && text.trim() == baseline.body.trim() {
            Access::Granted {
                leaked: vec!["the whole authorised response".to_string()],
            }
        } else {
            Access::Denied(format!("{status}, but not the authorised response"))
        };
    }
    let json: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => {
            return Access::Denied(format!(
                "{status} without JSON data (an error or login page)"
            ));
        }
    };
    let leaked: Vec<String> = baseline
        .canaries
        .iter()
        .filter(|c| text.contains(c.as_str()))
        .cloned()
        .collect();
    if !leaked.is_empty() {
        return Access::Granted { leaked };
    }
    if evidence == Evidence::CanariesOrShape && baseline.keys.len() >= 2 {
        let mut keys = BTreeSet::new();
        let mut ignored = Vec::new();
        walk(&json, &mut keys, &mut ignored);
        let shared: Vec<String> = baseline.keys.intersection(&keys).cloned().collect();
        if shared.len() * 10 >= baseline.keys.len() * 8 {
            return Access::Granted {
                leaked: shared.into_iter().map(|k| format!("key `{k}`")).collect(),
            };
        }
    }
    Access::Denied(format!("{status}, but none of the owner's data"))
}

/// Judges a probe of a write against the owner's write. A write's effect is
/// often not in its answer (a 204 with no body), so besides the owner's data
/// coming back, the same 2xx status with an empty body, as the owner's write
/// got, counts as the write being accepted.
pub fn judge_write(baseline: &Baseline, status: u16, body: &[u8]) -> Access {
    let access = judge(baseline, status, body, Evidence::CanariesOrShape);
    if access.granted() {
        return access;
    }
    let empty = String::from_utf8_lossy(body).trim().is_empty();
    if baseline.is_success()
        && status == baseline.status
        && empty
        && baseline.body.trim().is_empty()
    {
        return Access::Granted {
            leaked: vec![format!(
                "the same empty {status} answer the owner's write got (the write was accepted)"
            )],
        };
    }
    access
}

/// Leaked items for evidence: at most five, each shortened.
pub fn summarize(leaked: &[String]) -> String {
    let mut items: Vec<String> = leaked
        .iter()
        .take(5)
        .map(|l| {
            if l.chars().count() > 40 {
                format!("{}...", l.chars().take(40).collect::<String>())
            } else {
                l.clone()
            }
        })
        .collect();
    if leaked.len() > 5 {
        items.push(format!("and {} more", leaked.len() - 5));
    }
    items.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: &[u8] =
        br#"{"org":"o-acme-7c1e","members":[{"email":"alice@acme.test","role":"admin"}]}"#;

    #[test]
    fn same_data_without_credential_is_granted() {
        let b = Baseline::from_parts(200, OWNER);
        let a = judge(&b, 200, OWNER, Evidence::CanariesOrShape);
        assert!(a.granted(), "{a:?}");
    }

    #[test]
    fn login_page_with_200_is_not_a_bypass() {
        let b = Baseline::from_parts(200, OWNER);
        let page = b"<html><body>Please log in <form>...</form></body></html>";
        assert!(!judge(&b, 200, page, Evidence::CanariesOrShape).granted());
        let err = br#"{"error":"please log in"}"#;
        assert!(!judge(&b, 200, err, Evidence::CanariesOrShape).granted());
        assert!(!judge(&b, 401, OWNER, Evidence::CanariesOrShape).granted());
    }

    #[test]
    fn other_tenant_own_data_is_not_a_leak_but_owner_canaries_are() {
        let b = Baseline::from_parts(200, OWNER);
        let own =
            br#"{"org":"o-globex-93bd","members":[{"email":"m@globex.test","role":"admin"}]}"#;
        assert!(!judge(&b, 200, own, Evidence::Canaries).granted());
        let leak = judge(&b, 200, OWNER, Evidence::Canaries);
        assert_eq!(
            leak,
            Access::Granted {
                leaked: vec!["alice@acme.test".into(), "o-acme-7c1e".into()]
            }
        );
    }

    #[test]
    fn an_empty_2xx_like_the_owners_write_is_an_accepted_write() {
        let b = Baseline::from_parts(204, b"");
        assert!(judge_write(&b, 204, b"").granted());
        assert!(!judge_write(&b, 401, b"").granted());
        assert!(!judge_write(&b, 200, br#"{"error":"log in"}"#).granted());
        // Reads are not judged that way: an empty answer carries no data.
        assert!(!judge(&b, 204, b"", Evidence::CanariesOrShape).granted());
    }

    #[test]
    fn shared_values_are_not_canaries() {
        let b = Baseline::from_parts(200, br#"{"plan":"enterprise","org":"o-acme-7c1e"}"#);
        let b = b.without_values_of(br#"{"plan":"enterprise","org":"o-globex"}"#);
        assert_eq!(b.canaries, vec!["o-acme-7c1e".to_string()]);
    }
}
