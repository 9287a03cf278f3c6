//! The mutation catalogue: what one field, path segment or query value is
//! replaced with, and whether its kind makes that value invalid (so a 2xx
//! answer to it is a failure). Hostile values that a kind may legitimately
//! accept (emoji in a name) are only judged by 5xx, error text and echo.

use serde_json::{Value, json};

/// The kind of a body field, from the endpoint's `fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Email,
    Slug,
    Name,
    Url,
    Text,
    Number,
    /// No kind given: only crashes, error text and echoes are judged.
    Unknown,
}

impl FieldKind {
    pub fn parse(text: &str) -> FieldKind {
        match text.to_ascii_lowercase().as_str() {
            "email" => FieldKind::Email,
            "slug" => FieldKind::Slug,
            "name" => FieldKind::Name,
            "url" => FieldKind::Url,
            "text" | "free_text" | "free text" => FieldKind::Text,
            "number" | "integer" => FieldKind::Number,
            _ => FieldKind::Unknown,
        }
    }

    /// Kinds whose values have a strict syntax: anything off-syntax is invalid.
    fn strict(self) -> bool {
        matches!(
            self,
            FieldKind::Email | FieldKind::Slug | FieldKind::Url | FieldKind::Number
        )
    }
}

/// What the field becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Replacement {
    /// The field is left out.
    Missing,
    Json(Value),
    /// JSON text placed as-is (for what serde cannot build: lone surrogates).
    Raw(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub name: String,
    pub value: Replacement,
    /// A 2xx answer to this value is a failure for the field's kind.
    pub invalid: bool,
    /// Carries the unique HTML marker (judged by unescaped echo).
    pub marker: bool,
}

fn m(name: &str, value: Replacement, invalid: bool) -> Mutation {
    Mutation {
        name: name.to_string(),
        value,
        invalid,
        marker: false,
    }
}

fn s(text: impl Into<String>) -> Replacement {
    Replacement::Json(Value::String(text.into()))
}

/// The HTML marker: unique per run, harmless, and easy to find unescaped.
pub fn marker(seed: u64) -> String {
    format!("<rdns{seed:x}>x</rdns{seed:x}>")
}

/// Every mutation of one body field of `kind`.
pub fn for_field(kind: FieldKind, marker_text: &str) -> Vec<Mutation> {
    use FieldKind::*;
    let strict = kind.strict();
    let not_text = kind != Text && kind != Unknown;
    let declared = kind != Unknown;
    let wrong_type = match kind {
        Number => s("twelve"),
        _ => Replacement::Json(json!(12345)),
    };
    let mut out = vec![
        m("missing", Replacement::Missing, declared),
        m("empty string", s(""), not_text),
        m("null", Replacement::Json(Value::Null), declared),
        m("wrong JSON type", wrong_type, declared),
        m(
            "array instead of a value",
            Replacement::Json(json!(["a"])),
            declared,
        ),
        m(
            "object instead of a value",
            Replacement::Json(json!({"a": 1})),
            declared,
        ),
        m("overlong 1 KiB", s("a".repeat(1024)), strict),
        m("overlong 64 KiB", s("a".repeat(64 * 1024)), not_text),
        m("overlong 1 MiB", s("a".repeat(1024 * 1024)), declared),
        m("null byte", s("audit\u{0}bot"), not_text),
        m(
            "control characters",
            s("audit\u{7}\u{1b}[31mbot\r\n"),
            not_text,
        ),
        m("right-to-left override", s("audit\u{202e}gnp.exe"), strict),
        m("zero-width space", s("au\u{200b}dit"), strict),
        m(
            "combining marks",
            s(format!("e{}", "\u{301}".repeat(64))),
            strict,
        ),
        m("unnormalised form (A + ring)", s("A\u{30a}udit"), strict),
        m("emoji", s("audit 🙂🚀"), strict),
        m(
            "lone surrogate escape",
            Replacement::Raw("\"audit\\ud800bot\"".into()),
            not_text,
        ),
        m("SQL metacharacters", s("audit' OR '1'='1' -- \""), strict),
        m(
            "template metacharacters",
            s("{{7*7}}${7*7}<%= 7*7 %>#{7*7}"),
            strict,
        ),
    ];
    out.push(Mutation {
        name: "HTML/script marker".into(),
        value: s(marker_text.to_string()),
        invalid: strict,
        marker: true,
    });
    match kind {
        Email => {
            for (name, v) in [
                ("email without @", "audit.example.test"),
                ("email without local part", "@example.test"),
                ("email without domain", "audit@"),
                ("email with two @", "a@b@example.test"),
                ("email with a space", "au dit@example.test"),
                ("email with a trailing dot domain", "audit@example..test"),
            ] {
                out.push(m(name, s(v), true));
            }
        }
        Slug => {
            for (name, v) in [
                ("slug with traversal", "../../etc/passwd"),
                ("slug with spaces", "audit org"),
                ("slug with a slash", "audit/org"),
                ("slug with a percent escape", "audit%2forg"),
            ] {
                out.push(m(name, s(v), true));
            }
        }
        Url => {
            for (name, v) in [
                ("javascript: URL", "javascript:alert(1)"),
                ("not a URL", "not a url"),
                ("URL without host", "http://"),
            ] {
                out.push(m(name, s(v), true));
            }
        }
        Number => {
            out.push(m("negative number", Replacement::Json(json!(-1)), false));
            out.push(m("number overflow", Replacement::Raw("1e400".into()), true));
            out.push(m(
                "huge integer",
                Replacement::Raw("123456789012345678901234567890".into()),
                true,
            ));
        }
        Name | Text | Unknown => {}
    }
    out
}

