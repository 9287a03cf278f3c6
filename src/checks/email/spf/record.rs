//! SPF record syntax (RFC 7208 §4.5, §4.6, §5, §6, §12): record selection and
//! the term grammar.
//!
//! A record with a syntax error anywhere is a permerror as a whole, before any
//! term is evaluated, so the parser reads every term up front and keeps the
//! reason a receiver would give.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::macros::MacroString;
use crate::checks::email::dns::TxtRecord;

/// The prefix in front of a mechanism: what a match means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    /// `+` (the default): the client is authorised.
    Pass,
    /// `-`: the client is not authorised.
    Fail,
    /// `~`: probably not authorised.
    SoftFail,
    /// `?`: no statement.
    Neutral,
}

impl Qualifier {
    /// The qualifier character.
    pub fn symbol(self) -> char {
        match self {
            Qualifier::Pass => '+',
            Qualifier::Fail => '-',
            Qualifier::SoftFail => '~',
            Qualifier::Neutral => '?',
        }
    }
}

/// A mechanism, with its arguments parsed (RFC 7208 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    /// `all`: always matches.
    All,
    /// `include:<domain-spec>`: matches when the target's record passes.
    Include(MacroString),
    /// `a[:<domain-spec>][/<cidr4>][//<cidr6>]`.
    A {
        /// Target name; the current domain when absent.
        domain: Option<MacroString>,
        /// IPv4 prefix length (32 when absent).
        cidr4: u8,
        /// IPv6 prefix length (128 when absent).
        cidr6: u8,
    },
    /// `mx[:<domain-spec>][/<cidr4>][//<cidr6>]`.
    Mx {
        /// Target name; the current domain when absent.
        domain: Option<MacroString>,
        /// IPv4 prefix length (32 when absent).
        cidr4: u8,
        /// IPv6 prefix length (128 when absent).
        cidr6: u8,
    },
    /// `ptr[:<domain-spec>]` (discouraged by RFC 7208 §5.5).
    Ptr(Option<MacroString>),
    /// `ip4:<network>[/<cidr>]`.
    Ip4 {
        /// The network address as written.
        network: Ipv4Addr,
        /// Prefix length.
        prefix: u8,
    },
    /// `ip6:<network>[/<cidr>]`.
    Ip6 {
        /// The network address as written.
        network: Ipv6Addr,
        /// Prefix length.
        prefix: u8,
    },
    /// `exists:<domain-spec>`: matches when the name has an A record.
    Exists(MacroString),
}

impl Mechanism {
    /// Whether evaluating this mechanism costs one of the 10 DNS lookups.
    pub fn queries_dns(&self) -> bool {
        matches!(
            self,
            Mechanism::Include(_)
                | Mechanism::A { .. }
                | Mechanism::Mx { .. }
                | Mechanism::Ptr(_)
                | Mechanism::Exists(_)
        )
    }
}

/// One mechanism with its qualifier, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// What a match means.
    pub qualifier: Qualifier,
    /// The mechanism.
    pub mechanism: Mechanism,
    /// The term as written in the record.
    pub text: String,
}

/// A parsed `v=spf1` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpfRecord {
    /// The record text (strings joined).
    pub text: String,
    /// Every term as written, in order (mechanisms and modifiers).
    pub terms: Vec<String>,
    /// The mechanisms, in order.
    pub directives: Vec<Directive>,
    /// The `redirect=` target, if any.
    pub redirect: Option<MacroString>,
    /// The `exp=` target, if any.
    pub exp: Option<MacroString>,
    /// Names of modifiers this evaluator does not know (ignored, RFC 7208 §6).
    pub unknown_modifiers: Vec<String>,
}

impl SpfRecord {
    /// The `all` directive, if the record has one (the first one wins).
    pub fn all(&self) -> Option<&Directive> {
        self.directives
            .iter()
            .find(|d| matches!(d.mechanism, Mechanism::All))
    }

    /// Whether `redirect=` can ever be used: RFC 7208 §6.1 ignores it when an
    /// `all` mechanism is present, since `all` always matches first.
    pub fn redirect_is_live(&self) -> bool {
        self.redirect.is_some() && self.all().is_none()
    }

