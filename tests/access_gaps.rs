//! Access checks against servers started here, for what the demo cannot
//! show on its own: account enumeration sends a form endpoint's body as a
//! form (a form-only login is judged, both ways), and an OpenAPI document
//! with `$ref`s imports, while a broken ref is a located profile error.

mod support;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use support::{audit_json, run, serve, stderr, write_profile};

/// A form-only login at `/login`; `tells` makes it say "no such user" for
/// unknown accounts. Records the content types it received.
fn form_login(tells: bool, seen: Arc<Mutex<Vec<String>>>) -> axum::Router {
    axum::Router::new().route(
        "/login",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let seen = seen.clone();
            async move {
                let ct = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                seen.lock().unwrap().push(ct.clone());
                if ct != "application/x-www-form-urlencoded" {
                    return (
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "send a form".to_string(),
                    );
                }
                let fields: Vec<(String, String)> =
                    url::form_urlencoded::parse(&body).into_owned().collect();
                let email = fields
                    .iter()
                    .find(|(k, _)| k == "email")
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("");
                let message = if tells && email != "known@corp.test" {
                    "no such user"
                } else {
                    "invalid email or password"
                };
                (StatusCode::UNAUTHORIZED, message.to_string())
            }
        }),
    )
}

fn profile(port: u16, endpoint_body: &str) -> String {
    format!(
        r#"[target]
name = "forms"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "2s"
max_rps = 1000

[checks.auth]
timing_samples = 2

[[endpoint]]
name = "login"
method = "POST"
path = "/login"
auth = "public"
kind = "login"
{endpoint_body}
"#
    )
}

fn auth_row(port: u16, body: &str) -> serde_json::Value {
    let (_dir, path) = write_profile(&profile(port, body));
    let (o, card) = audit_json(&path, &["--only", "auth"]);
    card["checks"][0]["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["subject"] == "login")
        .cloned()
        .unwrap_or_else(|| panic!("no login row: {}", stderr(&o)))
}

const FORM: &str = r#"form = { email = "known@corp.test", password = "x" }"#;

#[test]
fn enumeration_sends_a_form_endpoint_its_body_as_a_form() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = serve(form_login(true, seen.clone()));
    let row = auth_row(port, FORM);
    assert_eq!(row["verdict"], "fail", "{row}");
    assert_eq!(row["findings"][0]["code"], "auth.account-enumeration");
    assert!(
        row["findings"][0]["evidence"]
            .as_str()
            .unwrap()
            .contains("no such user")
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter()
            .all(|ct| ct == "application/x-www-form-urlencoded")
    );
}

#[test]
fn a_form_login_with_one_answer_passes() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = serve(form_login(false, seen));
    let row = auth_row(port, FORM);
    assert_eq!(row["verdict"], "pass", "{row}");
}

#[test]
fn a_json_body_is_still_sent_as_json() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let port = serve(form_login(true, seen.clone()));
    // Declared as JSON: the form-only server refuses both cases alike, so
    // there is nothing to tell apart (and nothing is reported).
    let row = auth_row(
        port,
        r#"body = { email = "known@corp.test", password = "x" }"#,
    );
    assert_eq!(row["verdict"], "pass", "{row}");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .all(|ct| ct == "application/json")
    );
}

