//! DMARC policy records (RFC 7489): parsing, policy discovery, external report
//! destinations, and identifier alignment.
//!
//! The audit must report what receivers will actually apply, which is not
//! always what is published: an invalid tag value is discarded for its
//! default (an invalid `sp=` means subdomains inherit `p=`), two records at
//! one name mean no policy at all, and a subdomain without a record of its
//! own gets the organisational domain's `sp=`.

use crate::checks::email::dns::{DnsLookup, DnsOutcome, TxtRecord};
use crate::checks::email::psl::organizational_domain;

/// What a receiver does with failing mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Monitoring only: deliver as usual, send reports.
    None,
    /// Treat as suspicious (spam folder).
    Quarantine,
    /// Reject during the SMTP transaction.
    Reject,
}

impl Policy {
    fn parse(value: &str) -> Option<Policy> {
        match value.to_ascii_lowercase().as_str() {
            "none" => Some(Policy::None),
            "quarantine" => Some(Policy::Quarantine),
            "reject" => Some(Policy::Reject),
            _ => None,
        }
    }

    /// The policy's name as written in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Quarantine => "quarantine",
            Policy::Reject => "reject",
        }
    }
}

/// How closely an authenticated domain must match the From domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlignmentMode {
    /// Same organisational domain (`r`, the default).
    Relaxed,
    /// Exactly the same domain (`s`).
    Strict,
}

impl AlignmentMode {
    fn parse(value: &str) -> Option<AlignmentMode> {
        match value.to_ascii_lowercase().as_str() {
            "r" => Some(AlignmentMode::Relaxed),
            "s" => Some(AlignmentMode::Strict),
            _ => None,
        }
    }
}

/// One `rua`/`ruf` destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportUri {
    /// The URI as written, without a size limit suffix.
    pub uri: String,
    /// The host of a `mailto:` address, lower-case.
    pub mail_domain: Option<String>,
    /// The `!size` limit as written, if any.
    pub max_size: Option<String>,
}

/// A tag problem: its value was discarded (or the tag ignored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagIssue {
    /// The tag name as written.
    pub tag: String,
    /// The value as written.
    pub value: String,
    /// What is wrong and what receivers use instead.
    pub message: String,
}

/// A parsed DMARC record, with defaults applied where tags were absent or
/// invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcRecord {
    /// The record text (strings joined).
    pub text: String,
    /// `p=`. `None` here means the record had no usable `p=` but a valid
    /// `rua=`, which receivers treat as `p=none` (RFC 7489 §6.6.3).
    pub policy: Policy,
    /// `sp=` as it applies to subdomains (the `p=` value when absent or
    /// invalid).
    pub subdomain_policy: Policy,
    /// Whether a valid `sp=` was published.
    pub subdomain_policy_published: bool,
    /// `adkim=` (default relaxed).
    pub adkim: AlignmentMode,
    /// `aspf=` (default relaxed).
    pub aspf: AlignmentMode,
    /// `pct=` (default 100).
    pub pct: u8,
    /// Aggregate report destinations (`rua=`).
    pub rua: Vec<ReportUri>,
    /// Failure report destinations (`ruf=`).
    pub ruf: Vec<ReportUri>,
    /// Failure reporting options (`fo=`, default `0`).
    pub fo: Vec<String>,
    /// Failure report formats (`rf=`, default `afrf`).
    pub rf: Vec<String>,
    /// Aggregate report interval in seconds (`ri=`, default 86400).
    pub ri: u32,
    /// Tags whose values were discarded or that are unknown.
    pub issues: Vec<TagIssue>,
}

impl DmarcRecord {
    /// `p=none`: reports only, nothing is quarantined or rejected.
    pub fn is_monitoring_only(&self) -> bool {
        self.policy == Policy::None
    }
}

/// Why a TXT record at `_dmarc` is not a usable DMARC record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DmarcParseError {
    /// It does not start with `v=DMARC1`.
    #[error("the record does not start with v=DMARC1")]
    NotDmarc,
    /// No valid `p=` and no valid `rua=`: receivers apply no DMARC.
    #[error("no valid p= tag ({0}) and no valid rua= to fall back on")]
    NoPolicy(String),
}

/// Whether a TXT record is a DMARC record candidate: `v=DMARC1` first.
pub fn is_dmarc_record(record: &TxtRecord) -> bool {
    let text = record.text();
    let first = text.split(';').next().unwrap_or("");
    match first.split_once('=') {
        Some((tag, value)) => tag.trim() == "v" && value.trim() == "DMARC1",
        None => false,
    }
}

