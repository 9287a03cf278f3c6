//! Certificate name matching (RFC 6125 §6.4) and a summary of a leaf certificate.
//!
//! The `https` check must say whether the served certificate covers the host
//! the user typed. A wildcard is only accepted as the whole left-most label
//! and stands for exactly one non-empty label, so `*.example.com` covers
//! neither `example.com` nor `a.b.example.com` (pitfall B31). Only subject
//! alternative names are used, as browsers do; the subject common name is
//! ignored. IP hosts match only IP-address SANs.

use std::net::IpAddr;

use x509_parser::prelude::{FromDer, GeneralName, ParsedExtension, X509Certificate};
use x509_parser::public_key::PublicKey;

/// One subject alternative name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SanName {
    /// A `dNSName` entry (possibly a wildcard such as `*.example.com`).
    Dns(String),
    /// An `iPAddress` entry.
    Ip(IpAddr),
}

/// Does the DNS name `pattern` (from a certificate) match the DNS name `host`?
///
/// ASCII case-insensitive, one trailing dot ignored on each side, IDN
/// A-labels (`xn--...`) compared as plain ASCII. `*` is accepted only as the
/// entire left-most label, over a base of at least two labels (`*.com` never
/// matches), and covers exactly one non-empty label. An IP literal host never
/// matches a DNS pattern.
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let pattern = normalise(pattern);
    let host = normalise(host);
    if pattern.is_empty() || host.is_empty() || host.parse::<IpAddr>().is_ok() {
        return false;
    }

    if labels_invalid(&host) || host.contains('*') {
        return false;
    }

    let Some(base) = pattern.strip_prefix("*.") else {
        return !pattern.contains('*') && !labels_invalid(&pattern) && pattern == host;
    };

    if base.contains('*') || labels_invalid(base) || !base.contains('.') {
        return false;
    }

    match host.split_once('.') {
        Some((first, rest)) => !first.is_empty() && rest == base,
        None => false,
    }
}

/// Does any SAN cover `host` (a DNS name or an IP literal, brackets allowed)?
pub fn cert_covers(sans: &[SanName], host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return sans.iter().any(|san| match san {
            SanName::Ip(candidate) => same_ip(*candidate, ip),
            SanName::Dns(_) => false,
        });
    }

    sans.iter().any(|san| match san {
        SanName::Dns(pattern) => name_matches(pattern, host),
        SanName::Ip(_) => false,
    })
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// Lowercase ASCII form without the trailing dot; U-labels become A-labels
/// (`bücher.example` -> `xn--bcher-kva.example`) when IDNA accepts them.
fn normalise(name: &str) -> String {
    let trimmed = name.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_ascii() {
        return trimmed.to_ascii_lowercase();
    }

    match url::Host::parse(trimmed) {
        Ok(url::Host::Domain(ascii)) => ascii,
        _ => trimmed.to_string(),
    }
}

/// Empty labels or characters a DNS name cannot hold.
fn labels_invalid(name: &str) -> bool {
    name.split('.').any(|label| label.is_empty())
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_' || b == b'*')
}

/// The public key of a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with its modulus size in bits.
    Rsa {
        /// Modulus size in bits.
        bits: u32,
    },
    /// Elliptic curve key on a named curve.
    Ec {
        /// Curve name (`P-256`, `P-384`, `P-521`) or the dotted OID.
        curve: String,
        /// Field size in bits, when the curve is known.
        bits: Option<u32>,
    },
    /// Ed25519 (about 128-bit security).
    Ed25519,
    /// Ed448.
    Ed448,
    /// Anything else, with its algorithm OID.
    Other {
        /// Dotted OID of the key algorithm.
        oid: String,
    },
}

