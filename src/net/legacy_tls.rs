//! Does a server still accept TLS 1.0 or TLS 1.1?
//!
//! rustls cannot speak these versions, so the probe writes one hand-built
//! ClientHello offering only the legacy version and classifies the first
//! record the server sends back: a ServerHello with that version means the
//! server accepts it; an alert or a closed connection means it does not. No
//! handshake is completed and no key material is involved. The caller opens
//! the TCP connection (through the scoped client) and hands the stream in.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The legacy protocol versions the probe can offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LegacyVersion {
    /// TLS 1.0 (RFC 2246), wire version 3.1.
    Tls10,
    /// TLS 1.1 (RFC 4346), wire version 3.2.
    Tls11,
}

impl LegacyVersion {
    /// The two-byte protocol version on the wire.
    pub fn wire(self) -> u16 {
        match self {
            LegacyVersion::Tls10 => 0x0301,
            LegacyVersion::Tls11 => 0x0302,
        }
    }

    fn from_wire(version: u16) -> Option<Self> {
        match version {
            0x0301 => Some(LegacyVersion::Tls10),
            0x0302 => Some(LegacyVersion::Tls11),
            _ => None,
        }
    }
}

impl fmt::Display for LegacyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&version_name(self.wire()))
    }
}

/// Readable name of a wire protocol version (`TLS 1.0`, `SSL 3.0`, ...).
pub fn version_name(version: u16) -> String {
    match version {
        0x0300 => "SSL 3.0".to_string(),
        0x0301 => "TLS 1.0".to_string(),
        0x0302 => "TLS 1.1".to_string(),
        0x0303 => "TLS 1.2".to_string(),
        0x0304 => "TLS 1.3".to_string(),
        other => format!("version 0x{other:04x}"),
    }
}

/// What the server answered to a legacy ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LegacyReply {
    /// A ServerHello with exactly the offered version: the server accepts it.
    Accepted {
        /// The accepted version.
        version: LegacyVersion,
    },
    /// A ServerHello with an even older version (for example SSL 3.0).
    Downgraded {
        /// The wire version chosen by the server.
        version: u16,
    },
    /// A ServerHello with a version that was not offered (a broken server).
    Other {
        /// The wire version chosen by the server.
        version: u16,
    },
    /// A TLS alert: the server refused.
    Alert {
        /// 1 = warning, 2 = fatal.
        level: u8,
        /// Alert description code (70 = protocol_version, 40 = handshake_failure).
        description: u8,
    },
    /// A TLS record of a kind that cannot come first (for example application data).
    Unexpected {
        /// What was seen.
        reason: String,
    },
    /// The bytes are not a TLS record.
    NotTls,
    /// Not enough bytes to decide yet (or the connection ended mid-record).
    Incomplete,
    /// The connection closed before any byte arrived.
    Closed,
    /// No decision within the time limit.
    TimedOut,
    /// The connection failed (for example reset by the server).
    Io(String),
}

impl LegacyReply {
    /// The server agreed to a legacy protocol version (the offered one or older).
    pub fn accepts_legacy(&self) -> bool {
        matches!(
            self,
            LegacyReply::Accepted { .. } | LegacyReply::Downgraded { .. }
        )
    }

    /// Human-readable account of the reply, usable as evidence.
    pub fn describe(&self, offered: LegacyVersion) -> String {
        match self {
            LegacyReply::Accepted { version } => {
                format!("the server accepted {version} (ServerHello {version})")
            }
            LegacyReply::Downgraded { version } => format!(
                "offered {offered}, the server chose the even older {}",
                version_name(*version)
            ),
            LegacyReply::Other { version } => format!(
                "offered only {offered}, the server answered with {} (not a legacy accept)",
                version_name(*version)
            ),
            LegacyReply::Alert { level, description } => format!(
                "the server refused {offered} with a {} alert {} ({description})",
                if *level == 2 { "fatal" } else { "warning" },
                alert_name(*description)
            ),
            LegacyReply::Unexpected { reason } => {
                format!("offered {offered}, unexpected reply: {reason}")
            }
            LegacyReply::NotTls => format!("offered {offered}, the reply is not TLS"),
            LegacyReply::Incomplete => {
                format!("offered {offered}, the reply ended inside a TLS record")
            }
            LegacyReply::Closed => {
                format!("the server closed the connection when offered {offered}")
            }
            LegacyReply::TimedOut => format!("no answer to a {offered} ClientHello in time"),
            LegacyReply::Io(error) => format!("offered {offered}, connection failed: {error}"),
        }
    }
}

