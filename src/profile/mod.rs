//! The TOML profile: loading, validation into resolved settings, and errors
//! that name the file, line, column and key with what to write instead.
//!
//! A profile describes one target. Everything the auditor may contact is
//! derived from it, so validation is strict: unknown keys, wrong types, bad
//! scope entries and unresolvable secrets stop the run before anything is sent.

pub mod access;
pub mod check_config;
pub mod openapi;
pub mod raw;
pub mod secret;

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use url::Url;

use crate::net::scope::{Scope, ScopeEntry};
use crate::redact::Redactor;
use crate::util::parse_duration;
use raw::{RawHttps, RawProfile};
pub use secret::{Secret, SecretSpec};

/// The default User-Agent: says who is knocking, so a target's operator can tell.
pub const DEFAULT_USER_AGENT: &str = concat!(
    "readiness/",
    env!("CARGO_PKG_VERSION"),
    " (launch-readiness audit)"
);

/// A profile problem, located as precisely as the source allows.
#[derive(Debug, Clone)]
pub struct ProfileError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if self.key.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.key, self.message)
        }
    }
}

impl std::error::Error for ProfileError {}

/// The resolved profile every check reads.
#[derive(Debug, Clone)]
pub struct Profile {
    pub path: PathBuf,
    pub dir: PathBuf,
    pub target: Target,
    pub dns: DnsSettings,
    pub https: HttpsSettings,
    pub hygiene: crate::checks::hygiene::config::HygieneSettings,
    pub monitoring: crate::checks::monitoring::config::MonitoringSettings,
    pub edge: crate::checks::edge::config::EdgeSettings,
    pub latency: crate::checks::latency::config::LatencySettings,
    pub rate_limit: crate::checks::rate_limit::config::RateLimitSettings,
    pub input: crate::checks::input::config::InputSettings,
    pub email: crate::checks::email::config::EmailSettings,
    pub secrets: crate::checks::secrets::config::SecretsSettings,
    pub identities: Vec<access::Identity>,
    pub endpoints: Vec<access::Endpoint>,
    pub auth: crate::checks::auth::config::AuthSettings,
    pub tenant: crate::checks::tenant::config::TenantSettings,
    pub cors: crate::checks::cors::config::CorsSettings,
    /// What the OpenAPI import gave (`openapi = ...`), for `--dry-run`.
    pub openapi: Option<openapi::ImportSummary>,
    /// Notes for the log: literal secrets, defaults applied.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub base_url: Url,
    pub scope: Scope,
    pub resolve: Vec<NameOverride>,
    pub max_requests: u64,
    pub max_rps: f64,
    pub timeout: Duration,
    pub check_timeout: Duration,
    pub user_agent: String,
    pub allow_writes: bool,
    pub ca_file: Option<PathBuf>,
    pub max_body_bytes: usize,
    pub headers: Vec<(String, Secret)>,
}

/// `resolve = { "host" = "ip" }`: like curl's `--resolve`, for every port of the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameOverride {
    pub host: String,
    pub addr: IpAddr,
}

#[derive(Debug, Clone, Default)]
pub struct DnsSettings {
    pub nameservers: Vec<SocketAddr>,
    pub timeout: Duration,
}

/// One origin the `https` check audits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpsOrigin {
    pub url: Url,
    /// The plain-HTTP URL to test for the upgrade redirect; `None` when it cannot be derived.
    pub http_url: Option<Url>,
}

#[derive(Debug, Clone)]
pub struct HttpsSettings {
    pub enabled: bool,
    pub origins: Vec<HttpsOrigin>,
    pub pages: Vec<String>,
    pub min_hsts_max_age: u64,
    pub require_include_subdomains: bool,
    pub cert_fail_days: i64,
    pub cert_warn_days: i64,
    pub legacy_tls_probe: bool,
    pub session_cookies: Vec<String>,
}

