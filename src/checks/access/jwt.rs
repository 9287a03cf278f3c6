//! JSON Web Tokens (RFC 7519) as the auth check tampers with them: decoding,
//! the `alg: none` form, edited or expired claims left unsigned, a corrupted
//! signature, and HMAC (HS256/384/512) signing and offline verification for
//! guessing a weak signing secret.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};

/// A decoded compact JWS.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// `header.payload` as received.
    pub signing_input: String,
    pub signature: Vec<u8>,
}

impl Jwt {
    /// Decodes a compact JWS; `None` when the token is not one.
    pub fn parse(token: &str) -> Option<Jwt> {
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
        header.get("alg")?.as_str()?;
        let signature = URL_SAFE_NO_PAD.decode(s).ok()?;
        Some(Jwt {
            header,
            claims,
            signing_input: format!("{h}.{p}"),
            signature,
        })
    }

    pub fn alg(&self) -> &str {
        self.header.get("alg").and_then(Value::as_str).unwrap_or("")
    }

    /// The signature segment as received.
    fn signature_segment(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.signature)
    }

    /// `alg: none` with the same claims and the signature stripped.
    pub fn alg_none(&self) -> String {
        let mut header = self.header.clone();
        header.insert("alg".into(), Value::from("none"));
        format!(
            "{}.{}.",
            encode(&Value::Object(header)),
            encode_claims(&self.claims)
        )
    }

    /// The same token with claims changed, keeping the original signature.
    pub fn with_claims_unsigned(&self, claims: &Map<String, Value>) -> String {
        let (h, _) = self
            .signing_input
            .split_once('.')
            .unwrap_or((self.signing_input.as_str(), ""));
        format!("{h}.{}.{}", encode_claims(claims), self.signature_segment())
    }

    /// The same token with `exp` an hour in the past (signature kept).
    pub fn expired(&self, now: i64) -> String {
        let mut claims = self.claims.clone();
        claims.insert("exp".into(), Value::from(now - 3600));
        if claims.contains_key("iat") {
            claims.insert("iat".into(), Value::from(now - 7200));
        }
        if claims.contains_key("nbf") {
            claims.insert("nbf".into(), Value::from(now - 7200));
        }
        self.with_claims_unsigned(&claims)
    }

    /// Edited identity claims (user id, role, tenant), one token per claim
    /// present, each left with the original signature.
    pub fn edited_claims(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for group in CLAIM_GROUPS {
            let Some(name) = group.iter().find(|n| self.claims.contains_key(**n)) else {
                continue;
            };
            let mut claims = self.claims.clone();
            let edited = match &claims[*name] {
                Value::Number(n) => Value::from(n.as_i64().unwrap_or(0) + 1),
                Value::String(s) if *name == "role" || *name == "roles" => {
                    Value::from(if s == "admin" { "owner" } else { "admin" })
                }
                Value::String(s) => Value::from(format!("{s}x")),
                Value::Array(_) => Value::from(vec!["admin"]),
                _ => Value::from("admin"),
            };
            claims.insert((*name).to_string(), edited);
            out.push(((*name).to_string(), self.with_claims_unsigned(&claims)));
        }
        out
    }

    /// Checks an HMAC secret against the token's own signature, offline.
    pub fn verifies_with(&self, secret: &[u8]) -> bool {
        match hmac_for(self.alg(), secret, self.signing_input.as_bytes()) {
            Some(mac) => constant_eq(&mac, &self.signature),
            None => false,
        }
    }

    /// A new token with the same header and `claims`, signed with `secret`.
    pub fn resigned(&self, claims: &Map<String, Value>, secret: &[u8]) -> Option<String> {
        let (h, _) = self.signing_input.split_once('.')?;
        let input = format!("{h}.{}", encode_claims(claims));
        let mac = hmac_for(self.alg(), secret, input.as_bytes())?;
        Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac)))
    }
}

/// Claims that name who the token is for, by kind; the first present is edited.
const CLAIM_GROUPS: &[&[&str]] = &[
    &["sub", "user_id", "uid", "userId", "id"],
    &["role", "roles", "scope"],
    &[
        "tenant",
        "tenant_id",
        "org",
        "org_id",
        "orgId",
        "organization_id",
    ],
];

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn encode_claims(claims: &Map<String, Value>) -> String {
    encode(&Value::Object(claims.clone()))
}

/// Corrupts a token's signature (or, for an opaque token, its tail) while
/// keeping its length and alphabet.
pub fn corrupt(token: &str) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let sig_start = token.rfind('.').map(|i| i + 1).unwrap_or(0);
    let len = chars.len();
    if len == 0 {
        return "x".to_string();
    }
    // A middle character of the signature: the last one may only hold padding bits.
    let at = if len > sig_start + 2 {
        sig_start + (len - sig_start) / 2
    } else {
        len - 1
    };
    chars[at] = match chars[at] {
        'A' => 'B',
        'a' => 'b',
        '0' => '1',
        _ => 'A',
    };
    chars.into_iter().collect()
}