/// Name of a TLS alert description code.
pub fn alert_name(description: u8) -> &'static str {
    match description {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        42 => "bad_certificate",
        47 => "illegal_parameter",
        50 => "decode_error",
        51 => "decrypt_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        109 => "missing_extension",
        112 => "unrecognized_name",
        _ => "unknown",
    }
}

/// Cipher suites a TLS 1.0/1.1 client of the 2010s offered: ECDHE and RSA
/// key exchange with AES-CBC or 3DES, plus the renegotiation SCSV.
const CIPHER_SUITES: [u16; 12] = [
    0xc00a, // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
    0xc009, // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
    0xc014, // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
    0xc013, // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
    0x0039, // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
    0x0033, // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
    0x0035, // TLS_RSA_WITH_AES_256_CBC_SHA
    0x002f, // TLS_RSA_WITH_AES_128_CBC_SHA
    0xc012, // TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
    0x000a, // TLS_RSA_WITH_3DES_EDE_CBC_SHA
    0x0005, // TLS_RSA_WITH_RC4_128_SHA
    0x00ff, // TLS_EMPTY_RENEGOTIATION_INFO_SCSV
];

/// Named groups: x25519, secp256r1, secp384r1.
const GROUPS: [u16; 3] = [0x001d, 0x0017, 0x0018];

/// Largest record payload a peer may send (2^14 plus expansion allowance).
const MAX_RECORD: usize = 16_384 + 2_048;

