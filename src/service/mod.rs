//! The one service layer: everything the management UI, the tray and the management HTTP API can ask of a
//! running proxy. The desktop app's IPC commands and `/v0/management` both call these functions, so the
//! two can never disagree. Every answer is a plain serde type, the same over both transports
//! (docs/management-api.md lists them).

mod auth_files;
mod hub;
mod settings;
mod usage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use auth_files::ImportedAccount;
pub use hub::{AccountsHub, AccountsWatch, Opened};
pub use settings::{SettingsPatch, SettingsView};
pub use usage::{
    EventsPage, EventsQuery, ImportResult, RecorderView, RequestDetail, TodayUsage, UsageSummary,
};

use crate::accounts::login::{AccountSummary, LoginId, LoginMethod, LoginStatus, LoginTicket};
use crate::accounts::quota::Quota;
pub use crate::accounts::AccountPatch;
use crate::accounts::{routable, Account, AccountId, Provider};
use crate::config::{self, Diagnostic, Severity};
use crate::logs::{self, LogLine};
use crate::server::AppState;

/// How long an accounts listing waits for the providers' quota answers together.
const QUOTA_WAIT: Duration = Duration::from_secs(10);

/// Why a call failed, in words for a person, with a kind each transport maps to its own status.
#[derive(Debug, Clone, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub kind: ErrorKind,
    pub message: String,
    /// Config problems with their positions, when a config was refused.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input is wrong; the message says how.
    Invalid,
    NotFound,
    /// The proxy cannot do it right now (the keychain is locked, a port is taken, …).
    Unavailable,
    Internal,
}