    /// DNS-querying terms in this record: include, a, mx, ptr, exists, and
    /// redirect when it is live.
    pub fn lookup_terms(&self) -> u32 {
        let mechanisms = self
            .directives
            .iter()
            .filter(|d| d.mechanism.queries_dns())
            .count();
        let redirect = usize::from(self.redirect_is_live());
        u32::try_from(mechanisms + redirect).unwrap_or(u32::MAX)
    }
}

/// Why a record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct SpfSyntaxError {
    /// The offending term, when one term is at fault.
    pub term: Option<String>,
    /// What is wrong, for people.
    pub reason: String,
}

fn term_error(term: &str, reason: impl Into<String>) -> SpfSyntaxError {
    SpfSyntaxError {
        term: Some(term.to_string()),
        reason: format!("term {term:?}: {}", reason.into()),
    }
}

/// Whether a TXT record is an SPF record: `v=spf1` (any case) followed by a
/// space or the end (RFC 7208 §4.5).
pub fn is_spf_record(record: &TxtRecord) -> bool {
    let joined = record.joined_bytes();
    let Some(head) = joined.get(..6) else {
        return false;
    };
    head.eq_ignore_ascii_case(b"v=spf1") && matches!(joined.get(6), None | Some(b' '))
}

/// Parses a whole record (TXT strings already joined).
pub fn parse_record(text: &str) -> Result<SpfRecord, SpfSyntaxError> {
    if !text.is_ascii() {
        return Err(SpfSyntaxError {
            term: None,
            reason: "the record contains characters outside 7-bit ASCII".to_string(),
        });
    }
    let head = text.get(..6).unwrap_or("");
    let rest = text.get(6..).unwrap_or("");
    if !head.eq_ignore_ascii_case("v=spf1") || !(rest.is_empty() || rest.starts_with(' ')) {
        return Err(SpfSyntaxError {
            term: None,
            reason: "the record does not start with \"v=spf1\"".to_string(),
        });
    }

    let mut record = SpfRecord {
        text: text.to_string(),
        terms: Vec::new(),
        directives: Vec::new(),
        redirect: None,
        exp: None,
        unknown_modifiers: Vec::new(),
    };
    for term in rest.split(' ').filter(|t| !t.is_empty()) {
        record.terms.push(term.to_string());
        if let Some((name, value)) = modifier_parts(term) {
            parse_modifier(&mut record, term, name, value)?;
        } else {
            let directive = parse_directive(term)?;
            record.directives.push(directive);
        }
    }
    Ok(record)
}

/// `name "=" value` where `name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )`.
fn modifier_parts(term: &str) -> Option<(&str, &str)> {
    let (name, value) = term.split_once('=')?;
    let mut chars = name.chars();
    let first = chars.next()?;
    let name_ok = first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    name_ok.then_some((name, value))
}

fn parse_modifier(
    record: &mut SpfRecord,
    term: &str,
    name: &str,
    value: &str,
) -> Result<(), SpfSyntaxError> {
    if name.eq_ignore_ascii_case("redirect") || name.eq_ignore_ascii_case("exp") {
        let spec = MacroString::parse_domain_spec(value).map_err(|e| term_error(term, e))?;
        let slot = if name.eq_ignore_ascii_case("redirect") {
            &mut record.redirect
        } else {
            &mut record.exp
        };
        if slot.is_some() {
            return Err(term_error(term, format!("{name}= appears more than once")));
        }
        *slot = Some(spec);
    } else {
        MacroString::parse(value, false).map_err(|e| term_error(term, e))?;
        record.unknown_modifiers.push(name.to_string());
    }
    Ok(())
}

