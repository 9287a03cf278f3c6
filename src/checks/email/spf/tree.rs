//! The include/redirect tree of a domain's SPF record, its lookup counts and
//! the publishing mistakes found on the way.
//!
//! `check_host()` stops at the first match, so it never shows what a client
//! that matches nothing costs a receiver. The tree walk follows every include
//! and live redirect, asks the DNS questions each term would ask (concurrently,
//! per record), and counts DNS-querying terms and void lookups the way a
//! receiver counts them for such a client.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::join_all;

use super::check_host::check_host;
use super::macros::{Expander, MacroString};
use super::record::{Mechanism, Qualifier, SpfRecord};
use super::{
    MAX_DNS_LOOKUPS, MAX_VOID_LOOKUPS, RecordFetch, SpfEvaluation, SpfRequest, fetch_record,
    is_checkable_domain,
};
use crate::checks::email::dns::{DnsLookup, DnsOutcome};

/// How a node was reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeVia {
    /// The checked domain itself.
    Root,
    /// An `include:` with this qualifier.
    Include(Qualifier),
    /// A live `redirect=`.
    Redirect,
}

/// Why a node of the tree has no usable record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeProblem {
    /// The include or redirect leads back to a record already on the path.
    Loop,
    /// Not followed: the chain is deeper than the walk goes.
    TooDeep,
    /// Not followed: the tree has more records than the walk follows.
    TooManyRecords,
    /// The target is not a usable domain name.
    InvalidDomain(String),
    /// No `v=spf1` record (or the name does not exist).
    NoRecord(String),
    /// The TXT lookup failed.
    DnsFailure(String),
    /// More than one `v=spf1` record at the name.
    MultipleRecords(String),
    /// The record has a syntax error.
    Syntax(String),
}

impl std::fmt::Display for NodeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeProblem::Loop => f.write_str("loop: this record is already on the path"),
            NodeProblem::TooDeep => write!(f, "deeper than {MAX_DEPTH} levels; not followed"),
            NodeProblem::TooManyRecords => {
                write!(f, "more than {MAX_NODES} records in the tree; not followed")
            }
            NodeProblem::InvalidDomain(d) => write!(f, "{d:?} is not a usable domain name"),
            NodeProblem::NoRecord(reason) => write!(f, "no SPF record: {reason}"),
            NodeProblem::DnsFailure(reason) => write!(f, "DNS failure: {reason}"),
            NodeProblem::MultipleRecords(reason) | NodeProblem::Syntax(reason) => {
                f.write_str(reason)
            }
        }
    }
}

/// One record in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfNode {
    /// The domain whose record this is.
    pub domain: String,
    /// How the parent reached it.
    pub via: NodeVia,
    /// The record text, when exactly one record was found.
    pub record: Option<String>,
    /// Why the record cannot be used or was not followed.
    pub problem: Option<NodeProblem>,
    /// The record's terms as written.
    pub terms: Vec<String>,
    /// DNS-querying terms of this record (include, a, mx, ptr, exists and a
    /// live redirect).
    pub lookups: u32,
    /// Terms of this record whose DNS question found nothing (NXDOMAIN or
    /// NODATA), each with the name asked.
    pub voids: Vec<String>,
    /// Terms receivers fail on when they reach them: an `mx` target with
    /// more than 10 MX records, or a DNS failure while asking.
    pub term_errors: Vec<String>,
    /// Records reached through includes and a live redirect, in term order.
    pub children: Vec<SpfNode>,
}

impl SpfNode {
    fn total_lookups(&self) -> u32 {
        self.lookups
            + self
                .children
                .iter()
                .map(SpfNode::total_lookups)
                .sum::<u32>()
    }

    fn total_voids(&self) -> u32 {
        let own = u32::try_from(self.voids.len()).unwrap_or(u32::MAX);
        own + self.children.iter().map(SpfNode::total_voids).sum::<u32>()
    }
}

/// How much a lint matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LintLevel {
    /// Informational.
    Info,
    /// Works today but is fragile or weak.
    Warn,
    /// Receivers will not authenticate the mail as intended.
    Fail,
}

