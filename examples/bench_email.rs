//! Benchmark of the `email` check for one domain whose SPF policy is a
//! three-level include tree (10 DNS lookups), plus DMARC, two DKIM selectors,
//! MX, MTA-STS and TLS-RPT, against a DNS server on 127.0.0.1. Each run uses
//! a fresh resolver (empty cache), so every question really goes out.
//!
//! Run with `scripts/bench-email.sh` (release build) or
//! `cargo run --example bench_email`.

use std::time::{Duration, Instant};

use readiness::checks::email::check::audit;
use readiness::checks::email::config::{EmailSettings, SelectorSpec};
use readiness::checks::email::dns::{HickoryDns, MxRecord, RecordData, Zone};
use readiness::checks::email::zone_server::ZoneServer;

const DOMAIN: &str = "bench.example";
const RUNS: usize = 20;

fn zone() -> Zone {
    let mut zone = Zone::new();
    // Level 1: two includes; level 2: two each; level 3: one each.
    zone.add_txt(
        DOMAIN,
        "v=spf1 include:a1.spf.bench.example include:a2.spf.bench.example -all",
    );
    for a in 1..=2 {
        zone.add_txt(
            &format!("a{a}.spf.{DOMAIN}"),
            &format!("v=spf1 include:b{a}1.spf.{DOMAIN} include:b{a}2.spf.{DOMAIN} -all"),
        );
        for b in 1..=2 {
            zone.add_txt(
                &format!("b{a}{b}.spf.{DOMAIN}"),
                &format!("v=spf1 include:c{a}{b}.spf.{DOMAIN} -all"),
            );
            zone.add_txt(
                &format!("c{a}{b}.spf.{DOMAIN}"),
                &format!("v=spf1 ip4:198.51.{a}{b}.0/24 -all"),
            );
        }
    }
    zone.add_txt(
        &format!("_dmarc.{DOMAIN}"),
        &format!("v=DMARC1; p=reject; rua=mailto:dmarc@{DOMAIN}"),
    )
    .add_txt(
        &format!("s1._domainkey.{DOMAIN}"),
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    )
    .add_txt(
        &format!("s2._domainkey.{DOMAIN}"),
        "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
    )
    .add(
        DOMAIN,
        RecordData::Mx(MxRecord {
            preference: 10,
            exchange: format!("mx.{DOMAIN}"),
        }),
    )
    .add(
        &format!("mx.{DOMAIN}"),
        RecordData::A("192.0.2.25".parse().expect("address")),
    )
    .add_txt(&format!("_mta-sts.{DOMAIN}"), "v=STSv1; id=1")
    .add_txt(
        &format!("_smtp._tls.{DOMAIN}"),
        &format!("v=TLSRPTv1; rua=mailto:tls@{DOMAIN}"),
    );
    zone
}

#[tokio::main]
async fn main() {
    let server = ZoneServer::start(zone(), "127.0.0.1".parse().expect("address"))
        .await
        .expect("start the DNS server");
    let settings = EmailSettings {
        enabled: true,
        domains: vec![DOMAIN.to_string()],
        selectors: ["s1", "s2"]
            .iter()
            .map(|s| SelectorSpec {
                selector: s.to_string(),
                domain: DOMAIN.to_string(),
            })
            .collect(),
        // In the deepest records: check_host walks the tree to level 3.
        sending_ips: vec![
            "198.51.22.7".parse().expect("address"),
            "198.51.11.7".parse().expect("address"),
        ],
        ..EmailSettings::default()
    };

    let mut times = Vec::with_capacity(RUNS);
    let mut questions = 0;
    for run in 0..RUNS {
        let dns = HickoryDns::new(&[server.addr()], Duration::from_secs(2)).expect("resolver");
        let started = Instant::now();
        let rows = audit(&dns, &settings, None).await;
        times.push(started.elapsed());
        questions = dns.queries_sent();
        if run == 0 {
            let row = &rows[0];
            println!(
                "{DOMAIN}: verdict {}, SPF lookups {}, findings {:?}",
                row.verdict,
                row.measurements["spf_lookups"],
                row.findings.iter().map(|f| &f.code).collect::<Vec<_>>()
            );
        }
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "email check, 3-level SPF include tree, {questions} DNS questions per run, {RUNS} runs: \
         min {:.1} ms, median {:.1} ms, max {:.1} ms (target: under 1000 ms)",
        ms(times[0]),
        ms(times[RUNS / 2]),
        ms(times[RUNS - 1])
    );
}
