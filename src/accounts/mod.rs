//! Credentials: who the user's upstream accounts are, where their secrets live, and how they come in
//! from other tools.
//!
//! - [`model`]: [`Account`] (non-secret metadata, identity, the user's settings) and [`Tokens`] (secrets).
//! - [`secret`]: the [`SecretStore`] trait with the OS keychain and a file fallback for headless machines.
//! - [`store`]: [`AccountStore`], the one service the CLI, the management API and the tray call.
//! - [`refresh`]: [`refresh::TokenSource`], access tokens kept fresh (single flight, persist first,
//!   backoff, needs-login) and the background refresh scheduler.
//! - [`quota`]: [`quota::QuotaService`], each account's usage windows from the provider, cached briefly.
//! - [`cliproxy`]: CLIProxyAPI auth-dir files in and out; [`import`]: Claude Code and Codex CLI logins.
//!
//! Everything here is synchronous and quick (small files, one keychain round trip); async callers wrap
//! calls in `tokio::task::spawn_blocking` when they sit on a hot path.

pub mod cliproxy;
pub(crate) mod fsutil;
pub mod import;
pub mod jwt;
pub mod login;
pub mod model;
pub mod oauth;
pub mod quota;
pub mod refresh;
pub mod resting;
pub mod routable;
pub mod secret;
pub mod store;
mod tokens;
pub mod watch;

use std::path::PathBuf;

pub use model::{
    Account, AccountId, AccountPatch, Identity, Origin, OriginKind, Provider, Settings, Status,
};
pub use secret::{open_secret_store, SecretStore, SecretStoreChoice};
pub use store::{AccountStore, SettingsMode, Upserted};
pub use tokens::{ExtraFields, Tokens};

/// An account read from somewhere else (a CLIProxyAPI file, Claude Code, Codex CLI), ready for
/// [`AccountStore::upsert`].
#[derive(Debug, Clone)]
pub struct Imported {
    pub account: Account,
    pub tokens: Tokens,
}

/// Everything that can go wrong in the accounts layer.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not valid JSON for this file: {source}", path.display())]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{}: {reason}", path.display())]
    InvalidFile { path: PathBuf, reason: String },
    #[error("{what} not found at {}{}", path.display(), hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    SourceMissing {
        what: &'static str,
        path: PathBuf,
        hint: Option<String>,
    },
    #[error("the OS keychain did not answer: {0}")]
    KeychainUnavailable(String),
    #[error("the OS keychain failed: {0}")]
    Keychain(#[from] keyring::Error),
    #[error("the stored secret for account {id} is damaged: {reason}")]
    CorruptSecret { id: String, reason: String },
    #[error("no account {0}")]
    NotFound(String),
    #[error("invalid account id {0:?}: use 1-64 characters a-z, 0-9, '-', '_' or '.'")]
    InvalidId(String),
    #[error("not a JWT: {0}")]
    Jwt(String),
}

/// The accounts of a config's `auth-dir`: the account list in `<auth-dir>/switchyard/`, the tokens in
/// the OS keychain or, with the file store, as `switchyard-<id>.json` in auth-dir itself (the
/// CLIProxyAPI auth-file reader skips those names). One folder the user already chose, so a
/// `--config` with its own auth-dir keeps everything apart.
pub fn open_account_store(
    auth_dir: &std::path::Path,
    choice: SecretStoreChoice,
) -> Result<AccountStore, AccountsError> {
    let secrets = open_secret_store(choice, auth_dir)?;
    AccountStore::open(&auth_dir.join("switchyard"), secrets)
}

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AccountsError {
    let path = path.into();
    move |source| AccountsError::Io { path, source }
}
