//! Identities and endpoints: who the auditor logs in as, and which API
//! operations it may call. Shared by the access checks (auth, tenant, cors)
//! and the active ones (input, rate_limit, latency).
//!
//! Body and query templates are TOML tables turned into JSON; a string value
//! written as `"${ENV_NAME}"` is read from the environment, treated as a
//! secret (registered with the redactor) and substituted when sent.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use super::secret::{Secret, SecretSpec};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIdentity {
    pub name: String,
    pub tenant: Option<String>,
    pub role: Option<String>,
    /// A bearer token.
    pub token: Option<Spanned<SecretSpec>>,
    /// A session cookie: `{ name = "sid", value = "${SID}" }`.
    pub cookie: Option<RawCookie>,
    /// A login request that yields the credential.
    pub login: Option<RawLogin>,
    /// Values of this identity's own objects, for path templates (`org_id = "1"`).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// A throwaway account: probes that could lock or log out may use it.
    #[serde(default)]
    pub throwaway: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCookie {
    pub name: String,
    pub value: Spanned<SecretSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLogin {
    #[serde(default = "default_post")]
    pub method: String,
    /// A path (joined to base_url) or an absolute in-scope URL.
    pub url: Spanned<String>,
    /// JSON body template.
    pub json: Option<toml::Table>,
    /// Form body template (application/x-www-form-urlencoded).
    pub form: Option<toml::Table>,
    /// Where the credential comes back: a JSON pointer into the body...
    pub token_pointer: Option<String>,
    /// ...a response header...
    pub token_header: Option<String>,
    /// ...or a cookie name.
    pub cookie: Option<String>,
}

fn default_post() -> String {
    "POST".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEndpoint {
    pub name: String,
    #[serde(default = "default_get")]
    pub method: String,
    /// Path template with `{params}`: `/api/orgs/{org_id}/members`.
    pub path: Spanned<String>,
    #[serde(default)]
    pub query: toml::Table,
    pub body: Option<toml::Table>,
    /// A form body template (application/x-www-form-urlencoded), instead of `body`.
    pub form: Option<toml::Table>,
    #[serde(default = "default_required")]
    pub auth: String,
    /// The identity whose object this is.
    pub owner: Option<String>,
    /// Values of the params for the owner.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// Roles allowed to call it (empty = any authenticated identity of the tenant).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub writes: bool,
    /// Part of signup/onboarding: the `input` check probes it.
    #[serde(default)]
    pub onboarding: bool,
    /// What the endpoint is for, when it matters to a check.
    pub kind: Option<String>,
    /// Kinds of body fields: `{ email = "email", slug = "slug" }`.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

fn default_get() -> String {
    "GET".to_string()
}

fn default_required() -> String {
    "required".to_string()
}

/// What an endpoint is for, when a check needs to know.
pub const ENDPOINT_KINDS: &[&str] = &[
    "login",
    "logout",
    "signup",
    "password_reset",
    "current_user",
    "membership",
    "invite",
    "invite_accept",
    "profile_update",
    "create_org",
    "lookup",
    "health",
];

/// How an identity gets its credential.
#[derive(Debug, Clone)]
pub enum CredentialSource {
    Bearer(Secret),
    Cookie {
        name: String,
        value: Secret,
    },
    Login(Login),
    /// Anonymous: no credential (for public probes).
    None,
}

#[derive(Debug, Clone)]
pub struct Login {
    pub method: http::Method,
    pub url: url::Url,
    pub body: Option<LoginBody>,
    pub token_from: TokenFrom,
}

#[derive(Debug, Clone)]
pub enum LoginBody {
    Json(Template),
    Form(Template),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenFrom {
    JsonPointer(String),
    Header(String),
    Cookie(String),
}

#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub tenant: Option<String>,
    pub role: Option<String>,
    pub credential: CredentialSource,
    pub params: BTreeMap<String, String>,
    pub throwaway: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthRequirement {
    Required,
    Public,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub method: http::Method,
    pub path: String,
    pub query: Template,
    pub body: Option<Template>,
    /// The body is sent form-encoded (`form = {...}`), not as JSON.
    pub form: bool,
    pub auth: AuthRequirement,
    pub owner: Option<String>,
    pub params: BTreeMap<String, String>,
    pub roles: Vec<String>,
    pub writes: bool,
    pub onboarding: bool,
    pub kind: Option<String>,
    pub fields: BTreeMap<String, String>,
    /// Set when the endpoint came from the OpenAPI document, not the profile.
    pub imported: Option<Imported>,
}

/// What the OpenAPI import knew about an operation, for `--dry-run`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Imported {
    /// What the document says about credentials.
    pub security: SpecSecurity,
    /// `kind` was guessed from the path or operationId, not declared.
    pub kind_inferred: bool,
}

/// An operation's security as the OpenAPI document states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecSecurity {
    /// A non-empty requirement applies: `auth = "required"`.
    Required,
    /// `security: []` or an empty alternative `{}`: `auth = "public"`.
    Public,
    /// Neither the operation nor the document has `security`: the document
    /// does not say. Probed as public (never as required, which would call
    /// a public answer a bypass); `--dry-run` shows it, and an [[endpoint]]
    /// entry with the same name or method and path settles it.
    Unknown,
}

impl SpecSecurity {
    /// How `--dry-run` shows it.
    pub fn describe(self) -> &'static str {
        match self {
            SpecSecurity::Required => "required (spec)",
            SpecSecurity::Public => "public (spec)",
            SpecSecurity::Unknown => "UNKNOWN (no security in the spec; probed as public)",
        }
    }
}

impl Endpoint {
    /// The path with `{param}`s replaced from `params` (URL-encoded); the
    /// names of params that had no value are returned as the error.
    pub fn render_path(&self, params: &BTreeMap<String, String>) -> Result<String, Vec<String>> {
        render_path(&self.path, params)
    }

    /// Names of the `{params}` in the path template.
    pub fn path_params(&self) -> Vec<String> {
        path_params(&self.path)
    }
}

/// Names of the `{params}` in a path template.
pub fn path_params(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        out.push(rest[open + 1..open + close].to_string());
        rest = &rest[open + close + 1..];
    }
    out
}