/// Parses a DMARC record (RFC 7489 §6.3), discarding invalid values for
/// their defaults and noting each one.
pub fn parse_dmarc(text: &str) -> Result<DmarcRecord, DmarcParseError> {
    let mut tags: Vec<(String, String)> = Vec::new();
    for part in text.split(';') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (tag, value) = part.split_once('=').unwrap_or((part, ""));
        tags.push((tag.trim().to_string(), value.trim().to_string()));
    }
    match tags.first() {
        Some((tag, value)) if tag == "v" && value == "DMARC1" => {}
        _ => return Err(DmarcParseError::NotDmarc),
    }

    let mut issues = Vec::new();
    let mut issue = |tag: &str, value: &str, message: String| {
        issues.push(TagIssue {
            tag: tag.to_string(),
            value: value.to_string(),
            message,
        });
    };
    let mut seen: Vec<String> = Vec::new();
    let mut policy = None;
    let mut policy_problem = "p= is missing".to_string();
    let mut subdomain_policy = None;
    let mut adkim = AlignmentMode::Relaxed;
    let mut aspf = AlignmentMode::Relaxed;
    let mut pct = 100;
    let mut rua = Vec::new();
    let mut ruf = Vec::new();
    let mut fo = vec!["0".to_string()];
    let mut rf = vec!["afrf".to_string()];
    let mut ri = 86_400;

    for (tag, value) in tags.iter().skip(1) {
        let name = tag.to_ascii_lowercase();
        if seen.contains(&name) {
            issue(
                tag,
                value,
                format!("{tag}= appears more than once; the first one counts"),
            );
            continue;
        }
        seen.push(name.clone());
        match name.as_str() {
            "v" => issue(tag, value, "v= must appear only first".to_string()),
            "p" => match Policy::parse(value) {
                Some(p) => policy = Some(p),
                None => {
                    policy_problem = format!("p={value} is not none, quarantine or reject");
                    issue(tag, value, policy_problem.clone());
                }
            },
            "sp" => match Policy::parse(value) {
                Some(p) => subdomain_policy = Some(p),
                None => issue(
                    tag,
                    value,
                    format!(
                        "sp={value} is not none, quarantine or reject; receivers ignore it and \
                         subdomains inherit p="
                    ),
                ),
            },
            "adkim" | "aspf" => match AlignmentMode::parse(value) {
                Some(mode) if name == "adkim" => adkim = mode,
                Some(mode) => aspf = mode,
                None => issue(
                    tag,
                    value,
                    format!("{tag}={value} is not r or s; receivers use r (relaxed)"),
                ),
            },
            "pct" => match value.parse::<u8>() {
                Ok(n) if n <= 100 && !value.is_empty() => pct = n,
                _ => issue(
                    tag,
                    value,
                    format!("pct={value} is not an integer 0-100; receivers use 100"),
                ),
            },
            "rua" | "ruf" => {
                let (valid, invalid) = parse_uris(value);
                for bad in invalid {
                    issue(
                        tag,
                        value,
                        format!("{bad:?} is not a valid report URI; ignored"),
                    );
                }
                if name == "rua" {
                    rua = valid;
                } else {
                    ruf = valid;
                }
            }
            "fo" => {
                let options: Vec<String> = value.split(':').map(|o| o.trim().to_string()).collect();
                if !value.is_empty()
                    && options
                        .iter()
                        .all(|o| ["0", "1", "d", "s"].contains(&o.as_str()))
                {
                    fo = options;
                } else {
                    issue(
                        tag,
                        value,
                        format!("fo={value} is not a list of 0, 1, d, s; receivers use 0"),
                    );
                }
            }
            "rf" => {
                let formats: Vec<String> = value
                    .split(':')
                    .map(|f| f.trim().to_ascii_lowercase())
                    .collect();
                if formats.iter().all(|f| f == "afrf") {
                    rf = formats;
                } else {
                    issue(
                        tag,
                        value,
                        format!("rf={value} names an unknown report format; receivers use afrf"),
                    );
                }
            }
            "ri" => match value.parse::<u32>() {
                Ok(n) => ri = n,
                Err(_) => issue(
                    tag,
                    value,
                    format!("ri={value} is not a number of seconds; receivers use 86400"),
                ),
            },
            _ => issue(
                tag,
                value,
                format!("unknown tag {tag}=; receivers ignore it"),
            ),
        }
    }

    let policy = match policy {
        Some(p) => p,
        None if !rua.is_empty() => {
            issue(
                "p",
                "",
                format!("{policy_problem}; with a valid rua= receivers act as if p=none"),
            );
            Policy::None
        }
        None => return Err(DmarcParseError::NoPolicy(policy_problem)),
    };
    Ok(DmarcRecord {
        text: text.to_string(),
        policy,
        subdomain_policy: subdomain_policy.unwrap_or(policy),
        subdomain_policy_published: subdomain_policy.is_some(),
        adkim,
        aspf,
        pct,
        rua,
        ruf,
        fo,
        rf,
        ri,
        issues,
    })
}

