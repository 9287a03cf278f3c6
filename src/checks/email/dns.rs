//! The small DNS interface the SPF, DMARC and DKIM evaluators read through.
//!
//! The evaluators must tell a name that does not exist (NXDOMAIN) from a name
//! without records of the asked type (NODATA) and both from a failed lookup
//! (SERVFAIL, timeout): SPF counts the first two as "void lookups" and turns
//! the third into `temperror`. Resolver libraries fold these together, so
//! [`DnsOutcome`] keeps them apart.
//!
//! Two implementations exist: [`HickoryDns`] asks real nameservers given as
//! socket addresses (no system configuration, so tests and the demo can point
//! it at 127.0.0.1), caching each (name, type) for the life of one audit and
//! sharing in-flight queries; [`ZoneDns`] answers from an in-memory [`Zone`]
//! for unit tests and the peer suites.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use tokio::sync::OnceCell;

/// The record types the mail-authentication evaluators ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordKind {
    /// Text records (SPF, DMARC, DKIM keys, report authorisations).
    Txt,
    /// IPv4 addresses.
    A,
    /// IPv6 addresses.
    Aaaa,
    /// Mail exchangers.
    Mx,
    /// Reverse-mapping pointers.
    Ptr,
}

impl RecordKind {
    /// The record type's name as written in zone files.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Txt => "TXT",
            RecordKind::A => "A",
            RecordKind::Aaaa => "AAAA",
            RecordKind::Mx => "MX",
            RecordKind::Ptr => "PTR",
        }
    }

    fn record_type(self) -> RecordType {
        match self {
            RecordKind::Txt => RecordType::TXT,
            RecordKind::A => RecordType::A,
            RecordKind::Aaaa => RecordType::AAAA,
            RecordKind::Mx => RecordType::MX,
            RecordKind::Ptr => RecordType::PTR,
        }
    }
}

/// One TXT resource record: its character-strings, kept apart as published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxtRecord {
    /// The character-strings of this one record, in order.
    pub strings: Vec<Vec<u8>>,
}

impl TxtRecord {
    /// A record made of the given strings.
    pub fn new<S: AsRef<[u8]>>(strings: &[S]) -> Self {
        TxtRecord {
            strings: strings.iter().map(|s| s.as_ref().to_vec()).collect(),
        }
    }

    /// The strings of the record concatenated without separator (RFC 7208
    /// §3.3, RFC 6376 §3.6.2.2), as bytes.
    pub fn joined_bytes(&self) -> Vec<u8> {
        self.strings.concat()
    }

    /// The joined record as text; bytes that are not UTF-8 become U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.joined_bytes()).into_owned()
    }
}

/// One MX resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MxRecord {
    /// Lower is preferred.
    pub preference: u16,
    /// The exchange host, lower-case, without trailing dot ("" for a null MX).
    pub exchange: String,
}

/// The data of one answered record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    /// A TXT record.
    Txt(TxtRecord),
    /// An A record.
    A(Ipv4Addr),
    /// An AAAA record.
    Aaaa(Ipv6Addr),
    /// An MX record.
    Mx(MxRecord),
    /// A PTR target name, lower-case, without trailing dot.
    Ptr(String),
}

impl RecordData {
    /// The type of this record.
    pub fn kind(&self) -> RecordKind {
        match self {
            RecordData::Txt(_) => RecordKind::Txt,
            RecordData::A(_) => RecordKind::A,
            RecordData::Aaaa(_) => RecordKind::Aaaa,
            RecordData::Mx(_) => RecordKind::Mx,
            RecordData::Ptr(_) => RecordKind::Ptr,
        }
    }
}

/// What one DNS question got back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsOutcome<T> {
    /// At least one record of the asked type.
    Records(Vec<T>),
    /// The name does not exist (RCODE 3).
    NxDomain,
    /// The name exists but has no record of the asked type.
    NoData,
    /// The lookup failed: SERVFAIL, REFUSED, another error code, or a timeout.
    TempFail(String),
}

