//! SPF macro strings (RFC 7208 §7): parsing, syntax rules and expansion.
//!
//! Macros turn a record into a per-message query (`exists:%{i}._spf.%{d}`),
//! so the evaluator and the include-tree walk both need them, with the exact
//! syntax rules: a stray `%` or an unknown macro letter makes the whole record
//! a permerror, and `c`, `r`, `t` are allowed only in explanation text.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use super::SpfRequest;
use crate::checks::email::dns::{DnsLookup, DnsOutcome};

/// One piece of a macro string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Text copied as is (`%%`, `%_` and `%-` are stored already decoded).
    Literal(String),
    /// `%{...}`: a macro letter and its transformers.
    Expand {
        letter: char,
        url_escape: bool,
        keep_right: Option<usize>,
        reverse: bool,
        delimiters: String,
    },
}

/// A parsed macro string: a domain-spec, a modifier value or explanation text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroString {
    source: String,
    parts: Vec<Part>,
    ends_with_macro: bool,
}

impl MacroString {
    /// The text as written in the record.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Parses a macro string. `explanation` allows spaces and the `c`, `r`,
    /// `t` letters (explanation text, RFC 7208 §6.2 and §7.1).
    pub fn parse(text: &str, explanation: bool) -> Result<MacroString, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut ends_with_macro = false;
        let mut chars = text.chars().peekable();

        while let Some(ch) = chars.next() {
            if ch != '%' {
                let visible = ('\x21'..='\x7e').contains(&ch);
                if !(visible || (explanation && ch == ' ')) {
                    return Err(format!("character {ch:?} is not allowed in {text:?}"));
                }
                literal.push(ch);
                ends_with_macro = false;
                continue;
            }

            ends_with_macro = true;
            match chars.next() {
                Some('%') => literal.push('%'),
                Some('_') => literal.push(' '),
                Some('-') => literal.push_str("%20"),
                Some('{') => {
                    let mut body = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        body.push(c);
                    }
                    if !closed {
                        return Err(format!("unterminated macro in {text:?}"));
                    }
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(parse_expand(&body, explanation, text)?);
                }
                Some(other) => {
                    return Err(format!(
                        "'%' followed by {other:?} in {text:?} (only %{{, %%, %_ and %- exist)"
                    ));
                }
                None => return Err(format!("'%' at the end of {text:?}")),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(MacroString {
            source: text.to_string(),
            parts,
            ends_with_macro,
        })
    }

    /// Parses a domain-spec: a macro string that ends in a macro or in
    /// `.toplabel` (optionally followed by a dot), RFC 7208 §7.1.
    pub fn parse_domain_spec(text: &str) -> Result<MacroString, String> {
        if text.is_empty() {
            return Err("empty domain-spec".to_string());
        }
        let spec = MacroString::parse(text, false)?;
        if spec.ends_with_macro {
            return Ok(spec);
        }
        let body = text.strip_suffix('.').unwrap_or(text);
        let Some((_, toplabel)) = body.rsplit_once('.') else {
            return Err(format!("domain-spec {text:?} has no top-level label"));
        };
        if !is_toplabel(toplabel) {
            return Err(format!(
                "domain-spec {text:?} ends in {toplabel:?}, not a valid top-level label"
            ));
        }
        Ok(spec)
    }
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) /
/// ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`
fn is_toplabel(label: &str) -> bool {
    let bytes = label.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    let allowed = bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
    let has_alpha = bytes.iter().any(u8::is_ascii_alphabetic);
    let has_dash = bytes.contains(&b'-');
    allowed
        && first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && (has_alpha || has_dash)
}