/// Splits a `rua`/`ruf` value into valid URIs and rejected items.
fn parse_uris(value: &str) -> (Vec<ReportUri>, Vec<String>) {
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (uri, max_size) = match item.rsplit_once('!') {
            Some((uri, size)) if is_size(size) => (uri, Some(size.to_string())),
            _ => (item, None),
        };
        let Some((scheme, rest)) = uri.split_once(':') else {
            invalid.push(item.to_string());
            continue;
        };
        let scheme_ok = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok || rest.is_empty() {
            invalid.push(item.to_string());
            continue;
        }
        let mail_domain = if scheme.eq_ignore_ascii_case("mailto") {
            match rest.rsplit_once('@') {
                Some((local, host)) if !local.is_empty() && host.contains('.') => {
                    Some(host.trim_end_matches('.').to_ascii_lowercase())
                }
                _ => {
                    invalid.push(item.to_string());
                    continue;
                }
            }
        } else {
            None
        };
        valid.push(ReportUri {
            uri: uri.to_string(),
            mail_domain,
            max_size,
        });
    }
    (valid, invalid)
}

/// `1*DIGIT [ "k" / "m" / "g" / "t" ]`
fn is_size(text: &str) -> bool {
    let digits = text.trim_end_matches(['k', 'm', 'g', 't', 'K', 'M', 'G', 'T']);
    !digits.is_empty()
        && digits.len() + 1 >= text.len()
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// What policy discovery found for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiscoveryOutcome {
    /// One usable record.
    Found {
        /// The domain whose `_dmarc` name holds the record.
        record_domain: String,
        /// The record.
        record: DmarcRecord,
    },
    /// No DMARC record at the domain nor at its organisational domain.
    NotFound,
    /// More than one DMARC record at one name: receivers apply no DMARC
    /// (RFC 7489 §6.6.3 step 5).
    MultipleRecords {
        /// The queried name.
        name: String,
        /// The records found.
        records: Vec<String>,
    },
    /// A record whose `p=` is unusable and that has no `rua=`.
    Unusable {
        /// The queried name.
        name: String,
        /// The record.
        text: String,
        /// Why.
        reason: String,
    },
    /// A DNS failure: receivers return temperror.
    DnsFailure(String),
}

/// The result of DMARC policy discovery for one From domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DmarcDiscovery {
    /// The domain asked about.
    pub domain: String,
    /// Its organisational domain.
    pub organizational_domain: String,
    /// What was found.
    pub outcome: DiscoveryOutcome,
    /// TXT records at the queried names that look like DMARC but do not
    /// start with a valid `v=DMARC1` tag, so receivers discard them.
    pub discarded: Vec<String>,
}

impl DmarcDiscovery {
    /// Whether the record came from the organisational domain rather than
    /// the domain itself.
    pub fn inherited(&self) -> bool {
        match &self.outcome {
            DiscoveryOutcome::Found { record_domain, .. } => *record_domain != self.domain,
            _ => false,
        }
    }

    /// The policy receivers apply to mail from `domain`: `p=` for the
    /// domain's own record, `sp=` for one inherited from the organisational
    /// domain; `None` when no DMARC applies.
    pub fn applied_policy(&self) -> Option<Policy> {
        match &self.outcome {
            DiscoveryOutcome::Found { record, .. } if self.inherited() => {
                Some(record.subdomain_policy)
            }
            DiscoveryOutcome::Found { record, .. } => Some(record.policy),
            _ => None,
        }
    }

    /// The record, when one applies.
    pub fn record(&self) -> Option<&DmarcRecord> {
        match &self.outcome {
            DiscoveryOutcome::Found { record, .. } => Some(record),
            _ => None,
        }
    }
}

/// What one `_dmarc` name holds.
enum NameLookup {
    Empty,
    Outcome(DiscoveryOutcome),
}

