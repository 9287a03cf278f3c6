//! `openapi = "path"`: importing an OpenAPI 3 document (JSON or YAML) so a
//! team with a spec does not list its endpoints by hand.
//!
//! Every operation becomes an `[[endpoint]]`: its name is the `operationId`
//! (or `METHOD /path`), its security requirements decide `auth` (an
//! operation's own `security` wins over the document's; an empty list or an
//! empty requirement `{}` means public; with neither, the security is
//! unknown: probed as public and shown as unknown by `--dry-run`), examples
//! fill path params, query and body (JSON, or a form for
//! `application/x-www-form-urlencoded`; built from the schema's property
//! examples when the body has none). An operation's `kind` (login, signup,
//! password_reset, logout, current_user) is inferred from its path and
//! operationId. Local `$ref`s are followed with a bounded number of hops; an
//! external, broken or cyclic one is a profile error naming the ref, where it
//! is and what to do. `openapi_exclude` drops operations (`"GET /createdb"`
//! or an operationId); `[[endpoint]]` entries of the profile override
//! imported ones with the same name or the same method and path.

use std::collections::BTreeMap;

use serde_json::Value;
use toml::Spanned;

use super::access::{AuthRequirement, Endpoint, Imported, SpecSecurity, Template};
use super::{ProfileError, Validator};

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch", "head", "options"];

/// What the import gave, for `--dry-run`.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    /// The document, as the profile names it.
    pub file: String,
    /// Operations in the document.
    pub operations: usize,
    /// Operations dropped by `openapi_exclude` (`METHOD /path (name)`).
    pub excluded: Vec<String>,
    /// Imported operations replaced by a profile entry (their names).
    pub overridden: Vec<String>,
}

impl Validator<'_> {
    /// Adds the operations of the profile's OpenAPI document to `endpoints`,
    /// minus the excluded ones; returns what the import gave.
    pub(super) fn import_openapi(
        &self,
        path: &Option<Spanned<String>>,
        exclude: &Option<Vec<Spanned<String>>>,
        endpoints: Vec<Endpoint>,
    ) -> Result<(Vec<Endpoint>, Option<ImportSummary>), ProfileError> {
        let exclude = exclude.as_deref().unwrap_or_default();
        let Some(path) = path else {
            if let Some(first) = exclude.first() {
                return Err(self.err(
                    first.span(),
                    "openapi_exclude",
                    "there is no `openapi = ...` document to exclude operations from",
                ));
            }
            return Ok((endpoints, None));
        };
        let file = self.dir.join(path.get_ref());
        let text = std::fs::read_to_string(&file).map_err(|e| {
            self.err(
                path.span(),
                "openapi",
                format!("cannot read `{}`: {e}", file.display()),
            )
        })?;
        let located =
            |e: String| self.err(path.span(), "openapi", format!("{}: {e}", path.get_ref()));
        let doc = parse_document(&text).map_err(located)?;
        let imported = import(&doc, self.dir).map_err(located)?;
        let mut summary = ImportSummary {
            file: path.get_ref().clone(),
            operations: imported.len(),
            ..ImportSummary::default()
        };
        let mut kept = Vec::new();
        let mut used = vec![false; exclude.len()];
        for e in imported {
            let hit = exclude.iter().position(|x| excludes(x.get_ref(), &e, &doc));
            match hit {
                Some(i) => {
                    used[i] = true;
                    summary
                        .excluded
                        .push(format!("{} {} ({})", e.method, e.path, e.name));
                }
                None => kept.push(e),
            }
        }
        if let Some(i) = used.iter().position(|u| !u) {
            return Err(self.err(
                exclude[i].span(),
                "openapi_exclude",
                format!(
                    "`{}` matches no operation of {}: write \"METHOD /path\" as in the \
                     document (e.g. \"GET /createdb\") or an operationId",
                    exclude[i].get_ref(),
                    path.get_ref()
                ),
            ));
        }
        let (endpoints, overridden) = merge_reporting(endpoints, kept);
        summary.overridden = overridden;
        Ok((endpoints, Some(summary)))
    }
}

