//! Scans a work tree: every text file under the given roots, in parallel.
//!
//! The walk uses the `ignore` crate (so `.gitignore` is respected unless the
//! profile says otherwise), never enters `.git`, skips binaries (a NUL byte in
//! the first 8 KiB) and files over a size cap, and honours an exclusion list
//! (globs such as `fixtures/`, or paths such as `../shared`) so the project's
//! own fixtures and peer test data are not reported.
//!
//! Every worker thread of `ignore`'s parallel walker reads the files it meets
//! into one buffer it keeps for the whole walk and scans them itself, so the
//! walk, the reads and the scans spread over every core with no queue between
//! them and no allocation per file. A deadline stops the walk early; the
//! result then says how many files were scanned before it.

use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use ignore::WalkState;
use ignore::overrides::OverrideBuilder;

use super::scan::{Origin, Scanner, SecretFinding};

/// Default cap on the size of a scanned file or blob (5 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 5 * 1024 * 1024;

/// How many leading bytes decide whether a file is binary.
pub const BINARY_SNIFF: usize = 8 * 1024;

/// How to walk a work tree.
#[derive(Clone, Debug)]
pub struct WalkOptions {
    /// Respect `.gitignore`, `.git/info/exclude` and `.ignore` files.
    pub respect_gitignore: bool,
    /// Files larger than this are skipped (and counted).
    pub max_file_size: u64,
    /// Globs relative to the root (`fixtures/`, `*.min.js`) or paths
    /// (`../shared`, `/abs/dir`) to leave out.
    pub exclude: Vec<String>,
    /// Worker threads; 0 means one per available core.
    pub threads: usize,
    /// Stop walking at this instant; the result is then marked incomplete.
    pub deadline: Option<Instant>,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            respect_gitignore: true,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            exclude: Vec::new(),
            threads: 0,
            deadline: None,
        }
    }
}

/// Files that were not scanned, by reason.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SkipCounts {
    pub binary: u64,
    pub too_large: u64,
    pub unreadable: u64,
}

impl SkipCounts {
    pub fn total(&self) -> u64 {
        self.binary + self.too_large + self.unreadable
    }
}

/// The result of a work-tree scan.
#[derive(Clone, Debug, Default)]
pub struct WorktreeScan {
    /// Findings that count, sorted by path and position.
    pub findings: Vec<SecretFinding>,
    /// Findings accepted inline or by the baseline (reported as a count).
    pub suppressed: Vec<SecretFinding>,
    pub files_scanned: u64,
    pub bytes: u64,
    pub skipped: SkipCounts,
    /// The deadline came before the walk ended: files after it were not read.
    pub stopped_at_deadline: bool,
}

/// Whether the first bytes of a file mark it as binary.
pub fn looks_binary(data: &[u8]) -> bool {
    // `contains` on bytes is a word-at-a-time search, several times faster
    // than a byte loop over the sniffed prefix of every file.
    data[..data.len().min(BINARY_SNIFF)].contains(&0)
}