/// Loads and validates a profile, registering its secrets with `redactor`.
pub fn load(path: &Path, redactor: &Redactor) -> Result<Profile, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|e| ProfileError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        key: String::new(),
        message: format!(
            "cannot read the profile: {e}; create one with `readiness init` or pass --profile PATH"
        ),
    })?;
    parse(&text, path, redactor)
}

/// Parses profile text as if it were read from `path`.
pub fn parse(text: &str, path: &Path, redactor: &Redactor) -> Result<Profile, ProfileError> {
    let raw: RawProfile = toml::from_str(text).map_err(|e| {
        let loc = Locator { text, path };
        let span = e.span().unwrap_or(0..0);
        loc.error(span, "", e.message().trim_end())
    })?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    Validator {
        loc: Locator { text, path },
        dir: &dir,
        redactor,
        notes: Vec::new(),
    }
    .validate(raw)
}

/// Turns byte spans into line and column numbers.
struct Locator<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Locator<'_> {
    fn error(&self, span: Range<usize>, key: &str, message: &str) -> ProfileError {
        let start = span.start.min(self.text.len());
        let before = &self.text[..start];
        let line = before.matches('\n').count() + 1;
        let column = before
            .rsplit('\n')
            .next()
            .map(|l| l.chars().count() + 1)
            .unwrap_or(1);
        let key = if key.is_empty() {
            self.key_at(start)
        } else {
            key.to_string()
        };
        ProfileError {
            file: self.path.to_path_buf(),
            line: Some(line),
            column: Some(column),
            key,
            message: message.to_string(),
        }
    }

    /// Best effort: the table header and key written at a position.
    fn key_at(&self, offset: usize) -> String {
        let before = &self.text[..offset];
        let line_begin = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let table = self.text[..line_begin]
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| l.starts_with('['))
            .map(|l| {
                l.split(']')
                    .next()
                    .unwrap_or(l)
                    .trim_start_matches('[')
                    .to_string()
            });
        let line = self.text[line_begin..].lines().next().unwrap_or("");
        // An error inside a table header names that header.
        if line.trim_start().starts_with('[') {
            return line.trim().to_string();
        }
        let key = line
            .split('=')
            .next()
            .filter(|_| line.contains('='))
            .map(str::trim);
        match (table, key) {
            (Some(t), Some(k)) if !k.starts_with('[') => format!("[{t}] {k}"),
            (Some(t), _) => format!("[{t}]"),
            (None, Some(k)) => k.to_string(),
            (None, None) => String::new(),
        }
    }
}

struct Validator<'a> {
    loc: Locator<'a>,
    dir: &'a Path,
    redactor: &'a Redactor,
    notes: Vec<String>,
}

