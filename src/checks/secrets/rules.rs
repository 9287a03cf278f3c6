//! The built-in credential rules of the `secrets` check.
//!
//! A rule is a data record: a stable id, what the credential is, how bad a
//! leak is, the keywords that must occur nearby before its regex runs, the
//! regex itself and a validator that cuts false positives (checksums where the
//! format carries one, entropy floors, placeholder and documentation-example
//! rejection). Rules know nothing of files or git; [`crate::checks::secrets::scan`]
//! applies them to bytes.

use std::fmt;

use base64::Engine as _;
use regex::bytes::{Captures, Regex, RegexBuilder};
use serde::Serialize;

/// How bad a leaked credential is, before context (test mode) lowers it:
/// the scorecard's own severity scale.
pub use crate::report::model::Severity;

/// The family a credential belongs to, for grouping in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretKind {
    Cloud,
    CodeHost,
    Payment,
    Messaging,
    Mail,
    AiProvider,
    PackageRegistry,
    Platform,
    PrivateKey,
    Jwt,
    ConnectionString,
    Generic,
}

/// The structural check a match must pass after its regex matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validator {
    /// Placeholder rejection and the rule's entropy floor only.
    Plain,
    /// GitHub and npm tokens: the last 6 characters are the base62 CRC32 of
    /// the 30 random characters before them.
    Base62Crc32,
    /// A PEM or OpenSSH block needs a base64 body of realistic length.
    PemBody,
    /// Both JWT segments must be base64url that decodes to JSON-looking text.
    Jwt,
    /// A password inside a URL: percent-decoded, then checked for placeholders
    /// and well-known local defaults.
    UrlPassword,
    /// `password = ...`-style assignments: key-name and value-shape filters
    /// plus an entropy floor.
    GenericAssignment,
    /// Slack tokens: the last segment must carry letters, not only digits.
    SlackShape,
}

/// What must follow a keyword for the rule's regex to have a chance to match
/// there: a cheap test run at every keyword hit, so that the regex runs only
/// where it can match. Each test accepts every text the rule's regex accepts
/// (it is looser, never stricter), so recall does not depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follows {
    /// No test: every hit opens a window.
    Anything,
    /// A name that goes on (`[A-Za-z0-9_.-]*`), at most one closing quote or
    /// bracket, whitespace, then an assignment operator (`=`, `:`, `,`, `?=`):
    /// `API_TOKEN = …`, `"password": …`, `secretKey: …`.
    Assignment,
    /// [`Follows::Assignment`], then a value the generic rule could take:
    /// an opening quote, or six bytes that may stand in an unquoted value.
    AssignedValue,
    /// The keyword is `://` and a `user:password@` part follows before the
    /// first `/`, `?`, `#`, quote or space.
    Userinfo,
    /// The keyword ends a PEM header: `-----` or ` BLOCK-----` follows.
    PemHeader,
}

impl Follows {
    /// Whether the text after a keyword ending at `end` passes the test.
    pub fn admits(self, data: &[u8], end: usize) -> bool {
        match self {
            Follows::Anything => true,
            Follows::Assignment => assignment_operator(data, end).is_some(),
            Follows::AssignedValue => assigned_value_follows(data, end),
            Follows::Userinfo => userinfo_follows(data, end),
            Follows::PemHeader => {
                let rest = data.get(end..).unwrap_or_default();
                rest.starts_with(b"-----")
                    || rest
                        .get(..11)
                        .is_some_and(|r| r.eq_ignore_ascii_case(b" block-----"))
            }
        }
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// `\s` of a byte regex: space, tab, newline, vertical tab, form feed, return.
fn is_regex_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// Where the first byte of an assignment operator after a key name is.
fn assignment_operator(data: &[u8], end: usize) -> Option<usize> {
    let rest = data.get(end..).unwrap_or_default();
    let mut i = rest.iter().take_while(|b| is_name_byte(**b)).count();
    if matches!(rest.get(i), Some(b'"' | b'\'' | b']')) {
        i += 1;
    }
    i += rest[i..].iter().take_while(|b| is_regex_space(**b)).count();
    matches!(rest.get(i), Some(b'=' | b':' | b',' | b'?')).then_some(end + i)
}

/// Bytes an unquoted generic value may hold (`[^\s"'`,;)}\]<>]`).
fn is_bare_value_byte(b: u8) -> bool {
    !is_regex_space(b)
        && !matches!(
            b,
            b'"' | b'\'' | b'`' | b',' | b';' | b')' | b'}' | b']' | b'<' | b'>'
        )
}

fn assigned_value_follows(data: &[u8], end: usize) -> bool {
    let Some(op) = assignment_operator(data, end) else {
        return false;
    };
    // The operator is one or two bytes (`=`, `:=`, `=>`, `?=`): try both.
    [op + 1, op + 2].into_iter().any(|at| {
        let rest = data.get(at..).unwrap_or_default();
        let blank = rest
            .iter()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count();
        let value = &rest[blank..];
        matches!(value.first(), Some(b'"' | b'\'' | b'`'))
            || (value.len() >= 6 && value[..6].iter().all(|b| is_bare_value_byte(*b)))
    })
}

/// Longest `user:password@` a URL rule accepts: 128 + 1 + 256 + 1 bytes.
const MAX_USERINFO: usize = 386;

fn userinfo_follows(data: &[u8], end: usize) -> bool {
    let rest = data.get(end..).unwrap_or_default();
    let mut colon = false;
    for &b in rest.iter().take(MAX_USERINFO) {
        match b {
            b'@' => return colon,
            b':' => colon = true,
            b'/' | b'?' | b'#' | b'\'' | b'"' | b'`' => return false,
            b if is_regex_space(b) => return false,
            _ => {}
        }
    }
    false
}

/// One credential rule. The regex names the secret part `s` (or `s2`, `s3`
/// for alternatives); without such a group the whole match is the secret.
#[derive(Clone, Debug)]
pub struct Rule {
    /// Stable id used in findings, baselines and fingerprints.
    pub id: &'static str,
    pub description: &'static str,
    pub kind: SecretKind,
    pub severity: Severity,
    /// Lower-case words, one of which must occur near a match (the prefilter).
    pub keywords: &'static [&'static str],
    pub pattern: &'static str,
    pub validator: Validator,
    /// Minimum Shannon entropy (bits per character) of the secret part.
    pub min_entropy: f64,
    /// Public, fixed prefixes of the format that a preview may show.
    pub prefixes: &'static [&'static str],
    /// Substrings that mark a test-mode credential (`_test_`).
    pub test_markers: &'static [&'static str],
    /// Bytes searched before and after a keyword hit.
    pub window: (usize, usize),
    /// When two findings overlap, the higher priority one is kept.
    pub priority: u8,
    /// What must follow a keyword hit before the regex runs on its window.
    pub follows: Follows,
}

