//! The sample-mail part of the `email` check: mails signed here with a
//! generated ed25519 key pass, and each alteration (body, header, key record,
//! connecting host, signing domain) shows as its own failure; the DKIM peer
//! vectors (stalwart mail-auth, mailauth ed25519, dkimpy) verify through the
//! same path, with their pass counts printed.

use std::path::PathBuf;

use mail_auth::MessageAuthenticator;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use readiness::checks::email::config::EmailSettings;
use readiness::checks::email::dmarc::Policy;
use readiness::checks::email::dns::{RecordData, TxtRecord, Zone, ZoneDns, resolver_setup};
use readiness::checks::email::sample::{DmarcVerdict, authenticate, judge};
use readiness::checks::email::spf::SpfResult;
use readiness::report::model::Verdict;

const BODY: &str =
    "Welcome to Acme!\r\n\r\nConfirm your address: https://app.example.com/v/123\r\n";

/// A verifier whose own resolver points at a closed port: every key must
/// come from the zone through the pre-filled cache.
fn verifier() -> MessageAuthenticator {
    let (config, options) = resolver_setup(
        &["127.0.0.1:9".parse().unwrap()],
        std::time::Duration::from_millis(200),
    )
    .unwrap();
    MessageAuthenticator::new(config, options).unwrap()
}

struct Signer {
    pkcs8: Vec<u8>,
    public: String,
}

fn signer() -> Signer {
    use base64::Engine as _;
    let pkcs8 = Ed25519Key::generate_pkcs8().unwrap();
    let key = Ed25519Key::from_pkcs8_der(&pkcs8).unwrap();
    let public = base64::engine::general_purpose::STANDARD.encode(key.public_key());
    Signer { pkcs8, public }
}

impl Signer {
    fn key_record(&self) -> String {
        format!("v=DKIM1; k=ed25519; p={}", self.public)
    }

    /// Signs a mail from `from_domain` with d=`domain`, then adds the headers
    /// the receiving provider writes (Return-Path, Received).
    fn mail(&self, domain: &str, from_domain: &str, client: &str) -> String {
        let headers = format!(
            "From: Acme <hello@{from_domain}>\r\nTo: new.user@example.net\r\n\
             Subject: Confirm your address\r\nDate: Mon, 5 Jan 2026 10:00:00 +0000\r\n\
             Message-ID: <1@{from_domain}>\r\n"
        );
        let message = format!("{headers}\r\n{BODY}");
        let key = Ed25519Key::from_pkcs8_der(&self.pkcs8).unwrap();
        let signature = DkimSigner::from_key(key)
            .domain(domain)
            .selector("s1")
            .headers(["From", "To", "Subject", "Date", "Message-ID"])
            .sign(message.as_bytes())
            .unwrap();
        format!(
            "Return-Path: <bounce@{from_domain}>\r\n\
             Received: from out.{from_domain} (out.{from_domain} [{client}]) by mx.example.net \
             with ESMTPS; Mon, 5 Jan 2026 10:00:01 +0000\r\n{}{message}",
            signature.to_header()
        )
    }
}

fn zone(signer: &Signer) -> Zone {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 ip4:198.51.100.7 -all")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=reject")
        .add_txt("s1._domainkey.example.com", &signer.key_record())
        .add_txt("provider.example", "v=spf1 ip4:203.0.113.0/24 -all")
        .add_txt("s1._domainkey.provider.example", &signer.key_record());
    zone
}

#[tokio::test]
async fn a_signed_mail_passes_spf_dkim_and_dmarc() {
    let signer = signer();
    let dns = ZoneDns::new(zone(&signer));
    let mail = signer.mail("example.com", "example.com", "198.51.100.7");
    let report = authenticate(&dns, &verifier(), mail.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.dkim.len(), 1);
    assert_eq!(report.dkim[0].result, "pass", "{report:?}");
    assert!(report.dkim[0].aligned);
    assert_eq!(report.spf, Some(SpfResult::Pass));
    assert_eq!(report.client_ip, Some("198.51.100.7".parse().unwrap()));
    assert!(report.spf_aligned);
    assert_eq!(report.dmarc, DmarcVerdict::Pass);
    assert!(report.show_original().contains("DMARC: 'PASS'"));

    let row = judge(
        &dns,
        &verifier(),
        &EmailSettings::default(),
        mail.as_bytes(),
        "sample x.eml",
        "x.eml",
    )
    .await;
    assert_eq!(row.verdict, Verdict::Pass, "{row:#?}");
    assert!(row.findings.is_empty());

    // Saved with bare LF line ends: still verifies.
    let lf = mail.replace("\r\n", "\n");
    let report = authenticate(&dns, &verifier(), lf.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.dkim[0].result, "pass");
}