/// HMAC (RFC 2104) with the hash the JWS `alg` names.
fn hmac_for(alg: &str, key: &[u8], message: &[u8]) -> Option<Vec<u8>> {
    match alg {
        "HS256" => Some(hmac::<Sha256>(64, key, message)),
        "HS384" => Some(hmac::<Sha384>(128, key, message)),
        "HS512" => Some(hmac::<Sha512>(128, key, message)),
        _ => None,
    }
}

fn hmac<D: Digest>(block: usize, key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut k = if key.len() > block {
        D::digest(key).to_vec()
    } else {
        key.to_vec()
    };
    k.resize(block, 0);
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let mut inner = D::new();
    inner.update(&ipad);
    inner.update(message);
    let inner = inner.finalize();
    let mut outer = D::new();
    outer.update(&opad);
    outer.update(inner);
    outer.finalize().to_vec()
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Secrets seen in tutorials, samples and default configs.
pub const COMMON_SECRETS: &[&str] = &[
    "secret",
    "secretkey",
    "secret-key",
    "secret_key",
    "mysecret",
    "my-secret",
    "my_secret",
    "supersecret",
    "super-secret",
    "super_secret",
    "topsecret",
    "s3cr3t",
    "jwt",
    "jwtsecret",
    "jwt-secret",
    "jwt_secret",
    "jwtkey",
    "jwt-key",
    "your-256-bit-secret",
    "your_jwt_secret",
    "your-secret-key",
    "changeme",
    "change-me",
    "change_me",
    "changeit",
    "password",
    "passw0rd",
    "123456",
    "12345678",
    "qwerty",
    "letmein",
    "admin",
    "default",
    "test",
    "testing",
    "dev",
    "development",
    "production",
    "key",
    "private",
    "privatekey",
    "token",
    "auth",
    "authsecret",
    "signingkey",
    "signing-key",
    "hmac",
    "hmacsecret",
    "shhhhh",
    "keyboard cat",
    "notasecret",
    "app-secret",
    "appsecret",
    "api-secret",
    "apisecret",
    "session-secret",
    "secret123",
    "random",
    "SECRET",
    "Secret",
    "SECRET_KEY",
    "mysecretkey",
    "my-secret-key",
    "my_secret_key",
    "mySecretKey",
    "jwt_secret_key",
    "jwt-secret-key",
    "your-secret",
    "your_secret",
    "your_secret_key",
    "change-this",
    "changethis",
    "example",
    "sample",
    "demo",
    "pass",
    "1234",
    "12345",
    "abc123",
    "access",
    "app",
];

/// Where a candidate secret came from, for the finding's evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// `[checks.auth] extra_secrets`.
    Extra,
    /// [`COMMON_SECRETS`].
    BuiltIn,
    /// A variant of the product's or target's name (the name given).
    Name(String),
}

impl SecretSource {
    /// Where it came from, in words.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Extra => "from [checks.auth] extra_secrets".to_string(),
            SecretSource::BuiltIn => "from the built-in list of common secrets".to_string(),
            SecretSource::Name(name) => format!("derived from the name `{name}`"),
        }
    }
}

/// One HMAC secret to try, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub secret: String,
    pub source: SecretSource,
}

/// Candidate secrets: the profile's `extra_secrets` first, then the common
/// list, then variants of the product's and target's names; each value once,
/// with the first source that gave it.
pub fn candidates(names: &[&str], extra: &[String]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = extra
        .iter()
        .map(|s| Candidate {
            secret: s.clone(),
            source: SecretSource::Extra,
        })
        .collect();
    out.extend(COMMON_SECRETS.iter().map(|s| Candidate {
        secret: s.to_string(),
        source: SecretSource::BuiltIn,
    }));
    for name in names {
        let lower = name.trim().to_ascii_lowercase();
        if lower.is_empty() {
            continue;
        }
        let compact: String = lower
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        let dashed = lower
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        for base in [lower.clone(), compact, dashed] {
            for suffix in ["", "-secret", "_secret", "secret", "-jwt", "123", "-key"] {
                out.push(Candidate {
                    secret: format!("{base}{suffix}"),
                    source: SecretSource::Name(name.trim().to_string()),
                });
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|c| !c.secret.is_empty() && seen.insert(c.secret.clone()));
    out
}

/// The first candidate that verifies the token's signature.
pub fn guess_secret<'a>(jwt: &Jwt, candidates: &'a [Candidate]) -> Option<&'a Candidate> {
    candidates
        .iter()
        .find(|c| jwt.verifies_with(c.secret.as_bytes()))
}

/// Signs claims with HS256 (used by the demo target and tests).
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    let input = format!("{}.{}", encode(&header), encode(claims));
    let mac = hmac::<Sha256>(64, secret, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac))
}

