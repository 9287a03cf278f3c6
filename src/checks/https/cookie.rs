//! `Set-Cookie` parsing per RFC 6265 §5.2, cookie dates per §5.1.1, and a
//! minimal cookie jar (§5.3 storage, §5.4 sending).
//!
//! The `https` check must say whether cookies carry `Secure`, `HttpOnly` and
//! `SameSite`. Attribute names are case-insensitive, attributes are split on
//! `;` only and trimmed, and a `Set-Cookie` field is never split on commas:
//! the comma in `Expires=Tue, 07-Apr-2026 ...` belongs to the date
//! (pitfall B19). The jar exists so the parser can be measured against the
//! IETF http-state suite, which asserts what a browser sends back; the check
//! itself only needs [`parse_set_cookie`] and [`is_session_cookie`].

use thiserror::Error;
use time::{Date, Month, PrimitiveDateTime, Time};
use url::{Host, Url};

use super::{Level, Observation};

/// The `SameSite` attribute (RFC 6265bis), when present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
    /// `SameSite=None` (sent cross-site; browsers require `Secure` with it).
    None,
    /// Any other value, as written; browsers fall back to their default.
    Invalid(String),
}

/// One parsed `Set-Cookie` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCookie {
    /// Cookie name, trimmed.
    pub name: String,
    /// Cookie value, trimmed (quotes kept, as RFC 6265 does).
    pub value: String,
    /// A `Secure` attribute was present.
    pub secure: bool,
    /// An `HttpOnly` attribute was present.
    pub http_only: bool,
    /// The last `SameSite` attribute; `None` when absent.
    pub same_site: Option<SameSite>,
    /// The last non-empty `Domain` attribute, lowercase, one leading dot removed.
    pub domain: Option<String>,
    /// The last `Path` attribute when it starts with `/`; `None` means the default path.
    pub path: Option<String>,
    /// The last parsable `Expires` attribute, as Unix seconds.
    pub expires: Option<i64>,
    /// The last valid `Max-Age` attribute in seconds (zero or less expires at once).
    pub max_age: Option<i64>,
    /// Attribute names as written, in order (including unknown ones).
    pub attributes: Vec<String>,
}

impl SetCookie {
    /// The cookie outlives the browser session (it has `Max-Age` or `Expires`).
    pub fn is_persistent(&self) -> bool {
        self.max_age.is_some() || self.expires.is_some()
    }
}

/// Parses one `Set-Cookie` field value with the RFC 6265 §5.2 algorithm.
///
/// Returns `None` when a user agent would ignore the whole field (no `=` in
/// the name-value pair, or an empty name). Text from the first NUL, CR or
/// LF on is dropped first, as older browsers did; such bytes cannot arrive
/// in a well-formed HTTP field anyway.
pub fn parse_set_cookie(line: &str) -> Option<SetCookie> {
    let line = match line.find(['\0', '\r', '\n']) {
        Some(cut) => &line[..cut],
        None => line,
    };

    let (pair, attributes) = match line.find(';') {
        Some(semi) => (&line[..semi], &line[semi..]),
        None => (line, ""),
    };

    let equals = pair.find('=')?;
    let name = trim_wsp(&pair[..equals]);
    let value = trim_wsp(&pair[equals + 1..]);
    if name.is_empty() {
        return None;
    }

    let mut cookie = SetCookie {
        name: name.to_string(),
        value: value.to_string(),
        secure: false,
        http_only: false,
        same_site: None,
        domain: None,
        path: None,
        expires: None,
        max_age: None,
        attributes: Vec::new(),
    };

    for av in attributes.split(';').skip(1) {
        let (attr_name, attr_value) = match av.find('=') {
            Some(eq) => (trim_wsp(&av[..eq]), trim_wsp(&av[eq + 1..])),
            None => (trim_wsp(av), ""),
        };
        if attr_name.is_empty() {
            continue;
        }
        cookie.attributes.push(attr_name.to_string());
        apply_attribute(&mut cookie, attr_name, attr_value);
    }
    Some(cookie)
}