impl<T> DnsOutcome<T> {
    /// NXDOMAIN or NODATA: what SPF calls a void lookup.
    pub fn is_void(&self) -> bool {
        matches!(self, DnsOutcome::NxDomain | DnsOutcome::NoData)
    }

    /// The records, empty for void answers and failures.
    pub fn records(&self) -> &[T] {
        match self {
            DnsOutcome::Records(records) => records,
            _ => &[],
        }
    }

    /// Keeps the records `pick` maps to `Some`; none left means NODATA.
    pub fn filter_map<U>(self, pick: impl FnMut(T) -> Option<U>) -> DnsOutcome<U> {
        match self {
            DnsOutcome::Records(records) => {
                let kept: Vec<U> = records.into_iter().filter_map(pick).collect();
                if kept.is_empty() {
                    DnsOutcome::NoData
                } else {
                    DnsOutcome::Records(kept)
                }
            }
            DnsOutcome::NxDomain => DnsOutcome::NxDomain,
            DnsOutcome::NoData => DnsOutcome::NoData,
            DnsOutcome::TempFail(reason) => DnsOutcome::TempFail(reason),
        }
    }
}

/// Answers DNS questions for the evaluators.
///
/// Implementors provide [`DnsLookup::query`]; the typed helpers build on it.
#[async_trait]
pub trait DnsLookup: Send + Sync {
    /// Asks for the records of `kind` at `name` (case-insensitive, trailing
    /// dot optional). A name that cannot be a DNS name answers NXDOMAIN.
    async fn query(&self, name: &str, kind: RecordKind) -> DnsOutcome<RecordData>;

    /// TXT records at `name`, each with its strings kept apart.
    async fn txt(&self, name: &str) -> DnsOutcome<TxtRecord> {
        self.query(name, RecordKind::Txt)
            .await
            .filter_map(|r| match r {
                RecordData::Txt(t) => Some(t),
                _ => None,
            })
    }

    /// A records at `name`.
    async fn a(&self, name: &str) -> DnsOutcome<Ipv4Addr> {
        self.query(name, RecordKind::A)
            .await
            .filter_map(|r| match r {
                RecordData::A(a) => Some(a),
                _ => None,
            })
    }

    /// AAAA records at `name`.
    async fn aaaa(&self, name: &str) -> DnsOutcome<Ipv6Addr> {
        self.query(name, RecordKind::Aaaa)
            .await
            .filter_map(|r| match r {
                RecordData::Aaaa(a) => Some(a),
                _ => None,
            })
    }

    /// MX records at `name`, in the order received.
    async fn mx(&self, name: &str) -> DnsOutcome<MxRecord> {
        self.query(name, RecordKind::Mx)
            .await
            .filter_map(|r| match r {
                RecordData::Mx(m) => Some(m),
                _ => None,
            })
    }

    /// PTR names for `ip` (asked at its `in-addr.arpa` / `ip6.arpa` name).
    async fn ptr(&self, ip: IpAddr) -> DnsOutcome<String> {
        self.query(&reverse_name(ip), RecordKind::Ptr)
            .await
            .filter_map(|r| match r {
                RecordData::Ptr(p) => Some(p),
                _ => None,
            })
    }
}

/// Lower-cases a name and drops one trailing dot: the cache and zone key.
pub fn normalize_name(name: &str) -> String {
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// The reverse-mapping name of an address (`4.3.2.1.in-addr.arpa`,
/// nibbles under `ip6.arpa`).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.in-addr.arpa")
        }
        IpAddr::V6(v6) => {
            let mut out = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                out.push_str(&format!("{:x}.{:x}.", byte & 0x0f, byte >> 4));
            }
            out.push_str("ip6.arpa");
            out
        }
    }
}

type CacheKey = (String, RecordKind);
type CacheCell = Arc<OnceCell<DnsOutcome<RecordData>>>;