/// A rule with its compiled regex.
#[derive(Clone, Debug)]
pub struct CompiledRule {
    pub rule: Rule,
    pub regex: Regex,
    secret_groups: Vec<usize>,
}

/// A credential value held only while a finding is built. Its `Debug` shows
/// the length, never the characters.
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: String) -> Self {
        SecretValue(value)
    }

    /// The raw value: use it to fingerprint or register with the redactor, never to print.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn char_len(&self) -> usize {
        self.0.chars().count()
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretValue(*** {} chars)", self.char_len())
    }
}

/// A match that passed its rule's validator.
#[derive(Debug)]
pub struct Accepted {
    /// Byte span of the secret inside the searched text.
    pub start: usize,
    pub end: usize,
    pub value: SecretValue,
    /// The public prefix a preview may show (may be empty).
    pub prefix: String,
    pub test_mode: bool,
}

impl CompiledRule {
    fn compile(rule: Rule) -> Result<CompiledRule, regex::Error> {
        let regex = RegexBuilder::new(&format!("(?-u){}", rule.pattern))
            .size_limit(1 << 23)
            .build()?;
        let secret_groups = regex
            .capture_names()
            .enumerate()
            .filter(|(_, name)| matches!(name, Some("s" | "s2" | "s3" | "s4")))
            .map(|(i, _)| i)
            .collect();
        Ok(CompiledRule {
            rule,
            regex,
            secret_groups,
        })
    }

    /// Checks one regex match; returns the secret when it passes the validator.
    pub fn accept(&self, caps: &Captures<'_>) -> Option<Accepted> {
        let whole = caps.get(0)?;
        let secret = self
            .secret_groups
            .iter()
            .find_map(|&i| caps.get(i))
            .unwrap_or(whole);
        let raw = std::str::from_utf8(secret.as_bytes()).ok()?;
        let key = caps
            .name("key")
            .map(|m| String::from_utf8_lossy(m.as_bytes()));
        let prefix = self.public_prefix(raw);
        let value = match self.rule.validator {
            Validator::SlackShape => {
                let last = raw.rsplit(['-', '.']).next().unwrap_or("");
                if !slack_shape(raw)
                    || looks_like_placeholder(last)
                    || shannon_entropy(last) < self.rule.min_entropy
                {
                    return None;
                }
                raw.to_string()
            }
            Validator::Plain | Validator::Jwt => {
                if self.rule.validator == Validator::Jwt && !jwt_shape(raw) {
                    return None;
                }
                self.plain_check(raw, &prefix)?
            }
            Validator::Base62Crc32 => {
                if !base62_crc32_ok(raw) || looks_like_placeholder(&raw[prefix.len()..]) {
                    return None;
                }
                raw.to_string()
            }
            Validator::PemBody => pem_body(raw)?,
            Validator::UrlPassword => {
                let user = caps.name("user").map(|m| m.as_bytes()).unwrap_or(b"");
                let host = caps.name("host").map(|m| m.as_bytes()).unwrap_or(b"");
                url_password(raw, user, host)?
            }
            Validator::GenericAssignment => {
                let unquoted = caps.name("s4").is_some();
                let key = key.as_deref().unwrap_or("");
                generic_value_ok(key, raw, self.rule.min_entropy, unquoted)?
            }
        };
        let lowered = raw.to_ascii_lowercase();
        let test_mode = self.rule.test_markers.iter().any(|m| lowered.contains(m));
        Some(Accepted {
            start: secret.start(),
            end: secret.end(),
            value: SecretValue::new(value),
            prefix,
            test_mode,
        })
    }

    fn plain_check(&self, raw: &str, prefix: &str) -> Option<String> {
        let body = raw.get(prefix.len()..).unwrap_or(raw);
        if looks_like_placeholder(body) || shannon_entropy(body) < self.rule.min_entropy {
            return None;
        }
        Some(raw.to_string())
    }

