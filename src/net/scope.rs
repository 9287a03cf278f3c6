//! The scope: the only hosts and ports the auditor may contact.
//!
//! Every request and every redirect hop is checked against it before a socket
//! is opened. Entry forms (from DESIGN.md): `host` (ports 80 and 443 only),
//! `host:port`, `*.domain` (any subdomain, not the domain itself, ports 80 and
//! 443), `*.domain:port`, and IP literals (`127.0.0.1:8443`, `[::1]:8443`).

use std::fmt;

use url::{Host, Url};

/// One allowed host pattern with its ports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeEntry {
    /// Lowercase host, IP text (IPv6 without brackets), or the domain of a wildcard.
    host: String,
    wildcard: bool,
    /// `None` means the default web ports 80 and 443.
    port: Option<u16>,
    /// The entry as the profile wrote it, for messages.
    written: String,
}

/// The set of allowed entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    entries: Vec<ScopeEntry>,
}

impl fmt::Display for ScopeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

impl ScopeEntry {
    /// Parses one entry; the error says which form was expected.
    pub fn parse(text: &str) -> Result<ScopeEntry, String> {
        let written = text.trim().to_string();
        let expected = "expected `host`, `host:port`, `*.domain`, `*.domain:port` or an IP literal";
        if written.is_empty() {
            return Err(format!("empty scope entry; {expected}"));
        }
        if written.contains("://") || written.contains('/') {
            return Err(format!(
                "`{written}` looks like a URL; a scope entry is a host, not a URL ({expected})"
            ));
        }
        let (wildcard, rest) = match written.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, written.as_str()),
        };
        if rest.contains('*') {
            return Err(format!(
                "`{written}`: `*` is only allowed as `*.` at the start"
            ));
        }
        // Let the URL parser normalise the host (case, IDN, IP forms).
        let probe = Url::parse(&format!("http://{rest}/"))
            .map_err(|e| format!("`{written}` is not a valid host ({e}); {expected}"))?;
        let host = match probe.host() {
            Some(Host::Domain(d)) => d.trim_end_matches('.').to_string(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(format!("`{written}` has no host; {expected}")),
        };
        if host.is_empty() {
            return Err(format!("`{written}` has no host; {expected}"));
        }
        if wildcard && (probe.host().is_some_and(|h| !matches!(h, Host::Domain(_)))) {
            return Err(format!(
                "`{written}`: a wildcard needs a domain, not an IP address"
            ));
        }
        if wildcard && !host.contains('.') {
            return Err(format!(
                "`{written}` would allow every host under a top-level domain; name a domain"
            ));
        }
        // `Url` drops the port when it is the scheme default (80): recover it.
        let port = match probe.port() {
            Some(p) => Some(p),
            None if rest.ends_with(":80") => Some(80),
            None => None,
        };
        if port == Some(0) {
            return Err(format!("`{written}`: port 0 is not a port"));
        }
        Ok(ScopeEntry {
            host,
            wildcard,
            port,
            written,
        })
    }

    fn allows(&self, host: &str, port: u16) -> bool {
        let port_ok = match self.port {
            Some(p) => p == port,
            None => port == 80 || port == 443,
        };
        if !port_ok {
            return false;
        }
        if self.wildcard {
            host.len() > self.host.len() + 1
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        }
    }
}

/// Normalises a URL's host the same way entries are normalised.
pub fn url_host(url: &Url) -> Option<String> {
    match url.host()? {
        Host::Domain(d) => Some(d.trim_end_matches('.').to_ascii_lowercase()),
        Host::Ipv4(ip) => Some(ip.to_string()),
        Host::Ipv6(ip) => Some(ip.to_string()),
    }
}

impl Scope {
    pub fn new(entries: Vec<ScopeEntry>) -> Self {
        Scope { entries }
    }

    pub fn entries(&self) -> &[ScopeEntry] {
        &self.entries
    }

    /// Whether `host:port` may be contacted.
    pub fn allows_host(&self, host: &str, port: u16) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        let host = host.trim_start_matches('[').trim_end_matches(']');
        self.entries.iter().any(|e| e.allows(host, port))
    }

    /// Whether a URL may be fetched: only http and https, only allowed hosts.
    pub fn allows_url(&self, url: &Url) -> bool {
        if !matches!(url.scheme(), "http" | "https") {
            return false;
        }
        let (Some(host), Some(port)) = (url_host(url), url.port_or_known_default()) else {
            return false;
        };
        self.allows_host(&host, port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(entries: &[&str]) -> Scope {
        Scope::new(
            entries
                .iter()
                .map(|e| ScopeEntry::parse(e).unwrap())
                .collect(),
        )
    }

    fn url(u: &str) -> Url {
        Url::parse(u).unwrap()
    }

    #[test]
    fn bare_host_allows_only_default_web_ports() {
        let s = scope(&["app.example.com"]);
        assert!(s.allows_url(&url("https://app.example.com/x")));
        assert!(s.allows_url(&url("http://APP.example.com./")));
        assert!(!s.allows_url(&url("https://app.example.com:8443/")));
        assert!(!s.allows_url(&url("https://example.com/")));
        assert!(!s.allows_url(&url("https://evilapp.example.com/")));
        assert!(!s.allows_url(&url("https://app.example.com.evil.test/")));
    }

    #[test]
    fn userinfo_tricks_do_not_fool_the_host_check() {
        let s = scope(&["app.example.com"]);
        assert!(!s.allows_url(&url("https://app.example.com@evil.test/")));
        assert!(!s.allows_url(&url("https://evil.test/?app.example.com")));
    }

    #[test]
    fn explicit_ports_and_ip_literals() {
        let s = scope(&["127.0.0.1:8443", "[::1]:9000", "app.test:80"]);
        assert!(s.allows_url(&url("https://127.0.0.1:8443/")));
        assert!(!s.allows_url(&url("https://127.0.0.1/")));
        assert!(!s.allows_url(&url("http://127.0.0.2:8443/")));
        assert!(s.allows_url(&url("http://[::1]:9000/")));
        assert!(s.allows_url(&url("http://app.test/")));
        assert!(!s.allows_url(&url("https://app.test/")));
    }

    #[test]
    fn wildcard_matches_subdomains_not_apex_or_lookalikes() {
        let s = scope(&["*.example.com"]);
        assert!(s.allows_url(&url("https://a.example.com/")));
        assert!(s.allows_url(&url("https://a.b.example.com/")));
        assert!(!s.allows_url(&url("https://example.com/")));
        assert!(!s.allows_url(&url("https://badexample.com/")));
        assert!(!s.allows_url(&url("https://a.example.com:8080/")));
    }

    #[test]
    fn other_schemes_are_never_in_scope() {
        let s = scope(&["app.example.com"]);
        assert!(!s.allows_url(&url("ftp://app.example.com/")));
        assert!(!s.allows_url(&url("file:///etc/passwd")));
    }

    #[test]
    fn bad_entries_say_what_is_expected() {
        for bad in [
            "",
            "https://app.test/",
            "*.com",
            "a*.test",
            "*.127.0.0.1",
            "x:0",
            "a b",
        ] {
            let err = ScopeEntry::parse(bad).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
    }
}
