//! A received sample mail verified end to end: DKIM signatures, SPF for the
//! connecting client and envelope sender, and DMARC alignment with the From
//! domain, giving the verdicts a large mailbox provider shows under "show
//! original".
//!
//! DKIM canonicalisation and signature checks come from `mail-auth`
//! (`MessageAuthenticator`). Its resolver is built from the profile's `[dns]`
//! settings (the same hickory configuration as [`HickoryDns`]), and before
//! verifying, the key record of every signature is fetched through the
//! audit's own cached [`DnsLookup`] and handed to mail-auth as a pre-filled
//! TXT cache, so the key lookups are shared with the record audit and tests
//! can serve keys from in-memory zones. SPF runs on our RFC 7208 evaluator and
//! DMARC on our policy discovery.
//!
//! [`HickoryDns`]: super::dns::HickoryDns

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;

use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::resolver::ToFqdn;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::proto::op::ResponseCode;
use mail_auth::{AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, Txt};

use super::config::EmailSettings;
use super::dmarc::{self, AlignmentMode, Policy, is_aligned};
use super::dns::{DnsLookup, DnsOutcome, resolver_setup};
use super::spf::{SpfRequest, SpfResult, check_host};
use crate::profile::DnsSettings;
use crate::report::model::{Finding, Outcome, Severity, SubjectRow};

/// Largest sample read, in bytes.
const MAX_SAMPLE_BYTES: u64 = 20 * 1024 * 1024;

/// The subject row name of a sample file.
pub fn subject(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string());
    format!("sample {name}")
}

/// mail-auth's verifier with a resolver asking the profile's nameservers
/// (the system's when the profile names none).
pub fn authenticator(dns: &DnsSettings) -> Result<MessageAuthenticator, String> {
    if dns.nameservers.is_empty() {
        return MessageAuthenticator::new_system_conf().map_err(|e| e.to_string());
    }
    let (config, options) =
        resolver_setup(&dns.nameservers, dns.timeout).map_err(|e| e.to_string())?;
    MessageAuthenticator::new(config, options).map_err(|e| e.to_string())
}

/// The verdict of one DKIM signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimVerdict {
    /// `d=`.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `pass`, `fail`, `neutral`, `permerror`, `temperror` or `none`.
    pub result: &'static str,
    /// Why, when it did not pass.
    pub reason: String,
    /// Whether `d=` aligns with the From domain under the DMARC `adkim` mode.
    pub aligned: bool,
}

/// The DMARC verdict of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DmarcVerdict {
    /// An aligned SPF or DKIM pass.
    Pass,
    /// No aligned pass; receivers apply this policy.
    Fail(Policy),
    /// The From domain publishes no usable DMARC record.
    None(String),
}

/// What a receiver concludes about the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleReport {
    /// The RFC5322.From domain.
    pub from_domain: String,
    /// The envelope sender (Return-Path), empty for a null sender.
    pub mail_from: String,
    /// The HELO name of the first trusted hop, if found.
    pub helo: String,
    /// The connecting client, from the profile or the first trusted hop.
    pub client_ip: Option<IpAddr>,
    /// SPF for the client and envelope sender (`None` without a client).
    pub spf: Option<SpfResult>,
    /// The domain SPF checked.
    pub spf_domain: String,
    /// Whether the SPF domain aligns with the From domain.
    pub spf_aligned: bool,
    /// One verdict per signature.
    pub dkim: Vec<DkimVerdict>,
    /// DMARC.
    pub dmarc: DmarcVerdict,
}

