//! The `email` check: do SPF, DKIM and DMARC pass for the mail the product
//! sends, and will they keep passing?
//!
//! One subject row per audited domain judges its published records (the SPF
//! include tree with its lookup counts, the DMARC policy receivers apply, the
//! DKIM key of each configured selector, MX, and MTA-STS / TLS-RPT as
//! information). When the profile names a received sample mail, one more
//! row verifies it end to end (see [`super::sample`]). All traffic is DNS
//! through one cached resolver built from the profile's `[dns]` settings; no
//! HTTP request is sent.

use std::net::{IpAddr, Ipv4Addr};

use async_trait::async_trait;
use futures::future::join_all;

use super::config::{DmarcNone, EmailSettings};
use super::dkim::{IssueLevel, KeyType, SelectorOutcome, lookup_selector};
use super::dmarc::{DiscoveryOutcome, Policy, ReportAuthorization, check_report_destinations};
use super::dns::{DnsLookup, DnsOutcome, HickoryDns};
use super::spf::{
    LintLevel, NodeVia, Qualifier, SpfEvaluation, SpfLintKind, SpfNode, SpfRequest, SpfResult,
    evaluate, render_tree,
};
use super::{dmarc, sample};
use crate::engine::{Check, CheckMeta, Context, Plan};
use crate::profile::Profile;
use crate::report::model::{Class, Finding, Outcome, Severity, SubjectRow};

/// The `email` check.
pub struct EmailCheck;

/// Every finding code of the check.
pub const CODES: &[&str] = &[
    "email.spf-missing",
    "email.spf-multiple-records",
    "email.spf-syntax-error",
    "email.spf-dns-failure",
    "email.spf-include-without-record",
    "email.spf-pass-all",
    "email.spf-neutral-all",
    "email.spf-softfail-all",
    "email.spf-no-all",
    "email.spf-ptr",
    "email.spf-redirect-ignored",
    "email.spf-void-term",
    "email.spf-too-many-mx",
    "email.spf-lookups-near-limit",
    "email.spf-lookup-limit",
    "email.spf-void-limit",
    "email.spf-loop",
    "email.spf-tree-too-large",
    "email.spf-sender-not-authorised",
    "email.spf-provider-missing",
    "email.dmarc-missing",
    "email.dmarc-multiple-records",
    "email.dmarc-invalid",
    "email.dmarc-dns-failure",
    "email.dmarc-tag-invalid",
    "email.dmarc-monitoring-only",
    "email.dmarc-partial-pct",
    "email.dmarc-inherited",
    "email.dmarc-no-reports",
    "email.dmarc-report-unauthorised",
    "email.dkim-not-configured",
    "email.dkim-key-missing",
    "email.dkim-key-invalid",
    "email.dkim-multiple-records",
    "email.dkim-dns-failure",
    "email.dkim-key-revoked",
    "email.dkim-key-weak",
    "email.dkim-key-short",
    "email.dkim-testing",
    "email.dkim-key-unusable",
    "email.mx-missing",
    "email.mx-null",
    "email.mx-unresolvable",
    "email.mx-dns-failure",
    "email.mta-sts-missing",
    "email.tls-rpt-missing",
    "email.sample-unreadable",
    "email.sample-no-client-ip",
    "email.sample-dkim-none",
    "email.sample-dkim-fail",
    "email.sample-dkim-unaligned",
    "email.sample-spf-fail",
    "email.sample-spf-unaligned",
    "email.sample-dmarc-fail",
    "email.sample-dmarc-none",
];

/// The client SPF is evaluated for when the profile names no sending host:
/// TEST-NET-1 (RFC 5737), which no real policy should authorise.
const PROBE_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

#[async_trait]
impl Check for EmailCheck {
    fn meta(&self) -> CheckMeta {
        CheckMeta {
            id: "email",
            title: "SPF, DKIM and DMARC",
            verifies: "the sending domains publish one valid SPF record within the lookup \
                       limits that authorises the sending hosts, usable DKIM keys, an enforced \
                       DMARC policy and MX; a received sample mail passes DKIM, SPF and DMARC",
            criterion: "SPF: one record, <= 10 DNS lookups and <= 2 void lookups, ends in -all \
                        (~all warns), sending hosts pass; DKIM: key present, not revoked, RSA >= \
                        2048 or ed25519; DMARC: one record, p=quarantine/reject (p=none passes \
                        with a note unless configured to fail); MX resolvable",
            class: Class::Passive,
            read_only: true,
        }
    }