    fn public_prefix(&self, raw: &str) -> String {
        if raw.starts_with("-----BEGIN") {
            let header_end = raw[5..].find("-----").map(|i| i + 10).unwrap_or(0);
            return raw[..header_end.min(raw.len())].to_string();
        }
        self.rule
            .prefixes
            .iter()
            .filter(|p| raw.len() >= p.len() && raw[..p.len()].eq_ignore_ascii_case(p))
            .max_by_key(|p| p.len())
            .map(|p| raw[..p.len()].to_string())
            .unwrap_or_default()
    }
}

/// The set of rules a scanner applies.
#[derive(Clone, Debug)]
pub struct Ruleset {
    rules: Vec<CompiledRule>,
}

impl Ruleset {
    /// The built-in rule set.
    pub fn builtin() -> Ruleset {
        Ruleset::from_rules(builtin_rules())
            .expect("every built-in rule pattern compiles (covered by tests)")
    }

    /// A rule set from custom rules; fails on the first pattern that does not compile.
    pub fn from_rules(rules: Vec<Rule>) -> Result<Ruleset, String> {
        let mut compiled = Vec::with_capacity(rules.len());
        for rule in rules {
            let id = rule.id;
            compiled.push(CompiledRule::compile(rule).map_err(|e| format!("rule `{id}`: {e}"))?);
        }
        Ok(Ruleset { rules: compiled })
    }

    /// Keeps only the rules whose id is listed.
    pub fn only(mut self, ids: &[&str]) -> Ruleset {
        self.rules.retain(|r| ids.contains(&r.rule.id));
        self
    }

    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    pub fn get(&self, id: &str) -> Option<&CompiledRule> {
        self.rules.iter().find(|r| r.rule.id == id)
    }
}

/// Shannon entropy of `text` in bits per character.
pub fn shannon_entropy(text: &str) -> f64 {
    let mut counts = [0u32; 256];
    let mut total = 0u32;
    for b in text.bytes() {
        counts[b as usize] += 1;
        total += 1;
    }
    if total == 0 {
        return 0.0;
    }
    let n = f64::from(total);
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark documentation examples, templates and redacted values.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "xxxx",
    "changeme",
    "change_me",
    "change-me",
    "redacted",
    "placeholder",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "insert",
    "replace",
    "*****",
    "%2a%2a",
    "${",
    "$(",
    "{{",
    "<",
    ">",
    "....",
    "…",
];

/// Whether a candidate value is a template, a documentation example or filler.
///
/// Covers `AKIAIOSFODNN7EXAMPLE`-style examples, `xxxx`, `<your-key>`,
/// `changeme`, `${VAR}` and `{{ var }}` references, `REDACTED`,
/// percent-encoded asterisks, values of one repeated character (the all-zero
/// UUID) and runs such as `abcdefgh` or `12345678`.
pub fn looks_like_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    let mut distinct = [false; 128];
    let mut kinds = 0;
    for b in lower.bytes().filter(u8::is_ascii_alphanumeric) {
        if !distinct[b as usize] {
            distinct[b as usize] = true;
            kinds += 1;
        }
    }
    if kinds <= 3 {
        return true;
    }
    has_ascending_run(&lower, 8)
}