/// Verifies an HS256 token and returns its claims (demo target and tests).
/// `allow_none` accepts `alg: none` tokens: the flaw the demo plants.
pub fn verify_hs256(
    token: &str,
    secret: &[u8],
    allow_none: bool,
    now: i64,
) -> Option<Map<String, Value>> {
    let jwt = Jwt::parse(token).or_else(|| {
        // `alg: none` tokens end with an empty signature segment.
        let trimmed = token.strip_suffix('.')?;
        let (h, p) = trimmed.split_once('.')?;
        let header: Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
        let claims: Map<String, Value> =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()?;
        Some(Jwt {
            header,
            claims,
            signing_input: trimmed.to_string(),
            signature: Vec::new(),
        })
    })?;
    let ok = match jwt.alg() {
        "HS256" => jwt.verifies_with(secret),
        "none" | "None" | "NONE" => allow_none,
        _ => false,
    };
    if !ok {
        return None;
    }
    if let Some(exp) = jwt.claims.get("exp").and_then(Value::as_i64)
        && exp <= now
    {
        return None;
    }
    Some(jwt.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(secret: &str) -> String {
        sign_hs256(
            &serde_json::json!({
                "sub": "u-1", "role": "member", "org_id": "o-1", "exp": 4102444800i64
            }),
            secret.as_bytes(),
        )
    }

    #[test]
    fn hmac_sha256_matches_rfc4231_case_2() {
        let mac = hmac::<Sha256>(64, b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn weak_secret_is_found_offline_and_strong_one_is_not() {
        let weak = Jwt::parse(&token("supersecret")).unwrap();
        let c = candidates(&["Demo community platform"], &[]);
        let found = guess_secret(&weak, &c).unwrap();
        assert_eq!(found.secret, "supersecret");
        assert_eq!(found.source, SecretSource::BuiltIn);
        let named = Jwt::parse(&token("demo-community-platform-secret")).unwrap();
        assert_eq!(
            guess_secret(&named, &c).unwrap().source,
            SecretSource::Name("Demo community platform".into())
        );
        let strong = Jwt::parse(&token("k9#Vq2!x7Lm0Zr4Tt8Yw1Pp6Ss3Dd5Ff")).unwrap();
        assert_eq!(guess_secret(&strong, &c), None);
    }

    #[test]
    fn secrets_real_apps_ship_with_are_on_the_list() {
        let c = candidates(&[], &[]);
        for s in [
            "random",
            "secret",
            "secretkey",
            "secret-key",
            "jwt_secret",
            "jwt-secret",
            "changeme",
            "password",
            "your-256-bit-secret",
            "supersecret",
            "mysecret",
            "key",
            "test",
            "dev",
            "default",
        ] {
            let t = Jwt::parse(&token(s)).unwrap();
            assert_eq!(guess_secret(&t, &c).map(|c| c.secret.as_str()), Some(s));
        }
    }

    #[test]
    fn extra_secrets_are_credited_to_the_profile() {
        let c = candidates(
            &["Acme"],
            &["acme-2019-signing".to_string(), "random".to_string()],
        );
        let t = Jwt::parse(&token("acme-2019-signing")).unwrap();
        assert_eq!(guess_secret(&t, &c).unwrap().source, SecretSource::Extra);
        // Listed in both: the profile named it, so the evidence says so.
        let t = Jwt::parse(&token("random")).unwrap();
        assert_eq!(guess_secret(&t, &c).unwrap().source, SecretSource::Extra);
        assert_eq!(c.iter().filter(|x| x.secret == "random").count(), 1);
    }

    #[test]
    fn forgeries_fail_a_strict_verifier_and_none_passes_a_lax_one() {
        let secret = b"strong-secret-value-0123456789ab";
        let t = token("strong-secret-value-0123456789ab");
        let jwt = Jwt::parse(&t).unwrap();
        let now = 1_700_000_000;
        assert!(verify_hs256(&t, secret, false, now).is_some());
        assert!(verify_hs256(&jwt.alg_none(), secret, false, now).is_none());
        assert!(verify_hs256(&jwt.alg_none(), secret, true, now).is_some());
        assert!(verify_hs256(&corrupt(&t), secret, false, now).is_none());
        assert!(verify_hs256(&jwt.expired(now), secret, false, now).is_none());
        let edited = jwt.edited_claims();
        assert_eq!(edited.len(), 3);
        for (_, e) in edited {
            assert!(verify_hs256(&e, secret, false, now).is_none());
        }
        let forged = jwt.resigned(&jwt.claims, secret).unwrap();
        assert!(verify_hs256(&forged, secret, false, now).is_some());
    }

    #[test]
    fn opaque_tokens_are_not_jwts() {
        assert!(Jwt::parse("abc123").is_none());
        assert!(Jwt::parse("a.b.c").is_none());
        assert_ne!(corrupt("opaque-token-value"), "opaque-token-value");
    }
}
