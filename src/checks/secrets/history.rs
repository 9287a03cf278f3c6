//! Scans every blob reachable from any ref of a git repository, each once.
//!
//! Blobs are read straight from the object database through the git CLI:
//! `git rev-list --objects --all` names them (deduplicated by object id, large
//! ones filtered out by git itself) and one `git cat-file --batch` streams
//! their contents into a bounded queue that worker threads drain, so memory
//! stays flat however long the history is. Only blobs with findings are then
//! attributed to the oldest commit that introduced them, and checked against
//! HEAD's tree ("deleted but still in history"). Nothing is written to the
//! repository: no checkout, no gc, no config, optional locks off.
//!
//! A deadline stops the reading: the blobs already read are scanned and
//! reported, the rest of `rev-list`'s listing is counted (for a short grace)
//! so that the result can say "N of M blobs scanned", and the scan is marked
//! incomplete rather than passing.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::scan::{Location, Origin, Scanner, SecretFinding};
use super::worktree::{DEFAULT_MAX_FILE_SIZE, looks_binary};

/// How to read history.
#[derive(Clone, Debug)]
pub struct HistoryOptions {
    /// Blobs larger than this are skipped (git filters them out unread).
    pub max_blob_size: u64,
    /// Scanning threads; 0 means one per available core.
    pub threads: usize,
    /// Stop reading blobs at this instant; the scan is then incomplete.
    pub deadline: Option<Instant>,
    /// After the deadline, how long the rest of the blob listing may still
    /// be counted (for "N of M"); past it the total is a lower bound.
    pub count_grace: Duration,
}

impl Default for HistoryOptions {
    fn default() -> Self {
        HistoryOptions {
            max_blob_size: DEFAULT_MAX_FILE_SIZE,
            threads: 0,
            deadline: None,
            count_grace: Duration::from_millis(500),
        }
    }
}

/// How far a history scan got before its deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cutoff {
    /// Blobs `rev-list` named (to be scanned): all of them when `counted_all`.
    pub listed: u64,
    /// Whether the listing was counted to its end.
    pub counted_all: bool,
}

impl Cutoff {
    /// "N of M blobs scanned before the deadline" (M a lower bound if not counted to the end).
    pub fn describe(&self, scanned: u64) -> String {
        let of = if self.counted_all {
            format!("{}", self.listed)
        } else {
            format!("at least {}", self.listed)
        };
        format!("history scan incomplete: {scanned} of {of} blobs scanned before the deadline")
    }
}

/// The result of a history scan.
#[derive(Clone, Debug, Default)]
pub struct HistoryScan {
    /// Findings that count; locations name the introducing commit.
    pub findings: Vec<SecretFinding>,
    /// Findings accepted inline or by the baseline.
    pub suppressed: Vec<SecretFinding>,
    /// Distinct blobs scanned.
    pub blobs: u64,
    pub bytes: u64,
    pub skipped_large: u64,
    pub skipped_binary: u64,
    /// The repository is a shallow clone: history is incomplete.
    pub shallow: bool,
    /// Why the scan cannot vouch for the whole history, if it cannot.
    pub incomplete: Option<String>,
    /// Set when the deadline stopped the scan before every blob was read.
    pub cutoff: Option<Cutoff>,
}

/// A git command that never writes to the repository and trusts its owner.
fn git(repo: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-c")
        .arg("safe.directory=*")
        .arg("-c")
        .arg("core.quotePath=false")
        .arg("-C")
        .arg(repo)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .stdin(Stdio::null());
    cmd
}

