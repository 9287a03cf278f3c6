//! `Strict-Transport-Security` parsing per RFC 6797 §6.1.
//!
//! Tools that only look for `max-age` with a regex report HSTS on headers a
//! browser throws away (pitfall B15), or call `max-age=0` "present" when it
//! actually switches HSTS off (pitfall B17). This parser follows the grammar:
//!
//! ```text
//! Strict-Transport-Security = [ directive ] *( ";" [ directive ] )
//! directive                 = directive-name [ "=" directive-value ]
//! directive-name            = token
//! directive-value           = token / quoted-string
//! ```
//!
//! with optional whitespace around tokens, `=` and `;`. Directive names are
//! case-insensitive, each directive may appear at most once, `max-age` is
//! required and must be `delta-seconds` (digits, possibly quoted), and
//! unknown directives are ignored. A header that does not conform is
//! ignored by user agents (§6.1 item 4, §8.1), so it yields an error here.

use std::fmt;

use thiserror::Error;

use super::{Level, Observation};

/// Six months in seconds, the usual floor for a "long enough" `max-age`.
pub const SIX_MONTHS_SECONDS: u64 = 15_768_000;

/// A valid HSTS policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HstsPolicy {
    /// `max-age` in seconds; `0` means "forget this host" (see [`HstsPolicy::is_disabled`]).
    pub max_age: u64,
    /// The valueless `includeSubDomains` directive was present.
    pub include_subdomains: bool,
    /// The valueless `preload` directive (preload-list convention, not RFC 6797) was present.
    pub preload: bool,
}

impl HstsPolicy {
    /// `max-age=0`: the header tells the browser to stop treating the host as HSTS (B17).
    pub fn is_disabled(&self) -> bool {
        self.max_age == 0
    }
}

/// Why a `Strict-Transport-Security` value is not a valid policy.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HstsError {
    /// A character that the grammar does not allow at that place.
    #[error("unexpected character {found} at byte {at}: {expected}")]
    Unexpected {
        /// Byte offset in the header value.
        at: usize,
        /// The character, printed with its code point when it is not plain ASCII.
        found: CharDescription,
        /// What the grammar wanted there.
        expected: &'static str,
    },
    /// A quoted-string without its closing quote.
    #[error("quoted-string starting at byte {at} is not terminated")]
    UnterminatedQuote {
        /// Byte offset of the opening quote.
        at: usize,
    },
    /// The same directive twice (names compared case-insensitively).
    #[error("directive `{0}` appears more than once (each directive is allowed once)")]
    Duplicate(String),
    /// No `max-age` directive.
    #[error("the required max-age directive is missing")]
    MissingMaxAge,
    /// `max-age` whose value is not delta-seconds.
    #[error("max-age value `{0}` is not a number of seconds (digits only)")]
    InvalidMaxAge(String),
    /// A valueless directive (`includeSubDomains`, `preload`) with a value.
    #[error("directive `{0}` takes no value")]
    UnexpectedValue(String),
}

/// A character found in a header, printable in a reason string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CharDescription(pub char);

impl fmt::Display for CharDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.0;
        if c.is_ascii_graphic() {
            write!(f, "`{c}`")
        } else {
            write!(f, "U+{:04X}", u32::from(c))
        }
    }
}

/// Parses one `Strict-Transport-Security` header value.
pub fn parse_hsts(value: &str) -> Result<HstsPolicy, HstsError> {
    let directives = split_directives(value)?;

    let mut seen: Vec<String> = Vec::new();
    for (name, _) in &directives {
        let lower = name.to_ascii_lowercase();
        if seen.contains(&lower) {
            return Err(HstsError::Duplicate(name.clone()));
        }
        seen.push(lower);
    }

    let mut max_age = None;
    let mut include_subdomains = false;
    let mut preload = false;
    for (name, directive_value) in directives {
        if name.eq_ignore_ascii_case("max-age") {
            let digits = directive_value.unwrap_or_default();
            max_age = Some(parse_delta_seconds(&digits)?);
        } else if name.eq_ignore_ascii_case("includesubdomains") {
            if directive_value.is_some() {
                return Err(HstsError::UnexpectedValue(name));
            }
            include_subdomains = true;
        } else if name.eq_ignore_ascii_case("preload") {
            if directive_value.is_some() {
                return Err(HstsError::UnexpectedValue(name));
            }
            preload = true;
        }
    }

    let max_age = max_age.ok_or(HstsError::MissingMaxAge)?;
    Ok(HstsPolicy {
        max_age,
        include_subdomains,
        preload,
    })
}