/// The kinds of SPF publishing mistakes the audit reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpfLintKind {
    /// The checked domain publishes no SPF record.
    NoRecord,
    /// More than one `v=spf1` record at one name (RFC 7208 §4.5).
    MultipleRecords,
    /// A record has a syntax error.
    SyntaxError,
    /// A DNS lookup failed while walking the tree.
    DnsFailure,
    /// An include or redirect target has no SPF record.
    TargetWithoutRecord,
    /// `+all` (anywhere: an included `+all` authorises everyone too).
    PassAll,
    /// `?all` ends the policy: no statement about unknown senders.
    NeutralAll,
    /// `~all` ends the policy: unknown senders only soft-fail.
    SoftFailAll,
    /// The policy has neither `all` nor a redirect: unknown senders get neutral.
    NoAll,
    /// The discouraged `ptr` mechanism (RFC 7208 §5.5).
    PtrUsed,
    /// `redirect=` next to an `all` mechanism, which makes it dead (§6.1).
    RedirectIgnored,
    /// An `a`, `mx`, `ptr` or `exists` term whose name resolves to nothing.
    VoidTerm,
    /// A name with more than 10 MX records: `mx` is a permerror (§4.6.4).
    TooManyMxNames,
    /// 8 to 10 DNS-querying terms: one more include breaks the policy.
    LookupsNearLimit,
    /// More than 10 DNS-querying terms: permerror at receivers.
    LookupLimitExceeded,
    /// More than 2 void lookups: permerror at receivers.
    VoidLimitExceeded,
    /// An include or redirect leads back to a record already on the path.
    Loop,
    /// The tree is too deep or too wide to follow completely.
    TreeTooLarge,
}

/// One finding about the published records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfLint {
    /// What kind of mistake.
    pub kind: SpfLintKind,
    /// How much it matters.
    pub level: LintLevel,
    /// The domain whose record has it.
    pub domain: String,
    /// The term at fault, if one is.
    pub term: Option<String>,
    /// What is wrong and why, for people.
    pub message: String,
}

/// Evaluates the request's domain for its client: `check_host()` plus the
/// full tree walk and the lints.
pub async fn evaluate(dns: &dyn DnsLookup, request: &SpfRequest) -> SpfEvaluation {
    let domain = request.domain();
    let walker = Walker {
        expander: Expander { dns, request },
        nodes: AtomicUsize::new(0),
    };
    let (outcome, tree) = futures::join!(
        check_host(dns, request),
        walker.walk(domain.clone(), NodeVia::Root, Vec::new())
    );

    let total_lookups = tree.total_lookups();
    let total_voids = tree.total_voids();
    let mut lints = Vec::new();
    lint_node(&tree, true, &mut lints);
    lint_totals(&domain, total_lookups, total_voids, &mut lints);

    SpfEvaluation {
        domain,
        ip: request.ip(),
        tree,
        total_lookups,
        total_voids,
        result: outcome.result,
        reason: outcome.reason,
        matched: outcome.matched,
        explanation: outcome.explanation,
        evaluated_lookups: outcome.lookups,
        evaluated_voids: outcome.voids,
        lints,
    }
}

/// Deepest include/redirect chain followed; receivers give up earlier
/// because of the lookup limit.
const MAX_DEPTH: usize = 12;

/// Most records followed in one tree, so a hostile or runaway tree cannot
/// make the audit send unbounded queries (receivers stop after 10 lookups).
const MAX_NODES: usize = 50;

/// Most DNS-querying terms of one record probed for void lookups.
const MAX_PROBES_PER_RECORD: usize = 20;

struct Walker<'a> {
    expander: Expander<'a>,
    nodes: AtomicUsize,
}

