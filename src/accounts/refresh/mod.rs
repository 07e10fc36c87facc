//! Keeping OAuth access tokens usable: [`TokenSource`] hands executors the current access token of an
//! account, refreshing it first when it is about to expire or was refused with a 401, and a
//! background scheduler ([`TokenSource::spawn_scheduler`]) refreshes each account ahead of expiry.
//!
//! Rules (issue 4, item 5):
//! - Single flight per account: one refresh at a time; concurrent callers wait for it and get its
//!   result, so a burst of 401s costs one refresh.
//! - Persist first: a refresh's token pair is written to the secret store (one atomic `set`) and the
//!   account's expiry updated before anyone is handed the new access token. Codex refresh tokens are
//!   single-use, so a new pair that is used but not saved would lose the account at the next start.
//!   If writing fails the pair stays in memory (loudly logged) and the scheduler keeps trying to save it.
//! - A refresh token the provider refuses for good marks the account `needs-login` in the store and
//!   is never tried again until the store changes (a new login); other failures back off (30 s
//!   doubling to 30 min, jittered, at least `Retry-After`) while the current token keeps serving.
//! - The refresh itself runs in its own task: a caller that gives up (a client hanging up) cannot
//!   drop a rotated token pair between the provider's answer and the write.
//!
//! Crash safety (kill -9 at any point; `tests/refresh.rs` kills a child process to check it):
//! - before the request is answered: the store holds the old pair, which still works;
//! - after the new pair is written: the store holds the new pair (the file store replaces the token
//!   file by rename, the keychain store writes new parts before flipping its manifest: never half);
//! - between the provider rotating a Codex token and our write (the answer in flight or being
//!   parsed, a few milliseconds): the old refresh token is spent upstream and the new one never
//!   arrived. Nothing on our side can close that window; we keep it small by writing immediately
//!   on receipt, before anything else. The account then reports `needs-login` (refresh_token_reused)
//!   at its next refresh, never a silent loop.
//!
//! Single flight is per process: another process refreshing the same account at the same moment is
//! noticed only by re-reading the store before each refresh.

mod clock;
mod scheduler;
mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::Rng;
use secrecy::SecretString;
use time::OffsetDateTime;
use tokio::sync::{Notify, OwnedMutexGuard};

pub use clock::{Clock, SystemClock, TokioClock};

use super::oauth::{self, claude, codex, Grant, OAuthError};
use super::{AccountId, AccountStore, AccountsError, Provider, Status, Tokens};
use crate::config::{Endpoints, ProxySetting};
use state::{backoff_delay, positive, Backoff, Decision, Entry, Loaded, Meta, Want};

/// Timings; the defaults follow PROTOCOLS.md §1–2.
#[derive(Debug, Clone)]
pub struct RefreshOptions {
    /// The scheduler refreshes a Claude account this long before its token expires.
    pub claude_lead: Duration,
    /// … and a Codex account this long before.
    pub codex_lead: Duration,
    /// A request refreshes first when the token expires within this margin.
    pub expiry_margin: Duration,
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// A 401 on a token issued less than this long ago does not refresh again.
    pub min_reissue: Duration,
    /// The scheduler looks at the store at least this often (the monotonic clock stops while the
    /// machine sleeps, and another process may have changed the accounts).
    pub max_nap: Duration,
    pub http_timeout: Duration,
    /// The config's `proxy-url` for the OAuth servers; `None` uses the environment's proxy.
    pub proxy: Option<ProxySetting>,
}

impl Default for RefreshOptions {
    fn default() -> Self {
        RefreshOptions {
            claude_lead: Duration::from_secs(4 * 3600),
            codex_lead: Duration::from_secs(5 * 86_400),
            expiry_margin: Duration::from_secs(120),
            backoff_initial: Duration::from_secs(30),
            backoff_max: Duration::from_secs(30 * 60),
            min_reissue: Duration::from_secs(30),
            max_nap: Duration::from_secs(5 * 60),
            http_timeout: Duration::from_secs(30),
            proxy: None,
        }
    }
}