async fn codes_of(dns: &ZoneDns, mail: &str) -> Vec<String> {
    let row = judge(
        dns,
        &verifier(),
        &EmailSettings::default(),
        mail.as_bytes(),
        "sample x.eml",
        "x.eml",
    )
    .await;
    row.findings.iter().map(|f| f.code.clone()).collect()
}

#[tokio::test]
async fn an_altered_body_breaks_the_body_hash() {
    let signer = signer();
    let dns = ZoneDns::new(zone(&signer));
    let mail = signer
        .mail("example.com", "example.com", "198.51.100.7")
        .replace("/v/123", "/v/999");
    let report = authenticate(&dns, &verifier(), mail.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.dkim[0].result, "neutral");
    assert!(
        report.dkim[0].reason.to_lowercase().contains("body"),
        "{report:?}"
    );
    // SPF still aligns, so DMARC passes: only the DKIM failure is reported.
    assert_eq!(report.dmarc, DmarcVerdict::Pass);
    assert_eq!(codes_of(&dns, &mail).await, ["email.sample-dkim-fail"]);
}

#[tokio::test]
async fn an_altered_signed_header_fails_the_signature() {
    let signer = signer();
    let dns = ZoneDns::new(zone(&signer));
    let mail = signer
        .mail("example.com", "example.com", "198.51.100.7")
        .replace("Subject: Confirm", "Subject: Kindly confirm");
    let report = authenticate(&dns, &verifier(), mail.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.dkim[0].result, "fail", "{report:?}");
    assert_eq!(codes_of(&dns, &mail).await, ["email.sample-dkim-fail"]);
}

#[tokio::test]
async fn a_revoked_or_missing_key_record_fails_dkim() {
    let signer = signer();
    let mail = signer.mail("example.com", "example.com", "198.51.100.7");

    let mut revoked = Zone::new();
    revoked
        .add_txt("example.com", "v=spf1 ip4:198.51.100.7 -all")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=reject")
        .add_txt("s1._domainkey.example.com", "v=DKIM1; k=ed25519; p=");
    let dns = ZoneDns::new(revoked);
    let report = authenticate(&dns, &verifier(), mail.as_bytes(), None)
        .await
        .unwrap();
    assert_ne!(report.dkim[0].result, "pass", "{report:?}");
    assert_eq!(codes_of(&dns, &mail).await, ["email.sample-dkim-fail"]);

    // Another key at the selector: the signature does not verify.
    let other = self::signer();
    let dns = ZoneDns::new(zone(&other));
    let report = authenticate(&dns, &verifier(), mail.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.dkim[0].result, "fail", "{report:?}");

    let mut missing = Zone::new();
    missing
        .add_txt("example.com", "v=spf1 ip4:198.51.100.7 -all")
        .add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    let dns = ZoneDns::new(missing);
    let report = authenticate(&dns, &verifier(), mail.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.dkim[0].result, "permerror", "{report:?}");
}

#[tokio::test]
async fn an_unauthorised_host_fails_spf_and_with_a_broken_signature_dmarc() {
    let signer = signer();
    let dns = ZoneDns::new(zone(&signer));
    let mail = signer.mail("example.com", "example.com", "192.0.2.66");
    let report = authenticate(&dns, &verifier(), mail.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.spf, Some(SpfResult::Fail));
    assert_eq!(report.dmarc, DmarcVerdict::Pass, "DKIM still aligns");
    assert_eq!(codes_of(&dns, &mail).await, ["email.sample-spf-fail"]);

    let broken = mail.replace("/v/123", "/v/999");
    let report = authenticate(&dns, &verifier(), broken.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.dmarc, DmarcVerdict::Fail(Policy::Reject));
    assert_eq!(
        codes_of(&dns, &broken).await,
        [
            "email.sample-dkim-fail",
            "email.sample-spf-fail",
            "email.sample-dmarc-fail"
        ]
    );

    // The profile's client address wins over the Received header.
    let report = authenticate(
        &dns,
        &verifier(),
        mail.as_bytes(),
        Some("198.51.100.7".parse().unwrap()),
    )
    .await
    .unwrap();
    assert_eq!(report.spf, Some(SpfResult::Pass));
}

#[tokio::test]
async fn a_provider_signature_does_not_align_with_the_product_domain() {
    let signer = signer();
    let dns = ZoneDns::new(zone(&signer));
    // Signed by the provider's domain, sent from the provider's network with
    // the provider's return-path: both pass, neither aligns.
    let mail = signer
        .mail("provider.example", "example.com", "203.0.113.5")
        .replace("bounce@example.com", "bounce@provider.example");
    let report = authenticate(&dns, &verifier(), mail.as_bytes(), None)
        .await
        .unwrap();
    assert_eq!(report.dkim[0].result, "pass");
    assert!(!report.dkim[0].aligned);
    assert_eq!(report.spf, Some(SpfResult::Pass));
    assert!(!report.spf_aligned);
    assert_eq!(report.dmarc, DmarcVerdict::Fail(Policy::Reject));
    assert_eq!(
        codes_of(&dns, &mail).await,
        [
            "email.sample-dkim-unaligned",
            "email.sample-spf-unaligned",
            "email.sample-dmarc-fail"
        ]
    );
}