fn git_output(repo: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = git(repo)
        .args(args)
        .stderr(Stdio::piped())
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// One blob read from `cat-file`, waiting for a scanning thread.
struct Blob {
    oid: String,
    path: String,
    data: Vec<u8>,
}

/// Scans the history of the repository at `repo`.
pub fn scan_history(
    repo: &Path,
    scanner: &Scanner,
    options: &HistoryOptions,
) -> anyhow::Result<HistoryScan> {
    let shallow = git_output(repo, &["rev-parse", "--is-shallow-repository"])? == "true";
    let threads = if options.threads == 0 {
        std::thread::available_parallelism().map_or(2, |n| n.get())
    } else {
        options.threads
    };

    let mut rev_list = git(repo)
        .args([
            "rev-list",
            "--objects",
            "--all",
            "--filter=object:type=blob",
        ])
        .arg(format!("--filter=blob:limit={}", options.max_blob_size))
        .arg("--filter-print-omitted")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start git rev-list")?;
    let mut cat_file = git(repo)
        .args([
            "cat-file",
            "--buffer",
            "--batch=%(objectname) %(objecttype) %(objectsize) %(rest)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start git cat-file")?;

    let (Some(list_out), Some(cat_in), Some(cat_out)) = (
        rev_list.stdout.take(),
        cat_file.stdin.take(),
        cat_file.stdout.take(),
    ) else {
        bail!("git pipes were not set up");
    };

    let found: Mutex<Vec<(String, SecretFinding)>> = Mutex::new(Vec::new());
    let (tx, rx) = sync_channel::<Blob>(threads * 2);
    let rx = Mutex::new(rx);

    let stop = AtomicBool::new(false);
    let count_until = options.deadline.map(|d| d + options.count_grace);
    let outcome = std::thread::scope(|s| -> anyhow::Result<(Listing, u64, u64, u64)> {
        let stop = &stop;
        let feeder = s.spawn(move || feed_cat_file(list_out, cat_in, stop, count_until));

        let mut workers = Vec::new();
        for _ in 0..threads {
            workers.push(s.spawn(|| {
                let mut skipped_binary = 0u64;
                loop {
                    let next = match rx.lock() {
                        Ok(guard) => guard.recv(),
                        Err(poisoned) => poisoned.into_inner().recv(),
                    };
                    let Ok(blob) = next else {
                        break;
                    };
                    if looks_binary(&blob.data) {
                        skipped_binary += 1;
                        continue;
                    }
                    let origin = Origin::blob(blob.oid.as_str(), blob.path.as_str());
                    let findings = scanner.scan_bytes(&blob.data, &origin);
                    if !findings.is_empty() {
                        let mut all = found.lock().unwrap_or_else(|p| p.into_inner());
                        all.extend(findings.into_iter().map(|f| (blob.oid.clone(), f)));
                    }
                }
                skipped_binary
            }));
        }

        let read = read_cat_file(cat_out, &tx, options.deadline);
        drop(tx);
        let cut = matches!(read, Ok((_, _, true)));
        if cut {
            stop.store(true, Ordering::Relaxed);
        }
        if read.is_err() || cut {
            // Nobody reads cat-file's output any more: end it so that the
            // feeder's writes fail instead of blocking.
            let _ = cat_file.kill();
        }
        if read.is_err() {
            let _ = rev_list.kill();
        }
        let mut skipped_binary = 0;
        for w in workers {
            skipped_binary += w.join().unwrap_or(0);
        }
        let listing = match feeder.join() {
            Ok(r) => r?,
            Err(_) => bail!("the rev-list reader thread failed"),
        };
        if !listing.complete {
            let _ = rev_list.kill();
        }
        let (blobs, bytes, _) = read?;
        Ok((listing, blobs, bytes, skipped_binary))
    });

    let stopped = stop.load(Ordering::Relaxed);
    let list_status = wait_checked(&mut rev_list, "rev-list");
    let cat_status = wait_checked(&mut cat_file, "cat-file");
    let (listing, blobs, bytes, skipped_binary) = outcome?;
    if !stopped {
        list_status?;
        cat_status?;
    }
    let skipped_large = listing.omitted;
    let cutoff = stopped.then_some(Cutoff {
        listed: listing.listed,
        counted_all: listing.complete,
    });

    let found = found.into_inner().unwrap_or_else(|p| p.into_inner());
    let wanted: HashSet<String> = found.iter().map(|(oid, _)| oid.clone()).collect();
    let origins = attribute(
        repo,
        &wanted,
        options.deadline.map(|d| d + options.count_grace),
    )?;
    let in_head = blobs_in_head(repo, &wanted)?;

    let mut all: Vec<SecretFinding> = found
        .into_iter()
        .map(|(oid, mut finding)| {
            if let Location::Commit {
                commit, date, path, ..
            } = &mut finding.location
                && let Some(intro) = origins.get(&oid)
            {
                commit.clone_from(&intro.commit);
                date.clone_from(&intro.date);
                path.clone_from(&intro.path);
            }
            finding.history_only = !in_head.contains(&oid);
            finding
        })
        .collect();
    all.sort_by(|a, b| a.location.sort_key().cmp(&b.location.sort_key()));
    all.dedup_by(|a, b| a.fingerprint == b.fingerprint && a.location == b.location);
    let (suppressed, findings) = all.into_iter().partition(|f| f.suppression.is_some());

    Ok(HistoryScan {
        findings,
        suppressed,
        blobs,
        bytes,
        skipped_large,
        skipped_binary,
        shallow,
        incomplete: shallow.then(|| "shallow clone: history incomplete".to_string()),
        cutoff,
    })
}

fn wait_checked(child: &mut Child, what: &str) -> anyhow::Result<()> {
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    let status = child
        .wait()
        .with_context(|| format!("git {what} did not finish"))?;
    if !status.success() {
        bail!("git {what} failed: {}", err.trim());
    }
    Ok(())
}

/// What the feeder saw of `rev-list`'s listing.
struct Listing {
    /// Blob lines listed (forwarded to `cat-file`, or counted after a stop).
    listed: u64,
    /// Blobs git left out for their size (`~oid` lines).
    omitted: u64,
    /// Whether the listing was read to its end.
    complete: bool,
}

/// Forwards blob lines from `rev-list` to `cat-file`. Once `stop` is set it
/// only counts the remaining lines, until the listing ends or `count_until`.
fn feed_cat_file(
    list_out: impl Read,
    cat_in: impl Write,
    stop: &AtomicBool,
    count_until: Option<Instant>,
) -> anyhow::Result<Listing> {
    let mut reader = BufReader::with_capacity(1 << 16, list_out);
    let mut writer = Some(std::io::BufWriter::with_capacity(1 << 16, cat_in));
    let mut listing = Listing {
        listed: 0,
        omitted: 0,
        complete: true,
    };
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.first() == Some(&b'~') {
            listing.omitted += 1;
            continue;
        }
        // Commits come without a path; blobs always carry one.
        if !line.contains(&b' ') {
            continue;
        }
        listing.listed += 1;
        if stop.load(Ordering::Relaxed) {
            // Closing cat-file's input lets it finish; the rest is only counted.
            writer = None;
            if count_until.is_some_and(|t| Instant::now() >= t) {
                listing.complete = false;
                break;
            }
            continue;
        }
        let Some(w) = writer.as_mut() else {
            continue;
        };
        let sent = w.write_all(&line).and_then(|()| {
            if line.last() == Some(&b'\n') {
                Ok(())
            } else {
                w.write_all(b"\n")
            }
        });
        if let Err(e) = sent {
            if stop.load(Ordering::Relaxed) {
                writer = None;
                continue;
            }
            return Err(e.into());
        }
    }
    if let Some(mut w) = writer
        && let Err(e) = w.flush()
        && !stop.load(Ordering::Relaxed)
    {
        return Err(e.into());
    }
    Ok(listing)
}

/// Reads `cat-file --batch` output and queues each blob; returns (blobs,
/// bytes, stopped by the deadline).
fn read_cat_file(
    cat_out: impl Read,
    tx: &std::sync::mpsc::SyncSender<Blob>,
    deadline: Option<Instant>,
) -> anyhow::Result<(u64, u64, bool)> {
    let mut reader = BufReader::with_capacity(1 << 20, cat_out);
    let mut header = String::new();
    let (mut blobs, mut bytes) = (0u64, 0u64);
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok((blobs, bytes, true));
        }
        header.clear();
        if reader.read_line(&mut header)? == 0 {
            break;
        }
        let line = header.trim_end_matches('\n');
        let mut parts = line.splitn(4, ' ');
        let oid = parts.next().unwrap_or("").to_string();
        let kind = parts.next().unwrap_or("");
        if kind == "missing" || kind.is_empty() {
            continue;
        }
        let size: usize = parts
            .next()
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("unexpected cat-file header `{line}`"))?;
        let path = parts.next().unwrap_or("").to_string();
        let mut data = vec![0u8; size];
        reader.read_exact(&mut data)?;
        let mut newline = [0u8; 1];
        reader.read_exact(&mut newline)?;
        if kind != "blob" {
            continue;
        }
        blobs += 1;
        bytes += size as u64;
        if tx.send(Blob { oid, path, data }).is_err() {
            bail!("scanning threads stopped early");
        }
    }
    Ok((blobs, bytes, false))
}

