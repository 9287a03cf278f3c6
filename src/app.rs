//! What each command does, from parsed arguments to an exit code.
//!
//! Exit codes (DESIGN.md): 0 clean, 1 a failing finding at or above
//! `--fail-on`, 2 the profile or command line is wrong (nothing sent), 3 a
//! check ended in `error` under `--fail-on-error`, 130 interrupted.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, FailOn, ListFormat, OutputArgs};
use crate::engine::registry;
use crate::engine::runner::{self, Selection};
use crate::net::Net;
use crate::profile::access::SpecSecurity;
use crate::profile::{self, Profile};
use crate::redact::Redactor;
use crate::report::model::{Scorecard, Severity};
use crate::report::{self, Format};

pub const EXIT_OK: i32 = 0;
pub const EXIT_FAIL: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_ERROR: i32 = 3;
pub const EXIT_INTERRUPTED: i32 = 130;

/// The starter profile `readiness init` writes.
const STARTER: &str = include_str!("profile/starter.toml");

pub fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Audit(args) => {
            let redactor = Redactor::new();
            init_logging(&args.output, &redactor);
            with_runtime(|| audit_command(&args.profile, &args.output, redactor))
        }
        Command::Demo(args) => {
            let redactor = Redactor::new();
            init_logging(&args.output, &redactor);
            with_runtime(|| crate::demo::command(args, redactor))
        }
        Command::Watch(args) => {
            let redactor = Redactor::new();
            init_logging(&args.output, &redactor);
            with_runtime(|| crate::checks::monitoring::watch::command(args, redactor))
        }
        Command::Init { path, force } => init(&path, force),
        Command::Validate { profile } => validate(&profile),
        Command::Checks { format } => list_checks(format),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "readiness", &mut std::io::stdout());
            EXIT_OK
        }
    }
}

fn with_runtime<F, Fut>(f: F) -> i32
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = i32>,
{
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => {
            let code = rt.block_on(f());
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
            code
        }
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            EXIT_USAGE
        }
    }
}

fn init(path: &Path, force: bool) -> i32 {
    if path.exists() && !force {
        eprintln!(
            "error: {} already exists; pass --force to overwrite it or name another path",
            path.display()
        );
        return EXIT_USAGE;
    }
    match std::fs::write(path, STARTER) {
        Ok(()) => {
            println!(
                "wrote {}: edit [target] base_url and scope, then run `readiness validate` and \
                 `readiness audit --dry-run`",
                path.display()
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", path.display());
            EXIT_USAGE
        }
    }
}

fn validate(path: &Path) -> i32 {
    let redactor = Redactor::new();
    match profile::load(path, &redactor) {
        Ok(p) => {
            for note in &p.notes {
                eprintln!("note: {note}");
            }
            println!(
                "{} is valid: target `{}` at {}, {} scope entries, budget {} requests at most {}/s",
                path.display(),
                p.target.name,
                p.target.base_url,
                p.target.scope.entries().len(),
                p.target.max_requests,
                p.target.max_rps
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_USAGE
        }
    }
}

fn list_checks(format: ListFormat) -> i32 {
    let metas: Vec<_> = registry::all().iter().map(|c| c.meta()).collect();
    match format {
        ListFormat::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&metas).unwrap_or_default()
            );
        }
        ListFormat::Table => {
            let mut table = comfy_table::Table::new();
            table
                .load_preset(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
                .set_width(110)
                .set_header(vec!["id", "class", "verifies", "passes when"]);
            for m in metas {
                table.add_row(vec![m.id, m.class.as_str(), m.verifies, m.criterion]);
            }
            println!("{table}");
        }
    }
    EXIT_OK
}

/// A requested output: a format and where it goes (`None` = stdout).
#[derive(Debug, Clone)]
pub struct Output {
    pub format: Format,
    pub path: Option<PathBuf>,
}

/// Parses `--format` values; an empty list means one table on stdout.
pub fn parse_formats(values: &[String]) -> Result<Vec<Output>, String> {
    if values.is_empty() {
        return Ok(vec![Output {
            format: Format::Table,
            path: None,
        }]);
    }
    let mut outputs = Vec::new();
    for v in values {
        let (name, path) = match v.split_once('=') {
            Some((n, p)) if !p.is_empty() => (n, Some(PathBuf::from(p))),
            Some((n, _)) => return Err(format!("--format {n}= needs a path after `=`")),
            None => (v.as_str(), None),
        };
        let format = Format::parse(name).ok_or_else(|| {
            format!("unknown --format `{name}`; use table, json or markdown (optionally =PATH)")
        })?;
        outputs.push(Output { format, path });
    }
    let to_stdout = outputs.iter().filter(|o| o.path.is_none()).count();
    if to_stdout > 1 {
        return Err(
            "only one --format may go to stdout; give the others a path (json=out.json)".into(),
        );
    }
    Ok(outputs)
}