fn parse_directive(term: &str) -> Result<Directive, SpfSyntaxError> {
    let (qualifier, body) = match term.chars().next() {
        Some('+') => (Qualifier::Pass, &term[1..]),
        Some('-') => (Qualifier::Fail, &term[1..]),
        Some('~') => (Qualifier::SoftFail, &term[1..]),
        Some('?') => (Qualifier::Neutral, &term[1..]),
        _ => (Qualifier::Pass, term),
    };
    let split = body.find([':', '/']).unwrap_or(body.len());
    let (name, args) = body.split_at(split);
    let mechanism = match name.to_ascii_lowercase().as_str() {
        "all" => {
            if !args.is_empty() {
                return Err(term_error(term, "all takes no argument"));
            }
            Mechanism::All
        }
        "include" => Mechanism::Include(required_domain(term, args)?),
        "exists" => Mechanism::Exists(required_domain(term, args)?),
        "a" => {
            let (domain, cidr4, cidr6) = domain_and_dual_cidr(term, args)?;
            Mechanism::A {
                domain,
                cidr4,
                cidr6,
            }
        }
        "mx" => {
            let (domain, cidr4, cidr6) = domain_and_dual_cidr(term, args)?;
            Mechanism::Mx {
                domain,
                cidr4,
                cidr6,
            }
        }
        "ptr" => {
            if args.is_empty() {
                Mechanism::Ptr(None)
            } else {
                Mechanism::Ptr(Some(required_domain(term, args)?))
            }
        }
        "ip4" => {
            let value = args
                .strip_prefix(':')
                .ok_or_else(|| term_error(term, "ip4 needs \":<address>\""))?;
            let (address, prefix) = split_prefix(term, value, 32)?;
            let network = parse_ip4(address)
                .ok_or_else(|| term_error(term, format!("{address:?} is not an IPv4 address")))?;
            Mechanism::Ip4 { network, prefix }
        }
        "ip6" => {
            let value = args
                .strip_prefix(':')
                .ok_or_else(|| term_error(term, "ip6 needs \":<address>\""))?;
            let (address, prefix) = split_prefix(term, value, 128)?;
            let network: Ipv6Addr = address
                .parse()
                .map_err(|_| term_error(term, format!("{address:?} is not an IPv6 address")))?;
            Mechanism::Ip6 { network, prefix }
        }
        _ => return Err(term_error(term, "unknown mechanism")),
    };
    Ok(Directive {
        qualifier,
        mechanism,
        text: term.to_string(),
    })
}

fn required_domain(term: &str, args: &str) -> Result<MacroString, SpfSyntaxError> {
    let value = args
        .strip_prefix(':')
        .ok_or_else(|| term_error(term, "a \":<domain>\" argument is required"))?;
    MacroString::parse_domain_spec(value).map_err(|e| term_error(term, e))
}

/// `[ ":" domain-spec ] [ "/" ip4-cidr ] [ "//" ip6-cidr ]`
fn domain_and_dual_cidr(
    term: &str,
    args: &str,
) -> Result<(Option<MacroString>, u8, u8), SpfSyntaxError> {
    let (domain_text, cidr_text) = match args.strip_prefix(':') {
        Some(value) => {
            let (domain, cidr4, cidr6) = split_dual_cidr(value);
            (Some(domain), (cidr4, cidr6))
        }
        None => {
            let (rest, cidr4, cidr6) = split_dual_cidr(args);
            if !rest.is_empty() {
                return Err(term_error(term, "unexpected text after the mechanism name"));
            }
            (None, (cidr4, cidr6))
        }
    };
    let cidr4 = match cidr_text.0 {
        Some(digits) => prefix_length(term, digits, 32)?,
        None => 32,
    };
    let cidr6 = match cidr_text.1 {
        Some(digits) => prefix_length(term, digits, 128)?,
        None => 128,
    };
    let domain = match domain_text {
        Some(text) => Some(MacroString::parse_domain_spec(text).map_err(|e| term_error(term, e))?),
        None => None,
    };
    Ok((domain, cidr4, cidr6))
}

/// Splits a trailing `/n`, `//n` or `/n//m` off a value.
fn split_dual_cidr(value: &str) -> (&str, Option<&str>, Option<&str>) {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut rest = value;
    let mut cidr6 = None;
    if let Some(pos) = rest.rfind("//")
        && digits(&rest[pos + 2..])
    {
        cidr6 = Some(&rest[pos + 2..]);
        rest = &rest[..pos];
    }
    let mut cidr4 = None;
    if let Some(pos) = rest.rfind('/')
        && digits(&rest[pos + 1..])
    {
        cidr4 = Some(&rest[pos + 1..]);
        rest = &rest[..pos];
    }
    (rest, cidr4, cidr6)
}

