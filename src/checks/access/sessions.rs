//! Sessions: turning each `[[identity]]` into a credential to send.
//!
//! A static bearer token or cookie is used as given. A login request is sent
//! once per check through the check's scoped client, and the credential is
//! taken from the response by JSON pointer, header or cookie name. Every
//! credential learnt is registered with the redactor before anything else
//! can print it. A failed login becomes an `error` row naming the identity.

use std::collections::BTreeMap;

use crate::net::{CheckNet, HttpRequest, HttpResponse};
use crate::profile::Profile;
use crate::profile::access::{CredentialSource, Endpoint, Identity, Login, LoginBody, TokenFrom};
use crate::report::model::SubjectRow;

/// Where a credential travels on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Carrier {
    Bearer,
    Cookie(String),
}

/// A credential ready to send. Its `Debug` never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    pub carrier: Carrier,
    pub value: String,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credential({:?}, ***)", self.carrier)
    }
}

impl Credential {
    pub fn bearer(value: &str) -> Credential {
        Credential {
            carrier: Carrier::Bearer,
            value: value.to_string(),
        }
    }

    /// The same carrier with another value (a forged or corrupted token).
    pub fn with_value(&self, value: &str) -> Credential {
        Credential {
            carrier: self.carrier.clone(),
            value: value.to_string(),
        }
    }

    /// Adds the credential to a request.
    pub fn apply(&self, req: HttpRequest) -> HttpRequest {
        match &self.carrier {
            Carrier::Bearer => req.header("authorization", &format!("Bearer {}", self.value)),
            Carrier::Cookie(name) => req.header("cookie", &format!("{name}={}", self.value)),
        }
    }

    /// How it travels, for evidence (never the value).
    pub fn describe(&self) -> String {
        match &self.carrier {
            Carrier::Bearer => "Authorization: Bearer ***".to_string(),
            Carrier::Cookie(name) => format!("Cookie: {name}=***"),
        }
    }
}

/// Number of requests logging every identity in takes (for plans).
pub fn login_requests(profile: &Profile) -> u64 {
    profile
        .identities
        .iter()
        .filter(|i| matches!(i.credential, CredentialSource::Login(_)))
        .count() as u64
}

/// The subject of rows about an identity.
pub fn identity_subject(name: &str) -> String {
    format!("identity {name}")
}

/// Credentials of every identity that could log in, and an `error` row for
/// every identity that could not.
pub struct Sessions {
    pub credentials: BTreeMap<String, Credential>,
    pub failures: Vec<SubjectRow>,
}

impl Sessions {
    pub fn get(&self, identity: &str) -> Option<&Credential> {
        self.credentials.get(identity)
    }

    /// Why an identity has no credential, for rows that needed it.
    pub fn missing_reason(&self, identity: &str) -> String {
        format!("no credential for identity `{identity}`: its login failed (see its row)")
    }
}

/// Logs every identity in once, through the check's client.
pub async fn establish(net: &CheckNet, profile: &Profile) -> Sessions {
    let mut credentials = BTreeMap::new();
    let mut failures = Vec::new();
    for identity in &profile.identities {
        match credential_of(net, identity).await {
            Ok(Some(c)) => {
                credentials.insert(identity.name.clone(), c);
            }
            Ok(None) => {}
            Err(e) => failures.push(SubjectRow::error(
                identity_subject(&identity.name),
                format!("login of identity `{}` failed: {e}", identity.name),
            )),
        }
    }
    Sessions {
        credentials,
        failures,
    }
}

/// The credential of one identity; logs in when the profile says so.
pub async fn credential_of(
    net: &CheckNet,
    identity: &Identity,
) -> Result<Option<Credential>, String> {
    match &identity.credential {
        CredentialSource::Bearer(s) => {
            net.redactor().register(s.expose());
            Ok(Some(Credential::bearer(s.expose())))
        }
        CredentialSource::Cookie { name, value } => {
            net.redactor().register(value.expose());
            Ok(Some(Credential {
                carrier: Carrier::Cookie(name.clone()),
                value: value.expose().to_string(),
            }))
        }
        CredentialSource::Login(login) => {
            // One login per identity per audit, shared by every check.
            let cell = net.net().memo_cell(&format!("login:{}", identity.name));
            let shared = cell
                .get_or_init(|| async {
                    let outcome: Result<Credential, String> = log_in(net, login).await;
                    std::sync::Arc::new(outcome) as std::sync::Arc<dyn std::any::Any + Send + Sync>
                })
                .await;
            match shared.downcast_ref::<Result<Credential, String>>() {
                Some(outcome) => outcome.clone().map(Some),
                None => Err("the shared login result has an unexpected type".to_string()),
            }
        }
        CredentialSource::None => Ok(None),
    }
}