    fn codes(&self) -> &'static [&'static str] {
        CODES
    }

    fn plan(&self, profile: &Profile) -> Plan {
        let settings = &profile.email;
        if !settings.enabled {
            return Plan::skip("not configured ([checks.email] domain)");
        }
        let mut plan = Plan::default();
        for domain in &settings.domains {
            plan = plan.step(
                domain,
                "DNS only (0 HTTP): TXT for SPF and its include tree, _dmarc, DKIM selectors, \
                 _mta-sts and _smtp._tls; MX and the exchanges' addresses",
                0,
                false,
            );
        }
        if let Some(path) = &settings.sample {
            plan = plan.step(
                &sample::subject(path),
                "read the sample mail; DNS only (0 HTTP): DKIM keys, SPF of the sender, DMARC",
                0,
                false,
            );
        }
        plan
    }

    async fn run(&self, ctx: Context) -> Vec<SubjectRow> {
        let settings = &ctx.profile.email;
        let dns_settings = &ctx.profile.dns;
        let dns = if dns_settings.nameservers.is_empty() {
            HickoryDns::system(dns_settings.timeout)
        } else {
            HickoryDns::new(&dns_settings.nameservers, dns_settings.timeout)
        };
        let dns = match dns {
            Ok(dns) => dns,
            Err(e) => {
                let reason = format!("cannot build the DNS resolver from [dns]: {e}");
                return settings
                    .domains
                    .iter()
                    .map(|d| SubjectRow::error(d, reason.clone()))
                    .collect();
            }
        };
        let verifier = sample::authenticator(&ctx.profile.dns);
        let mut rows = audit(&dns, settings, verifier.as_ref().ok()).await;
        if let (Err(e), Some(path)) = (&verifier, &settings.sample) {
            rows.retain(|r| r.subject != sample::subject(path));
            rows.push(SubjectRow::error(
                sample::subject(path),
                format!("cannot build the DKIM verifier's resolver: {e}"),
            ));
        }
        rows
    }
}

/// Audits every configured domain (concurrently) and the sample mail.
pub async fn audit(
    dns: &dyn DnsLookup,
    settings: &EmailSettings,
    verifier: Option<&mail_auth::MessageAuthenticator>,
) -> Vec<SubjectRow> {
    let domains = join_all(
        settings
            .domains
            .iter()
            .enumerate()
            .map(|(index, domain)| audit_domain(dns, settings, domain, index == 0)),
    );
    let sample_row = async {
        match (&settings.sample, verifier) {
            (Some(path), Some(verifier)) => {
                Some(sample::audit_file(dns, verifier, settings, path).await)
            }
            _ => None,
        }
    };
    let (mut rows, sample_row) = futures::join!(domains, sample_row);
    rows.extend(sample_row);
    rows
}

/// A finding under construction, before its subject is known.
struct Draft {
    code: &'static str,
    severity: Severity,
    outcome: Outcome,
    title: String,
    location: Option<String>,
    evidence: String,
    fix: String,
}

fn draft(code: &'static str, severity: Severity, outcome: Outcome, title: String) -> Draft {
    Draft {
        code,
        severity,
        outcome,
        title,
        location: None,
        evidence: String::new(),
        fix: String::new(),
    }
}

impl Draft {
    fn at(mut self, location: String) -> Draft {
        self.location = Some(location);
        self
    }

    fn evidence(mut self, evidence: String) -> Draft {
        self.evidence = evidence;
        self
    }

    fn fix(mut self, fix: &str) -> Draft {
        self.fix = fix.to_string();
        self
    }

    fn finish(self, subject: &str) -> Finding {
        let mut finding = Finding::new(self.code, self.severity, self.outcome, subject, self.title)
            .evidence(self.evidence)
            .fix(self.fix);
        if let Some(location) = self.location {
            finding = finding.at(location);
        }
        finding
    }
}

/// Audits one domain's published records.
pub async fn audit_domain(
    dns: &dyn DnsLookup,
    settings: &EmailSettings,
    domain: &str,
    main: bool,
) -> SubjectRow {
    let (spf, dmarc, dkim, mx, info) = futures::join!(
        spf_part(dns, settings, domain),
        dmarc_part(dns, settings, domain),
        dkim_part(dns, settings, domain, main),
        mx_part(dns, domain),
        transport_part(dns, domain),
    );
    let mut drafts = Vec::new();
    let mut measurements = serde_json::Map::new();
    for (part_drafts, part_measures) in [spf, dmarc, dkim, mx, info] {
        drafts.extend(part_drafts);
        measurements.extend(part_measures);
    }
    let findings = drafts.into_iter().map(|d| d.finish(domain)).collect();
    let mut row = SubjectRow::judged(domain, findings);
    row.measurements = measurements;
    row
}