/// What HSTS a user agent applies after a response with these header values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HstsState {
    /// No `Strict-Transport-Security` header.
    Absent,
    /// The header the user agent processes is invalid, so no HSTS is in effect.
    Invalid(HstsError),
    /// `max-age=0`: HSTS explicitly disabled (B17).
    Disabled(HstsPolicy),
    /// A policy with a positive `max-age`.
    Active(HstsPolicy),
}

/// The outcome of [`effective_hsts`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveHsts {
    /// The state in effect.
    pub state: HstsState,
    /// How many header fields were received.
    pub header_count: usize,
    /// Human-readable explanation, usable as evidence.
    pub reason: String,
}

/// Evaluates the `Strict-Transport-Security` fields of one response.
///
/// A user agent processes only the first field (RFC 6797 §8.1), so later
/// fields never rescue an invalid first one, and are ignored when it is valid.
pub fn effective_hsts(values: &[&str]) -> EffectiveHsts {
    let header_count = values.len();
    let Some(first) = values.first() else {
        return EffectiveHsts {
            state: HstsState::Absent,
            header_count,
            reason: "no Strict-Transport-Security header".to_string(),
        };
    };

    let extra = if header_count > 1 {
        format!(
            "; {} further header field(s) ignored (a browser uses only the first)",
            header_count - 1
        )
    } else {
        String::new()
    };

    match parse_hsts(first) {
        Err(error) => EffectiveHsts {
            reason: format!(
                "Strict-Transport-Security `{}` is invalid ({error}); browsers ignore it, \
                 so no HSTS is in effect{extra}",
                first.escape_default()
            ),
            state: HstsState::Invalid(error),
            header_count,
        },
        Ok(policy) if policy.is_disabled() => EffectiveHsts {
            state: HstsState::Disabled(policy),
            header_count,
            reason: format!(
                "HSTS explicitly disabled: max-age=0 tells browsers to forget this host{extra}"
            ),
        },
        Ok(policy) => EffectiveHsts {
            state: HstsState::Active(policy),
            header_count,
            reason: format!(
                "HSTS max-age={} ({} days){}{}{extra}",
                policy.max_age,
                policy.max_age / 86_400,
                if policy.include_subdomains {
                    ", includeSubDomains"
                } else {
                    ""
                },
                if policy.preload { ", preload" } else { "" },
            ),
        },
    }
}

/// Judges an effective HSTS state against a minimum `max-age` in seconds.
pub fn assess_hsts(effective: &EffectiveHsts, min_max_age: u64) -> Observation {
    let reason = effective.reason.clone();
    match &effective.state {
        HstsState::Absent => Observation::new(Level::Fail, "hsts-missing", reason),
        HstsState::Invalid(_) => Observation::new(Level::Fail, "hsts-invalid", reason),
        HstsState::Disabled(_) => Observation::new(Level::Fail, "hsts-disabled", reason),
        HstsState::Active(policy) if policy.max_age < min_max_age => Observation::new(
            Level::Warn,
            "hsts-short",
            format!("{reason}; shorter than the required {min_max_age} seconds"),
        ),
        HstsState::Active(_) => Observation::new(Level::Pass, "hsts-ok", reason),
    }
}

fn parse_delta_seconds(value: &str) -> Result<u64, HstsError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HstsError::InvalidMaxAge(value.to_string()));
    }

    // Huge values are valid delta-seconds; clamp rather than reject them.
    Ok(value.parse::<u64>().unwrap_or(u64::MAX))
}

type Directive = (String, Option<String>);