impl Validator<'_> {
    fn err(&self, span: Range<usize>, key: &str, message: impl AsRef<str>) -> ProfileError {
        self.loc.error(span, key, message.as_ref())
    }

    /// A check section's error, located in this profile.
    fn located(&self, e: check_config::ConfigError) -> ProfileError {
        self.err(e.span, &e.key, e.message)
    }

    fn url(&self, value: &Spanned<String>, key: &str) -> Result<Url, ProfileError> {
        let url = Url::parse(value.get_ref()).map_err(|e| {
            self.err(
                value.span(),
                key,
                format!("`{}` is not a URL ({e})", value.get_ref()),
            )
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(self.err(
                value.span(),
                key,
                "a URL here must not carry a user name or password (it would be printed and \
                 sent everywhere); send credentials as a secret in [target.headers], e.g. \
                 Authorization = \"${STAGING_BASIC_AUTH}\"",
            ));
        }
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(self.err(
                value.span(),
                key,
                format!(
                    "`{}` must be an http:// or https:// URL with a host",
                    value.get_ref()
                ),
            ));
        }
        Ok(url)
    }

    fn duration(
        &self,
        value: &Option<Spanned<String>>,
        key: &str,
        default: Duration,
    ) -> Result<Duration, ProfileError> {
        match value {
            None => Ok(default),
            Some(v) => parse_duration(v.get_ref()).map_err(|e| self.err(v.span(), key, e)),
        }
    }

    fn validate(mut self, raw: RawProfile) -> Result<Profile, ProfileError> {
        let t = raw.target;

        let base_url = self.url(&t.base_url, "[target] base_url")?;
        let mut entries = Vec::new();
        for entry in &t.scope {
            let parsed = ScopeEntry::parse(entry.get_ref())
                .map_err(|e| self.err(entry.span(), "[target] scope", e))?;
            entries.push(parsed);
        }
        let scope = Scope::new(entries);
        if !scope.allows_url(&base_url) {
            return Err(self.err(
                t.base_url.span(),
                "[target] base_url",
                format!(
                    "`{base_url}` is outside [target] scope; add its host (with the port if it \
                     is not 80 or 443) to scope"
                ),
            ));
        }

        let mut resolve = Vec::new();
        for (host, value) in &t.resolve {
            resolve.push(self.name_override(host, value)?);
        }

        let max_requests = t
            .max_requests
            .as_ref()
            .map(|v| *v.get_ref())
            .unwrap_or(1000);
        if max_requests == 0 {
            let span = t.max_requests.as_ref().map(|v| v.span()).unwrap_or(0..0);
            return Err(self.err(span, "[target] max_requests", "must be at least 1"));
        }
        let max_rps = t.max_rps.as_ref().map(|v| *v.get_ref()).unwrap_or(20.0);
        if !(max_rps.is_finite() && max_rps > 0.0 && max_rps <= 1_000_000.0) {
            return Err(self.err(
                t.max_rps.as_ref().map(|v| v.span()).unwrap_or(0..0),
                "[target] max_rps",
                format!("{max_rps} is out of range; use a number above 0 and at most 1000000"),
            ));
        }
        let timeout = self.duration(&t.timeout, "[target] timeout", Duration::from_secs(10))?;
        let check_timeout = self.duration(
            &t.check_timeout,
            "[target] check_timeout",
            Duration::from_secs(120),
        )?;
        if timeout.is_zero() || check_timeout.is_zero() {
            return Err(self.err(0..0, "[target] timeout", "timeouts must be above zero"));
        }

        let ca_file = match &t.ca_file {
            None => None,
            Some(v) => {
                let p = self.dir.join(v.get_ref());
                if !p.is_file() {
                    return Err(self.err(
                        v.span(),
                        "[target] ca_file",
                        format!("`{}` is not a readable file", p.display()),
                    ));
                }
                Some(p)
            }
        };

        let mut headers = Vec::new();
        for (name, spec) in &t.headers {
            let key = format!("[target.headers] {name}");
            if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
                return Err(self.err(spec.span(), &key, "not a valid HTTP header name"));
            }
            let secret = self.secret(spec, &key)?;
            if http::HeaderValue::from_str(secret.expose()).is_err() {
                return Err(self.err(
                    spec.span(),
                    &key,
                    "the value is not a valid HTTP header value (a line break or control \
                     character?); fix the variable or file it comes from",
                ));
            }
            headers.push((name.clone(), secret));
        }

        let mut nameservers = Vec::new();
        for ns in &raw.dns.nameservers {
            let addr = parse_nameserver(ns.get_ref())
                .map_err(|e| self.err(ns.span(), "[dns] nameservers", e))?;
            nameservers.push(addr);
        }
        let dns_timeout =
            self.duration(&raw.dns.timeout, "[dns] timeout", Duration::from_secs(3))?;

        let https = self.https(raw.checks.https.unwrap_or_default(), &base_url, &scope)?;
        let identities = self.identities(&raw.identities, &base_url, &scope)?;
        let hygiene = crate::checks::hygiene::config::resolve(
            raw.checks.hygiene,
            &base_url,
            &scope,
            self.dir,
        )
        .map_err(|e| self.located(e))?;
        let monitoring = crate::checks::monitoring::config::resolve(
            raw.checks.monitoring,
            &base_url,
            &scope,
            &identities,
            self.dir,
            self.redactor,
        )
        .map_err(|e| self.located(e))?;
        let edge = crate::checks::edge::config::resolve(raw.checks.edge, &base_url, &scope)
            .map_err(|e| self.located(e))?;
        let secrets = crate::checks::secrets::config::resolve(
            raw.checks.secrets,
            &base_url,
            &scope,
            self.dir,
        )
        .map_err(|e| self.located(e))?;
        let endpoints = self.endpoints(&raw.endpoints, &identities)?;
        let (endpoints, openapi) =
            self.import_openapi(&raw.openapi, &raw.openapi_exclude, endpoints)?;

        let target = Target {
            name: t.name,
            base_url,
            scope,
            resolve,
            max_requests,
            max_rps,
            timeout,
            check_timeout,
            user_agent: t
                .user_agent
                .unwrap_or_else(|| DEFAULT_USER_AGENT.to_string()),
            allow_writes: t.allow_writes,
            ca_file,
            max_body_bytes: t.max_body_bytes.unwrap_or(2 * 1024 * 1024) as usize,
            headers,
        };
        Ok(Profile {
            openapi,
            path: self.loc.path.to_path_buf(),
            dir: self.dir.to_path_buf(),
            target,
            dns: DnsSettings {
                nameservers,
                timeout: dns_timeout,
            },
            https,
            hygiene,
            monitoring,
            edge,
            input: crate::checks::input::config::resolve(raw.checks.input, &endpoints)
                .map_err(|e| self.located(e))?,
            rate_limit: crate::checks::rate_limit::config::resolve(
                raw.checks.rate_limit,
                &endpoints,
                &identities,
            )
            .map_err(|e| self.located(e))?,
            latency: crate::checks::latency::config::resolve(
                raw.checks.latency,
                &endpoints,
                max_rps,
            )
            .map_err(|e| self.located(e))?,
            email: crate::checks::email::config::resolve(raw.checks.email, self.dir)
                .map_err(|e| self.located(e))?,
            secrets,
            identities,
            endpoints,
            auth: crate::checks::auth::config::resolve(raw.checks.auth)
                .map_err(|e| self.err(0..0, "[checks.auth]", e))?,
            tenant: crate::checks::tenant::config::resolve(raw.checks.tenant)
                .map_err(|e| self.err(0..0, "[checks.tenant]", e))?,
            cors: crate::checks::cors::config::resolve(raw.checks.cors)
                .map_err(|e| self.err(0..0, "[checks.cors]", e))?,
            notes: self.notes,
        })
    }

    fn name_override(
        &self,
        host: &str,
        value: &Spanned<String>,
    ) -> Result<NameOverride, ProfileError> {
        let key = format!("[target.resolve] {host}");
        let text = value.get_ref().trim();
        let Ok(addr) = text.trim_matches(['[', ']']).parse::<IpAddr>() else {
            return Err(self.err(
                value.span(),
                &key,
                format!(
                    "`{text}` is not an IP address; write `127.0.0.1` (the port comes from the URL)"
                ),
            ));
        };
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if host.is_empty() || host.contains(['/', ':', ' ']) {
            return Err(self.err(value.span(), &key, "the key must be a bare host name"));
        }
        Ok(NameOverride { host, addr })
    }

    fn secret(&mut self, spec: &Spanned<SecretSpec>, key: &str) -> Result<Secret, ProfileError> {
        let secret = spec
            .get_ref()
            .resolve(self.dir)
            .map_err(|e| self.err(spec.span(), key, e))?;
        if spec.get_ref().is_literal() {
            self.notes.push(format!(
                "{key} holds a literal secret; prefer \"${{ENV_NAME}}\" or {{ file = \"...\" }}"
            ));
        }
        self.redactor.register(secret.expose());
        Ok(secret)
    }

    fn identities(
        &mut self,
        raw: &[Spanned<access::RawIdentity>],
        base_url: &Url,
        scope: &Scope,
    ) -> Result<Vec<access::Identity>, ProfileError> {
        use access::{CredentialSource, Login, LoginBody, Template, TokenFrom};
        let mut out: Vec<access::Identity> = Vec::new();
        for spanned in raw {
            let span = spanned.span();
            let r = spanned.get_ref();
            let key = format!("[[identity]] {}", r.name);
            if out.iter().any(|i| i.name == r.name) {
                return Err(self.err(
                    span.clone(),
                    &key,
                    "two identities share this name; names must be unique",
                ));
            }
            let sources = [r.token.is_some(), r.cookie.is_some(), r.login.is_some()];
            if sources.iter().filter(|s| **s).count() != 1 {
                return Err(self.err(
                    span,
                    &key,
                    "give exactly one of `token`, `cookie = { name, value }` or `login = { ... }`",
                ));
            }
            let credential = if let Some(t) = &r.token {
                CredentialSource::Bearer(self.secret(t, &format!("{key} token"))?)
            } else if let Some(c) = &r.cookie {
                let value = self.secret(&c.value, &format!("{key} cookie.value"))?;
                CredentialSource::Cookie {
                    name: c.name.clone(),
                    value,
                }
            } else if let Some(l) = &r.login {
                let url = base_url.join(l.url.get_ref()).map_err(|e| {
                    self.err(
                        l.url.span(),
                        &format!("{key} login.url"),
                        format!("not a URL or path: {e}"),
                    )
                })?;
                if !scope.allows_url(&url) {
                    return Err(self.err(
                        l.url.span(),
                        &format!("{key} login.url"),
                        format!("`{url}` is outside [target] scope"),
                    ));
                }
                let method = http::Method::from_bytes(l.method.to_ascii_uppercase().as_bytes())
                    .map_err(|_| {
                        self.err(
                            span.clone(),
                            &format!("{key} login.method"),
                            "not an HTTP method",
                        )
                    })?;
                let template = |t: &toml::Table| {
                    Template::from_toml(t, self.dir)
                        .map_err(|e| self.err(span.clone(), &format!("{key} login"), e))
                };
                let body = match (&l.json, &l.form) {
                    (Some(j), None) => Some(LoginBody::Json(template(j)?)),
                    (None, Some(f)) => Some(LoginBody::Form(template(f)?)),
                    (None, None) => None,
                    (Some(_), Some(_)) => {
                        return Err(self.err(
                            span.clone(),
                            &format!("{key} login"),
                            "give `json` or `form`, not both",
                        ));
                    }
                };
                if let Some(body) = &body {
                    let t = match body {
                        LoginBody::Json(t) | LoginBody::Form(t) => t,
                    };
                    for s in t.secrets() {
                        self.redactor.register(s.expose());
                    }
                }
                let token_from = match (&l.token_pointer, &l.token_header, &l.cookie) {
                    (Some(p), None, None) => TokenFrom::JsonPointer(p.clone()),
                    (None, Some(h), None) => TokenFrom::Header(h.to_ascii_lowercase()),
                    (None, None, Some(c)) => TokenFrom::Cookie(c.clone()),
                    _ => {
                        return Err(self.err(
                            span.clone(),
                            &format!("{key} login"),
                            "say where the credential comes back: exactly one of token_pointer \
                             (JSON pointer like \"/token\"), token_header or cookie",
                        ));
                    }
                };
                CredentialSource::Login(Login {
                    method,
                    url,
                    body,
                    token_from,
                })
            } else {
                CredentialSource::None
            };
            out.push(access::Identity {
                name: r.name.clone(),
                tenant: r.tenant.clone(),
                role: r.role.clone(),
                credential,
                params: r.params.clone(),
                throwaway: r.throwaway,
            });
        }
        Ok(out)
    }

    fn endpoints(
        &self,
        raw: &[Spanned<access::RawEndpoint>],
        identities: &[access::Identity],
    ) -> Result<Vec<access::Endpoint>, ProfileError> {
        use access::{AuthRequirement, ENDPOINT_KINDS, Template};
        let mut out: Vec<access::Endpoint> = Vec::new();
        for spanned in raw {
            let span = spanned.span();
            let r = spanned.get_ref();
            let key = format!("[[endpoint]] {}", r.name);
            if out.iter().any(|e| e.name == r.name) {
                return Err(self.err(
                    span.clone(),
                    &key,
                    "two endpoints share this name; names must be unique",
                ));
            }
            let method = http::Method::from_bytes(r.method.to_ascii_uppercase().as_bytes())
                .map_err(|_| {
                    self.err(span.clone(), &format!("{key} method"), "not an HTTP method")
                })?;
            let path = r.path.get_ref();
            if !path.starts_with('/') || path.starts_with("//") || path.starts_with("/\\") {
                let why = "must start with a single `/` (a path on the target; `//host/...` \
                           would name another host)";
                return Err(self.err(r.path.span(), &format!("{key} path"), why));
            }
            let auth = match r.auth.as_str() {
                "required" => AuthRequirement::Required,
                "public" => AuthRequirement::Public,
                other => {
                    return Err(self.err(
                        span.clone(),
                        &format!("{key} auth"),
                        format!("`{other}` is not `required` or `public`"),
                    ));
                }
            };
            if let Some(owner) = &r.owner
                && !identities.iter().any(|i| &i.name == owner)
            {
                return Err(self.err(
                    span,
                    &format!("{key} owner"),
                    format!("no [[identity]] is named `{owner}`"),
                ));
            }
            if let Some(kind) = &r.kind
                && !ENDPOINT_KINDS.contains(&kind.as_str())
            {
                return Err(self.err(
                    span,
                    &format!("{key} kind"),
                    format!(
                        "unknown kind `{kind}`; one of {}",
                        ENDPOINT_KINDS.join(", ")
                    ),
                ));
            }
            let writes = r.writes
                || matches!(
                    method,
                    http::Method::POST
                        | http::Method::PUT
                        | http::Method::PATCH
                        | http::Method::DELETE
                ) && r.kind.as_deref() != Some("login");
            let template = |t: &toml::Table| {
                Template::from_toml(t, self.dir).map_err(|e| self.err(span.clone(), &key, e))
            };
            let query = template(&r.query)?;
            if r.body.is_some() && r.form.is_some() {
                return Err(self.err(span, &key, "set `body` (JSON) or `form`, not both"));
            }
            let body = r
                .body
                .as_ref()
                .or(r.form.as_ref())
                .map(template)
                .transpose()?;
            for t in std::iter::once(&query).chain(body.iter()) {
                for s in t.secrets() {
                    self.redactor.register(s.expose());
                }
            }
            out.push(access::Endpoint {
                name: r.name.clone(),
                method,
                path: r.path.get_ref().clone(),
                query,
                body,
                form: r.form.is_some(),
                auth,
                owner: r.owner.clone(),
                params: r.params.clone(),
                roles: r.roles.clone(),
                writes,
                onboarding: r.onboarding,
                kind: r.kind.clone(),
                fields: r.fields.clone(),
                imported: None,
            });
        }
        Ok(out)
    }

    /// Keeps a URL the profile names for a check only when the scope allows it.
    fn in_scope(
        &self,
        url: Url,
        span: Range<usize>,
        key: &str,
        scope: &Scope,
    ) -> Result<Url, ProfileError> {
        if scope.allows_url(&url) {
            Ok(url)
        } else {
            Err(self.err(
                span,
                key,
                format!(
                    "`{url}` is outside [target] scope; add its host (with the port if it is \
                     not 80 or 443) to scope or remove it here"
                ),
            ))
        }
    }

    fn https(
        &self,
        raw: RawHttps,
        base_url: &Url,
        scope: &Scope,
    ) -> Result<HttpsSettings, ProfileError> {
        let base_http = match &raw.base_http_url {
            Some(v) => Some(self.in_scope(
                self.url(v, "[checks.https] base_http_url")?,
                v.span(),
                "[checks.https] base_http_url",
                scope,
            )?),
            None => derive_http_url(base_url),
        };
        let mut origins = vec![HttpsOrigin {
            url: https_form(base_url),
            http_url: base_http,
        }];
        for origin in &raw.origins {
            let key = "[checks.https] origins";
            let as_url = |text: &str| Spanned::new(origin.span(), text.to_string());
            let url = self.url(&as_url(&origin.get_ref().url), key)?;
            let url = self.in_scope(https_form(&url), origin.span(), key, scope)?;
            let http_url = match &origin.get_ref().http_url {
                Some(h) => {
                    Some(self.in_scope(self.url(&as_url(h), key)?, origin.span(), key, scope)?)
                }
                None => derive_http_url(&url),
            };
            let origin = HttpsOrigin {
                url: https_form(&url),
                http_url,
            };
            if !origins.iter().any(|o| o.url == origin.url) {
                origins.push(origin);
            }
        }
        for page in &raw.pages {
            if !page.starts_with('/') {
                return Err(self.err(
                    0..0,
                    "[checks.https] pages",
                    format!("`{page}` must be a path starting with `/`"),
                ));
            }
        }
        Ok(HttpsSettings {
            enabled: raw.enabled.unwrap_or(true),
            origins,
            pages: raw.pages,
            min_hsts_max_age: raw.min_hsts_max_age.unwrap_or(31_536_000),
            require_include_subdomains: raw.require_include_subdomains.unwrap_or(true),
            cert_fail_days: raw.cert_fail_days.unwrap_or(7),
            cert_warn_days: raw.cert_warn_days.unwrap_or(30),
            legacy_tls_probe: raw.legacy_tls_probe.unwrap_or(true),
            session_cookies: raw.session_cookies,
        })
    }
}