/// Whether an `openapi_exclude` entry names this operation: its operationId
/// (its name), or `METHOD /path` with the path as in the document or with
/// the server's path prefix.
fn excludes(entry: &str, e: &Endpoint, doc: &Value) -> bool {
    let entry = entry.trim();
    if entry == e.name {
        return true;
    }
    let Some((method, path)) = entry.split_once(char::is_whitespace) else {
        return false;
    };
    if !method.eq_ignore_ascii_case(e.method.as_str()) {
        return false;
    }
    let path = path.trim();
    let prefix = server_path(doc);
    path == e.path || format!("{prefix}{path}") == e.path
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
    merge_reporting(profile, imported).0
}

/// [`merge`], also naming the imported operations a profile entry replaced.
fn merge_reporting(
    profile: Vec<Endpoint>,
    imported: Vec<Endpoint>,
) -> (Vec<Endpoint>, Vec<String>) {
    let mut out = profile;
    let mut overridden = Vec::new();
    for e in imported {
        let same = |p: &&Endpoint| p.name == e.name || (p.method == e.method && p.path == e.path);
        match out.iter().find(same) {
            Some(p) if p.imported.is_none() => overridden.push(e.name),
            Some(_) => {}
            None => out.push(e),
        }
    }
    (out, overridden)
}

/// Longest chain of `$ref`s followed before giving up.
const MAX_REF_HOPS: usize = 16;
/// Deepest schema nesting walked when building a body example from a schema.
const MAX_SCHEMA_DEPTH: usize = 8;

/// Escapes a key for a JSON pointer (RFC 6901: `~` as `~0`, `/` as `~1`).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Follows the local `$ref`s of one document.
struct Refs<'a> {
    root: &'a Value,
}

impl<'a> Refs<'a> {
    /// `value` itself, or what its chain of `$ref`s points to. `at` is the
    /// JSON pointer of `value` in the document, for errors.
    fn deref(&self, value: &'a Value, at: &str) -> Result<&'a Value, String> {
        let mut current = value;
        let mut seen: Vec<&str> = Vec::new();
        while let Some(reference) = current.get("$ref") {
            let Some(text) = reference.as_str() else {
                return Err(format!("`$ref` at `{at}` is not a string"));
            };
            let Some(fragment) = text.strip_prefix('#') else {
                return Err(format!(
                    "`$ref: {text}` at `{at}` points outside the document; only local refs \
                     (`#/components/...`) are followed: bundle the spec into one file first \
                     (e.g. `redocly bundle` or `swagger-cli bundle`)"
                ));
            };
            if seen.contains(&text) || seen.len() >= MAX_REF_HOPS {
                seen.push(text);
                return Err(format!(
                    "`$ref`s at `{at}` go round in a cycle ({}): point one of them at a real \
                     definition",
                    seen.join(" -> ")
                ));
            }
            seen.push(text);
            // A `$ref` is a URI reference: its fragment may carry %XX escapes.
            let pointer =
                String::from_utf8_lossy(&crate::util::percent_decode(fragment.as_bytes()))
                    .into_owned();
            current = self.root.pointer(&pointer).ok_or_else(|| {
                format!(
                    "`$ref: {text}` at `{at}` points to nothing in the document: define \
                     `{pointer}` or fix the ref"
                )
            })?;
        }
        Ok(current)
    }

    /// An example value for a parameter or media type: `example`, the first
    /// of `examples`, or one from its schema.
    fn example(&self, holder: &'a Value, at: &str) -> Result<Option<Value>, String> {
        if let Some(v) = holder.get("example") {
            return Ok(Some(v.clone()));
        }
        if let Some((name, first)) = holder
            .get("examples")
            .and_then(Value::as_object)
            .and_then(|m| m.iter().next())
        {
            let ex_at = format!("{at}/examples/{}", escape(name));
            let ex = self.deref(first, &ex_at)?;
            if let Some(v) = ex.get("value") {
                return Ok(Some(v.clone()));
            }
        }
        match holder.get("schema") {
            Some(schema) => self.schema_example(schema, &format!("{at}/schema"), &mut Vec::new()),
            None => Ok(None),
        }
    }

    /// An example built from a schema: its `example` or `default`, else an
    /// object of its properties' examples (through `allOf` too). A schema met
    /// again inside itself is left out and the depth is bounded, so recursive
    /// schemas end.
    fn schema_example(
        &self,
        schema: &'a Value,
        at: &str,
        stack: &mut Vec<&'a str>,
    ) -> Result<Option<Value>, String> {
        let reference = schema.get("$ref").and_then(Value::as_str);
        if stack.len() > MAX_SCHEMA_DEPTH || reference.is_some_and(|r| stack.contains(&r)) {
            return Ok(None);
        }
        let schema = self.deref(schema, at)?;
        stack.push(reference.unwrap_or(""));
        let example = self.build_example(schema, at, stack);
        stack.pop();
        example
    }

    fn build_example(
        &self,
        schema: &'a Value,
        at: &str,
        stack: &mut Vec<&'a str>,
    ) -> Result<Option<Value>, String> {
        if let Some(v) = schema.get("example").or_else(|| schema.get("default")) {
            return Ok(Some(v.clone()));
        }
        let mut object = serde_json::Map::new();
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for (i, part) in parts.iter().enumerate() {
                let part_at = format!("{at}/allOf/{i}");
                if let Some(Value::Object(m)) = self.schema_example(part, &part_at, stack)? {
                    object.extend(m);
                }
            }
        }
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                let prop_at = format!("{at}/properties/{}", escape(name));
                if let Some(v) = self.schema_example(prop, &prop_at, stack)? {
                    object.insert(name.clone(), v);
                }
            }
        }
        Ok((!object.is_empty()).then_some(Value::Object(object)))
    }
}

