//! One refresh and what becomes of its outcome: a new pair written before anyone may use it, a dead
//! refresh token marked in the store, or a backoff.

use std::sync::Arc;

use rand::Rng;
use secrecy::SecretString;
use time::OffsetDateTime;

use super::state::{backoff_delay, positive, Backoff, Entry, Loaded, Meta};
use super::{Inner, RefreshError};
use crate::accounts::oauth::{claude, codex, Grant, OAuthError};
use crate::accounts::{Account, AccountId, AccountStore, Provider, Status, Tokens};

/// One refresh, run as its own task holding the account's flight until the outcome is recorded.
pub(super) async fn refresh(
    inner: Arc<Inner>,
    id: AccountId,
    entry: Arc<Entry>,
    _held: super::Held,
) -> Result<SecretString, RefreshError> {
    let (provider, old) = {
        let state = entry.state();
        let Some(Loaded { meta, tokens }) = state.loaded.as_ref() else {
            return Err(RefreshError::Internal("the account was not loaded".into()));
        };
        (meta.provider, tokens.clone())
    };
    let Some(refresh_token) = old.refresh() else {
        inner.counts.record(provider, false);
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
    inner.counts.record(provider, answer.is_ok());
    match answer {
        Ok(grant) => Ok(persist(&inner, &id, &entry, provider, old, grant).await),
        Err(e) if e.needs_login() => mark_needs_login(&inner, &id, &entry, e.to_string()).await,
        Err(e) => Err(back_off(&inner, &id, &entry, &e)),
    }
}

/// What a refresh writes: the pair, then the account's expiry.
pub(super) struct Refreshed {
    pub(super) tokens: Tokens,
    pub(super) expires_at: Option<OffsetDateTime>,
    pub(super) last_refresh: Option<OffsetDateTime>,
    pub(super) plan: Option<String>,
}

/// Writes the pair (one atomic `set`: after a crash the old or the new pair, never a mix), then the
/// account's expiry. `Err((tokens_saved, why))` when either failed.
pub(super) async fn write_refreshed(
    store: Arc<AccountStore>,
    id: AccountId,
    r: Refreshed,
) -> Result<Account, (bool, String)> {
    let written = tokio::task::spawn_blocking(move || {
        store
            .set_tokens(&id, &r.tokens)
            .map_err(|e| (false, e.to_string()))?;
        store
            .update(&id, |a| {
                a.expires_at = r.expires_at;
                a.last_refresh = r.last_refresh;
                a.status = Status::Ok;
                a.status_message = None;
                if r.plan.is_some() {
                    a.plan = r.plan;
                }
            })
            .map_err(|e| (true, e.to_string()))
    })
    .await;
    // A write that died with its thread may or may not have landed: treat it as not saved.
    written.unwrap_or_else(|e| Err((false, e.to_string())))
}

/// Says loudly what a failed write means. Returns whether the tokens are still only in memory.
pub(super) fn report_unsaved(id: &AccountId, tokens_saved: bool, why: &str) -> bool {
    if tokens_saved {
        tracing::warn!(account = %id, "refreshed tokens saved, but the account's expiry could not be updated: {why}");
    } else {
        tracing::error!(
            account = %id,
            "REFRESHED TOKENS COULD NOT BE SAVED ({why}); they are kept in memory and saving is retried, but if Switchyard stops before that succeeds this account needs a new login"
        );
    }
    !tokens_saved
}

/// Writes the new pair, then the account's expiry, and only then makes the token available.
async fn persist(
    inner: &Arc<Inner>,
    id: &AccountId,
    entry: &Entry,
    provider: Provider,
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
    let refreshed = Refreshed {
        tokens: tokens.clone(),
        expires_at,
        last_refresh,
        plan: grant.plan,
    };
    let saved = write_refreshed(inner.store.clone(), id.clone(), refreshed).await;
    let mut state = entry.state();
    let meta = match saved {
        Ok(account) => {
            state.unpersisted = false;
            Meta::of(&account)
        }
        Err((tokens_saved, why)) => {
            state.unpersisted = report_unsaved(id, tokens_saved, &why);
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
pub(super) async fn mark_needs_login(
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
