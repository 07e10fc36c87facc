//! The headless `switchyard` binary: serve, check a config, list models, log into accounts, read the
//! usage history.

mod accounts_cli;
mod usage_cli;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::{reload, EnvFilter};

use switchyard::config::{self, Severity};
use switchyard::routing::Registry;
use switchyard::StartOptions;

// A proxied request makes a few hundred small, short-lived allocations; with glibc's malloc they were a sixth
// of the request's instructions (callgrind), mimalloc does the same work in roughly half (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "Use your AI subscriptions and API keys from any tool"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the proxy (the default).
    Serve {
        /// Config file; default `<user config dir>/switchyard/config.yaml`, created on first run.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Work with config files.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// List the models the config serves and where each one goes.
    Models {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Log into a Claude or Codex subscription (opens the browser; a pasted answer works too).
    Login(accounts_cli::LoginArgs),
    /// List the accounts: provider, email, plan, status and quota.
    Accounts(accounts_cli::AccountsArgs),
    /// Show one account (by id or email) and change its label, priority, prefix, enabled state.
    Account(accounts_cli::AccountArgs),
    /// Remove an account and its tokens (by id or email).
    Logout(accounts_cli::LogoutArgs),
    /// Bring in an existing login: Claude Code's, Codex CLI's, or CLIProxyAPI's auth-dir files.
    Import(accounts_cli::ImportArgs),
    /// Write an account as a CLIProxyAPI auth file.
    Export(accounts_cli::ExportArgs),
    /// Requests and tokens by model and credential; `usage export` / `usage import` move the history.
    Usage(usage_cli::UsageArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a config file and print every problem with its line and column.
    Check { path: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve { config: None }) {
        Command::Serve { config } => serve(config),
        Command::Config {
            command: ConfigCommand::Check { path },
        } => check(&path),
        Command::Models { config } => models(config),
        Command::Login(args) => accounts_cli::login(args),
        Command::Accounts(args) => accounts_cli::accounts(args),
        Command::Account(args) => accounts_cli::account(args),
        Command::Logout(args) => accounts_cli::logout(args),
        Command::Import(args) => accounts_cli::import(args),
        Command::Export(args) => accounts_cli::export(args),
        Command::Usage(args) => usage_cli::usage(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("switchyard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config_path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    // RUST_LOG wins; otherwise the config's `debug` picks the level, and follows reloads.
    let from_env = std::env::var("RUST_LOG").ok();
    let initial = from_env.clone().unwrap_or_else(|| "info".into());
    let (filter, level) = reload::Layer::new(EnvFilter::new(initial));
    use tracing_subscriber::prelude::*;
    tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colour codes only for a person at a terminal: not in log files, and they cost CPU.
                .with_ansi(std::io::stderr().is_terminal()),
        )
        // The Logs page's live tail.
        .with(switchyard::logs::layer())
        .init();
    let on_config: switchyard::app::ConfigHook = Arc::new(move |cfg| {
        if from_env.is_none() {
            let wanted = if cfg.debug { "debug" } else { "info" };
            let _ = level.modify(|f| *f = EnvFilter::new(wanted));
        }
    });
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let mut signals =
            ShutdownSignals::install().context("cannot listen for shutdown signals")?;
        let mut proxy = switchyard::start(StartOptions {
            config_path,
            on_config: Some(on_config),
        })
        .await?;
        if let Some(first) = proxy.first_run() {
            println!(
                "Created {} with a new client key.",
                proxy.config_path().display()
            );
            println!(
                "Your client key (shown once; it is also in that file): {}",
                first.client_key
            );
        }
        println!("Switchyard listening on {}", proxy.base_url());
        let _ = std::io::stdout().flush();
        tokio::select! {
            why = proxy.stopped() => anyhow::bail!("{why}"),
            () = signals.recv() => {}
        }
        tracing::info!("shutting down: finishing in-flight requests");
        proxy.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// SIGINT or SIGTERM (Ctrl+C or Ctrl+Break on Windows). The handlers are installed when this is created,
/// before "listening" is printed: a signal sent the moment a supervisor sees that line must still mean a
/// clean shutdown, not the default action (killed, exit 130).
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
    #[cfg(windows)]
    ctrl_break: tokio::signal::windows::CtrlBreak,
}

impl ShutdownSignals {
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(ShutdownSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(windows)]
        {
            Ok(ShutdownSignals {
                ctrl_c: tokio::signal::windows::ctrl_c()?,
                ctrl_break: tokio::signal::windows::ctrl_break()?,
            })
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(windows)]
        tokio::select! {
            _ = self.ctrl_c.recv() => {}
            _ = self.ctrl_break.recv() => {}
        }
    }
}

fn check(path: &Path) -> anyhow::Result<ExitCode> {
    match config::load_file(path) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                println!("{}:{w}", path.display());
            }
            let registry = Registry::build(&loaded.config);
            println!(
                "{}: ok ({} credentials, {} models, {} warnings)",
                path.display(),
                loaded.config.credentials.len(),
                registry.models().count(),
                loaded.warnings.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            for d in &e.problems {
                println!("{}:{d}", path.display());
            }
            let errors = e
                .problems
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            println!("{}: {errors} error(s)", path.display());
            Ok(ExitCode::FAILURE)
        }
    }
}

fn models(config_path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let path = config_path.unwrap_or_else(config::default_config_path);
    let loaded = config::load_file(&path)?;
    let registry = Registry::build(&loaded.config);
    let rows: Vec<[String; 4]> = registry
        .models()
        .flat_map(|m| {
            m.routes.iter().map(|r| {
                [
                    m.id.clone(),
                    r.cred.provider.to_string(),
                    r.upstream_model.clone(),
                    r.cred.label.clone(),
                ]
            })
        })
        .collect();
    if rows.is_empty() {
        println!(
            "{} serves no models yet: add a key list such as `claude-api-key`.",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    print_table(["MODEL", "PROVIDER", "UPSTREAM MODEL", "CREDENTIAL"], &rows);
    Ok(ExitCode::SUCCESS)
}

/// Left-aligned columns, two spaces apart, the header first.
fn print_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) {
    let header = header.map(String::from);
    let widths: Vec<usize> = (0..N)
        .map(|i| {
            rows.iter()
                .chain([&header])
                .map(|r| r[i].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in [&header].into_iter().chain(rows) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}
