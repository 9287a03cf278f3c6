//! DKIM public-key records (RFC 6376 §3.6.1, RFC 8463): parsing, key
//! strength, and the selector lookup.
//!
//! Before a launch the question is whether receivers can verify the product's
//! signatures for years to come: the key record must exist once at the
//! selector, parse, not be revoked (`p=` empty), serve email, and hold a key
//! of adequate strength (RSA under 1024 bits fails, under 2048 warns).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use x509_parser::prelude::{FromDer, SubjectPublicKeyInfo};
use x509_parser::public_key::{PublicKey, RSAPublicKey};

use crate::checks::email::dns::{DnsLookup, DnsOutcome, TxtRecord};

/// The key algorithm (`k=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyType {
    /// `k=rsa` (the default).
    Rsa,
    /// `k=ed25519` (RFC 8463).
    Ed25519,
    /// Anything else: verifiers cannot use the key.
    Unknown(String),
}

/// How much a key-record issue matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IssueLevel {
    /// Informational.
    Info,
    /// Works, but weak or temporary.
    Warn,
    /// Receivers cannot verify signatures with this record.
    Fail,
}

/// One finding about a key record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyIssue {
    /// How much it matters.
    pub level: IssueLevel,
    /// What is wrong, for people.
    pub message: String,
}

/// A parsed DKIM key record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimKeyRecord {
    /// The record text (strings joined).
    pub text: String,
    /// `k=`.
    pub key_type: KeyType,
    /// `h=`: acceptable hash algorithms; `None` means all.
    pub hash_algorithms: Option<Vec<String>>,
    /// `s=`: service types (`*` by default).
    pub service_types: Vec<String>,
    /// `t=`: flags as written.
    pub flags: Vec<String>,
    /// `n=`: notes.
    pub notes: Option<String>,
    /// The decoded `p=` bytes (empty when revoked or undecodable).
    pub public_key: Vec<u8>,
    /// Key size in bits, when the key could be read.
    pub key_bits: Option<u32>,
    /// `p=` is empty: the key was revoked (RFC 6376 §3.6.1).
    pub revoked: bool,
    /// Findings, in the order found; see [`DkimKeyRecord::worst`].
    pub issues: Vec<KeyIssue>,
}

impl DkimKeyRecord {
    /// `t=y`: the domain is testing DKIM; verifiers may treat failures as
    /// unsigned.
    pub fn is_testing(&self) -> bool {
        self.flags.iter().any(|f| f == "y")
    }

    /// `t=s`: the `i=` domain must equal `d=`, not a subdomain.
    pub fn is_strict(&self) -> bool {
        self.flags.iter().any(|f| f == "s")
    }

    /// The most serious issue level, if any.
    pub fn worst(&self) -> Option<IssueLevel> {
        self.issues.iter().map(|i| i.level).max()
    }

    /// Whether verifiers can use this key for email at all.
    pub fn is_usable(&self) -> bool {
        self.worst() != Some(IssueLevel::Fail)
    }
}

/// Why a record is discarded as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DkimRecordError {
    /// Not a `tag=value` list.
    #[error("not a tag=value list: {0:?}")]
    Malformed(String),
    /// A tag appears twice (RFC 6376 §3.2 makes the whole list invalid).
    #[error("tag {0}= appears more than once")]
    DuplicateTag(String),
    /// `v=` is present with another value than `DKIM1`, or not first.
    #[error("v= must be the first tag and equal DKIM1, found {0:?}")]
    BadVersion(String),
    /// No `p=` tag.
    #[error("the required p= tag is missing")]
    MissingKey,
}