fn parse_expand(body: &str, explanation: bool, text: &str) -> Result<Part, String> {
    let mut chars = body.chars();
    let Some(letter_raw) = chars.next() else {
        return Err(format!("empty macro in {text:?}"));
    };
    let letter = letter_raw.to_ascii_lowercase();
    let allowed = match letter {
        's' | 'l' | 'o' | 'd' | 'i' | 'p' | 'h' | 'v' => true,
        'c' | 'r' | 't' => explanation,
        _ => false,
    };
    if !allowed {
        return Err(format!(
            "macro letter {letter_raw:?} is not allowed in {text:?}"
        ));
    }

    let rest: String = chars.collect();
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let mut after = &rest[digits.len()..];
    let keep_right = if digits.is_empty() {
        None
    } else {
        let n: usize = digits.parse().unwrap_or(usize::MAX);
        if n == 0 {
            return Err(format!("macro transformer 0 in {text:?}"));
        }
        Some(n)
    };
    let mut reverse = false;
    if let Some(stripped) = after.strip_prefix(['r', 'R']) {
        reverse = true;
        after = stripped;
    }
    if let Some(bad) = after.chars().find(|c| !".-+,/_=".contains(*c)) {
        return Err(format!("{bad:?} is not a macro delimiter in {text:?}"));
    }
    Ok(Part::Expand {
        letter,
        url_escape: letter_raw.is_ascii_uppercase(),
        keep_right,
        reverse,
        delimiters: after.to_string(),
    })
}

/// Expands macro strings for one request, looking up `%{p}` when needed.
pub(crate) struct Expander<'a> {
    pub(crate) dns: &'a dyn DnsLookup,
    pub(crate) request: &'a SpfRequest,
}

impl Expander<'_> {
    /// Expands `spec` for the record of `domain`.
    pub(crate) async fn expand(&self, spec: &MacroString, domain: &str) -> String {
        let mut out = String::new();
        for part in &spec.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Expand {
                    letter,
                    url_escape,
                    keep_right,
                    reverse,
                    delimiters,
                } => {
                    let value = self.letter_value(*letter, domain).await;
                    let value = transform(&value, delimiters, *reverse, *keep_right);
                    if *url_escape {
                        out.push_str(&url_escape_text(&value));
                    } else {
                        out.push_str(&value);
                    }
                }
            }
        }
        out
    }

    /// Expands a domain-spec into a query name: trailing dot dropped, left
    /// labels removed while longer than 253 characters (RFC 7208 §7.3).
    pub(crate) async fn expand_domain(&self, spec: &MacroString, domain: &str) -> String {
        let expanded = self.expand(spec, domain).await;
        let mut name = expanded.strip_suffix('.').unwrap_or(&expanded);
        while name.len() > 253 {
            match name.split_once('.') {
                Some((_, rest)) => name = rest,
                None => break,
            }
        }
        name.to_string()
    }

    async fn letter_value(&self, letter: char, domain: &str) -> String {
        let request = self.request;
        match letter {
            's' => request.sender(),
            'l' => request.local_part(),
            'o' => request.sender_domain(),
            'd' => domain.to_string(),
            'i' => dotted_ip(request.ip()),
            'p' => self.validated_name(domain).await,
            'v' => match request.ip() {
                IpAddr::V4(_) => "in-addr".to_string(),
                IpAddr::V6(_) => "ip6".to_string(),
            },
            'h' => request.helo.clone(),
            'c' => request.ip().to_string(),
            'r' => request.receiver.clone(),
            't' => SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
                .to_string(),
            _ => String::new(),
        }
    }

    /// `%{p}`: a PTR name of the client whose addresses include the client,
    /// preferring `domain` itself, then a subdomain of it; else "unknown".
    async fn validated_name(&self, domain: &str) -> String {
        let names = validated_ptr_names(self.dns, self.request.ip()).await;
        let domain = domain.to_ascii_lowercase();
        let suffix = format!(".{domain}");
        if let Some(exact) = names.iter().find(|n| **n == domain) {
            return exact.clone();
        }
        if let Some(sub) = names.iter().find(|n| n.ends_with(&suffix)) {
            return sub.clone();
        }
        names
            .into_iter()
            .next()
            .unwrap_or_else(|| "unknown".to_string())
    }
}

/// The PTR names of `ip` (the first 10 only, RFC 7208 §4.6.4) whose A or
/// AAAA records contain `ip`. Lookup errors skip the name.
pub(crate) async fn validated_ptr_names(dns: &dyn DnsLookup, ip: IpAddr) -> Vec<String> {
    let DnsOutcome::Records(names) = dns.ptr(ip).await else {
        return Vec::new();
    };
    let mut validated = Vec::new();
    for name in names.into_iter().take(10) {
        let matches = match ip {
            IpAddr::V4(v4) => dns.a(&name).await.records().contains(&v4),
            IpAddr::V6(v6) => dns.aaaa(&name).await.records().contains(&v6),
        };
        if matches {
            validated.push(name.to_ascii_lowercase());
        }
    }
    validated
}

