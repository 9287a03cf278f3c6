//! The `secrets` check: leaked credentials in the work tree, the git history,
//! env files and the deployed site's bundles and source maps.
//!
//! This folder holds the scanning core the check is built on: the rule set
//! ([`rules`]), the matcher that applies it to bytes ([`scan`]), the work-tree
//! walker ([`worktree`]), the git-history reader ([`history`]) and the `.env`
//! parser ([`crate::envfile`]); [`site`] reads pages, bundles and source maps,
//! [`config`] resolves `[checks.secrets]` and [`check`] turns scans into
//! subject rows. None of them prints or stores a raw credential: a
//! [`scan::SecretFinding`] carries only a redacted preview and a fingerprint.

pub mod check;
pub mod config;
pub mod history;
pub mod rules;
pub mod scan;
pub mod site;
pub mod worktree;

pub use check::SecretsCheck;
pub use history::{HistoryOptions, HistoryScan, scan_history};
pub use rules::{Rule, Ruleset, SecretKind, Severity};
pub use scan::{Baseline, Location, Origin, Scanner, SecretFinding, Suppression};
pub use worktree::{WalkOptions, WorktreeScan, scan_worktree};