impl ServiceError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceError {
            kind,
            message: message.into(),
            problems: Vec::new(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::Internal, e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, ServiceError>;

/// One problem in a config text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// `error` or `warning`.
    pub severity: &'static str,
    pub message: String,
}

impl From<&Diagnostic> for Problem {
    fn from(d: &Diagnostic) -> Self {
        Problem {
            line: d.pos.line,
            column: d.pos.col,
            severity: match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            },
            message: d.message.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusView {
    pub version: &'static str,
    /// The base URL clients use (`http://127.0.0.1:8317`); OpenAI clients add `/v1`.
    pub endpoint: String,
    pub config_path: String,
    /// Whether clients must send one of the config's `api-keys`.
    pub client_key_required: bool,
    /// Logged-in accounts, and how many of them can serve now.
    pub accounts: usize,
    pub accounts_ready: usize,
    /// Keys from the config (`claude-api-key`, …).
    pub config_credentials: usize,
    pub models: usize,
}

/// An account as a listing shows it: the account, its quota (or why not) and its cooldowns.
#[derive(Debug, Clone, Serialize)]
pub struct AccountView {
    #[serde(flatten)]
    pub account: Account,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota: Option<Quota>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_error: Option<String>,
    pub cooldowns: Vec<CooldownView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CooldownView {
    pub model: String,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// The upstream status that caused it; absent for a connection failure.
    pub status: Option<u16>,
}

/// How a login proves who the user is (see [`LoginMethod`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginMethodName {
    /// The browser comes back to a loopback port; a pasted address works too.
    Browser,
    /// No local port: the user pastes the final address (Claude shows a `code#state`).
    Paste,
    /// Codex: a code entered at the provider's page.
    Device,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoginView {
    pub id: String,
    pub provider: Provider,
    pub method: LoginMethodName,
    /// The page to open (browser and paste logins).
    pub url: Option<String>,
    /// Device logins: the code to enter at `verification_url`.
    pub user_code: Option<String>,
    pub verification_url: Option<String>,
    /// The loopback port the browser returns to.
    pub callback_port: Option<u16>,
    /// The OAuth `state` the provider sends back (browser and paste logins); CLIProxyAPI's tools name
    /// logins by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub status: LoginState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum LoginState {
    Pending,
    Succeeded {
        account: String,
        provider: Provider,
        email: Option<String>,
        plan: Option<String>,
        /// True when an existing account got the new tokens.
        updated: bool,
    },
    Failed {
        message: String,
    },
    Cancelled,
}

impl From<LoginStatus> for LoginState {
    fn from(s: LoginStatus) -> Self {
        match s {
            LoginStatus::Pending => LoginState::Pending,
            LoginStatus::Succeeded(AccountSummary {
                id,
                provider,
                email,
                plan,
                updated,
            }) => LoginState::Succeeded {
                account: id.to_string(),
                provider,
                email,
                plan,
                updated,
            },
            LoginStatus::Failed(message) => LoginState::Failed { message },
            LoginStatus::Cancelled => LoginState::Cancelled,
        }
    }
}

/// A model the proxy serves and who serves it.
#[derive(Debug, Clone, Serialize)]
pub struct ModelView {
    pub id: String,
    pub display_name: String,
    /// `anthropic`, `openai`, `google`, or an OpenAI-compatible provider's name.
    pub owned_by: String,
    pub routes: Vec<RouteView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteView {
    /// The key entry (`claude-api-key[0]`) or account (`claude account you@example.com`).
    pub credential: String,
    /// The model name the upstream receives.
    pub upstream_model: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ConfigText {
    pub path: String,
    pub yaml: String,
}

pub struct Service {
    state: Arc<AppState>,
    hub: Arc<AccountsHub>,
    config_path: PathBuf,
    /// Held while the config file is written and applied, by this service and by the file watcher,
    /// so two quick edits cannot interleave and an older read is never applied over a newer write.
    config_write: Arc<tokio::sync::Mutex<()>>,
}

impl Service {
    /// Usage history, request logs and metrics of the running proxy.
    pub fn usage(&self) -> &Arc<crate::usage::Usage> {
        self.state.usage()
    }

    pub fn new(
        state: Arc<AppState>,
        hub: Arc<AccountsHub>,
        config_path: PathBuf,
        config_write: Arc<tokio::sync::Mutex<()>>,
    ) -> Self {
        Service {
            state,
            hub,
            config_path,
            config_write,
        }
    }

    /// Sees a new value whenever the config or the account list changed (a tray redraws on it).
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.state.changes()
    }

    pub async fn status(&self) -> Result<StatusView> {
        let live = self.state.live();
        let accounts = match self.hub.get() {
            Some(opened) => list(&opened).await?,
            None => Vec::new(),
        };
        let ready = accounts.iter().filter(|a| routable::can_serve(a)).count();
        Ok(StatusView {
            version: env!("CARGO_PKG_VERSION"),
            endpoint: self.state.endpoint(),
            config_path: self.config_path.display().to_string(),
            client_key_required: !live.config.api_keys.is_empty(),
            accounts: accounts.len(),
            accounts_ready: ready,
            config_credentials: live.config.credentials.len(),
            models: live.registry.models().count(),
        })
    }

    /// Every account with its cooldowns and, when `with_quota`, its quota (fetched within 10 s).
    pub async fn accounts(&self, with_quota: bool) -> Result<Vec<AccountView>> {
        let Some(opened) = self.hub.get() else {
            return Ok(Vec::new());
        };
        let accounts = list(&opened).await?;
        let quotas = if with_quota {
            opened.quota.for_listing(&accounts, QUOTA_WAIT).await
        } else {
            Vec::new()
        };
        let wall = OffsetDateTime::now_utc();
        let resting = self
            .state
            .cooldowns()
            .resting(tokio::time::Instant::now(), |c| {
                routable::account_of(c).is_some()
            });
        let mut quotas = quotas.into_iter();
        Ok(accounts
            .into_iter()
            .map(|account| {
                let credential = routable::credential_id(&account.id);
                let cooldowns = resting
                    .iter()
                    .filter(|r| r.cred == credential)
                    .map(|r| CooldownView {
                        model: r.model.clone(),
                        until: wall + r.remaining,
                        status: r.status,
                    })
                    .collect();
                let (quota, quota_error) = match quotas.next() {
                    Some(Ok(q)) => (Some(q), None),
                    Some(Err(why)) => (None, Some(why)),
                    None => (None, None),
                };
                AccountView {
                    account,
                    quota,
                    quota_error,
                    cooldowns,
                }
            })
            .collect())
    }

    /// Changes an account's settings; the proxy routes with them from the next request.
    pub async fn update_account(&self, id: &str, patch: AccountPatch) -> Result<Account> {
        let opened = self.opened_for(id)?;
        let id = parse_account_id(id)?;
        let store = opened.store.clone();
        let updated = tokio::task::spawn_blocking(move || store.update(&id, |a| patch.apply(a)))
            .await
            .map_err(ServiceError::internal)?
            .map_err(accounts_error)?;
        self.hub.changed();
        Ok(updated)
    }

    /// Removes an account and its tokens.
    pub async fn remove_account(&self, id: &str) -> Result<()> {
        let opened = self.opened_for(id)?;
        let id = parse_account_id(id)?;
        let store = opened.store.clone();
        tokio::task::spawn_blocking(move || match store.get(&id)? {
            Some(_) => store.remove(&id),
            None => Err(crate::accounts::AccountsError::NotFound(id.to_string())),
        })
        .await
        .map_err(ServiceError::internal)?
        .map_err(accounts_error)?;
        self.hub.changed();
        Ok(())
    }

    /// Starts a login; poll [`Service::login`] for its outcome.
    pub async fn start_login(
        &self,
        provider: Provider,
        method: LoginMethodName,
    ) -> Result<LoginView> {
        let opened = self
            .hub
            .open()
            .await
            .map_err(|why| ServiceError::new(ErrorKind::Unavailable, why))?;
        let login_method = match method {
            LoginMethodName::Browser => LoginMethod::Callback,
            LoginMethodName::Paste => LoginMethod::Paste,
            LoginMethodName::Device => LoginMethod::Device,
        };
        let ticket = opened
            .logins
            .start(provider, login_method)
            .await
            .map_err(|e| ServiceError::new(ErrorKind::Unavailable, e.to_string()))?;
        // Requests see a new account as soon as the login ends, not at the next look at the disk.
        let (logins, hub, id) = (opened.logins.clone(), self.hub.clone(), ticket.id.clone());
        tokio::spawn(async move {
            if let Ok(LoginStatus::Succeeded(_)) = logins.wait(&id).await {
                hub.changed();
            }
        });
        Ok(view(ticket, method, LoginState::Pending))
    }

    /// Where a login stands.
    pub fn login(&self, id: &str) -> Result<LoginState> {
        let opened = self.logins_open()?;
        opened
            .logins
            .status(&LoginId::from(id))
            .map(LoginState::from)
            .ok_or_else(|| ServiceError::new(ErrorKind::NotFound, format!("no login {id}")))
    }

    /// Feeds a login the address the browser ended on (or Claude's `code#state`).
    pub fn submit_login(&self, id: &str, pasted: &str) -> Result<()> {
        let opened = self.logins_open()?;
        opened
            .logins
            .submit_pasted(&LoginId::from(id), pasted)
            .map_err(|e| ServiceError::invalid(e.to_string()))
    }

    pub async fn cancel_login(&self, id: &str) -> Result<()> {
        let opened = self.logins_open()?;
        opened
            .logins
            .cancel(&LoginId::from(id))
            .await
            .map(|_| ())
            .map_err(|e| ServiceError::invalid(e.to_string()))
    }

    /// What the proxy serves, from which credential, under which upstream name.
    pub fn models(&self) -> Vec<ModelView> {
        let live = self.state.live();
        live.registry
            .models()
            .map(|m| ModelView {
                id: m.id.clone(),
                display_name: m.display_name.clone(),
                owned_by: m.owner().to_string(),
                routes: m
                    .routes
                    .iter()
                    .map(|r| RouteView {
                        credential: r.cred.label.clone(),
                        upstream_model: r.upstream_model.clone(),
                    })
                    .collect(),
            })
            .collect()
    }

    /// The config file as it is on disk.
    pub async fn config(&self) -> Result<ConfigText> {
        Ok(ConfigText {
            path: self.config_path.display().to_string(),
            yaml: self.read_config().await?,
        })
    }

    /// Every problem `yaml` would have as the config, without saving it.
    pub fn check_config(&self, yaml: &str) -> Vec<Problem> {
        match self.load(yaml) {
            Ok(loaded) => loaded.warnings.iter().map(Problem::from).collect(),
            Err(problems) => problems.iter().map(Problem::from).collect(),
        }
    }

    /// Replaces the config file with `yaml` if it is a valid config, and applies it at once.
    /// Returns its warnings.
    pub async fn save_config(&self, yaml: &str) -> Result<Vec<Problem>> {
        let _writing = self.config_write.lock().await;
        self.write_config(yaml).await
    }

    /// Lines logged after `after` at `level` or more severe (`error` … `trace`), oldest first.
    pub fn logs(&self, after: u64, level: &str, limit: usize) -> Result<Vec<LogLine>> {
        let level = logs::parse_level(level).ok_or_else(|| {
            ServiceError::invalid(format!(
                "unknown log level `{level}`: use error, warn, info, debug or trace"
            ))
        })?;
        Ok(logs::tail(after, level, limit.min(1000)))
    }

    fn load(&self, yaml: &str) -> std::result::Result<config::Loaded, Vec<Diagnostic>> {
        let dir = self
            .config_path
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        config::load_str(yaml, &dir, &|name| std::env::var(name).ok())
    }

    async fn read_config(&self) -> Result<String> {
        let path = self.config_path.clone();
        tokio::task::spawn_blocking(move || std::fs::read_to_string(&path))
            .await
            .map_err(ServiceError::internal)?
            .map_err(|e| {
                ServiceError::new(
                    ErrorKind::Unavailable,
                    format!("cannot read {}: {e}", self.config_path.display()),
                )
            })
    }

    /// Validates and writes `yaml` (the caller holds `config_write`), then applies it.
    async fn write_config(&self, yaml: &str) -> Result<Vec<Problem>> {
        let loaded = self.load(yaml).map_err(|problems| ServiceError {
            kind: ErrorKind::Invalid,
            message: format!(
                "the config has {} problem{}; nothing was saved",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            ),
            problems: problems.iter().map(Problem::from).collect(),
        })?;
        let (path, bytes) = (self.config_path.clone(), yaml.as_bytes().to_vec());
        tokio::task::spawn_blocking(move || config::write_config_file(&path, &bytes))
            .await
            .map_err(ServiceError::internal)?
            .map_err(|e| {
                ServiceError::new(
                    ErrorKind::Unavailable,
                    format!("cannot write {}: {e}", self.config_path.display()),
                )
            })?;
        // The file watcher would apply it within a second; the UI that saved it should see it now.
        self.state.reload(loaded.config.clone());
        Ok(loaded.warnings.iter().map(Problem::from).collect())
    }

    fn opened_for(&self, id: &str) -> Result<Arc<Opened>> {
        self.hub
            .get()
            .ok_or_else(|| ServiceError::new(ErrorKind::NotFound, format!("no account {id}")))
    }

    fn logins_open(&self) -> Result<Arc<Opened>> {
        self.hub
            .get()
            .ok_or_else(|| ServiceError::new(ErrorKind::NotFound, "no login was started"))
    }
}

fn view(ticket: LoginTicket, method: LoginMethodName, status: LoginState) -> LoginView {
    LoginView {
        id: ticket.id.to_string(),
        provider: ticket.provider,
        method,
        url: ticket.url,
        user_code: ticket.user_code,
        verification_url: ticket.verification_url,
        callback_port: ticket.callback_port,
        state: ticket.state,
        status,
    }
}

async fn list(opened: &Opened) -> Result<Vec<Account>> {
    let store = opened.store.clone();
    tokio::task::spawn_blocking(move || store.list())
        .await
        .map_err(ServiceError::internal)?
        .map_err(accounts_error)
}

fn parse_account_id(id: &str) -> Result<AccountId> {
    AccountId::parse(id).map_err(|e| ServiceError::new(ErrorKind::NotFound, e.to_string()))
}

fn accounts_error(e: crate::accounts::AccountsError) -> ServiceError {
    match e {
        crate::accounts::AccountsError::NotFound(id) => {
            ServiceError::new(ErrorKind::NotFound, format!("no account {id}"))
        }
        other => ServiceError::new(ErrorKind::Unavailable, other.to_string()),
    }
}