fn selection(args: &OutputArgs) -> Result<Selection, String> {
    let known = registry::ids();
    for id in args.only.iter().chain(args.skip.iter()) {
        if !known.contains(&id.as_str()) {
            return Err(format!(
                "unknown check id `{id}` in --only/--skip; known ids: {}",
                known.join(", ")
            ));
        }
    }
    Ok(Selection {
        only: args.only.clone(),
        skip: args.skip.clone(),
    })
}

fn threshold(f: FailOn) -> Severity {
    match f {
        FailOn::Critical => Severity::Critical,
        FailOn::High => Severity::High,
        FailOn::Medium => Severity::Medium,
        FailOn::Low => Severity::Low,
    }
}

async fn audit_command(path: &Path, args: &OutputArgs, redactor: Redactor) -> i32 {
    let profile = match profile::load(path, &redactor) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    audit_profile(profile, args, redactor).await
}

/// Audits a loaded profile and writes the requested outputs. Shared with `demo`.
pub async fn audit_profile(profile: Profile, args: &OutputArgs, redactor: Redactor) -> i32 {
    let outputs = match parse_formats(&args.formats) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let selection = match selection(args) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    for note in &profile.notes {
        tracing::warn!("{note}");
    }
    if registry::all()
        .iter()
        .all(|c| !selection.includes(c.meta().id))
    {
        eprintln!("error: --only/--skip leave no check to run");
        return EXIT_USAGE;
    }
    if args.dry_run {
        for out in &outputs {
            let text = match out.format {
                Format::Json => dry_run_json(&profile, &selection),
                Format::Table | Format::Markdown => dry_run(&profile, &selection),
            };
            let text = redactor.redact(&text);
            match &out.path {
                None => print!("{text}"),
                Some(p) => {
                    if let Err(e) = std::fs::write(p, text) {
                        eprintln!("error: cannot write {}: {e}", p.display());
                        return EXIT_USAGE;
                    }
                }
            }
        }
        return EXIT_OK;
    }
    // Output files are checked before anything is sent, so a typo costs no traffic.
    let mut paths: Vec<&Path> = outputs.iter().filter_map(|o| o.path.as_deref()).collect();
    paths.extend(args.journal.as_deref());
    for (i, p) in paths.iter().enumerate() {
        if paths[..i].contains(p) {
            eprintln!(
                "error: {} is named by two outputs; give each its own path",
                p.display()
            );
            return EXIT_USAGE;
        }
        if let Err(e) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
        {
            eprintln!("error: cannot write {}: {e}; nothing was sent", p.display());
            return EXIT_USAGE;
        }
    }

    let start = Instant::now();
    // The run's own reports and journal are never scanned for secrets: written
    // inside the scanned tree by an earlier run, they would be read back.
    let mut profile = profile;
    for p in &paths {
        if let Ok(abs) = std::path::absolute(p) {
            profile
                .secrets
                .exclude
                .push(abs.to_string_lossy().into_owned());
        }
    }
    let started_at = now_rfc3339();
    let net = match Net::new(&profile, redactor.clone(), start) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    };
    let interrupt = CancellationToken::new();
    let watcher = {
        let interrupt = interrupt.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("interrupted: finishing the scorecard with what has run");
                interrupt.cancel();
            }
        })
    };
    let card = runner::run(
        Arc::new(profile),
        net.clone(),
        registry::all(),
        &selection,
        interrupt.clone(),
        started_at,
    )
    .await;
    watcher.abort();
    let mut card = redacted_card(card, &redactor);
    let code = exit_code(&card, threshold(args.fail_on), args.fail_on_error, false);
    card.run.fail_on = Some(threshold(args.fail_on));
    card.run.exit_code = Some(code);

    let colour = std::io::stdout().is_terminal() && !no_color();
    let mut write_failed = false;
    for out in &outputs {
        let text = redactor.redact(&report::render(
            &card,
            out.format,
            colour && out.path.is_none(),
        ));
        match &out.path {
            None => {
                let mut stdout = std::io::stdout().lock();
                let _ = stdout.write_all(text.as_bytes());
                let _ = stdout.flush();
            }
            Some(p) => {
                if let Err(e) = std::fs::write(p, text) {
                    eprintln!("error: cannot write {}: {e}", p.display());
                    write_failed = true;
                }
            }
        }
    }
    if let Some(p) = &args.journal
        && let Err(e) = std::fs::write(p, net.journal.to_jsonl(&redactor))
    {
        eprintln!("error: cannot write the journal {}: {e}", p.display());
        write_failed = true;
    }
    // Everything went to files: say the outcome on stderr so a person sees it.
    if outputs.iter().all(|o| o.path.is_some()) && !args.quiet {
        eprintln!(
            "readiness: verdict {}{}; {} requests sent",
            card.verdict,
            report::table::gate_note(&card),
            card.run.requests_sent
        );
    }
    if write_failed { EXIT_USAGE } else { code }
}