impl RefreshOptions {
    pub fn lead(&self, provider: Provider) -> Duration {
        match provider {
            Provider::Claude => self.claude_lead,
            Provider::Codex => self.codex_lead,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    #[error("no account {0}")]
    UnknownAccount(AccountId),
    #[error("account {id} needs a new login: {reason}")]
    NeedsLogin { id: AccountId, reason: String },
    #[error("account {id} has no usable token right now ({reason}); next attempt in {}s", retry_in.as_secs())]
    Unavailable {
        id: AccountId,
        reason: String,
        retry_in: Duration,
    },
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error("cannot set up the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl RefreshError {
    pub fn needs_login(&self) -> bool {
        matches!(self, RefreshError::NeedsLogin { .. })
    }

    /// How long to leave the account alone (for routing's cooldown).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            RefreshError::Unavailable { retry_in, .. } => Some(*retry_in),
            _ => None,
        }
    }
}

/// A snapshot of one account's refresh bookkeeping; all defaults when the account was never used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshState {
    /// A refresh (or the store read before one) is in progress.
    pub busy: bool,
    /// Failed attempts in a row; 0 once a refresh succeeds.
    pub failures: u32,
    /// When the next attempt may be made, while backing off.
    pub retry_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    /// The last refreshed tokens exist only in memory (the store refused them; retried).
    pub unsaved: bool,
}

struct Inner {
    store: Arc<AccountStore>,
    endpoints: Endpoints,
    client: reqwest::Client,
    options: RefreshOptions,
    clock: Arc<dyn Clock>,
    entries: Mutex<HashMap<AccountId, Arc<Entry>>>,
    /// Wakes the scheduler to re-plan.
    changed: Notify,
}

impl Inner {
    fn entries(&self) -> MutexGuard<'_, HashMap<AccountId, Arc<Entry>>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn entry(&self, id: &AccountId) -> Arc<Entry> {
        self.entries().entry(id.clone()).or_default().clone()
    }
}

/// Access tokens for OAuth accounts. Cheap to clone; clones share the cache and the single flights.
#[derive(Clone)]
pub struct TokenSource {
    inner: Arc<Inner>,
}

impl TokenSource {
    pub fn new(
        store: Arc<AccountStore>,
        endpoints: Endpoints,
        options: RefreshOptions,
    ) -> Result<Self, RefreshError> {
        Self::with_clock(store, endpoints, options, Arc::new(SystemClock))
    }