fn apply_attribute(cookie: &mut SetCookie, name: &str, value: &str) {
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "expires" => {
            if let Some(when) = parse_cookie_date(value) {
                cookie.expires = Some(when);
            }
        }
        "max-age" => {
            if let Some(seconds) = parse_max_age(value) {
                cookie.max_age = Some(seconds);
            }
        }
        "domain" if !value.is_empty() => {
            let stripped = value.strip_prefix('.').unwrap_or(value);
            cookie.domain = Some(stripped.to_ascii_lowercase());
        }
        "path" => {
            cookie.path = value.starts_with('/').then(|| value.to_string());
        }
        "secure" => cookie.secure = true,
        "httponly" => cookie.http_only = true,
        "samesite" => {
            cookie.same_site = Some(match value.to_ascii_lowercase().as_str() {
                "strict" => SameSite::Strict,
                "lax" => SameSite::Lax,
                "none" => SameSite::None,
                _ => SameSite::Invalid(value.to_string()),
            });
        }
        _ => {}
    }
}

fn parse_max_age(value: &str) -> Option<i64> {
    let (negative, digits) = match value.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, value),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }

    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
    Some(if negative { -magnitude } else { magnitude })
}

fn trim_wsp(text: &str) -> &str {
    text.trim_matches([' ', '\t'])
}

/// Name fragments that mark a cookie as carrying a session or credential.
const SESSION_FRAGMENTS: &[&str] = &[
    "session", "sessid", "auth", "token", "jwt", "remember", "login", "logged",
];

/// Whole name tokens (split on punctuation) that mark a session cookie.
const SESSION_TOKENS: &[&str] = &["sid", "sess", "ssid", "connect.sid", "rememberme"];

/// Heuristic: does the cookie name look like a session or credential cookie?
///
/// A name-based guess only: matches names such as `session`, `sess`, `sid`,
/// `auth`, `token`, `jwt`, `remember`, `connect.sid`, `laravel_session`,
/// `PHPSESSID`, `JSESSIONID`, `ASP.NET_SessionId`. Anti-CSRF cookies
/// (`csrftoken`, `XSRF-TOKEN`) are excluded: they are read by scripts on
/// purpose. Lifetime is not used: a cookie without `Expires`/`Max-Age` only
/// lives for the browser session, which says nothing about its content,
/// and remember-me credentials are persistent. Unusual names are missed.
pub fn is_session_cookie(cookie: &SetCookie) -> bool {
    let name = cookie.name.to_ascii_lowercase();
    if name.contains("csrf") || name.contains("xsrf") {
        return false;
    }

    if SESSION_TOKENS.contains(&name.as_str()) {
        return true;
    }

    let tokens_match = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|token| SESSION_TOKENS.contains(&token));
    tokens_match || SESSION_FRAGMENTS.iter().any(|f| name.contains(f))
}

/// Judges the security attributes of one cookie set over HTTPS.
///
/// Missing `Secure` fails for a session cookie (see [`is_session_cookie`])
/// and warns otherwise; a session cookie without `HttpOnly` fails; a
/// `SameSite` value browsers do not know, `SameSite=None` without `Secure`
/// (rejected by browsers) and broken `__Secure-`/`__Host-` prefixes warn; a
/// session cookie without `SameSite` is noted. A cookie with no problem gets
/// one `Pass` observation.
pub fn assess_cookie(cookie: &SetCookie) -> Vec<Observation> {
    let session = is_session_cookie(cookie);
    let kind = if session { "session cookie" } else { "cookie" };
    let name = &cookie.name;
    let mut found = Vec::new();

    if !cookie.secure {
        found.push(Observation::new(
            if session { Level::Fail } else { Level::Warn },
            "cookie-not-secure",
            format!("{kind} `{name}` lacks Secure: it can be sent over plain http"),
        ));
    }
    if session && !cookie.http_only {
        found.push(Observation::new(
            Level::Fail,
            "cookie-not-httponly",
            format!("session cookie `{name}` lacks HttpOnly: injected scripts can read it"),
        ));
    }
    match &cookie.same_site {
        Some(SameSite::Invalid(value)) => found.push(Observation::new(
            Level::Warn,
            "cookie-samesite-invalid",
            format!("{kind} `{name}` has SameSite=`{value}`, which browsers ignore"),
        )),
        Some(SameSite::None) if !cookie.secure => found.push(Observation::new(
            Level::Warn,
            "cookie-samesite-none-insecure",
            format!("{kind} `{name}` has SameSite=None without Secure; browsers reject it"),
        )),
        None if session => found.push(Observation::new(
            Level::Info,
            "cookie-samesite-missing",
            format!("session cookie `{name}` has no SameSite; browsers apply their default"),
        )),
        _ => {}
    }

    let secure_prefix = name.starts_with("__Secure-") || name.starts_with("__Host-");
    let host_prefix_broken = name.starts_with("__Host-")
        && (cookie.domain.is_some() || cookie.path.as_deref() != Some("/"));
    if (secure_prefix && !cookie.secure) || host_prefix_broken {
        found.push(Observation::new(
            Level::Warn,
            "cookie-prefix-violated",
            format!("cookie `{name}` breaks the rules of its name prefix; browsers reject it"),
        ));
    }

    if found.is_empty() {
        found.push(Observation::new(
            Level::Pass,
            "cookie-ok",
            format!("{kind} `{name}` is Secure, HttpOnly where needed, and has SameSite"),
        ));
    }
    found
}