/// `NO_COLOR` set to a non-empty value disables colour (no-color.org).
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// The scorecard with every string passed through the redactor, so each
/// renderer starts from clean values (text redaction still runs after).
fn redacted_card(card: Scorecard, redactor: &Redactor) -> Scorecard {
    let Ok(mut value) = serde_json::to_value(&card) else {
        return card;
    };
    redactor.redact_json(&mut value);
    serde_json::from_value(value).unwrap_or(card)
}

/// Maps a scorecard to the exit code (precedence 2, 1, 3, 0; 130 when interrupted).
pub fn exit_code(card: &Scorecard, fail_on: Severity, fail_on_error: bool, io_error: bool) -> i32 {
    if card.run.interrupted {
        EXIT_INTERRUPTED
    } else if io_error {
        EXIT_USAGE
    } else if card.fails_at(fail_on) {
        EXIT_FAIL
    } else if fail_on_error && card.has_error() {
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}

/// The plan of every selected check, as text. Sends nothing.
pub fn dry_run(profile: &Profile, selection: &Selection) -> String {
    let mut out = format!(
        "Dry run for `{}` ({}): nothing is sent.\nScope: {}\nBudget: {} requests at most {}/s\n\n",
        profile.target.name,
        profile.target.base_url,
        profile
            .target
            .scope
            .entries()
            .iter()
            .map(|e| e.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        profile.target.max_requests,
        profile.target.max_rps
    );
    out.push_str(&imported_listing(profile));
    let mut total = 0;
    let mut writes = 0;
    for check in registry::all() {
        let meta = check.meta();
        if !selection.includes(meta.id) {
            continue;
        }
        let plan = check.plan(profile);
        if let Some(reason) = &plan.skip {
            out.push_str(&format!(
                "{} ({}): skip: {reason}\n",
                meta.id,
                meta.class.as_str()
            ));
            continue;
        }
        out.push_str(&format!(
            "{} ({}): {} requests\n",
            meta.id,
            meta.class.as_str(),
            plan.requests()
        ));
        for step in &plan.steps {
            out.push_str(&format!(
                "  {:>5}  {}  {}{}\n",
                step.requests,
                step.subject,
                step.what,
                if step.writes { "  [WRITES]" } else { "" }
            ));
            if step.writes {
                writes += step.requests;
            }
        }
        total += plan.requests();
    }
    out.push_str(&format!(
        "\nTotal: {total} requests planned ({writes} writes), budget {}.\n",
        profile.target.max_requests
    ));
    if total > profile.target.max_requests {
        out.push_str(
            "The plan exceeds [target] max_requests: the checks that do not fit will end in \
             `error`; raise max_requests or narrow --only.\n",
        );
    }
    out
}

/// What the OpenAPI import gave, for the text dry run: every imported
/// endpoint with its auth (unknown security shown as such) and its kind
/// (inferred or not), and what was excluded or overridden.
fn imported_listing(profile: &Profile) -> String {
    let Some(summary) = &profile.openapi else {
        return String::new();
    };
    let imported: Vec<_> = profile
        .endpoints
        .iter()
        .filter_map(|e| e.imported.as_ref().map(|i| (e, i)))
        .collect();
    let mut out = format!(
        "OpenAPI import from {}: {} operations, {} imported, {} excluded by openapi_exclude, \
         {} overridden by [[endpoint]] entries\n",
        summary.file,
        summary.operations,
        imported.len(),
        summary.excluded.len(),
        summary.overridden.len()
    );
    for (e, i) in &imported {
        let kind = match (&e.kind, i.kind_inferred) {
            (Some(k), true) => format!("{k} (inferred)"),
            (Some(k), false) => k.clone(),
            (None, _) => "-".to_string(),
        };
        out.push_str(&format!(
            "  {:<7} {}  `{}`  auth: {}  kind: {}{}\n",
            e.method.as_str(),
            e.path,
            e.name,
            i.security.describe(),
            kind,
            if e.writes { "  [WRITES]" } else { "" }
        ));
    }
    for x in &summary.excluded {
        out.push_str(&format!("  excluded: {x}\n"));
    }
    for name in &summary.overridden {
        out.push_str(&format!("  overridden by the profile: `{name}`\n"));
    }
    let unknown = imported
        .iter()
        .filter(|(_, i)| i.security == SpecSecurity::Unknown)
        .count();
    if unknown > 0 {
        out.push_str(&format!(
            "  {unknown} operation(s) have no security in the spec: they are probed as public; \
             declare each protected one as an [[endpoint]] with the same name and \
             auth = \"required\" (and an owner)\n"
        ));
    }
    out.push('\n');
    out
}

/// The imported endpoints as JSON, for `--dry-run --format json`.
fn imported_json(profile: &Profile) -> serde_json::Value {
    let endpoints: Vec<serde_json::Value> = profile
        .endpoints
        .iter()
        .filter_map(|e| {
            let i = e.imported.as_ref()?;
            Some(serde_json::json!({
                "name": e.name,
                "method": e.method.as_str(),
                "path": e.path,
                "auth": match i.security {
                    SpecSecurity::Required => "required",
                    SpecSecurity::Public => "public",
                    SpecSecurity::Unknown => "unknown",
                },
                "kind": e.kind,
                "kind_inferred": i.kind_inferred,
                "writes": e.writes,
            }))
        })
        .collect();
    match &profile.openapi {
        Some(s) => serde_json::json!({
            "file": s.file,
            "operations": s.operations,
            "endpoints": endpoints,
            "excluded": s.excluded,
            "overridden": s.overridden,
        }),
        None => serde_json::Value::Null,
    }
}

/// The plan as JSON (`--dry-run --format json`): what each check would send.
pub fn dry_run_json(profile: &Profile, selection: &Selection) -> String {
    let checks: Vec<serde_json::Value> = registry::all()
        .iter()
        .filter(|c| selection.includes(c.meta().id))
        .map(|c| {
            let meta = c.meta();
            let plan = c.plan(profile);
            serde_json::json!({
                "id": meta.id,
                "class": meta.class,
                "requests": plan.requests(),
                "skip": plan.skip,
                "steps": plan.steps,
            })
        })
        .collect();
    let total: u64 = checks.iter().filter_map(|c| c["requests"].as_u64()).sum();
    let doc = serde_json::json!({
        "dry_run": true,
        "target": profile.target.name,
        "base_url": profile.target.base_url.as_str(),
        "scope": profile.target.scope.entries().iter().map(|e| e.to_string()).collect::<Vec<_>>(),
        "max_requests": profile.target.max_requests,
        "max_rps": profile.target.max_rps,
        "planned_requests": total,
        "openapi": imported_json(profile),
        "checks": checks,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    text.push('\n');
    text
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Logging to stderr, passed through the redactor line by line.
fn init_logging(args: &OutputArgs, redactor: &Redactor) {
    let level = if args.quiet {
        "error"
    } else {
        match args.verbose {
            0 => "warn",
            1 => "info",
            _ => "debug",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("READINESS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("readiness={level},warn")));
    let writer = RedactingWriter {
        redactor: redactor.clone(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal() && !no_color())
        .try_init();
}

#[derive(Clone)]
struct RedactingWriter {
    redactor: Redactor,
}

struct RedactingLine {
    redactor: Redactor,
    buf: Vec<u8>,
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingWriter {
    type Writer = RedactingLine;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingLine {
            redactor: self.redactor.clone(),
            buf: Vec::new(),
        }
    }
}

impl Write for RedactingLine {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingLine {
    fn drop(&mut self) {
        let text = self.redactor.redact(&String::from_utf8_lossy(&self.buf));
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
}
