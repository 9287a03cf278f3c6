//! `[checks.email]` profile settings: which domains send the product's mail,
//! which DKIM selectors and sending hosts they use, how strict to be, and an
//! optional received sample mail to verify end to end.
//!
//! The raw table is read by serde with its spans; [`resolve`] checks the
//! values (domain names, IP addresses, the `dmarc_none` word, the sample
//! file) and reports the first bad one with its span, so the profile
//! validator can point at the line.

use std::net::IpAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// `[checks.email]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEmail {
    pub enabled: Option<bool>,
    pub domain: Option<Spanned<String>>,
    #[serde(default)]
    pub sending_domains: Vec<Spanned<String>>,
    #[serde(default)]
    pub dkim_selectors: Vec<Spanned<String>>,
    #[serde(default)]
    pub sending_ips: Vec<Spanned<String>>,
    #[serde(default)]
    pub spf_includes: Vec<Spanned<String>>,
    pub accept_softfail: Option<bool>,
    pub dmarc_none: Option<Spanned<String>>,
    pub sample: Option<Spanned<String>>,
    pub sample_client_ip: Option<Spanned<String>>,
}

/// What `p=none` (monitoring only) counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DmarcNone {
    /// Pass, with an information finding (the launch checklist allows it).
    #[default]
    Pass,
    /// Fail the domain.
    Fail,
}

/// One DKIM selector and the domain it lives under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorSpec {
    /// The selector (`s=` of the signatures).
    pub selector: String,
    /// The signing domain (`d=`).
    pub domain: String,
}

/// The resolved `[checks.email]` settings.
#[derive(Debug, Clone, Default)]
pub struct EmailSettings {
    /// False when the table is absent, has no `domain`, or says `enabled = false`.
    pub enabled: bool,
    /// Every audited domain: `domain` first, then `sending_domains`,
    /// lower-case, without trailing dot, without duplicates.
    pub domains: Vec<String>,
    /// DKIM selectors with their domains.
    pub selectors: Vec<SelectorSpec>,
    /// Hosts that send the product's mail: SPF must pass for each.
    pub sending_ips: Vec<IpAddr>,
    /// Provider SPF records (`include:` targets) the SPF tree of each domain
    /// must reach.
    pub spf_includes: Vec<String>,
    /// `~all` at the end of a policy passes instead of warning.
    pub accept_softfail: bool,
    /// What `p=none` counts as.
    pub dmarc_none: DmarcNone,
    /// A received mail to verify (absolute path).
    pub sample: Option<PathBuf>,
    /// The connecting client of the sample; `None` means the first trusted
    /// (topmost) `Received` header's address.
    pub sample_client_ip: Option<IpAddr>,
}

use crate::profile::check_config::ConfigError;

fn error(span: Range<usize>, key: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::new(span, &format!("[checks.email] {key}"), message)
}

/// Lower-cases a domain name and checks it is a plausible DNS name.
fn domain_name(value: &Spanned<String>, key: &str) -> Result<String, ConfigError> {
    let text = value.get_ref().trim();
    let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
    let valid = name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if valid {
        Ok(name)
    } else {
        Err(error(
            value.span(),
            key,
            format!("`{text}` is not a domain name; write it like `example.com`"),
        ))
    }
}

fn ip_address(value: &Spanned<String>, key: &str) -> Result<IpAddr, ConfigError> {
    let text = value.get_ref().trim();
    text.parse().map_err(|_| {
        error(
            value.span(),
            key,
            format!("`{text}` is not an IP address; write it like `198.51.100.7` or `2001:db8::7`"),
        )
    })
}