/// Every operation of the document as an endpoint. Local `$ref`s are
/// followed (path items, parameters, request bodies, schemas, examples,
/// security schemes); an external, broken or cyclic one is an error naming
/// the ref and where it is.
pub fn import(doc: &Value, dir: &std::path::Path) -> Result<Vec<Endpoint>, String> {
    let refs = Refs { root: doc };
    let prefix = server_path(doc);
    let global_security = doc.get("security");
    let mut out = Vec::new();
    check_security_schemes(&refs)?;
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (path, item) in paths {
        if !path.starts_with('/') {
            return Err(format!("path `{path}` must start with `/`"));
        }
        let item_at = format!("#/paths/{}", escape(path));
        let item = refs.deref(item, &item_at)?;
        let shared_params = item.get("parameters");
        for method in METHODS {
            let Some(op) = item.get(*method) else {
                continue;
            };
            let op_at = format!("{item_at}/{method}");
            let full_path = format!("{prefix}{path}");
            let http_method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
                .map_err(|_| format!("bad method `{method}`"))?;
            let name = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{} {full_path}", http_method));
            let security = op.get("security").or(global_security);
            let spec_security = match security {
                None => SpecSecurity::Unknown,
                Some(_) if requires_auth(security) => SpecSecurity::Required,
                Some(_) => SpecSecurity::Public,
            };
            let auth = if spec_security == SpecSecurity::Required {
                AuthRequirement::Required
            } else {
                AuthRequirement::Public
            };
            let operation_id = op.get("operationId").and_then(Value::as_str).unwrap_or("");
            let kind = infer_kind(&http_method, &full_path, operation_id);
            let mut params = BTreeMap::new();
            let mut query = serde_json::Map::new();
            let lists = [
                (shared_params, format!("{item_at}/parameters")),
                (op.get("parameters"), format!("{op_at}/parameters")),
            ];
            for (list, list_at) in &lists {
                let Some(list) = list.and_then(Value::as_array) else {
                    continue;
                };
                for (i, p) in list.iter().enumerate() {
                    let p_at = format!("{list_at}/{i}");
                    let p = refs.deref(p, &p_at)?;
                    let (Some(pname), Some(place)) = (
                        p.get("name").and_then(Value::as_str),
                        p.get("in").and_then(Value::as_str),
                    ) else {
                        continue;
                    };
                    match (place, refs.example(p, &p_at)?) {
                        ("path", Some(v)) => {
                            params.insert(pname.to_string(), scalar(&v));
                        }
                        ("query", Some(v)) => {
                            query.insert(pname.to_string(), v);
                        }
                        _ => {}
                    }
                }
            }
            let (body, form) = match op.get("requestBody") {
                Some(rb) => request_body(&refs, rb, &format!("{op_at}/requestBody"))?,
                None => (None, false),
            };
            let to_template = |v: &Value| -> Result<Template, String> {
                Template::from_toml(&to_toml_table(v), dir)
            };
            // As for profile entries: a login is not counted as a write.
            let writes = matches!(
                http_method,
                http::Method::POST | http::Method::PUT | http::Method::PATCH | http::Method::DELETE
            ) && kind != Some("login");
            out.push(Endpoint {
                name,
                method: http_method,
                path: full_path,
                query: to_template(&Value::Object(query))?,
                body: body.as_ref().map(to_template).transpose()?,
                form,
                auth,
                owner: None,
                params,
                roles: Vec::new(),
                writes,
                // A signup is onboarding by definition: the input check probes it.
                onboarding: kind == Some("signup"),
                kind: kind.map(str::to_string),
                fields: BTreeMap::new(),
                imported: Some(Imported {
                    security: spec_security,
                    kind_inferred: kind.is_some(),
                }),
            });
        }
    }
    Ok(out)
}