impl SampleReport {
    /// The three lines a mailbox provider's "show original" view shows.
    pub fn show_original(&self) -> String {
        let spf = match (self.spf, self.client_ip) {
            (Some(result), Some(ip)) => format!(
                "SPF: {} with IP {ip} (smtp.mailfrom={})",
                result.as_str().to_ascii_uppercase(),
                self.spf_domain
            ),
            _ => "SPF: not evaluated (no connecting IP)".to_string(),
        };
        let dkim = if self.dkim.is_empty() {
            "DKIM: NONE (no signature)".to_string()
        } else {
            let parts: Vec<String> = self
                .dkim
                .iter()
                .map(|d| {
                    format!(
                        "'{}' with domain {}",
                        d.result.to_ascii_uppercase(),
                        d.domain
                    )
                })
                .collect();
            format!("DKIM: {}", parts.join("; "))
        };
        let dmarc = match &self.dmarc {
            DmarcVerdict::Pass => "DMARC: 'PASS'".to_string(),
            DmarcVerdict::Fail(policy) => format!("DMARC: 'FAIL' (p={})", policy.as_str()),
            DmarcVerdict::None(_) => "DMARC: 'NONE'".to_string(),
        };
        format!("{spf}\n{dkim}\n{dmarc}")
    }
}

/// Reads and judges the sample file.
pub async fn audit_file(
    dns: &dyn DnsLookup,
    verifier: &MessageAuthenticator,
    settings: &EmailSettings,
    path: &Path,
) -> SubjectRow {
    let subject = subject(path);
    let raw = match read_capped(path) {
        Ok(raw) => raw,
        Err(reason) => {
            return SubjectRow::judged(&subject, vec![unreadable(&subject, &reason, path)]);
        }
    };
    judge(
        dns,
        verifier,
        settings,
        &raw,
        &subject,
        &path.display().to_string(),
    )
    .await
}

fn read_capped(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut raw = Vec::new();
    file.take(MAX_SAMPLE_BYTES)
        .read_to_end(&mut raw)
        .map_err(|e| format!("cannot read: {e}"))?;
    Ok(raw)
}

fn unreadable(subject: &str, reason: &str, location: &Path) -> Finding {
    Finding::new(
        "email.sample-unreadable",
        Severity::High,
        Outcome::Fail,
        subject,
        "the sample mail cannot be read as a message",
    )
    .at(location.display().to_string())
    .evidence(reason.to_string())
    .fix("save the received mail with all headers (\"show original\" / \"download message\")")
}

