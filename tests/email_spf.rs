//! SPF evaluation as the audit uses it: the pitfall cases from
//! `cases/pitfalls.md` with their verdicts, the include tree and its counts,
//! the lints (each flagged on a bad record and absent on a good one), and the
//! hickory resolver path with its per-audit cache.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use readiness::checks::email::dns::{HickoryDns, RecordData, Zone, ZoneDns};
use readiness::checks::email::spf::{
    LintLevel, NodeVia, SpfEvaluation, SpfLintKind, SpfRequest, SpfResult, evaluate, render_tree,
};
use readiness::checks::email::zone_server::ZoneServer;

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn request(client: &str, domain: &str) -> SpfRequest {
    SpfRequest::new(ip(client), &format!("user@{domain}"), "mail.example.org")
}

async fn run(zone: Zone, client: &str, domain: &str) -> SpfEvaluation {
    evaluate(&ZoneDns::new(zone), &request(client, domain)).await
}

fn kinds(evaluation: &SpfEvaluation) -> Vec<SpfLintKind> {
    evaluation.lints.iter().map(|l| l.kind).collect()
}

fn b01_zone() -> Zone {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 a mx -all");
    zone.add_txt("example.org", "v=spf1 redirect=example.com");
    zone
}

#[tokio::test]
async fn b01_a_and_mx_resolving_to_nothing_are_two_voids_not_a_permerror() {
    let evaluation = run(b01_zone(), "192.0.2.10", "example.com").await;

    assert_eq!(evaluation.result, SpfResult::Fail);
    assert_eq!(evaluation.matched.as_ref().unwrap().term, "-all");
    assert_eq!(evaluation.total_voids, 2);
    assert_eq!(evaluation.evaluated_voids, 2);
    assert_eq!(evaluation.total_lookups, 2);
    let voids: Vec<_> = evaluation
        .lints
        .iter()
        .filter(|l| l.kind == SpfLintKind::VoidTerm)
        .map(|l| l.term.clone().unwrap())
        .collect();
    assert_eq!(voids, ["a", "mx"]);
    assert!(!kinds(&evaluation).contains(&SpfLintKind::VoidLimitExceeded));
}

#[tokio::test]
async fn b01_through_a_redirect_counts_the_voids_once() {
    let evaluation = run(b01_zone(), "192.0.2.10", "example.org").await;

    assert_eq!(evaluation.result, SpfResult::Fail);
    assert_eq!(evaluation.total_lookups, 3, "redirect + a + mx");
    assert_eq!(evaluation.total_voids, 2);
    assert_eq!(evaluation.evaluated_lookups, 3);
    assert_eq!(evaluation.evaluated_voids, 2);
    assert_eq!(
        evaluation.tree.voids.len(),
        0,
        "the redirecting record has none"
    );
    assert_eq!(evaluation.tree.children[0].voids.len(), 2);
}

#[tokio::test]
async fn b01_over_the_real_resolver_path() {
    let server = ZoneServer::start(b01_zone(), ip("127.0.0.1"))
        .await
        .unwrap();
    let dns = HickoryDns::new(&[server.addr()], Duration::from_secs(2)).unwrap();

    let evaluation = evaluate(&dns, &request("192.0.2.10", "example.org")).await;

    assert_eq!(evaluation.result, SpfResult::Fail);
    assert_eq!(evaluation.total_voids, 2);
    assert_eq!(evaluation.evaluated_voids, 2);
    assert_eq!(evaluation.total_lookups, 3);
}

#[tokio::test]
async fn b03_a_record_of_only_a_redirect_is_valid() {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 redirect=_spf.example.net");
    zone.add_txt("_spf.example.net", "v=spf1 ip4:192.0.2.0/24 -all");

    let evaluation = run(zone.clone(), "192.0.2.9", "example.com").await;
    assert_eq!(evaluation.result, SpfResult::Pass);
    assert_eq!(evaluation.tree.lookups, 1);
    assert_eq!(evaluation.total_lookups, 1);
    assert_eq!(evaluation.tree.children[0].via, NodeVia::Redirect);
    assert!(evaluation.tree.problem.is_none());
    assert!(!kinds(&evaluation).contains(&SpfLintKind::SyntaxError));

    let outside = run(zone, "198.51.100.1", "example.com").await;
    assert_eq!(outside.result, SpfResult::Fail, "the target's -all decides");
}