#[tokio::test]
async fn unsigned_unparseable_and_ip_less_mails() {
    let signer = signer();
    let dns = ZoneDns::new(zone(&signer));
    let unsigned = "From: hello@example.com\r\nTo: x@example.net\r\nSubject: hi\r\n\r\nbody\r\n";
    let codes = codes_of(&dns, unsigned).await;
    assert_eq!(
        codes,
        [
            "email.sample-dkim-none",
            "email.sample-no-client-ip",
            "email.sample-dmarc-fail"
        ]
    );
    let codes = codes_of(&dns, "no headers at all").await;
    assert_eq!(codes, ["email.sample-unreadable"]);
}

// ---- peer vectors ----

fn peer_dir(name: &str) -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/peer-suites")
        .join(name);
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipped: {} not found", dir.display());
        None
    }
}

/// The results of every signature of `mail`, in header order.
async fn dkim_results(zone: Zone, mail: &[u8]) -> Vec<(String, String)> {
    let dns = ZoneDns::new(zone);
    match authenticate(&dns, &verifier(), mail, None).await {
        Ok(report) => report
            .dkim
            .iter()
            .map(|d| (d.result.to_string(), d.reason.clone()))
            .collect(),
        Err(e) => vec![("unreadable".to_string(), e)],
    }
}

#[tokio::test]
async fn stalwart_mail_auth_dkim_vectors() {
    let Some(dir) = peer_dir("stalwart-mail-auth/dkim") else {
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let (mut passed, mut expired, mut failed) = (0, Vec::new(), Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let (records, message) = text.split_once("\n\n").unwrap();
        let mut zone = Zone::new();
        for line in records.lines() {
            let (name, value) = line.split_once(' ').unwrap();
            zone.add_txt(name, value);
        }
        let results = dkim_results(zone, message.as_bytes()).await;
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        match results.last() {
            Some((result, _)) if result == "pass" => passed += 1,
            Some((_, reason)) if reason.to_lowercase().contains("expired") => {
                expired.push(name);
            }
            other => failed.push(format!("{name}: {other:?}")),
        }
    }
    eprintln!(
        "stalwart mail-auth dkim: {passed}/{} passed; expired x= (the suite fixes the clock at \
         1667843664, mail-auth's public API verifies at the current time): {expired:?}; \
         failed: {failed:#?}",
        files.len()
    );
    assert!(failed.is_empty(), "{failed:#?}");
    assert!(passed + expired.len() == files.len() && passed >= 5);
}

#[tokio::test]
async fn mailauth_rfc8463_ed25519_and_split_rsa_record() {
    let Some(dir) = peer_dir("mailauth-dkim-ec") else {
        return;
    };
    let zone = mailauth_zone(&dir);
    let mail = std::fs::read(dir.join("signed.eml")).unwrap();
    let results = dkim_results(zone, &mail).await;
    let passed = results.iter().filter(|(r, _)| r == "pass").count();
    eprintln!("mailauth dkim ec: {passed}/{} passed", results.len());
    assert_eq!(passed, 2, "{results:?}");
}

fn mailauth_zone(dir: &std::path::Path) -> Zone {
    let text = std::fs::read_to_string(dir.join("dns.json")).unwrap();
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
    zone
}

#[tokio::test]
async fn dkimpy_signed_messages() {
    let (Some(dir), Some(keys)) = (peer_dir("dkimpy"), peer_dir("mailauth-dkim-ec")) else {
        return;
    };
    let mut total = 0;
    let mut passed = 0;

    // rfc6376.signed.msg: ed25519 and RSA over one message, RFC 8463 keys.
    let mail = std::fs::read(dir.join("rfc6376.signed.msg")).unwrap();
    let results = dkim_results(mailauth_zone(&keys), &mail).await;
    total += results.len();
    passed += results.iter().filter(|(r, _)| r == "pass").count();

    // ed25519test2.msg: d=test.ex s=sed, key in eximtest.dns.
    let key = std::fs::read_to_string(dir.join("eximtest.dns")).unwrap();
    let mut zone = Zone::new();
    zone.add_txt("sed._domainkey.test.ex", key.trim());
    let mail = std::fs::read(dir.join("ed25519test2.msg")).unwrap();
    let results = dkim_results(zone, &mail).await;
    total += results.len();
    let ok = results.iter().filter(|(r, _)| r == "pass").count();
    passed += ok;
    eprintln!("dkimpy: {passed}/{total} signatures passed (ed25519test2: {results:?})");
    assert_eq!(passed, 3, "{passed}/{total}");
}
