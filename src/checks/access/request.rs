//! Building an endpoint's request for one identity's ids.
//!
//! The rule for params, the same everywhere: a param fills the `{name}`
//! placeholders of the path, and query or body strings written exactly
//! `"{name}"`. A literal query or body value is never replaced, so what the
//! profile writes is what is sent. The one exception is deliberate and
//! reported: the tenant check's id-swap probes ([`Ids::swapped`]) also
//! replace literal fields whose name is id-like (`id`, `org_id`, `orgId`, at
//! any depth) and is one of the identity's params, to place one identity's
//! ids in one part of the request (path, query or body) and another's
//! elsewhere.

use std::collections::BTreeMap;

use serde_json::Value;

use super::sessions;
use crate::net::HttpRequest;
use crate::profile::Profile;
use crate::profile::access::{Endpoint, Identity};

/// Ids for each part of a request; usually the same map three times.
#[derive(Debug, Clone, Default)]
pub struct Ids {
    pub path: BTreeMap<String, String>,
    pub query: BTreeMap<String, String>,
    pub body: BTreeMap<String, String>,
    /// Also replace literal id-like fields named like a param (id-swap probes only).
    pub swap_fields: bool,
}

impl Ids {
    /// One identity's params for every placeholder; literal values untouched.
    pub fn same(params: &BTreeMap<String, String>) -> Ids {
        Ids {
            path: params.clone(),
            query: params.clone(),
            body: params.clone(),
            swap_fields: false,
        }
    }

    /// Params for an id-swap probe: literal id-like fields are replaced too.
    pub fn swapped(params: &BTreeMap<String, String>) -> Ids {
        Ids {
            swap_fields: true,
            ..Ids::same(params)
        }
    }
}

/// The owner's params for an endpoint: the identity's own, overridden by the
/// endpoint's. An imported endpoint's params are only the document's
/// examples, so there the identity's own values win.
pub fn owner_params(endpoint: &Endpoint, owner: Option<&Identity>) -> BTreeMap<String, String> {
    let own = owner.map(|o| o.params.clone()).unwrap_or_default();
    let mut params = own.clone();
    for (k, v) in &endpoint.params {
        params.insert(k.clone(), v.clone());
    }
    if endpoint.imported.is_some() {
        params.extend(own);
    }
    params
}

/// Params of another identity for the same endpoint: every param the endpoint
/// uses (in its path, its `params`, or as a field of its query or body that
/// the owner's params fill) must have a value in the identity's own params;
/// `None` otherwise.
pub fn identity_params(
    endpoint: &Endpoint,
    identity: &Identity,
    owner_params: &BTreeMap<String, String>,
) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut needed: Vec<String> = endpoint.path_params();
    needed.extend(endpoint.params.keys().cloned());
    needed.extend(params_in(&endpoint.query.render(), owner_params));
    if let Some(body) = &endpoint.body {
        needed.extend(params_in(&body.render(), owner_params));
    }
    needed.sort();
    needed.dedup();
    for key in needed {
        out.insert(key.clone(), identity.params.get(&key)?.clone());
    }
    Some(out)
}

