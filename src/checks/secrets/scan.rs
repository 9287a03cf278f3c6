//! The matcher: applies a [`Ruleset`] to bytes and turns matches into redacted findings.
//!
//! Every rule keyword is found first, and a rule's regex runs only on a
//! bounded window around a hit of one of its keywords, so most bytes never
//! reach a regex and a one-line megabyte bundle costs one linear pass.
//!
//! Keywords are found case-insensitively in one pass over an ASCII-lowercased
//! copy of the bytes (a buffer reused by each thread). The pass looks for
//! *anchors*, not keywords: each keyword is reached through one short
//! substring it contains, and keywords share anchors (`secret`, `sb_secret_`
//! and `secret_access_key` all go through `secr`), so one SIMD literal
//! searcher (Teddy, from `aho-corasick`'s packed module) holds them all:
//! anchors of four bytes or more in one searcher (a four-byte fingerprint
//! keeps false candidates rare), the few shorter ones (`aws`, `://`, `q~`) in
//! a second one. An anchor hit is confirmed against its keywords, then each
//! rule of the keyword checks what follows it ([`Follows`]: an assignment, a
//! `user:password@`) before its window is queued. Where the CPU has no SIMD
//! searcher a case-insensitive Aho-Corasick DFA over the keywords does the
//! same job, slower. Base64 blobs that decode to JSON (a Kubernetes
//! `.dockerconfigjson`) are decoded and scanned once more. A finding keeps the
//! public prefix of the format and the length, never the value; the value
//! lives only while the fingerprint is computed (and, when a redactor is
//! attached, is registered with it so that no renderer can print it).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use aho_corasick::packed;
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind, Span};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::rules::{Accepted, Ruleset, SecretKind, Severity, decode_base64_lenient};
use crate::redact::Redactor;

/// The inline comment that accepts a finding on its line.
pub const ALLOW_MARKER: &[u8] = b"readiness:allow";

/// Bytes a regex may read past the end of its window, so that a token that
/// starts inside the window is matched whole.
const WINDOW_TAIL: usize = 512;

/// Keywords that start a base64 blob holding JSON (`{"`, `{\n `, `{\r\n`).
const BASE64_JSON_MARKERS: &[&str] = &["eyJ", "ewog", "ew0K"];

/// Longest base64 blob decoded (the decoded text is scanned again).
const MAX_BLOB: usize = 1 << 20;

/// Where scanned bytes came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file in the work tree (or an env file named in the profile).
    File { path: PathBuf, production_env: bool },
    /// A blob from git history, with the first path it was seen at.
    Blob { oid: String, path: String },
    /// A fetched URL (a bundle, a source map).
    Url { url: String },
}

impl Origin {
    /// A file origin; `.env.production`-style names count as production env files.
    pub fn file(path: impl Into<PathBuf>) -> Origin {
        let path = path.into();
        let production_env = is_production_env_file(&path);
        Origin::File {
            path,
            production_env,
        }
    }

    pub fn url(url: impl Into<String>) -> Origin {
        Origin::Url { url: url.into() }
    }

    pub fn blob(oid: impl Into<String>, path: impl Into<String>) -> Origin {
        Origin::Blob {
            oid: oid.into(),
            path: path.into(),
        }
    }

    fn production_env(&self) -> bool {
        match self {
            Origin::File { production_env, .. } => *production_env,
            Origin::Blob { path, .. } => is_production_env_file(Path::new(path)),
            Origin::Url { .. } => false,
        }
    }
}

/// Whether a file name marks production configuration (`.env.production`,
/// `.env.prod`, `production.env`, `.env.production.local`).
pub fn is_production_env_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let name = name.to_ascii_lowercase();
    let parts: Vec<&str> = name.split('.').filter(|p| !p.is_empty()).collect();
    parts.contains(&"env") && parts.iter().any(|p| *p == "production" || *p == "prod")
}

