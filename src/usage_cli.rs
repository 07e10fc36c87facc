//! `switchyard usage`: the usage history read straight from the database the config names (WAL lets
//! this run next to a serving proxy), and its export and import.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use switchyard::config;
use switchyard::usage::{export, Bucket, Totals, UsageStore, MAX_BUCKETS};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// Events written per transaction on import.
const IMPORT_BATCH: usize = 2000;

#[derive(clap::Args, Debug)]
pub struct UsageArgs {
    #[command(subcommand)]
    command: Option<UsageCommand>,
    /// Since when: a span back from now (`7d`, `24h`) or an RFC 3339 time.
    #[arg(long, default_value = "7d")]
    since: String,
    /// Print the report as JSON (the management API's summary without the live recorder's fields).
    #[arg(long)]
    json: bool,
    /// Config file (for `usage-database-path`); default `<user config dir>/switchyard/config.yaml`.
    #[arg(long, short, global = true)]
    config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum UsageCommand {
    /// Write the whole history as an export document (read by Switchyard and CLIProxyAPI).
    Export {
        /// The file to write; default: standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Add the requests of an export (Switchyard's or CLIProxyAPI's) the history does not have yet.
    Import { file: PathBuf },
}

pub fn usage(args: UsageArgs) -> anyhow::Result<ExitCode> {
    let database = database(args.config.as_ref())?;
    match args.command {
        None => summary(&database, &args.since, args.json),
        Some(UsageCommand::Export { out }) => export_to(&database, out),
        Some(UsageCommand::Import { file }) => import_from(&database, &file),
    }
}

/// The history's file as the config names it (the built-in default without a config).
fn database(config_path: Option<&PathBuf>) -> anyhow::Result<PathBuf> {
    let path = config_path
        .cloned()
        .unwrap_or_else(config::default_config_path);
    if !path.exists() && config_path.is_none() {
        return Ok(config::default_usage_database());
    }
    Ok(config::load_file(&path)?.config.usage.database.clone())
}

fn open(database: &Path) -> anyhow::Result<UsageStore> {
    UsageStore::open(database).with_context(|| "cannot open the usage history")
}

fn since(text: &str, now: OffsetDateTime) -> anyhow::Result<OffsetDateTime> {
    if let Ok(span) = humantime::parse_duration(text.trim()) {
        let span = Duration::try_from(span).context("that span is too long")?;
        return Ok(now - span);
    }
    OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| {
        anyhow::anyhow!(
            "--since {text}: use a span back from now (7d, 24h) or an RFC 3339 time (2026-11-01T00:00:00Z)"
        )
    })
}

fn summary(database: &Path, since_text: &str, json: bool) -> anyhow::Result<ExitCode> {
    let now = OffsetDateTime::now_utc();
    let from = since(since_text, now)?;
    if from >= now {
        bail!("--since {since_text} is not in the past");
    }
    let mut bucket = Bucket::for_range(from, now);
    if bucket.count(from, now) > MAX_BUCKETS {
        bucket = Bucket::Day;
    }
    if bucket.count(from, now) > MAX_BUCKETS {
        bail!("--since {since_text} reaches back too far: ask for at most {MAX_BUCKETS} days");
    }
    if !database.exists() {
        println!(
            "No usage history yet: {} does not exist (the proxy creates it on start).",
            database.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let report = open(database)?.report(from, now, bucket)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let t = &report.totals;
    println!(
        "Since {} ({})",
        from.format(&Rfc3339).unwrap_or_default(),
        database.display()
    );
    println!(
        "{} requests, {} errors; {} input tokens ({} cached), {} output tokens ({} reasoning)",
        t.requests, t.errors, t.input_tokens, t.cached_tokens, t.output_tokens, t.reasoning_tokens
    );
    for (title, rows) in [
        ("MODEL", &report.by_model),
        ("CREDENTIAL", &report.by_credential),
    ] {
        if rows.is_empty() {
            continue;
        }
        println!();
        let rows: Vec<[String; 5]> = rows.iter().map(row).collect();
        crate::print_table([title, "REQUESTS", "ERRORS", "INPUT", "OUTPUT"], &rows);
    }
    Ok(ExitCode::SUCCESS)
}

fn row(t: &Totals) -> [String; 5] {
    let name = if t.key.is_empty() { "-" } else { &t.key };
    [
        name.to_string(),
        t.requests.to_string(),
        t.errors.to_string(),
        t.input_tokens.to_string(),
        t.output_tokens.to_string(),
    ]
}

fn export_to(database: &Path, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    if !database.exists() {
        bail!(
            "no usage history to export: {} does not exist",
            database.display()
        );
    }
    let end = OffsetDateTime::UNIX_EPOCH + Duration::days(365 * 1000);
    let events = open(database)?.events_between(OffsetDateTime::UNIX_EPOCH, end)?;
    let count = events.len();
    let doc = export::document(events, OffsetDateTime::now_utc());
    match out {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            serde_json::to_writer(&mut w, &doc)?;
            w.flush()
                .with_context(|| format!("cannot write {}", path.display()))?;
            println!("Exported {count} requests to {}", path.display());
        }
        None => {
            let mut w = std::io::stdout().lock();
            serde_json::to_writer(&mut w, &doc)?;
            writeln!(w)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn import_from(database: &Path, file: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let doc: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    let parsed = export::parse(doc).with_context(|| format!("{}", file.display()))?;
    if let Some(dir) = database.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut store = open(database)?;
    let mut added = 0;
    for batch in parsed.events.chunks(IMPORT_BATCH) {
        added += store.insert(batch)?;
    }
    let read = parsed.events.len();
    let format = match parsed.format {
        export::Format::Switchyard => "Switchyard",
        export::Format::Cliproxyapi => "CLIProxyAPI",
    };
    println!(
        "Read {read} requests from a {format} export: {added} added, {} already there.",
        read - added
    );
    Ok(ExitCode::SUCCESS)
}