impl Walker<'_> {
    fn walk<'s>(
        &'s self,
        domain: String,
        via: NodeVia,
        path: Vec<String>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = SpfNode> + Send + 's>> {
        Box::pin(async move {
            let mut node = SpfNode {
                domain: domain.clone(),
                via,
                record: None,
                problem: None,
                terms: Vec::new(),
                lookups: 0,
                voids: Vec::new(),
                term_errors: Vec::new(),
                children: Vec::new(),
            };
            let key = domain.to_ascii_lowercase();
            if path.contains(&key) {
                node.problem = Some(NodeProblem::Loop);
                return node;
            }
            if path.len() >= MAX_DEPTH {
                node.problem = Some(NodeProblem::TooDeep);
                return node;
            }
            if self.nodes.fetch_add(1, Ordering::Relaxed) >= MAX_NODES {
                node.problem = Some(NodeProblem::TooManyRecords);
                return node;
            }
            if !is_checkable_domain(&domain) {
                node.problem = Some(NodeProblem::InvalidDomain(domain.clone()));
                return node;
            }

            let record = match fetch_record(self.expander.dns, &domain).await {
                RecordFetch::Found(record) => record,
                RecordFetch::Missing(reason) => {
                    node.problem = Some(NodeProblem::NoRecord(reason));
                    return node;
                }
                RecordFetch::DnsFailure(reason) => {
                    node.problem = Some(NodeProblem::DnsFailure(reason));
                    return node;
                }
                RecordFetch::Multiple(reason) => {
                    node.problem = Some(NodeProblem::MultipleRecords(reason));
                    return node;
                }
                RecordFetch::Invalid { reason, text } => {
                    node.record = Some(text);
                    node.problem = Some(NodeProblem::Syntax(reason));
                    return node;
                }
            };
            node.record = Some(record.text.clone());
            node.terms = record.terms.clone();
            node.lookups = record.lookup_terms();

            let mut child_path = path;
            child_path.push(key);
            let (children, (voids, term_errors)) = futures::join!(
                self.children(&record, &domain, &child_path),
                self.probe_terms(&record, &domain)
            );
            node.children = children;
            node.voids = voids;
            node.term_errors = term_errors;
            node
        })
    }

    async fn children(&self, record: &SpfRecord, domain: &str, path: &[String]) -> Vec<SpfNode> {
        let mut targets = Vec::new();
        for directive in &record.directives {
            if let Mechanism::Include(spec) = &directive.mechanism {
                let target = self.expander.expand_domain(spec, domain).await;
                targets.push((target, NodeVia::Include(directive.qualifier)));
            }
        }
        if let Some(spec) = &record.redirect
            && record.redirect_is_live()
        {
            let target = self.expander.expand_domain(spec, domain).await;
            targets.push((target, NodeVia::Redirect));
        }
        join_all(
            targets
                .into_iter()
                .map(|(target, via)| self.walk(target, via, path.to_vec())),
        )
        .await
    }

    async fn target(&self, spec: &Option<MacroString>, domain: &str) -> String {
        match spec {
            Some(spec) => self.expander.expand_domain(spec, domain).await,
            None => domain.to_string(),
        }
    }

    /// Asks each DNS-querying mechanism's question once. Returns the terms
    /// that found nothing (`"term -> name"`) and the terms receivers would
    /// fail on (more than 10 MX names, a DNS failure).
    async fn probe_terms(&self, record: &SpfRecord, domain: &str) -> (Vec<String>, Vec<String>) {
        let probed = record
            .directives
            .iter()
            .filter(|d| d.mechanism.queries_dns())
            .take(MAX_PROBES_PER_RECORD);
        let probes = probed.map(|directive| async move {
            let dns = self.expander.dns;
            let ip = self.expander.request.ip();
            let (name, outcome) = match &directive.mechanism {
                Mechanism::A { domain: spec, .. } => {
                    let name = self.target(spec, domain).await;
                    let outcome = match ip {
                        IpAddr::V4(_) => dns.a(&name).await.filter_map(|_| Some(())),
                        IpAddr::V6(_) => dns.aaaa(&name).await.filter_map(|_| Some(())),
                    };
                    (name, outcome)
                }
                Mechanism::Mx { domain: spec, .. } => {
                    let name = self.target(spec, domain).await;
                    (name.clone(), dns.mx(&name).await.filter_map(|_| Some(())))
                }
                Mechanism::Ptr(_) => {
                    let name = crate::checks::email::dns::reverse_name(ip);
                    (name, dns.ptr(ip).await.filter_map(|_| Some(())))
                }
                Mechanism::Exists(spec) => {
                    let name = self.expander.expand_domain(spec, domain).await;
                    (name.clone(), dns.a(&name).await.filter_map(|_| Some(())))
                }
                _ => return Probe::Nothing,
            };
            if !is_checkable_domain(&name) {
                return Probe::Nothing;
            }
            let term = &directive.text;
            match outcome {
                DnsOutcome::NxDomain | DnsOutcome::NoData => {
                    Probe::Void(format!("{term} -> {name}"))
                }
                DnsOutcome::TempFail(reason) => {
                    Probe::Error(format!("{term} -> {name}: DNS failure: {reason}"))
                }
                DnsOutcome::Records(found)
                    if matches!(directive.mechanism, Mechanism::Mx { .. }) && found.len() > 10 =>
                {
                    Probe::Error(format!(
                        "{term} -> {name}: {} MX records, more than the 10 allowed",
                        found.len()
                    ))
                }
                DnsOutcome::Records(_) => Probe::Nothing,
            }
        });
        let mut voids = Vec::new();
        let mut errors = Vec::new();
        for probe in join_all(probes).await {
            match probe {
                Probe::Void(text) => voids.push(text),
                Probe::Error(text) => errors.push(text),
                Probe::Nothing => {}
            }
        }
        (voids, errors)
    }
}

