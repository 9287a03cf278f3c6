//! Building an endpoint's request for one identity's ids.
//!
//! The path template's `{params}` are filled from a params map; in the query
//! and JSON body templates, a field named like a param (at any depth, so a
//! nested `org_id` too) or a string written `"{param}"` takes that param's
//! value. The tenant check uses this to place one identity's ids in one part
//! of the request (path, query or body) and another's elsewhere.

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
}

impl Ids {
    pub fn same(params: &BTreeMap<String, String>) -> Ids {
        Ids {
            path: params.clone(),
            query: params.clone(),
            body: params.clone(),
        }
    }
}

/// The owner's params for an endpoint: the identity's own, overridden by the endpoint's.
pub fn owner_params(endpoint: &Endpoint, owner: Option<&Identity>) -> BTreeMap<String, String> {
    let mut params = owner.map(|o| o.params.clone()).unwrap_or_default();
    for (k, v) in &endpoint.params {
        params.insert(k.clone(), v.clone());
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
    fill(&mut query, &ids.query);
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
        fill(&mut value, &ids.body);
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

/// Puts param values into a query or body value, at any depth.
pub fn fill(value: &mut Value, params: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if let Some(p) = params.get(k)
                    && !v.is_object()
                    && !v.is_array()
                {
                    *v = typed_like(v, p);
                } else {
                    fill(v, params);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| fill(v, params)),
        Value::String(s) => {
            if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
                && let Some(p) = params.get(name)
            {
                *s = p.clone();
            }
        }
        _ => {}
    }
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

/// Param names that appear as fields (or `{param}` strings) in the query or body.
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
                if params.contains_key(k) && !v.is_object() && !v.is_array() {
                    out.push(k.clone());
                } else {
                    collect(v, params, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, params, out)),
        Value::String(s) => {
            if let Some(name) = s.strip_prefix('{').and_then(|r| r.strip_suffix('}'))
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
    fn fill_replaces_nested_org_fields_and_placeholders() {
        let mut body = serde_json::json!({
            "report": {"org_id": 1, "title": "q3"},
            "owner": "{user_id}",
            "tags": [{"org_id": "x"}]
        });
        let mut params = BTreeMap::new();
        params.insert("org_id".to_string(), "42".to_string());
        params.insert("user_id".to_string(), "u-9".to_string());
        assert_eq!(params_in(&body, &params), vec!["org_id", "user_id"]);
        fill(&mut body, &params);
        assert_eq!(body["report"]["org_id"], 42);
        assert_eq!(body["owner"], "u-9");
        assert_eq!(body["tags"][0]["org_id"], "42");
        assert_eq!(body["report"]["title"], "q3");
    }
}