/// Parses a cookie date with the RFC 6265 §5.1.1 algorithm; Unix seconds, UTC.
pub fn parse_cookie_date(text: &str) -> Option<i64> {
    let mut time_of_day = None;
    let mut day = None;
    let mut month = None;
    let mut year = None;

    for token in text.as_bytes().split(|&b| is_date_delimiter(b)) {
        if token.is_empty() {
            continue;
        }

        if time_of_day.is_none()
            && let Some(found) = match_time(token)
        {
            time_of_day = Some(found);
            continue;
        }

        if day.is_none()
            && let Some((value, _)) = leading_number(token, 1, 2)
        {
            day = Some(value);
            continue;
        }

        if month.is_none()
            && let Some(found) = match_month(token)
        {
            month = Some(found);
            continue;
        }

        if year.is_none()
            && let Some((value, _)) = leading_number(token, 2, 4)
        {
            year = Some(value);
        }
    }

    let (hour, minute, second) = time_of_day?;
    let (day, month, mut year) = (day?, month?, year?);
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }

    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }

    let year = i32::try_from(year).ok()?;
    let day = u8::try_from(day).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let clock = Time::from_hms(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
    )
    .ok()?;
    Some(
        PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .unix_timestamp(),
    )
}

fn is_date_delimiter(b: u8) -> bool {
    matches!(b, 0x09 | 0x20..=0x2f | 0x3b..=0x40 | 0x5b..=0x60 | 0x7b..=0x7e)
}

/// A run of `min..=max` digits at the start of `token`, followed by the end or
/// a non-digit; returns the number and the bytes consumed.
fn leading_number(token: &[u8], min: usize, max: usize) -> Option<(u32, usize)> {
    let run = token.iter().take_while(|b| b.is_ascii_digit()).count();
    if run < min || run > max {
        return None;
    }

    let value = token[..run]
        .iter()
        .fold(0u32, |acc, b| acc * 10 + u32::from(b - b'0'));
    Some((value, run))
}

fn match_time(token: &[u8]) -> Option<(u32, u32, u32)> {
    let (hour, used) = leading_number(token, 1, 2)?;
    let rest = token[used..].strip_prefix(b":")?;
    let (minute, used) = leading_number(rest, 1, 2)?;
    let rest = rest[used..].strip_prefix(b":")?;
    let (second, _) = leading_number(rest, 1, 2)?;
    Some((hour, minute, second))
}

fn match_month(token: &[u8]) -> Option<Month> {
    const MONTHS: [(&[u8; 3], Month); 12] = [
        (b"jan", Month::January),
        (b"feb", Month::February),
        (b"mar", Month::March),
        (b"apr", Month::April),
        (b"may", Month::May),
        (b"jun", Month::June),
        (b"jul", Month::July),
        (b"aug", Month::August),
        (b"sep", Month::September),
        (b"oct", Month::October),
        (b"nov", Month::November),
        (b"dec", Month::December),
    ];
    let prefix = token.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .find(|(name, _)| prefix.as_slice() == name.as_slice())
        .map(|(_, month)| *month)
}

