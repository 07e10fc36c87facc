//! `switchyard login`, `accounts` and `logout`: the terminal face of the login service and the
//! account store.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use switchyard::accounts::login::{
    LoginMethod, LoginOptions, LoginService, LoginStatus, LoginTicket,
};
use switchyard::accounts::quota::{span, Quota, QuotaOptions, QuotaService};
use switchyard::accounts::refresh::{RefreshOptions, TokenSource};
use switchyard::accounts::resting::RestingAccount;
use switchyard::accounts::{
    cliproxy, import, open_account_store, Account, AccountPatch, AccountStore, Provider,
    SecretStoreChoice, SettingsMode, Upserted,
};
use switchyard::config::{self, Config};
use time::OffsetDateTime;

/// Flags every account command shares.
#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// Config file (for `auth-dir` and `endpoints`); default `<user config dir>/switchyard/config.yaml`.
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Where tokens live: `auto` (the OS keychain when one answers, else files in auth-dir),
    /// `keychain` or `file`; default: the config's `secret-store`, else `auto`.
    #[arg(long, value_parser = parse_choice)]
    secret_store: Option<SecretStoreChoice>,
}

fn parse_choice(s: &str) -> Result<SecretStoreChoice, String> {
    match s {
        "auto" => Ok(SecretStoreChoice::Auto),
        "keychain" => Ok(SecretStoreChoice::Keychain),
        "file" => Ok(SecretStoreChoice::File),
        _ => Err("use auto, keychain or file".into()),
    }
}

fn parse_provider(s: &str) -> Result<Provider, String> {
    s.parse().map_err(|()| "use claude or codex".to_string())
}

#[derive(clap::Args, Debug)]
pub struct LoginArgs {
    /// claude or codex.
    #[arg(value_parser = parse_provider)]
    provider: Provider,
    /// Codex: log in with a code entered at auth.openai.com (no local port, no browser here).
    #[arg(long, conflicts_with = "manual")]
    device: bool,
    /// Do not listen for the browser: paste the answer instead (Claude's page shows a code#state).
    #[arg(long)]
    manual: bool,
    /// Print the URL but do not open a browser.
    #[arg(long)]
    no_browser: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
    #[command(flatten)]
    store: StoreArgs,
}

/// The config named, or the default one when it exists, or built-in defaults.
fn load_config(path: Option<&PathBuf>) -> anyhow::Result<Arc<Config>> {
    let path = path.cloned().unwrap_or_else(config::default_config_path);
    if !path.exists() {
        let loaded = config::load_str("", std::path::Path::new("."), &config::process_env)
            .map_err(|_| anyhow::anyhow!("the built-in default config does not load"))?;
        return Ok(loaded.config);
    }
    Ok(config::load_file(&path)?.config)
}

fn open_store(args: &StoreArgs) -> anyhow::Result<(Arc<Config>, AccountStore)> {
    let cfg = load_config(args.config.as_ref())?;
    let choice = args.secret_store.unwrap_or(cfg.secret_store);
    let store = open_account_store(&cfg.auth_dir, choice)
        .with_context(|| format!("cannot open the accounts in {}", cfg.auth_dir.display()))?;
    Ok((cfg, store))
}