/// Parses one key record (TXT strings already joined).
pub fn parse_key_record(text: &str) -> Result<DkimKeyRecord, DkimRecordError> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for part in text.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((tag, value)) = part.split_once('=') else {
            return Err(DkimRecordError::Malformed(part.to_string()));
        };
        let tag = tag.trim();
        let tag_ok = tag.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && tag.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !tag_ok {
            return Err(DkimRecordError::Malformed(part.to_string()));
        }
        if tags.iter().any(|(t, _)| t == tag) {
            return Err(DkimRecordError::DuplicateTag(tag.to_string()));
        }
        tags.push((tag.to_string(), value.trim().to_string()));
    }
    for (index, (tag, value)) in tags.iter().enumerate() {
        if tag == "v" && (index != 0 || value != "DKIM1") {
            return Err(DkimRecordError::BadVersion(value.clone()));
        }
    }
    let get = |name: &str| {
        tags.iter()
            .find(|(t, _)| t == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(key_text) = get("p") else {
        return Err(DkimRecordError::MissingKey);
    };

    let mut issues = Vec::new();
    let mut issue = |level, message: String| issues.push(KeyIssue { level, message });

    let key_type = match get("k").map(str::to_ascii_lowercase).as_deref() {
        None | Some("rsa") => KeyType::Rsa,
        Some("ed25519") => KeyType::Ed25519,
        Some(other) => {
            issue(
                IssueLevel::Fail,
                format!("k={other} is not a key type verifiers know (rsa, ed25519)"),
            );
            KeyType::Unknown(other.to_string())
        }
    };
    let list = |value: &str| -> Vec<String> {
        value
            .split(':')
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .collect()
    };
    let hash_algorithms = get("h").map(list);
    if let Some(hashes) = &hash_algorithms
        && !hashes.iter().any(|h| h == "sha256")
    {
        issue(
            IssueLevel::Fail,
            format!(
                "h={} excludes sha256; sha1 signatures are no longer accepted (RFC 8301)",
                hashes.join(":")
            ),
        );
    }
    let service_types = get("s").map(list).unwrap_or_else(|| vec!["*".to_string()]);
    if !service_types.iter().any(|s| s == "*" || s == "email") {
        issue(
            IssueLevel::Fail,
            format!("s={} does not include email or *", service_types.join(":")),
        );
    }
    let flags = get("t").map(list).unwrap_or_default();
    if flags.iter().any(|f| f == "y") {
        issue(
            IssueLevel::Warn,
            "t=y: the domain is testing DKIM; verifiers may ignore signature failures".to_string(),
        );
    }
    for (tag, _) in &tags {
        if !["v", "h", "k", "n", "p", "s", "t"].contains(&tag.as_str()) {
            issue(IssueLevel::Info, format!("unknown tag {tag}= (ignored)"));
        }
    }

    let compact: String = key_text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut public_key = Vec::new();
    let mut key_bits = None;
    if compact.is_empty() {
        issue(
            IssueLevel::Fail,
            "p= is empty: the key has been revoked".to_string(),
        );
    } else {
        match STANDARD.decode(compact.as_bytes()) {
            Err(_) => issue(IssueLevel::Fail, "p= is not valid base64".to_string()),
            Ok(bytes) => {
                let (bits, problem) = key_strength(&key_type, &bytes);
                key_bits = bits;
                if let Some((level, message)) = problem {
                    issue(level, message);
                }
                public_key = bytes;
            }
        }
    }

    Ok(DkimKeyRecord {
        text: text.to_string(),
        key_type,
        hash_algorithms,
        service_types,
        flags,
        notes: get("n").map(str::to_string),
        public_key,
        key_bits,
        revoked: compact.is_empty(),
        issues,
    })
}

/// The key size in bits and, when the key is weak or unreadable, the issue.
fn key_strength(key_type: &KeyType, bytes: &[u8]) -> (Option<u32>, Option<(IssueLevel, String)>) {
    match key_type {
        KeyType::Rsa => match rsa_modulus_bits(bytes) {
            Ok(bits) if bits < 1024 => (
                Some(bits),
                Some((
                    IssueLevel::Fail,
                    format!("RSA key of {bits} bits; verifiers reject keys under 1024 bits"),
                )),
            ),
            Ok(bits) if bits < 2048 => (
                Some(bits),
                Some((
                    IssueLevel::Warn,
                    format!("RSA key of {bits} bits; use 2048 bits or more"),
                )),
            ),
            Ok(bits) => (Some(bits), None),
            Err(reason) => (None, Some((IssueLevel::Fail, reason))),
        },
        KeyType::Ed25519 if bytes.len() == 32 => (Some(256), None),
        KeyType::Ed25519 => (
            None,
            Some((
                IssueLevel::Fail,
                format!(
                    "ed25519 key of {} bytes; RFC 8463 publishes the raw 32-byte key",
                    bytes.len()
                ),
            )),
        ),
        KeyType::Unknown(_) => (None, None),
    }
}

/// The modulus size of an RSA key given as SubjectPublicKeyInfo (what
/// RFC 6376 specifies) or as a bare PKCS#1 RSAPublicKey (which some
/// publishers use and verifiers accept).
fn rsa_modulus_bits(der: &[u8]) -> Result<u32, String> {
    if let Ok((rest, spki)) = SubjectPublicKeyInfo::from_der(der) {
        if !rest.is_empty() {
            return Err("p= has trailing data after the public key".to_string());
        }
        return match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => Ok(bits_of(rsa.modulus)),
            Ok(_) => Err("k=rsa but p= holds a non-RSA public key".to_string()),
            Err(_) => Err("p= holds an unreadable public key".to_string()),
        };
    }
    match RSAPublicKey::from_der(der) {
        Ok(([], rsa)) => Ok(bits_of(rsa.modulus)),
        _ => Err("p= is not a DER RSA public key (corrupt or truncated)".to_string()),
    }
}