fn split_directives(value: &str) -> Result<Vec<Directive>, HstsError> {
    let bytes = value.as_bytes();
    let mut pos = 0;
    let mut directives = Vec::new();
    loop {
        pos = skip_ows(bytes, pos);
        if pos >= bytes.len() {
            break;
        }

        if bytes[pos] == b';' {
            pos += 1;
            continue;
        }

        let name_end = token_end(bytes, pos);
        if name_end == pos {
            return Err(unexpected(value, pos, "a directive name (token)"));
        }
        let name = value[pos..name_end].to_string();
        pos = skip_ows(bytes, name_end);

        let mut directive_value = None;
        if bytes.get(pos) == Some(&b'=') {
            pos = skip_ows(bytes, pos + 1);
            if bytes.get(pos) == Some(&b'"') {
                let (text, next) = read_quoted(value, pos)?;
                directive_value = Some(text);
                pos = next;
            } else {
                let end = token_end(bytes, pos);
                if end == pos {
                    return Err(unexpected(value, pos, "a token or quoted-string value"));
                }
                directive_value = Some(value[pos..end].to_string());
                pos = end;
            }
            pos = skip_ows(bytes, pos);
        }

        if pos < bytes.len() && bytes[pos] != b';' {
            return Err(unexpected(value, pos, "`;` or the end of the header"));
        }
        directives.push((name, directive_value));
    }
    Ok(directives)
}

fn read_quoted(value: &str, open: usize) -> Result<(String, usize), HstsError> {
    let bytes = value.as_bytes();
    let mut text = Vec::new();
    let mut pos = open + 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'"' => return Ok((String::from_utf8_lossy(&text).into_owned(), pos + 1)),
            b'\\' if pos + 1 < bytes.len() => {
                text.push(bytes[pos + 1]);
                pos += 2;
            }
            b if b == b'\t' || (b >= 0x20 && b != 0x7f) => {
                text.push(b);
                pos += 1;
            }
            _ => return Err(unexpected(value, pos, "quoted-string text")),
        }
    }
    Err(HstsError::UnterminatedQuote { at: open })
}