/// What asking one term's DNS question showed.
enum Probe {
    Nothing,
    Void(String),
    Error(String),
}

fn lint(
    lints: &mut Vec<SpfLint>,
    kind: SpfLintKind,
    level: LintLevel,
    node: &SpfNode,
    term: Option<&str>,
    message: String,
) {
    lints.push(SpfLint {
        kind,
        level,
        domain: node.domain.clone(),
        term: term.map(str::to_string),
        message,
    });
}

/// Lints one node; `policy_end` is true on the root and its redirect chain,
/// where the final `all` is the domain's answer for unknown senders.
fn lint_node(node: &SpfNode, policy_end: bool, lints: &mut Vec<SpfLint>) {
    use LintLevel::{Fail, Warn};
    use SpfLintKind as K;

    if let Some(problem) = &node.problem {
        let (kind, level) = match problem {
            NodeProblem::Loop => (K::Loop, Fail),
            NodeProblem::TooDeep | NodeProblem::TooManyRecords => (K::TreeTooLarge, Fail),
            NodeProblem::DnsFailure(_) => (K::DnsFailure, Warn),
            NodeProblem::NoRecord(_) if node.via == NodeVia::Root => (K::NoRecord, Fail),
            NodeProblem::NoRecord(_) | NodeProblem::InvalidDomain(_) => {
                (K::TargetWithoutRecord, Fail)
            }
            NodeProblem::MultipleRecords(_) => (K::MultipleRecords, Fail),
            NodeProblem::Syntax(_) => (K::SyntaxError, Fail),
        };
        lint(lints, kind, level, node, None, problem.to_string());
        return;
    }

    let record = node
        .record
        .as_deref()
        .and_then(|t| super::parse_record(t).ok());
    if let Some(record) = &record {
        let all = record.all();
        if let Some(all) = all
            && all.qualifier == Qualifier::Pass
        {
            let message = if policy_end {
                "`+all` authorises every host on the internet to send as this domain".to_string()
            } else {
                format!(
                    "`+all` in an included record makes the include match every host, so the \
                     including policy authorises everyone ({})",
                    node.domain
                )
            };
            lint(lints, K::PassAll, Fail, node, Some(&all.text), message);
        }
        if policy_end {
            match all.map(|d| d.qualifier) {
                Some(Qualifier::Neutral) => lint(
                    lints,
                    K::NeutralAll,
                    Fail,
                    node,
                    all.map(|d| d.text.as_str()),
                    "`?all` says nothing about unknown senders; receivers treat spoofed mail \
                     like unauthenticated mail"
                        .to_string(),
                ),
                Some(Qualifier::SoftFail) => lint(
                    lints,
                    K::SoftFailAll,
                    Warn,
                    node,
                    all.map(|d| d.text.as_str()),
                    "`~all` only soft-fails unknown senders; `-all` rejects them".to_string(),
                ),
                None if !record.redirect_is_live() => lint(
                    lints,
                    K::NoAll,
                    Warn,
                    node,
                    None,
                    "no `all` mechanism and no redirect: unknown senders get neutral".to_string(),
                ),
                _ => {}
            }
        }
        if record.redirect.is_some() && all.is_some() {
            let term = record
                .terms
                .iter()
                .find(|t| t.to_ascii_lowercase().starts_with("redirect="))
                .cloned();
            lint(
                lints,
                K::RedirectIgnored,
                Warn,
                node,
                term.as_deref(),
                "redirect= is ignored because the record has an all mechanism (RFC 7208 §6.1)"
                    .to_string(),
            );
        }
        for directive in &record.directives {
            if matches!(directive.mechanism, Mechanism::Ptr(_)) {
                lint(
                    lints,
                    K::PtrUsed,
                    Warn,
                    node,
                    Some(&directive.text),
                    "the ptr mechanism is slow and unreliable; RFC 7208 §5.5 says not to use it"
                        .to_string(),
                );
            }
        }
    }
    for void in &node.voids {
        let term = void.split(" -> ").next().unwrap_or(void);
        lint(
            lints,
            K::VoidTerm,
            Warn,
            node,
            Some(term),
            format!(
                "{void} resolves to nothing: the term never matches and counts as a void lookup"
            ),
        );
    }
    for error in &node.term_errors {
        let term = error.split(" -> ").next().unwrap_or(error);
        let (kind, level) = if error.contains("DNS failure") {
            (K::DnsFailure, Warn)
        } else {
            (K::TooManyMxNames, Fail)
        };
        lint(lints, kind, level, node, Some(term), error.clone());
    }
    for child in &node.children {
        let child_ends_policy = policy_end && child.via == NodeVia::Redirect;
        lint_node(child, child_ends_policy, lints);
    }
}