type Part = (Vec<Draft>, serde_json::Map<String, serde_json::Value>);

/// The code, severity, outcome, title and fix of one SPF lint kind.
fn spf_lint_finding(
    kind: SpfLintKind,
    accept_softfail: bool,
) -> Option<(&'static str, Severity, Outcome, &'static str, &'static str)> {
    use Outcome::{Fail, Warn};
    use Severity::{High, Low, Medium};
    use SpfLintKind as K;
    Some(match kind {
        K::NoRecord => (
            "email.spf-missing",
            High,
            Fail,
            "no SPF record: receivers cannot tell the product's mail from forgeries",
            "publish one TXT record `v=spf1 include:<your provider> -all` at the domain",
        ),
        K::MultipleRecords => (
            "email.spf-multiple-records",
            High,
            Fail,
            "more than one v=spf1 record at one name: SPF is a permerror",
            "merge the records into one v=spf1 record",
        ),
        K::SyntaxError => (
            "email.spf-syntax-error",
            High,
            Fail,
            "an SPF record does not parse: SPF is a permerror",
            "correct the record's syntax (RFC 7208 §12)",
        ),
        K::DnsFailure => (
            "email.spf-dns-failure",
            Medium,
            Warn,
            "a DNS lookup of the SPF tree failed: receivers return temperror",
            "make every name the SPF tree refers to answer reliably",
        ),
        K::TargetWithoutRecord => (
            "email.spf-include-without-record",
            High,
            Fail,
            "an include or redirect target has no SPF record: SPF is a permerror",
            "remove the include or correct its domain name",
        ),
        K::PassAll => (
            "email.spf-pass-all",
            High,
            Fail,
            "`+all` authorises every host on the internet to send as this domain",
            "end the policy with `-all` and list the real senders before it",
        ),
        K::NeutralAll => (
            "email.spf-neutral-all",
            Medium,
            Fail,
            "`?all`: SPF says nothing about unknown senders",
            "end the policy with `-all` (or `~all` while you verify the senders)",
        ),
        K::SoftFailAll if accept_softfail => return None,
        K::SoftFailAll => (
            "email.spf-softfail-all",
            Low,
            Warn,
            "`~all`: unknown senders only soft-fail",
            "end the policy with `-all` once every sender is listed, or set \
             accept_softfail = true in [checks.email]",
        ),
        K::NoAll => (
            "email.spf-no-all",
            Medium,
            Warn,
            "the SPF policy has no `all`: unknown senders get neutral",
            "end the policy with `-all`",
        ),
        K::PtrUsed => (
            "email.spf-ptr",
            Low,
            Warn,
            "the SPF policy uses the discouraged `ptr` mechanism",
            "replace `ptr` with ip4/ip6 or a:/include: terms",
        ),
        K::RedirectIgnored => (
            "email.spf-redirect-ignored",
            Low,
            Warn,
            "redirect= is dead because the record has an `all` mechanism",
            "remove either the redirect or the `all` term",
        ),
        K::VoidTerm => (
            "email.spf-void-term",
            Low,
            Warn,
            "an SPF term resolves to nothing (a void lookup)",
            "remove the term or publish the records it names",
        ),
        K::TooManyMxNames => (
            "email.spf-too-many-mx",
            High,
            Fail,
            "an `mx` term names more than 10 MX records: SPF is a permerror",
            "use ip4/ip6 or include: instead of mx for that domain",
        ),
        K::LookupsNearLimit => (
            "email.spf-lookups-near-limit",
            Low,
            Warn,
            "the SPF tree uses 8 to 10 of its 10 DNS lookups",
            "flatten includes you do not need before adding another provider",
        ),
        K::LookupLimitExceeded => (
            "email.spf-lookup-limit",
            High,
            Fail,
            "the SPF tree needs more than 10 DNS lookups: receivers return permerror",
            "remove unused includes or replace them with ip4/ip6 ranges to stay within 10 lookups",
        ),
        K::VoidLimitExceeded => (
            "email.spf-void-limit",
            High,
            Fail,
            "the SPF tree has more than 2 void lookups: receivers return permerror",
            "remove terms whose names do not resolve",
        ),
        K::Loop => (
            "email.spf-loop",
            High,
            Fail,
            "the SPF includes form a loop: receivers return permerror",
            "remove the include or redirect that leads back",
        ),
        K::TreeTooLarge => (
            "email.spf-tree-too-large",
            High,
            Fail,
            "the SPF tree is too deep or too wide to evaluate",
            "flatten the include chain",
        ),
    })
}

