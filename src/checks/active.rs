//! Support shared by the active checks (`input`, `rate_limit`, `latency`):
//! turning a profile `[[endpoint]]` into a request with the right credential.
//!
//! An endpoint's requests carry the credential of its owner identity (or the
//! first identity). Identities that log in use the same run-wide, memoised
//! login as the access checks, so a login is sent at most once per audit
//! whichever check needs it first; a failed login makes the rows that needed
//! it `error` rows naming the identity, never a pass.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use url::Url;

use crate::checks::access::request::encode_body;
use crate::checks::access::sessions::{self, Credential};
use crate::engine::Plan;
use crate::net::{CheckNet, HttpRequest};
use crate::profile::Profile;
use crate::profile::access::{AuthRequirement, CredentialSource, Endpoint, Identity};
use crate::report::model::SubjectRow;

/// Why an endpoint's credential is not available.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoCredential {
    /// The profile gives none to send (a `skip`: nothing was tried).
    NotConfigured(String),
    /// The identity's login failed (an `error`: the endpoint could not be judged).
    LoginFailed { identity: String, reason: String },
}

impl NoCredential {
    /// The row of an endpoint that could not be probed for this reason.
    pub fn row(&self, subject: &str) -> SubjectRow {
        match self {
            NoCredential::NotConfigured(reason) => SubjectRow::skip(subject, reason.clone()),
            NoCredential::LoginFailed { identity, reason } => SubjectRow::error(
                subject,
                format!("login of identity `{identity}` failed: {reason}; the endpoint needs it"),
            ),
        }
    }
}

/// The identity whose credential the endpoint's requests carry: its owner,
/// else the profile's first identity. `None` for a public endpoint.
pub fn identity_for<'a>(
    profile: &'a Profile,
    endpoint: &Endpoint,
) -> Result<Option<&'a Identity>, NoCredential> {
    if endpoint.auth == AuthRequirement::Public {
        return Ok(None);
    }
    let identity = match &endpoint.owner {
        Some(owner) => profile.identities.iter().find(|i| &i.name == owner),
        None => profile.identities.first(),
    };
    match identity {
        Some(i) => Ok(Some(i)),
        None => Err(NoCredential::NotConfigured(format!(
            "endpoint `{}` needs a credential but the profile has no [[identity]]",
            endpoint.name
        ))),
    }
}

/// Names of the identities that log in with a request and that these
/// endpoints need: each costs at most one request per audit (for plans).
pub fn logins_needed<'a>(
    profile: &Profile,
    endpoints: impl IntoIterator<Item = &'a Endpoint>,
) -> BTreeSet<String> {
    endpoints
        .into_iter()
        .filter_map(|e| identity_for(profile, e).ok().flatten())
        .filter(|i| matches!(i.credential, CredentialSource::Login(_)))
        .map(|i| i.name.clone())
        .collect()
}

/// Adds the plan step of the logins these endpoints need (an upper bound:
/// whichever check logs an identity in first pays for it).
pub fn with_login_step<'a>(
    plan: Plan,
    profile: &Profile,
    endpoints: impl IntoIterator<Item = &'a Endpoint>,
) -> Plan {
    let logins = logins_needed(profile, endpoints);
    if logins.is_empty() {
        return plan;
    }
    let names: Vec<&str> = logins.iter().map(String::as_str).collect();
    plan.step(
        "identities",
        &format!(
            "log in {} (once per audit, shared with the other checks)",
            names.join(", ")
        ),
        logins.len() as u64,
        false,
    )
}

/// The credential an endpoint's requests carry; logs its identity in (once
/// per audit, shared with every other check) when the profile says so.
/// `Ok(None)` means the endpoint is public or the identity is anonymous.
pub async fn credential_for(
    net: &CheckNet,
    profile: &Profile,
    endpoint: &Endpoint,
) -> Result<Option<Credential>, NoCredential> {
    let Some(identity) = identity_for(profile, endpoint)? else {
        return Ok(None);
    };
    sessions::credential_of(net, identity)
        .await
        .map_err(|reason| NoCredential::LoginFailed {
            identity: identity.name.clone(),
            reason,
        })
}

/// Builds the endpoint's request from its templates, with `params` filling
/// the path, `query` and `body` replacing the profile's when given, and a
/// credential already obtained by [`credential_for`] (`None`: sent without one).
pub fn build_request_with(
    profile: &Profile,
    endpoint: &Endpoint,
    params: &BTreeMap<String, String>,
    query: Option<&serde_json::Value>,
    body: Option<Bytes>,
    credential: Option<&Credential>,
) -> Result<HttpRequest, String> {
    let req = unauthenticated_request(profile, endpoint, params, query, body)?;
    Ok(match credential {
        Some(c) => c.apply(req),
        None => req,
    })
}

/// The endpoint's request without any credential.
fn unauthenticated_request(
    profile: &Profile,
    endpoint: &Endpoint,
    params: &BTreeMap<String, String>,
    query: Option<&serde_json::Value>,
    body: Option<Bytes>,
) -> Result<HttpRequest, String> {
    let path = endpoint.render_path(params).map_err(|missing| {
        format!(
            "endpoint `{}`: no value for path params {}; set `params` on the endpoint",
            endpoint.name,
            missing.join(", ")
        )
    })?;
    let mut url = join(&profile.target.base_url, &path)?;
    let rendered;
    let query = match query {
        Some(q) => q,
        None => {
            rendered = endpoint.query.render();
            &rendered
        }
    };
    set_query(&mut url, query);
    let mut req = HttpRequest::get(url);
    req.method = endpoint.method.clone();
    // The profile's body in the endpoint's own encoding (JSON, or form
    // fields for `form = {...}`); a caller's body is JSON unless it re-encodes.
    let body = match body {
        Some(b) => Some(("application/json", b)),
        None => endpoint.body.as_ref().map(|t| {
            let (content_type, text) = encode_body(endpoint, &t.render());
            (content_type, Bytes::from(text))
        }),
    };
    if let Some((content_type, body)) = body {
        req = req.header("content-type", content_type);
        req.body = Some(body);
    }
    Ok(req)
}

/// Joins a path (which may carry its own query) to the base URL.
pub fn join(base: &Url, path: &str) -> Result<Url, String> {
    base.join(path)
        .map_err(|e| format!("`{path}` does not join to the base URL: {e}"))
}

/// Replaces the URL's query with the pairs of a JSON object (scalars as text).
pub fn set_query(url: &mut Url, query: &serde_json::Value) {
    let Some(map) = query.as_object() else {
        return;
    };
    if map.is_empty() {
        return;
    }
    let mut pairs = url.query_pairs_mut();
    pairs.clear();
    for (k, v) in map {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        pairs.append_pair(k, &text);
    }
}

/// The endpoint's params: its own, then its owner identity's for missing ones.
pub fn params_for(profile: &Profile, endpoint: &Endpoint) -> BTreeMap<String, String> {
    let mut params = endpoint.params.clone();
    let owner = endpoint
        .owner
        .as_ref()
        .and_then(|o| profile.identities.iter().find(|i| &i.name == o));
    if let Some(identity) = owner {
        for (k, v) in &identity.params {
            params.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    params
}