pub fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    let (cfg, store) = open_store(&args.store)?;
    let method = match (args.device, args.manual) {
        (true, _) => LoginMethod::Device,
        (_, true) => LoginMethod::Paste,
        _ => LoginMethod::Callback,
    };
    let options = LoginOptions {
        timeout: Duration::from_secs(args.timeout),
        proxy: cfg.proxy.clone(),
    };
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let service = LoginService::new(Arc::new(store), cfg.endpoints.clone(), options)?;
        let ticket = service.start(args.provider, method).await?;
        show(&ticket);
        if !args.no_browser {
            let target = ticket.url.as_ref().or(ticket.verification_url.as_ref());
            if let Some(url) = target {
                if let Err(e) = open_browser(url) {
                    eprintln!("(could not open a browser: {e}; open the URL yourself)");
                }
            }
        }
        let mut lines = stdin_lines();
        let outcome = loop {
            tokio::select! {
                status = service.wait(&ticket.id) => break status?,
                Some(line) = lines.recv(), if ticket.method != LoginMethod::Device => {
                    if line.trim().is_empty() {
                        continue;
                    }
                    // A bad paste is explained and the login keeps waiting.
                    if let Err(e) = service.submit_pasted(&ticket.id, &line) {
                        eprintln!("{e}");
                    }
                }
                _ = tokio::signal::ctrl_c() => {
                    service.cancel(&ticket.id).await?;
                    break LoginStatus::Cancelled;
                }
            }
        };
        match outcome {
            LoginStatus::Succeeded(summary) => {
                println!("{summary}");
                Ok(ExitCode::SUCCESS)
            }
            LoginStatus::Failed(why) => bail!("login failed: {why}"),
            LoginStatus::Cancelled => bail!("login cancelled"),
            LoginStatus::Pending => bail!("login ended while still pending"),
        }
    })
}

fn show(ticket: &LoginTicket) {
    let provider = ticket.provider;
    let mut out = std::io::stdout().lock();
    let _ = match (&ticket.url, &ticket.user_code, &ticket.verification_url) {
        (_, Some(code), Some(page)) => writeln!(
            out,
            "To log into {provider}, open this page:\n{page}\nand enter this code:\n{code}\nWaiting for approval…"
        ),
        (Some(url), _, _) if ticket.method == LoginMethod::Paste => writeln!(
            out,
            "To log into {provider}, open this URL and sign in:\n{url}\nThen paste the code the page shows (or the final address) here and press Enter:"
        ),
        (Some(url), _, _) => writeln!(
            out,
            "To log into {provider}, open this URL and sign in:\n{url}\nWaiting for the browser to come back to port {}… (or paste the final address here and press Enter)",
            ticket.callback_port.unwrap_or_default()
        ),
        _ => Ok(()),
    };
    // Whoever reads our output (a person or a test) needs the URL now, not at exit.
    let _ = out.flush();
}