/// Fills a path template; missing params are returned as the error.
pub fn render_path(
    template: &str,
    params: &BTreeMap<String, String>,
) -> Result<String, Vec<String>> {
    let mut out = template.to_string();
    let mut missing = Vec::new();
    for name in path_params(template) {
        match params.get(&name) {
            Some(v) => {
                let encoded: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
                out = out.replace(&format!("{{{name}}}"), &encoded.replace('+', "%20"));
            }
            None => missing.push(name),
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

/// A JSON template whose `"${ENV}"` strings are secrets.
#[derive(Clone, Default)]
pub struct Template {
    value: serde_json::Value,
    secrets: Vec<(String, Secret)>,
}

impl std::fmt::Debug for Template {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The shape only: placeholders stay placeholders, values stay hidden.
        write!(f, "Template({})", self.value)
    }
}

impl Template {
    /// Builds a template from a TOML table, resolving `"${ENV}"` strings.
    pub fn from_toml(table: &toml::Table, dir: &std::path::Path) -> Result<Template, String> {
        let mut secrets = Vec::new();
        let value = convert(&toml::Value::Table(table.clone()), dir, &mut secrets)?;
        Ok(Template { value, secrets })
    }

    /// The template with placeholders (safe to show).
    pub fn shape(&self) -> &serde_json::Value {
        &self.value
    }

    /// The value to send, with secrets substituted. Never log it unredacted.
    pub fn render(&self) -> serde_json::Value {
        let mut v = self.value.clone();
        substitute(&mut v, &self.secrets);
        v
    }

    pub fn secrets(&self) -> impl Iterator<Item = &Secret> {
        self.secrets.iter().map(|(_, s)| s)
    }

    pub fn is_empty(&self) -> bool {
        self.value.as_object().is_none_or(|o| o.is_empty())
    }
}

fn convert(
    value: &toml::Value,
    dir: &std::path::Path,
    secrets: &mut Vec<(String, Secret)>,
) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    Ok(match value {
        toml::Value::String(s) => {
            let spec: Result<SecretSpec, _> = SecretSpec::deserialize(
                serde::de::value::StrDeserializer::<serde::de::value::Error>::new(s),
            );
            match spec {
                Ok(SecretSpec::Env(name)) => {
                    let secret = SecretSpec::Env(name.clone()).resolve(dir)?;
                    let placeholder = format!("${{{name}}}");
                    secrets.push((placeholder.clone(), secret));
                    J::String(placeholder)
                }
                _ => J::String(s.clone()),
            }
        }
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(
            a.iter()
                .map(|v| convert(v, dir, secrets))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => {
            let mut map = serde_json::Map::new();
            for (k, v) in t {
                map.insert(k.clone(), convert(v, dir, secrets)?);
            }
            J::Object(map)
        }
    })
}

fn substitute(value: &mut serde_json::Value, secrets: &[(String, Secret)]) {
    match value {
        serde_json::Value::String(s) => {
            if let Some((_, secret)) = secrets.iter().find(|(p, _)| p == s) {
                *s = secret.expose().to_string();
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|v| substitute(v, secrets)),
        serde_json::Value::Object(o) => o.values_mut().for_each(|v| substitute(v, secrets)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_templates() {
        let mut p = BTreeMap::new();
        p.insert("org_id".to_string(), "a b/c".to_string());
        assert_eq!(
            render_path("/orgs/{org_id}/m", &p).unwrap(),
            "/orgs/a%20b%2Fc/m"
        );
        assert_eq!(
            render_path("/x/{y}", &p).unwrap_err(),
            vec!["y".to_string()]
        );
        assert_eq!(path_params("/a/{b}/{c}"), vec!["b", "c"]);
    }

    #[test]
    fn templates_hide_and_substitute_env_secrets() {
        // SAFETY: tests in this module do not read this variable concurrently.
        unsafe { std::env::set_var("READINESS_TEST_TPL_PW", "pw-value-123") };
        let table: toml::Table =
            toml::from_str("email = \"a@b.test\"\npassword = \"${READINESS_TEST_TPL_PW}\"")
                .unwrap();
        let t = Template::from_toml(&table, std::path::Path::new(".")).unwrap();
        assert!(!format!("{t:?}").contains("pw-value-123"));
        assert_eq!(t.render()["password"], "pw-value-123");
        assert_eq!(t.shape()["password"], "${READINESS_TEST_TPL_PW}");
    }
}