fn has_ascending_run(text: &str, len: usize) -> bool {
    let bytes = text.as_bytes();
    let mut run = 1;
    for pair in bytes.windows(2) {
        if pair[0].is_ascii_alphanumeric() && pair[1] == pair[0].wrapping_add(1) {
            run += 1;
            if run >= len {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Encodes `n` in base62, left-padded with `0` to six characters.
pub fn base62_6(mut n: u32) -> String {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// GitHub/npm token checksum: `<prefix>_<30 random><6 checksum>`.
pub fn base62_crc32_ok(token: &str) -> bool {
    let Some(body) = token.rsplit('_').next() else {
        return false;
    };
    if body.len() != 36 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, check) = body.split_at(30);
    base62_6(crc32fast::hash(random.as_bytes())) == check
}

fn slack_shape(raw: &str) -> bool {
    let last = raw.rsplit(['-', '.']).next().unwrap_or("");
    last.len() >= 8 && last.bytes().any(|b| b.is_ascii_alphabetic())
}

fn jwt_shape(raw: &str) -> bool {
    let mut parts = raw.split('.');
    let (Some(header), Some(payload)) = (parts.next(), parts.next()) else {
        return false;
    };
    [header, payload].iter().all(|seg| {
        let decoded = decode_base64_lenient(seg.as_bytes());
        decoded.len() >= 8 && decoded.starts_with(b"{")
    })
}

/// Decodes standard or URL-safe base64, with or without padding; a trailing
/// partial quantum is dropped rather than failing the whole value.
pub fn decode_base64_lenient(data: &[u8]) -> Vec<u8> {
    let cleaned: Vec<u8> = data
        .iter()
        .filter(|b| !b.is_ascii_whitespace() && **b != b'=')
        .map(|&b| match b {
            b'-' => b'+',
            b'_' => b'/',
            other => other,
        })
        .collect();
    let usable = cleaned.len() - cleaned.len() % 4;
    let engine = base64::engine::general_purpose::STANDARD_NO_PAD;
    let mut out = engine.decode(&cleaned[..usable]).unwrap_or_default();
    let rest = &cleaned[usable..];
    if rest.len() >= 2
        && let Ok(tail) = engine.decode(rest)
    {
        out.extend_from_slice(&tail);
    }
    out
}

/// Normalises a PEM block to its base64 body; `None` when the body is too
/// short or visibly a placeholder (`...`, `anything`).
fn pem_body(raw: &str) -> Option<String> {
    let after_header = raw.get(5..)?.find("-----").map(|i| i + 10)?;
    let footer = raw.rfind("-----END")?;
    if footer < after_header {
        return None;
    }
    let body = raw[after_header..footer]
        .replace("\\n", "\n")
        .replace("\\r", "");
    let mut out = String::new();
    for line in body.lines() {
        let line = line.trim();
        if line.contains(':') || line.starts_with('=') {
            continue;
        }
        if line.contains("...") || line.contains('…') {
            return None;
        }
        out.extend(
            line.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '+' || *c == '/'),
        );
    }
    if out.len() < 64 || looks_like_placeholder(&out) || shannon_entropy(&out) < 4.0 {
        return None;
    }
    Some(out)
}

/// Passwords that mean "not configured" or a local default, not a leak.
const DEFAULT_PASSWORDS: &[&str] = &[
    "password", "passwd", "pass", "pwd", "secret", "postgres", "mysql", "root", "admin", "guest",
    "test", "user", "changeme", "redis", "rabbitmq", "mongo", "example",
];

fn url_password(raw: &str, user: &[u8], host: &[u8]) -> Option<String> {
    let decoded: String =
        url::form_urlencoded::parse(format!("p={}", raw.replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())?;
    let lower = decoded.to_ascii_lowercase();
    let host = String::from_utf8_lossy(host).to_ascii_lowercase();
    let local = [
        "localhost",
        "127.0.0.1",
        "0.0.0.0",
        "[::1]",
        "host",
        "hostname",
    ];
    if decoded.len() < 6
        || DEFAULT_PASSWORDS.contains(&lower.as_str())
        || decoded.as_bytes() == user
        || local.contains(&host.as_str())
        || lower.starts_with('$')
        || lower.starts_with('%')
        || lower.starts_with(':')
        || lower.starts_with('[')
        || lower.starts_with('{')
        || looks_like_placeholder(&decoded)
        || decoded.chars().all(|c| c == '*' || c == 'x' || c == 'X')
    {
        return None;
    }
    Some(decoded)
}

/// Key names that hold identifiers, references or public data, not secrets.
const SAFE_KEY_ENDINGS: &[&str] = &[
    "id", "ids", "name", "names", "file", "path", "dir", "url", "uri", "length", "len", "size",
    "type", "version", "count", "endpoint", "header", "format", "field", "mode", "prefix",
    "suffix", "policy", "label", "env", "variable", "var", "ref", "arn", "hint", "source", "store",
    "provider", "required", "enabled", "min", "max",
];

const SAFE_KEY_WORDS: &[&str] = &[
    "public",
    "csrf",
    "xsrf",
    "sha",
    "hash",
    "checksum",
    "integrity",
    "digest",
    "srcrev",
    "commit",
    "md5",
    "nonce",
    "salt",
    "keyword",
    "tokenizer",
    "regex",
    "pattern",
];

/// Prefixes of formats that have their own rule: when that rule rejected the
/// value (bad checksum, placeholder), the generic rule must not report it.
const STRUCTURED_PREFIXES: &[&str] = &[
    "xox",
    "xapp-",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "rk_test_",
    "npm_",
    "AKIA",
    "ASIA",
    "AIza",
    "SG.",
    "sk-ant-",
    "dckr_",
    "HRKU-",
    "nfp_",
    "sbp_",
    "whsec_",
    "pypi-",
    "-----BEGIN",
];

/// The last word of a key name, split at `_`, `-`, `.` and camelCase humps.
fn last_key_word(key: &str) -> String {
    let key = key.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let tail = key.rsplit(['_', '-', '.']).next().unwrap_or(key);
    let start = tail
        .char_indices()
        .rev()
        .find(|(i, c)| {
            c.is_ascii_uppercase()
                && tail[..*i]
                    .chars()
                    .last()
                    .is_some_and(|p| p.is_ascii_lowercase())
        })
        .map_or(0, |(i, _)| i);
    tail[start..].to_ascii_lowercase()
}

/// Whether the value carries a dotted version such as `0.11.2`.
fn has_version_number(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let mut dots = 0;
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_digit() || bytes[j] == b'.') {
                if bytes[j] == b'.' {
                    dots += 1;
                }
                j += 1;
            }
            if dots >= 2 {
                return true;
            }
            i = j;
        } else {
            i += 1;
        }
    }
    false
}

/// Whether an unquoted value is an expression that reads a variable rather
/// than a literal: a name or member chain that is subscripted or called
/// (`request_data[`, `os.environ[`, `getenv(`). The generic rule's unquoted
/// value stops at quotes, so only the start of such an expression reaches
/// here; a whole member chain (`process.env.X`) is a dotted identifier.
fn reads_a_variable(value: &str) -> bool {
    let bytes = value.as_bytes();
    let name_start = |b: u8| b.is_ascii_alphabetic() || b == b'_';
    let name_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    loop {
        if !bytes.get(i).copied().is_some_and(name_start) {
            return false;
        }
        i += bytes[i..].iter().take_while(|b| name_byte(**b)).count();
        match bytes.get(i) {
            Some(b'[' | b'(') => return true,
            Some(b'.') => i += 1,
            _ => return false,
        }
    }
}

/// Whether a value with a blank is an authorization scheme and one token
/// (`Bearer 4f9Qk…`, `FlyV1 fm2_…`): a short word, then a token of at least
/// 16 characters mixing letters and digits.
fn scheme_and_token(value: &str) -> bool {
    let mut words = value.split_whitespace();
    let (Some(scheme), Some(token), None) = (words.next(), words.next(), words.next()) else {
        return false;
    };
    (2..=12).contains(&scheme.len())
        && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric())
        && token.chars().count() >= 16
        && token.chars().any(|c| c.is_ascii_digit())
        && token.chars().any(|c| c.is_ascii_alphabetic())
}

