//! `check_host()` as RFC 7208 §4–§6 defines it: what a receiver decides for
//! one client address.
//!
//! The counters live in one evaluator shared by the whole recursion, because
//! the 10-lookup and 2-void limits apply to the evaluation as a whole, not to
//! each record: a deep include tree runs out of lookups at its leaves.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use super::macros::{Expander, MacroString, validated_ptr_names};
use super::record::{Directive, Mechanism, SpfRecord};
use super::{
    MAX_DNS_LOOKUPS, MAX_VOID_LOOKUPS, MatchedTerm, RecordFetch, SpfRequest, SpfResult,
    fetch_record, is_checkable_domain,
};
use crate::checks::email::dns::{DnsLookup, DnsOutcome};

/// What `check_host()` decided, and what it spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckHostOutcome {
    /// The result.
    pub result: SpfResult,
    /// Why: the error, or the term that matched.
    pub reason: Option<String>,
    /// The term that matched, if one did.
    pub matched: Option<MatchedTerm>,
    /// The `exp=` explanation for a fail, when published and usable.
    pub explanation: Option<String>,
    /// DNS-querying terms evaluated.
    pub lookups: u32,
    /// Void lookups met.
    pub voids: u32,
}

/// Runs `check_host()` for the request's client and domain.
pub async fn check_host(dns: &dyn DnsLookup, request: &SpfRequest) -> CheckHostOutcome {
    let mut evaluator = Evaluator {
        expander: Expander { dns, request },
        lookups: 0,
        voids: 0,
    };
    let host = evaluator.check(request.domain(), true).await;
    CheckHostOutcome {
        result: host.result,
        reason: host.reason,
        matched: host.matched,
        explanation: host.explanation,
        lookups: evaluator.lookups,
        voids: evaluator.voids,
    }
}

struct HostResult {
    result: SpfResult,
    reason: Option<String>,
    matched: Option<MatchedTerm>,
    explanation: Option<String>,
}

impl HostResult {
    fn error(result: SpfResult, reason: String) -> Self {
        HostResult {
            result,
            reason: Some(reason),
            matched: None,
            explanation: None,
        }
    }
}

/// An error that ends the whole evaluation.
struct Abort(SpfResult, String);

struct Evaluator<'a> {
    expander: Expander<'a>,
    lookups: u32,
    voids: u32,
}

type Boxed<'f, T> = Pin<Box<dyn Future<Output = T> + Send + 'f>>;

