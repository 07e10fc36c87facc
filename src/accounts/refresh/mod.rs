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
//!   file by rename, the keychain store writes new parts before flipping its manifest: never half).
//!   The account list (expiry, last refresh) is written after the pair, so a kill between the two
//!   leaves the new pair with the old expiry: the next start refreshes once more, with the new pair;
//! - between the provider rotating a Codex token and our write (the answer in flight or being
//!   parsed, a few milliseconds): the old refresh token is spent upstream and the new one never
//!   arrived. Nothing on our side can close that window; we keep it small by writing immediately
//!   on receipt, before anything else. The account then reports `needs-login` (refresh_token_reused)
//!   at its next refresh, never a silent loop.
//!
//! Single flight is per process: another process refreshing the same account at the same moment is
//! noticed only by re-reading the store before each refresh.

mod clock;
mod counts;
mod outcome;
mod scheduler;
mod state;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::SecretString;
use time::OffsetDateTime;
use tokio::sync::Notify;

pub use clock::{Clock, SystemClock, TokioClock};
pub use counts::RefreshCount;

use super::oauth;
use super::store::RefreshLock;
use super::{AccountId, AccountStore, AccountsError, Provider};
use crate::config::{Endpoints, ProxySetting};
use state::{Decision, Entry, Meta, Want};

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

/// How long a refresh waits for another process's refresh of the same account.
const PROCESS_LOCK_WAIT: Duration = Duration::from_secs(60);

/// What a refresh holds until it is done: this process's single flight for the account, and the
/// lock that keeps other processes from refreshing it at the same time.
pub(super) struct Held {
    _flight: tokio::sync::OwnedMutexGuard<()>,
    _process: Option<RefreshLock>,
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
    counts: counts::RefreshCounts,
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
                counts: counts::RefreshCounts::default(),
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

    /// Refreshes since start per provider, and how they ended (for `/metrics`).
    pub fn refresh_counts(&self) -> Vec<RefreshCount> {
        self.inner.counts.read()
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
        let mut decision = entry
            .state()
            .decide(id, &want, inner.clock.now(), &inner.options);
        let mut process = None;
        if matches!(decision, Some(Decision::Refresh)) {
            // Another process may be refreshing this very account: wait for it, then look again, so
            // a rotated refresh token is never spent twice.
            process = Some(self.process_lock(id).await?);
            self.reload(id, &entry).await?;
            decision = entry
                .state()
                .decide(id, &want, inner.clock.now(), &inner.options);
        }
        match decision {
            Some(Decision::Serve(token)) => Ok(token),
            Some(Decision::Fail(e)) => Err(e),
            None => Err(RefreshError::Internal("the account was not loaded".into())),
            Some(Decision::Refresh) => {
                let held = Held {
                    _flight: flight,
                    _process: process,
                };
                let task = tokio::spawn(outcome::refresh(
                    inner.clone(),
                    id.clone(),
                    entry.clone(),
                    held,
                ));
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

    /// Waits for the account's cross-process refresh lock: polled, so a process that hangs while
    /// holding it costs a bounded wait rather than a stuck request (one that dies releases it at once).
    async fn process_lock(&self, id: &AccountId) -> Result<RefreshLock, RefreshError> {
        let waited_out = tokio::time::Instant::now() + PROCESS_LOCK_WAIT;
        loop {
            let (store, key) = (self.inner.store.clone(), id.clone());
            let tried = tokio::task::spawn_blocking(move || store.try_refresh_lock(&key))
                .await
                .map_err(|e| {
                    RefreshError::Internal(format!("taking the refresh lock failed: {e}"))
                })??;
            if let Some(lock) = tried {
                return Ok(lock);
            }
            if tokio::time::Instant::now() >= waited_out {
                return Err(RefreshError::Unavailable {
                    id: id.clone(),
                    reason:
                        "another Switchyard process has been refreshing this account for a minute"
                            .into(),
                    retry_in: PROCESS_LOCK_WAIT,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
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