fn generic_value_ok(key: &str, value: &str, min_entropy: f64, unquoted: bool) -> Option<String> {
    let key_norm: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let last_word = last_key_word(key);
    if SAFE_KEY_ENDINGS.contains(&last_word.as_str())
        || SAFE_KEY_WORDS.iter().any(|w| key_norm.contains(w))
        || STRUCTURED_PREFIXES
            .iter()
            .any(|p| value.trim().starts_with(p))
        || has_version_number(value)
    {
        return None;
    }
    let value = value.trim();
    let lower = value.to_ascii_lowercase();
    let password_like = ["password", "passwd", "passphrase", "pwd"]
        .iter()
        .any(|w| key_norm.contains(w));
    let digest_prefixes = ["sha1-", "sha256-", "sha384-", "sha512-", "h1:", "md5-"];
    let is_code_reference = value.contains('(')
        || value.contains("-----")
        || value.contains("...")
        || value.contains("::")
        || value.contains("://")
        || value.starts_with('/')
        || value.starts_with("./")
        || value.starts_with('$')
        || value.starts_with('@')
        || value.starts_with('#')
        || value.starts_with('%')
        || lower.starts_with("process.env")
        || lower.starts_with("os.environ")
        || lower.starts_with("env.")
        || lower.starts_with("var.")
        || lower.starts_with("self.")
        || lower.starts_with("this.");
    // Unquoted, the `:` or `,` taken for an assignment may be code syntax: a
    // path (`SecretKind::Jwt`), an import list (`secrets::{a, b}`) or an
    // argument passed by reference (`f(x, &token_file)`).
    let identifier = |v: &str| {
        v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    };
    let code_syntax = unquoted
        && (reads_a_variable(value)
            || value.starts_with(':')
            || value.starts_with('{')
            || value
                .strip_prefix('&')
                .is_some_and(|v| identifier(v.trim_start_matches("mut ")))
            || value.strip_prefix('*').is_some_and(identifier));
    let dotted_identifier = value.contains('.')
        && value.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        });
    let constant_name = value.len() < 48
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-')
        && value.chars().filter(|c| c.is_ascii_digit()).count() * 4 < value.len();
    let file_name = [
        ".pem", ".p12", ".pfx", ".key", ".json", ".txt", ".keytab", ".cer", ".crt", ".jks",
        ".yaml", ".yml", ".env",
    ]
    .iter()
    .any(|ext| lower.ends_with(ext));
    let letters_only = value
        .chars()
        .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-');
    // Quoted text with blanks inside is prose (`"secret for bookTitle"`), not
    // a credential: generated secrets carry no spaces. An authorization
    // scheme before one token (`Bearer …`) is the exception.
    let prose = !unquoted && value.chars().any(char::is_whitespace) && !scheme_and_token(value);
    if digest_prefixes.iter().any(|p| lower.starts_with(p))
        || prose
        || is_code_reference
        || code_syntax
        || dotted_identifier
        || constant_name
        || file_name
        || letters_only
        || lower == "true"
        || lower == "false"
        || lower == "null"
        || lower == "none"
        || looks_like_placeholder(value)
    {
        return None;
    }
    let floor = if password_like {
        min_entropy - 0.5
    } else {
        min_entropy
    };
    let min_len = if password_like { 8 } else { 12 };
    if value.chars().count() < min_len || shannon_entropy(value) < floor {
        return None;
    }
    Some(value.to_string())
}

/// The default window: a keyword at (or just before) the start of a token.
const AT_KEYWORD: (usize, usize) = (24, 320);

/// Keywords of the generic assignment rule.
const GENERIC_KEYWORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "api_key",
    "apikey",
    "api-key",
    "access_key",
    "accesskey",
    "auth_key",
    "authkey",
    "private_key",
    "token",
    "credential",
];

fn rule(
    id: &'static str,
    description: &'static str,
    kind: SecretKind,
    severity: Severity,
    keywords: &'static [&'static str],
    pattern: &'static str,
) -> Rule {
    Rule {
        id,
        description,
        kind,
        severity,
        keywords,
        pattern,
        validator: Validator::Plain,
        min_entropy: 3.0,
        prefixes: &[],
        test_markers: &[],
        window: AT_KEYWORD,
        priority: 2,
        follows: Follows::Anything,
    }
}

impl Rule {
    fn validator(mut self, v: Validator) -> Rule {
        self.validator = v;
        self
    }

    fn entropy(mut self, bits: f64) -> Rule {
        self.min_entropy = bits;
        self
    }

    fn prefixes(mut self, p: &'static [&'static str]) -> Rule {
        self.prefixes = p;
        self
    }

    fn test_markers(mut self, m: &'static [&'static str]) -> Rule {
        self.test_markers = m;
        self
    }

    fn window(mut self, before: usize, after: usize) -> Rule {
        self.window = (before, after);
        self
    }

    fn priority(mut self, p: u8) -> Rule {
        self.priority = p;
        self
    }

    fn follows(mut self, f: Follows) -> Rule {
        self.follows = f;
        self
    }
}