/// `i` macro form: dotted quad, or 32 dot-separated nibbles for IPv6.
fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let nibbles: Vec<String> = v6
                .octets()
                .iter()
                .flat_map(|b| [b >> 4, b & 0x0f])
                .map(|n| format!("{n:x}"))
                .collect();
            nibbles.join(".")
        }
    }
}

fn transform(value: &str, delimiters: &str, reverse: bool, keep_right: Option<usize>) -> String {
    if !reverse && keep_right.is_none() && (delimiters.is_empty() || delimiters == ".") {
        return value.to_string();
    }
    let delimiters = if delimiters.is_empty() {
        "."
    } else {
        delimiters
    };
    let mut parts: Vec<&str> = value.split(|c| delimiters.contains(c)).collect();
    if reverse {
        parts.reverse();
    }
    if let Some(n) = keep_right
        && n < parts.len()
    {
        parts.drain(..parts.len() - n);
    }
    parts.join(".")
}

fn url_escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::email::dns::{Zone, ZoneDns};

    fn request() -> SpfRequest {
        SpfRequest::new(
            "192.0.2.3".parse().unwrap(),
            "strong-bad@email.example.com",
            "mx.example.org",
        )
    }

    async fn expand(spec: &str) -> String {
        let dns = ZoneDns::new(Zone::new());
        let request = request();
        let expander = Expander {
            dns: &dns,
            request: &request,
        };
        let parsed = MacroString::parse(spec, true).unwrap();
        expander.expand(&parsed, "email.example.com").await
    }

    #[tokio::test]
    async fn rfc_7208_section_7_4_examples() {
        assert_eq!(expand("%{s}").await, "strong-bad@email.example.com");
        assert_eq!(expand("%{o}").await, "email.example.com");
        assert_eq!(expand("%{d}").await, "email.example.com");
        assert_eq!(expand("%{d4}").await, "email.example.com");
        assert_eq!(expand("%{d3}").await, "email.example.com");
        assert_eq!(expand("%{d2}").await, "example.com");
        assert_eq!(expand("%{d1}").await, "com");
        assert_eq!(expand("%{dr}").await, "com.example.email");
        assert_eq!(expand("%{d2r}").await, "example.email");
        assert_eq!(expand("%{l}").await, "strong-bad");
        assert_eq!(expand("%{l-}").await, "strong.bad");
        assert_eq!(expand("%{lr}").await, "strong-bad");
        assert_eq!(expand("%{lr-}").await, "bad.strong");
        assert_eq!(expand("%{l1r-}").await, "strong");
        assert_eq!(
            expand("%{ir}.%{v}._spf.%{d2}").await,
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(expand("%{S}").await, "strong-bad%40email.example.com");
        assert_eq!(expand("%%%_%-").await, "% %20");
        assert_eq!(expand("%{p}").await, "unknown");
    }

    #[test]
    fn syntax_errors_are_caught() {
        assert!(MacroString::parse("%{x}", false).is_err());
        assert!(MacroString::parse("%{c}", false).is_err());
        assert!(MacroString::parse("%{c}", true).is_ok());
        assert!(MacroString::parse("foo%.bar", false).is_err());
        assert!(MacroString::parse("%(ir)", false).is_err());
        assert!(MacroString::parse("%", false).is_err());
        assert!(MacroString::parse("%{d0}", false).is_err());
        assert!(MacroString::parse("a b", false).is_err());
        assert!(MacroString::parse_domain_spec("foo-bar").is_err());
        assert!(MacroString::parse_domain_spec("museum.").is_err());
        assert!(MacroString::parse_domain_spec("abc.123").is_err());
        assert!(MacroString::parse_domain_spec("example.-com").is_err());
        assert!(MacroString::parse_domain_spec("foo.example.xn--zckzah").is_ok());
        assert!(MacroString::parse_domain_spec("%{H}").is_ok());
        assert!(MacroString::parse_domain_spec("foo:bar/baz.example.com").is_ok());
    }

    #[test]
    fn ipv6_i_macro_is_nibbles() {
        let ip: IpAddr = "2001:db8::cb01".parse().unwrap();
        assert_eq!(
            dotted_ip(ip),
            "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1"
        );
    }
}