/// Remembers every answer of one audit, and lets concurrent askers of the
/// same question share one query.
#[derive(Default)]
struct QueryCache {
    cells: Mutex<HashMap<CacheKey, CacheCell>>,
}

impl QueryCache {
    fn cell(&self, key: CacheKey) -> CacheCell {
        let mut cells = match self.cells.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        cells.entry(key).or_default().clone()
    }
}

/// Why a resolver could not be built.
#[derive(Debug, thiserror::Error)]
pub enum DnsSetupError {
    /// No nameserver was given.
    #[error("no nameserver given")]
    NoNameservers,
    /// hickory refused the configuration.
    #[error("cannot build the resolver: {0}")]
    Resolver(String),
}

/// The hickory configuration [`HickoryDns::new`] uses: only `nameservers`
/// (UDP, then TCP), no system files, one attempt of `timeout` per question.
/// Other DNS users of the audit (the DKIM verifier) are built from it too.
pub fn resolver_setup(
    nameservers: &[SocketAddr],
    timeout: Duration,
) -> Result<(ResolverConfig, ResolverOpts), DnsSetupError> {
    if nameservers.is_empty() {
        return Err(DnsSetupError::NoNameservers);
    }

    let servers = nameservers
        .iter()
        .map(|addr| {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
        })
        .collect();
    let config = ResolverConfig::from_parts(None, vec![], servers);

    let mut options = ResolverOpts::default();
    options.timeout = timeout;
    options.attempts = 1;
    options.use_hosts_file = ResolveHosts::Never;
    options.try_tcp_on_error = true;
    options.ndots = 0;
    Ok((config, options))
}

/// Asks real nameservers through hickory-resolver, once per (name, type).
pub struct HickoryDns {
    resolver: TokioResolver,
    cache: QueryCache,
    sent: AtomicUsize,
}

impl HickoryDns {
    /// A resolver that asks only `nameservers` (UDP, then TCP on truncation
    /// or error), reads no system configuration and no hosts file, and gives
    /// up on a question after `timeout` per attempt.
    pub fn new(nameservers: &[SocketAddr], timeout: Duration) -> Result<Self, DnsSetupError> {
        let (config, options) = resolver_setup(nameservers, timeout)?;
        HickoryDns::with_config(config, options)
    }

    /// A resolver asking the system's nameservers (`/etc/resolv.conf`), for
    /// profiles that name none.
    pub fn system(timeout: Duration) -> Result<Self, DnsSetupError> {
        let (config, mut options) = hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| DnsSetupError::Resolver(e.to_string()))?;
        options.timeout = timeout;
        HickoryDns::with_config(config, options)
    }

    /// A resolver from a ready hickory configuration.
    pub fn with_config(
        config: ResolverConfig,
        options: ResolverOpts,
    ) -> Result<Self, DnsSetupError> {
        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()
            .map_err(|e| DnsSetupError::Resolver(e.to_string()))?;
        Ok(HickoryDns {
            resolver,
            cache: QueryCache::default(),
            sent: AtomicUsize::new(0),
        })
    }

    /// How many questions went to the nameservers (cache misses).
    pub fn queries_sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    async fn ask(&self, name: &str, kind: RecordKind) -> DnsOutcome<RecordData> {
        let Some(fqdn) = dns_name(name) else {
            return DnsOutcome::NxDomain;
        };
        self.sent.fetch_add(1, Ordering::Relaxed);

        match self.resolver.lookup(fqdn, kind.record_type()).await {
            Ok(lookup) => {
                let records: Vec<RecordData> = lookup
                    .answers()
                    .iter()
                    .filter_map(|record| convert_rdata(&record.data))
                    .filter(|data| data.kind() == kind)
                    .collect();
                if records.is_empty() {
                    DnsOutcome::NoData
                } else {
                    DnsOutcome::Records(records)
                }
            }
            Err(NetError::Dns(DnsError::NoRecordsFound(no_records))) => {
                if no_records.response_code == ResponseCode::NXDomain {
                    DnsOutcome::NxDomain
                } else {
                    DnsOutcome::NoData
                }
            }
            Err(NetError::Timeout) => DnsOutcome::TempFail("timeout".to_string()),
            Err(other) => DnsOutcome::TempFail(other.to_string()),
        }
    }
}

