//! SPF (RFC 7208), evaluated by our own code so the audit can show what SPF
//! libraries hide: the whole include/redirect tree, the DNS-lookup and
//! void-lookup counts per record and in total, the term that matched, and the
//! publishing mistakes (`+all`, a redirect that can never run, `a` or `mx`
//! resolving to nothing).
//!
//! Two walks read the same records through one [`DnsLookup`]:
//! [`check_host`] is the RFC 7208 §4 function a receiver runs for one client
//! address (it stops at the first match and enforces the limits as it goes);
//! the tree walk in [`evaluate`] follows every include and live redirect, as a
//! receiver would for a client that matches nothing, and produces the lints.

mod check_host;
mod macros;
mod record;
mod tree;

use std::fmt;
use std::net::IpAddr;

pub use check_host::{CheckHostOutcome, check_host};
pub use macros::MacroString;
pub use record::{
    Directive, Mechanism, Qualifier, SpfRecord, SpfSyntaxError, is_spf_record, parse_record,
};
pub use tree::{
    LintLevel, NodeProblem, NodeVia, SpfLint, SpfLintKind, SpfNode, evaluate, render_tree,
};

use crate::checks::email::dns::DnsLookup;

/// RFC 7208 limit on DNS-querying terms per evaluation.
pub const MAX_DNS_LOOKUPS: u32 = 10;

/// RFC 7208 recommended limit on void lookups per evaluation.
pub const MAX_VOID_LOOKUPS: u32 = 2;

/// The result of `check_host()` (RFC 7208 §2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpfResult {
    /// No SPF record, or no usable domain to check.
    None,
    /// The domain makes no statement about the client.
    Neutral,
    /// The client is authorised.
    Pass,
    /// The client is not authorised.
    Fail,
    /// Probably not authorised.
    SoftFail,
    /// A transient DNS error.
    TempError,
    /// The published records cannot be interpreted.
    PermError,
}

impl SpfResult {
    /// The result's name as RFC 7208 writes it (lower-case).
    pub fn as_str(self) -> &'static str {
        match self {
            SpfResult::None => "none",
            SpfResult::Neutral => "neutral",
            SpfResult::Pass => "pass",
            SpfResult::Fail => "fail",
            SpfResult::SoftFail => "softfail",
            SpfResult::TempError => "temperror",
            SpfResult::PermError => "permerror",
        }
    }

    fn from_qualifier(qualifier: Qualifier) -> Self {
        match qualifier {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

impl fmt::Display for SpfResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity and client an SPF check is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfRequest {
    ip: IpAddr,
    /// The MAIL FROM address; empty for a null reverse-path.
    pub mail_from: String,
    /// The HELO/EHLO name.
    pub helo: String,
    /// The receiving host's name, for the `%{r}` macro ("unknown" by default).
    pub receiver: String,
}

impl SpfRequest {
    /// A check of `mail_from` (or of `helo` when `mail_from` is empty) for a
    /// client at `ip`. An IPv4-mapped IPv6 address is treated as IPv4.
    pub fn new(ip: IpAddr, mail_from: &str, helo: &str) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(IpAddr::V4)
                .unwrap_or(IpAddr::V6(v6)),
            v4 => v4,
        };
        SpfRequest {
            ip,
            mail_from: mail_from.to_string(),
            helo: helo.to_string(),
            receiver: "unknown".to_string(),
        }
    }

    /// A check of `domain` itself for a client at `ip`, as receivers run it
    /// for mail whose MAIL FROM is `postmaster@domain` sent after
    /// `HELO domain`.
    pub fn for_domain(ip: IpAddr, domain: &str) -> Self {
        SpfRequest::new(ip, &format!("postmaster@{domain}"), domain)
    }

    /// The client address (IPv4-mapped addresses already unwrapped).
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The domain whose record is checked: the MAIL FROM domain, or the HELO
    /// name for a null reverse-path.
    pub fn domain(&self) -> String {
        self.sender_domain()
    }

    /// The local part, "postmaster" when there is none (RFC 7208 §4.3).
    pub fn local_part(&self) -> String {
        match self.mail_from.rsplit_once('@') {
            Some((local, _)) if !local.is_empty() => local.to_string(),
            _ => "postmaster".to_string(),
        }
    }

    /// The domain of the sender identity.
    pub fn sender_domain(&self) -> String {
        if self.mail_from.is_empty() {
            return self.helo.clone();
        }
        match self.mail_from.rsplit_once('@') {
            Some((_, domain)) => domain.to_string(),
            None => self.mail_from.clone(),
        }
    }

    /// The full sender identity, `local@domain`.
    pub fn sender(&self) -> String {
        format!("{}@{}", self.local_part(), self.sender_domain())
    }
}

