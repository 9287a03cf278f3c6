//! Command-line definitions (clap). No logic lives here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "readiness",
    version,
    about = "Audits a B2B web product for launch readiness and prints a pass/fail scorecard",
    long_about = None,
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit the target a profile describes.
    Audit(AuditArgs),
    /// Start the built-in flawed demo target and audit it.
    Demo(DemoArgs),
    /// Re-run the fast read-only checks on an interval; alert the profile's webhook on change.
    Watch(WatchArgs),
    /// Write a commented starter profile.
    Init {
        /// Where to write it.
        #[arg(default_value = "readiness.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Check a profile and send nothing.
    Validate {
        #[arg(long, short = 'p', default_value = "readiness.toml")]
        profile: PathBuf,
    },
    /// List every check with what it verifies and its pass criterion.
    Checks {
        #[arg(long, value_enum, default_value_t = ListFormat::Table)]
        format: ListFormat,
    },
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Critical,
    High,
    Medium,
    Low,
}

/// Output options shared by `audit` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Run only these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip these checks (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Output format, repeatable: `table`, `json`, `markdown`, each optionally `=PATH`.
    #[arg(long = "format", short = 'f', value_name = "FMT[=PATH]")]
    pub formats: Vec<String>,
    /// Exit 1 when a failing finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = FailOn::High)]
    pub fail_on: FailOn,
    /// Exit 3 when a check ended in `error` (and nothing failed).
    #[arg(long)]
    pub fail_on_error: bool,
    /// Show what would be sent, send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write the redacted journal of every request as JSON lines.
    #[arg(long, value_name = "PATH")]
    pub journal: Option<PathBuf>,
    /// More logging on stderr (-v info, -vv debug).
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The profile to audit.
    #[arg(long, short = 'p', default_value = "readiness.toml")]
    pub profile: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo target running and print its URLs and profile path.
    #[arg(long)]
    pub serve: bool,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The profile to watch.
    #[arg(long, short = 'p', default_value = "readiness.toml")]
    pub profile: PathBuf,
    /// Time between cycle starts (`60s`, `5m`; at least 1s).
    #[arg(long, default_value = "60s")]
    pub every: String,
    /// Stop after this many cycles (default: until Ctrl-C).
    #[arg(long)]
    pub cycles: Option<u64>,
    /// --only/--skip narrow the watched checks; --journal records webhook posts.
    #[command(flatten)]
    pub output: OutputArgs,
}
