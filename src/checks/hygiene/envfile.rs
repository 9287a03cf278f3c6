//! A small reader of dotenv-style files (`KEY=value`, `export KEY=value`,
//! quotes, comments), private to `hygiene`.
//!
//! The env-file comparison needs only keys and a few value shapes, and the
//! leak probe needs to tell a real `.env` from an HTML page, so this reader is
//! strict about what a line is and keeps values out of `Debug` output.

use std::fmt;

/// One `KEY=value` assignment. The value never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub key: String,
    pub value: String,
    /// 1-based line of the key.
    pub line: usize,
}

impl fmt::Debug for EnvEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EnvEntry({} = <{} chars>, line {})",
            self.key,
            self.value.len(),
            self.line
        )
    }
}

/// A parsed env file: its assignments and how many lines were not assignments.
#[derive(Debug, Clone, Default)]
pub struct EnvFile {
    pub entries: Vec<EnvEntry>,
    /// Non-empty, non-comment lines that are not `KEY=value`.
    pub stray_lines: usize,
}

impl EnvFile {
    /// The value of the last assignment of `key` (later lines win, as in shells).
    pub fn get(&self, key: &str) -> Option<&EnvEntry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }

    /// Distinct keys in file order.
    pub fn keys(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !out.contains(&e.key.as_str()) {
                out.push(&e.key);
            }
        }
        out
    }
}

/// Whether `key` is a valid variable name: a letter or `_`, then letters, digits, `_`, `.`.
fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Parses env-file text. Never fails: lines that are not assignments are counted.
pub fn parse(text: &str) -> EnvFile {
    let mut out = EnvFile::default();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let line = lines[i].trim();
        i += 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let Some((key, rest)) = line.split_once('=') else {
            out.stray_lines += 1;
            continue;
        };
        let key = key.trim();
        if !valid_key(key) {
            out.stray_lines += 1;
            continue;
        }
        let rest = rest.trim_start();

        let value = if let Some(body) = rest.strip_prefix('"') {
            // Double quotes: escapes, and the value may span lines.
            let mut raw = body.to_string();
            while !closes_double(&raw) && i < lines.len() {
                raw.push('\n');
                raw.push_str(lines[i]);
                i += 1;
            }
            match closing_double(&raw) {
                Some(end) => unescape(&raw[..end]),
                None => {
                    out.stray_lines += 1;
                    continue;
                }
            }
        } else if let Some(body) = rest.strip_prefix('\'') {
            match body.find('\'') {
                Some(end) => body[..end].to_string(),
                None => {
                    out.stray_lines += 1;
                    continue;
                }
            }
        } else {
            // Unquoted: an inline comment starts at ` #`.
            let cut = rest.find(" #").unwrap_or(rest.len());
            rest[..cut].trim().to_string()
        };
        out.entries.push(EnvEntry {
            key: key.to_string(),
            value,
            line: number,
        });
    }
    out
}

fn closing_double(raw: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in raw.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn closes_double(raw: &str) -> bool {
    closing_double(raw).is_some()
}

fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_plain_export_quoted_and_commented_lines() {
        let text = "# comment\nAPP_ENV=production\nexport DB_URL=postgres://db/x # note\n\
                    NAME=\"Acme \\\"Corp\\\"\"\nSINGLE='a # b'\nEMPTY=\n\nMULTI=\"one\ntwo\"\n";
        let f = parse(text);
        assert_eq!(f.stray_lines, 0);
        let v = |k: &str| f.get(k).unwrap().value.clone();
        assert_eq!(v("APP_ENV"), "production");
        assert_eq!(v("DB_URL"), "postgres://db/x");
        assert_eq!(v("NAME"), "Acme \"Corp\"");
        assert_eq!(v("SINGLE"), "a # b");
        assert_eq!(v("EMPTY"), "");
        assert_eq!(v("MULTI"), "one\ntwo");
        assert_eq!(f.get("MULTI").unwrap().line, 8);
        assert_eq!(f.keys().len(), 6);
    }

    #[test]
    fn html_and_json_are_not_assignments() {
        let f = parse("<html><body><p>a=b # c</p></body></html>");
        assert!(f.entries.is_empty());
        assert_eq!(f.stray_lines, 1);
        let f = parse("false");
        assert!(f.entries.is_empty());
        let f = parse("{\"a\": \"b=c\"}");
        assert!(f.entries.is_empty());
    }

    #[test]
    fn debug_never_shows_values() {
        let f = parse("TOKEN=very-secret-value\n");
        let shown = format!("{f:?}");
        assert!(
            shown.contains("TOKEN") && !shown.contains("very-secret-value"),
            "{shown}"
        );
    }

    #[test]
    fn unterminated_quotes_are_stray() {
        let f = parse("A=\"open\nB=1\n");
        assert!(f.get("A").is_none());
        assert_eq!(f.stray_lines, 1);
    }
}