/// The built-in rules, in a stable order.
pub fn builtin_rules() -> Vec<Rule> {
    use SecretKind::*;
    use Severity::*;
    vec![
        // Cloud.
        rule(
            "aws-access-key-id",
            "AWS access key id",
            Cloud,
            High,
            &["akia", "asia", "abia", "acca"],
            r"\b(?P<s>(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b",
        )
        .prefixes(&["AKIA", "ASIA", "ABIA", "ACCA"]),
        rule(
            "aws-secret-access-key",
            "AWS secret access key",
            Cloud,
            Critical,
            &["aws", "secret"],
            concat!(
                r#"(?i)(?:aws[\w.-]{0,20}?(?:secret|sk)|secret_?access_?key)[\w.-]{0,20}["'"#,
                r#"]?\s*(?:=|:=|:|=>|,)\s*["']?(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|\"#,
                r#"z)"#,
            ),
        )
        .entropy(4.0)
        .window(80, 160)
        .follows(Follows::Assignment),
        rule(
            "gcp-service-account",
            "Google Cloud service-account key (JSON)",
            Cloud,
            Critical,
            &["service_account"],
            concat!(
                r#""private_key"\s*:\s*"(?P<s>-----BEGIN[A-Z ]{0,20}PRIVATE KEY-----[^"]*?-"#,
                r#"----END[A-Z ]{0,20}PRIVATE KEY-----(?:\\n)?)""#,
            ),
        )
        .validator(Validator::PemBody)
        .window(8192, 8192)
        .priority(3),
        rule(
            "gcp-api-key",
            "Google Cloud / Firebase API key",
            Cloud,
            Medium,
            &["aiza"],
            r"\b(?P<s>AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|\z)",
        )
        .prefixes(&["AIza"]),
        rule(
            "azure-ad-client-secret",
            "Azure AD (Entra ID) application client secret",
            Cloud,
            Critical,
            &["q~"],
            concat!(
                r"(?:\A|[^A-Za-z0-9_~.-])(?P<s>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}",
                r")(?:[^A-Za-z0-9_~.-]|\z)",
            ),
        )
        .window(16, 64),
        rule(
            "azure-storage-account-key",
            "Azure storage account key",
            Cloud,
            Critical,
            &["accountkey"],
            r"(?i)AccountKey\s*=\s*(?P<s>[A-Za-z0-9+/]{86}==)",
        )
        .entropy(4.0),
        // Code hosts.
        rule(
            "github-token",
            "GitHub token (classic PAT, OAuth, app or refresh token)",
            CodeHost,
            Critical,
            &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
            r"\b(?P<s>gh[pousr]_[A-Za-z0-9]{36})\b",
        )
        .validator(Validator::Base62Crc32)
        .prefixes(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]),
        rule(
            "github-fine-grained-pat",
            "GitHub fine-grained personal access token",
            CodeHost,
            Critical,
            &["github_pat_"],
            r"\b(?P<s>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
        )
        .entropy(3.5)
        .prefixes(&["github_pat_"]),
        rule(
            "gitlab-token",
            "GitLab token (personal, deploy, pipeline trigger, runner, OAuth)",
            CodeHost,
            Critical,
            &[
                "glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "gloas-", "glsoat-",
            ],
            concat!(
                r"\b(?P<s>(?:glpat|gldt|glptt|glrt|glcbt|gloas|glsoat)-[0-9A-Za-z_-]{20,30",
                r"0}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,9}|\.[0-9a-z]{9})?)(?:[^0-9A-Za-z_-]|\z)",
            ),
        )
        .prefixes(&[
            "glpat-", "gldt-", "glptt-", "glrt-", "glcbt-", "gloas-", "glsoat-",
        ]),
        rule(
            "gitlab-runner-registration-token",
            "GitLab runner registration token",
            CodeHost,
            High,
            &["gr1348941"],
            r"\b(?P<s>GR1348941[0-9A-Za-z_-]{20})\b",
        )
        .prefixes(&["GR1348941"]),
        // Payments.
        rule(
            "stripe-secret-key",
            "Stripe secret or restricted API key",
            Payment,
            Critical,
            &["k_live_", "k_test_", "k_prod_"],
            r"\b(?P<s>[rs]k_(?:live|test|prod)_[0-9A-Za-z]{20,247})\b",
        )
        .prefixes(&[
            "sk_live_", "sk_test_", "rk_live_", "rk_test_", "sk_prod_", "rk_prod_",
        ])
        .test_markers(&["_test_"]),
        rule(
            "stripe-webhook-secret",
            "Stripe webhook signing secret",
            Payment,
            High,
            &["whsec_"],
            r"\b(?P<s>whsec_[A-Za-z0-9+/]{32,})",
        )
        .prefixes(&["whsec_"]),
        rule(
            "braintree-access-token",
            "PayPal Braintree access token",
            Payment,
            Critical,
            &["access_token$"],
            r"\b(?P<s>access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})\b",
        )
        .prefixes(&["access_token$production$", "access_token$sandbox$"])
        .test_markers(&["$sandbox$"]),
        // Messaging and mail.
        rule(
            "slack-token",
            "Slack bot, user, app or configuration token",
            Messaging,
            High,
            &["xox", "xapp-"],
            concat!(
                r"\b(?P<s>xox[abposre]-(?:\d-)?\d{6,14}(?:-[0-9A-Za-z]{6,})+|xoxe\.xox[bp]",
                r"-\d-[A-Za-z0-9]{100,}|xoxe-\d-[A-Za-z0-9]{100,}|xapp-\d-[A-Z0-9]{9,}-\d{",
                r"9,}-[a-f0-9]{32,})\b",
            ),
        )
        .validator(Validator::SlackShape)
        .entropy(2.5)
        .prefixes(&[
            "xoxb-", "xoxp-", "xoxa-", "xoxs-", "xoxo-", "xoxr-", "xoxe-", "xoxe.", "xapp-",
        ]),
        rule(
            "slack-webhook-url",
            "Slack incoming webhook or workflow URL",
            Messaging,
            High,
            &["hooks.slack.com"],
            concat!(
                r"(?P<s>https?://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z",
                r"0-9+/_-]{20,})",
            ),
        )
        .window(12, 200)
        .prefixes(&["https://hooks.slack.com/", "http://hooks.slack.com/"]),
        rule(
            "discord-webhook-url",
            "Discord webhook URL",
            Messaging,
            Medium,
            &["/api/webhooks/"],
            concat!(
                r"(?P<s>https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{17",
                r",20}/[A-Za-z0-9_-]{60,68})",
            ),
        )
        .window(48, 160)
        .prefixes(&[
            "https://discord.com/api/webhooks/",
            "https://discordapp.com/api/webhooks/",
        ]),
        rule(
            "twilio-api-key",
            "Twilio API key (SK…) near a Twilio reference",
            Messaging,
            High,
            &["twilio"],
            r"\b(?P<s>SK[0-9a-fA-F]{32})\b",
        )
        .window(256, 256)
        .prefixes(&["SK"]),
        rule(
            "twilio-auth-token",
            "Twilio account auth token",
            Messaging,
            High,
            &["twilio"],
            concat!(
                r#"(?i)twilio[\w.-]{0,30}?(?:token|secret|auth)[\w.-]{0,20}["']?\s*(?:=|:=|"#,
                r#":|=>|,)\s*["']?(?P<s>[0-9a-f]{32})\b"#,
            ),
        )
        .window(8, 120)
        .follows(Follows::Assignment),
        rule(
            "sendgrid-api-key",
            "SendGrid API key",
            Mail,
            High,
            &["sg."],
            r"\b(?P<s>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?:[^A-Za-z0-9_-]|\z)",
        )
        .prefixes(&["SG."]),
        rule(
            "mailgun-api-key",
            "Mailgun API key",
            Mail,
            High,
            &["key-", "mailgun"],
            r"\b(?P<s>key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})\b",
        )
        .window(128, 256)
        .prefixes(&["key-"]),
        rule(
            "postmark-server-token",
            "Postmark server or account token",
            Mail,
            High,
            &["postmark"],
            concat!(
                r#"(?i)postmark[\w.-]{0,30}["']?\s*(?:=|:=|:|=>|,)\s*["']?(?P<s>[0-9a-f]{8}"#,
                r#"-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"#,
            ),
        )
        .window(8, 120)
        .follows(Follows::Assignment),
        // AI providers.
        rule(
            "openai-api-key",
            "OpenAI API key",
            AiProvider,
            High,
            &["t3blbkfj", "sk-proj-", "sk-svcacct-", "sk-admin-"],
            concat!(
                r"\b(?P<s>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Z",
                r"a-z0-9_-]{20,200}|sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{80,250})(?:[^A",
                r"-Za-z0-9_-]|\z)",
            ),
        )
        .window(256, 256)
        .prefixes(&["sk-proj-", "sk-svcacct-", "sk-admin-", "sk-"]),
        rule(
            "anthropic-api-key",
            "Anthropic API or admin key",
            AiProvider,
            High,
            &["sk-ant-"],
            r"\b(?P<s>sk-ant-(?:api|admin|sid)\d{2}-[A-Za-z0-9_-]{80,120}AA)(?:[^A-Za-z0-9_-]|\z)",
        )
        .prefixes(&["sk-ant-api03-", "sk-ant-admin01-", "sk-ant-"]),
        // Package registries.
        rule(
            "npm-token",
            "npm access token",
            PackageRegistry,
            Critical,
            &["npm_"],
            r"\b(?P<s>npm_[A-Za-z0-9]{36})\b",
        )
        .validator(Validator::Base62Crc32)
        .prefixes(&["npm_"]),
        rule(
            "pypi-token",
            "PyPI upload token",
            PackageRegistry,
            Critical,
            &["pypi-ageichlwas5vcmc"],
            r"\b(?P<s>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})",
        )
        .prefixes(&["pypi-"]),
        rule(
            "docker-hub-token",
            "Docker Hub personal or organization access token",
            PackageRegistry,
            High,
            &["dckr_pat_", "dckr_oat_"],
            r"\b(?P<s>dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,})",
        )
        .prefixes(&["dckr_pat_", "dckr_oat_"]),
        rule(
            "docker-registry-auth",
            "Container registry login in a Docker config (`auths`)",
            PackageRegistry,
            High,
            &["\"auths\""],
            concat!(
                r#""auths"\s*:\s*\{\s*"[^"]{1,200}"\s*:\s*\{[^}]*?"(?:auth|password|identit"#,
                r#"ytoken)"\s*:\s*"(?P<s>[^"]{6,})""#,
            ),
        )
        .window(8, 4096),
        // Platforms.
        rule(
            "heroku-api-key-v2",
            "Heroku API key",
            Platform,
            High,
            &["hrku-"],
            r"\b(?P<s>HRKU-[A-Za-z0-9_-]{60})",
        )
        .prefixes(&["HRKU-"]),
        rule(
            "heroku-api-key",
            "Heroku API key (legacy UUID form, named as Heroku)",
            Platform,
            High,
            &["heroku"],
            concat!(
                r#"(?i)heroku[\w.-]{0,30}["']?\s*(?:=|:=|:|=>|,)\s*["']?(?P<s>[0-9a-f]{8}-["#,
                r#"0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"#,
            ),
        )
        .window(8, 120)
        .follows(Follows::Assignment),
        rule(
            "vercel-token",
            "Vercel access token",
            Platform,
            High,
            &["vercel"],
            concat!(
                r#"(?i)vercel[\w.-]{0,30}?(?:token|key|secret)[\w.-]{0,10}["']?\s*(?:=|:=|:"#,
                r#"|=>|,)\s*["']?(?P<s>[A-Za-z0-9]{24})\b"#,
            ),
        )
        .window(8, 120)
        .follows(Follows::Assignment),
        rule(
            "netlify-token",
            "Netlify personal access token",
            Platform,
            High,
            &["nfp_", "netlify"],
            concat!(
                r#"(?i)\b(?P<s>nfp_[A-Za-z0-9]{36})\b|netlify[\w.-]{0,30}?(?:token|key|secr"#,
                r#"et)[\w.-]{0,10}["']?\s*(?:=|:=|:|=>|,)\s*["']?(?P<s2>[A-Za-z0-9_-]{40,46"#,
                r#"})\b"#,
            ),
        )
        .window(8, 160)
        .prefixes(&["nfp_"]),
        rule(
            "supabase-token",
            "Supabase personal access token or secret API key",
            Platform,
            Critical,
            &["sbp_", "sb_secret_"],
            r"\b(?P<s>sbp_[a-f0-9]{40}|sb_secret_[A-Za-z0-9_-]{20,})\b",
        )
        .prefixes(&["sbp_", "sb_secret_"]),
        rule(
            "firebase-cloud-messaging-key",
            "Firebase Cloud Messaging server key",
            Platform,
            High,
            &[":apa91b"],
            r"\b(?P<s>AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{134})",
        )
        .window(16, 200),
        // Private keys and tokens.
        rule(
            "private-key",
            "Private key (PEM, PKCS#8, OpenSSH, PGP)",
            PrivateKey,
            Critical,
            &["private key"],
            concat!(
                r"(?s)(?P<s>-----BEGIN[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----.*?-----EN",
                r"D[ A-Z0-9]{0,30}PRIVATE KEY(?: BLOCK)?-----)",
            ),
        )
        .validator(Validator::PemBody)
        .window(48, 32768)
        .follows(Follows::PemHeader),
        rule(
            "jwt",
            "JSON Web Token",
            Jwt,
            Medium,
            &["eyj"],
            r"\b(?P<s>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*)",
        )
        .validator(Validator::Jwt)
        .window(0, 16384)
        .prefixes(&["eyJ"]),
        // Connection strings.
        rule(
            "database-url-password",
            "Database or message-broker URL with a password",
            ConnectionString,
            Critical,
            &["://"],
            concat!(
                r#"(?i)\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|"#,
                r#"mssql|sqlserver|cockroachdb|clickhouse|nats|jdbc:[a-z]+)://(?P<user>[^\s"#,
                r#":/?#@'"`]{0,128}):(?P<s>[^\s/?#@'"`]{1,256})@(?P<host>[A-Za-z0-9.\[\]:_-"#,
                r#"]+?)(?:[:/?#\s'"`]|\z)"#,
            ),
        )
        .validator(Validator::UrlPassword)
        .window(24, 400)
        .follows(Follows::Userinfo),
        rule(
            "url-credentials",
            "HTTP or FTP URL with a password",
            ConnectionString,
            High,
            &["://"],
            concat!(
                r#"(?i)\b(?:https?|ftps?)://(?P<user>[^\s:/?#@'"`]{1,128}):(?P<s>[^\s/?#@'""#,
                r#"`]{1,256})@(?P<host>[A-Za-z0-9.\[\]:_-]+?)(?:[:/?#\s'"`]|\z)"#,
            ),
        )
        .validator(Validator::UrlPassword)
        .window(8, 400)
        .follows(Follows::Userinfo)
        .priority(1),
        // Generic assignments.
        rule(
            "generic-secret-assignment",
            "High-entropy value assigned to a password, secret, token or key name",
            Generic,
            Medium,
            GENERIC_KEYWORDS,
            concat!(
                r#"(?i)(?:\A|[^A-Za-z0-9_.+/=-])(?P<key>[A-Za-z0-9_.-]{0,40}?(?:password|pa"#,
                r#"sswd|passphrase|pwd|secret|api[_.-]?key|access[_.-]?key|auth[_.-]?key|pr"#,
                r#"ivate[_.-]?key|token|credentials?)[A-Za-z0-9_.-]{0,24})["'\]]?[ \t]*(?:="#,
                r#"|:=|:|=>|\?=|,)[ \t]*(?:"(?P<s>[^"\r\n]{6,200})"|'(?P<s2>[^'\r\n]{6,200}"#,
                r#")'|`(?P<s3>[^`\r\n]{6,200})`|(?P<s4>[^\s"'`,;)}\]<>]{6,200}))"#,
            ),
        )
        .validator(Validator::GenericAssignment)
        .entropy(3.5)
        .window(64, 320)
        .follows(Follows::AssignedValue)
        .priority(0),
    ]
}

#[cfg(test)]
pub(crate) mod tests;
