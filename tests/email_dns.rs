//! The hickory-backed lookup against DNS servers on 127.0.0.1: outcomes kept
//! apart (records, NXDOMAIN, NODATA, SERVFAIL, timeout), TXT strings kept
//! apart over the wire, and concurrent identical questions sharing one query.

use std::time::{Duration, Instant};

use futures::future::join_all;
use readiness::checks::email::dns::{
    DnsLookup, DnsOutcome, HickoryDns, MxRecord, RecordData, TxtRecord, Zone,
};
use readiness::checks::email::zone_server::ZoneServer;

async fn served(zone: Zone) -> (ZoneServer, HickoryDns) {
    let server = ZoneServer::start(zone, "127.0.0.1".parse().unwrap())
        .await
        .unwrap();
    let dns = HickoryDns::new(&[server.addr()], Duration::from_secs(2)).unwrap();
    (server, dns)
}

#[tokio::test]
async fn outcomes_over_the_wire() {
    let mut zone = Zone::new();
    zone.add(
        "split.example.com",
        RecordData::Txt(TxtRecord::new(&["v=spf1 ip4:", "192.0.2.5 -all"])),
    );
    zone.add_txt("split.example.com", "second record");
    zone.add(
        "example.com",
        RecordData::Mx(MxRecord {
            preference: 10,
            exchange: "mx.example.com".to_string(),
        }),
    );
    zone.add(
        "mx.example.com",
        RecordData::A("192.0.2.25".parse().unwrap()),
    );
    zone.add(
        "mx.example.com",
        RecordData::Aaaa("2001:db8::25".parse().unwrap()),
    );
    zone.add(
        "25.2.0.192.in-addr.arpa",
        RecordData::Ptr("mx.example.com".to_string()),
    );
    zone.set_timeout("broken.example.com");
    let (_server, dns) = served(zone).await;

    let txt = dns.txt("split.example.com").await;
    let records = txt.records();
    assert_eq!(records.len(), 2);
    let split = records.iter().find(|r| r.strings.len() == 2).unwrap();
    assert_eq!(split.text(), "v=spf1 ip4:192.0.2.5 -all");

    assert_eq!(
        dns.mx("EXAMPLE.com.").await,
        DnsOutcome::Records(vec![MxRecord {
            preference: 10,
            exchange: "mx.example.com".to_string()
        }])
    );
    assert_eq!(dns.a("mx.example.com").await.records().len(), 1);
    assert_eq!(dns.aaaa("mx.example.com").await.records().len(), 1);
    assert_eq!(
        dns.ptr("192.0.2.25".parse().unwrap()).await,
        DnsOutcome::Records(vec!["mx.example.com".to_string()])
    );
    assert_eq!(dns.txt("mx.example.com").await, DnsOutcome::NoData);
    assert_eq!(dns.txt("nowhere.example.com").await, DnsOutcome::NxDomain);
    assert!(matches!(
        dns.txt("broken.example.com").await,
        DnsOutcome::TempFail(_)
    ));
}

#[tokio::test]
async fn a_silent_server_is_a_timeout() {
    // Bound but never answering: UDP datagrams are dropped, TCP connections
    // are accepted by the kernel and never served.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let _tcp = tokio::net::TcpListener::bind(addr).await;
    let dns = HickoryDns::new(&[addr], Duration::from_millis(300)).unwrap();

    let started = Instant::now();
    let outcome = dns.txt("example.com").await;

    assert!(matches!(outcome, DnsOutcome::TempFail(_)), "{outcome:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
    drop(udp);
}

#[tokio::test]
async fn concurrent_identical_questions_share_one_query() {
    let mut zone = Zone::new();
    zone.add_txt("example.com", "v=spf1 -all");
    let (server, dns) = served(zone).await;

    let answers = join_all((0..20).map(|_| dns.txt("example.com"))).await;

    assert!(answers.iter().all(|a| a.records().len() == 1));
    assert_eq!(dns.queries_sent(), 1);
    assert_eq!(server.queries_received(), 1);
}

#[test]
fn no_nameserver_is_a_setup_error() {
    assert!(HickoryDns::new(&[], Duration::from_secs(1)).is_err());
}
