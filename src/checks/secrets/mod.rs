//! The `secrets` check: leaked credentials in the work tree, the git history and env files.
//!
//! This folder holds the scanning core the check is built on: the rule set
//! ([`rules`]), the matcher that applies it to bytes ([`scan`]), the work-tree
//! walker ([`worktree`]), the git-history reader ([`history`]) and the `.env`
//! parser ([`envfile`]). None of them prints or stores a raw credential: a
//! [`scan::SecretFinding`] carries only a redacted preview and a fingerprint.

pub mod envfile;
pub mod history;
pub mod rules;
pub mod scan;
pub mod worktree;

pub use history::{HistoryOptions, HistoryScan, scan_history};
pub use rules::{Rule, Ruleset, SecretKind, Severity};
pub use scan::{Baseline, Location, Origin, Scanner, SecretFinding, Suppression};
pub use worktree::{WalkOptions, WorktreeScan, scan_worktree};