/// The request for `endpoint` with `ids`; `Err` names the params without a value.
pub fn build(profile: &Profile, endpoint: &Endpoint, ids: &Ids) -> Result<HttpRequest, String> {
    let path = endpoint.render_path(&ids.path).map_err(|missing| {
        format!(
            "no value for {} in the endpoint's `params` or its owner's",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    let mut url = profile
        .target
        .base_url
        .join(&path)
        .map_err(|e| format!("cannot join `{path}` to base_url: {e}"))?;
    let mut query = endpoint.query.render();
    fill_part(&mut query, &ids.query, ids.swap_fields);
    if let Some(map) = query.as_object()
        && !map.is_empty()
    {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in map {
            pairs.append_pair(k, &scalar_text(v));
        }
    }
    let mut req = HttpRequest::get(url);
    req.method = endpoint.method.clone();
    if let Some(body) = &endpoint.body {
        let mut value = body.render();
        fill_part(&mut value, &ids.body, ids.swap_fields);
        req = with_body(req, endpoint, &value);
    }
    Ok(req)
}

/// Sets a request's body in the endpoint's own encoding.
pub fn with_body(req: HttpRequest, endpoint: &Endpoint, value: &Value) -> HttpRequest {
    let (content_type, bytes) = encode_body(endpoint, value);
    let mut req = req.header("content-type", content_type);
    req.body = Some(bytes.into());
    req
}

/// A body value in the endpoint's own encoding, with its content type: JSON,
/// or `application/x-www-form-urlencoded` for `form = {...}` endpoints.
pub fn encode_body(endpoint: &Endpoint, value: &Value) -> (&'static str, String) {
    if endpoint.form {
        (
            "application/x-www-form-urlencoded",
            sessions::form_encode(value),
        )
    } else {
        ("application/json", value.to_string())
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn fill_part(value: &mut Value, params: &BTreeMap<String, String>, swap_fields: bool) {
    if swap_fields {
        swap_id_fields(value, params);
    } else {
        fill(value, params);
    }
}

/// Fills the `"{param}"` placeholders of a query or body value, at any
/// depth; every other value stays as written.
pub fn fill(value: &mut Value, params: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => map.values_mut().for_each(|v| fill(v, params)),
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, params)),
        Value::String(s) => {
            if let Some(p) = placeholder(s).and_then(|name| params.get(name)) {
                *s = p.clone();
            }
        }
        _ => {}
    }
}

/// For id-swap probes: fills placeholders and also replaces literal fields
/// whose name is id-like and one of `params` (at any depth).
pub fn swap_id_fields(value: &mut Value, params: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if let Some(p) = params.get(k)
                    && id_like(k)
                    && !v.is_object()
                    && !v.is_array()
                {
                    *v = typed_like(v, p);
                } else {
                    swap_id_fields(v, params);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| swap_id_fields(v, params)),
        other => fill(other, params),
    }
}

/// The param a string names when it is written `"{param}"`.
fn placeholder(s: &str) -> Option<&str> {
    s.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
}

/// Whether a field's name says it holds an object id (`id`, `org_id`, `orgId`).
pub fn id_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "id" || n.ends_with("_id") || (name.ends_with("Id") && name.len() > 2)
}

/// A param value with the JSON type of the value it replaces (numbers stay numbers).
fn typed_like(old: &Value, new: &str) -> Value {
    if old.is_number()
        && let Ok(n) = new.parse::<i64>()
    {
        return Value::from(n);
    }
    Value::String(new.to_string())
}

/// Param names that appear as `"{param}"` strings, or as id-like fields (the
/// ones an id-swap probe replaces), in the query or body.
pub fn params_in(value: &Value, params: &BTreeMap<String, String>) -> Vec<String> {
    let mut out = Vec::new();
    collect(value, params, &mut out);
    out.sort();
    out.dedup();
    out
}

fn collect(value: &Value, params: &BTreeMap<String, String>, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if params.contains_key(k) && id_like(k) && !v.is_object() && !v.is_array() {
                    out.push(k.clone());
                } else {
                    collect(v, params, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, params, out)),
        Value::String(s) => {
            if let Some(name) = placeholder(s)
                && params.contains_key(name)
            {
                out.push(name.to_string());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_fill_placeholders_and_never_literal_values() {
        let mut body = serde_json::json!({
            "report": {"org_id": 1, "title": "q3"},
            "owner": "{user_id}",
            "book_title": "from-body",
            "tags": [{"org_id": "x"}]
        });
        let mut params = BTreeMap::new();
        params.insert("org_id".to_string(), "42".to_string());
        params.insert("user_id".to_string(), "u-9".to_string());
        params.insert("book_title".to_string(), "from-params".to_string());
        // `book_title` is not id-like: never swapped, so not a swap place.
        assert_eq!(params_in(&body, &params), vec!["org_id", "user_id"]);
        let mut plain = body.clone();
        fill(&mut plain, &params);
        assert_eq!(plain["owner"], "u-9");
        assert_eq!(plain["report"]["org_id"], 1);
        assert_eq!(plain["book_title"], "from-body");
        swap_id_fields(&mut body, &params);
        assert_eq!(body["report"]["org_id"], 42);
        assert_eq!(body["owner"], "u-9");
        assert_eq!(body["tags"][0]["org_id"], "42");
        assert_eq!(body["report"]["title"], "q3");
        assert_eq!(body["book_title"], "from-body");
    }

    #[test]
    fn id_like_names() {
        assert!(id_like("org_id") && id_like("ticketId") && id_like("id") && id_like("ID"));
        assert!(!id_like("page") && !id_like("paid") && !id_like("valid"));
        assert!(!id_like("book_title") && !id_like("username"));
    }
}
