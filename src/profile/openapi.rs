//! `openapi = "path"`: importing an OpenAPI 3 document (JSON or YAML) so a
//! team with a spec does not list its endpoints by hand.
//!
//! Every operation becomes an `[[endpoint]]`: its name is the `operationId`
//! (or `METHOD /path`), its security requirements decide `auth` (an
//! operation's own `security` wins over the document's; an empty list or an
//! empty requirement `{}` means public), examples fill path params, query and
//! JSON body. `[[endpoint]]` entries of the profile override imported ones
//! with the same name or the same method and path.

use std::collections::BTreeMap;

use serde_json::Value;
use toml::Spanned;

use super::access::{AuthRequirement, Endpoint, Identity, Template};
use super::{ProfileError, Validator};

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

impl Validator<'_> {
    /// Adds the operations of the profile's OpenAPI document to `endpoints`.
    pub(super) fn import_openapi(
        &self,
        path: Option<&Spanned<String>>,
        endpoints: Vec<Endpoint>,
        _identities: &[Identity],
    ) -> Result<Vec<Endpoint>, ProfileError> {
        let Some(path) = path else {
            return Ok(endpoints);
        };
        let file = self.dir.join(path.get_ref());
        let text = std::fs::read_to_string(&file).map_err(|e| {
            self.err(
                path.span(),
                "openapi",
                format!("cannot read `{}`: {e}", file.display()),
            )
        })?;
        let doc = parse_document(&text).map_err(|e| self.err(path.span(), "openapi", e))?;
        let imported = import(&doc, self.dir).map_err(|e| self.err(path.span(), "openapi", e))?;
        Ok(merge(endpoints, imported))
    }
}

/// Parses JSON, or YAML when it is not JSON.
pub fn parse_document(text: &str) -> Result<Value, String> {
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) => {
            serde_norway::from_str(text).map_err(|e| format!("neither JSON nor YAML: {e}"))?
        }
    };
    if doc.get("paths").and_then(Value::as_object).is_none() {
        return Err("not an OpenAPI document: no `paths` object".to_string());
    }
    Ok(doc)
}

/// Profile entries first; an imported operation is dropped when an entry has
/// its name or its method and path.
pub fn merge(profile: Vec<Endpoint>, imported: Vec<Endpoint>) -> Vec<Endpoint> {
    let mut out = profile;
    for e in imported {
        let overridden = out
            .iter()
            .any(|p| p.name == e.name || (p.method == e.method && p.path == e.path));
        if !overridden {
            out.push(e);
        }
    }
    out
}

/// Every operation of the document as an endpoint.
pub fn import(doc: &Value, dir: &std::path::Path) -> Result<Vec<Endpoint>, String> {
    let prefix = server_path(doc);
    let global_security = doc.get("security");
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (path, item) in paths {
        if !path.starts_with('/') {
            return Err(format!("path `{path}` must start with `/`"));
        }
        let shared_params = item.get("parameters");
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let full_path = format!("{prefix}{path}");
            let http_method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("bad method `{method}`"))?;
            let name = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{} {full_path}", http_method));
            let security = op.get("security").or(global_security);
            let auth = if requires_auth(security) {
                AuthRequirement::Required
            } else {
                AuthRequirement::Public
            };
            let mut params = BTreeMap::new();
            let mut query = serde_json::Map::new();
            for p in [shared_params, op.get("parameters")]
                .into_iter()
                .flatten()
                .filter_map(Value::as_array)
                .flatten()
            {
                let (Some(pname), Some(place)) = (
                    p.get("name").and_then(Value::as_str),
                    p.get("in").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let example = example_of(p);
                match (place, example) {
                    ("path", Some(v)) => {
                        params.insert(pname.to_string(), scalar(&v));
                    }
                    ("query", Some(v)) => {
                        query.insert(pname.to_string(), v);
                    }
                    _ => {}
                }
            }
            let body = op
                .pointer("/requestBody/content/application~1json")
                .and_then(|c| {
                    c.get("example")
                        .cloned()
                        .or_else(|| c.pointer("/schema/example").cloned())
                })
                .filter(Value::is_object);
            let to_template = |v: &Value| -> Result<Template, String> {
                Template::from_toml(&to_toml_table(v), dir)
            };
            let writes = matches!(
                http_method,
                http::Method::POST | http::Method::PUT | http::Method::PATCH | http::Method::DELETE
            );
            out.push(Endpoint {
                name,
                method: http_method,
                path: full_path,
                query: to_template(&Value::Object(query))?,
                body: body.as_ref().map(to_template).transpose()?,
                auth,
                owner: None,
                params,
                roles: Vec::new(),
                writes,
                onboarding: false,
                kind: None,
                fields: BTreeMap::new(),
            });
        }
    }
    Ok(out)
}