/// The https:// form of an origin URL (an http:// base URL is audited as https).
fn https_form(url: &Url) -> Url {
    if url.scheme() == "https" {
        return url.clone();
    }
    let mut u = url.clone();
    let default_port = u.port().is_none();
    let _ = u.set_scheme("https");
    if default_port {
        let _ = u.set_port(None);
    }
    u
}

/// The plain-HTTP twin of an origin: only derivable when it uses the default ports.
fn derive_http_url(url: &Url) -> Option<Url> {
    if url.scheme() == "http" {
        return Some(url.clone());
    }
    if url.port().is_some() {
        return None;
    }
    let mut u = url.clone();
    u.set_scheme("http").ok()?;
    Some(u)
}

fn parse_nameserver(text: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        return Ok(sa);
    }
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "`{text}` is not a nameserver address; write `192.0.2.53` or `127.0.0.1:5353`"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Profile, ProfileError> {
        parse(text, Path::new("/tmp/p/readiness.toml"), &Redactor::new())
    }

    const MINIMAL: &str = r#"
[target]
name = "x"
base_url = "https://app.example.test/"
scope = ["app.example.test"]
"#;

    #[test]
    fn minimal_profile_gets_defaults() {
        let p = parse_str(MINIMAL).unwrap();
        assert_eq!(p.target.max_requests, 1000);
        assert_eq!(p.https.origins.len(), 1);
        assert_eq!(
            p.https.origins[0].http_url.as_ref().unwrap().as_str(),
            "http://app.example.test/"
        );
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let text = format!("{MINIMAL}max_rsp = 3\n");
        let e = parse_str(&text).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("readiness.toml:6:1"), "{shown}");
        assert!(shown.contains("max_rsp"), "{shown}");
    }

    #[test]
    fn wrong_type_is_located() {
        let text = MINIMAL.replace("scope = [\"app.example.test\"]", "scope = \"app\"");
        let e = parse_str(&text).unwrap_err();
        assert_eq!(e.line, Some(5), "{e}");
    }

    #[test]
    fn errors_in_headers_and_missing_fields_name_their_table() {
        let e = parse_str("[target]\nbase_url = \"https://a.test/\"\nscope = [\"a.test\"]\n")
            .unwrap_err();
        assert_eq!(e.key, "[target]", "{e}");
        let e = parse_str(&format!("{MINIMAL}[checks.htps]\n")).unwrap_err();
        assert_eq!(e.key, "[checks.htps]", "{e}");
    }

    #[test]
    fn base_url_outside_scope_is_rejected() {
        let text = MINIMAL.replace("scope = [\"app.example.test\"]", "scope = [\"other.test\"]");
        let e = parse_str(&text).unwrap_err();
        assert!(e.to_string().contains("outside [target] scope"), "{e}");
        assert_eq!(e.line, Some(4));
    }

    #[test]
    fn bad_scope_entry_is_located() {
        let text = MINIMAL.replace(
            "[\"app.example.test\"]",
            "[\"app.example.test\", \"*.com\"]",
        );
        let e = parse_str(&text).unwrap_err();
        assert!(e.key.contains("scope"), "{e}");
        assert_eq!(e.line, Some(5));
    }

    #[test]
    fn missing_env_secret_names_the_key() {
        let text =
            format!("{MINIMAL}[target.headers]\nX-Key = \"${{READINESS_TEST_UNSET_123}}\"\n");
        let e = parse_str(&text).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains("X-Key") && shown.contains("READINESS_TEST_UNSET_123"),
            "{shown}"
        );
    }

    #[test]
    fn literal_secret_is_registered_for_redaction() {
        let text = format!("{MINIMAL}[target.headers]\nX-Key = \"literal-secret-value\"\n");
        let r = Redactor::new();
        let p = parse(&text, Path::new("r.toml"), &r).unwrap();
        assert_eq!(r.redact("literal-secret-value"), "***");
        assert!(!format!("{p:?}").contains("literal-secret-value"));
    }

    #[test]
    fn resolve_overrides_parse() {
        let text = format!("{MINIMAL}[target.resolve]\n\"App.Example.Test\" = \"127.0.0.1\"\n");
        let p = parse_str(&text).unwrap();
        assert_eq!(p.target.resolve[0].host, "app.example.test");
        let bad = format!("{MINIMAL}[target.resolve]\n\"a\" = \"localhost\"\n");
        assert!(
            parse_str(&bad)
                .unwrap_err()
                .to_string()
                .contains("not an IP address")
        );
    }

    #[test]
    fn non_default_port_has_no_derived_http_twin() {
        let text = MINIMAL
            .replace(
                "https://app.example.test/",
                "https://app.example.test:8443/",
            )
            .replace("[\"app.example.test\"]", "[\"app.example.test:8443\"]");
        let p = parse_str(&text).unwrap();
        assert!(p.https.origins[0].http_url.is_none());
    }

    #[test]
    fn identities_and_endpoints_resolve() {
        let text = format!(
            "{MINIMAL}[[identity]]\nname = \"a\"\ntoken = \"tok-literal-1\"\n\
             [[endpoint]]\nname = \"m\"\npath = \"/o/{{id}}\"\nowner = \"a\"\n\
             params = {{ id = \"1\" }}\n"
        );
        let p = parse_str(&text).unwrap();
        assert_eq!(p.identities.len(), 1);
        assert_eq!(
            p.endpoints[0].render_path(&p.endpoints[0].params).unwrap(),
            "/o/1"
        );
        assert!(!p.endpoints[0].writes);
    }

    #[test]
    fn endpoint_owner_must_exist_and_identity_needs_one_credential() {
        let text =
            format!("{MINIMAL}[[endpoint]]\nname = \"m\"\npath = \"/o\"\nowner = \"nobody\"\n");
        let e = parse_str(&text).unwrap_err();
        assert!(
            e.to_string().contains("no [[identity]] is named `nobody`"),
            "{e}"
        );
        assert_eq!(e.line, Some(6));
        let text = format!("{MINIMAL}[[identity]]\nname = \"a\"\n");
        assert!(
            parse_str(&text)
                .unwrap_err()
                .to_string()
                .contains("exactly one of")
        );
        let text = format!(
            "{MINIMAL}[[identity]]\nname = \"a\"\nlogin = {{ url = \"https://evil.test/l\", cookie = \"s\" }}\n"
        );
        assert!(
            parse_str(&text)
                .unwrap_err()
                .to_string()
                .contains("outside [target] scope")
        );
    }
}