/// Judges a raw message and returns its subject row.
pub async fn judge(
    dns: &dyn DnsLookup,
    verifier: &MessageAuthenticator,
    settings: &EmailSettings,
    raw: &[u8],
    subject: &str,
    location: &str,
) -> SubjectRow {
    let report = match authenticate(dns, verifier, raw, settings.sample_client_ip).await {
        Ok(report) => report,
        Err(reason) => {
            return SubjectRow::judged(
                subject,
                vec![unreadable(subject, &reason, Path::new(location))],
            );
        }
    };
    let summary = report.show_original();
    let mut findings = Vec::new();
    let mut add = |code: &str, severity, outcome, title: String, fix: &str| {
        findings.push(
            Finding::new(code, severity, outcome, subject, title)
                .at(location.to_string())
                .evidence(summary.clone())
                .fix(fix.to_string()),
        );
    };

    if report.dkim.is_empty() {
        add(
            "email.sample-dkim-none",
            Severity::High,
            Outcome::Fail,
            "the sample mail carries no DKIM signature".to_string(),
            "turn on DKIM signing for the domain at the sending provider",
        );
    } else if !report.dkim.iter().any(|d| d.result == "pass") {
        let reasons: Vec<String> = report
            .dkim
            .iter()
            .map(|d| {
                format!(
                    "d={} s={}: {} ({})",
                    d.domain, d.selector, d.result, d.reason
                )
            })
            .collect();
        add(
            "email.sample-dkim-fail",
            Severity::High,
            Outcome::Fail,
            format!("no DKIM signature verifies: {}", reasons.join("; ")),
            "publish the signing key at the selector and make sure nothing rewrites the \
             message after signing",
        );
    } else if !report.dkim.iter().any(|d| d.result == "pass" && d.aligned) {
        add(
            "email.sample-dkim-unaligned",
            Severity::Medium,
            Outcome::Warn,
            format!(
                "DKIM passes only for domains that do not align with From ({})",
                report.from_domain
            ),
            "have the provider sign with d= your From domain (custom DKIM domain)",
        );
    }

    match report.spf {
        None => add(
            "email.sample-no-client-ip",
            Severity::Medium,
            Outcome::Warn,
            "SPF not evaluated: no connecting IP in the profile or the Received headers"
                .to_string(),
            "set [checks.email] sample_client_ip, or save the mail with its Received headers",
        ),
        Some(SpfResult::Pass) if !report.spf_aligned => add(
            "email.sample-spf-unaligned",
            Severity::Info,
            Outcome::Warn,
            format!(
                "SPF passes for {}, which does not align with From ({})",
                report.spf_domain, report.from_domain
            ),
            "use a return-path (bounce) domain under your From domain for SPF alignment",
        ),
        Some(SpfResult::Pass) => {}
        Some(result) => add(
            "email.sample-spf-fail",
            Severity::Medium,
            Outcome::Fail,
            format!("SPF {result} for the sending host"),
            "add the sending host (or the provider's include:) to the envelope domain's SPF",
        ),
    }

    match &report.dmarc {
        DmarcVerdict::Pass => {}
        DmarcVerdict::Fail(policy) => add(
            "email.sample-dmarc-fail",
            Severity::High,
            Outcome::Fail,
            format!(
                "DMARC fails: no aligned SPF or DKIM pass; receivers apply p={}",
                policy.as_str()
            ),
            "sign with d= the From domain, or send with an aligned return-path domain",
        ),
        DmarcVerdict::None(reason) => add(
            "email.sample-dmarc-none",
            Severity::Medium,
            Outcome::Warn,
            format!("DMARC not applied: {reason}"),
            "publish a DMARC record for the From domain",
        ),
    }

    let mut row = SubjectRow::judged(subject, findings);
    row.reason = Some(summary.replace('\n', "; "));
    row.measurements
        .insert("from_domain".into(), report.from_domain.clone().into());
    row.measurements
        .insert("show_original".into(), summary.into());
    row
}

/// Mail-auth's TXT cache, filled by us before verification.
#[derive(Default)]
struct KeyCache(Mutex<HashMap<Box<str>, Txt>>);

impl KeyCache {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Txt>> {
        match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

impl mail_auth::ResolverCache<Box<str>, Txt> for KeyCache {
    fn get<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map().get(name).cloned()
    }

    fn remove<Q>(&self, name: &Q) -> Option<Txt>
    where
        Box<str>: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map().remove(name)
    }

    fn insert(&self, key: Box<str>, value: Txt, _valid_until: std::time::Instant) {
        self.map().insert(key, value);
    }
}

/// The key record at `name` as mail-auth's cache holds it: the first TXT
/// record that parses as a DKIM key (as mail-auth itself picks), or the
/// error a receiver would see.
async fn key_entry(dns: &dyn DnsLookup, name: &str) -> Txt {
    use mail_auth::{DnsError, Error};
    match dns.txt(name).await {
        DnsOutcome::Records(records) => {
            let mut last = Error::Dns(DnsError::InvalidRecordType);
            for record in &records {
                match DomainKey::parse(&record.joined_bytes()) {
                    Ok(key) => return Txt::from(key),
                    Err(error) => last = error,
                }
            }
            Txt::Error(last)
        }
        DnsOutcome::NxDomain => {
            Txt::Error(Error::Dns(DnsError::RecordNotFound(ResponseCode::NXDomain)))
        }
        DnsOutcome::NoData => {
            Txt::Error(Error::Dns(DnsError::RecordNotFound(ResponseCode::NoError)))
        }
        DnsOutcome::TempFail(reason) => Txt::Error(Error::Dns(DnsError::Resolver(reason))),
    }
}