fn bits_of(modulus: &[u8]) -> u32 {
    let significant: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(start) => &modulus[start..],
        None => &[],
    };
    let Some(first) = significant.first() else {
        return 0;
    };
    let bytes = u32::try_from(significant.len()).unwrap_or(u32::MAX);
    (bytes - 1).saturating_mul(8) + (8 - first.leading_zeros())
}

/// What a selector's DNS name holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectorOutcome {
    /// Exactly one TXT record, parsed.
    Found(DkimKeyRecord),
    /// One TXT record that is not a valid key record.
    Invalid {
        /// The record text.
        text: String,
        /// Why.
        error: DkimRecordError,
    },
    /// No record at the selector.
    NotFound,
    /// More than one TXT record: results are undefined and real verifiers
    /// fail (RFC 6376 §3.6.2.2). Split a long key into strings of one record.
    MultipleRecords(Vec<String>),
    /// The lookup failed.
    DnsFailure(String),
}

/// A selector lookup: the name asked and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorReport {
    /// `<selector>._domainkey.<domain>`.
    pub name: String,
    /// What was found.
    pub outcome: SelectorOutcome,
}

/// Looks up and parses the key record of `selector` at `domain`.
pub async fn lookup_selector(dns: &dyn DnsLookup, selector: &str, domain: &str) -> SelectorReport {
    let domain = domain.trim_end_matches('.');
    let name = format!("{selector}._domainkey.{domain}");
    let outcome = match dns.txt(&name).await {
        DnsOutcome::Records(records) => match records.as_slice() {
            [one] => {
                let text = one.text();
                match parse_key_record(&text) {
                    Ok(record) => SelectorOutcome::Found(record),
                    Err(error) => SelectorOutcome::Invalid { text, error },
                }
            }
            many => SelectorOutcome::MultipleRecords(many.iter().map(TxtRecord::text).collect()),
        },
        DnsOutcome::NxDomain | DnsOutcome::NoData => SelectorOutcome::NotFound,
        DnsOutcome::TempFail(reason) => SelectorOutcome::DnsFailure(reason),
    };
    SelectorReport { name, outcome }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_counting() {
        assert_eq!(bits_of(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(bits_of(&[0x01, 0xff]), 9);
        assert_eq!(bits_of(&[0x00]), 0);
    }

    #[test]
    fn syntax_rules() {
        assert_eq!(
            parse_key_record("v=DKIM1; p=abc; p=def"),
            Err(DkimRecordError::DuplicateTag("p".to_string()))
        );
        assert_eq!(
            parse_key_record("k=rsa; v=DKIM1; p="),
            Err(DkimRecordError::BadVersion("DKIM1".to_string()))
        );
        assert_eq!(
            parse_key_record("v=DKIM1; k=rsa"),
            Err(DkimRecordError::MissingKey)
        );
        assert!(matches!(
            parse_key_record("v=DKIM1; garbage"),
            Err(DkimRecordError::Malformed(_))
        ));
    }

    #[test]
    fn revoked_and_flags() {
        let revoked = parse_key_record("v=DKIM1; k=rsa; p=").unwrap();
        assert!(revoked.revoked);
        assert!(!revoked.is_usable());

        let flagged = parse_key_record(
            "v=DKIM1; k=ed25519; t=y:s; s=email; h=sha256; n=rotated 2026; \
             p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        )
        .unwrap();
        assert!(flagged.is_testing());
        assert!(flagged.is_strict());
        assert_eq!(flagged.worst(), Some(IssueLevel::Warn));
        assert_eq!(flagged.notes.as_deref(), Some("rotated 2026"));
        assert_eq!(flagged.key_bits, Some(256));
    }
}