/// An operation's `kind`, guessed from the words of its path and
/// operationId: logout, password_reset, login, signup (POST only for the
/// last three) and current_user (a GET of `.../me`, `whoami` or a "current
/// user" operation). `None` when nothing fits.
pub fn infer_kind(method: &http::Method, path: &str, operation_id: &str) -> Option<&'static str> {
    let words = words_of(path, operation_id);
    let has = |w: &str| words.iter().any(|x| x == w);
    let pair = |a: &str, b: &str| words.windows(2).any(|p| p[0] == a && p[1] == b);
    let post = *method == http::Method::POST;
    if has("logout") || has("signout") || pair("log", "out") || pair("sign", "out") {
        return Some("logout");
    }
    let about_password = has("password") || has("passwd") || has("pwd");
    let reset = has("reset") || has("forgot") || has("forgotten") || has("recover");
    if (post || *method == http::Method::PUT) && (has("forgot") || (about_password && reset)) {
        return Some("password_reset");
    }
    if post
        && (has("login")
            || has("signin")
            || has("authenticate")
            || pair("log", "in")
            || pair("sign", "in"))
    {
        return Some("login");
    }
    if post && (has("register") || has("registration") || has("signup") || pair("sign", "up")) {
        return Some("signup");
    }
    let last = path
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.starts_with('{'))
        .unwrap_or("")
        .to_ascii_lowercase();
    if *method == http::Method::GET
        && (last == "me" || last == "whoami" || pair("current", "user") || has("whoami"))
    {
        return Some("current_user");
    }
    None
}

