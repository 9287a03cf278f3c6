//! The demo's mail domains for the `email` check: a DNS server on 127.0.0.1
//! serving a well-published domain and a broken twin (SPF over 10 lookups
//! and `+all`, no DMARC, a revoked DKIM key), and an onboarding mail signed
//! by the good domain with a key generated at start.

use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;

use crate::checks::email::dns::{MxRecord, RecordData, TxtRecord, Zone};
use crate::checks::email::zone_server::ZoneServer;

/// The domain that gets everything right.
pub const GOOD_DOMAIN: &str = "readiness-demo.test";
/// The domain with the flaws.
pub const BROKEN_DOMAIN: &str = "readiness-broken.test";
/// The host that sends the product's mail (TEST-NET-2).
pub const SENDING_IP: &str = "198.51.100.25";
/// The DKIM selector of both domains.
pub const SELECTOR: &str = "mail";
/// The sample mail's file name next to the profile.
pub const SAMPLE_FILE: &str = "onboarding.eml";

/// The running mail part of the demo.
pub struct MailDemo {
    /// The DNS server; it stops when dropped.
    pub server: ZoneServer,
    /// The signed onboarding mail, as a receiver saved it.
    pub sample: String,
}

impl MailDemo {
    /// Generates the signing key, starts the DNS server and signs the sample.
    pub async fn start() -> Result<MailDemo, String> {
        use base64::Engine as _;
        let crypto = |e: mail_auth::Error| format!("cannot make the demo's DKIM key: {e}");
        let pkcs8 = Ed25519Key::generate_pkcs8().map_err(crypto)?;
        let key = Ed25519Key::from_pkcs8_der(&pkcs8).map_err(crypto)?;
        let public = base64::engine::general_purpose::STANDARD.encode(key.public_key());

        let server = ZoneServer::start(zone(&public), std::net::Ipv4Addr::LOCALHOST.into())
            .await
            .map_err(|e| format!("cannot start the demo's DNS server: {e}"))?;
        let sample = signed_sample(key).map_err(crypto)?;
        Ok(MailDemo { server, sample })
    }

    /// The profile tables pointing the `email` check at the demo's DNS.
    pub fn profile_text(&self) -> String {
        format!(
            r#"
[dns]
nameservers = ["{addr}"]
timeout = "2s"

[checks.email]
domain = "{GOOD_DOMAIN}"
sending_domains = ["{BROKEN_DOMAIN}"]
dkim_selectors = ["{SELECTOR}", "{SELECTOR}@{BROKEN_DOMAIN}"]
sending_ips = ["{SENDING_IP}"]
sample = "{SAMPLE_FILE}"
"#,
            addr = self.server.addr()
        )
    }
}

fn mx(zone: &mut Zone, domain: &str) {
    let exchange = format!("mx.{domain}");
    zone.add(
        domain,
        RecordData::Mx(MxRecord {
            preference: 10,
            exchange: exchange.clone(),
        }),
    )
    .add(
        &exchange,
        RecordData::A(std::net::Ipv4Addr::new(192, 0, 2, 25)),
    )
    .add_txt(&format!("_mta-sts.{domain}"), "v=STSv1; id=20260105")
    .add_txt(
        &format!("_smtp._tls.{domain}"),
        &format!("v=TLSRPTv1; rua=mailto:tls-reports@{domain}"),
    );
}

fn zone(public_key: &str) -> Zone {
    let mut zone = Zone::new();

    let good = GOOD_DOMAIN;
    zone.add_txt(
        good,
        &format!("v=spf1 ip4:{SENDING_IP} include:_spf.mailer.{good} -all"),
    )
    .add_txt(
        &format!("_spf.mailer.{good}"),
        "v=spf1 ip4:203.0.113.0/24 -all",
    )
    .add_txt(
        &format!("_dmarc.{good}"),
        &format!("v=DMARC1; p=reject; rua=mailto:dmarc-reports@{good}"),
    )
    .add_txt(
        &format!("{SELECTOR}._domainkey.{good}"),
        &format!("v=DKIM1; k=ed25519; p={public_key}"),
    );
    mx(&mut zone, good);

    // The twin: eleven includes (one over the limit) and `+all`; no DMARC;
    // the selector's key revoked.
    let broken = BROKEN_DOMAIN;
    let includes: Vec<String> = (1..=11)
        .map(|i| format!("include:_spf{i}.{broken}"))
        .collect();
    // Over 255 bytes: published as several strings of one record.
    let record = format!("v=spf1 ip4:{SENDING_IP} {} +all", includes.join(" "));
    let strings: Vec<&[u8]> = record.as_bytes().chunks(200).collect();
    zone.add(broken, RecordData::Txt(TxtRecord::new(&strings)));
    for i in 1..=11 {
        zone.add_txt(
            &format!("_spf{i}.{broken}"),
            &format!("v=spf1 ip4:203.0.113.{i} -all"),
        );
    }
    zone.add_txt(
        &format!("{SELECTOR}._domainkey.{broken}"),
        "v=DKIM1; k=rsa; p=",
    );
    mx(&mut zone, broken);
    zone
}

/// The verification mail as the receiving provider stored it: its
/// Return-Path and Received headers on top of the signed message.
fn signed_sample(key: Ed25519Key) -> Result<String, mail_auth::Error> {
    let good = GOOD_DOMAIN;
    let message = format!(
        "From: Demo Platform <hello@{good}>\r\n\
         To: new.member@example.net\r\n\
         Subject: Confirm your email address\r\n\
         Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n\
         Message-ID: <welcome-1@{good}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\
         \r\n\
         Welcome to the demo community platform.\r\n\
         \r\n\
         Confirm your address: https://app.{good}/verify/0000\r\n"
    );
    let signature = DkimSigner::from_key(key)
        .domain(good)
        .selector(SELECTOR)
        .headers([
            "From",
            "To",
            "Subject",
            "Date",
            "Message-ID",
            "MIME-Version",
        ])
        .sign(message.as_bytes())?;
    Ok(format!(
        "Return-Path: <bounce@{good}>\r\n\
         Received: from out.{good} (out.{good} [{SENDING_IP}]) by mx.example.net with ESMTPS; \
         Mon, 05 Jan 2026 10:00:01 +0000\r\n\
         {}{message}",
        signature.to_header()
    ))
}