async fn spf_part(dns: &dyn DnsLookup, settings: &EmailSettings, domain: &str) -> Part {
    let ips: Vec<IpAddr> = if settings.sending_ips.is_empty() {
        vec![PROBE_IP]
    } else {
        settings.sending_ips.clone()
    };
    let evaluations: Vec<SpfEvaluation> = join_all(
        ips.iter()
            .map(|ip| async move { evaluate(dns, &SpfRequest::for_domain(*ip, domain)).await }),
    )
    .await;
    let mut drafts = Vec::new();
    let mut measures = serde_json::Map::new();
    let Some(first) = evaluations.first() else {
        return (drafts, measures);
    };
    let tree = render_tree(first);
    measures.insert("spf_record".into(), first.tree.record.clone().into());
    measures.insert("spf_lookups".into(), first.total_lookups.into());
    measures.insert("spf_void_lookups".into(), first.total_voids.into());

    // One finding per kind of lint, with every occurrence as evidence.
    let mut seen: Vec<SpfLintKind> = Vec::new();
    for lint in &first.lints {
        if seen.contains(&lint.kind) {
            continue;
        }
        seen.push(lint.kind);
        let Some((code, severity, outcome, title, fix)) =
            spf_lint_finding(lint.kind, settings.accept_softfail)
        else {
            continue;
        };
        let (severity, outcome) = match lint.level {
            LintLevel::Info => (Severity::Info, Outcome::Warn),
            _ => (severity, outcome),
        };
        let occurrences: Vec<String> = first
            .lints
            .iter()
            .filter(|l| l.kind == lint.kind)
            .map(|l| match &l.term {
                Some(term) => format!("{}: `{term}`: {}", l.domain, l.message),
                None => format!("{}: {}", l.domain, l.message),
            })
            .collect();
        drafts.push(
            draft(code, severity, outcome, title.to_string())
                .at(format!("TXT {}", lint.domain))
                .evidence(format!("{}\n{tree}", occurrences.join("\n")))
                .fix(fix),
        );
    }

    let record_usable = !first.lints.iter().any(|l| {
        l.domain == domain
            && matches!(
                l.kind,
                SpfLintKind::NoRecord | SpfLintKind::MultipleRecords | SpfLintKind::SyntaxError
            )
    });
    if record_usable && !settings.sending_ips.is_empty() {
        let refused: Vec<&SpfEvaluation> = evaluations
            .iter()
            .filter(|e| e.result != SpfResult::Pass)
            .collect();
        if !refused.is_empty() {
            let lines: Vec<String> = refused
                .iter()
                .map(|e| {
                    let why = e
                        .matched
                        .as_ref()
                        .map(|m| format!("matched `{}` at {}", m.term, m.domain))
                        .or_else(|| e.reason.clone())
                        .unwrap_or_default();
                    format!("{}: {} ({why})", e.ip, e.result)
                })
                .collect();
            drafts.push(
                draft(
                    "email.spf-sender-not-authorised",
                    Severity::High,
                    Outcome::Fail,
                    format!(
                        "SPF does not pass for {} of the profile's sending hosts",
                        refused.len()
                    ),
                )
                .at(format!("TXT {domain}"))
                .evidence(format!("{}\n{tree}", lines.join("\n")))
                .fix("add the sending hosts (or the provider's include:) to the SPF record"),
            );
        }
        let results: Vec<String> = evaluations
            .iter()
            .map(|e| format!("{} {}", e.ip, e.result))
            .collect();
        measures.insert("spf_results".into(), results.into());
    }
    if record_usable {
        let missing: Vec<&String> = settings
            .spf_includes
            .iter()
            .filter(|include| !reaches(&first.tree, include))
            .collect();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
            drafts.push(
                draft(
                    "email.spf-provider-missing",
                    Severity::High,
                    Outcome::Fail,
                    format!(
                        "the SPF tree does not include the provider record {}",
                        names.join(", ")
                    ),
                )
                .at(format!("TXT {domain}"))
                .evidence(tree.clone())
                .fix("add `include:<provider record>` before the `all` term"),
            );
        }
    }
    (drafts, measures)
}

/// Whether the tree reaches `include` through pass-qualified includes and
/// redirects, with a usable record there.
fn reaches(node: &SpfNode, include: &str) -> bool {
    node.children.iter().any(|child| {
        let passes = matches!(
            child.via,
            NodeVia::Include(Qualifier::Pass) | NodeVia::Redirect
        );
        passes
            && ((child.domain.eq_ignore_ascii_case(include) && child.problem.is_none())
                || reaches(child, include))
    })
}