#[async_trait]
impl DnsLookup for HickoryDns {
    async fn query(&self, name: &str, kind: RecordKind) -> DnsOutcome<RecordData> {
        let cell = self.cache.cell((normalize_name(name), kind));
        cell.get_or_init(|| self.ask(name, kind)).await.clone()
    }
}

/// Builds a fully qualified name from raw labels, so that any byte SPF macros
/// can produce (spaces, `%`, `:`) survives; `None` when no DNS name can carry
/// it (empty or over-long label, name over 253 octets).
fn dns_name(name: &str) -> Option<Name> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() || name.len() > 253 {
        return None;
    }
    let labels: Vec<&[u8]> = name.split('.').map(str::as_bytes).collect();
    if labels.iter().any(|l| l.is_empty() || l.len() > 63) {
        return None;
    }
    let mut fqdn = Name::from_labels(labels).ok()?;
    fqdn.set_fqdn(true);
    Some(fqdn)
}

/// Writes a hickory name as text from its raw labels, lower-case, without the
/// trailing dot.
pub(crate) fn name_text(name: &Name) -> String {
    let labels: Vec<String> = name
        .iter()
        .map(|label| String::from_utf8_lossy(label).to_ascii_lowercase())
        .collect();
    labels.join(".")
}

fn convert_rdata(data: &RData) -> Option<RecordData> {
    match data {
        RData::TXT(txt) => Some(RecordData::Txt(TxtRecord {
            strings: txt.txt_data.iter().map(|s| s.to_vec()).collect(),
        })),
        RData::A(a) => Some(RecordData::A(a.0)),
        RData::AAAA(a) => Some(RecordData::Aaaa(a.0)),
        RData::MX(mx) => Some(RecordData::Mx(MxRecord {
            preference: mx.preference,
            exchange: name_text(&mx.exchange),
        })),
        RData::PTR(ptr) => Some(RecordData::Ptr(name_text(&ptr.0))),
        _ => None,
    }
}

/// One owner name of an in-memory [`Zone`].
#[derive(Debug, Clone, Default)]
struct ZoneNode {
    records: Vec<RecordData>,
    cname: Option<String>,
    timeout: bool,
}

/// An in-memory zone: records by owner name, CNAME aliases, and names whose
/// lookups time out.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    nodes: HashMap<String, ZoneNode>,
}

impl Zone {
    /// An empty zone: every name answers NXDOMAIN.
    pub fn new() -> Self {
        Zone::default()
    }

    /// Adds one record at `name`.
    pub fn add(&mut self, name: &str, data: RecordData) -> &mut Self {
        self.node(name).records.push(data);
        self
    }

    /// Adds one TXT record made of one string.
    pub fn add_txt(&mut self, name: &str, text: &str) -> &mut Self {
        self.add(name, RecordData::Txt(TxtRecord::new(&[text])))
    }

    /// Makes `name` exist without records (NODATA for every type).
    pub fn touch(&mut self, name: &str) -> &mut Self {
        self.node(name);
        self
    }

    /// Makes `name` an alias of `target`.
    pub fn add_cname(&mut self, name: &str, target: &str) -> &mut Self {
        self.node(name).cname = Some(normalize_name(target));
        self
    }

    /// Makes every question at `name` for a type it has no record of fail as
    /// a timeout.
    pub fn set_timeout(&mut self, name: &str) -> &mut Self {
        self.node(name).timeout = true;
        self
    }

    fn node(&mut self, name: &str) -> &mut ZoneNode {
        self.nodes.entry(normalize_name(name)).or_default()
    }

