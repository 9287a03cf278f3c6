//! Secret values from a profile: `${ENV_NAME}`, `{ file = "path" }` or a literal.
//!
//! A [`Secret`] never prints its value: `Debug` and `Display` show `***`. The
//! value is reachable only through [`Secret::expose`], and every resolved secret
//! is registered with the run's redactor by the profile loader.

use std::fmt;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

/// A credential or other value that must never reach output.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The raw value, for sending to the target. Never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a profile names a secret, before it is resolved.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSpec {
    /// `"${NAME}"`: read the environment variable.
    Env(String),
    /// `{ file = "path" }`: read the file (relative to the profile), trimmed.
    File(String),
    /// Any other string: the value itself (allowed, discouraged).
    Literal(String),
}

impl fmt::Debug for SecretSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSpec::Env(name) => write!(f, "Env({name})"),
            SecretSpec::File(path) => write!(f, "File({path})"),
            SecretSpec::Literal(_) => f.write_str("Literal(***)"),
        }
    }
}

impl SecretSpec {
    /// Resolves the spec; the error says what to do, never the value.
    pub fn resolve(&self, profile_dir: &Path) -> Result<Secret, String> {
        match self {
            SecretSpec::Env(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(Secret(v)),
                Ok(_) => Err(format!(
                    "environment variable `{name}` is set but empty; export a value for it"
                )),
                Err(_) => Err(format!(
                    "environment variable `{name}` is not set; export it before running, \
                     or use {{ file = \"path\" }}"
                )),
            },
            SecretSpec::File(path) => {
                let full = profile_dir.join(path);
                let text = std::fs::read_to_string(&full)
                    .map_err(|e| format!("cannot read secret file `{}`: {e}", full.display()))?;
                let value = text.trim_end_matches(['\r', '\n']).to_string();
                if value.is_empty() {
                    return Err(format!("secret file `{}` is empty", full.display()));
                }
                Ok(Secret(value))
            }
            SecretSpec::Literal(v) => Ok(Secret(v.clone())),
        }
    }

    pub fn is_literal(&self) -> bool {
        matches!(self, SecretSpec::Literal(_))
    }
}

/// Parses `${NAME}` into `NAME`.
fn env_reference(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("${")?.strip_suffix('}')?;
    let mut chars = inner.chars();
    let first = chars.next()?;
    let valid = (first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    valid.then_some(inner)
}

impl<'de> Deserialize<'de> for SecretSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecVisitor;

        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = SecretSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a secret: \"${ENV_NAME}\", { file = \"path\" } or a string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretSpec, E> {
                if let Some(name) = env_reference(v) {
                    return Ok(SecretSpec::Env(name.to_string()));
                }
                if v.contains("${") {
                    return Err(E::custom(
                        "a secret reference must be the whole value, like \"${API_TOKEN}\"",
                    ));
                }
                Ok(SecretSpec::Literal(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSpec, A::Error> {
                let mut file = None;
                let mut env = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "file" => file = Some(map.next_value::<String>()?),
                        "env" => env = Some(map.next_value::<String>()?),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown key `{other}` in a secret; expected `file` or `env`"
                            )));
                        }
                    }
                }
                match (file, env) {
                    (Some(f), None) => Ok(SecretSpec::File(f)),
                    (None, Some(e)) => Ok(SecretSpec::Env(e)),
                    _ => Err(de::Error::custom(
                        "a secret table needs exactly one of `file` or `env`",
                    )),
                }
            }
        }

        deserializer.deserialize_any(SpecVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s = Secret::new("hunter22");
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        let spec = SecretSpec::Literal("hunter22".into());
        assert!(!format!("{spec:?}").contains("hunter22"));
    }

    #[test]
    fn env_reference_forms() {
        assert_eq!(env_reference("${A_B1}"), Some("A_B1"));
        assert_eq!(env_reference("${1A}"), None);
        assert_eq!(env_reference("x${A}"), None);
    }

    #[test]
    fn missing_env_is_a_clear_error() {
        let spec = SecretSpec::Env("READINESS_SURELY_UNSET_VAR".into());
        let err = spec.resolve(Path::new(".")).unwrap_err();
        assert!(err.contains("READINESS_SURELY_UNSET_VAR"));
        assert!(err.contains("not set"));
    }
}
