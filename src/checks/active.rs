//! Support shared by the active checks (`input`, `rate_limit`, `latency`):
//! turning a profile `[[endpoint]]` into a request with the right credential,
//! and a located error type their profile sections resolve into.
//!
//! Identities that log in with a request are not handled here: their
//! sessions are wired in by the engine, so until then an endpoint that needs
//! one is skipped with a reason instead of being sent without credentials.

use std::collections::BTreeMap;

use bytes::Bytes;
use url::Url;

use crate::net::HttpRequest;
use crate::profile::Profile;
use crate::profile::access::{AuthRequirement, CredentialSource, Endpoint};

/// The header that carries an identity's credential, or why there is none.
///
/// `Ok(None)` means the endpoint is public. `Err` is a skip reason.
pub fn credential_header(
    profile: &Profile,
    endpoint: &Endpoint,
) -> Result<Option<(String, String)>, String> {
    if endpoint.auth == AuthRequirement::Public {
        return Ok(None);
    }
    let identity = match &endpoint.owner {
        Some(owner) => profile.identities.iter().find(|i| &i.name == owner),
        None => profile.identities.first(),
    };
    let Some(identity) = identity else {
        return Err(format!(
            "endpoint `{}` needs a credential but the profile has no [[identity]]",
            endpoint.name
        ));
    };
    match &identity.credential {
        CredentialSource::Bearer(token) => Ok(Some((
            "authorization".to_string(),
            format!("Bearer {}", token.expose()),
        ))),
        CredentialSource::Cookie { name, value } => Ok(Some((
            "cookie".to_string(),
            format!("{name}={}", value.expose()),
        ))),
        CredentialSource::Login(_) => Err(format!(
            "endpoint `{}` needs identity `{}`, which logs in with a request; login sessions \
             are not available to this check yet, so it is not probed",
            endpoint.name, identity.name
        )),
        CredentialSource::None => Ok(None),
    }
}

/// Builds the endpoint's request from its templates, with `params` filling
/// the path, `query` and `body` replacing the profile's when given.
pub fn build_request(
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
    if let Some((name, value)) = credential_header(profile, endpoint)? {
        req = req.header(&name, &value);
    }
    let body = match body {
        Some(b) => Some(b),
        None => endpoint
            .body
            .as_ref()
            .map(|t| Bytes::from(t.render().to_string())),
    };
    if let Some(body) = body {
        req = req.header("content-type", "application/json");
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
