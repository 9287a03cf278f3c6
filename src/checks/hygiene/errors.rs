//! Software versions in `Server` / `X-Powered-By` and their kin. (Stack
//! traces and framework debug pages are recognised by the shared
//! `crate::debugpage` detector, which the `input` check uses too.)

use std::sync::OnceLock;

use regex::Regex;

/// Headers that name software, with a version in the value.
pub const VERSION_HEADERS: &[&str] = &[
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
    "x-generator",
];

/// Whether a header value discloses a version (`nginx/1.25.3`, `PHP/8.1`, `4.0.30319`).
pub fn discloses_version(value: &str) -> bool {
    static RE: OnceLock<Option<Regex>> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(^|[/\s(v])\d+\.\d+").ok())
        .as_ref()
        .is_some_and(|re| re.is_match(value.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_in_headers() {
        for v in [
            "nginx/1.25.3",
            "PHP/8.1.2",
            "Express 4.18.2",
            "4.0.30319",
            "Apache/2.4.57 (Ubuntu)",
        ] {
            assert!(discloses_version(v), "{v}");
        }
        for v in [
            "nginx",
            "Express",
            "cloudflare",
            "Apache",
            "AmazonS3",
            "gws",
        ] {
            assert!(!discloses_version(v), "{v}");
        }
    }
}