async fn lookup_name(dns: &dyn DnsLookup, domain: &str, discarded: &mut Vec<String>) -> NameLookup {
    let name = format!("_dmarc.{domain}");
    let records = match dns.txt(&name).await {
        DnsOutcome::Records(records) => records,
        DnsOutcome::NxDomain | DnsOutcome::NoData => return NameLookup::Empty,
        DnsOutcome::TempFail(reason) => {
            return NameLookup::Outcome(DiscoveryOutcome::DnsFailure(format!(
                "TXT lookup of {name} failed: {reason}"
            )));
        }
    };
    let dmarc: Vec<String> = records
        .iter()
        .filter(|r| is_dmarc_record(r))
        .map(TxtRecord::text)
        .collect();
    discarded.extend(
        records
            .iter()
            .filter(|r| !is_dmarc_record(r))
            .map(TxtRecord::text)
            .filter(|t| t.trim_start().to_ascii_lowercase().starts_with("v=dmarc")),
    );
    match dmarc.as_slice() {
        [] => NameLookup::Empty,
        [one] => NameLookup::Outcome(match parse_dmarc(one) {
            Ok(record) => DiscoveryOutcome::Found {
                record_domain: domain.to_string(),
                record,
            },
            Err(error) => DiscoveryOutcome::Unusable {
                name,
                text: one.clone(),
                reason: error.to_string(),
            },
        }),
        _ => NameLookup::Outcome(DiscoveryOutcome::MultipleRecords {
            name,
            records: dmarc,
        }),
    }
}

/// RFC 7489 §6.6.3 policy discovery: `_dmarc.<domain>`, then
/// `_dmarc.<organisational domain>`.
pub async fn discover(dns: &dyn DnsLookup, domain: &str) -> DmarcDiscovery {
    let domain = domain
        .strip_suffix('.')
        .unwrap_or(domain)
        .to_ascii_lowercase();
    let organizational = organizational_domain(&domain);
    let mut discarded = Vec::new();
    let mut outcome = match lookup_name(dns, &domain, &mut discarded).await {
        NameLookup::Outcome(outcome) => Some(outcome),
        NameLookup::Empty => None,
    };
    if outcome.is_none() && organizational != domain {
        outcome = match lookup_name(dns, &organizational, &mut discarded).await {
            NameLookup::Outcome(outcome) => Some(outcome),
            NameLookup::Empty => None,
        };
    }
    DmarcDiscovery {
        domain,
        organizational_domain: organizational,
        outcome: outcome.unwrap_or(DiscoveryOutcome::NotFound),
        discarded,
    }
}

/// Whether an external report destination accepts a domain's reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportAuthorization {
    /// The destination shares the policy domain's organisational domain.
    SameOrganization,
    /// `<domain>._report._dmarc.<destination>` holds `v=DMARC1`.
    Authorized,
    /// No authorisation record: receivers will not send reports there.
    Missing,
    /// The lookup failed.
    DnsFailure(String),
}

/// One `rua`/`ruf` destination and its authorisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDestination {
    /// `rua` or `ruf`.
    pub tag: &'static str,
    /// The URI.
    pub uri: String,
    /// The destination mail domain.
    pub destination: String,
    /// The name queried for authorisation (empty when not needed).
    pub query: String,
    /// The verdict.
    pub authorization: ReportAuthorization,
}

/// RFC 7489 §7.1: checks every `mailto:` destination of the record published
/// at `policy_domain` that lies outside its organisational domain.
pub async fn check_report_destinations(
    dns: &dyn DnsLookup,
    policy_domain: &str,
    record: &DmarcRecord,
) -> Vec<ReportDestination> {
    let policy_domain = policy_domain.trim_end_matches('.').to_ascii_lowercase();
    let own_org = organizational_domain(&policy_domain);
    let mut out = Vec::new();
    let tagged = record
        .rua
        .iter()
        .map(|u| ("rua", u))
        .chain(record.ruf.iter().map(|u| ("ruf", u)));
    for (tag, uri) in tagged {
        let Some(destination) = &uri.mail_domain else {
            continue;
        };
        if organizational_domain(destination) == own_org {
            out.push(ReportDestination {
                tag,
                uri: uri.uri.clone(),
                destination: destination.clone(),
                query: String::new(),
                authorization: ReportAuthorization::SameOrganization,
            });
            continue;
        }
        let query = format!("{policy_domain}._report._dmarc.{destination}");
        let authorization = match dns.txt(&query).await {
            DnsOutcome::Records(records) if records.iter().any(is_dmarc_record) => {
                ReportAuthorization::Authorized
            }
            DnsOutcome::TempFail(reason) => ReportAuthorization::DnsFailure(reason),
            _ => ReportAuthorization::Missing,
        };
        out.push(ReportDestination {
            tag,
            uri: uri.uri.clone(),
            destination: destination.clone(),
            query,
            authorization,
        });
    }
    out
}

