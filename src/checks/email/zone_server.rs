//! A tiny authoritative DNS server on 127.0.0.1 that serves an in-memory
//! [`Zone`] over UDP and TCP.
//!
//! Tests use it to prove that [`HickoryDns`](super::dns::HickoryDns) talks to
//! real nameservers correctly (NXDOMAIN, NODATA, SERVFAIL, multi-string TXT),
//! and the demo can serve its mail-domain zone with it. Names whose lookups
//! the zone marks as timing out answer SERVFAIL, so tests stay fast.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, MX, PTR, TXT};
use hickory_server::proto::rr::{Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tokio::net::{TcpListener, UdpSocket};

use super::dns::{DnsOutcome, RecordData, RecordKind, Zone, name_text};

/// A running server; it stops when dropped.
pub struct ZoneServer {
    addr: SocketAddr,
    queries: Arc<AtomicUsize>,
    _server: Server<ZoneHandler>,
}

impl ZoneServer {
    /// Serves `zone` on `ip` at a free port, UDP and TCP on the same port.
    pub async fn start(zone: Zone, ip: std::net::IpAddr) -> io::Result<ZoneServer> {
        let (udp, tcp) = bind_pair(ip).await?;
        let addr = udp.local_addr()?;
        let queries = Arc::new(AtomicUsize::new(0));
        let handler = ZoneHandler {
            zone: Arc::new(zone),
            queries: queries.clone(),
        };
        let mut server = Server::new(handler);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 64);
        Ok(ZoneServer {
            addr,
            queries,
            _server: server,
        })
    }

    /// The address to give resolvers.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many questions the server has answered.
    pub fn queries_received(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
}

/// Binds UDP at a free port and TCP on the same port; retries a few times
/// when another process holds the TCP side.
async fn bind_pair(ip: std::net::IpAddr) -> io::Result<(UdpSocket, TcpListener)> {
    let mut last_error = io::Error::other("no attempt made");
    for _attempt in 0..8 {
        let udp = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        let addr = udp.local_addr()?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(error) => last_error = error,
        }
    }
    Err(last_error)
}

struct ZoneHandler {
    zone: Arc<Zone>,
    queries: Arc<AtomicUsize>,
}

fn kind_of(record_type: RecordType) -> Option<RecordKind> {
    match record_type {
        RecordType::TXT => Some(RecordKind::Txt),
        RecordType::A => Some(RecordKind::A),
        RecordType::AAAA => Some(RecordKind::Aaaa),
        RecordType::MX => Some(RecordKind::Mx),
        RecordType::PTR => Some(RecordKind::Ptr),
        _ => None,
    }
}

/// Writes an owner or target name from plain text; the root for "".
fn wire_name(text: &str) -> Name {
    let labels: Vec<&[u8]> = text
        .split('.')
        .filter(|l| !l.is_empty())
        .map(str::as_bytes)
        .collect();
    let mut name = Name::from_labels(labels).unwrap_or_else(|_| Name::root());
    name.set_fqdn(true);
    name
}

fn to_rdata(data: &RecordData) -> RData {
    match data {
        RecordData::Txt(txt) => RData::TXT(TXT::from_bytes(
            txt.strings.iter().map(Vec::as_slice).collect(),
        )),
        RecordData::A(ip) => RData::A(A(*ip)),
        RecordData::Aaaa(ip) => RData::AAAA(AAAA(*ip)),
        RecordData::Mx(mx) => RData::MX(MX::new(mx.preference, wire_name(&mx.exchange))),
        RecordData::Ptr(target) => RData::PTR(PTR(wire_name(target))),
    }
}

#[async_trait]
impl RequestHandler for ZoneHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        let failed = ResponseInfo::from(Header {
            metadata: {
                let mut m = metadata;
                m.response_code = ResponseCode::ServFail;
                m
            },
            counts: HeaderCounts::default(),
        });

        let Ok(info) = request.request_info() else {
            return failed;
        };
        let owner = Name::from(info.query.name());
        let outcome = match kind_of(info.query.query_type()) {
            Some(kind) => self.zone.answer(&name_text(&owner), kind),
            None => DnsOutcome::NoData,
        };
        let records: Vec<Record> = match &outcome {
            DnsOutcome::Records(data) => data
                .iter()
                .map(|d| Record::from_rdata(owner.clone(), 60, to_rdata(d)))
                .collect(),
            _ => Vec::new(),
        };
        metadata.response_code = match outcome {
            DnsOutcome::Records(_) | DnsOutcome::NoData => ResponseCode::NoError,
            DnsOutcome::NxDomain => ResponseCode::NXDomain,
            DnsOutcome::TempFail(_) => ResponseCode::ServFail,
        };

        let response = MessageResponseBuilder::from_message_request(request).build(
            metadata,
            records.iter(),
            [],
            [],
            [],
        );
        response_handle
            .send_response(response)
            .await
            .unwrap_or(failed)
    }
}
