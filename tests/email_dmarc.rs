//! DMARC policy discovery and report-destination authorisation against
//! in-memory zones and, once, through hickory and a local DNS server; the
//! pitfall cases B09 and B11 with their verdicts.

use std::time::Duration;

use readiness::checks::email::dmarc::{
    DiscoveryOutcome, Policy, ReportAuthorization, check_report_destinations, discover,
};
use readiness::checks::email::dns::{HickoryDns, RecordData, TxtRecord, Zone, ZoneDns};
use readiness::checks::email::zone_server::ZoneServer;

#[tokio::test]
async fn b09_two_records_mean_no_policy_applies() {
    let mut zone = Zone::new();
    zone.add_txt(
        "_dmarc.example.com",
        "v=DMARC1; p=reject; rua=mailto:dmarc@example.com",
    );
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=none");
    let discovery = discover(&ZoneDns::new(zone), "example.com").await;

    assert_eq!(discovery.applied_policy(), None);
    match &discovery.outcome {
        DiscoveryOutcome::MultipleRecords { name, records } => {
            assert_eq!(name, "_dmarc.example.com");
            assert_eq!(records.len(), 2);
        }
        other => panic!("expected MultipleRecords, got {other:?}"),
    }
}

#[tokio::test]
async fn one_record_among_unrelated_txt_is_found() {
    let mut zone = Zone::new();
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject");
    zone.add_txt("_dmarc.example.com", "some-verification=abc");
    let discovery = discover(&ZoneDns::new(zone), "example.com").await;

    assert_eq!(discovery.applied_policy(), Some(Policy::Reject));
    assert!(!discovery.inherited());
}

#[tokio::test]
async fn b11_invalid_sp_makes_subdomains_inherit_p() {
    let mut zone = Zone::new();
    zone.add_txt(
        "_dmarc.example.com",
        "v=DMARC1; p=reject; sp=rejcet; rua=mailto:dmarc@example.com",
    );
    let dns = ZoneDns::new(zone);

    let sub = discover(&dns, "mail.example.com").await;
    assert!(sub.inherited());
    assert_eq!(sub.applied_policy(), Some(Policy::Reject));
    let record = sub.record().unwrap();
    assert_eq!(record.issues.len(), 1);
    assert_eq!(record.issues[0].tag, "sp");
    assert_eq!(record.issues[0].value, "rejcet");
}

#[tokio::test]
async fn a_subdomain_without_a_record_gets_the_organisational_sp() {
    let mut zone = Zone::new();
    zone.add_txt("_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine");
    zone.add_txt("_dmarc.own.example.com", "v=DMARC1; p=none");
    let dns = ZoneDns::new(zone);

    let inherited = discover(&dns, "news.example.com").await;
    assert_eq!(inherited.organizational_domain, "example.com");
    assert!(inherited.inherited());
    assert_eq!(inherited.applied_policy(), Some(Policy::Quarantine));

    let apex = discover(&dns, "example.com").await;
    assert!(!apex.inherited());
    assert_eq!(apex.applied_policy(), Some(Policy::Reject));

    let own = discover(&dns, "own.example.com").await;
    assert!(!own.inherited());
    assert_eq!(own.applied_policy(), Some(Policy::None));
}

#[tokio::test]
async fn missing_broken_and_failing_lookups() {
    let mut zone = Zone::new();
    zone.add_txt("_dmarc.broken.example", "v=DMARC1; sp=reject");
    zone.add_txt("_dmarc.typo.example", "v=DMARC1 p=reject");
    zone.set_timeout("_dmarc.slow.example");
    zone.add_txt("_dmarc.wrongversion.example", "v=DMARC2; p=reject");
    let dns = ZoneDns::new(zone);

    let missing = discover(&dns, "nothing.example").await;
    assert_eq!(missing.outcome, DiscoveryOutcome::NotFound);

    let broken = discover(&dns, "broken.example").await;
    assert!(matches!(broken.outcome, DiscoveryOutcome::Unusable { .. }));
    assert_eq!(broken.applied_policy(), None);

    let typo = discover(&dns, "typo.example").await;
    assert_eq!(
        typo.outcome,
        DiscoveryOutcome::NotFound,
        "`v=DMARC1 p=...` is no record"
    );
    assert_eq!(typo.discarded, ["v=DMARC1 p=reject"]);
    assert!(missing.discarded.is_empty());

    let slow = discover(&dns, "slow.example").await;
    assert!(matches!(slow.outcome, DiscoveryOutcome::DnsFailure(_)));

    let wrong = discover(&dns, "wrongversion.example").await;
    assert_eq!(wrong.outcome, DiscoveryOutcome::NotFound);
}

#[tokio::test]
async fn external_report_destinations_need_an_authorisation_record() {
    let mut zone = Zone::new();
    zone.add_txt(
        "_dmarc.example.com",
        "v=DMARC1; p=reject; rua=mailto:agg@example.com,mailto:agg@reports.example.net,\
         mailto:agg@nobody.example.org; ruf=mailto:f@mx.example.com",
    );
    zone.add_txt("example.com._report._dmarc.reports.example.net", "v=DMARC1");
    let dns = ZoneDns::new(zone);

    let discovery = discover(&dns, "example.com").await;
    let record = discovery.record().unwrap();
    let checks = check_report_destinations(&dns, "example.com", record).await;
    let verdicts: Vec<(&str, &str, &ReportAuthorization)> = checks
        .iter()
        .map(|c| (c.tag, c.destination.as_str(), &c.authorization))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("rua", "example.com", &ReportAuthorization::SameOrganization),
            (
                "rua",
                "reports.example.net",
                &ReportAuthorization::Authorized
            ),
            ("rua", "nobody.example.org", &ReportAuthorization::Missing),
            (
                "ruf",
                "mx.example.com",
                &ReportAuthorization::SameOrganization
            ),
        ]
    );
    assert_eq!(
        checks[2].query,
        "example.com._report._dmarc.nobody.example.org"
    );
}

#[tokio::test]
async fn discovery_over_the_real_resolver_with_a_split_record() {
    let mut zone = Zone::new();
    zone.add(
        "_dmarc.example.com",
        RecordData::Txt(TxtRecord::new(&["v=DMARC1; p=quarantine; ", "sp=reject"])),
    );
    let server = ZoneServer::start(zone, "127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    let dns = HickoryDns::new(&[server.addr()], Duration::from_secs(2)).unwrap();

    let discovery = discover(&dns, "app.example.com").await;

    assert!(discovery.inherited());
    assert_eq!(discovery.applied_policy(), Some(Policy::Reject));
    assert_eq!(
        discovery.record().unwrap().text,
        "v=DMARC1; p=quarantine; sp=reject"
    );
}