/// The term that decided the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedTerm {
    /// The domain whose record holds the term.
    pub domain: String,
    /// The term as written.
    pub term: String,
}

/// Everything the audit shows about one domain's SPF for one client.
#[derive(Debug, Clone, PartialEq)]
pub struct SpfEvaluation {
    /// The checked domain.
    pub domain: String,
    /// The client address evaluated.
    pub ip: IpAddr,
    /// The include/redirect tree as published.
    pub tree: SpfNode,
    /// DNS-querying terms across the whole tree (limit 10).
    pub total_lookups: u32,
    /// Void lookups across the whole tree (limit 2).
    pub total_voids: u32,
    /// `check_host()` for the client.
    pub result: SpfResult,
    /// Why the result is an error, or which term decided it.
    pub reason: Option<String>,
    /// The term that matched, if one did.
    pub matched: Option<MatchedTerm>,
    /// The `exp=` explanation for a fail, when the domain publishes one.
    pub explanation: Option<String>,
    /// Lookups `check_host()` spent before it stopped.
    pub evaluated_lookups: u32,
    /// Void lookups `check_host()` met before it stopped.
    pub evaluated_voids: u32,
    /// Findings about the published records.
    pub lints: Vec<SpfLint>,
}

/// Fetches and selects the SPF record of `domain`.
pub(crate) enum RecordFetch {
    /// Exactly one `v=spf1` record, parsed.
    Found(SpfRecord),
    /// No SPF record (or the name does not exist): result none.
    Missing(String),
    /// A DNS failure: temperror.
    DnsFailure(String),
    /// Several `v=spf1` records at one name: permerror.
    Multiple(String),
    /// One record with a syntax error: permerror.
    Invalid { reason: String, text: String },
}

pub(crate) async fn fetch_record(dns: &dyn DnsLookup, domain: &str) -> RecordFetch {
    use crate::checks::email::dns::DnsOutcome;

    let records = match dns.txt(domain).await {
        DnsOutcome::Records(records) => records,
        DnsOutcome::NxDomain => return RecordFetch::Missing(format!("{domain} does not exist")),
        DnsOutcome::NoData => return RecordFetch::Missing(format!("{domain} has no TXT record")),
        DnsOutcome::TempFail(reason) => {
            return RecordFetch::DnsFailure(format!("TXT lookup of {domain} failed: {reason}"));
        }
    };
    let spf: Vec<_> = records.iter().filter(|r| is_spf_record(r)).collect();
    match spf.as_slice() {
        [] => RecordFetch::Missing(format!("{domain} has no v=spf1 record")),
        [one] => {
            let text = one.text();
            match parse_record(&text) {
                Ok(record) => RecordFetch::Found(record),
                Err(error) => RecordFetch::Invalid {
                    reason: format!("{domain}: {error}"),
                    text,
                },
            }
        }
        many => RecordFetch::Multiple(format!(
            "{domain} publishes {} v=spf1 records; exactly one is allowed",
            many.len()
        )),
    }
}

/// RFC 7208 §4.3: a usable domain has no empty or over-long label, fits in
/// 253 octets, has at least two labels and is not an address literal.
pub(crate) fn is_checkable_domain(domain: &str) -> bool {
    let name = domain.strip_suffix('.').unwrap_or(domain);
    if name.is_empty() || name.len() > 253 || !name.contains('.') || name.starts_with('[') {
        return false;
    }
    name.split('.').all(|l| !l.is_empty() && l.len() <= 63)
}
