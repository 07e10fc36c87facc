//! Configuration: CLIProxyAPI-compatible YAML, validated with positions, resolved into an immutable
//! [`Config`] snapshot; [`ConfigWatcher`] hot-reloads it.

mod defaults;
pub mod edit;
mod endpoints;
mod oauth;
mod raw;
mod resolve;
mod schema;
mod watch;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::accounts::SecretStoreChoice;
use secrecy::SecretString;

pub use defaults::{
    default_config_path, default_usage_database, ensure_default_config, generate_client_key,
    write_config_file, FirstRun,
};
pub use endpoints::{
    ClaudeEndpoints, CodexEndpoints, Endpoints, CLAUDE_CALLBACK_PORT, CODEX_CALLBACK_PORT,
};
pub use watch::{ConfigWatcher, OnReload};
pub use yaml::Pos;

/// An upstream family Switchyard can send requests to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// Anthropic Messages (`claude-api-key`).
    Claude,
    /// OpenAI Responses as the Codex backend speaks it (`codex-api-key`).
    Codex,
    /// Google Gemini (`gemini-api-key`).
    Gemini,
    /// Any OpenAI Chat Completions server (`openai-compatibility`).
    OpenAiCompat,
}

impl Provider {
    /// The config key that declares credentials of this provider.
    pub fn config_key(self) -> &'static str {
        match self {
            Provider::Claude => "claude-api-key",
            Provider::Codex => "codex-api-key",
            Provider::Gemini => "gemini-api-key",
            Provider::OpenAiCompat => "openai-compatibility",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Provider::Claude => "claude",
            Provider::Codex => "codex",
            Provider::Gemini => "gemini",
            Provider::OpenAiCompat => "openai-compatible",
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How to pick among several credentials that serve a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    RoundRobin,
    FillFirst,
}

/// Where upstream traffic goes: straight out, or through a proxy.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProxySetting {
    /// `direct` / `none`: bypass the global proxy and environment proxies.
    Direct,
    /// `http://`, `https://`, `socks5://` or `socks5h://`.
    Url(String),
}

impl ProxySetting {
    /// A `proxy-url` value: `None` when empty; an error naming what is wrong otherwise.
    pub fn parse(value: &str) -> Result<Option<ProxySetting>, String> {
        let value = value.trim();
        if value.is_empty() {
            return Ok(None);
        }
        if value.eq_ignore_ascii_case("direct") || value.eq_ignore_ascii_case("none") {
            return Ok(Some(ProxySetting::Direct));
        }
        match url::Url::parse(value) {
            Ok(u) if matches!(u.scheme(), "http" | "https" | "socks5" | "socks5h") => {
                Ok(Some(ProxySetting::Url(value.to_string())))
            }
            Ok(u) => Err(format!(
                "has scheme `{}`; use http, https, socks5, socks5h or `direct`",
                u.scheme()
            )),
            Err(e) => Err(format!("is not a URL: {e}")),
        }
    }

    /// Routes a client's traffic as this setting says (`None` elsewhere means the environment's proxy).
    pub fn apply(
        &self,
        builder: reqwest::ClientBuilder,
    ) -> Result<reqwest::ClientBuilder, reqwest::Error> {
        Ok(match self {
            ProxySetting::Direct => builder.no_proxy(),
            ProxySetting::Url(url) => builder.proxy(reqwest::Proxy::all(url)?),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelAlias {
    /// What the upstream is asked for.
    pub name: String,
    /// What clients ask for (the name itself when no alias is given).
    pub alias: String,
}

/// An `oauth-model-alias` entry: a built-in catalog model offered to clients under another name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogAlias {
    pub model: ModelAlias,
    /// Keep serving the catalog name too; without `fork` the alias replaces it.
    pub fork: bool,
}

/// What `oauth-excluded-models` and `oauth-model-alias` say about one kind of logged-in account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountModels {
    /// Added to each account's own `excluded_models`.
    pub excluded_models: Vec<String>,
    pub aliases: Vec<CatalogAlias>,
}

/// How a credential proves itself upstream.
#[derive(Debug)]
pub enum CredentialAuth {
    /// A key from the config file.
    ApiKey(SecretString),
    /// A logged-in subscription account (`switchyard login`): its access token comes from the account
    /// store at request time, refreshed as needed. `workspace` is Codex's `chatgpt-account-id`.
    Account {
        id: String,
        workspace: Option<String>,
    },
}

/// One upstream credential: a key entry (or one `api-key-entries` item of an OpenAI-compatible provider),
/// or a logged-in account.
#[derive(Debug)]
pub struct Credential {
    /// Stable across reloads as long as provider, key and base URL stay the same; cooldowns hang off it.
    pub id: String,
    /// Where it was declared, e.g. `claude-api-key[1]`, for logs and `switchyard models`.
    pub label: String,
    pub provider: Provider,
    /// The `name` of an `openai-compatibility` provider.
    pub compat_name: Option<String>,
    pub auth: CredentialAuth,
    /// Parsed once at load; a request appends its endpoint's path to this one's.
    pub base_url: url::Url,
    pub prefix: Option<String>,
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub proxy: Option<ProxySetting>,
    /// Empty means the provider's built-in catalog.
    pub models: Vec<ModelAlias>,
    /// Renames of the built-in catalog (used only when `models` is empty): a logged-in account's
    /// `oauth-model-alias` entries. Key entries rename through `models` instead.
    pub catalog_aliases: Vec<CatalogAlias>,
    pub excluded_models: Vec<String>,
    /// Higher wins: a request goes to the highest-priority credentials that can serve it, and to lower
    /// ones only while those cool down. Config keys are 0.
    pub priority: i64,
}

#[derive(Debug, Clone)]
pub struct Tls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Default)]
pub struct RemoteManagement {
    pub allow_remote: bool,
    pub secret_key: Option<SecretString>,
}