fn split_prefix<'v>(term: &str, value: &'v str, max: u8) -> Result<(&'v str, u8), SpfSyntaxError> {
    match value.split_once('/') {
        Some((address, digits)) => Ok((address, prefix_length(term, digits, max)?)),
        None => Ok((value, max)),
    }
}

/// A prefix length: decimal without leading zeros, at most `max`.
fn prefix_length(term: &str, digits: &str, max: u8) -> Result<u8, SpfSyntaxError> {
    let well_formed = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    let value = if well_formed {
        digits.parse::<u8>().ok().filter(|v| *v <= max)
    } else {
        None
    };
    value.ok_or_else(|| term_error(term, format!("invalid prefix length /{digits} (0..={max})")))
}

/// `qnum "." qnum "." qnum "." qnum`, no leading zeros.
fn parse_ip4(text: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut count = 0;
    for part in text.split('.') {
        if count == 4 || part.is_empty() || part.len() > 3 {
            return None;
        }
        if !part.bytes().all(|b| b.is_ascii_digit()) || (part.len() > 1 && part.starts_with('0')) {
            return None;
        }
        octets[count] = part.parse().ok()?;
        count += 1;
    }
    (count == 4).then(|| Ipv4Addr::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_of_only_a_redirect_is_valid_b03() {
        let record = parse_record("v=spf1 redirect=_spf.example.net").unwrap();
        assert!(record.directives.is_empty());
        assert_eq!(
            record.redirect.as_ref().unwrap().source(),
            "_spf.example.net"
        );
        assert_eq!(record.lookup_terms(), 1);
    }

    #[test]
    fn redirect_beside_all_is_dead_b05() {
        let record = parse_record("v=spf1 redirect=_spf.example.net -all").unwrap();
        assert!(!record.redirect_is_live());
        assert_eq!(record.lookup_terms(), 0);
    }

    #[test]
    fn grammar_edges() {
        for bad in [
            "v=spf1 -all.",
            "v=spf1 -all:foobar",
            "v=spf1 -all/8",
            "v=spf1 ptr/0 -all",
            "v=spf1 a/24/64 -all",
            "v=spf1 a//129",
            "v=spf1 ip4:1.2.3.4/032",
            "v=spf1 ip4:1.2.3",
            "v=spf1 ip4:1.2.3.4//32",
            "v=spf1 ip6::CAFE::BABE",
            "v=spf1 include:example.com/24",
            "v=spf1 exists",
            "v=spf1 1up=foo",
            "v=spf1 =all",
            "v=spf1 exp= -all",
            "v=spf1 redirect=a.example.com redirect=b.example.com",
            "v=spf1 foo=%abc",
            "v=spf1 a:111.222.33.44",
            "v=spf1 redirect:example.com",
            "v=spf1 \u{80}a:example.net -all",
        ] {
            assert!(parse_record(bad).is_err(), "{bad} should be rejected");
        }
        for good in [
            "v=spf1",
            "V=SpF1 ~all",
            "v=spf1 a  -all ",
            "v=spf1 a/24//64 mx//0 ptr:example.com -all",
            "v=spf1 a:foo:bar/baz.example.com",
            "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
            "v=spf1 ip6:::1.1.1.1/0 ip4:1.1.1.1/0",
            "v=spf1 exists:%{i}.%{l2r-}.user.%{d2} default=+",
        ] {
            assert!(parse_record(good).is_ok(), "{good} should parse");
        }
    }

    #[test]
    fn selection_needs_a_space_or_end_after_the_version() {
        assert!(is_spf_record(&TxtRecord::new(&["v=spf1"])));
        assert!(is_spf_record(&TxtRecord::new(&["V=SPF1 -all"])));
        assert!(!is_spf_record(&TxtRecord::new(&["v=spf10"])));
        assert!(!is_spf_record(&TxtRecord::new(&["v=spf1", "mx"])));
        assert!(is_spf_record(&TxtRecord::new(&[
            "v=spf1 ip4:",
            "192.0.2.5 -all"
        ])));
    }
}