#[tokio::test]
async fn b05_redirect_next_to_all_is_dead() {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 redirect=_spf.example.net -all");
    zone.add_txt("_spf.example.net", "v=spf1 ip4:192.0.2.0/24 -all");

    let evaluation = run(zone, "192.0.2.9", "example.com").await;

    assert_eq!(evaluation.result, SpfResult::Fail);
    let lint = evaluation
        .lints
        .iter()
        .find(|l| l.kind == SpfLintKind::RedirectIgnored)
        .expect("redirect-is-dead lint");
    assert_eq!(lint.level, LintLevel::Warn);
    assert_eq!(lint.term.as_deref(), Some("redirect=_spf.example.net"));
    assert!(
        evaluation.tree.children.is_empty(),
        "the dead redirect is not followed"
    );
    assert_eq!(evaluation.total_lookups, 0);
}

#[tokio::test]
async fn b07a_two_spf_records_at_one_name_are_a_permerror() {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 mx ~all");
    zone.add_txt("example.com", "v=spf1 a ~all");

    let evaluation = run(zone, "192.0.2.9", "example.com").await;

    assert_eq!(evaluation.result, SpfResult::PermError);
    assert!(kinds(&evaluation).contains(&SpfLintKind::MultipleRecords));
}

#[tokio::test]
async fn b07b_one_record_per_name_along_a_chain_is_not_a_duplicate() {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 redirect=_spf.example.com");
    zone.add_txt("_spf.example.com", "v=spf1 include:_spf2.example.net ~all");
    zone.add_txt("_spf2.example.net", "v=spf1 ip4:192.0.2.0/24 ~all");
    zone.add_txt("_spf2.example.net", "google-site-verification=not-spf");

    let evaluation = run(zone, "192.0.2.9", "example.com").await;

    assert_eq!(evaluation.result, SpfResult::Pass);
    assert!(!kinds(&evaluation).contains(&SpfLintKind::MultipleRecords));
    assert_eq!(evaluation.total_lookups, 2);
    assert_eq!(
        evaluation.tree.children[0].children[0].domain,
        "_spf2.example.net"
    );
}

#[tokio::test]
async fn a_clean_policy_has_no_lints() {
    let mut zone = Zone::new();
    zone.add_txt(
        "example.com",
        "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all",
    );
    zone.add_txt("_spf.example.net", "v=spf1 ip6:2001:db8::/32 ~all");

    let evaluation = run(zone, "192.0.2.9", "example.com").await;

    assert_eq!(evaluation.result, SpfResult::Pass);
    assert!(evaluation.lints.is_empty(), "{:?}", evaluation.lints);
}

#[tokio::test]
async fn all_qualifiers_at_the_end_of_the_policy() {
    for (record, kind, level) in [
        ("v=spf1 +all", Some(SpfLintKind::PassAll), LintLevel::Fail),
        (
            "v=spf1 ?all",
            Some(SpfLintKind::NeutralAll),
            LintLevel::Fail,
        ),
        (
            "v=spf1 ~all",
            Some(SpfLintKind::SoftFailAll),
            LintLevel::Warn,
        ),
        (
            "v=spf1 ip4:192.0.2.1",
            Some(SpfLintKind::NoAll),
            LintLevel::Warn,
        ),
        ("v=spf1 -all", None, LintLevel::Info),
    ] {
        let mut zone = Zone::new();
        zone.add_txt("example.com", record);
        let evaluation = run(zone, "198.51.100.1", "example.com").await;
        match kind {
            Some(kind) => {
                let lint = evaluation.lints.iter().find(|l| l.kind == kind);
                assert_eq!(lint.map(|l| l.level), Some(level), "{record}");
            }
            None => assert!(
                evaluation.lints.is_empty(),
                "{record}: {:?}",
                evaluation.lints
            ),
        }
    }
}