/// Why a jar refused a `Set-Cookie` field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CookieRejected {
    /// The field is ignored by the §5.2 algorithm.
    #[error("the Set-Cookie field is not a cookie (no `=` or empty name)")]
    Unparsable,
    /// The request URL has no host.
    #[error("the request URL has no host")]
    NoHost,
    /// `Domain` does not cover the request host.
    #[error("Domain={domain} does not domain-match the request host {host}")]
    DomainMismatch {
        /// The `Domain` attribute.
        domain: String,
        /// The request host.
        host: String,
    },
    /// `Domain` is a public suffix (approximated: a single label).
    #[error("Domain={0} is a public suffix")]
    PublicSuffix(String),
}

/// A cookie held by a [`CookieJar`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCookie {
    /// Name.
    pub name: String,
    /// Value.
    pub value: String,
    /// Domain: the request host when host-only, else the `Domain` attribute.
    pub domain: String,
    /// Path (the default path when the attribute was absent or invalid).
    pub path: String,
    /// Sent only to exactly `domain`.
    pub host_only: bool,
    /// Sent only over secure channels.
    pub secure: bool,
    /// Hidden from scripts.
    pub http_only: bool,
    /// `SameSite`, if given.
    pub same_site: Option<SameSite>,
    /// Unix seconds after which the cookie is gone; `None` for a session cookie.
    pub expiry: Option<i64>,
    creation: u64,
}

/// A minimal RFC 6265 cookie store: enough to replay a series of responses
/// and ask which cookies a browser would send to a URL.
#[derive(Debug, Clone, Default)]
pub struct CookieJar {
    cookies: Vec<StoredCookie>,
    next_creation: u64,
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores one `Set-Cookie` field received from `request_url` at time `now`
    /// (Unix seconds), per RFC 6265 §5.3. An already expired cookie removes
    /// its namesake and is not kept.
    pub fn store(&mut self, request_url: &Url, line: &str, now: i64) -> Result<(), CookieRejected> {
        let parsed = parse_set_cookie(line).ok_or(CookieRejected::Unparsable)?;
        let host = canonical_host(request_url).ok_or(CookieRejected::NoHost)?;

        let expiry = match (parsed.max_age, parsed.expires) {
            (Some(seconds), _) if seconds <= 0 => Some(i64::MIN),
            (Some(seconds), _) => Some(now.saturating_add(seconds)),
            (None, expires) => expires,
        };

        let (domain, host_only) = match parsed.domain.as_deref() {
            None => (host.clone(), true),
            Some(attribute) => {
                let domain = canonical_domain(attribute);
                if !domain.contains('.') {
                    if domain == host {
                        (host.clone(), true)
                    } else {
                        return Err(CookieRejected::PublicSuffix(attribute.to_string()));
                    }
                } else if domain_matches(&host, &domain) {
                    (domain, false)
                } else {
                    return Err(CookieRejected::DomainMismatch {
                        domain: attribute.to_string(),
                        host,
                    });
                }
            }
        };

        let path = parsed
            .path
            .clone()
            .unwrap_or_else(|| default_path(request_url.path()));

        let mut creation = self.next_creation;
        self.next_creation += 1;
        if let Some(index) = self
            .cookies
            .iter()
            .position(|c| c.name == parsed.name && c.domain == domain && c.path == path)
        {
            creation = self.cookies[index].creation;
            self.cookies.remove(index);
        }

        if expiry.is_some_and(|when| when <= now) {
            return Ok(());
        }

        self.cookies.push(StoredCookie {
            name: parsed.name,
            value: parsed.value,
            domain,
            path,
            host_only,
            secure: parsed.secure,
            http_only: parsed.http_only,
            same_site: parsed.same_site,
            expiry,
            creation,
        });
        Ok(())
    }

    /// The cookies a browser sends to `url` at time `now`, in §5.4 order:
    /// longer paths first, then earlier creation first.
    pub fn cookies_for(&self, url: &Url, now: i64) -> Vec<&StoredCookie> {
        let Some(host) = canonical_host(url) else {
            return Vec::new();
        };
        let secure_channel = url.scheme() == "https" || url.scheme() == "wss";
        let mut chosen: Vec<&StoredCookie> = self
            .cookies
            .iter()
            .filter(|c| c.expiry.is_none_or(|when| when > now))
            .filter(|c| {
                if c.host_only {
                    c.domain == host
                } else {
                    domain_matches(&host, &c.domain)
                }
            })
            .filter(|c| path_matches(url.path(), &c.path))
            .filter(|c| !c.secure || secure_channel)
            .collect();
        chosen.sort_by(|a, b| {
            b.path
                .len()
                .cmp(&a.path.len())
                .then(a.creation.cmp(&b.creation))
        });
        chosen
    }