/// Sends a login request and extracts the credential.
pub async fn log_in(net: &CheckNet, login: &Login) -> Result<Credential, String> {
    let req = login_request(net, login);
    let res = net.send(req).await.map_err(|e| e.to_string())?;
    extract(net, login, &res)
}

/// The login request; password-like literal values are registered as secrets too.
pub fn login_request(net: &CheckNet, login: &Login) -> HttpRequest {
    let mut req = HttpRequest::get(login.url.clone());
    req.method = login.method.clone();
    match &login.body {
        Some(LoginBody::Json(t)) => {
            let body = t.render();
            register_password_fields(net, &body);
            req = req.header("content-type", "application/json");
            req.body = Some(body.to_string().into());
        }
        Some(LoginBody::Form(t)) => {
            let body = t.render();
            register_password_fields(net, &body);
            req = req.header("content-type", "application/x-www-form-urlencoded");
            req.body = Some(form_encode(&body).into());
        }
        None => {}
    }
    req
}

fn register_password_fields(net: &CheckNet, body: &serde_json::Value) {
    if let Some(map) = body.as_object() {
        for (k, v) in map {
            let key = k.to_ascii_lowercase();
            if ["pass", "secret", "token", "otp"]
                .iter()
                .any(|w| key.contains(w))
                && let Some(s) = v.as_str()
            {
                net.redactor().register(s);
            }
        }
    }
}

/// `application/x-www-form-urlencoded` of a flat JSON object.
pub fn form_encode(body: &serde_json::Value) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    if let Some(map) = body.as_object() {
        for (k, v) in map {
            let text = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            ser.append_pair(k, &text);
        }
    }
    ser.finish()
}

fn extract(net: &CheckNet, login: &Login, res: &HttpResponse) -> Result<Credential, String> {
    if !(200..300).contains(&res.status) {
        return Err(format!(
            "{} {} answered {} (check the identity's login settings and secrets)",
            login.method, login.url, res.status
        ));
    }
    let credential = match &login.token_from {
        TokenFrom::JsonPointer(p) => {
            let json: serde_json::Value = serde_json::from_slice(&res.body)
                .map_err(|_| "the login response is not JSON".to_string())?;
            let value = json
                .pointer(p)
                .and_then(|v| v.as_str())
                .ok_or_else(|| format!("no string at JSON pointer `{p}` in the login response"))?;
            Credential::bearer(value)
        }
        TokenFrom::Header(h) => {
            let value = res
                .header(h)
                .ok_or_else(|| format!("the login response has no `{h}` header"))?;
            let value = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .unwrap_or(&value)
                .trim()
                .to_string();
            Credential::bearer(&value)
        }
        TokenFrom::Cookie(name) => {
            let value = set_cookie_value(res, name)
                .ok_or_else(|| format!("the login response sets no `{name}` cookie"))?;
            Credential {
                carrier: Carrier::Cookie(name.clone()),
                value,
            }
        }
    };
    if credential.value.is_empty() {
        return Err("the login response carried an empty credential".to_string());
    }
    net.redactor().register(&credential.value);
    Ok(credential)
}

/// The value a response's `Set-Cookie` gives a cookie name.
pub fn set_cookie_value(res: &HttpResponse, name: &str) -> Option<String> {
    res.header_values("set-cookie").iter().find_map(|line| {
        let pair = line.split(';').next()?;
        let (n, v) = pair.split_once('=')?;
        (n.trim() == name).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The identity whose request is the baseline: the owner, or the first
/// identity with a credential and a value for every param.
pub fn caller<'a>(
    profile: &'a Profile,
    sessions: &Sessions,
    endpoint: &Endpoint,
) -> Option<&'a Identity> {
    if let Some(owner) = &endpoint.owner {
        return profile.identities.iter().find(|i| &i.name == owner);
    }
    profile.identities.iter().find(|i| {
        sessions.get(&i.name).is_some()
            && endpoint
                .path_params()
                .iter()
                .all(|p| endpoint.params.contains_key(p) || i.params.contains_key(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_debug_hides_the_value() {
        let c = Credential::bearer("tok-very-secret");
        assert!(!format!("{c:?}").contains("tok-very-secret"));
        assert!(!c.describe().contains("tok-very-secret"));
    }

    #[test]
    fn form_encoding_of_a_flat_body() {
        let body = serde_json::json!({"email": "a@b.test", "password": "p w&x", "n": 3});
        assert_eq!(form_encode(&body), "email=a%40b.test&password=p+w%26x&n=3");
    }
}