/// Lowercase words of a path's literal segments and an operationId, split
/// at punctuation and camelCase humps (`loginUser` gives `login`, `user`).
fn words_of(path: &str, operation_id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let literal: Vec<&str> = path.split('/').filter(|s| !s.starts_with('{')).collect();
    for part in literal.into_iter().chain(std::iter::once(operation_id)) {
        let mut word = String::new();
        let mut prev_lower = false;
        for c in part.chars() {
            if !c.is_ascii_alphanumeric() {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                prev_lower = false;
                continue;
            }
            if c.is_ascii_uppercase() && prev_lower && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
            word.push(c.to_ascii_lowercase());
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// The example body of a request body object, and whether it is a form: a
/// JSON media type first, else `application/x-www-form-urlencoded`.
fn request_body(refs: &Refs<'_>, rb: &Value, at: &str) -> Result<(Option<Value>, bool), String> {
    let rb = refs.deref(rb, at)?;
    let Some(content) = rb.get("content").and_then(Value::as_object) else {
        return Ok((None, false));
    };
    let json = content
        .iter()
        .find(|(t, _)| *t == "application/json" || t.ends_with("+json"));
    let form = content
        .iter()
        .find(|(t, _)| *t == "application/x-www-form-urlencoded");
    let (is_form, (media_type, media)) = match (json, form) {
        (Some(j), _) => (false, j),
        (None, Some(f)) => (true, f),
        (None, None) => return Ok((None, false)),
    };
    let media_at = format!("{at}/content/{}", escape(media_type));
    let example = refs.example(media, &media_at)?.filter(Value::is_object);
    Ok((example, is_form))
}

/// Every security scheme must resolve: a broken `$ref` there is reported
/// even when no operation names the scheme.
fn check_security_schemes(refs: &Refs<'_>) -> Result<(), String> {
    if let Some(schemes) = refs
        .root
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object)
    {
        for (name, scheme) in schemes {
            let at = format!("#/components/securitySchemes/{}", escape(name));
            let scheme = refs.deref(scheme, &at)?;
            if scheme.get("type").and_then(Value::as_str).is_none() {
                return Err(format!(
                    "the security scheme at `{at}` has no `type` (apiKey, http, oauth2, \
                     openIdConnect or mutualTLS)"
                ));
            }
        }
    }
    Ok(())
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
    fn kinds_are_inferred_from_paths_and_operation_ids() {
        use http::Method as M;
        let k = |m: &M, p: &str, id: &str| infer_kind(m, p, id);
        assert_eq!(
            k(&M::POST, "/users/v1/login", "api_views.users.login_user"),
            Some("login")
        );
        assert_eq!(k(&M::POST, "/auth/sessions", "signIn"), Some("login"));
        assert_eq!(
            k(&M::POST, "/users/v1/register", "register_user"),
            Some("signup")
        );
        assert_eq!(k(&M::POST, "/accounts", "signUp"), Some("signup"));
        assert_eq!(k(&M::POST, "/password/forgot", ""), Some("password_reset"));
        assert_eq!(
            k(&M::POST, "/auth/reset-password", ""),
            Some("password_reset")
        );
        assert_eq!(k(&M::POST, "/auth/logout", ""), Some("logout"));
        assert_eq!(k(&M::GET, "/api/me", ""), Some("current_user"));
        assert_eq!(
            k(&M::GET, "/users/current", "getCurrentUser"),
            Some("current_user")
        );
        // Changing one's password is not a reset; a GET of a login page is no login.
        assert_eq!(
            k(&M::PUT, "/users/v1/{username}/password", "update_password"),
            None
        );
        assert_eq!(k(&M::GET, "/login", "loginPage"), None);
        assert_eq!(k(&M::GET, "/users/{login}", "getUser"), None);
        assert_eq!(k(&M::GET, "/books/v1/{book_title}", "get_by_title"), None);
    }

    #[test]
    fn security_is_unknown_when_the_document_declares_none() {
        let spec = r#"{"openapi":"3.0.0","paths":{
            "/users/v1/login":{"post":{"operationId":"login_user"}},
            "/open":{"get":{"security":[]}},
            "/createdb":{"get":{}}}}"#;
        let eps = import(&parse_document(spec).unwrap(), std::path::Path::new(".")).unwrap();
        let login = eps.iter().find(|e| e.name == "login_user").unwrap();
        let imported = login.imported.as_ref().unwrap();
        assert_eq!(imported.security, SpecSecurity::Unknown);
        assert!(imported.kind_inferred);
        assert_eq!(login.kind.as_deref(), Some("login"));
        assert!(!login.writes);
        assert_eq!(login.auth, AuthRequirement::Public);
        let open = eps.iter().find(|e| e.path == "/open").unwrap();
        assert_eq!(
            open.imported.as_ref().unwrap().security,
            SpecSecurity::Public
        );
        let doc = parse_document(spec).unwrap();
        let db = eps.iter().find(|e| e.path == "/createdb").unwrap();
        assert!(excludes("GET /createdb", db, &doc));
        assert!(excludes("get  /createdb", db, &doc));
        assert!(!excludes("POST /createdb", db, &doc));
        assert!(excludes("login_user", login, &doc));
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

    /// Parameters, request bodies, schemas, examples, path items and security
    /// schemes by `$ref`, with `~1` and `%7B` escapes in a pointer.
    const REF_SPEC: &str = r##"
openapi: 3.1.0
info: { title: refs, version: "1" }
security: [{ session: [] }]
paths:
  /orgs/{org_id}/reports:
    parameters:
      - $ref: "#/components/parameters/OrgId"
    post:
      operationId: createReport
      parameters:
        - $ref: "#/components/parameters/Page"
      requestBody:
        $ref: "#/components/requestBodies/Report"
  /login:
    post:
      operationId: login
      security: []
      requestBody:
        content:
          application/x-www-form-urlencoded:
            schema: { $ref: "#/components/schemas/Credentials" }
  /legacy:
    $ref: "#/paths/~1orgs~1%7Borg_id%7D~1reports"
  /admin:
    $ref: "#/components/pathItems/Admin"
components:
  parameters:
    OrgId:
      { name: org_id, in: path, required: true, schema: { $ref: "#/components/schemas/OrgId" } }
    Page: { name: page, in: query, examples: { first: { $ref: "#/components/examples/One" } } }
  examples:
    One: { value: 1 }
  schemas:
    OrgId: { type: string, example: "org-7" }
    Report:
      allOf:
        - { $ref: "#/components/schemas/Owned" }
        - type: object
          properties:
            title: { type: string, example: "Q3" }
            parent: { $ref: "#/components/schemas/Report" }
    Owned: { type: object, properties: { org_id: { $ref: "#/components/schemas/OrgId" } } }
    Credentials:
      type: object
      properties:
        email: { type: string, example: "a@b.test" }
        password: { type: string, example: "not-the-password" }
  requestBodies:
    Report:
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Report" }
  pathItems:
    Admin:
      get: { operationId: adminPanel }
  securitySchemes:
    session: { $ref: "#/components/securitySchemes/cookieAuth" }
    cookieAuth: { type: apiKey, in: cookie, name: sid }
"##;

    fn import_text(text: &str) -> Result<Vec<Endpoint>, String> {
        import(&parse_document(text)?, std::path::Path::new("."))
    }

    fn check_ref_spec(eps: &[Endpoint]) {
        let create = eps.iter().find(|e| e.name == "createReport").unwrap();
        assert_eq!(create.params["org_id"], "org-7");
        assert_eq!(create.query.render()["page"], 1);
        let body = create.body.as_ref().unwrap().render();
        assert_eq!(body["org_id"], "org-7");
        assert_eq!(body["title"], "Q3");
        // The recursive `parent` is left out rather than nested without end.
        assert!(body.get("parent").is_none(), "{body}");
        assert!(!create.form);
        assert_eq!(create.auth, AuthRequirement::Required);
        let login = eps.iter().find(|e| e.name == "login").unwrap();
        assert!(login.form);
        assert_eq!(login.auth, AuthRequirement::Public);
        assert_eq!(login.body.as_ref().unwrap().render()["email"], "a@b.test");
        // A path item by ref (escaped pointer) and one from components.pathItems.
        assert!(
            eps.iter()
                .any(|e| e.path == "/legacy" && e.params["org_id"] == "org-7")
        );
        assert!(
            eps.iter()
                .any(|e| e.name == "adminPanel" && e.path == "/admin")
        );
    }

    #[test]
    fn refs_are_followed_in_yaml_and_json() {
        check_ref_spec(&import_text(REF_SPEC).unwrap());
        let doc: Value = serde_norway::from_str(REF_SPEC).unwrap();
        let json = serde_json::to_string_pretty(&doc).unwrap();
        check_ref_spec(&import_text(&json).unwrap());
    }

    #[test]
    fn broken_external_and_cyclic_refs_are_errors_naming_the_ref() {
        let broken = REF_SPEC.replace(
            "$ref: \"#/components/parameters/Page\"",
            "$ref: \"#/components/parameters/Pgae\"",
        );
        let e = import_text(&broken).unwrap_err();
        assert!(e.contains("#/components/parameters/Pgae"), "{e}");
        assert!(
            e.contains("#/paths/~1orgs~1{org_id}~1reports/post/parameters/0"),
            "{e}"
        );
        assert!(e.contains("points to nothing"), "{e}");

        let external = REF_SPEC.replace(
            "$ref: \"#/components/requestBodies/Report\"",
            "$ref: \"bodies.yaml#/Report\"",
        );
        let e = import_text(&external).unwrap_err();
        assert!(
            e.contains("bodies.yaml#/Report") && e.contains("bundle"),
            "{e}"
        );

        let cyclic = REF_SPEC.replace(
            "cookieAuth: { type: apiKey, in: cookie, name: sid }",
            "cookieAuth: { $ref: \"#/components/securitySchemes/session\" }",
        );
        let e = import_text(&cyclic).unwrap_err();
        assert!(e.contains("cycle"), "{e}");

        let tilde = r##"{"openapi":"3.1.0","paths":{"/a":{"$ref":"#/x~0y"}},"x~y":{"get":{}}}"##;
        assert_eq!(import_text(tilde).unwrap()[0].name, "GET /a");
    }
}