fn unexpected(value: &str, at: usize, expected: &'static str) -> HstsError {
    let found = value
        .get(at..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or('\u{fffd}');
    HstsError::Unexpected {
        at,
        found: CharDescription(found),
        expected,
    }
}

fn skip_ows(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && (bytes[pos] == b' ' || bytes[pos] == b'\t') {
        pos += 1;
    }
    pos
}

fn token_end(bytes: &[u8], mut pos: usize) -> usize {
    while pos < bytes.len() && is_tchar(bytes[pos]) {
        pos += 1;
    }
    pos
}

/// RFC 9110 `tchar`.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(max_age: u64, include_subdomains: bool, preload: bool) -> HstsPolicy {
        HstsPolicy {
            max_age,
            include_subdomains,
            preload,
        }
    }

    #[test]
    fn parses_common_forms() {
        assert_eq!(
            parse_hsts("max-age=31536000"),
            Ok(policy(31_536_000, false, false))
        );
        assert_eq!(
            parse_hsts("max-age=63072000; includeSubDomains; preload"),
            Ok(policy(63_072_000, true, true))
        );
        assert_eq!(
            parse_hsts("MAX-AGE=\"100\";INCLUDESUBDOMAINS"),
            Ok(policy(100, true, false))
        );
        assert_eq!(parse_hsts("  max-age = 5 ;  "), Ok(policy(5, false, false)));
    }

    #[test]
    fn empty_directives_between_semicolons_are_allowed() {
        assert_eq!(
            parse_hsts(";max-age=5;;;includeSubDomains;"),
            Ok(policy(5, true, false))
        );
    }

    #[test]
    fn unknown_directives_are_ignored() {
        assert_eq!(
            parse_hsts("max-age=5; report-uri=\"https://x.example/r\"; foo"),
            Ok(policy(5, false, false))
        );
    }

    #[test]
    fn duplicates_are_invalid() {
        assert_eq!(
            parse_hsts("max-age=5; Max-Age=6"),
            Err(HstsError::Duplicate("Max-Age".into()))
        );
        assert!(parse_hsts("max-age=5; includeSubDomains; includesubdomains").is_err());
        assert!(parse_hsts("max-age=5; foo; foo").is_err());
    }

    #[test]
    fn max_age_is_required_and_numeric() {
        assert_eq!(
            parse_hsts("includeSubDomains"),
            Err(HstsError::MissingMaxAge)
        );
        assert_eq!(parse_hsts(""), Err(HstsError::MissingMaxAge));
        assert!(matches!(
            parse_hsts("max-age"),
            Err(HstsError::InvalidMaxAge(_))
        ));
        assert!(matches!(
            parse_hsts("max-age=-1"),
            Err(HstsError::InvalidMaxAge(_))
        ));
        assert!(matches!(
            parse_hsts("max-age=1e6"),
            Err(HstsError::InvalidMaxAge(_))
        ));
        assert!(matches!(
            parse_hsts("max-age=\"\""),
            Err(HstsError::InvalidMaxAge(_))
        ));
        assert_eq!(
            parse_hsts("max-age=99999999999999999999999").map(|p| p.max_age),
            Ok(u64::MAX)
        );
    }

    #[test]
    fn valueless_directives_reject_values() {
        assert!(matches!(
            parse_hsts("max-age=5; includeSubDomains=yes"),
            Err(HstsError::UnexpectedValue(_))
        ));
    }

    #[test]
    fn comma_joined_fields_are_invalid() {
        assert!(parse_hsts("max-age=5, max-age=6").is_err());
    }

    #[test]
    fn unterminated_quote_is_invalid() {
        assert_eq!(
            parse_hsts("max-age=\"5"),
            Err(HstsError::UnterminatedQuote { at: 8 })
        );
    }

    #[test]
    fn pitfall_b15_malformed_headers_mean_no_hsts() {
        let lines = [
            "max-age==31536000; includeSubdomains",
            ": max-age=31536000; includeSubDomains; preload",
            "max-age=31536000max-age=31536000; includeSubDomains; preload",
            "max-age=63072000\u{a8}",
        ];
        for line in lines {
            assert!(parse_hsts(line).is_err(), "{line:?} must be invalid");
            let effective = effective_hsts(&[line]);
            assert!(
                matches!(effective.state, HstsState::Invalid(_)),
                "{line:?}: {effective:?}"
            );
            assert!(effective.reason.contains("no HSTS is in effect"));
            let verdict = assess_hsts(&effective, SIX_MONTHS_SECONDS);
            assert_eq!(verdict.level, Level::Fail);
            assert_eq!(verdict.code, "hsts-invalid");
        }
        let reason = effective_hsts(&["max-age=63072000\u{a8}"]).reason;
        assert!(reason.contains("U+00A8"), "{reason}");
    }

    #[test]
    fn pitfall_b17_max_age_zero_disables_hsts() {
        let parsed = parse_hsts("max-age=0");
        assert_eq!(parsed, Ok(policy(0, false, false)));
        assert!(parsed.is_ok_and(|p| p.is_disabled()));
        let effective = effective_hsts(&["max-age=0"]);
        assert!(matches!(effective.state, HstsState::Disabled(_)));
        assert!(effective.reason.contains("HSTS explicitly disabled"));
        let verdict = assess_hsts(&effective, SIX_MONTHS_SECONDS);
        assert_eq!(
            (verdict.level, verdict.code),
            (Level::Fail, "hsts-disabled")
        );
    }

    #[test]
    fn only_the_first_field_counts() {
        let effective = effective_hsts(&["max-age=nope", "max-age=31536000"]);
        assert!(matches!(effective.state, HstsState::Invalid(_)));
        assert!(effective.reason.contains("1 further header field"));

        let effective = effective_hsts(&["max-age=31536000", "max-age=0"]);
        assert!(matches!(effective.state, HstsState::Active(_)));
    }

    #[test]
    fn assessment_both_ways() {
        let good = effective_hsts(&["max-age=31536000; includeSubDomains"]);
        assert_eq!(assess_hsts(&good, SIX_MONTHS_SECONDS).level, Level::Pass);

        let short = effective_hsts(&["max-age=86400"]);
        assert_eq!(assess_hsts(&short, SIX_MONTHS_SECONDS).level, Level::Warn);

        let absent = effective_hsts(&[]);
        assert_eq!(
            assess_hsts(&absent, SIX_MONTHS_SECONDS).code,
            "hsts-missing"
        );
    }
}