async fn dmarc_part(dns: &dyn DnsLookup, settings: &EmailSettings, domain: &str) -> Part {
    let discovery = dmarc::discover(dns, domain).await;
    let mut drafts = Vec::new();
    let mut measures = serde_json::Map::new();
    let location = format!("TXT _dmarc.{domain}");
    let discarded = if discovery.discarded.is_empty() {
        String::new()
    } else {
        format!(
            "\ndiscarded (not starting with v=DMARC1): {}",
            discovery.discarded.join(" | ")
        )
    };
    let (record_domain, record) = match &discovery.outcome {
        DiscoveryOutcome::Found {
            record_domain,
            record,
        } => (record_domain.clone(), record.clone()),
        DiscoveryOutcome::NotFound => {
            let org = &discovery.organizational_domain;
            let asked = if *org == discovery.domain {
                format!("_dmarc.{domain}")
            } else {
                format!("_dmarc.{domain} and _dmarc.{org}")
            };
            drafts.push(
                draft(
                    "email.dmarc-missing",
                    Severity::High,
                    Outcome::Fail,
                    "no DMARC record: receivers apply no policy to forged mail".to_string(),
                )
                .at(location)
                .evidence(format!("no v=DMARC1 TXT record at {asked}{discarded}"))
                .fix(
                    "publish `v=DMARC1; p=quarantine; rua=mailto:dmarc@<domain>` at _dmarc, \
                     then move to p=reject",
                ),
            );
            measures.insert("dmarc_policy".into(), "none found".into());
            return (drafts, measures);
        }
        DiscoveryOutcome::MultipleRecords { name, records } => {
            drafts.push(
                draft(
                    "email.dmarc-multiple-records",
                    Severity::High,
                    Outcome::Fail,
                    "more than one DMARC record: no DMARC policy applies to the domain".to_string(),
                )
                .at(format!("TXT {name}"))
                .evidence(records.join("\n"))
                .fix("keep exactly one v=DMARC1 record at the name"),
            );
            return (drafts, measures);
        }
        DiscoveryOutcome::Unusable { name, text, reason } => {
            drafts.push(
                draft(
                    "email.dmarc-invalid",
                    Severity::High,
                    Outcome::Fail,
                    "the DMARC record is unusable: no policy applies".to_string(),
                )
                .at(format!("TXT {name}"))
                .evidence(format!("{text}\n{reason}"))
                .fix("write the record as `v=DMARC1; p=quarantine; rua=mailto:...`"),
            );
            return (drafts, measures);
        }
        DiscoveryOutcome::DnsFailure(reason) => {
            drafts.push(
                draft(
                    "email.dmarc-dns-failure",
                    Severity::Medium,
                    Outcome::Warn,
                    "the DMARC lookup failed: receivers return temperror".to_string(),
                )
                .at(location)
                .evidence(reason.clone())
                .fix("make the _dmarc name answer reliably"),
            );
            return (drafts, measures);
        }
    };

    let policy = discovery.applied_policy().unwrap_or(record.policy);
    let evidence = format!("TXT _dmarc.{record_domain}: \"{}\"{discarded}", record.text);
    let record_location = format!("TXT _dmarc.{record_domain}");
    measures.insert("dmarc_record".into(), record.text.clone().into());
    measures.insert("dmarc_policy".into(), policy.as_str().into());
    measures.insert(
        "dmarc_subdomain_policy".into(),
        record.subdomain_policy.as_str().into(),
    );
    measures.insert("dmarc_pct".into(), record.pct.into());
    let mode = |m: dmarc::AlignmentMode| match m {
        dmarc::AlignmentMode::Relaxed => "relaxed",
        dmarc::AlignmentMode::Strict => "strict",
    };
    measures.insert("dmarc_adkim".into(), mode(record.adkim).into());
    measures.insert("dmarc_aspf".into(), mode(record.aspf).into());

    if discovery.inherited() {
        drafts.push(
            draft(
                "email.dmarc-inherited",
                Severity::Info,
                Outcome::Warn,
                format!(
                    "no record of its own: the organisational domain's policy applies (sp={})",
                    record.subdomain_policy.as_str()
                ),
            )
            .at(record_location.clone())
            .evidence(evidence.clone())
            .fix("nothing to do if the inherited policy is the one you want"),
        );
    }
    if !record.issues.is_empty() {
        let lines: Vec<String> = record
            .issues
            .iter()
            .map(|i| format!("{}={}: {}", i.tag, i.value, i.message))
            .collect();
        drafts.push(
            draft(
                "email.dmarc-tag-invalid",
                Severity::Low,
                Outcome::Warn,
                "DMARC tags with invalid values are ignored by receivers".to_string(),
            )
            .at(record_location.clone())
            .evidence(format!("{}\n{evidence}", lines.join("\n")))
            .fix("correct the listed tags (RFC 7489 §6.3)"),
        );
    }
    if policy == Policy::None {
        let (severity, outcome) = match settings.dmarc_none {
            DmarcNone::Pass => (Severity::Info, Outcome::Warn),
            DmarcNone::Fail => (Severity::Medium, Outcome::Fail),
        };
        drafts.push(
            draft(
                "email.dmarc-monitoring-only",
                severity,
                outcome,
                "DMARC p=none: monitoring only, forged mail is still delivered".to_string(),
            )
            .at(record_location.clone())
            .evidence(evidence.clone())
            .fix("move to p=quarantine, then p=reject, once the reports show only your senders"),
        );
    } else if record.pct < 100 {
        drafts.push(
            draft(
                "email.dmarc-partial-pct",
                Severity::Low,
                Outcome::Warn,
                format!(
                    "pct={}: the policy applies to only part of the failing mail",
                    record.pct
                ),
            )
            .at(record_location.clone())
            .evidence(evidence.clone())
            .fix("remove pct= (defaults to 100) once the policy is safe"),
        );
    }
    if record.rua.is_empty() {
        drafts.push(
            draft(
                "email.dmarc-no-reports",
                Severity::Low,
                Outcome::Warn,
                "no rua=: nobody receives aggregate reports of failing mail".to_string(),
            )
            .at(record_location.clone())
            .evidence(evidence.clone())
            .fix("add `rua=mailto:dmarc-reports@<domain>`"),
        );
    } else {
        let destinations = check_report_destinations(dns, &record_domain, &record).await;
        let missing: Vec<String> = destinations
            .iter()
            .filter(|d| d.authorization == ReportAuthorization::Missing)
            .map(|d| format!("{}={}: no v=DMARC1 TXT at {}", d.tag, d.uri, d.query))
            .collect();
        if !missing.is_empty() {
            drafts.push(
                draft(
                    "email.dmarc-report-unauthorised",
                    Severity::Low,
                    Outcome::Warn,
                    "a report destination in another domain has not authorised the reports"
                        .to_string(),
                )
                .at(record_location)
                .evidence(format!("{}\n{evidence}", missing.join("\n")))
                .fix(
                    "ask the destination domain to publish `v=DMARC1` at \
                     <your domain>._report._dmarc.<their domain>",
                ),
            );
        }
    }
    (drafts, measures)
}