/// What the `https` check needs to know about a leaf certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSummary {
    /// Subject distinguished name, RFC 4514 style.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Subject alternative names (DNS and IP entries; others are skipped).
    pub sans: Vec<SanName>,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// Public key type and size.
    pub key: KeyKind,
    /// Signature algorithm name (`sha256WithRSAEncryption`, `ecdsa-with-SHA256`, ...)
    /// or the dotted OID when unknown.
    pub signature_algorithm: String,
    /// Basic constraints say this is a CA certificate.
    pub is_ca: bool,
    /// Self-signed in name (subject equals issuer).
    pub self_issued: bool,
}

/// Summarises a DER-encoded certificate.
pub fn leaf_summary(der: &[u8]) -> Result<CertSummary, String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("certificate does not parse as X.509 DER: {e}"))?;

    let mut sans = Vec::new();
    for extension in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = extension.parsed_extension() {
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(dns) => sans.push(SanName::Dns((*dns).to_string())),
                    GeneralName::IPAddress(bytes) => {
                        if let Some(ip) = ip_from_bytes(bytes) {
                            sans.push(SanName::Ip(ip));
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    let validity = cert.validity();
    let subject = cert.subject().to_string();
    let issuer = cert.issuer().to_string();
    Ok(CertSummary {
        self_issued: subject == issuer,
        subject,
        issuer,
        sans,
        not_before: validity.not_before.timestamp(),
        not_after: validity.not_after.timestamp(),
        key: key_kind(&cert),
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        is_ca: cert.is_ca(),
    })
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

fn key_kind(cert: &X509Certificate<'_>) -> KeyKind {
    let spki = cert.public_key();
    let oid = spki.algorithm.algorithm.to_id_string();
    match oid.as_str() {
        "1.3.101.112" => return KeyKind::Ed25519,
        "1.3.101.113" => return KeyKind::Ed448,
        _ => {}
    }

    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => KeyKind::Rsa {
            bits: rsa_modulus_bits(rsa.modulus),
        },
        Ok(PublicKey::EC(_)) => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let (curve, bits) = match curve_oid.as_str() {
                "1.2.840.10045.3.1.7" => ("P-256".to_string(), Some(256)),
                "1.3.132.0.34" => ("P-384".to_string(), Some(384)),
                "1.3.132.0.35" => ("P-521".to_string(), Some(521)),
                "1.3.132.0.10" => ("secp256k1".to_string(), Some(256)),
                _ => (curve_oid, None),
            };
            KeyKind::Ec { curve, bits }
        }
        _ => KeyKind::Other { oid },
    }
}

/// Size in bits of a big-endian RSA modulus (leading zero bytes and bits ignored).
pub fn rsa_modulus_bits(modulus: &[u8]) -> u32 {
    let Some(first) = modulus.iter().position(|&b| b != 0) else {
        return 0;
    };
    let significant = &modulus[first..];
    let leading = significant[0].leading_zeros();
    let bytes = u32::try_from(significant.len()).unwrap_or(u32::MAX / 8);
    bytes * 8 - leading
}

fn signature_name(oid: &str) -> String {
    let name = match oid {
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "rsassaPss",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => return other.to_string(),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_names() {
        assert!(name_matches("example.com", "example.com"));
        assert!(name_matches("Example.COM", "example.com."));
        assert!(name_matches("example.com.", "EXAMPLE.com"));
        assert!(!name_matches("example.com", "www.example.com"));
        assert!(!name_matches("example.com", "example.org"));
        assert!(!name_matches("", ""));
    }

    #[test]
    fn wildcard_covers_one_label() {
        assert!(name_matches("*.example.com", "www.example.com"));
        assert!(name_matches("*.Example.com", "API.example.com."));
        assert!(name_matches("*.example.com", "xn--bcher-kva.example.com"));
        assert!(name_matches(
            "xn--bcher-kva.example.com",
            "b\u{fc}cher.example.com"
        ));
        assert!(!name_matches(
            "bucher.example.com",
            "b\u{fc}cher.example.com"
        ));
    }

    #[test]
    fn pitfall_b31_wildcard_misses_apex_and_two_labels() {
        let sans = [SanName::Dns("*.example.com".into())];
        assert!(!cert_covers(&sans, "example.com"), "apex must not match");
        assert!(
            !cert_covers(&sans, "a.b.example.com"),
            "two labels must not match"
        );
        assert!(cert_covers(&sans, "a.example.com"));
    }

    #[test]
    fn wildcard_forms_that_never_match() {
        assert!(!name_matches("*.com", "example.com"));
        assert!(!name_matches("*", "localhost"));
        assert!(!name_matches("f*.example.com", "foo.example.com"));
        assert!(!name_matches("www.*.com", "www.example.com"));
        assert!(!name_matches("*.*.example.com", "a.b.example.com"));
        assert!(!name_matches("*.example.com", ".example.com"));
        assert!(!name_matches(
            "xn--*.example.com",
            "xn--bcher-kva.example.com"
        ));
        assert!(!name_matches("*.example.com", "*.example.com"));
    }

    #[test]
    fn ip_hosts_need_ip_sans() {
        let sans = [
            SanName::Dns("127.0.0.1".into()),
            SanName::Ip("::1".parse().expect("ip")),
        ];
        assert!(
            !cert_covers(&sans, "127.0.0.1"),
            "a DNS SAN never covers an IP"
        );
        assert!(cert_covers(&sans, "[::1]"));
        assert!(cert_covers(
            &[SanName::Ip("10.0.0.1".parse().expect("ip"))],
            "10.0.0.1"
        ));
        assert!(!cert_covers(
            &[SanName::Ip("10.0.0.1".parse().expect("ip"))],
            "10.0.0.2"
        ));
        assert!(!name_matches("*.0.0.1", "127.0.0.1"));
    }

    #[test]
    fn modulus_bits() {
        let mut modulus = vec![0u8; 257];
        modulus[1] = 0x80;
        assert_eq!(rsa_modulus_bits(&modulus), 2048);
        assert_eq!(rsa_modulus_bits(&[0x00, 0x01, 0xff]), 9);
        assert_eq!(rsa_modulus_bits(&[]), 0);
        assert_eq!(rsa_modulus_bits(&[0, 0]), 0);
    }

    #[test]
    fn summary_of_rcgen_certificates() {
        use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519};

        let mut params = CertificateParams::new(vec![
            "app.example.test".to_string(),
            "*.example.test".to_string(),
            "127.0.0.1".to_string(),
        ])
        .expect("params");
        params.not_before = rcgen::date_time_ymd(2025, 1, 2);
        params.not_after = rcgen::date_time_ymd(2026, 1, 2);
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = params.self_signed(&key).expect("cert");

        let summary = leaf_summary(cert.der()).expect("summary");
        assert_eq!(
            summary.key,
            KeyKind::Ec {
                curve: "P-256".into(),
                bits: Some(256)
            }
        );
        assert_eq!(summary.signature_algorithm, "ecdsa-with-SHA256");
        assert_eq!(summary.not_before, 1_735_776_000);
        assert_eq!(summary.not_after, 1_767_312_000);
        assert!(!summary.is_ca);
        assert!(summary.self_issued);
        assert!(
            summary
                .sans
                .contains(&SanName::Ip("127.0.0.1".parse().expect("ip")))
        );
        assert!(cert_covers(&summary.sans, "app.example.test"));
        assert!(cert_covers(&summary.sans, "www.example.test"));
        assert!(cert_covers(&summary.sans, "127.0.0.1"));
        assert!(!cert_covers(&summary.sans, "example.test"));

        let mut params =
            CertificateParams::new(vec!["ca.example.test".to_string()]).expect("params");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let key = KeyPair::generate_for(&PKCS_ED25519).expect("key");
        let cert = params.self_signed(&key).expect("cert");
        let summary = leaf_summary(cert.der()).expect("summary");
        assert_eq!(summary.key, KeyKind::Ed25519);
        assert_eq!(summary.signature_algorithm, "Ed25519");
        assert!(summary.is_ca);
    }

    /// A 2048-bit RSA certificate made once with `openssl req -x509 -newkey rsa:2048`
    /// (rcgen with ring cannot generate RSA keys).
    const RSA_2048_CERT_BASE64: &[&str] = &[
        "MIIDNDCCAhygAwIBAgIULCn3IYI2edy6MAc0h6SGuGhW2Z4wDQYJKoZIhvcNAQEL",
        "BQAwGzEZMBcGA1UEAwwQcnNhLmV4YW1wbGUudGVzdDAeFw0yNjEyMDQxNjI5NTla",
        "Fw0zNjEyMDExNjI5NTlaMBsxGTAXBgNVBAMMEHJzYS5leGFtcGxlLnRlc3QwggEi",
        "MA0GCSqGSIb3DQEBAQUAA4IBDwAwggEKAoIBAQCbCxea+74vMgSX9x2ISxsqBNVj",
        "f15lJ3c+9hvy9FRyi0MPxh/zETaAOuqF14A+TpR33QhJvDaLkMug1NFx9fOZnlEq",
        "2hF6uwGjnVM5uWaRqR2Kjo3njiK2oyvxIJVJAMcq+YuFa/ZWbRt4zFSwmQgO3IA6",
        "w7qx9Y/eJUWJcgGTTLiXXqyJ+myllRyZpfKJ9Bxqm740yki1hK9KIbc6Mq9qrGDK",
        "RvHXoNqTZi+Bu4gskCKgt+GuTpWam0kAO//7lX0EikWcl3KiwroXWLm/KdQjzFE8",
        "f8+GYWfYAdZ5F10qhcVwj1NmhJEorEQwUaBZZYhegMsyvuO4U2e5/i+yPINvAgMB",
        "AAGjcDBuMB0GA1UdDgQWBBTsg3DWdKb+YnWD9pZbUvV1ItO9hDAfBgNVHSMEGDAW",
        "gBTsg3DWdKb+YnWD9pZbUvV1ItO9hDAPBgNVHRMBAf8EBTADAQH/MBsGA1UdEQQU",
        "MBKCEHJzYS5leGFtcGxlLnRlc3QwDQYJKoZIhvcNAQELBQADggEBAFaXFGfhPrnx",
        "Z/IavbtuCl70gMEcJQXLm3MK53dluiehQuuMwQbv5HVbPeGo3jc/BRiIfEzLFwRu",
        "Vg+DhEWRrRLNaqqNmYAKV+Jedlm9nNvBBCCGl4GJCIcCx5CYq3uxK4jw1MYh4q+7",
        "HMjpvRCavxhsMhbrfnrrqQ7BRs3I8Y+K7BLbggxvbrvf1+Wm02EV2uZ4yF/o+p7X",
        "RYOx+Rdgpdp0CMeQJaOyImx255ia6k0jDaj4eJKHssPyYqaoJUUNCabNHIOjIejb",
        "afPyZO2ly5wT6NL3i/DE1yNUAhhTcB2OScD9YhfA4OounUFes2X9fR1ur4eWo0na",
        "ksTlDjDyWhM=",
    ];

    #[test]
    fn summary_of_an_rsa_certificate() {
        use base64::Engine;

        let der = base64::engine::general_purpose::STANDARD
            .decode(RSA_2048_CERT_BASE64.concat())
            .expect("base64");
        let summary = leaf_summary(&der).expect("summary");
        assert_eq!(summary.key, KeyKind::Rsa { bits: 2048 });
        assert_eq!(summary.signature_algorithm, "sha256WithRSAEncryption");
        assert_eq!(summary.subject, "CN=rsa.example.test");
        assert_eq!(summary.sans, vec![SanName::Dns("rsa.example.test".into())]);
        assert!(
            summary.is_ca,
            "openssl req -x509 marks its certificate as a CA"
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(leaf_summary(b"not a certificate").is_err());
    }
}