/// Lines typed or piped on stdin, read on a thread of their own (stdin has no async reader that
/// works on every platform).
fn stdin_lines() -> tokio::sync::mpsc::Receiver<String> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Opens `url` in the default browser; a failure is the caller's to report, never fatal.
fn open_browser(url: &str) -> std::io::Result<()> {
    #[cfg(target_os = "macos")]
    let mut cmd = std::process::Command::new("open");
    #[cfg(windows)]
    let mut cmd = {
        // `start` would need cmd.exe quoting for the `&` in the URL; this handler takes it as is.
        let mut c = std::process::Command::new("rundll32");
        c.arg("url.dll,FileProtocolHandler");
        c
    };
    #[cfg(all(unix, not(target_os = "macos")))]
    let mut cmd = std::process::Command::new("xdg-open");
    let mut child = cmd
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    // Reap the opener whenever it ends, so it never lingers as a zombie.
    std::thread::spawn(move || {
        let _ = child.wait();
    });
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct AccountsArgs {
    /// Print JSON (one array of account objects, each with `quota` or `quota_error`) instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// How long `accounts` waits for all the quotas together; a slow provider must not hang a listing.
const QUOTA_WAIT: Duration = Duration::from_secs(10);

pub fn accounts(args: AccountsArgs) -> anyhow::Result<ExitCode> {
    let (cfg, store) = open_store(&args.store)?;
    let list = store.list()?;
    if list.is_empty() {
        if args.json {
            println!("[]");
        } else {
            println!("No accounts yet: `switchyard login claude` or `switchyard login codex`.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let now = OffsetDateTime::now_utc();
    let resting = store.resting(now);
    let resting_of = |a: &Account| -> Vec<&RestingAccount> {
        resting.iter().filter(|r| r.account == a.id).collect()
    };
    let quotas = fetch_quotas(&cfg, Arc::new(store), &list)?;
    if args.json {
        let mut rows = Vec::with_capacity(list.len());
        for (account, quota) in list.iter().zip(quotas) {
            let mut row = serde_json::to_value(account)?;
            if let Some(fields) = row.as_object_mut() {
                let (key, value) = match quota {
                    Ok(q) => ("quota", serde_json::to_value(q)?),
                    Err(why) => ("quota_error", why.into()),
                };
                fields.insert(key.into(), value);
                fields.insert(
                    "cooldowns".into(),
                    serde_json::to_value(resting_of(account))?,
                );
            }
            rows.push(row);
        }
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<[String; 7]> = list
        .iter()
        .zip(quotas)
        .map(|(a, quota)| {
            let status = serde_json::to_value(a.status)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let status = if a.settings.disabled {
                format!("{status}, disabled")
            } else {
                status
            };
            [
                a.id.to_string(),
                a.provider.to_string(),
                a.identity.email.clone().unwrap_or_else(|| "-".into()),
                a.plan.clone().unwrap_or_else(|| "-".into()),
                status,
                cooldowns_summary(&resting_of(a), now),
                quota.map_or_else(|why| why, |q| q.summary(now)),
            ]
        })
        .collect();
    crate::print_table(
        [
            "ID",
            "PROVIDER",
            "EMAIL",
            "PLAN",
            "STATUS",
            "COOLDOWNS",
            "QUOTA",
        ],
        &rows,
    );
    Ok(ExitCode::SUCCESS)
}

/// `gpt-5.1-codex 28m (429), …`, or `-` when the account rests for no model.
fn cooldowns_summary(resting: &[&RestingAccount], now: OffsetDateTime) -> String {
    if resting.is_empty() {
        return "-".into();
    }
    resting
        .iter()
        .map(|r| {
            let left = span((r.until - now).unsigned_abs());
            match r.status {
                Some(status) => format!("{} {left} ({status})", r.model),
                None => format!("{} {left} (unreachable)", r.model),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Every account's quota, in `list`'s order, fetched concurrently; an account that cannot be asked
/// (disabled, logged out) or does not answer in time gets the reason instead.
fn fetch_quotas(
    cfg: &Config,
    store: Arc<AccountStore>,
    list: &[Account],
) -> anyhow::Result<Vec<Result<Quota, String>>> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let refresh = RefreshOptions {
            proxy: cfg.proxy.clone(),
            ..RefreshOptions::default()
        };
        let tokens = TokenSource::new(store.clone(), cfg.endpoints.clone(), refresh)?;
        let options = QuotaOptions {
            http_timeout: QUOTA_WAIT,
            proxy: cfg.proxy.clone(),
            ..QuotaOptions::default()
        };
        let service = QuotaService::new(store, tokens, cfg.endpoints.clone(), options)?;
        Ok(service.for_listing(list, QUOTA_WAIT).await)
    })
}

#[derive(clap::Args, Debug)]
pub struct LogoutArgs {
    /// The account's id or email.
    account: String,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn logout(args: LogoutArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open_store(&args.store)?;
    let account = find_one(&store, &args.account)?;
    store.remove(&account.id)?;
    println!("Removed {} and its tokens.", account.id);
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct AccountArgs {
    /// The account's id or email.
    account: String,
    /// A name to show instead of the email ("" removes it).
    #[arg(long)]
    label: Option<String>,
    /// Routing priority: only the highest priority with an available account is used.
    #[arg(long, allow_negative_numbers = true)]
    priority: Option<i64>,
    /// Also serve every model as `<prefix>/<model>` ("" removes it).
    #[arg(long)]
    prefix: Option<String>,
    /// Serve requests with this account again.
    #[arg(long, conflicts_with = "disable")]
    enable: bool,
    /// Keep the account but stop serving requests with it.
    #[arg(long)]
    disable: bool,
    /// Print the account as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    store: StoreArgs,
}

/// Shows one account, after applying the settings given; a running proxy applies them within a second.
pub fn account(args: AccountArgs) -> anyhow::Result<ExitCode> {
    let (_, store) = open_store(&args.store)?;
    let found = find_one(&store, &args.account)?;
    let patch = AccountPatch {
        label: args.label,
        priority: args.priority,
        prefix: args.prefix,
        enabled: (args.enable || args.disable).then_some(args.enable),
    };
    let account = if patch.is_empty() {
        found
    } else {
        store.update(&found.id, |a| patch.apply(a))?
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&account)?);
        return Ok(ExitCode::SUCCESS);
    }
    let s = &account.settings;
    let rows = [
        ("id", account.id.to_string()),
        ("provider", account.provider.to_string()),
        ("email", account.identity.email.clone().unwrap_or_default()),
        ("plan", account.plan.clone().unwrap_or_default()),
        ("label", s.label.clone().unwrap_or_default()),
        ("enabled", (!s.disabled).to_string()),
        ("priority", s.priority.to_string()),
        ("prefix", s.prefix.clone().unwrap_or_default()),
    ];
    for (name, value) in rows {
        println!("{name:<9} {value}");
    }
    Ok(ExitCode::SUCCESS)
}

/// The one account `wanted` names, by id or email.
fn find_one(store: &AccountStore, wanted: &str) -> anyhow::Result<Account> {
    let wanted = wanted.trim();
    let mut matches: Vec<Account> = store
        .list()?
        .into_iter()
        .filter(|a| {
            a.id.as_str() == wanted
                || a.identity
                    .email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(wanted))
        })
        .collect();
    match matches.len() {
        0 => bail!("no account {wanted:?}; `switchyard accounts` lists them"),
        1 => Ok(matches.remove(0)),
        n => {
            let ids: Vec<&str> = matches.iter().map(|a| a.id.as_str()).collect();
            bail!(
                "{wanted:?} names {n} accounts ({}); use an id",
                ids.join(", ")
            )
        }
    }
}

/// Where `switchyard import` reads from.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum ImportSource {
    /// Claude Code's login, `~/.claude/.credentials.json`.
    ClaudeCode,
    /// Codex CLI's login, `~/.codex/auth.json`.
    CodexCli,
    /// CLIProxyAPI's account files in the config's `auth-dir`.
    AuthDir,
}

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    source: ImportSource,
    #[command(flatten)]
    store: StoreArgs,
}

pub fn import(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let (cfg, store) = open_store(&args.store)?;
    let home = dirs::home_dir().context("cannot tell where your home folder is")?;
    let imported = match args.source {
        ImportSource::ClaudeCode => import::import_claude_code(&home)?,
        ImportSource::CodexCli => import::import_codex_cli(&home)?,
        ImportSource::AuthDir => {
            let r = cliproxy::reconcile_auth_dir(&store, &cfg.auth_dir)?;
            for (path, why) in &r.skipped {
                eprintln!("skipped {}: {why}", path.display());
            }
            println!(
                "{}: {} added, {} updated, {} removed.",
                cfg.auth_dir.display(),
                r.added.len(),
                r.changed.len(),
                r.removed.len()
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    let email = imported.account.identity.email.clone();
    let provider = imported.account.provider;
    let (verb, id) = match store.import(imported, SettingsMode::KeepExisting)? {
        Upserted::Added(id) => ("Added", id),
        Upserted::Updated(id) => ("Updated", id),
    };
    println!(
        "{verb} {provider} account {} ({id}).",
        email.as_deref().unwrap_or("without an email")
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args, Debug)]
pub struct ExportArgs {
    /// The account's id or email.
    account: String,
    /// Folder to write the CLIProxyAPI file into; default the config's `auth-dir`.
    #[arg(long)]
    dir: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

/// Writes an account as a CLIProxyAPI auth file, for going back or running both side by side.
pub fn export(args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (cfg, store) = open_store(&args.store)?;
    let account = find_one(&store, &args.account)?;
    let tokens = store
        .tokens(&account.id)?
        .with_context(|| format!("{} has no stored tokens; log in again", account.id))?;
    let dir = args.dir.unwrap_or_else(|| cfg.auth_dir.clone());
    let path = cliproxy::write_auth_file(&dir, &account, &tokens)?;
    println!(
        "Wrote {} (owner-only; it holds the tokens).",
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