async fn dkim_part(
    dns: &dyn DnsLookup,
    settings: &EmailSettings,
    domain: &str,
    main: bool,
) -> Part {
    let mut drafts = Vec::new();
    let mut measures = serde_json::Map::new();
    let selectors: Vec<&str> = settings
        .selectors
        .iter()
        .filter(|s| s.domain == domain)
        .map(|s| s.selector.as_str())
        .collect();
    if selectors.is_empty() {
        if main {
            drafts.push(
                draft(
                    "email.dkim-not-configured",
                    Severity::Low,
                    Outcome::Warn,
                    "no DKIM selector in the profile: keys were not checked".to_string(),
                )
                .evidence(format!(
                    "[checks.email] dkim_selectors names none for {domain}"
                ))
                .fix("add the selectors (s= of your signatures) to dkim_selectors"),
            );
        }
        return (drafts, measures);
    }
    let reports = join_all(
        selectors
            .iter()
            .map(|selector| lookup_selector(dns, selector, domain)),
    )
    .await;
    let mut keys = Vec::new();
    for report in reports {
        let location = format!("TXT {}", report.name);
        let found = match report.outcome {
            SelectorOutcome::Found(record) => record,
            SelectorOutcome::NotFound => {
                drafts.push(
                    draft(
                        "email.dkim-key-missing",
                        Severity::High,
                        Outcome::Fail,
                        "no DKIM key at the selector: signatures cannot verify".to_string(),
                    )
                    .at(location)
                    .evidence(format!("no TXT record at {}", report.name))
                    .fix("publish the provider's DKIM key record at the selector"),
                );
                continue;
            }
            SelectorOutcome::Invalid { text, error } => {
                drafts.push(
                    draft(
                        "email.dkim-key-invalid",
                        Severity::High,
                        Outcome::Fail,
                        "the DKIM key record does not parse".to_string(),
                    )
                    .at(location)
                    .evidence(format!("\"{text}\"\n{error}"))
                    .fix("publish the key record as `v=DKIM1; k=rsa; p=<base64 key>`"),
                );
                continue;
            }
            SelectorOutcome::MultipleRecords(records) => {
                drafts.push(
                    draft(
                        "email.dkim-multiple-records",
                        Severity::High,
                        Outcome::Fail,
                        "more than one TXT record at the selector: verification is undefined"
                            .to_string(),
                    )
                    .at(location)
                    .evidence(records.join("\n"))
                    .fix(
                        "keep one TXT record; split a long key into several strings of that \
                         one record",
                    ),
                );
                continue;
            }
            SelectorOutcome::DnsFailure(reason) => {
                drafts.push(
                    draft(
                        "email.dkim-dns-failure",
                        Severity::Medium,
                        Outcome::Warn,
                        "the DKIM key lookup failed: receivers return temperror".to_string(),
                    )
                    .at(location)
                    .evidence(reason)
                    .fix("make the selector name answer reliably"),
                );
                continue;
            }
        };
        let evidence = format!("{}: \"{}\"", report.name, found.text);
        let bits = found.key_bits.map(|b| format!("{b}")).unwrap_or_default();
        keys.push(format!(
            "{} {}{}",
            report.name,
            match &found.key_type {
                KeyType::Rsa => "rsa",
                KeyType::Ed25519 => "ed25519",
                KeyType::Unknown(k) => k.as_str(),
            },
            if bits.is_empty() {
                String::new()
            } else {
                format!(" {bits} bits")
            }
        ));
        if found.revoked {
            drafts.push(
                draft(
                    "email.dkim-key-revoked",
                    Severity::High,
                    Outcome::Fail,
                    "the DKIM key is revoked (empty p=): signatures with it fail".to_string(),
                )
                .at(location)
                .evidence(evidence)
                .fix("sign with a current selector and list it in dkim_selectors"),
            );
            continue;
        }
        let rsa_bits = match found.key_type {
            KeyType::Rsa => found.key_bits,
            _ => None,
        };
        if let Some(bits) = rsa_bits.filter(|b| *b < 1024) {
            drafts.push(
                draft(
                    "email.dkim-key-weak",
                    Severity::High,
                    Outcome::Fail,
                    format!("RSA key of {bits} bits: verifiers reject keys under 1024 bits"),
                )
                .at(location.clone())
                .evidence(evidence.clone())
                .fix("rotate to a 2048-bit RSA or an ed25519 key"),
            );
        } else if let Some(bits) = rsa_bits.filter(|b| *b < 2048) {
            drafts.push(
                draft(
                    "email.dkim-key-short",
                    Severity::Medium,
                    Outcome::Warn,
                    format!("RSA key of {bits} bits: use 2048 bits or more"),
                )
                .at(location.clone())
                .evidence(evidence.clone())
                .fix("rotate to a 2048-bit RSA key"),
            );
        }
        if found.is_testing() {
            drafts.push(
                draft(
                    "email.dkim-testing",
                    Severity::Low,
                    Outcome::Warn,
                    "t=y: the domain says it is testing DKIM".to_string(),
                )
                .at(location.clone())
                .evidence(evidence.clone())
                .fix("remove t=y from the key record"),
            );
        }
        let strength_issue = rsa_bits.is_some_and(|b| b < 1024);
        let other: Vec<&str> = found
            .issues
            .iter()
            .filter(|i| i.level == IssueLevel::Fail)
            .map(|i| i.message.as_str())
            .filter(|m| !(strength_issue && m.starts_with("RSA key of")))
            .collect();
        if !other.is_empty() {
            drafts.push(
                draft(
                    "email.dkim-key-unusable",
                    Severity::High,
                    Outcome::Fail,
                    "verifiers cannot use this DKIM key".to_string(),
                )
                .at(location)
                .evidence(format!("{}\n{evidence}", other.join("\n")))
                .fix("publish the key record exactly as the signing provider gives it"),
            );
        }
    }
    measures.insert("dkim_keys".into(), keys.into());
    (drafts, measures)
}