/// True when a security requirement list needs a credential: it is non-empty
/// and none of its alternatives is the empty requirement `{}`.
fn requires_auth(security: Option<&Value>) -> bool {
    match security.and_then(Value::as_array) {
        Some(list) => {
            !list.is_empty()
                && !list
                    .iter()
                    .any(|r| r.as_object().is_some_and(|o| o.is_empty()))
        }
        None => false,
    }
}

/// The path part of the first server URL (`https://x/api/v1` gives `/api/v1`).
fn server_path(doc: &Value) -> String {
    let Some(url) = doc.pointer("/servers/0/url").and_then(Value::as_str) else {
        return String::new();
    };
    let path = match url::Url::parse(url) {
        Ok(u) => u.path().to_string(),
        Err(_) if url.starts_with('/') => url.to_string(),
        Err(_) => String::new(),
    };
    path.trim_end_matches('/').to_string()
}

fn example_of(param: &Value) -> Option<Value> {
    param
        .get("example")
        .or_else(|| param.pointer("/schema/example"))
        .or_else(|| param.pointer("/schema/default"))
        .cloned()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A JSON object as a TOML table (nulls are dropped: TOML has none).
fn to_toml_table(v: &Value) -> toml::Table {
    match to_toml(v) {
        Some(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    }
}

fn to_toml(v: &Value) -> Option<toml::Value> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(b) => toml::Value::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64()?),
        },
        Value::String(s) => toml::Value::String(s.clone()),
        Value::Array(a) => toml::Value::Array(a.iter().filter_map(to_toml).collect()),
        Value::Object(o) => toml::Value::Table(
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), to_toml(v)?)))
                .collect(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"
openapi: 3.0.3
info: { title: demo, version: "1" }
servers: [{ url: "https://api.example.test/v1" }]
security: [{ bearer: [] }]
paths:
  /orgs/{org_id}/members:
    parameters:
      - { name: org_id, in: path, required: true, example: "o-1" }
    get:
      operationId: listMembers
      parameters:
        - { name: page, in: query, schema: { type: integer, default: 1 } }
    post:
      requestBody:
        content:
          application/json:
            example: { email: "a@b.test", org_id: "o-1" }
  /health:
    get:
      security: []
  /invites/{id}:
    get:
      security: [{}, { bearer: [] }]
"#;

    #[test]
    fn yaml_operations_become_endpoints_with_security_deciding_auth() {
        let doc = parse_document(SPEC).unwrap();
        let eps = import(&doc, std::path::Path::new(".")).unwrap();
        assert_eq!(eps.len(), 4);
        let list = eps.iter().find(|e| e.name == "listMembers").unwrap();
        assert_eq!(list.path, "/v1/orgs/{org_id}/members");
        assert_eq!(list.auth, AuthRequirement::Required);
        assert_eq!(list.params["org_id"], "o-1");
        assert_eq!(list.query.render()["page"], 1);
        let post = eps.iter().find(|e| e.method == http::Method::POST).unwrap();
        assert_eq!(post.name, "POST /v1/orgs/{org_id}/members");
        assert!(post.writes);
        assert_eq!(post.body.as_ref().unwrap().render()["org_id"], "o-1");
        let health = eps.iter().find(|e| e.path == "/v1/health").unwrap();
        assert_eq!(health.auth, AuthRequirement::Public);
        let invite = eps.iter().find(|e| e.path == "/v1/invites/{id}").unwrap();
        assert_eq!(invite.auth, AuthRequirement::Public);
    }

    #[test]
    fn json_documents_parse_and_non_openapi_is_rejected() {
        let json = r#"{"openapi":"3.1.0","paths":{"/a":{"get":{}}}}"#;
        let doc = parse_document(json).unwrap();
        let eps = import(&doc, std::path::Path::new(".")).unwrap();
        assert_eq!(eps[0].name, "GET /a");
        assert_eq!(eps[0].auth, AuthRequirement::Public);
        assert!(parse_document("{\"a\":1}").is_err());
    }
}