#[tokio::test]
async fn an_included_pass_all_authorises_everyone() {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 include:lax.example.net -all");
    zone.add_txt("lax.example.net", "v=spf1 +all");
    let evaluation = run(zone, "203.0.113.7", "example.com").await;

    assert_eq!(evaluation.result, SpfResult::Pass);
    let lint = evaluation
        .lints
        .iter()
        .find(|l| l.kind == SpfLintKind::PassAll)
        .expect("+all in an include is flagged");
    assert_eq!(lint.domain, "lax.example.net");

    let mut harmless = Zone::new();
    harmless.add_txt("example.com", "v=spf1 include:lax.example.net -all");
    harmless.add_txt("lax.example.net", "v=spf1 ip4:192.0.2.1 ?all");
    let evaluation = run(harmless, "203.0.113.7", "example.com").await;
    assert!(
        evaluation.lints.is_empty(),
        "?all inside an include is only a non-match"
    );
}

#[tokio::test]
async fn lookup_and_void_limits_across_the_tree() {
    let mut zone = Zone::new();
    let includes: Vec<String> = (0..6)
        .map(|n| format!("include:s{n}.example.net"))
        .collect();
    zone.add_txt(
        "example.com",
        &format!("v=spf1 {} -all", includes.join(" ")),
    );
    for n in 0..6 {
        zone.add_txt(
            &format!("s{n}.example.net"),
            "v=spf1 exists:%{i}.bl.example.net",
        );
    }
    let evaluation = run(zone, "192.0.2.9", "example.com").await;

    assert_eq!(evaluation.total_lookups, 12);
    assert_eq!(evaluation.total_voids, 6);
    assert_eq!(evaluation.result, SpfResult::PermError);
    let found = kinds(&evaluation);
    assert!(found.contains(&SpfLintKind::LookupLimitExceeded));
    assert!(found.contains(&SpfLintKind::VoidLimitExceeded));

    let mut near = Zone::new();
    near.add_txt(
        "example.com",
        "v=spf1 a a a a a a a a a ip4:192.0.2.0/24 -all",
    );
    near.add("example.com", RecordData::A("192.0.2.1".parse().unwrap()));
    let evaluation = run(near, "192.0.2.9", "example.com").await;
    assert_eq!(evaluation.total_lookups, 9);
    assert!(kinds(&evaluation).contains(&SpfLintKind::LookupsNearLimit));
    assert!(!kinds(&evaluation).contains(&SpfLintKind::LookupLimitExceeded));
}

#[tokio::test]
async fn ptr_and_missing_records_are_flagged() {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 ptr include:gone.example.net -all");
    let evaluation = run(zone, "192.0.2.9", "example.com").await;

    let found = kinds(&evaluation);
    assert!(found.contains(&SpfLintKind::PtrUsed));
    assert!(found.contains(&SpfLintKind::TargetWithoutRecord));
    assert_eq!(evaluation.result, SpfResult::PermError);

    let evaluation = run(Zone::new(), "192.0.2.9", "example.com").await;
    assert_eq!(evaluation.result, SpfResult::None);
    assert_eq!(kinds(&evaluation), [SpfLintKind::NoRecord]);
}

#[tokio::test]
async fn more_than_ten_mx_names_is_flagged_and_ten_is_not() {
    for (count, flagged) in [(11u16, true), (10, false)] {
        let mut zone = Zone::new();
        zone.add_txt("example.com", "v=spf1 mx -all");
        for n in 0..count {
            zone.add(
                "example.com",
                RecordData::Mx(readiness::checks::email::dns::MxRecord {
                    preference: n,
                    exchange: format!("mx{n}.example.com"),
                }),
            );
        }
        let evaluation = run(zone, "192.0.2.9", "example.com").await;
        let lint = evaluation
            .lints
            .iter()
            .find(|l| l.kind == SpfLintKind::TooManyMxNames);
        assert_eq!(lint.is_some(), flagged, "{count} MX names");
        let expected = if flagged {
            SpfResult::PermError
        } else {
            SpfResult::Fail
        };
        assert_eq!(evaluation.result, expected, "{count} MX names");
        if flagged {
            assert!(render_tree(&evaluation).contains("!! mx -> example.com: 11 MX records"));
        }
    }
}