/// The commit that first brought a blob into history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Introduction {
    pub commit: String,
    /// Committer date, strict ISO 8601.
    pub date: String,
    pub path: String,
}

/// Finds, for each wanted blob, the oldest commit whose diff adds it (merge
/// commits diffed against their first parent). One streaming pass over
/// `git log --raw`, stopped as soon as all are found (or at `deadline`:
/// blobs not reached by then stay unattributed).
pub fn attribute(
    repo: &Path,
    wanted: &HashSet<String>,
    deadline: Option<Instant>,
) -> anyhow::Result<HashMap<String, Introduction>> {
    let mut found = HashMap::new();
    if wanted.is_empty() {
        return Ok(found);
    }
    let mut child = git(repo)
        .args([
            "log",
            "--all",
            "--reverse",
            "--date-order",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            // A blob written while resolving a merge exists only in the merge commit.
            "--diff-merges=first-parent",
            "--format=%x01%H %cI",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot start git log")?;
    let Some(out) = child.stdout.take() else {
        bail!("git log pipe was not set up");
    };
    let reader = BufReader::with_capacity(1 << 16, out);
    let (mut commit, mut date) = (String::new(), String::new());
    for line in reader.lines() {
        let line = line?;
        if let Some(rest) = line.strip_prefix('\u{1}') {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            let mut it = rest.splitn(2, ' ');
            commit = it.next().unwrap_or("").to_string();
            date = it.next().unwrap_or("").to_string();
        } else if let Some(raw) = line.strip_prefix(':') {
            let Some((meta, path)) = raw.split_once('\t') else {
                continue;
            };
            let Some(new_oid) = meta.split(' ').nth(3) else {
                continue;
            };
            if wanted.contains(new_oid) && !found.contains_key(new_oid) {
                found.insert(
                    new_oid.to_string(),
                    Introduction {
                        commit: commit.clone(),
                        date: date.clone(),
                        path: path.into(),
                    },
                );
                if found.len() == wanted.len() {
                    break;
                }
            }
        }
    }
    // Stopping early closes the pipe; the child may exit with SIGPIPE.
    let _ = child.kill();
    let _ = child.wait();
    Ok(found)
}

/// Which of the wanted blobs HEAD's tree still holds.
fn blobs_in_head(repo: &Path, wanted: &HashSet<String>) -> anyhow::Result<HashSet<String>> {
    let mut present = HashSet::new();
    if wanted.is_empty() {
        return Ok(present);
    }
    let out = git(repo)
        .args(["ls-tree", "-r", "-z", "--full-tree", "HEAD"])
        .stderr(Stdio::null())
        .output()
        .context("cannot run git ls-tree")?;
    if !out.status.success() {
        // No HEAD (empty or detached-from-nothing repository): nothing is current.
        return Ok(present);
    }
    for entry in out.stdout.split(|b| *b == 0) {
        let text = String::from_utf8_lossy(entry);
        let Some((meta, _path)) = text.split_once('\t') else {
            continue;
        };
        if let Some(oid) = meta.split(' ').nth(2)
            && wanted.contains(oid)
        {
            present.insert(oid.to_string());
        }
    }
    Ok(present)
}

/// The top folder of the git work tree holding `path`, or `None` when `path`
/// is not inside a repository (or git cannot be run).
pub fn repository_root(path: &Path) -> Option<std::path::PathBuf> {
    let top = git_output(path, &["rev-parse", "--show-toplevel"]).ok()?;
    (!top.is_empty()).then(|| std::path::PathBuf::from(top))
}