#[test]
fn body_and_form_together_are_a_profile_error() {
    let text = profile(
        1,
        r#"body = { email = "a@b.test" }
form = { email = "a@b.test" }"#,
    );
    let (_dir, path) = write_profile(&text);
    let o = run(&["validate", "--profile", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not both"), "{}", stderr(&o));
}

/// A spec where parameters, the request body and the security scheme are refs.
const SPEC_WITH_REFS: &str = r##"
openapi: 3.0.3
info: { title: notes, version: "1" }
security: [{ bearer: [] }]
paths:
  /orgs/{org_id}/notes:
    parameters:
      - $ref: "#/components/parameters/OrgId"
    get:
      operationId: listNotes
    post:
      operationId: addNote
      requestBody: { $ref: "#/components/requestBodies/Note" }
components:
  parameters:
    OrgId: { name: org_id, in: path, required: true, schema: { $ref: "#/components/schemas/Org" } }
  schemas:
    Org: { type: string, example: "org-acme" }
    Note:
      type: object
      properties:
        org_id: { $ref: "#/components/schemas/Org" }
        text: { type: string, example: "hello" }
  requestBodies:
    Note:
      content:
        application/json:
          schema: { $ref: "#/components/schemas/Note" }
  securitySchemes:
    bearer: { $ref: "#/components/securitySchemes/jwt" }
    jwt: { type: http, scheme: bearer }
"##;

/// Notes of `org-acme` for its token; the request body's org for POST (flawed).
fn notes_api() -> axum::Router {
    let auth = |h: &HeaderMap| {
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer tok-acme-1234")
    };
    let note = |org: &str| {
        axum::Json(serde_json::json!({"org_id": org, "notes": [format!("secret plan of {org}")]}))
    };
    axum::Router::new().route(
        "/orgs/{org}/notes",
        axum::routing::get(
            move |axum::extract::Path(org): axum::extract::Path<String>, h: HeaderMap| async move {
                if !auth(&h) {
                    return StatusCode::UNAUTHORIZED.into_response();
                }
                if org != "org-acme" {
                    return StatusCode::FORBIDDEN.into_response();
                }
                note(&org).into_response()
            },
        ),
    )
}

#[test]
fn an_openapi_spec_with_refs_is_imported_and_audited() {
    let port = serve(notes_api());
    let text = format!(
        r#"openapi = "openapi.yaml"

[target]
name = "notes"
base_url = "http://127.0.0.1:{port}/"
scope = ["127.0.0.1:{port}"]
timeout = "2s"
max_rps = 1000

[[identity]]
name = "acme"
tenant = "acme"
token = "tok-acme-1234"
params = {{ org_id = "org-acme" }}
"#
    );
    let (dir, path) = write_profile(&text);
    std::fs::write(dir.path().join("openapi.yaml"), SPEC_WITH_REFS).unwrap();
    let o = run(&[
        "audit",
        "--profile",
        path.to_str().unwrap(),
        "--only",
        "auth",
        "--dry-run",
    ]);
    let plan = support::stdout(&o);
    // Both operations were imported (the import listing shows them); the
    // POST is a write, left out of the auth plan without the opt-ins.
    let (listing, checks) = plan.split_once("auth (access)").unwrap_or(("", &plan));
    assert!(
        listing.contains("addNote") && listing.contains("[WRITES]"),
        "{plan}"
    );
    assert!(checks.contains("listNotes"), "{plan}\n{}", stderr(&o));
    assert!(!checks.contains("addNote"), "{plan}");
    let (_o, card) = audit_json(&path, &["--only", "auth"]);
    let rows = card["checks"][0]["subjects"].as_array().unwrap();
    let list = rows.iter().find(|r| r["subject"] == "listNotes").unwrap();
    // The path param came through two refs; the authorised request worked.
    assert_eq!(list["verdict"], "pass", "{list}");
    let add = rows.iter().find(|r| r["subject"] == "addNote").unwrap();
    assert_eq!(add["verdict"], "skip", "{add}");
}

#[test]
fn a_broken_ref_is_a_located_profile_error() {
    let text = r#"openapi = "openapi.json"

[target]
name = "notes"
base_url = "http://127.0.0.1:9/"
scope = ["127.0.0.1:9"]
"#;
    let (dir, path) = write_profile(text);
    let spec = r##"{"openapi": "3.1.0", "paths": {"/a/{id}": {"get": {"parameters": [
        {"$ref": "#/components/parameters/Missing"}]}}}}"##;
    std::fs::write(dir.path().join("openapi.json"), spec).unwrap();
    let o = run(&["validate", "--profile", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("readiness.toml:1:"), "{err}");
    assert!(err.contains("openapi.json"), "{err}");
    assert!(err.contains("#/components/parameters/Missing"), "{err}");
    assert!(err.contains("#/paths/~1a~1{id}/get/parameters/0"), "{err}");
}