/// Where a finding sits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum Location {
    File {
        path: String,
        line: usize,
        column: usize,
    },
    /// A blob in history; `commit` and `date` name the oldest commit that
    /// introduced it (empty until the history scan attributes it).
    Commit {
        commit: String,
        date: String,
        path: String,
        line: usize,
        column: usize,
    },
    Url {
        url: String,
        line: usize,
        column: usize,
    },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File { path, line, column } => write!(f, "{path}:{line}:{column}"),
            Location::Commit {
                commit, path, line, ..
            } => {
                let short = commit.get(..12).unwrap_or(commit);
                write!(f, "{short}:{path}:{line}")
            }
            Location::Url { url, line, .. } => write!(f, "{url}:{line}"),
        }
    }
}

impl Location {
    /// A key that orders findings by place: file or URL, then commit date,
    /// then line and column.
    pub fn sort_key(&self) -> (&str, &str, usize, usize) {
        match self {
            Location::File { path, line, column } => (path, "", *line, *column),
            Location::Commit {
                date,
                path,
                line,
                column,
                ..
            } => (date, path, *line, *column),
            Location::Url { url, line, column } => (url, "", *line, *column),
        }
    }
}

/// Why a finding does not count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum Suppression {
    /// A `readiness:allow` comment on the same line.
    Inline,
    /// A baseline entry with the reason it was accepted.
    Baseline { reason: String },
}

/// One leaked-credential finding. It holds no raw value, so deriving `Debug`
/// and `Serialize` cannot leak one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SecretFinding {
    pub rule_id: &'static str,
    pub description: &'static str,
    pub kind: SecretKind,
    pub severity: Severity,
    pub location: Location,
    /// The public prefix of the format (if any) and the length, nothing else.
    pub preview: String,
    /// First 16 hex digits of SHA-256 over `rule_id`, NUL and the value.
    pub fingerprint: String,
    /// A test-mode credential (`sk_test_`) outside a production env file.
    pub test_mode: bool,
    /// `Some("base64")` when the value sat inside an encoded blob.
    pub decoded: Option<&'static str>,
    /// The blob is no longer in HEAD's tree: deleted but still in history.
    pub history_only: bool,
    pub suppression: Option<Suppression>,
}

impl SecretFinding {
    /// What to do about it.
    pub fn fix(&self) -> &'static str {
        if self.test_mode {
            "test-mode credential: move it to an untracked env file or CI secret"
        } else if self.history_only {
            "deleted but still in history: rotate it, then remove it from history"
        } else {
            "rotate the credential, then remove it from the code and from history"
        }
    }
}

/// The value's fingerprint: first 16 hex of SHA-256(`rule_id` NUL `value`).
pub fn fingerprint(rule_id: &str, value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(rule_id.as_bytes());
    hasher.update([0u8]);
    hasher.update(value.as_bytes());
    let digest = hasher.finalize();
    hex::encode(&digest[..8])
}

/// Accepted findings by fingerprint, each with the reason it was accepted.
#[derive(Clone, Debug, Default)]
pub struct Baseline {
    entries: HashMap<String, String>,
}

#[derive(Deserialize)]
struct BaselineEntry {
    fingerprint: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum BaselineFile {
    Table { accepted: Vec<BaselineEntry> },
    List(Vec<BaselineEntry>),
}

impl Baseline {
    /// Reads a baseline file: JSON when it ends in `.json`, TOML otherwise.
    pub fn load(path: &Path) -> anyhow::Result<Baseline> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read baseline {}: {e}", path.display()))?;
        let json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        Baseline::parse(&text, json)
            .map_err(|e| anyhow::anyhow!("baseline {}: {e}", path.display()))
    }

