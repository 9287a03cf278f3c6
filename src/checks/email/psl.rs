//! Organisational domains (RFC 7489 §3.2) from the Public Suffix List.
//!
//! DMARC falls back to the organisational domain's record and compares
//! domains "relaxed" by it, so both need the PSL. The list comes from the
//! `psl` crate, which compiles a recent snapshot of publicsuffix.org's list
//! (ICANN and private sections) into the binary; its version pins the date.

/// The organisational domain of `name`: the public suffix plus one label.
/// A name that is itself a public suffix (or unusable) is returned as is.
/// The result is lower-case, without trailing dot.
pub fn organizational_domain(name: &str) -> String {
    let name = name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase();
    match psl::domain_str(&name) {
        Some(registrable) => registrable.to_string(),
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::organizational_domain;

    #[test]
    fn organisational_domains() {
        assert_eq!(organizational_domain("mail.example.com"), "example.com");
        assert_eq!(organizational_domain("Example.COM."), "example.com");
        assert_eq!(organizational_domain("a.b.example.co.uk"), "example.co.uk");
        assert_eq!(organizational_domain("example.co.uk"), "example.co.uk");
        assert_eq!(organizational_domain("co.uk"), "co.uk");
        assert_eq!(organizational_domain("team.github.io"), "team.github.io");
        assert_eq!(organizational_domain("x.team.github.io"), "team.github.io");
    }
}