/// Cases that test JSON's types (null, numbers, arrays, objects): a form
/// body has only text, so they do not apply to it.
const JSON_TYPE_CASES: &[&str] = &[
    "null",
    "wrong JSON type",
    "array instead of a value",
    "object instead of a value",
];

/// Every mutation of one form-encoded (`application/x-www-form-urlencoded`)
/// field of `kind`: the JSON type cases are left out, numbers are sent as
/// text, and the lone surrogate becomes bytes that are not UTF-8 at all.
pub fn for_form_field(kind: FieldKind, marker_text: &str) -> Vec<Mutation> {
    for_field(kind, marker_text)
        .into_iter()
        .filter(|m| !JSON_TYPE_CASES.contains(&m.name.as_str()))
        .map(|mut m| {
            m.value = match m.value {
                Replacement::Raw(_) if m.name == "lone surrogate escape" => {
                    m.name = "invalid UTF-8 bytes".into();
                    Replacement::Raw("audit%ED%A0%80bot".into())
                }
                Replacement::Raw(text) => s(text),
                Replacement::Json(Value::Number(n)) => s(n.to_string()),
                other => other,
            };
            m
        })
        .collect()
}

/// Renders a form body with `field` replaced (or removed); a `Raw` value is
/// placed as given, already percent-encoded.
pub fn form_body_with(
    base: &serde_json::Map<String, Value>,
    field: &str,
    r: &Replacement,
) -> String {
    const RAW: &str = "readinessrawformvalue";
    let mut map = base.clone();
    match r {
        Replacement::Missing => {
            map.remove(field);
        }
        Replacement::Json(v) => {
            map.insert(field.to_string(), v.clone());
        }
        Replacement::Raw(_) => {
            map.insert(field.to_string(), Value::String(RAW.to_string()));
        }
    }
    let text = crate::checks::access::sessions::form_encode(&Value::Object(map));
    match r {
        Replacement::Raw(raw) => text.replacen(RAW, raw, 1),
        _ => text,
    }
}

/// Mutations of a path segment or query value (judged by 5xx, error text
/// and echo only: what a lookup may accept is not known).
pub fn for_path_or_query(marker_text: &str) -> Vec<Mutation> {
    let mut out = vec![
        m("single quote", s("audit'"), false),
        m("double quote", s("audit\""), false),
        m("traversal", s("../../../etc/passwd"), false),
        m("overlong 8 KiB", s("a".repeat(8 * 1024)), false),
        m("null byte", s("audit\u{0}"), false),
    ];
    out.push(Mutation {
        name: "HTML/script marker".into(),
        value: s(marker_text.to_string()),
        invalid: false,
        marker: true,
    });
    out
}