/// Resolves `.` and `..` without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Walks `root` and scans every text file with `scanner`. Finding paths are
/// relative to `root`.
pub fn scan_worktree(
    root: &Path,
    scanner: &Scanner,
    options: &WalkOptions,
) -> anyhow::Result<WorktreeScan> {
    if !root.exists() {
        anyhow::bail!("scan path {} does not exist", root.display());
    }
    // Absolute, so a relative root such as "." (a profile given by a relative
    // path) does not normalise to an empty path that walks nothing.
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| normalize(root));

    let mut overrides = OverrideBuilder::new(&root);
    let mut excluded_paths: Vec<PathBuf> = Vec::new();
    for entry in &options.exclude {
        let is_path = entry.starts_with('/') || entry.starts_with("..") || entry.starts_with("./");
        if is_path {
            excluded_paths.push(normalize(&root.join(entry.trim_end_matches('/'))));
        } else {
            overrides
                .add(&format!("!{entry}"))
                .map_err(|e| anyhow::anyhow!("exclusion `{entry}`: {e}"))?;
        }
    }
    let overrides = overrides.build()?;

    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        options.threads
    };
    let mut builder = ignore::WalkBuilder::new(&root);
    builder
        .hidden(false)
        .follow_links(false)
        .git_ignore(options.respect_gitignore)
        .git_exclude(options.respect_gitignore)
        .ignore(options.respect_gitignore)
        .parents(options.respect_gitignore)
        .git_global(false)
        .require_git(false)
        .threads(threads)
        .overrides(overrides)
        .filter_entry(move |entry| {
            if entry.file_name() == ".git" {
                return false;
            }
            if excluded_paths.is_empty() {
                return true;
            }
            let path = normalize(entry.path());
            !excluded_paths.iter().any(|x| path.starts_with(x))
        });

    let files = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let binary = AtomicU64::new(0);
    let too_large = AtomicU64::new(0);
    let unreadable = AtomicU64::new(0);
    let stopped = AtomicBool::new(false);
    let found: Mutex<Vec<SecretFinding>> = Mutex::new(Vec::new());
    let max = options.max_file_size;

    {
        let (files, bytes, binary, too_large, unreadable, stopped, found, root) = (
            &files,
            &bytes,
            &binary,
            &too_large,
            &unreadable,
            &stopped,
            &found,
            &root,
        );
        let deadline = options.deadline;
        builder.build_parallel().run(|| {
            let mut data: Vec<u8> = Vec::new();
            Box::new(move |entry| {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    stopped.store(true, Ordering::Relaxed);
                    return WalkState::Quit;
                }
                let Ok(entry) = entry else {
                    unreadable.fetch_add(1, Ordering::Relaxed);
                    return WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return WalkState::Continue;
                }
                match read_capped(entry.path(), max, &mut data) {
                    FileRead::Text => {}
                    FileRead::TooLarge => {
                        too_large.fetch_add(1, Ordering::Relaxed);
                        return WalkState::Continue;
                    }
                    FileRead::Failed => {
                        unreadable.fetch_add(1, Ordering::Relaxed);
                        return WalkState::Continue;
                    }
                }
                if looks_binary(&data) {
                    binary.fetch_add(1, Ordering::Relaxed);
                    return WalkState::Continue;
                }
                files.fetch_add(1, Ordering::Relaxed);
                bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
                let path = entry.path();
                let rel = path.strip_prefix(root).unwrap_or(path);
                let findings = scanner.scan_bytes(&data, &Origin::file(rel));
                if !findings.is_empty() {
                    found
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(findings);
                }
                WalkState::Continue
            })
        });
    }

    let mut all = found.into_inner().unwrap_or_else(|p| p.into_inner());
    all.sort_by(|a, b| (a.location.sort_key(), a.rule_id).cmp(&(b.location.sort_key(), b.rule_id)));
    let (suppressed, findings) = all.into_iter().partition(|f| f.suppression.is_some());
    Ok(WorktreeScan {
        findings,
        suppressed,
        files_scanned: files.into_inner(),
        bytes: bytes.into_inner(),
        skipped: SkipCounts {
            binary: binary.into_inner(),
            too_large: too_large.into_inner(),
            unreadable: unreadable.into_inner(),
        },
        stopped_at_deadline: stopped.into_inner(),
    })
}

/// What reading one file gave.
enum FileRead {
    Text,
    TooLarge,
    Failed,
}

/// Reads a file into `buf` (cleared first) unless it is over `max` bytes.
fn read_capped(path: &Path, max: u64, buf: &mut Vec<u8>) -> FileRead {
    let Ok(mut file) = std::fs::File::open(path) else {
        return FileRead::Failed;
    };
    let Ok(meta) = file.metadata() else {
        return FileRead::Failed;
    };
    if meta.len() > max {
        return FileRead::TooLarge;
    }
    buf.clear();
    buf.reserve(meta.len() as usize + 1);
    // `take` keeps a file that grew since the stat within the cap.
    match (&mut file).take(max + 1).read_to_end(buf) {
        Ok(_) if buf.len() as u64 > max => FileRead::TooLarge,
        Ok(_) => FileRead::Text,
        Err(_) => FileRead::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
        assert_eq!(normalize(Path::new("a/../../x")), PathBuf::from("../x"));
    }

    #[test]
    fn binary_sniff_looks_at_the_first_8k_only() {
        assert!(looks_binary(b"abc\0def"));
        assert!(!looks_binary(b"plain text"));
        let mut late = vec![b'a'; BINARY_SNIFF];
        late.push(0);
        assert!(!looks_binary(&late));
    }
}
