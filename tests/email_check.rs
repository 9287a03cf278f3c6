//! The `email` check's domain rows: a well-published domain passes with no
//! finding, and each publishing mistake shows as its own finding code with
//! the record as evidence. Pitfalls B09 (two DMARC records) and B13 (two TXT
//! records at a DKIM selector) keep their verdicts at the check level.

use std::collections::BTreeSet;

use base64::Engine as _;
use readiness::checks::email::check::{audit, audit_domain};
use readiness::checks::email::config::{DmarcNone, EmailSettings, SelectorSpec};
use readiness::checks::email::dns::{HickoryDns, MxRecord, RecordData, Zone, ZoneDns};
use readiness::checks::email::zone_server::ZoneServer;
use readiness::report::model::{Severity, SubjectRow, Verdict};

const SENDER: &str = "198.51.100.7";

fn ed25519_record() -> String {
    let key: [u8; 32] = rand::random();
    format!(
        "v=DKIM1; k=ed25519; p={}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// A domain that gets everything right.
fn good_zone(domain: &str) -> Zone {
    good_zone_with(
        domain,
        &format!("v=DMARC1; p=reject; rua=mailto:dmarc@{domain}"),
    )
}

/// A well-published domain with the given DMARC record.
fn good_zone_with(domain: &str, dmarc: &str) -> Zone {
    let mut zone = Zone::new();
    zone.add_txt(
        domain,
        &format!("v=spf1 ip4:{SENDER} include:_spf.provider.example -all"),
    )
    .add_txt("_spf.provider.example", "v=spf1 ip4:203.0.113.0/24 -all")
    .add_txt(&format!("_dmarc.{domain}"), dmarc)
    .add_txt(&format!("s1._domainkey.{domain}"), &ed25519_record())
    .add(
        domain,
        RecordData::Mx(MxRecord {
            preference: 10,
            exchange: format!("mx.{domain}"),
        }),
    )
    .add(
        &format!("mx.{domain}"),
        RecordData::A("192.0.2.25".parse().unwrap()),
    )
    .add_txt(&format!("_mta-sts.{domain}"), "v=STSv1; id=2026010501")
    .add_txt(
        &format!("_smtp._tls.{domain}"),
        &format!("v=TLSRPTv1; rua=mailto:tls@{domain}"),
    );
    zone
}

fn settings(domains: &[&str]) -> EmailSettings {
    EmailSettings {
        enabled: true,
        domains: domains.iter().map(|d| d.to_string()).collect(),
        selectors: domains
            .iter()
            .map(|d| SelectorSpec {
                selector: "s1".into(),
                domain: d.to_string(),
            })
            .collect(),
        sending_ips: vec![SENDER.parse().unwrap()],
        spf_includes: vec!["_spf.provider.example".into()],
        ..EmailSettings::default()
    }
}

fn codes(row: &SubjectRow) -> BTreeSet<&str> {
    row.findings.iter().map(|f| f.code.as_str()).collect()
}

async fn row_for(zone: Zone, settings: &EmailSettings, domain: &str) -> SubjectRow {
    audit_domain(&ZoneDns::new(zone), settings, domain, true).await
}

#[tokio::test]
async fn a_well_published_domain_passes_without_findings() {
    let row = row_for(
        good_zone("example.com"),
        &settings(&["example.com"]),
        "example.com",
    )
    .await;
    assert_eq!(row.verdict, Verdict::Pass, "{row:#?}");
    assert!(row.findings.is_empty(), "{row:#?}");
    assert_eq!(row.measurements["spf_lookups"], 1);
    assert_eq!(row.measurements["dmarc_policy"], "reject");
    assert_eq!(row.measurements["spf_results"][0], "198.51.100.7 pass");
    assert!(row.measurements.contains_key("mta_sts"));
}

#[tokio::test]
async fn a_broken_domain_shows_each_flaw_with_the_record_as_evidence() {
    let domain = "broken.example";
    let mut zone = Zone::new();
    let includes: Vec<String> = (1..=11).map(|i| format!("include:l{i}.{domain}")).collect();
    zone.add_txt(
        domain,
        &format!("v=spf1 ip4:{SENDER} {} +all", includes.join(" ")),
    );
    for i in 1..=11 {
        zone.add_txt(&format!("l{i}.{domain}"), "v=spf1 ip4:203.0.113.9 -all");
    }
    zone.add_txt(&format!("s1._domainkey.{domain}"), "v=DKIM1; k=rsa; p=");
    let mut s = settings(&[domain]);
    s.spf_includes.clear();
    let row = row_for(zone, &s, domain).await;
    assert_eq!(row.verdict, Verdict::Fail);
    assert_eq!(
        codes(&row),
        BTreeSet::from([
            "email.spf-pass-all",
            "email.spf-lookup-limit",
            "email.dmarc-missing",
            "email.dkim-key-revoked",
            "email.mx-missing",
            "email.mta-sts-missing",
            "email.tls-rpt-missing",
        ])
    );
    let limit = row
        .findings
        .iter()
        .find(|f| f.code == "email.spf-lookup-limit")
        .unwrap();
    assert!(
        limit.evidence.contains("total: 11 of 10 DNS lookups"),
        "{}",
        limit.evidence
    );
    assert!(limit.evidence.contains("include:l11.broken.example"));
    let revoked = row
        .findings
        .iter()
        .find(|f| f.code == "email.dkim-key-revoked")
        .unwrap();
    assert!(revoked.evidence.contains("p="));
    assert_eq!(
        revoked.location.as_deref(),
        Some("TXT s1._domainkey.broken.example")
    );
    // Information findings are neutral; nothing is critical.
    assert!(row.findings.iter().all(|f| f.severity < Severity::Critical));
}

#[tokio::test]
async fn softfail_warns_unless_accepted() {
    let mut zone = good_zone("example.com");
    zone.add_txt("soft.example", &format!("v=spf1 ip4:{SENDER} ~all"));
    let mut s = settings(&["soft.example"]);
    s.selectors.clear();
    s.spf_includes.clear();
    let row = row_for(zone.clone(), &s, "soft.example").await;
    assert!(codes(&row).contains("email.spf-softfail-all"));
    s.accept_softfail = true;
    let row = row_for(zone, &s, "soft.example").await;
    assert!(!codes(&row).contains("email.spf-softfail-all"), "{row:#?}");
}

#[tokio::test]
async fn monitoring_only_dmarc_is_a_note_or_a_failure_as_configured() {
    let zone = good_zone_with("example.com", "v=DMARC1; p=none; rua=mailto:d@example.com");
    let mut s = settings(&["example.com"]);
    let row = row_for(zone.clone(), &s, "example.com").await;
    assert_eq!(codes(&row), BTreeSet::from(["email.dmarc-monitoring-only"]));
    assert_eq!(
        row.verdict,
        Verdict::Pass,
        "p=none passes with a note by default"
    );
    assert_eq!(row.findings[0].severity, Severity::Info);
    s.dmarc_none = DmarcNone::Fail;
    let row = row_for(zone, &s, "example.com").await;
    assert_eq!(row.verdict, Verdict::Fail);
}

#[tokio::test]
async fn b09_two_dmarc_records_fail_as_no_policy() {
    let mut zone = good_zone("example.com");
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    let row = row_for(zone, &settings(&["example.com"]), "example.com").await;
    assert_eq!(
        codes(&row),
        BTreeSet::from(["email.dmarc-multiple-records"])
    );
    assert_eq!(row.verdict, Verdict::Fail);
    assert!(row.findings[0].title.contains("no DMARC policy applies"));
}

#[tokio::test]
async fn b13_two_txt_records_at_a_selector_fail() {
    let mut zone = good_zone("example.com");
    zone.add_txt("s1._domainkey.example.com", "p=AB12leftover");
    let row = row_for(zone, &settings(&["example.com"]), "example.com").await;
    assert_eq!(codes(&row), BTreeSet::from(["email.dkim-multiple-records"]));
    assert_eq!(row.verdict, Verdict::Fail);
}

#[tokio::test]
async fn a_subdomain_reports_the_inherited_policy_not_a_missing_one() {
    let mut zone = good_zone("example.com");
    zone.add_txt(
        "bounce.example.com",
        &format!("v=spf1 ip4:{SENDER} include:_spf.provider.example -all"),
    )
    .add(
        "bounce.example.com",
        RecordData::Mx(MxRecord {
            preference: 10,
            exchange: "mx.example.com".into(),
        }),
    )
    .add_txt("_mta-sts.bounce.example.com", "v=STSv1; id=1")
    .add_txt(
        "_smtp._tls.bounce.example.com",
        "v=TLSRPTv1; rua=mailto:t@example.com",
    );
    let mut s = settings(&["example.com", "bounce.example.com"]);
    s.selectors.retain(|spec| spec.domain == "example.com");
    let row = audit_domain(&ZoneDns::new(zone), &s, "bounce.example.com", false).await;
    assert_eq!(codes(&row), BTreeSet::from(["email.dmarc-inherited"]));
    assert_eq!(row.verdict, Verdict::Pass);
    assert_eq!(row.measurements["dmarc_policy"], "reject");
}

#[tokio::test]
async fn unauthorised_senders_missing_provider_and_bad_mx() {
    let mut zone = Zone::new();
    zone.add_txt("example.org", "v=spf1 ip4:192.0.2.0/24 -all")
        .add_txt(
            "_dmarc.example.org",
            "v=DMARC1; p=quarantine; rua=mailto:d@reports.example.net",
        )
        .add(
            "example.org",
            RecordData::Mx(MxRecord {
                preference: 10,
                exchange: "gone.example.org".into(),
            }),
        )
        .add_txt(
            "s1._domainkey.example.org",
            "v=DKIM1; t=y; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
        );
    let row = row_for(zone, &settings(&["example.org"]), "example.org").await;
    assert_eq!(
        codes(&row),
        BTreeSet::from([
            "email.spf-sender-not-authorised",
            "email.spf-provider-missing",
            "email.dmarc-report-unauthorised",
            "email.dkim-testing",
            "email.mx-unresolvable",
            "email.mta-sts-missing",
            "email.tls-rpt-missing",
        ])
    );
    let sender = row
        .findings
        .iter()
        .find(|f| f.code == "email.spf-sender-not-authorised")
        .unwrap();
    assert!(
        sender
            .evidence
            .contains("198.51.100.7: fail (matched `-all` at example.org)"),
        "{}",
        sender.evidence
    );
}

#[tokio::test]
async fn the_whole_check_over_a_local_dns_server() {
    let mut zone = good_zone("example.com");
    zone.add_txt("missing-dmarc.example", "v=spf1 -all");
    let server = ZoneServer::start(zone, "127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    let dns = HickoryDns::new(&[server.addr()], std::time::Duration::from_secs(2)).unwrap();
    let mut s = settings(&["example.com"]);
    s.domains.push("missing-dmarc.example".into());
    let rows = audit(&dns, &s, None).await;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].verdict, Verdict::Pass, "{:#?}", rows[0]);
    assert!(codes(&rows[1]).contains("email.dmarc-missing"));
    assert!(codes(&rows[1]).contains("email.spf-sender-not-authorised"));
    assert!(server.queries_received() > 5);
}