#[tokio::test]
async fn a_runaway_tree_is_walked_only_so_far() {
    let mut zone = Zone::new();
    let fan = |prefix: &str| -> String {
        let terms: Vec<String> = (0..8)
            .map(|n| format!("include:{prefix}{n}.example.net"))
            .collect();
        format!("v=spf1 {} -all", terms.join(" "))
    };
    zone.add_txt("example.com", &fan("a"));
    for a in 0..8 {
        zone.add_txt(&format!("a{a}.example.net"), &fan(&format!("b{a}-")));
        for b in 0..8 {
            zone.add_txt(&format!("b{a}-{b}.example.net"), "v=spf1 ip4:192.0.2.1");
        }
    }
    let dns = ZoneDns::new(zone);
    let evaluation = evaluate(&dns, &request("198.51.100.1", "example.com")).await;

    assert!(kinds(&evaluation).contains(&SpfLintKind::TreeTooLarge));
    assert!(kinds(&evaluation).contains(&SpfLintKind::LookupLimitExceeded));
    assert_eq!(evaluation.result, SpfResult::PermError);
    assert!(
        dns.questions().len() < 120,
        "{} questions",
        dns.questions().len()
    );
}

#[tokio::test]
async fn include_loops_are_cut_and_reported() {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 include:a.example.net -all");
    zone.add_txt("a.example.net", "v=spf1 include:example.com");
    let evaluation = run(zone, "192.0.2.9", "example.com").await;

    assert!(kinds(&evaluation).contains(&SpfLintKind::Loop));
    assert_eq!(
        evaluation.result,
        SpfResult::PermError,
        "receivers hit the lookup limit"
    );
}

#[tokio::test]
async fn the_rendered_tree_shows_counts_per_record() {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 mx include:_spf.example.net ~all");
    zone.add(
        "example.com",
        RecordData::Mx(readiness::checks::email::dns::MxRecord {
            preference: 10,
            exchange: "mx.example.com".to_string(),
        }),
    );
    zone.add(
        "mx.example.com",
        RecordData::A("192.0.2.25".parse().unwrap()),
    );
    zone.add_txt("_spf.example.net", "v=spf1 a:out.example.net -all");

    let evaluation = run(zone, "192.0.2.25", "example.com").await;
    let text = render_tree(&evaluation);

    assert_eq!(evaluation.result, SpfResult::Pass);
    assert!(
        text.starts_with("example.com [2 lookups] \"v=spf1 mx include:_spf.example.net ~all\"")
    );
    assert!(
        text.contains("`- include:_spf.example.net [1 lookup, 1 void]"),
        "{text}"
    );
    assert!(
        text.contains("total: 3 of 10 DNS lookups, 1 of 2 void lookups"),
        "{text}"
    );
    assert!(
        text.contains("result for 192.0.2.25: pass (matched mx at example.com)"),
        "{text}"
    );
}

#[tokio::test]
async fn hickory_lookups_are_cached_per_audit_and_fast() {
    let mut zone = Zone::new();
    zone.add_txt(
        "example.com",
        "v=spf1 include:l1.example.net include:l1b.example.net -all",
    );
    zone.add_txt("l1.example.net", "v=spf1 include:l2.example.net ~all");
    zone.add_txt("l1b.example.net", "v=spf1 include:l2.example.net ~all");
    zone.add_txt("l2.example.net", "v=spf1 a:host.example.net ~all");
    zone.add(
        "host.example.net",
        RecordData::A("192.0.2.77".parse().unwrap()),
    );
    let server = ZoneServer::start(zone, ip("127.0.0.1")).await.unwrap();
    let dns = HickoryDns::new(&[server.addr()], Duration::from_secs(2)).unwrap();

    let started = Instant::now();
    let evaluation = evaluate(&dns, &request("192.0.2.77", "example.com")).await;
    let elapsed = started.elapsed();

    assert_eq!(evaluation.result, SpfResult::Pass);
    assert_eq!(evaluation.total_lookups, 2 + 1 + 1 + 1 + 1);
    // Distinct questions: 4 TXT names + one A name, each asked once although
    // check_host and the tree walk both read them, and l2 is reached twice.
    assert_eq!(dns.queries_sent(), 5);
    assert_eq!(server.queries_received(), 5);
    let again = evaluate(&dns, &request("192.0.2.77", "example.com")).await;
    assert_eq!(again.result, SpfResult::Pass);
    assert_eq!(
        server.queries_received(),
        5,
        "a second evaluation is served from cache"
    );
    eprintln!("three-level include tree over a local resolver: {elapsed:?}");
}