/// Builds one TLS record holding a ClientHello that offers only `version`.
///
/// Extensions: server_name (left out when `sni` is empty, an IP literal or
/// not a plain ASCII host name), supported_groups and ec_point_formats. No
/// supported_versions extension, so the server cannot pick TLS 1.2 or 1.3.
pub fn client_hello(version: LegacyVersion, sni: &str) -> Vec<u8> {
    let mut body = Vec::with_capacity(160);
    body.extend_from_slice(&version.wire().to_be_bytes());
    let random: [u8; 32] = rand::random();
    body.extend_from_slice(&random);
    body.push(0); // empty session id

    push_u16(&mut body, CIPHER_SUITES.len() * 2);
    for suite in CIPHER_SUITES {
        body.extend_from_slice(&suite.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // compression methods: null only

    let mut extensions = Vec::new();
    if let Some(name) = sni_name(sni) {
        let mut entry = vec![0u8]; // name type: host_name
        push_u16(&mut entry, name.len());
        entry.extend_from_slice(name.as_bytes());
        let mut list = Vec::new();
        push_u16(&mut list, entry.len());
        list.extend_from_slice(&entry);
        push_extension(&mut extensions, 0x0000, &list);
    }

    let mut groups = Vec::new();
    push_u16(&mut groups, GROUPS.len() * 2);
    for group in GROUPS {
        groups.extend_from_slice(&group.to_be_bytes());
    }
    push_extension(&mut extensions, 0x000a, &groups);
    push_extension(&mut extensions, 0x000b, &[1, 0]); // ec_point_formats: uncompressed

    push_u16(&mut body, extensions.len());
    body.extend_from_slice(&extensions);

    let mut handshake = vec![1u8]; // client_hello
    push_u24(&mut handshake, body.len());
    handshake.extend_from_slice(&body);

    // Record version 3.1 for both offers, as clients of that era did.
    let mut record = vec![0x16, 0x03, 0x01];
    push_u16(&mut record, handshake.len());
    record.extend_from_slice(&handshake);
    record
}

fn sni_name(sni: &str) -> Option<&str> {
    let name = sni.strip_suffix('.').unwrap_or(sni);
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    let plain = !name.is_empty()
        && name.len() <= 253
        && bare.parse::<IpAddr>().is_err()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_');
    plain.then_some(name)
}

fn push_u16(out: &mut Vec<u8>, value: usize) {
    let value = u16::try_from(value).unwrap_or(u16::MAX);
    out.extend_from_slice(&value.to_be_bytes());
}

fn push_u24(out: &mut Vec<u8>, value: usize) {
    let value = u32::try_from(value).unwrap_or(0x00ff_ffff).min(0x00ff_ffff);
    out.extend_from_slice(&value.to_be_bytes()[1..]);
}

fn push_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    push_u16(out, data.len());
    out.extend_from_slice(data);
}

/// Classifies the first record of a server's reply to a ClientHello that
/// offered `offered`. Returns [`LegacyReply::Incomplete`] while more bytes
/// are needed to decide.
pub fn read_server_reply(bytes: &[u8], offered: LegacyVersion) -> LegacyReply {
    let Some(&content_type) = bytes.first() else {
        return LegacyReply::Incomplete;
    };
    if !(20..=24).contains(&content_type) || bytes.get(1).is_some_and(|&major| major != 3) {
        return LegacyReply::NotTls;
    }
    let Some(header) = bytes.get(..5) else {
        return LegacyReply::Incomplete;
    };

    let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
    if length == 0 || length > MAX_RECORD {
        return LegacyReply::NotTls;
    }
    let payload = &bytes[5..bytes.len().min(5 + length)];

    match content_type {
        21 => match payload {
            [level, description, ..] => LegacyReply::Alert {
                level: *level,
                description: *description,
            },
            _ => LegacyReply::Incomplete,
        },
        22 => classify_handshake(payload, offered),
        20 => LegacyReply::Unexpected {
            reason: "ChangeCipherSpec before any ServerHello".to_string(),
        },
        23 => LegacyReply::Unexpected {
            reason: "application data before any handshake".to_string(),
        },
        _ => LegacyReply::Unexpected {
            reason: "heartbeat record before any handshake".to_string(),
        },
    }
}

fn classify_handshake(payload: &[u8], offered: LegacyVersion) -> LegacyReply {
    let Some(&message_type) = payload.first() else {
        return LegacyReply::Incomplete;
    };
    if message_type != 2 {
        return LegacyReply::Unexpected {
            reason: format!("handshake message type {message_type} instead of ServerHello"),
        };
    }
    let Some(version) = payload.get(4..6) else {
        return LegacyReply::Incomplete;
    };

    let version = u16::from_be_bytes([version[0], version[1]]);
    match LegacyVersion::from_wire(version) {
        Some(chosen) if chosen == offered => LegacyReply::Accepted { version: chosen },
        _ if (0x0300..offered.wire()).contains(&version) => LegacyReply::Downgraded { version },
        _ => LegacyReply::Other { version },
    }
}

/// Most bytes read from the server before giving up on a classification.
const MAX_REPLY_BYTES: usize = 5 + MAX_RECORD;

/// Sends a legacy ClientHello on `stream` and reads until the reply can be
/// classified, the peer closes, `MAX_REPLY_BYTES` are read, or `timeout`
/// passes.
pub async fn probe<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    version: LegacyVersion,
    sni: &str,
    timeout: Duration,
) -> LegacyReply {
    let hello = client_hello(version, sni);
    let exchange = async {
        if let Err(error) = stream.write_all(&hello).await {
            return LegacyReply::Io(error.to_string());
        }
        if let Err(error) = stream.flush().await {
            return LegacyReply::Io(error.to_string());
        }

        let mut reply = Vec::with_capacity(1024);
        let mut chunk = [0u8; 4096];
        loop {
            let read = match stream.read(&mut chunk).await {
                Ok(read) => read,
                Err(error) if reply.is_empty() => return LegacyReply::Io(error.to_string()),
                Err(_) => return read_server_reply(&reply, version),
            };
            if read == 0 {
                return if reply.is_empty() {
                    LegacyReply::Closed
                } else {
                    read_server_reply(&reply, version)
                };
            }

            reply.extend_from_slice(&chunk[..read]);
            let classified = read_server_reply(&reply, version);
            if classified != LegacyReply::Incomplete || reply.len() >= MAX_REPLY_BYTES {
                return classified;
            }
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(LegacyReply::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Walks a ClientHello record and returns (client_version, suites, extension types, sni).
    fn dissect(record: &[u8]) -> (u16, Vec<u16>, Vec<u16>, Option<String>) {
        assert_eq!(&record[..3], &[0x16, 0x03, 0x01]);
        let length = usize::from(u16::from_be_bytes([record[3], record[4]]));
        assert_eq!(record.len(), 5 + length);
        let hs = &record[5..];
        assert_eq!(hs[0], 1);
        let body_len = usize::from(hs[1]) << 16 | usize::from(hs[2]) << 8 | usize::from(hs[3]);
        assert_eq!(hs.len(), 4 + body_len);
        let body = &hs[4..];
        let version = u16::from_be_bytes([body[0], body[1]]);
        let mut pos = 2 + 32;
        let sid = usize::from(body[pos]);
        pos += 1 + sid;
        let suites_len = usize::from(u16::from_be_bytes([body[pos], body[pos + 1]]));
        pos += 2;
        let suites = body[pos..pos + suites_len]
            .chunks(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        pos += suites_len;
        let compression = usize::from(body[pos]);
        pos += 1 + compression;
        let ext_len = usize::from(u16::from_be_bytes([body[pos], body[pos + 1]]));
        pos += 2;
        assert_eq!(body.len(), pos + ext_len);
        let mut kinds = Vec::new();
        let mut sni = None;
        while pos < body.len() {
            let kind = u16::from_be_bytes([body[pos], body[pos + 1]]);
            let len = usize::from(u16::from_be_bytes([body[pos + 2], body[pos + 3]]));
            let data = &body[pos + 4..pos + 4 + len];
            if kind == 0 {
                let name_len = usize::from(u16::from_be_bytes([data[3], data[4]]));
                sni = Some(String::from_utf8(data[5..5 + name_len].to_vec()).expect("ascii"));
            }
            kinds.push(kind);
            pos += 4 + len;
        }
        (version, suites, kinds, sni)
    }

    #[test]
    fn hello_is_well_formed() {
        for version in [LegacyVersion::Tls10, LegacyVersion::Tls11] {
            let (wire, suites, kinds, sni) = dissect(&client_hello(version, "app.example.test."));
            assert_eq!(wire, version.wire());
            assert!(suites.contains(&0x002f) && suites.contains(&0xc013));
            assert_eq!(kinds, vec![0x0000, 0x000a, 0x000b]);
            assert!(!kinds.contains(&0x002b), "no supported_versions");
            assert_eq!(sni.as_deref(), Some("app.example.test"));
        }
    }

    #[test]
    fn no_sni_for_ip_literals() {
        for host in ["127.0.0.1", "[::1]", "", "b\u{fc}cher.test"] {
            let (_, _, kinds, sni) = dissect(&client_hello(LegacyVersion::Tls10, host));
            assert_eq!(sni, None, "{host}");
            assert_eq!(kinds, vec![0x000a, 0x000b]);
        }
    }

    fn server_hello(version: u16) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec();
        body.extend_from_slice(&[7u8; 32]);
        body.extend_from_slice(&[0, 0x00, 0x2f, 0]);
        let mut hs = vec![2, 0, 0, u8::try_from(body.len()).expect("small")];
        hs.extend_from_slice(&body);
        let mut record = vec![0x16, 0x03, 0x01, 0, u8::try_from(hs.len()).expect("small")];
        record.extend_from_slice(&hs);
        record
    }

    #[test]
    fn classifies_replies() {
        let tls10 = LegacyVersion::Tls10;
        let tls11 = LegacyVersion::Tls11;
        assert_eq!(
            read_server_reply(&server_hello(0x0301), tls10),
            LegacyReply::Accepted { version: tls10 }
        );
        assert_eq!(
            read_server_reply(&server_hello(0x0301), tls11),
            LegacyReply::Downgraded { version: 0x0301 }
        );
        assert_eq!(
            read_server_reply(&server_hello(0x0303), tls10),
            LegacyReply::Other { version: 0x0303 }
        );
        assert_eq!(
            read_server_reply(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46], tls10),
            LegacyReply::Alert {
                level: 2,
                description: 70
            }
        );
        assert_eq!(
            read_server_reply(b"HTTP/1.1 400 Bad Request\r\n", tls10),
            LegacyReply::NotTls
        );
        assert_eq!(
            read_server_reply(&[0x16, 0x03, 0x01, 0x00, 0x00], tls10),
            LegacyReply::NotTls
        );
        assert!(matches!(
            read_server_reply(&[0x17, 0x03, 0x03, 0x00, 0x01, 0x00], tls10),
            LegacyReply::Unexpected { .. }
        ));
    }

    #[test]
    fn every_prefix_is_incomplete_until_decidable() {
        let full = server_hello(0x0301);
        for cut in 0..10 {
            assert_eq!(
                read_server_reply(&full[..cut], LegacyVersion::Tls10),
                LegacyReply::Incomplete,
                "prefix of {cut} bytes"
            );
        }
        assert!(read_server_reply(&full[..11], LegacyVersion::Tls10).accepts_legacy());
        let alert = [0x15, 0x03, 0x01, 0x00, 0x02, 0x02];
        assert_eq!(
            read_server_reply(&alert, LegacyVersion::Tls10),
            LegacyReply::Incomplete
        );
    }

    #[test]
    fn descriptions_name_the_outcome() {
        let refused = LegacyReply::Alert {
            level: 2,
            description: 70,
        };
        assert!(!refused.accepts_legacy());
        assert_eq!(
            refused.describe(LegacyVersion::Tls11),
            "the server refused TLS 1.1 with a fatal alert protocol_version (70)"
        );
        let accepted = LegacyReply::Accepted {
            version: LegacyVersion::Tls10,
        };
        assert!(
            accepted
                .describe(LegacyVersion::Tls10)
                .contains("accepted TLS 1.0")
        );
    }
}