    pub fn with_clock(
        store: Arc<AccountStore>,
        endpoints: Endpoints,
        options: RefreshOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, RefreshError> {
        let client = oauth::http_client(options.http_timeout, options.proxy.as_ref())
            .map_err(RefreshError::Client)?;
        Ok(TokenSource {
            inner: Arc::new(Inner {
                store,
                endpoints,
                client,
                options,
                clock,
                entries: Mutex::new(HashMap::new()),
                changed: Notify::new(),
            }),
        })
    }

    /// The account's access token, refreshed first if it expires within the margin. From memory
    /// on the hot path; the store is read on first use and before each refresh.
    pub async fn access_token(&self, id: &AccountId) -> Result<SecretString, RefreshError> {
        self.get(id, Want::Use).await
    }

    /// The upstream answered 401 to `rejected`: refresh, unless another task already replaced that
    /// token, in which case its replacement is returned. Retry the request once with the result.
    pub async fn refresh_after_401(
        &self,
        id: &AccountId,
        rejected: &SecretString,
    ) -> Result<SecretString, RefreshError> {
        self.get(id, Want::Rejected(rejected.clone())).await
    }

    /// Refreshes now (a "refresh" button), through the same single flight; a backoff in force or a
    /// needs-login mark is respected.
    pub async fn refresh_now(&self, id: &AccountId) -> Result<SecretString, RefreshError> {
        self.get(id, Want::Force).await
    }

    /// What the refresher knows about an account right now, for status displays (and tests).
    pub fn refresh_state(&self, id: &AccountId) -> RefreshState {
        let Some(entry) = self.inner.entries().get(id).cloned() else {
            return RefreshState::default();
        };
        let busy = entry.flight.try_lock().is_err();
        let state = entry.state();
        RefreshState {
            busy,
            failures: state.backoff.as_ref().map_or(0, |b| b.failures),
            retry_at: state.backoff.as_ref().map(|b| b.retry_at),
            last_error: state.backoff.as_ref().map(|b| b.reason.clone()),
            unsaved: state.unpersisted,
        }
    }

    /// Accounts were added, removed or logged in again: the scheduler re-reads the store now and
    /// drops cached tokens the store has overtaken.
    pub fn notify_changed(&self) {
        self.inner.changed.notify_one();
    }

    async fn get(&self, id: &AccountId, want: Want) -> Result<SecretString, RefreshError> {
        let inner = &self.inner;
        let entry = inner.entry(id);
        let now = inner.clock.now();
        if let Some(Decision::Serve(token)) = entry.state().decide(id, &want, now, &inner.options) {
            return Ok(token);
        }
        let flight = entry.flight.clone().lock_owned().await;
        // Whoever held the flight before us may have refreshed; another process may have too.
        self.reload(id, &entry).await?;
        let now = inner.clock.now();
        let decision = entry.state().decide(id, &want, now, &inner.options);
        match decision {
            Some(Decision::Serve(token)) => Ok(token),
            Some(Decision::Fail(e)) => Err(e),
            None => Err(RefreshError::Internal("the account was not loaded".into())),
            Some(Decision::Refresh) => {
                let task = tokio::spawn(refresh(inner.clone(), id.clone(), entry.clone(), flight));
                let result = task
                    .await
                    .map_err(|e| RefreshError::Internal(format!("the refresh task failed: {e}")))?;
                match result {
                    // The refresh failed for now, but the token in hand still works for a while.
                    Err(e @ RefreshError::Unavailable { .. }) if matches!(want, Want::Use) => {
                        entry.state().still_valid(inner.clock.now()).ok_or(e)
                    }
                    other => other,
                }
            }
        }
    }

    /// Reads the account and its tokens from the store into the cache (unless memory is ahead).
    async fn reload(&self, id: &AccountId, entry: &Entry) -> Result<(), RefreshError> {
        if entry.state().unpersisted {
            return Ok(());
        }
        let store = self.inner.store.clone();
        let key = id.clone();
        let read = tokio::task::spawn_blocking(move || {
            let account = store.get(&key)?;
            let tokens = match &account {
                Some(_) => store.tokens(&key)?,
                None => None,
            };
            Ok::<_, AccountsError>(account.map(|a| (a, tokens.unwrap_or_default())))
        })
        .await
        .map_err(|e| RefreshError::Internal(format!("reading the account failed: {e}")))??;
        let Some((account, tokens)) = read else {
            self.inner.entries().remove(id);
            return Err(RefreshError::UnknownAccount(id.clone()));
        };
        entry.state().adopt(Meta::of(&account), tokens);
        Ok(())
    }
}

/// One refresh, run as its own task holding the account's flight until the outcome is recorded.
async fn refresh(
    inner: Arc<Inner>,
    id: AccountId,
    entry: Arc<Entry>,
    _flight: OwnedMutexGuard<()>,
) -> Result<SecretString, RefreshError> {
    let (provider, old) = {
        let state = entry.state();
        let Some(Loaded { meta, tokens }) = state.loaded.as_ref() else {
            return Err(RefreshError::Internal("the account was not loaded".into()));
        };
        (meta.provider, tokens.clone())
    };
    let Some(refresh_token) = old.refresh() else {
        return mark_needs_login(
            &inner,
            &id,
            &entry,
            "no refresh token is stored for this account".into(),
        )
        .await;
    };
    let ep = &inner.endpoints;
    let answer = match provider {
        Provider::Claude => claude::refresh(&inner.client, &ep.claude, refresh_token).await,
        Provider::Codex => codex::refresh(&inner.client, &ep.codex, refresh_token).await,
    };
    match answer {
        Ok(grant) => Ok(persist(&inner, &id, &entry, old, grant).await),
        Err(e) if e.needs_login() => mark_needs_login(&inner, &id, &entry, e.to_string()).await,
        Err(e) => Err(back_off(&inner, &id, &entry, &e)),
    }
}

/// Writes the new pair, then the account's expiry, and only then makes the token available.
async fn persist(
    inner: &Arc<Inner>,
    id: &AccountId,
    entry: &Entry,
    old: Tokens,
    grant: Grant,
) -> SecretString {
    let now = inner.clock.now();
    // The grant's expiry is computed from the system clock; restate it on ours.
    let expires_at = grant
        .expires_at
        .map(|e| whole_seconds(now + (e - OffsetDateTime::now_utc())));
    let last_refresh = Some(whole_seconds(now));
    let mut tokens = grant.tokens;
    // A refresh answer may omit the id_token; what an import carried along stays too.
    if tokens.id_token.is_none() {
        tokens.id_token = old.id_token;
    }
    tokens.extra = old.extra;
    let plan = grant.plan;
    let (store, key, to_save) = (inner.store.clone(), id.clone(), tokens.clone());
    let saved = tokio::task::spawn_blocking(move || {
        store.set_tokens(&key, &to_save)?;
        let account = store.update(&key, |a| {
            a.expires_at = expires_at;
            a.last_refresh = last_refresh;
            a.status = Status::Ok;
            a.status_message = None;
            if plan.is_some() {
                a.plan = plan;
            }
        });
        Ok::<_, AccountsError>(account)
    })
    .await;
    let mut state = entry.state();
    let meta = match saved {
        Ok(Ok(Ok(account))) => {
            state.unpersisted = false;
            Meta::of(&account)
        }
        other => {
            let tokens_saved = matches!(other, Ok(Ok(_)));
            let why = match other {
                Ok(Ok(Err(e))) | Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
                Ok(Ok(Ok(_))) => String::new(),
            };
            if tokens_saved {
                tracing::warn!(account = %id, "refreshed tokens saved, but the account's expiry could not be updated: {why}");
            } else {
                tracing::error!(
                    account = %id,
                    "REFRESHED TOKENS COULD NOT BE SAVED ({why}); they are kept in memory only and saving is retried, but if Switchyard stops before that succeeds this account needs a new login"
                );
            }
            state.unpersisted = !tokens_saved;
            let provider = state
                .loaded
                .as_ref()
                .map_or(Provider::Claude, |l| l.meta.provider);
            Meta {
                provider,
                expires_at,
                last_refresh,
                status: Status::Ok,
                status_message: None,
            }
        }
    };
    let access = tokens.access_token.clone().unwrap_or_default();
    state.loaded = Some(Loaded { meta, tokens });
    state.backoff = None;
    tracing::info!(account = %id, "access token refreshed");
    access
}

/// The refresh token is dead: say so in the store, where `accounts` shows it, and stop.
async fn mark_needs_login(
    inner: &Arc<Inner>,
    id: &AccountId,
    entry: &Entry,
    reason: String,
) -> Result<SecretString, RefreshError> {
    tracing::warn!(account = %id, "refresh refused for good, the account needs a new login: {reason}");
    let (store, key, message) = (inner.store.clone(), id.clone(), reason.clone());
    let marked = tokio::task::spawn_blocking(move || {
        store.update(&key, |a| {
            a.status = Status::NeedsLogin;
            a.status_message = Some(message);
        })
    })
    .await;
    let mut state = entry.state();
    match marked {
        Ok(Ok(account)) => {
            if let Some(l) = state.loaded.as_mut() {
                l.meta = Meta::of(&account);
            }
        }
        other => {
            let why = match other {
                Ok(Err(e)) => e.to_string(),
                Err(e) => e.to_string(),
                Ok(Ok(_)) => String::new(),
            };
            tracing::error!(account = %id, "could not mark the account as needing login: {why}");
            // Memory still knows: no further refresh from this process.
            if let Some(l) = state.loaded.as_mut() {
                l.meta.status = Status::NeedsLogin;
                l.meta.status_message = Some(reason.clone());
            }
        }
    }
    Err(RefreshError::NeedsLogin {
        id: id.clone(),
        reason,
    })
}

/// A failure that may pass: wait longer each time, at least as long as the server asked.
fn back_off(inner: &Inner, id: &AccountId, entry: &Entry, err: &OAuthError) -> RefreshError {
    let retry_after = match err {
        OAuthError::RateLimited { retry_after } => *retry_after,
        _ => None,
    };
    let mut state = entry.state();
    let failures = state.backoff.as_ref().map_or(0, |b| b.failures) + 1;
    let jitter = rand::rng().random_range(0.8..=1.2);
    let delay = backoff_delay(&inner.options, failures, retry_after, jitter);
    let reason = format!("refresh failed: {err}");
    tracing::warn!(account = %id, failures, "{reason}; retrying in {}s", delay.as_secs());
    let retry_at = inner.clock.now() + delay;
    state.backoff = Some(Backoff {
        failures,
        retry_at,
        reason: reason.clone(),
    });
    RefreshError::Unavailable {
        id: id.clone(),
        reason,
        retry_in: positive(retry_at - inner.clock.now()),
    }
}

/// Stored timestamps are compared with what we wrote; whole seconds survive the JSON round trip.
fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}