/// Identifier alignment (RFC 7489 §3.1): strict needs the same domain,
/// relaxed the same organisational domain.
pub fn is_aligned(from_domain: &str, authenticated_domain: &str, mode: AlignmentMode) -> bool {
    let from = from_domain.trim_end_matches('.').to_ascii_lowercase();
    let other = authenticated_domain
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if from.is_empty() || other.is_empty() {
        return false;
    }
    match mode {
        AlignmentMode::Strict => from == other,
        AlignmentMode::Relaxed => organizational_domain(&from) == organizational_domain(&other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b11_invalid_sp_is_flagged_and_subdomains_inherit_p() {
        let record =
            parse_dmarc("v=DMARC1; p=reject; sp=rejcet; rua=mailto:dmarc@example.com").unwrap();
        assert_eq!(record.policy, Policy::Reject);
        assert_eq!(record.subdomain_policy, Policy::Reject);
        assert!(!record.subdomain_policy_published);
        assert_eq!(record.issues.len(), 1);
        assert_eq!(record.issues[0].tag, "sp");
        assert!(record.issues[0].message.contains("inherit p="));
    }

    #[test]
    fn a_good_record_has_no_issues() {
        let record = parse_dmarc(
            "v=DMARC1; p=quarantine; sp=reject; adkim=s; aspf=r; pct=50; \
             rua=mailto:agg@example.com!10m,mailto:agg@reports.example.net; \
             ruf=mailto:fail@example.com; fo=1:d; rf=afrf; ri=3600",
        )
        .unwrap();
        assert!(record.issues.is_empty(), "{:?}", record.issues);
        assert_eq!(record.policy, Policy::Quarantine);
        assert_eq!(record.subdomain_policy, Policy::Reject);
        assert_eq!(record.adkim, AlignmentMode::Strict);
        assert_eq!(record.pct, 50);
        assert_eq!(record.rua.len(), 2);
        assert_eq!(record.rua[0].max_size.as_deref(), Some("10m"));
        assert_eq!(
            record.rua[1].mail_domain.as_deref(),
            Some("reports.example.net")
        );
        assert_eq!(record.fo, ["1", "d"]);
        assert_eq!(record.ri, 3600);
    }

    #[test]
    fn invalid_values_fall_back_to_defaults() {
        let record = parse_dmarc(
            "v=DMARC1; p=none; adkim=x; aspf=strict; pct=150; fo=2; rf=iodef; ri=daily; \
             rua=dmarc@example.com; foo=bar",
        )
        .unwrap();
        assert_eq!(record.adkim, AlignmentMode::Relaxed);
        assert_eq!(record.aspf, AlignmentMode::Relaxed);
        assert_eq!(record.pct, 100);
        assert_eq!(record.fo, ["0"]);
        assert_eq!(record.rf, ["afrf"]);
        assert_eq!(record.ri, 86_400);
        assert!(record.rua.is_empty());
        let tags: Vec<&str> = record.issues.iter().map(|i| i.tag.as_str()).collect();
        assert_eq!(
            tags,
            ["adkim", "aspf", "pct", "fo", "rf", "ri", "rua", "foo"]
        );
        assert!(record.is_monitoring_only());
    }

    #[test]
    fn missing_or_invalid_p() {
        let with_rua = parse_dmarc("v=DMARC1; p=block; rua=mailto:d@example.com").unwrap();
        assert_eq!(with_rua.policy, Policy::None);
        assert!(
            with_rua
                .issues
                .iter()
                .any(|i| i.message.contains("act as if p=none"))
        );
        assert!(matches!(
            parse_dmarc("v=DMARC1; sp=reject"),
            Err(DmarcParseError::NoPolicy(_))
        ));
        assert_eq!(
            parse_dmarc("v=DMARC2; p=reject"),
            Err(DmarcParseError::NotDmarc)
        );
        assert_eq!(
            parse_dmarc("p=reject; v=DMARC1"),
            Err(DmarcParseError::NotDmarc)
        );
    }

    #[test]
    fn alignment_modes() {
        assert!(is_aligned(
            "example.com",
            "mail.example.com",
            AlignmentMode::Relaxed
        ));
        assert!(!is_aligned(
            "example.com",
            "mail.example.com",
            AlignmentMode::Strict
        ));
        assert!(is_aligned(
            "Example.com.",
            "example.COM",
            AlignmentMode::Strict
        ));
        assert!(!is_aligned(
            "example.com",
            "example.net",
            AlignmentMode::Relaxed
        ));
        assert!(!is_aligned(
            "a.example.co.uk",
            "b.other.co.uk",
            AlignmentMode::Relaxed
        ));
        assert!(is_aligned(
            "a.example.co.uk",
            "b.example.co.uk",
            AlignmentMode::Relaxed
        ));
    }
}
