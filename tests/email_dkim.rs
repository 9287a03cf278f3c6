//! DKIM key records: the dkimpy and mailauth peer vectors, keys generated
//! here, the B13 pitfall, and the selector lookup over hickory and a local
//! DNS server.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use readiness::checks::email::dkim::{
    DkimRecordError, IssueLevel, KeyType, SelectorOutcome, lookup_selector, parse_key_record,
};
use readiness::checks::email::dns::{HickoryDns, RecordData, TxtRecord, Zone, ZoneDns};
use readiness::checks::email::zone_server::ZoneServer;

fn peer(path: &str) -> Option<String> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/peer-suites")
        .join(path);
    match std::fs::read_to_string(&full) {
        Ok(text) => Some(text.trim().to_string()),
        Err(_) => {
            eprintln!("skipped: {} not found", full.display());
            None
        }
    }
}

#[test]
fn dkimpy_key_records() {
    let mut checked = 0;
    let mut expect = |file: &str, check: &dyn Fn(&str)| {
        if let Some(text) = peer(&format!("dkimpy/{file}")) {
            check(&text);
            checked += 1;
        }
    };

    expect("test.txt", &|text| {
        let record = parse_key_record(text).unwrap();
        assert_eq!(record.key_type, KeyType::Rsa);
        assert_eq!(record.key_bits, Some(1024));
        assert!(record.is_usable());
        assert_eq!(record.worst(), Some(IssueLevel::Warn), "1024-bit RSA warns");
    });
    expect("test2.txt", &|text| {
        let record = parse_key_record(text).unwrap();
        assert_eq!(record.key_type, KeyType::Rsa, "no k= means rsa");
        assert!(record.is_usable());
    });
    expect("badversion.txt", &|text| {
        assert!(matches!(
            parse_key_record(text),
            Err(DkimRecordError::BadVersion(_))
        ));
    });
    expect("badk.txt", &|text| {
        let record = parse_key_record(text).unwrap();
        assert_eq!(
            record.key_type,
            KeyType::Unknown("ed25519-sha256".to_string())
        );
        assert!(!record.is_usable());
    });
    expect("test_bad.txt", &|text| {
        let record = parse_key_record(text).unwrap();
        assert!(
            !record.is_usable(),
            "a corrupted key cannot verify anything"
        );
        assert_eq!(record.key_bits, None);
    });
    expect("test_tlsrpt.txt", &|text| {
        let record = parse_key_record(text).unwrap();
        assert_eq!(record.service_types, ["tlsrpt"]);
        assert!(!record.is_usable(), "s=tlsrpt keys do not serve email");
    });
    for file in ["ed25519test.dns", "eximtest.dns"] {
        expect(file, &|text| {
            let record = parse_key_record(text).unwrap();
            assert_eq!(record.key_type, KeyType::Ed25519);
            assert_eq!(record.key_bits, Some(256));
            assert!(record.issues.is_empty(), "{:?}", record.issues);
        });
    }
    eprintln!("dkimpy key records: {checked}/8 checked");
}

fn mailauth_zone() -> Option<Zone> {
    let text = peer("mailauth-dkim-ec/dns.json")?;
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut zone = Zone::new();
    for (name, types) in json.as_object().unwrap() {
        for record in types["TXT"].as_array().unwrap() {
            let strings: Vec<&str> = record
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            zone.add(name, RecordData::Txt(TxtRecord::new(&strings)));
        }
    }
    Some(zone)
}

#[tokio::test]
async fn mailauth_split_rsa_record_and_ed25519_record() {
    let Some(zone) = mailauth_zone() else {
        return;
    };
    let server = ZoneServer::start(zone.clone(), "127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    let hickory = HickoryDns::new(&[server.addr()], Duration::from_secs(2)).unwrap();
    let memory = ZoneDns::new(zone);

    for dns in [
        &memory as &dyn readiness::checks::email::dns::DnsLookup,
        &hickory,
    ] {
        let rsa = lookup_selector(dns, "test", "football.example.com").await;
        assert_eq!(rsa.name, "test._domainkey.football.example.com");
        let SelectorOutcome::Found(record) = rsa.outcome else {
            panic!("expected a key, got {:?}", rsa.outcome);
        };
        assert!(
            record.text.contains("QIDAQAB"),
            "the four strings are joined"
        );
        assert_eq!(record.key_bits, Some(1024));
        assert_eq!(record.worst(), Some(IssueLevel::Warn));

        let ed = lookup_selector(dns, "brisbane", "football.example.com").await;
        let SelectorOutcome::Found(record) = ed.outcome else {
            panic!("expected a key, got {:?}", ed.outcome);
        };
        assert_eq!(record.key_type, KeyType::Ed25519);
        assert!(record.issues.is_empty());
    }
}

#[tokio::test]
async fn b13_two_txt_records_at_one_selector_are_an_error() {
    let key = STANDARD.encode(spki(&rsa_public_key(2048)));
    let (head, tail) = key.split_at(200);
    let mut zone = Zone::new();
    zone.add_txt(
        "sel1._domainkey.example.com",
        &format!("v=DKIM1; k=rsa; p={key}"),
    );
    zone.add_txt("sel1._domainkey.example.com", &format!("p={tail}"));
    zone.add(
        "sel2._domainkey.example.com",
        RecordData::Txt(TxtRecord::new(&[
            format!("v=DKIM1; k=rsa; p={head}"),
            tail.to_string(),
        ])),
    );
    let dns = ZoneDns::new(zone);

    let broken = lookup_selector(&dns, "sel1", "example.com").await;
    match broken.outcome {
        SelectorOutcome::MultipleRecords(records) => assert_eq!(records.len(), 2),
        other => panic!("expected MultipleRecords, got {other:?}"),
    }

    let split = lookup_selector(&dns, "sel2", "example.com").await;
    let SelectorOutcome::Found(record) = split.outcome else {
        panic!("one record split into strings is fine");
    };
    assert_eq!(record.key_bits, Some(2048));
    assert!(record.issues.is_empty(), "{:?}", record.issues);
}

#[tokio::test]
async fn missing_and_failing_selectors() {
    let mut zone = Zone::new();
    zone.set_timeout("slow._domainkey.example.com");
    zone.add_txt("junk._domainkey.example.com", "this is not a key");
    let dns = ZoneDns::new(zone);

    let missing = lookup_selector(&dns, "nope", "example.com").await;
    assert_eq!(missing.outcome, SelectorOutcome::NotFound);
    let slow = lookup_selector(&dns, "slow", "example.com").await;
    assert!(matches!(slow.outcome, SelectorOutcome::DnsFailure(_)));
    let junk = lookup_selector(&dns, "junk", "example.com").await;
    assert!(matches!(junk.outcome, SelectorOutcome::Invalid { .. }));
}

#[test]
fn generated_ed25519_and_ecdsa_keys() {
    let ed = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).unwrap();
    let raw = STANDARD.encode(ed.public_key_raw());
    let record = parse_key_record(&format!("v=DKIM1; k=ed25519; p={raw}")).unwrap();
    assert_eq!(record.key_bits, Some(256));
    assert!(record.issues.is_empty());

    let wrapped = STANDARD.encode(ed.public_key_der());
    let record = parse_key_record(&format!("v=DKIM1; k=ed25519; p={wrapped}")).unwrap();
    assert!(
        !record.is_usable(),
        "RFC 8463 keys are raw, not SubjectPublicKeyInfo"
    );

    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let der = STANDARD.encode(ec.public_key_der());
    let record = parse_key_record(&format!("v=DKIM1; k=rsa; p={der}")).unwrap();
    assert!(!record.is_usable());
    assert!(record.issues[0].message.contains("non-RSA"));
}