/// Resolves the raw table; `dir` is the profile's folder (for `sample`).
pub fn resolve(raw: Option<RawEmail>, dir: &Path) -> Result<EmailSettings, ConfigError> {
    let Some(raw) = raw else {
        return Ok(EmailSettings::default());
    };

    let mut domains = Vec::new();
    if let Some(domain) = &raw.domain {
        domains.push(domain_name(domain, "domain")?);
    }
    for extra in &raw.sending_domains {
        let name = domain_name(extra, "sending_domains")?;
        if !domains.contains(&name) {
            domains.push(name);
        }
    }
    if raw.domain.is_none() && !domains.is_empty() {
        return Err(error(
            0..0,
            "domain",
            "sending_domains is set but domain is missing; name the product's main mail domain",
        ));
    }

    let mut selectors = Vec::new();
    for spec in &raw.dkim_selectors {
        let text = spec.get_ref().trim();
        let (selector, domain) = match text.split_once('@') {
            Some((selector, domain)) => {
                let domain = Spanned::new(spec.span(), domain.to_string());
                (
                    selector.to_string(),
                    domain_name(&domain, "dkim_selectors")?,
                )
            }
            None => match domains.first() {
                Some(main) => (text.to_string(), main.clone()),
                None => {
                    return Err(error(spec.span(), "dkim_selectors", "set domain first"));
                }
            },
        };
        let selector_ok = !selector.is_empty()
            && selector.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !selector_ok {
            return Err(error(
                spec.span(),
                "dkim_selectors",
                format!(
                    "`{text}` is not a selector; write `s1` (for domain) or `s1@other.example`"
                ),
            ));
        }
        if !domains.contains(&domain) {
            domains.push(domain.clone());
        }
        selectors.push(SelectorSpec { selector, domain });
    }

    let sending_ips = raw
        .sending_ips
        .iter()
        .map(|ip| ip_address(ip, "sending_ips"))
        .collect::<Result<Vec<_>, _>>()?;
    let spf_includes = raw
        .spf_includes
        .iter()
        .map(|d| domain_name(d, "spf_includes"))
        .collect::<Result<Vec<_>, _>>()?;

    let dmarc_none = match &raw.dmarc_none {
        None => DmarcNone::Pass,
        Some(value) => match value.get_ref().trim() {
            "pass" => DmarcNone::Pass,
            "fail" => DmarcNone::Fail,
            other => {
                return Err(error(
                    value.span(),
                    "dmarc_none",
                    format!("`{other}` is not `pass` or `fail`"),
                ));
            }
        },
    };

    let sample = match &raw.sample {
        None => None,
        Some(value) => {
            let path = dir.join(value.get_ref());
            if !path.is_file() {
                return Err(error(
                    value.span(),
                    "sample",
                    format!(
                        "`{}` is not a readable file; save the received mail (with headers) \
                         there",
                        path.display()
                    ),
                ));
            }
            Some(path)
        }
    };
    let sample_client_ip = raw
        .sample_client_ip
        .as_ref()
        .map(|ip| ip_address(ip, "sample_client_ip"))
        .transpose()?;

    Ok(EmailSettings {
        enabled: raw.enabled.unwrap_or(true) && !domains.is_empty(),
        domains,
        selectors,
        sending_ips,
        spf_includes,
        accept_softfail: raw.accept_softfail.unwrap_or(false),
        dmarc_none,
        sample,
        sample_client_ip,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<EmailSettings, ConfigError> {
        let raw: RawEmail = toml::from_str(text).unwrap();
        resolve(Some(raw), Path::new("/nonexistent"))
    }

    #[test]
    fn selectors_default_to_the_main_domain_and_add_their_own() {
        let s = parse(
            "domain = \"Example.COM.\"\nsending_domains = [\"bounce.example.com\"]\n\
             dkim_selectors = [\"s1\", \"news@letters.example.net\"]\n",
        )
        .unwrap();
        assert!(s.enabled);
        assert_eq!(
            s.domains,
            ["example.com", "bounce.example.com", "letters.example.net"]
        );
        assert_eq!(s.selectors[0].domain, "example.com");
        assert_eq!(s.selectors[1].selector, "news");
        assert_eq!(s.dmarc_none, DmarcNone::Pass);
    }

    #[test]
    fn bad_values_are_located() {
        let e = parse("domain = \"not a domain\"\n").unwrap_err();
        assert_eq!(e.key, "[checks.email] domain");
        assert!(e.span.start > 0);
        let e = parse("domain = \"a.example\"\nsending_ips = [\"1.2.3\"]\n").unwrap_err();
        assert!(e.message.contains("not an IP address"));
        let e = parse("domain = \"a.example\"\ndmarc_none = \"maybe\"\n").unwrap_err();
        assert!(e.message.contains("`maybe`"));
        let e = parse("domain = \"a.example\"\nsample = \"missing.eml\"\n").unwrap_err();
        assert!(e.message.contains("not a readable file"));
        assert!(
            !parse("enabled = false\ndomain = \"a.example\"\n")
                .unwrap()
                .enabled
        );
        assert!(!parse("").unwrap().enabled);
    }
}