    /// Answers a question from the zone, following CNAME chains (a loop or a
    /// chain longer than 8 is a failure).
    pub fn answer(&self, name: &str, kind: RecordKind) -> DnsOutcome<RecordData> {
        let mut current = normalize_name(name);
        for _hop in 0..8 {
            let Some(node) = self.nodes.get(&current) else {
                let suffix = format!(".{current}");
                return if self.nodes.keys().any(|k| k.ends_with(&suffix)) {
                    DnsOutcome::NoData
                } else {
                    DnsOutcome::NxDomain
                };
            };
            if let Some(target) = &node.cname {
                current = target.clone();
                continue;
            }
            let records: Vec<RecordData> = node
                .records
                .iter()
                .filter(|r| r.kind() == kind)
                .cloned()
                .collect();
            return if !records.is_empty() {
                DnsOutcome::Records(records)
            } else if node.timeout {
                DnsOutcome::TempFail("timeout".to_string())
            } else {
                DnsOutcome::NoData
            };
        }
        DnsOutcome::TempFail(format!("CNAME chain too long or looping at {current}"))
    }
}

/// Answers from an in-memory [`Zone`] and logs every question asked.
pub struct ZoneDns {
    zone: Arc<Zone>,
    log: Mutex<Vec<(String, RecordKind)>>,
}

impl ZoneDns {
    /// Serves `zone`.
    pub fn new(zone: Zone) -> Self {
        ZoneDns {
            zone: Arc::new(zone),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Every question asked so far, in order (normalised name, type).
    pub fn questions(&self) -> Vec<(String, RecordKind)> {
        match self.log.lock() {
            Ok(log) => log.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

#[async_trait]
impl DnsLookup for ZoneDns {
    async fn query(&self, name: &str, kind: RecordKind) -> DnsOutcome<RecordData> {
        match self.log.lock() {
            Ok(mut log) => log.push((normalize_name(name), kind)),
            Err(poisoned) => poisoned.into_inner().push((normalize_name(name), kind)),
        }
        if dns_name(name).is_none() {
            return DnsOutcome::NxDomain;
        }
        self.zone.answer(name, kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reverse_names_follow_rfc_3596() {
        assert_eq!(
            reverse_name("192.0.2.10".parse().unwrap()),
            "10.2.0.192.in-addr.arpa"
        );
        assert_eq!(
            reverse_name("2001:db8::1".parse().unwrap()),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"
        );
    }

    #[tokio::test]
    async fn zone_tells_nxdomain_nodata_and_failure_apart() {
        let mut zone = Zone::new();
        zone.add("a.example.com", RecordData::A("192.0.2.1".parse().unwrap()))
            .set_timeout("slow.example.com")
            .add_cname("alias.example.com", "A.example.com.")
            .add_cname("loop.example.com", "loop.example.com");
        let dns = ZoneDns::new(zone);

        assert_eq!(
            dns.a("A.Example.COM.").await,
            DnsOutcome::Records(vec!["192.0.2.1".parse().unwrap()])
        );
        assert_eq!(dns.txt("a.example.com").await, DnsOutcome::NoData);
        assert_eq!(
            dns.txt("example.com").await,
            DnsOutcome::NoData,
            "empty non-terminal"
        );
        assert_eq!(dns.txt("b.example.com").await, DnsOutcome::NxDomain);
        assert!(matches!(
            dns.txt("slow.example.com").await,
            DnsOutcome::TempFail(_)
        ));
        assert_eq!(dns.a("alias.example.com").await.records().len(), 1);
        assert!(matches!(
            dns.a("loop.example.com").await,
            DnsOutcome::TempFail(_)
        ));
        assert_eq!(dns.a("bad..example.com").await, DnsOutcome::NxDomain);
    }

    #[test]
    fn txt_strings_join_without_separator() {
        let record = TxtRecord::new(&["v=spf1 ip4:", "192.0.2.5 -all"]);
        assert_eq!(record.text(), "v=spf1 ip4:192.0.2.5 -all");
        assert_eq!(record.strings.len(), 2);
    }
}