async fn mx_part(dns: &dyn DnsLookup, domain: &str) -> Part {
    let mut drafts = Vec::new();
    let mut measures = serde_json::Map::new();
    let location = format!("MX {domain}");
    let records = match dns.mx(domain).await {
        DnsOutcome::Records(records) => records,
        DnsOutcome::NxDomain | DnsOutcome::NoData => {
            drafts.push(
                draft(
                    "email.mx-missing",
                    Severity::Medium,
                    Outcome::Fail,
                    "no MX record: replies and bounces to this domain cannot be delivered"
                        .to_string(),
                )
                .at(location)
                .evidence(format!("no MX record at {domain}"))
                .fix("publish MX records for the domain"),
            );
            return (drafts, measures);
        }
        DnsOutcome::TempFail(reason) => {
            drafts.push(
                draft(
                    "email.mx-dns-failure",
                    Severity::Medium,
                    Outcome::Warn,
                    "the MX lookup failed".to_string(),
                )
                .at(location)
                .evidence(reason)
                .fix("make the domain's MX answer reliably"),
            );
            return (drafts, measures);
        }
    };
    let listed: Vec<String> = records
        .iter()
        .map(|m| format!("{} {}", m.preference, m.exchange))
        .collect();
    measures.insert("mx".into(), listed.clone().into());
    if records.iter().all(|m| m.exchange.is_empty()) {
        drafts.push(
            draft(
                "email.mx-null",
                Severity::Low,
                Outcome::Warn,
                "null MX (RFC 7505): the domain accepts no mail, so replies bounce".to_string(),
            )
            .at(location)
            .evidence(listed.join(", "))
            .fix("publish real MX records if users may reply to the product's mail"),
        );
        return (drafts, measures);
    }
    let checks = records
        .iter()
        .filter(|m| !m.exchange.is_empty())
        .map(|m| async move {
            let (a, aaaa) = futures::join!(dns.a(&m.exchange), dns.aaaa(&m.exchange));
            let resolves = !a.records().is_empty() || !aaaa.records().is_empty();
            (m.exchange.clone(), resolves)
        });
    let unresolved: Vec<String> = join_all(checks)
        .await
        .into_iter()
        .filter(|(_, resolves)| !resolves)
        .map(|(exchange, _)| exchange)
        .collect();
    if !unresolved.is_empty() {
        drafts.push(
            draft(
                "email.mx-unresolvable",
                Severity::Medium,
                Outcome::Fail,
                format!("MX host without an address: {}", unresolved.join(", ")),
            )
            .at(location)
            .evidence(format!(
                "MX {}; no A or AAAA for {}",
                listed.join(", "),
                unresolved.join(", ")
            ))
            .fix("publish A/AAAA records for every MX host, or remove the MX record"),
        );
    }
    (drafts, measures)
}