impl Evaluator<'_> {
    fn dns(&self) -> &dyn DnsLookup {
        self.expander.dns
    }

    fn ip(&self) -> IpAddr {
        self.expander.request.ip()
    }

    fn count_lookup(&mut self, term: &str) -> Result<(), Abort> {
        self.lookups += 1;
        if self.lookups > MAX_DNS_LOOKUPS {
            return Err(Abort(
                SpfResult::PermError,
                format!("more than {MAX_DNS_LOOKUPS} DNS-querying terms (reached at {term:?})"),
            ));
        }
        Ok(())
    }

    fn count_void(&mut self, term: &str) -> Result<(), Abort> {
        self.voids += 1;
        if self.voids > MAX_VOID_LOOKUPS {
            return Err(Abort(
                SpfResult::PermError,
                format!("more than {MAX_VOID_LOOKUPS} void lookups (reached at {term:?})"),
            ));
        }
        Ok(())
    }

    /// `check_host(<ip>, <domain>, <sender>)`; `top` is false inside an
    /// include, whose explanation is never used (RFC 7208 §6.2).
    fn check(&mut self, domain: String, top: bool) -> Boxed<'_, HostResult> {
        Box::pin(async move {
            if !is_checkable_domain(&domain) {
                return HostResult::error(
                    SpfResult::None,
                    format!("{domain:?} is not a usable domain name"),
                );
            }
            let record = match fetch_record(self.dns(), &domain).await {
                RecordFetch::Found(record) => record,
                RecordFetch::Missing(reason) => return HostResult::error(SpfResult::None, reason),
                RecordFetch::DnsFailure(reason) => {
                    return HostResult::error(SpfResult::TempError, reason);
                }
                RecordFetch::Multiple(reason) | RecordFetch::Invalid { reason, .. } => {
                    return HostResult::error(SpfResult::PermError, reason);
                }
            };

            match self.run_record(&record, &domain, top).await {
                Ok(outcome) => outcome,
                Err(Abort(result, reason)) => HostResult::error(result, reason),
            }
        })
    }

    async fn run_record(
        &mut self,
        record: &SpfRecord,
        domain: &str,
        top: bool,
    ) -> Result<HostResult, Abort> {
        for directive in &record.directives {
            if self.matches(directive, domain).await? {
                let result = SpfResult::from_qualifier(directive.qualifier);
                let explanation = if result == SpfResult::Fail && top {
                    self.explanation(record, domain).await
                } else {
                    None
                };
                return Ok(HostResult {
                    result,
                    reason: Some(format!("matched {:?} at {domain}", directive.text)),
                    matched: Some(MatchedTerm {
                        domain: domain.to_string(),
                        term: directive.text.clone(),
                    }),
                    explanation,
                });
            }
        }

        if let Some(redirect) = &record.redirect {
            let term = format!("redirect={}", redirect.source());
            self.count_lookup(&term)?;
            let target = self.expander.expand_domain(redirect, domain).await;
            let outcome = self.check(target.clone(), top).await;
            return Ok(match outcome.result {
                SpfResult::None => HostResult::error(
                    SpfResult::PermError,
                    format!("{term}: {target:?} has no SPF record"),
                ),
                _ => outcome,
            });
        }

        Ok(HostResult {
            result: SpfResult::Neutral,
            reason: Some(format!("no term matched at {domain} (default neutral)")),
            matched: None,
            explanation: None,
        })
    }

    async fn target(&self, spec: &Option<MacroString>, domain: &str) -> String {
        match spec {
            Some(spec) => self.expander.expand_domain(spec, domain).await,
            None => domain.to_string(),
        }
    }

    async fn matches(&mut self, directive: &Directive, domain: &str) -> Result<bool, Abort> {
        let term = directive.text.as_str();
        match &directive.mechanism {
            Mechanism::All => Ok(true),
            Mechanism::Ip4 { network, prefix } => Ok(match self.ip() {
                IpAddr::V4(ip) => in_network(ip.into(), (*network).into(), *prefix),
                IpAddr::V6(_) => false,
            }),
            Mechanism::Ip6 { network, prefix } => Ok(match self.ip() {
                IpAddr::V6(ip) => in_network(ip.into(), (*network).into(), *prefix),
                IpAddr::V4(_) => false,
            }),
            Mechanism::Include(spec) => {
                self.count_lookup(term)?;
                let target = self.expander.expand_domain(spec, domain).await;
                let inner = self.check(target.clone(), false).await;
                match inner.result {
                    SpfResult::Pass => Ok(true),
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => Ok(false),
                    SpfResult::TempError => Err(Abort(
                        SpfResult::TempError,
                        inner.reason.unwrap_or_else(|| format!("{term}: temperror")),
                    )),
                    SpfResult::PermError => Err(Abort(
                        SpfResult::PermError,
                        inner.reason.unwrap_or_else(|| format!("{term}: permerror")),
                    )),
                    SpfResult::None => Err(Abort(
                        SpfResult::PermError,
                        format!("{term}: {target:?} has no SPF record"),
                    )),
                }
            }
            Mechanism::A {
                domain: spec,
                cidr4,
                cidr6,
            } => {
                self.count_lookup(term)?;
                let target = self.target(spec, domain).await;
                self.address_match(&target, *cidr4, *cidr6, term).await
            }
            Mechanism::Mx {
                domain: spec,
                cidr4,
                cidr6,
            } => {
                self.count_lookup(term)?;
                let target = self.target(spec, domain).await;
                self.mx_match(&target, *cidr4, *cidr6, term).await
            }
            Mechanism::Ptr(spec) => {
                self.count_lookup(term)?;
                let target = self.target(spec, domain).await.to_ascii_lowercase();
                if self.dns().ptr(self.ip()).await.is_void() {
                    self.count_void(term)?;
                    return Ok(false);
                }
                let names = validated_ptr_names(self.dns(), self.ip()).await;
                let suffix = format!(".{target}");
                Ok(names.iter().any(|n| *n == target || n.ends_with(&suffix)))
            }
            Mechanism::Exists(spec) => {
                self.count_lookup(term)?;
                let target = self.expander.expand_domain(spec, domain).await;
                if !is_checkable_domain(&target) {
                    return Ok(false);
                }
                match self.dns().a(&target).await {
                    DnsOutcome::Records(_) => Ok(true),
                    DnsOutcome::NxDomain | DnsOutcome::NoData => {
                        self.count_void(term)?;
                        Ok(false)
                    }
                    DnsOutcome::TempFail(reason) => Err(Abort(
                        SpfResult::TempError,
                        format!("{term}: A lookup of {target} failed: {reason}"),
                    )),
                }
            }
        }
    }

    /// `a`: the target's addresses of the client's family, compared under
    /// the prefix length.
    async fn address_match(
        &mut self,
        target: &str,
        cidr4: u8,
        cidr6: u8,
        term: &str,
    ) -> Result<bool, Abort> {
        if !is_checkable_domain(target) {
            return Ok(false);
        }
        match self.addresses(target).await {
            DnsOutcome::Records(addresses) => {
                Ok(addresses.iter().any(|a| self.address_in(*a, cidr4, cidr6)))
            }
            DnsOutcome::NxDomain | DnsOutcome::NoData => {
                self.count_void(term)?;
                Ok(false)
            }
            DnsOutcome::TempFail(reason) => Err(Abort(
                SpfResult::TempError,
                format!("{term}: address lookup of {target} failed: {reason}"),
            )),
        }
    }

    async fn mx_match(
        &mut self,
        target: &str,
        cidr4: u8,
        cidr6: u8,
        term: &str,
    ) -> Result<bool, Abort> {
        if !is_checkable_domain(target) {
            return Ok(false);
        }
        let exchanges = match self.dns().mx(target).await {
            DnsOutcome::Records(records) => records,
            DnsOutcome::NxDomain | DnsOutcome::NoData => {
                self.count_void(term)?;
                return Ok(false);
            }
            DnsOutcome::TempFail(reason) => {
                return Err(Abort(
                    SpfResult::TempError,
                    format!("{term}: MX lookup of {target} failed: {reason}"),
                ));
            }
        };
        if exchanges.len() > 10 {
            return Err(Abort(
                SpfResult::PermError,
                format!(
                    "{term}: {target} has {} MX records, more than the 10 allowed",
                    exchanges.len()
                ),
            ));
        }
        for mx in &exchanges {
            if mx.exchange.is_empty() {
                continue;
            }
            match self.addresses(&mx.exchange).await {
                DnsOutcome::Records(addresses) => {
                    if addresses.iter().any(|a| self.address_in(*a, cidr4, cidr6)) {
                        return Ok(true);
                    }
                }
                DnsOutcome::NxDomain | DnsOutcome::NoData => {}
                DnsOutcome::TempFail(reason) => {
                    return Err(Abort(
                        SpfResult::TempError,
                        format!("{term}: address lookup of {} failed: {reason}", mx.exchange),
                    ));
                }
            }
        }
        Ok(false)
    }

    /// A or AAAA records of `name`, matching the client's address family.
    async fn addresses(&self, name: &str) -> DnsOutcome<IpAddr> {
        match self.ip() {
            IpAddr::V4(_) => self.dns().a(name).await.filter_map(|a| Some(IpAddr::V4(a))),
            IpAddr::V6(_) => self
                .dns()
                .aaaa(name)
                .await
                .filter_map(|a| Some(IpAddr::V6(a))),
        }
    }

    fn address_in(&self, address: IpAddr, cidr4: u8, cidr6: u8) -> bool {
        match (self.ip(), address) {
            (IpAddr::V4(ip), IpAddr::V4(net)) => in_network(ip.into(), net.into(), cidr4),
            (IpAddr::V6(ip), IpAddr::V6(net)) => in_network(ip.into(), net.into(), cidr6),
            _ => false,
        }
    }

    /// RFC 7208 §6.2: the `exp=` text, or nothing when anything about it is
    /// wrong (the lookup counts toward no limit).
    async fn explanation(&self, record: &SpfRecord, domain: &str) -> Option<String> {
        let spec = record.exp.as_ref()?;
        let target = self.expander.expand_domain(spec, domain).await;
        if !is_checkable_domain(&target) {
            return None;
        }
        let DnsOutcome::Records(records) = self.dns().txt(&target).await else {
            return None;
        };
        let [only] = records.as_slice() else {
            return None;
        };
        let bytes = only.joined_bytes();
        if !bytes.is_ascii() {
            return None;
        }
        let text = String::from_utf8(bytes).ok()?;
        let parsed = MacroString::parse(&text, true).ok()?;
        Some(self.expander.expand(&parsed, domain).await)
    }
}