/// Usage history, request logs and metrics (`usage-statistics-enabled`, `usage-database-path`, …).
#[derive(Debug, Clone)]
pub struct UsageConfig {
    /// Record one event per request; flips at runtime on reload.
    pub enabled: bool,
    /// The SQLite file; a change takes effect after a restart.
    pub database: PathBuf,
    /// Events older than this many days are deleted; 0 keeps them forever.
    pub retention_days: u32,
    /// Keep each request's full (masked) request and response.
    pub request_log: bool,
    /// The request log's size cap; the oldest entries go first.
    pub request_log_max_bytes: u64,
    /// When set, `/metrics` wants it as a bearer token; without it, `/metrics` answers loopback only.
    pub metrics_key: Option<SecretString>,
}

/// Who besides local programs may call the proxy (see `server::guard`).
#[derive(Debug, Clone, Default)]
pub struct BrowserAccess {
    pub allowed_origins: Vec<String>,
    pub allowed_hosts: Vec<String>,
}

/// One immutable, validated configuration. Requests keep the snapshot they started with.
#[derive(Debug)]
pub struct Config {
    /// Empty means every interface, as in CLIProxyAPI.
    pub host: String,
    pub port: u16,
    pub tls: Option<Tls>,
    /// Client keys; empty means no key is required.
    pub api_keys: Vec<SecretString>,
    pub auth_dir: PathBuf,
    /// Where logged-in accounts' tokens live (`secret-store`): the OS keychain, files, or whichever answers.
    pub secret_store: SecretStoreChoice,
    pub debug: bool,
    pub proxy: Option<ProxySetting>,
    /// Further attempts after the first one fails in a retryable way.
    pub request_retry: u32,
    /// The longest we wait for a cooling credential before answering `model_cooldown`.
    pub max_retry_interval: Duration,
    pub strategy: Strategy,
    pub remote_management: RemoteManagement,
    pub strict: bool,
    pub browser_access: BrowserAccess,
    /// How long in-flight requests may run on after a shutdown signal.
    pub shutdown_timeout: Duration,
    /// How long a translated stream may stay silent before the client gets a keep-alive; `None` disables.
    pub keepalive: Option<Duration>,
    /// Usage history, request logs and metrics.
    pub usage: UsageConfig,
    pub credentials: Vec<Arc<Credential>>,
    /// Where the Claude and Codex OAuth and API servers are (`endpoints:`).
    pub endpoints: Endpoints,
    /// `oauth-excluded-models` and `oauth-model-alias` for the kinds of account Switchyard logs in
    /// (Claude, Codex); a provider without an entry has neither.
    pub account_models: BTreeMap<Provider, AccountModels>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about a config file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub pos: Pos,
    pub severity: Severity,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {level}: {}", self.pos, self.message)
    }
}

/// A config that loaded, with the warnings found on the way.
#[derive(Debug)]
pub struct Loaded {
    pub config: Arc<Config>,
    pub warnings: Vec<Diagnostic>,
}

/// A config that did not load: every error found, each with its line and column.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub path: PathBuf,
    pub problems: Vec<Diagnostic>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = self
            .problems
            .iter()
            .filter(|d| d.severity == Severity::Error);
        for (i, d) in errors.enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{d}", self.path.display())?;
        }
        Ok(())
    }
}

/// Where `os.environ/NAME` values come from; a parameter so tests need not touch the process environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads the process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Parses and validates config text. `dir` anchors relative paths (the config file's folder).
pub fn load_str(text: &str, dir: &Path, env: EnvLookup<'_>) -> Result<Loaded, Vec<Diagnostic>> {
    resolve::resolve(text, dir, env)
}

/// Reads, parses and validates a config file.
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let fail = |message: String| ConfigError {
        path: path.to_path_buf(),
        problems: vec![Diagnostic {
            pos: Pos { line: 0, col: 0 },
            severity: Severity::Error,
            message,
        }],
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read: {e}")))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    load_str(&text, dir, &process_env).map_err(|problems| ConfigError {
        path: path.to_path_buf(),
        problems,
    })
}