#[test]
fn rsa_key_strength_thresholds() {
    for (bits, level) in [
        (512, Some(IssueLevel::Fail)),
        (1023, Some(IssueLevel::Fail)),
        (1024, Some(IssueLevel::Warn)),
        (2047, Some(IssueLevel::Warn)),
        (2048, None),
        (4096, None),
    ] {
        let p = STANDARD.encode(spki(&rsa_public_key(bits)));
        let record = parse_key_record(&format!("v=DKIM1; k=rsa; p={p}")).unwrap();
        assert_eq!(record.key_bits, Some(bits), "{bits}");
        assert_eq!(record.worst(), level, "{bits}");
    }
    let bare = STANDARD.encode(rsa_public_key(2048));
    let record = parse_key_record(&format!("v=DKIM1; p={bare}")).unwrap();
    assert_eq!(
        record.key_bits,
        Some(2048),
        "PKCS#1 RSAPublicKey is read too"
    );
}

#[test]
fn revoked_testing_and_hash_restrictions() {
    let revoked = parse_key_record("v=DKIM1; k=rsa; p=").unwrap();
    assert!(revoked.revoked);
    assert_eq!(revoked.worst(), Some(IssueLevel::Fail));

    let p = STANDARD.encode(spki(&rsa_public_key(2048)));
    let testing = parse_key_record(&format!("v=DKIM1; t=y; p={p}")).unwrap();
    assert!(testing.is_testing());
    assert_eq!(testing.worst(), Some(IssueLevel::Warn));

    let sha1 = parse_key_record(&format!("v=DKIM1; h=sha1; p={p}")).unwrap();
    assert_eq!(sha1.worst(), Some(IssueLevel::Fail));

    let good = parse_key_record(&format!("v=DKIM1; h=sha1:sha256; s=email; t=s; p={p}")).unwrap();
    assert!(good.issues.is_empty(), "{:?}", good.issues);
    assert!(good.is_strict());
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap());
    } else if len < 0x100 {
        out.extend([0x81, u8::try_from(len).unwrap()]);
    } else {
        out.extend([
            0x82,
            u8::try_from(len >> 8).unwrap(),
            u8::try_from(len & 0xff).unwrap(),
        ]);
    }
    out.extend_from_slice(content);
    out
}

/// A PKCS#1 RSAPublicKey with a modulus of exactly `bits` bits. The modulus
/// is not a product of primes: only its size matters to the record check.
fn rsa_public_key(bits: u32) -> Vec<u8> {
    let bytes = usize::try_from(bits.div_ceil(8)).unwrap();
    let mut modulus = vec![0xA7u8; bytes];
    let top_bits = bits - (u32::try_from(bytes).unwrap() - 1) * 8;
    // All ones in the top `top_bits` bit positions of the first byte.
    modulus[0] = u8::try_from((1u16 << top_bits) - 1).unwrap();
    if modulus[0] & 0x80 != 0 {
        modulus.insert(0, 0);
    }
    let mut body = der(0x02, &modulus);
    body.extend(der(0x02, &[0x01, 0x00, 0x01]));
    der(0x30, &body)
}

fn spki(rsa: &[u8]) -> Vec<u8> {
    let oid = [
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01,
    ];
    let mut algorithm = oid.to_vec();
    algorithm.extend([0x05, 0x00]);
    let mut bit_string = vec![0x00];
    bit_string.extend_from_slice(rsa);
    let mut body = der(0x30, &algorithm);
    body.extend(der(0x03, &bit_string));
    der(0x30, &body)
}