/// Whether `ip` lies in `network/prefix`; both given as big-endian integers
/// of the same family (32 or 128 bits, told apart by the caller).
fn in_network(ip: NetBits, network: NetBits, prefix: u8) -> bool {
    match (ip, network) {
        (NetBits::V4(ip), NetBits::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            ip & mask == net & mask
        }
        (NetBits::V6(ip), NetBits::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            ip & mask == net & mask
        }
        _ => false,
    }
}

#[derive(Clone, Copy)]
enum NetBits {
    V4(u32),
    V6(u128),
}

impl From<std::net::Ipv4Addr> for NetBits {
    fn from(ip: std::net::Ipv4Addr) -> Self {
        NetBits::V4(u32::from(ip))
    }
}

impl From<std::net::Ipv6Addr> for NetBits {
    fn from(ip: std::net::Ipv6Addr) -> Self {
        NetBits::V6(u128::from(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip_in(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
        match (ip, network) {
            (IpAddr::V4(a), IpAddr::V4(b)) => in_network(a.into(), b.into(), prefix),
            (IpAddr::V6(a), IpAddr::V6(b)) => in_network(a.into(), b.into(), prefix),
            _ => false,
        }
    }

    #[test]
    fn prefix_masks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(ip_in(ip("192.0.2.9"), ip("192.0.2.0"), 24));
        assert!(!ip_in(ip("192.0.3.9"), ip("192.0.2.0"), 24));
        assert!(ip_in(ip("203.0.113.1"), ip("1.1.1.1"), 0));
        assert!(ip_in(ip("2001:db8::1"), ip("2001:db8::"), 32));
        assert!(!ip_in(ip("2001:db9::1"), ip("2001:db8::"), 32));
        assert!(ip_in(ip("::1"), ip("ffff::"), 0));
        assert!(!ip_in(ip("192.0.2.9"), ip("::"), 0));
    }
}