    /// Parses baseline text: `[[accepted]] fingerprint = "…" reason = "…"` in
    /// TOML, or `{"accepted": [...]}` / `[...]` in JSON. A reason is required.
    pub fn parse(text: &str, json: bool) -> anyhow::Result<Baseline> {
        let file: BaselineFile = if json {
            serde_json::from_str(text)?
        } else {
            toml::from_str(text)?
        };
        let list = match file {
            BaselineFile::Table { accepted } | BaselineFile::List(accepted) => accepted,
        };
        let mut baseline = Baseline::default();
        for entry in list {
            let fp = entry.fingerprint.trim().to_ascii_lowercase();
            if fp.len() != 16 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
                anyhow::bail!("`{fp}` is not a 16-hex-digit finding fingerprint");
            }
            if entry.reason.trim().is_empty() {
                anyhow::bail!("baseline entry {fp} has no reason; say why it is accepted");
            }
            baseline.entries.insert(fp, entry.reason);
        }
        Ok(baseline)
    }

    pub fn insert(&mut self, fingerprint: &str, reason: &str) {
        self.entries
            .insert(fingerprint.to_ascii_lowercase(), reason.to_string());
    }

    pub fn reason(&self, fingerprint: &str) -> Option<&str> {
        self.entries.get(fingerprint).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A validated match before it becomes a finding.
#[derive(Debug)]
struct Hit {
    rule: usize,
    accepted: Accepted,
    decoded: bool,
}

/// Most anchors one packed searcher holds (Teddy works up to 64).
const PACKED_GROUP: usize = 64;

/// Anchor length: keywords are reached through a substring this long (or
/// the whole keyword when it is shorter).
const ANCHOR_LEN: usize = 4;

/// One SIMD literal searcher over some of the (lower-case) anchors.
struct PackedGroup {
    searcher: packed::Searcher,
    /// Anchor ids of this group, by first byte.
    by_first_byte: HashMap<u8, Vec<usize>>,
}

/// A short substring that stands for the keywords containing it.
struct Anchor {
    text: Vec<u8>,
    /// (keyword id, offset of the anchor inside the keyword).
    keywords: Vec<(usize, usize)>,
}

thread_local! {
    /// The lowercased copy of the bytes being scanned, reused between files.
    static LOWER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Applies a rule set to text. Cheap to share between threads (`&Scanner`).
pub struct Scanner {
    ruleset: Ruleset,
    /// Lower-case keywords, indexed like `keyword_rules`.
    keywords: Vec<String>,
    /// Substrings the fast path searches for, each standing for keywords.
    anchors: Vec<Anchor>,
    /// The fast path; empty when a group could not be built (no SIMD).
    packed: Vec<PackedGroup>,
    /// The fallback: a case-insensitive DFA over all keywords.
    automaton: AhoCorasick,
    /// Rules triggered by each automaton pattern.
    keyword_rules: Vec<Vec<usize>>,
    /// Whether each automaton pattern starts a base64-JSON blob.
    blob_marker: Vec<bool>,
    baseline: Option<Baseline>,
    redactor: Option<Redactor>,
}

impl Scanner {
    pub fn new(ruleset: &Ruleset) -> Scanner {
        let mut keywords: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<usize>> = Vec::new();
        let mut blob_marker: Vec<bool> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut slot = |word: &str, keywords: &mut Vec<String>, kr: &mut Vec<Vec<usize>>| {
            let word = word.to_ascii_lowercase();
            *index.entry(word.clone()).or_insert_with(|| {
                keywords.push(word);
                kr.push(Vec::new());
                keywords.len() - 1
            })
        };
        for (i, compiled) in ruleset.rules().iter().enumerate() {
            for word in compiled.rule.keywords {
                let id = slot(word, &mut keywords, &mut keyword_rules);
                keyword_rules[id].push(i);
            }
        }
        for word in BASE64_JSON_MARKERS {
            let id = slot(word, &mut keywords, &mut keyword_rules);
            blob_marker.resize(keywords.len(), false);
            blob_marker[id] = true;
        }
        blob_marker.resize(keywords.len(), false);
        let automaton = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .expect("rule keywords build an automaton (few short literals)");
        let anchors = choose_anchors(&keywords);
        let packed = build_packed(&anchors);
        Scanner {
            ruleset: ruleset.clone(),
            keywords,
            anchors,
            packed,
            automaton,
            keyword_rules,
            blob_marker,
            baseline: None,
            redactor: None,
        }
    }

    /// Suppresses findings whose fingerprint the baseline accepts.
    pub fn with_baseline(mut self, baseline: Baseline) -> Scanner {
        self.baseline = Some(baseline);
        self
    }

    /// Registers every found value with the run's redactor.
    pub fn with_redactor(mut self, redactor: Redactor) -> Scanner {
        self.redactor = Some(redactor);
        self
    }

    pub fn ruleset(&self) -> &Ruleset {
        &self.ruleset
    }

    /// How many literal searchers one scan runs over the bytes (0 when the
    /// CPU has no SIMD searcher and the keyword automaton is used).
    pub fn prefilter_passes(&self) -> usize {
        self.packed.len()
    }

    /// The anchors the prefilter searches for, lower-case.
    pub fn anchors(&self) -> Vec<String> {
        self.anchors
            .iter()
            .map(|a| String::from_utf8_lossy(&a.text).into_owned())
            .collect()
    }

    /// Scans text; see [`Scanner::scan_bytes`].
    pub fn scan_text(&self, text: &str, origin: &Origin) -> Vec<SecretFinding> {
        self.scan_bytes(text.as_bytes(), origin)
    }

    /// Scans bytes (any encoding; regexes see bytes) and returns findings in
    /// order of position, suppressed ones included and marked.
    pub fn scan_bytes(&self, data: &[u8], origin: &Origin) -> Vec<SecretFinding> {
        let hits = self.collect(data, true);
        self.build_findings(data, hits, origin)
    }

    /// Finds, validates and de-duplicates matches; `decode` allows one level
    /// of base64-JSON decoding.
    fn collect(&self, data: &[u8], decode: bool) -> Vec<Hit> {
        let rules = self.ruleset.rules();
        let mut windows: Vec<(usize, usize, usize)> = Vec::new();
        let mut blob_starts: Vec<usize> = Vec::new();

        let mut on_keyword = |pid: usize, m_start: usize, m_end: usize| {
            for &r in &self.keyword_rules[pid] {
                if !rules[r].rule.follows.admits(data, m_end) {
                    continue;
                }
                let (before, after) = rules[r].rule.window;
                let start = m_start.saturating_sub(before);
                let end = m_end.saturating_add(after).min(data.len());
                windows.push((r, start, end));
            }
            if decode && self.blob_marker[pid] {
                blob_starts.push(m_start);
            }
        };
        if self.packed.is_empty() {
            for m in self.automaton.find_overlapping_iter(data) {
                on_keyword(m.pattern().as_usize(), m.start(), m.end());
            }
        } else {
            self.packed_keywords(data, &mut on_keyword);
            blob_starts.sort_unstable();
            blob_starts.dedup();
        }

        windows.sort_unstable();
        let mut hits = Vec::new();
        let mut i = 0;
        while i < windows.len() {
            let (rule, start, mut end) = windows[i];
            i += 1;
            while i < windows.len() && windows[i].0 == rule && windows[i].1 <= end {
                end = end.max(windows[i].2);
                i += 1;
            }
            self.run_rule(rule, data, start, end, &mut hits);
        }
        let mut hits = dedup_overlaps(hits, rules);

        if decode {
            let decoded = self.decode_blobs(data, &blob_starts);
            for hit in decoded {
                let duplicate = hits.iter().any(|h| {
                    h.rule == hit.rule && h.accepted.value.expose() == hit.accepted.value.expose()
                });
                if !duplicate {
                    hits.push(hit);
                }
            }
            hits.sort_by_key(|h| (h.accepted.start, h.rule));
        }
        hits
    }

    /// Reports every (keyword, start) pair in `data`, like an overlapping
    /// case-insensitive search: each searcher finds the next start of one of
    /// its anchors in a lowercased copy, every anchor of the group starting
    /// there is confirmed, each confirmed anchor's keywords are compared
    /// around it, and the search resumes one byte later.
    fn packed_keywords(&self, data: &[u8], on_keyword: &mut impl FnMut(usize, usize, usize)) {
        let mut lower = LOWER.with(|l| std::mem::take(&mut *l.borrow_mut()));
        lower.clear();
        lower.extend_from_slice(data);
        lower.make_ascii_lowercase();
        for group in &self.packed {
            let mut at = 0;
            while at < lower.len() {
                let Some(m) = group.searcher.find_in(&lower, Span::from(at..lower.len())) else {
                    break;
                };
                let start = m.start();
                let rest = &lower[start..];
                if let Some(ids) = rest.first().and_then(|b| group.by_first_byte.get(b)) {
                    for &aid in ids {
                        let anchor = &self.anchors[aid];
                        if !rest.starts_with(&anchor.text) {
                            continue;
                        }
                        for &(pid, offset) in &anchor.keywords {
                            let Some(kw_start) = start.checked_sub(offset) else {
                                continue;
                            };
                            let word = self.keywords[pid].as_bytes();
                            if lower[kw_start..].starts_with(word) {
                                on_keyword(pid, kw_start, kw_start + word.len());
                            }
                        }
                    }
                }
                at = start + 1;
            }
        }
        LOWER.with(|l| *l.borrow_mut() = lower);
    }

    fn run_rule(&self, rule: usize, data: &[u8], start: usize, end: usize, out: &mut Vec<Hit>) {
        let compiled = &self.ruleset.rules()[rule];
        let hay = &data[..end.saturating_add(WINDOW_TAIL).min(data.len())];
        let mut pos = start;
        while pos < end {
            let Some(caps) = compiled.regex.captures_at(hay, pos) else {
                break;
            };
            let Some(whole) = caps.get(0) else {
                break;
            };
            if whole.start() >= end {
                break;
            }
            if let Some(accepted) = compiled.accept(&caps) {
                out.push(Hit {
                    rule,
                    accepted,
                    decoded: false,
                });
            }
            pos = if whole.end() > whole.start() {
                whole.end()
            } else {
                whole.start() + 1
            };
        }
    }

    /// Decodes base64 runs that start like JSON and scans the decoded text;
    /// hits are placed on the blob's span.
    fn decode_blobs(&self, data: &[u8], starts: &[usize]) -> Vec<Hit> {
        let mut out = Vec::new();
        let mut covered_until = 0;
        for &start in starts {
            if start < covered_until {
                continue;
            }
            let marker_ok = BASE64_JSON_MARKERS
                .iter()
                .any(|m| data[start..].starts_with(m.as_bytes()));
            let run_start = start == 0 || !is_base64_byte(data[start - 1]);
            if !marker_ok || !run_start {
                continue;
            }
            let len = data[start..]
                .iter()
                .take(MAX_BLOB)
                .take_while(|b| is_base64_byte(**b))
                .count();
            let end = start + len;
            covered_until = end;
            if len < 24 || data.get(end) == Some(&b'.') {
                continue;
            }
            let decoded = decode_base64_lenient(&data[start..end]);
            if decoded.first() != Some(&b'{') || std::str::from_utf8(&decoded).is_err() {
                continue;
            }
            for mut hit in self.collect(&decoded, false) {
                hit.accepted.start = start;
                hit.accepted.end = end;
                hit.decoded = true;
                out.push(hit);
            }
        }
        out
    }

    fn build_findings(&self, data: &[u8], hits: Vec<Hit>, origin: &Origin) -> Vec<SecretFinding> {
        let rules = self.ruleset.rules();
        let production = origin.production_env();
        let mut findings = Vec::with_capacity(hits.len());
        let mut line = 1usize;
        let mut line_start = 0usize;
        let mut cursor = 0usize;

        for hit in hits {
            let at = hit.accepted.start.min(data.len());
            if at >= cursor {
                let gap = &data[cursor..at];
                line += gap.iter().filter(|b| **b == b'\n').count();
                if let Some(nl) = gap.iter().rposition(|b| *b == b'\n') {
                    line_start = cursor + nl + 1;
                }
                cursor = at;
            }
            let column = at - line_start + 1;
            let line_end = data[at..]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(data.len(), |p| at + p);
            let allowed = contains(&data[line_start..line_end], ALLOW_MARKER);

            let rule = &rules[hit.rule].rule;
            let value = &hit.accepted.value;
            if let Some(redactor) = &self.redactor {
                redactor.register(value.expose());
            }
            let fp = fingerprint(rule.id, value.expose());
            let preview = preview(&hit.accepted.prefix, value.char_len());
            let test_mode = hit.accepted.test_mode && !production;
            let severity = if test_mode {
                Severity::Info
            } else {
                rule.severity
            };
            let suppression = if allowed {
                Some(Suppression::Inline)
            } else {
                self.baseline
                    .as_ref()
                    .and_then(|b| b.reason(&fp))
                    .map(|reason| Suppression::Baseline {
                        reason: reason.to_string(),
                    })
            };
            findings.push(SecretFinding {
                rule_id: rule.id,
                description: rule.description,
                kind: rule.kind,
                severity,
                location: location(origin, line, column),
                preview,
                fingerprint: fp,
                test_mode,
                decoded: hit.decoded.then_some("base64"),
                history_only: false,
                suppression,
            });
        }
        findings
    }
}

/// Picks the anchors: shortest keywords first, each keyword reuses the
/// first anchor it contains, or else brings its first [`ANCHOR_LEN`] bytes.
fn choose_anchors(keywords: &[String]) -> Vec<Anchor> {
    let mut order: Vec<usize> = (0..keywords.len()).collect();
    order.sort_by(|&a, &b| {
        (keywords[a].len(), &keywords[a]).cmp(&(keywords[b].len(), &keywords[b]))
    });
    let mut anchors: Vec<Anchor> = Vec::new();
    for id in order {
        let word = keywords[id].as_bytes();
        let reuse = anchors.iter().enumerate().find_map(|(i, a)| {
            word.windows(a.text.len())
                .position(|w| w == a.text.as_slice())
                .map(|offset| (i, offset))
        });
        match reuse {
            Some((i, offset)) => anchors[i].keywords.push((id, offset)),
            None => anchors.push(Anchor {
                text: word[..word.len().min(ANCHOR_LEN)].to_vec(),
                keywords: vec![(id, 0)],
            }),
        }
    }
    anchors
}

/// Groups the anchors into packed searchers: the full-length ones in groups
/// of at most [`PACKED_GROUP`], the shorter ones together, so that the long
/// ones keep Teddy's four-byte fingerprints. Empty when any group cannot be
/// built.
fn build_packed(anchors: &[Anchor]) -> Vec<PackedGroup> {
    let (long, short): (Vec<usize>, Vec<usize>) =
        (0..anchors.len()).partition(|&i| anchors[i].text.len() >= ANCHOR_LEN);
    let mut groups = Vec::new();
    for chunk in long.chunks(PACKED_GROUP).chain(short.chunks(PACKED_GROUP)) {
        let searcher = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder()
            .extend(chunk.iter().map(|&i| anchors[i].text.as_slice()))
            .build();
        let Some(searcher) = searcher else {
            return Vec::new();
        };
        let mut by_first_byte: HashMap<u8, Vec<usize>> = HashMap::new();
        for &i in chunk {
            if let Some(&b) = anchors[i].text.first() {
                by_first_byte.entry(b).or_default().push(i);
            }
        }
        groups.push(PackedGroup {
            searcher,
            by_first_byte,
        });
    }
    groups
}

fn location(origin: &Origin, line: usize, column: usize) -> Location {
    match origin {
        Origin::File { path, .. } => Location::File {
            path: path.display().to_string(),
            line,
            column,
        },
        Origin::Blob { path, .. } => Location::Commit {
            commit: String::new(),
            date: String::new(),
            path: path.clone(),
            line,
            column,
        },
        Origin::Url { url } => Location::Url {
            url: url.clone(),
            line,
            column,
        },
    }
}

/// The preview: the public prefix and the length, nothing of the secret part.
pub fn preview(prefix: &str, len: usize) -> String {
    if prefix.is_empty() {
        format!("({len} chars)")
    } else {
        format!("{prefix}… ({len} chars)")
    }
}

fn is_base64_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Keeps one hit per overlapping span: the higher priority rule, then the longer span.
fn dedup_overlaps(mut hits: Vec<Hit>, rules: &[super::rules::CompiledRule]) -> Vec<Hit> {
    hits.sort_by_key(|h| (h.accepted.start, std::cmp::Reverse(h.accepted.end), h.rule));
    let mut kept: Vec<Hit> = Vec::with_capacity(hits.len());
    for hit in hits {
        if let Some(last) = kept.last_mut()
            && hit.accepted.start < last.accepted.end
        {
            let new_p = rules[hit.rule].rule.priority;
            let old_p = rules[last.rule].rule.priority;
            if new_p > old_p {
                *last = hit;
            }
            continue;
        }
        kept.push(hit);
    }
    kept
}

#[cfg(test)]
mod tests;