/// Mail saved on Unix often has bare LF line ends, and mbox files start with
/// a `From ` separator line; signatures were computed over CRLF lines.
pub fn normalize(raw: &[u8]) -> Vec<u8> {
    let raw = match raw.strip_prefix(b"From ") {
        Some(rest) => match rest.iter().position(|b| *b == b'\n') {
            Some(end) => &rest[end + 1..],
            None => raw,
        },
        None => raw,
    };
    if raw.windows(2).any(|w| w == b"\r\n") {
        return raw.to_vec();
    }
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 32);
    for byte in raw {
        if *byte == b'\n' {
            out.push(b'\r');
        }
        out.push(*byte);
    }
    out
}

fn header_text(message: &AuthenticatedMessage<'_>, name: &str) -> Option<String> {
    message
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, v)| unfold(v))
}

fn unfold(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The envelope sender from `Return-Path: <addr>` (empty for `<>`).
fn return_path(message: &AuthenticatedMessage<'_>) -> Option<String> {
    let value = header_text(message, "Return-Path")?;
    let inner = value.trim().trim_start_matches('<');
    let inner = inner.split('>').next().unwrap_or("").trim();
    Some(inner.to_ascii_lowercase())
}

/// The HELO name and client address of the topmost `Received` header: the
/// hop the receiving provider added, the only one it vouches for.
pub fn first_hop(received: &str) -> (String, Option<IpAddr>) {
    let lower = received.to_ascii_lowercase();
    let from_part = if lower.trim_start().starts_with("by ") {
        ""
    } else {
        match lower.find(" by ") {
            Some(end) => &received[..end],
            None => received,
        }
    };
    let helo = from_part
        .trim_start()
        .strip_prefix("from ")
        .or_else(|| from_part.trim_start().strip_prefix("FROM "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("")
        .trim_matches(|c| c == '[' || c == ']')
        .to_string();
    let mut ip = None;
    for piece in from_part.split('[').skip(1) {
        let candidate = piece.split(']').next().unwrap_or("");
        let candidate = candidate
            .strip_prefix("IPv6:")
            .or_else(|| candidate.strip_prefix("ipv6:"))
            .unwrap_or(candidate);
        if let Ok(found) = candidate.parse::<IpAddr>() {
            ip = Some(found);
            break;
        }
    }
    (helo, ip)
}

fn domain_of(address: &str) -> String {
    address
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or(address)
        .trim()
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// Verifies DKIM, evaluates SPF and computes DMARC for a raw message.
pub async fn authenticate(
    dns: &dyn DnsLookup,
    verifier: &MessageAuthenticator,
    raw: &[u8],
    client_ip: Option<IpAddr>,
) -> Result<SampleReport, String> {
    let raw = normalize(raw);
    let message = AuthenticatedMessage::parse(&raw)
        .ok_or_else(|| "mail-auth cannot parse it as an RFC 5322 message".to_string())?;
    let Some(from) = message.from.first() else {
        return Err("the message has no From address".to_string());
    };
    let from_domain = domain_of(from);
    if from_domain.is_empty() {
        return Err(format!("the From address {from:?} has no domain"));
    }

    let (helo, hop_ip) = header_text(&message, "Received")
        .map(|r| first_hop(&r))
        .unwrap_or_default();
    let client_ip = client_ip.or(hop_ip);
    let mail_from = return_path(&message).unwrap_or_default();

    // The DKIM keys, through our resolver, into mail-auth's cache.
    let cache = KeyCache::default();
    let names: Vec<String> = message
        .dkim_headers
        .iter()
        .map(|h| {
            format!("{}._domainkey.{}", h.header.s, h.header.d)
                .to_fqdn()
                .into_owned()
        })
        .collect();
    let entries = futures::future::join_all(names.iter().map(|n| key_entry(dns, n))).await;
    for (name, entry) in names.into_iter().zip(entries) {
        mail_auth::ResolverCache::insert(
            &cache,
            name.into_boxed_str(),
            entry,
            std::time::Instant::now(),
        );
    }

    let discovery = dmarc::discover(dns, &from_domain).await;
    let (adkim, aspf) = match discovery.record() {
        Some(record) => (record.adkim, record.aspf),
        None => (AlignmentMode::Relaxed, AlignmentMode::Relaxed),
    };

    let outputs = verifier
        .verify_dkim(Parameters::new(&message).with_txt_cache(&cache))
        .await;
    let dkim: Vec<DkimVerdict> = outputs
        .iter()
        .map(|output| {
            let (domain, selector) = output
                .signature()
                .map(|s| (s.d.to_ascii_lowercase(), s.s.clone()))
                .unwrap_or_default();
            let (result, reason) = match output.result() {
                DkimResult::Pass => ("pass", String::new()),
                DkimResult::Fail(e) => ("fail", e.to_string()),
                DkimResult::Neutral(e) => ("neutral", e.to_string()),
                DkimResult::PermError(e) => ("permerror", e.to_string()),
                DkimResult::TempError(e) => ("temperror", e.to_string()),
                DkimResult::None => ("none", String::new()),
            };
            DkimVerdict {
                aligned: is_aligned(&from_domain, &domain, adkim),
                domain,
                selector,
                result,
                reason,
            }
        })
        .collect();

    let (spf, spf_domain) = match client_ip {
        Some(ip) if !(mail_from.is_empty() && helo.is_empty()) => {
            let request = SpfRequest::new(ip, &mail_from, &helo);
            let domain = request.domain();
            (Some(check_host(dns, &request).await.result), domain)
        }
        Some(_) => (Some(SpfResult::None), String::new()),
        None => (None, domain_of(&mail_from)),
    };
    let spf_aligned = spf == Some(SpfResult::Pass) && is_aligned(&from_domain, &spf_domain, aspf);
    let dkim_aligned = dkim.iter().any(|d| d.result == "pass" && d.aligned);

    let dmarc = match (discovery.applied_policy(), &discovery.outcome) {
        (Some(_), _) if spf_aligned || dkim_aligned => DmarcVerdict::Pass,
        (Some(policy), _) => DmarcVerdict::Fail(policy),
        (None, dmarc::DiscoveryOutcome::MultipleRecords { name, .. }) => {
            DmarcVerdict::None(format!("more than one DMARC record at {name}"))
        }
        (None, dmarc::DiscoveryOutcome::DnsFailure(reason)) => {
            DmarcVerdict::None(format!("DMARC lookup failed: {reason}"))
        }
        (None, _) => DmarcVerdict::None(format!("no usable DMARC record for {from_domain}")),
    };

    Ok(SampleReport {
        from_domain,
        mail_from,
        helo,
        client_ip,
        spf,
        spf_domain,
        spf_aligned,
        dkim,
        dmarc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_hop_reads_helo_and_address() {
        let (helo, ip) = first_hop(
            "from mail.example.com (mail.example.com [198.51.100.7]) by mx.receiver.example \
             with ESMTPS id x; Mon, 1 Jan 2026 00:00:00 +0000",
        );
        assert_eq!(helo, "mail.example.com");
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
        let (_, ip) = first_hop("from [IPv6:2001:db8::7] (unknown) by mx.example");
        assert_eq!(ip, Some("2001:db8::7".parse().unwrap()));
        let (_, ip) = first_hop("by mx.example with LMTP [10.0.0.1]");
        assert_eq!(ip, None);
    }

    #[test]
    fn bare_lf_becomes_crlf_and_mbox_separator_goes() {
        assert_eq!(
            normalize(b"From x\nA: b\n\nbody\n"),
            b"A: b\r\n\r\nbody\r\n"
        );
        assert_eq!(normalize(b"A: b\r\n\r\nx\r\n"), b"A: b\r\n\r\nx\r\n");
    }
}
