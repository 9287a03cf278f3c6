//! The one redactor every output goes through.
//!
//! Every secret value the run learns (profile secrets, credentials found by a
//! check, tokens from login responses) is registered here; renderers, the
//! journal and the log layer pass their final text through [`Redactor::redact`]
//! so that no registered value can reach a terminal, a file or a webhook.

use std::sync::{Arc, RwLock};

/// The text that stands in for a redacted value.
pub const MASK: &str = "***";

/// Values shorter than this are not registered: masking every `a` or `1` in a
/// report would destroy it, and such values are not credentials.
const MIN_SECRET_LEN: usize = 4;

/// A shared, append-only set of secret values.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a value so that every later [`Redactor::redact`] masks it.
    ///
    /// Percent-encoded and base64 forms are registered too, because a secret
    /// sent in a query string or a basic-auth header appears in those forms.
    pub fn register(&self, value: &str) {
        let value = value.trim();
        if value.chars().count() < MIN_SECRET_LEN {
            return;
        }
        let mut forms = vec![value.to_string()];
        let encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        forms.push(encoded);
        // As it appears inside JSON text (quotes, backslashes, control characters escaped).
        if let Ok(json) = serde_json::to_string(value) {
            forms.push(json[1..json.len() - 1].to_string());
        }
        let mut secrets = match self.secrets.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        for form in forms {
            if !secrets.contains(&form) {
                secrets.push(form);
            }
        }
        // Longest first, so a secret that contains another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// Returns `text` with every registered value replaced by [`MASK`].
    pub fn redact(&self, text: &str) -> String {
        let secrets = match self.secrets.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut out = text.to_string();
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), MASK);
            }
        }
        out
    }

    /// Redacts every string inside a JSON value (keys and values).
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => {
                let red = self.redact(s);
                if red != *s {
                    *s = red;
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => {
                let entries: Vec<(String, serde_json::Value)> = std::mem::take(map)
                    .into_iter()
                    .map(|(k, mut v)| {
                        self.redact_json(&mut v);
                        (self.redact(&k), v)
                    })
                    .collect();
                map.extend(entries);
            }
            _ => {}
        }
    }

    /// How many distinct forms are registered (for tests and `-v` logs).
    pub fn len(&self) -> usize {
        self.secrets.read().map(|s| s.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_registered_values_and_their_url_form() {
        let r = Redactor::new();
        r.register("s3cr3t value&x");
        let out = r.redact("a=s3cr3t value&x b=s3cr3t+value%26x");
        assert_eq!(out, "a=*** b=***");
    }

    #[test]
    fn json_escaped_forms_are_masked_too() {
        let r = Redactor::new();
        r.register("Pq7 \"quoted\" <b>");
        let text =
            serde_json::to_string(&serde_json::json!({"e": "key=Pq7 \"quoted\" <b>!"})).unwrap();
        assert!(!r.redact(&text).contains("quoted"), "{}", r.redact(&text));
        let mut v = serde_json::json!({"e": ["key=Pq7 \"quoted\" <b>!"]});
        r.redact_json(&mut v);
        assert_eq!(v["e"][0], "key=***!");
    }

    #[test]
    fn short_values_are_not_registered() {
        let r = Redactor::new();
        r.register("ab");
        assert_eq!(r.redact("abc"), "abc");
        assert!(r.is_empty());
    }

    #[test]
    fn longer_secret_containing_shorter_is_masked_whole() {
        let r = Redactor::new();
        r.register("token");
        r.register("token-extended-123");
        assert_eq!(r.redact("x token-extended-123 y"), "x *** y");
    }
}
