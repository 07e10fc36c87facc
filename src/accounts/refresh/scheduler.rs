//! The background refresher: one task that sleeps until the next account is due (its provider's
//! lead time before expiry, or the end of a backoff), refreshes it through the same single flight
//! as requests, and re-plans when told the accounts changed or at least every `max_nap`.

use std::collections::HashSet;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::outcome::{report_unsaved, write_refreshed, Refreshed};
use super::state::{positive, Meta, Want};
use super::{RefreshError, TokenSource};
use crate::accounts::{Account, Status};

impl TokenSource {
    /// Starts the scheduler on the current tokio runtime; it ends when `cancel` fires. A refresh in
    /// progress at that moment still finishes and saves its tokens (it runs in its own task).
    pub fn spawn_scheduler(&self, cancel: CancellationToken) -> JoinHandle<()> {
        let source = self.clone();
        tokio::spawn(async move {
            loop {
                let nap = match source.pass().await {
                    Ok(nap) => nap,
                    Err(e) => {
                        tracing::warn!("token refresh scheduler: {e}");
                        source.inner.options.max_nap
                    }
                };
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(nap) => {}
                    () = source.inner.changed.notified() => {}
                }
            }
        })
    }

    /// One round: sync the cache with the store, refresh every due account, and return how long
    /// to sleep before the next one is due.
    async fn pass(&self) -> Result<Duration, RefreshError> {
        let inner = &self.inner;
        let store = inner.store.clone();
        let accounts = tokio::task::spawn_blocking(move || store.list())
            .await
            .map_err(|e| RefreshError::Internal(format!("listing accounts failed: {e}")))??;
        self.forget_removed(&accounts);
        self.save_unpersisted().await;
        let opts = &inner.options;
        let mut next = inner.clock.now() + opts.max_nap;
        for account in accounts.iter().filter(|a| scheduled(a)) {
            let meta = Meta::of(account);
            let entry = inner.entry(&account.id);
            // Not under a refresh in progress: it is about to record newer facts than this list.
            if entry.flight.try_lock().is_ok() {
                entry.state().sync_meta(&meta);
            }
            let Some(mut due) = entry.state().due_at(&meta, opts) else {
                continue;
            };
            if due <= inner.clock.now() {
                // Failures are logged where they happen and recorded in the entry's backoff or
                // the account's status; the plan below reads them.
                let _ = self.get(&account.id, Want::Due).await;
                let now = inner.clock.now();
                due = match entry.state().due_at(&meta, opts) {
                    Some(d) if d > now => d,
                    // Still due without a backoff (the store could not be read): no busy loop.
                    Some(_) => now + opts.backoff_initial,
                    None => continue,
                };
            }
            next = next.min(due);
        }
        Ok(positive(next - inner.clock.now()))
    }

    /// Drops cache entries of accounts that are gone (unless their only tokens live in memory).
    fn forget_removed(&self, accounts: &[Account]) {
        let present: HashSet<_> = accounts.iter().map(|a| &a.id).collect();
        self.inner
            .entries()
            .retain(|id, entry| present.contains(id) || entry.state().unpersisted);
    }

    /// Retries writing tokens that a refresh could not save.
    async fn save_unpersisted(&self) {
        let pending: Vec<_> = self
            .inner
            .entries()
            .iter()
            .filter(|(_, e)| e.state().unpersisted)
            .map(|(id, e)| (id.clone(), e.clone()))
            .collect();
        for (id, entry) in pending {
            // Under the flight, so a refresh finishing meanwhile cannot be overwritten by older tokens.
            let _flight = entry.flight.lock().await;
            let refreshed = {
                let state = entry.state();
                match state.loaded.as_ref() {
                    Some(l) if state.unpersisted => Refreshed {
                        tokens: l.tokens.clone(),
                        expires_at: l.meta.expires_at,
                        last_refresh: l.meta.last_refresh,
                        plan: None,
                    },
                    _ => continue,
                }
            };
            let saved = write_refreshed(self.inner.store.clone(), id.clone(), refreshed).await;
            let mut state = entry.state();
            match saved {
                Ok(account) => {
                    tracing::info!(account = %id, "refreshed tokens saved on retry");
                    state.unpersisted = false;
                    if let Some(l) = state.loaded.as_mut() {
                        l.meta = Meta::of(&account);
                    }
                }
                Err((tokens_saved, why)) => {
                    state.unpersisted = report_unsaved(&id, tokens_saved, &why);
                }
            }
        }
    }
}

/// Accounts the scheduler keeps fresh: enabled, not waiting for a login.
fn scheduled(a: &Account) -> bool {
    !a.settings.disabled && a.status != Status::NeedsLogin
}
