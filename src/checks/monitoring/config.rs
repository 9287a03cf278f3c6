//! `[checks.monitoring]`: health endpoints to judge, the uptime monitors the
//! team declares, and the webhook `readiness watch` alerts.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;
use url::Url;

use crate::net::scope::Scope;
use crate::profile::access::{CredentialSource, Identity};
use crate::profile::check_config::{ConfigError, scoped_url};
use crate::profile::{Secret, SecretSpec};
use crate::redact::Redactor;
use crate::util::parse_duration;

/// Flows that must have a monitor unless the profile says otherwise.
pub const DEFAULT_FLOWS: &[&str] = &["signup", "login", "mail"];

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RawHealth {
    Url(String),
    Full(RawHealthTable),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthTable {
    pub url: String,
    /// An identity whose token or cookie the endpoint needs.
    pub identity: Option<String>,
    /// A URL that shows the endpoint while a dependency is down; it must not say ok.
    pub dependency_down: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonitor {
    pub name: String,
    /// The URL or flow the monitor watches.
    pub target: String,
    /// signup, login, mail or another flow name; inferred from name and target when absent.
    pub flow: Option<String>,
    pub interval: Spanned<String>,
    /// Where alerts go (a pager service, a channel, an address); empty = nobody.
    #[serde(default)]
    pub alert: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMonitoring {
    pub enabled: Option<bool>,
    #[serde(default)]
    pub health: Vec<Spanned<RawHealth>>,
    pub max_latency: Option<Spanned<String>>,
    #[serde(default)]
    pub monitor: Vec<Spanned<RawMonitor>>,
    pub require_flows: Option<Vec<String>>,
    pub max_interval: Option<Spanned<String>>,
    /// Where `readiness watch` posts alerts (a secret: webhook URLs carry tokens).
    pub webhook: Option<Spanned<SecretSpec>>,
    /// Requests one `watch` cycle may send.
    pub watch_max_requests: Option<u64>,
}

/// A credential a health endpoint needs.
#[derive(Debug, Clone)]
pub enum HealthAuth {
    Bearer(Secret),
    Cookie { name: String, value: Secret },
}

#[derive(Debug, Clone)]
pub struct HealthEndpoint {
    pub url: Url,
    pub identity: Option<String>,
    pub auth: Option<HealthAuth>,
    pub dependency_down: Option<Url>,
}

#[derive(Debug, Clone)]
pub struct Monitor {
    pub name: String,
    pub target: String,
    pub flow: Option<String>,
    pub interval: Duration,
    pub alert: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct MonitoringSettings {
    /// False when `[checks.monitoring]` is absent or disabled.
    pub enabled: bool,
    pub health: Vec<HealthEndpoint>,
    pub max_latency: Duration,
    pub monitors: Vec<Monitor>,
    pub require_flows: Vec<String>,
    pub max_interval: Duration,
    pub webhook: Option<Secret>,
    pub watch_max_requests: u64,
}

/// The flow a monitor watches, from its declared flow or its name and target.
pub fn infer_flow(name: &str, target: &str) -> Option<String> {
    let text = format!("{name} {target}").to_ascii_lowercase();
    let rules: [(&str, &[&str]); 3] = [
        (
            "signup",
            &["signup", "sign-up", "sign_up", "register", "onboard"],
        ),
        ("login", &["login", "log-in", "signin", "sign-in", "auth"]),
        ("mail", &["mail", "smtp", "inbox", "deliverab"]),
    ];
    rules
        .iter()
        .find(|(_, words)| words.iter().any(|w| text.contains(w)))
        .map(|(flow, _)| flow.to_string())
}

fn duration(
    v: &Option<Spanned<String>>,
    key: &str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match v {
        None => Ok(default),
        Some(s) => parse_duration(s.get_ref()).map_err(|e| ConfigError::new(s.span(), key, e)),
    }
}

/// Resolves `[checks.monitoring]`; secrets are registered with `redactor`.
/// Requests one `readiness watch` cycle may send unless the profile says otherwise.
pub const DEFAULT_WATCH_REQUESTS: u64 = 200;

pub fn resolve(
    raw: Option<RawMonitoring>,
    base_url: &Url,
    scope: &Scope,
    identities: &[Identity],
    dir: &Path,
    redactor: &Redactor,
) -> Result<MonitoringSettings, ConfigError> {
    let Some(raw) = raw else {
        // No [checks.monitoring]: the check skips, and `watch` keeps its default cycle budget.
        return Ok(MonitoringSettings {
            watch_max_requests: DEFAULT_WATCH_REQUESTS,
            ..MonitoringSettings::default()
        });
    };
    let mut health = Vec::new();
    for h in &raw.health {
        let span = h.span();
        let (url, identity, down) = match h.get_ref() {
            RawHealth::Url(u) => (u.clone(), None, None),
            RawHealth::Full(t) => (t.url.clone(), t.identity.clone(), t.dependency_down.clone()),
        };
        let key = "[checks.monitoring] health";
        let url = scoped_url(&Spanned::new(span.clone(), url), base_url, scope, key)?;
        let dependency_down = down
            .map(|d| scoped_url(&Spanned::new(span.clone(), d), base_url, scope, key))
            .transpose()?;
        let auth = match &identity {
            None => None,
            Some(name) => {
                let Some(id) = identities.iter().find(|i| &i.name == name) else {
                    return Err(ConfigError::new(
                        span,
                        key,
                        format!("no [[identity]] is named `{name}`"),
                    ));
                };
                match &id.credential {
                    CredentialSource::Bearer(t) => Some(HealthAuth::Bearer(t.clone())),
                    CredentialSource::Cookie { name, value } => Some(HealthAuth::Cookie {
                        name: name.clone(),
                        value: value.clone(),
                    }),
                    _ => {
                        return Err(ConfigError::new(
                            span,
                            key,
                            format!(
                                "identity `{name}` logs in with a request; health endpoints take \
                                 an identity with `token` or `cookie`"
                            ),
                        ));
                    }
                }
            }
        };
        health.push(HealthEndpoint {
            url,
            identity,
            auth,
            dependency_down,
        });
    }

    let mut monitors = Vec::new();
    for m in &raw.monitor {
        let r = m.get_ref();
        let key = format!("[[checks.monitoring.monitor]] {}", r.name);
        let interval = parse_duration(r.interval.get_ref())
            .map_err(|e| ConfigError::new(r.interval.span(), &key, e))?;
        let flow = r
            .flow
            .clone()
            .map(|f| f.to_ascii_lowercase())
            .or_else(|| infer_flow(&r.name, &r.target));
        monitors.push(Monitor {
            name: r.name.clone(),
            target: r.target.clone(),
            flow,
            interval,
            alert: r
                .alert
                .iter()
                .filter(|a| !a.trim().is_empty())
                .cloned()
                .collect(),
        });
    }

    let webhook = match &raw.webhook {
        None => None,
        Some(spec) => {
            let key = "[checks.monitoring] webhook";
            let secret = spec
                .get_ref()
                .resolve(dir)
                .map_err(|e| ConfigError::new(spec.span(), key, e))?;
            let url = Url::parse(secret.expose().trim())
                .map_err(|e| ConfigError::new(spec.span(), key, format!("not a URL ({e})")))?;
            if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                return Err(ConfigError::new(spec.span(), key, "must be an http(s) URL"));
            }
            redactor.register(secret.expose());
            Some(secret)
        }
    };

    Ok(MonitoringSettings {
        enabled: raw.enabled.unwrap_or(true),
        health,
        max_latency: duration(
            &raw.max_latency,
            "[checks.monitoring] max_latency",
            Duration::from_secs(1),
        )?,
        monitors,
        require_flows: raw
            .require_flows
            .unwrap_or_else(|| DEFAULT_FLOWS.iter().map(|f| f.to_string()).collect()),
        max_interval: duration(
            &raw.max_interval,
            "[checks.monitoring] max_interval",
            Duration::from_secs(300),
        )?,
        webhook,
        watch_max_requests: raw
            .watch_max_requests
            .unwrap_or(DEFAULT_WATCH_REQUESTS)
            .max(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flows_are_inferred_from_names_and_targets() {
        assert_eq!(
            infer_flow("Signup journey", "https://x/"),
            Some("signup".into())
        );
        assert_eq!(
            infer_flow("checkout", "https://x/api/login"),
            Some("login".into())
        );
        assert_eq!(
            infer_flow("Mail delivery", "inbox probe"),
            Some("mail".into())
        );
        assert_eq!(infer_flow("homepage", "https://x/"), None);
    }
}

#[cfg(test)]
mod profile_tests {
    use std::path::Path;

    use crate::profile::parse;
    use crate::redact::Redactor;

    const BASE: &str = "[target]\nname = \"x\"\nbase_url = \"https://app.example.test/\"\n\
                        scope = [\"app.example.test\"]\n";

    fn load(extra: &str) -> Result<crate::profile::Profile, crate::profile::ProfileError> {
        parse(
            &format!("{BASE}{extra}"),
            Path::new("/tmp/p/r.toml"),
            &Redactor::new(),
        )
    }

    #[test]
    fn health_with_a_token_identity_resolves() {
        let p = load(
            "[[identity]]\nname = \"ops\"\ntoken = \"health-token-literal\"\n\
             [checks.monitoring]\nhealth = [\"/healthz\", { url = \"/deep\", identity = \"ops\", \
             dependency_down = \"/deep?db=down\" }]\n",
        )
        .unwrap();
        let h = &p.monitoring.health;
        assert_eq!(h.len(), 2);
        assert!(h[1].auth.is_some() && h[1].dependency_down.is_some());
        assert_eq!(p.monitoring.max_interval.as_secs(), 300);
    }

    #[test]
    fn login_identities_unknown_identities_and_foreign_hosts_are_located_errors() {
        let e = load(
            "[[identity]]\nname = \"a\"\nlogin = { url = \"/l\", cookie = \"s\" }\n\
             [checks.monitoring]\nhealth = [{ url = \"/h\", identity = \"a\" }]\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("token") && e.line == Some(9), "{e}");
        let e = load("[checks.monitoring]\nhealth = [{ url = \"/h\", identity = \"b\" }]\n")
            .unwrap_err();
        assert!(
            e.to_string().contains("no [[identity]] is named `b`"),
            "{e}"
        );
        let e = load("[checks.monitoring]\nhealth = [\"https://other.test/h\"]\n").unwrap_err();
        assert!(e.to_string().contains("outside [target] scope"), "{e}");
    }

    #[test]
    fn the_webhook_is_a_secret() {
        let r = Redactor::new();
        let text = format!(
            "{BASE}[checks.monitoring]\nwebhook = \"https://hooks.example.test/T0/abcdef123\"\n"
        );
        let p = parse(&text, Path::new("/tmp/p/r.toml"), &r).unwrap();
        assert!(p.monitoring.webhook.is_some());
        assert_eq!(
            r.redact("to https://hooks.example.test/T0/abcdef123"),
            "to ***"
        );
        let bad = format!("{BASE}[checks.monitoring]\nwebhook = \"not a url\"\n");
        assert!(parse(&bad, Path::new("r.toml"), &r).is_err());
    }
}