    /// The `Cookie` header for `url`, or `None` when no cookie applies.
    pub fn cookie_header(&self, url: &Url, now: i64) -> Option<String> {
        let pairs: Vec<String> = self
            .cookies_for(url, now)
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

fn canonical_host(url: &Url) -> Option<String> {
    match url.host()? {
        Host::Domain(name) => Some(name.to_ascii_lowercase()),
        Host::Ipv4(ip) => Some(ip.to_string()),
        Host::Ipv6(ip) => Some(ip.to_string()),
    }
}

/// Lowercase ASCII form of a `Domain` attribute (IDN converted to A-labels
/// when possible; otherwise returned as written, which then fails to match).
fn canonical_domain(attribute: &str) -> String {
    if attribute.is_ascii() {
        return attribute.to_ascii_lowercase();
    }

    match Host::parse(attribute) {
        Ok(Host::Domain(ascii)) => ascii,
        _ => attribute.to_string(),
    }
}

/// RFC 6265 §5.1.3 domain-match (`host` and `domain` already canonical).
fn domain_matches(host: &str, domain: &str) -> bool {
    if host == domain {
        return true;
    }

    let is_ip = host.parse::<std::net::IpAddr>().is_ok();
    !is_ip
        && host.len() > domain.len()
        && host.ends_with(domain)
        && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
}

/// RFC 6265 §5.1.4 default-path of a request path.
fn default_path(uri_path: &str) -> String {
    if !uri_path.starts_with('/') {
        return "/".to_string();
    }

    match uri_path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(last) => uri_path[..last].to_string(),
    }
}

/// RFC 6265 §5.1.4 path-match.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    if request_path == cookie_path {
        return true;
    }

    request_path.starts_with(cookie_path)
        && (cookie_path.ends_with('/')
            || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pitfall_b19_both_cookies_secure_and_httponly() {
        let first = parse_set_cookie("SID=rd6o0000ffff; HttpOnly;Secure;Path=/");
        let second = parse_set_cookie(
            "SNID=abc123; expires=Tue, 07-Apr-2026 21:03:10 GMT; path=/verify; \
             domain=.example.com; Secure; HttpOnly; SameSite=lax",
        );
        for cookie in [&first, &second] {
            let cookie = cookie.as_ref().expect("parses");
            assert!(cookie.secure, "{cookie:?}");
            assert!(cookie.http_only, "{cookie:?}");
            let flagged: Vec<&str> = assess_cookie(cookie)
                .iter()
                .filter(|o| o.level >= Level::Warn)
                .map(|o| o.code)
                .collect();
            assert!(flagged.is_empty(), "{flagged:?}");
        }
        let second = second.expect("parses");
        assert_eq!(second.value, "abc123");
        assert_eq!(second.same_site, Some(SameSite::Lax));
        assert_eq!(second.domain.as_deref(), Some("example.com"));
        assert_eq!(second.path.as_deref(), Some("/verify"));
        assert_eq!(second.expires, Some(1_775_595_790));
    }

    #[test]
    fn flags_missing_attributes() {
        let cookie = parse_set_cookie("id=1; Path=/").expect("parses");
        assert!(!cookie.secure && !cookie.http_only && cookie.same_site.is_none());
        assert_eq!(cookie.attributes, vec!["Path".to_string()]);
    }

    #[test]
    fn same_site_values() {
        let value = |line: &str| parse_set_cookie(line).and_then(|c| c.same_site);
        assert_eq!(value("a=b; SameSite=STRICT"), Some(SameSite::Strict));
        assert_eq!(value("a=b; samesite=None; Secure"), Some(SameSite::None));
        assert_eq!(
            value("a=b; SameSite=yes"),
            Some(SameSite::Invalid("yes".into()))
        );
        assert_eq!(
            value("a=b; SameSite"),
            Some(SameSite::Invalid(String::new()))
        );
        assert_eq!(value("a=b"), None);
    }

    #[test]
    fn rejects_fields_browsers_ignore() {
        assert_eq!(parse_set_cookie("foo"), None);
        assert_eq!(parse_set_cookie("=bar"), None);
        assert_eq!(parse_set_cookie(""), None);
    }

    #[test]
    fn max_age_and_expires() {
        let cookie = parse_set_cookie("a=b; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
            .expect("parses");
        assert_eq!((cookie.max_age, cookie.expires), (Some(60), Some(0)));
        assert!(cookie.is_persistent());
        let cookie = parse_set_cookie("a=b; Max-Age=1.5").expect("parses");
        assert_eq!(cookie.max_age, None);
        assert!(!cookie.is_persistent());
    }

    #[test]
    fn session_cookie_heuristic_both_ways() {
        let session = |name: &str| {
            let cookie = parse_set_cookie(&format!("{name}=x")).expect("parses");
            is_session_cookie(&cookie)
        };
        for name in [
            "session",
            "PHPSESSID",
            "JSESSIONID",
            "connect.sid",
            "laravel_session",
            "sid",
            "auth_token",
            "jwt",
            "remember_me",
            "ASP.NET_SessionId",
        ] {
            assert!(session(name), "{name} should look like a session cookie");
        }
        for name in [
            "theme",
            "lang",
            "csrftoken",
            "XSRF-TOKEN",
            "_ga",
            "consent",
            "side",
        ] {
            assert!(
                !session(name),
                "{name} should not look like a session cookie"
            );
        }
    }

    #[test]
    fn assessment_both_ways() {
        let codes = |line: &str| {
            let cookie = parse_set_cookie(line).expect("parses");
            assess_cookie(&cookie)
                .into_iter()
                .map(|o| (o.level, o.code))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            codes("sessionid=x; Secure; HttpOnly; SameSite=Lax; Path=/"),
            vec![(Level::Pass, "cookie-ok")]
        );
        assert_eq!(
            codes("SID=rd6o0000ffff; HttpOnly;Secure;Path=/"),
            vec![(Level::Info, "cookie-samesite-missing")]
        );
        assert_eq!(
            codes("sessionid=x"),
            vec![
                (Level::Fail, "cookie-not-secure"),
                (Level::Fail, "cookie-not-httponly"),
                (Level::Info, "cookie-samesite-missing"),
            ]
        );
        assert_eq!(
            codes("theme=dark"),
            vec![(Level::Warn, "cookie-not-secure")]
        );
        assert_eq!(
            codes("theme=dark; Secure; SameSite=Loose"),
            vec![(Level::Warn, "cookie-samesite-invalid")]
        );
        assert_eq!(
            codes("__Host-id=1; Secure; Path=/app"),
            vec![(Level::Warn, "cookie-prefix-violated")]
        );
        assert_eq!(
            codes("__Host-id=1; Secure; Path=/"),
            vec![(Level::Pass, "cookie-ok")]
        );
    }

    #[test]
    fn jar_respects_secure_and_host_only() {
        let mut jar = CookieJar::new();
        let origin = Url::parse("https://app.example.com/login").expect("url");
        jar.store(&origin, "s=1; Secure; Path=/", 0)
            .expect("stored");
        jar.store(&origin, "h=2; Path=/", 0).expect("stored");
        let plain = Url::parse("http://app.example.com/").expect("url");
        assert_eq!(jar.cookie_header(&plain, 1).as_deref(), Some("h=2"));
        let other = Url::parse("https://www.example.com/").expect("url");
        assert_eq!(jar.cookie_header(&other, 1), None);
        assert_eq!(
            jar.store(&origin, "x=1; Domain=com", 0),
            Err(CookieRejected::PublicSuffix("com".into()))
        );
    }

    #[test]
    fn cookie_date_cases() {
        assert_eq!(parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_cookie_date("Wed, 31 Feb 2001 00:00:00 GMT"), None);
        assert_eq!(parse_cookie_date("Mon, 01 Jan 1600 00:00:00 GMT"), None);
        assert_eq!(parse_cookie_date("garbage"), None);
    }
}