/// Privileged fields a user must not set, with the value sent.
pub fn privileged(other_tenant: &str) -> Vec<(&'static str, Value)> {
    vec![
        ("role", json!("owner")),
        ("admin", json!(true)),
        ("is_admin", json!(true)),
        ("is_staff", json!(true)),
        ("email_verified", json!(true)),
        ("org_id", json!(other_tenant)),
        ("plan", json!("enterprise")),
        ("credits", json!(999_999)),
    ]
}

/// Renders a JSON object body with `field` replaced (or removed).
pub fn body_with(base: &serde_json::Map<String, Value>, field: &str, r: &Replacement) -> String {
    const RAW: &str = "\u{1}readiness-raw\u{1}";
    let mut map = base.clone();
    match r {
        Replacement::Missing => {
            map.remove(field);
        }
        Replacement::Json(v) => {
            map.insert(field.to_string(), v.clone());
        }
        Replacement::Raw(_) => {
            map.insert(field.to_string(), Value::String(RAW.to_string()));
        }
    }
    let text = Value::Object(map).to_string();
    match r {
        Replacement::Raw(raw) => {
            let placeholder = Value::String(RAW.to_string()).to_string();
            text.replacen(&placeholder, raw, 1)
        }
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_kinds_treat_more_values_as_invalid() {
        let email = for_field(FieldKind::Email, "<m>");
        let name = for_field(FieldKind::Name, "<m>");
        let emoji = |list: &[Mutation]| list.iter().find(|m| m.name == "emoji").unwrap().invalid;
        assert!(emoji(&email));
        assert!(!emoji(&name), "emoji in a name is legitimate");
        let mib = |list: &[Mutation]| {
            list.iter()
                .find(|m| m.name == "overlong 1 MiB")
                .unwrap()
                .invalid
        };
        assert!(mib(&name));
        assert!(!mib(&for_field(FieldKind::Unknown, "<m>")));
        assert!(email.iter().any(|m| m.name == "email with two @"));
    }

    #[test]
    fn form_fields_get_text_cases_only() {
        let form = for_form_field(FieldKind::Number, "<m>");
        let names: Vec<&str> = form.iter().map(|m| m.name.as_str()).collect();
        for json_only in JSON_TYPE_CASES {
            assert!(!names.contains(json_only), "{json_only} in {names:?}");
        }
        assert!(names.contains(&"missing") && names.contains(&"empty string"));
        assert!(names.contains(&"overlong 1 KiB") && names.contains(&"invalid UTF-8 bytes"));
        assert!(
            form.iter()
                .all(|m| !matches!(&m.value, Replacement::Json(v) if !v.is_string())),
            "form values are text"
        );
        let json = for_field(FieldKind::Number, "<m>");
        assert_eq!(json.len(), form.len() + JSON_TYPE_CASES.len());
    }

    #[test]
    fn form_bodies_are_encoded_with_the_field_replaced() {
        let base: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"email":"a@b.test","name":"A B"}"#).unwrap();
        let text = form_body_with(&base, "name", &s("x&y=z"));
        assert!(text.contains("email=a%40b.test"), "{text}");
        assert!(text.contains("name=x%26y%3Dz"), "{text}");
        let raw = form_body_with(&base, "name", &Replacement::Raw("a%ED%A0%80".into()));
        assert!(raw.contains("name=a%ED%A0%80"), "{raw}");
        let gone = form_body_with(&base, "name", &Replacement::Missing);
        assert_eq!(gone, "email=a%40b.test");
    }

    #[test]
    fn raw_values_are_placed_verbatim() {
        let base: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"name":"a","email":"b"}"#).unwrap();
        let text = body_with(&base, "name", &Replacement::Raw("\"x\\ud800\"".into()));
        assert!(text.contains(r#""name":"x\ud800""#), "{text}");
        let gone = body_with(&base, "name", &Replacement::Missing);
        assert!(!gone.contains("name"));
    }
}
