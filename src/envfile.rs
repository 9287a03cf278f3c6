//! A parser for `.env`-style files (`KEY=value`, `export`, quotes, comments).
//!
//! The `secrets` scanner reads env files as plain text; this parser gives the
//! key/value view with line numbers that the hygiene check compares between
//! environments and that a finding can point at. Values are wrapped in
//! [`Secret`] because env files are where credentials live.

use crate::profile::secret::Secret;

/// One `KEY=value` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvEntry {
    pub key: String,
    pub value: Secret,
    /// 1-based line of the key.
    pub line: usize,
    /// Whether the line started with `export`.
    pub exported: bool,
}

/// A line the parser could not read, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvProblem {
    pub line: usize,
    pub reason: String,
}

/// The parsed file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvFile {
    pub entries: Vec<EnvEntry>,
    pub problems: Vec<EnvProblem>,
}

impl EnvFile {
    /// The last value assigned to `key` (later lines win, as in shells).
    /// Keys in file order, each once.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = Vec::new();
        for e in &self.entries {
            if !keys.contains(&e.key.as_str()) {
                keys.push(&e.key);
            }
        }
        keys
    }

    /// Lines that are neither blank, comments nor assignments.
    pub fn stray_lines(&self) -> usize {
        self.problems.len()
    }

    pub fn get(&self, key: &str) -> Option<&EnvEntry> {
        self.entries.iter().rev().find(|e| e.key == key)
    }
}

/// Parses env-file text. Unreadable lines become [`EnvProblem`]s; parsing never fails.
pub fn parse(text: &str) -> EnvFile {
    let lines: Vec<&str> = text.lines().collect();
    let mut file = EnvFile::default();
    let mut i = 0;
    while i < lines.len() {
        let number = i + 1;
        let raw = lines[i].trim_start_matches('\u{feff}').trim();
        i += 1;
        if raw.is_empty() || raw.starts_with('#') {
            continue;
        }

        let (exported, body) = match raw.strip_prefix("export") {
            Some(rest) if rest.starts_with(char::is_whitespace) => (true, rest.trim_start()),
            _ => (false, raw),
        };
        let Some(eq) = body.find('=') else {
            file.problems.push(EnvProblem {
                line: number,
                reason: "no `=` on the line".into(),
            });
            continue;
        };
        let key = body[..eq].trim();
        if !is_key(key) {
            file.problems.push(EnvProblem {
                line: number,
                reason: format!("`{key}` is not a variable name"),
            });
            continue;
        }

        let rest = body[eq + 1..].trim_start();
        let value = match rest.chars().next() {
            Some(q @ ('"' | '\'' | '`')) => match quoted(q, &rest[1..], &lines, &mut i) {
                Some(v) => v,
                None => {
                    file.problems.push(EnvProblem {
                        line: number,
                        reason: format!("unterminated {q} quote"),
                    });
                    continue;
                }
            },
            _ => unquoted(rest),
        };
        file.entries.push(EnvEntry {
            key: key.to_string(),
            value: Secret::new(value),
            line: number,
            exported,
        });
    }
    file
}

fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-')
}

/// An unquoted value ends at ` #` (an inline comment) and is trimmed.
fn unquoted(rest: &str) -> String {
    let mut end = rest.len();
    let bytes = rest.as_bytes();
    for (idx, b) in bytes.iter().enumerate() {
        if *b == b'#' && (idx == 0 || bytes[idx - 1].is_ascii_whitespace()) {
            end = idx;
            break;
        }
    }
    rest[..end].trim().to_string()
}

/// A quoted value, possibly spanning lines; double quotes and backticks
/// understand `\n`, `\"` and `\\`, single quotes are literal.
fn quoted(quote: char, first: &str, lines: &[&str], next: &mut usize) -> Option<String> {
    let mut out = String::new();
    let mut current = first.to_string();
    loop {
        let mut chars = current.chars();
        while let Some(c) = chars.next() {
            if c == quote {
                return Some(out);
            }
            if c == '\\' && quote != '\'' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some(other) => out.push(other),
                    None => out.push('\\'),
                }
                continue;
            }
            out.push(c);
        }
        let line = lines.get(*next)?;
        *next += 1;
        out.push('\n');
        current = (*line).to_string();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_keys_values_and_lines() {
        let text = "# comment\n\nA=1\nexport B = two words # note\nC='lit #x \\n'\n\
                    D=\"esc \\\"q\\\" \\n\"\nE=\nbad line\n1X=2\n";
        let env = parse(text);
        let got: Vec<(&str, &str, usize, bool)> = env
            .entries
            .iter()
            .map(|e| (e.key.as_str(), e.value.expose(), e.line, e.exported))
            .collect();
        assert_eq!(
            got,
            vec![
                ("A", "1", 3, false),
                ("B", "two words", 4, true),
                ("C", "lit #x \\n", 5, false),
                ("D", "esc \"q\" \n", 6, false),
                ("E", "", 7, false),
            ]
        );
        assert_eq!(env.problems.len(), 2);
        assert_eq!(env.problems[0].line, 8);
        assert_eq!(env.problems[1].line, 9);
    }

    #[test]
    fn multi_line_double_quotes_and_unterminated() {
        let env = parse("KEY=\"line one\nline two\"\nNEXT=x\nOPEN='never closed\n");
        assert_eq!(
            env.get("KEY").map(|e| e.value.expose()),
            Some("line one\nline two")
        );
        assert_eq!(env.get("NEXT").map(|e| e.line), Some(3));
        assert!(env.get("OPEN").is_none());
        assert_eq!(env.problems.len(), 1);
    }

    #[test]
    fn debug_never_shows_values() {
        let env = parse("DB_PASSWORD=hunter2-very-secret\n");
        let shown = format!("{env:?}");
        assert!(shown.contains("DB_PASSWORD"));
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn later_assignment_wins_and_hash_inside_value_stays() {
        let env = parse("K=a#b\nK=c\n");
        assert_eq!(env.entries[0].value.expose(), "a#b");
        assert_eq!(env.get("K").map(|e| e.value.expose()), Some("c"));
    }
}