/// MTA-STS and TLS-RPT: information only.
async fn transport_part(dns: &dyn DnsLookup, domain: &str) -> Part {
    let mut drafts = Vec::new();
    let mut measures = serde_json::Map::new();
    let sts_name = format!("_mta-sts.{domain}");
    let rpt_name = format!("_smtp._tls.{domain}");
    let (sts, rpt) = futures::join!(dns.txt(&sts_name), dns.txt(&rpt_name));
    let find = |outcome: &DnsOutcome<super::dns::TxtRecord>, version: &str| {
        outcome
            .records()
            .iter()
            .map(super::dns::TxtRecord::text)
            .find(|t| t.trim_start().starts_with(version))
    };
    match find(&sts, "v=STSv1") {
        Some(text) => {
            measures.insert("mta_sts".into(), text.into());
        }
        None => drafts.push(
            draft(
                "email.mta-sts-missing",
                Severity::Info,
                Outcome::Warn,
                "no MTA-STS record: senders may deliver to this domain without TLS".to_string(),
            )
            .at(format!("TXT {sts_name}"))
            .evidence(format!("no v=STSv1 TXT record at {sts_name}"))
            .fix("publish an MTA-STS policy and `v=STSv1; id=...` at _mta-sts"),
        ),
    }
    match find(&rpt, "v=TLSRPTv1") {
        Some(text) => {
            measures.insert("tls_rpt".into(), text.into());
        }
        None => drafts.push(
            draft(
                "email.tls-rpt-missing",
                Severity::Info,
                Outcome::Warn,
                "no TLS-RPT record: nobody hears about TLS failures delivering to this domain"
                    .to_string(),
            )
            .at(format!("TXT {rpt_name}"))
            .evidence(format!("no v=TLSRPTv1 TXT record at {rpt_name}"))
            .fix("publish `v=TLSRPTv1; rua=mailto:tls-reports@<domain>` at _smtp._tls"),
        ),
    }
    (drafts, measures)
}