fn lint_totals(domain: &str, lookups: u32, voids: u32, lints: &mut Vec<SpfLint>) {
    let mut push = |kind, level, message: String| {
        lints.push(SpfLint {
            kind,
            level,
            domain: domain.to_string(),
            term: None,
            message,
        });
    };
    if lookups > MAX_DNS_LOOKUPS {
        push(
            SpfLintKind::LookupLimitExceeded,
            LintLevel::Fail,
            format!(
                "{lookups} DNS-querying terms in the tree, over the limit of {MAX_DNS_LOOKUPS}: \
                 receivers return permerror for senders late in or missing from the tree"
            ),
        );
    } else if lookups >= MAX_DNS_LOOKUPS - 2 {
        push(
            SpfLintKind::LookupsNearLimit,
            LintLevel::Warn,
            format!("{lookups} of {MAX_DNS_LOOKUPS} DNS-querying terms used"),
        );
    }
    if voids > MAX_VOID_LOOKUPS {
        push(
            SpfLintKind::VoidLimitExceeded,
            LintLevel::Fail,
            format!("{voids} void lookups in the tree, over the limit of {MAX_VOID_LOOKUPS}"),
        );
    }
}

/// A compact text tree of the records with their lookup counts, for evidence.
pub fn render_tree(evaluation: &SpfEvaluation) -> String {
    let mut out = String::new();
    render_node(&evaluation.tree, "", "", &mut out);
    let _ = writeln!(
        out,
        "total: {} of {MAX_DNS_LOOKUPS} DNS lookups, {} of {MAX_VOID_LOOKUPS} void lookups",
        evaluation.total_lookups, evaluation.total_voids
    );
    let decided = match &evaluation.matched {
        Some(m) => format!(" (matched {} at {})", m.term, m.domain),
        None => evaluation
            .reason
            .as_ref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
    };
    let _ = writeln!(
        out,
        "result for {}: {}{decided}",
        evaluation.ip, evaluation.result
    );
    out
}

fn render_node(node: &SpfNode, first: &str, rest: &str, out: &mut String) {
    let label = match node.via {
        NodeVia::Root => node.domain.clone(),
        NodeVia::Include(Qualifier::Pass) => format!("include:{}", node.domain),
        NodeVia::Include(q) => format!("{}include:{}", q.symbol(), node.domain),
        NodeVia::Redirect => format!("redirect={}", node.domain),
    };
    let plural = if node.lookups == 1 { "" } else { "s" };
    let mut line = format!("{first}{label} [{} lookup{plural}", node.lookups);
    if !node.voids.is_empty() {
        let _ = write!(line, ", {} void", node.voids.len());
    }
    line.push(']');
    if let Some(record) = &node.record {
        let _ = write!(line, " \"{record}\"");
    }
    if let Some(problem) = &node.problem {
        let _ = write!(line, " !! {problem}");
    }
    let _ = writeln!(out, "{line}");
    for error in &node.term_errors {
        let _ = writeln!(out, "{rest}   !! {error}");
    }
    let count = node.children.len();
    for (index, child) in node.children.iter().enumerate() {
        let last = index + 1 == count;
        let branch = if last { "`- " } else { "|- " };
        let indent = if last { "   " } else { "|  " };
        render_node(
            child,
            &format!("{rest}{branch}"),
            &format!("{rest}{indent}"),
            out,
        );
    }
}
