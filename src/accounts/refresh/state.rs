//! What the token source remembers per account, and the pure decisions made from it: serve the
//! cached token, fail, or refresh. Kept free of I/O so the rules can be tested without a server.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use super::{RefreshError, RefreshOptions};
use crate::accounts::{Account, AccountId, Provider, Status, Tokens};

/// One account's cache entry. `flight` is held for the whole of a refresh (by the refresh task
/// itself, so a caller that gives up does not release it early): concurrent callers queue on it
/// and then find the new token instead of refreshing again.
#[derive(Default)]
pub(super) struct Entry {
    pub(super) flight: Arc<tokio::sync::Mutex<()>>,
    state: Mutex<State>,
}

impl Entry {
    pub(super) fn state(&self) -> MutexGuard<'_, State> {
        // The state is plain data, always left consistent: a panic elsewhere must not wedge it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The non-secret facts about an account that decide when to refresh. Compared with the store's
/// copy to notice changes made by someone else (a new login, another process's refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Meta {
    pub(super) provider: Provider,
    pub(super) expires_at: Option<OffsetDateTime>,
    pub(super) last_refresh: Option<OffsetDateTime>,
    pub(super) status: Status,
    pub(super) status_message: Option<String>,
}

impl Meta {
    pub(super) fn of(a: &Account) -> Meta {
        Meta {
            provider: a.provider,
            expires_at: a.expires_at,
            last_refresh: a.last_refresh,
            status: a.status,
            status_message: a.status_message.clone(),
        }
    }
}

pub(super) struct Loaded {
    pub(super) meta: Meta,
    pub(super) tokens: Tokens,
}

pub(super) struct Backoff {
    pub(super) failures: u32,
    pub(super) retry_at: OffsetDateTime,
    pub(super) reason: String,
}

#[derive(Default)]
pub(super) struct State {
    /// `None` until read from the store, and again after the store changed behind our back.
    pub(super) loaded: Option<Loaded>,
    pub(super) backoff: Option<Backoff>,
    /// The last refresh's tokens could not be written: memory holds the only working copy, so the
    /// store's (older, possibly spent) tokens must not replace it.
    pub(super) unpersisted: bool,
}

/// Why a caller wants a token.
#[derive(Clone)]
pub(super) enum Want {
    /// A request is about to be sent: refresh only if the token is (nearly) expired.
    Use,
    /// The upstream refused this token with a 401.
    Rejected(SecretString),
    /// The scheduler: refresh if the lead time before expiry has been reached.
    Due,
    /// Refresh now whatever the expiry says.
    Force,
}

pub(super) enum Decision {
    Serve(SecretString),
    Fail(RefreshError),
    Refresh,
}

impl State {
    /// Takes what the store holds, unless memory is ahead of it. A change made elsewhere (another
    /// process refreshed, the user logged in again) resets the backoff.
    pub(super) fn adopt(&mut self, meta: Meta, tokens: Tokens) {
        if self.unpersisted {
            return;
        }
        let same = self.loaded.as_ref().is_some_and(|l| {
            l.meta == meta
                && l.tokens.access() == tokens.access()
                && l.tokens.refresh() == tokens.refresh()
        });
        if !same {
            self.backoff = None;
            self.loaded = Some(Loaded { meta, tokens });
        }
    }

    /// Forgets the cached tokens if the store's metadata moved on (they are re-read on next use).
    pub(super) fn sync_meta(&mut self, meta: &Meta) {
        if self.unpersisted {
            return;
        }
        if self.loaded.as_ref().is_some_and(|l| &l.meta != meta) {
            self.loaded = None;
            self.backoff = None;
        }
    }

    /// When the scheduler should next look at this account: the lead time before expiry, or the
    /// end of a backoff if that is later. `None`: nothing to plan (no expiry known, needs login).
    pub(super) fn due_at(&self, fallback: &Meta, opts: &RefreshOptions) -> Option<OffsetDateTime> {
        let meta = self.loaded.as_ref().map_or(fallback, |l| &l.meta);
        if meta.status == Status::NeedsLogin {
            return None;
        }
        let due = meta.expires_at? - opts.lead(meta.provider);
        Some(match &self.backoff {
            Some(b) if b.retry_at > due => b.retry_at,
            _ => due,
        })
    }

    /// The rules. `None` when nothing is loaded yet.
    pub(super) fn decide(
        &self,
        id: &AccountId,
        want: &Want,
        now: OffsetDateTime,
        opts: &RefreshOptions,
    ) -> Option<Decision> {
        let loaded = self.loaded.as_ref()?;
        let meta = &loaded.meta;
        if meta.status == Status::NeedsLogin {
            return Some(Decision::Fail(RefreshError::NeedsLogin {
                id: id.clone(),
                reason: meta
                    .status_message
                    .clone()
                    .unwrap_or_else(|| "the account is marked as needing a new login".into()),
            }));
        }
        let access = loaded.tokens.access_token.clone();
        let expires = meta.expires_at;
        let serve_if = |fresh: bool| match (&access, fresh) {
            (Some(token), true) => Some(Decision::Serve(token.clone())),
            _ => None,
        };
        let not_expired = expires.is_none_or(|e| e > now);
        let settled = match want {
            // Unknown expiry: use the token; a 401 will tell.
            Want::Use => serve_if(expires.is_none_or(|e| e - opts.expiry_margin > now)),
            Want::Due => serve_if(expires.is_none_or(|e| e - opts.lead(meta.provider) > now)),
            Want::Force => None,
            Want::Rejected(rejected) => {
                let replaced = access
                    .as_ref()
                    .is_some_and(|a| a.expose_secret() != rejected.expose_secret());
                if replaced {
                    serve_if(true)
                } else if let Some(wait) = recently_refreshed(meta, now, opts) {
                    // A token refused right after it was issued will not be helped by another
                    // refresh; refusing here keeps a broken account from hammering the token endpoint.
                    return Some(Decision::Fail(RefreshError::Unavailable {
                        id: id.clone(),
                        reason: "the upstream refused a token issued moments ago".into(),
                        retry_in: wait,
                    }));
                } else {
                    None
                }
            }
        };
        if let Some(serve) = settled {
            return Some(serve);
        }
        if let Some(b) = self.backoff.as_ref().filter(|b| b.retry_at > now) {
            // Backing off: the current token keeps serving while it lasts.
            if matches!(want, Want::Use) && not_expired {
                if let Some(serve) = serve_if(true) {
                    return Some(serve);
                }
            }
            return Some(Decision::Fail(RefreshError::Unavailable {
                id: id.clone(),
                reason: b.reason.clone(),
                retry_in: positive(b.retry_at - now),
            }));
        }
        Some(Decision::Refresh)
    }

    /// After a failed refresh a caller that only wanted to use the account may still have a token
    /// that has not expired.
    pub(super) fn still_valid(&self, now: OffsetDateTime) -> Option<SecretString> {
        let l = self.loaded.as_ref()?;
        if l.meta.status == Status::NeedsLogin || l.meta.expires_at.is_some_and(|e| e <= now) {
            return None;
        }
        l.tokens.access_token.clone()
    }
}

fn recently_refreshed(meta: &Meta, now: OffsetDateTime, opts: &RefreshOptions) -> Option<Duration> {
    let since = now - meta.last_refresh?;
    let left = opts
        .min_reissue
        .checked_sub(Duration::try_from(since).ok()?)?;
    (!left.is_zero()).then_some(left)
}

pub(super) fn positive(d: time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

/// The wait before retry `failures` (1 = after the first failure): `initial` doubling up to `max`,
/// scaled by `jitter` (0.8–1.2 in practice, so many accounts failing together spread out), and
/// never shorter than the server's `Retry-After`.
pub(super) fn backoff_delay(
    opts: &RefreshOptions,
    failures: u32,
    retry_after: Option<Duration>,
    jitter: f64,
) -> Duration {
    let doubled = opts
        .backoff_initial
        .saturating_mul(1u32 << failures.saturating_sub(1).min(20));
    let base = doubled
        .min(opts.backoff_max)
        .mul_f64(jitter.clamp(0.5, 1.5));
    retry_after.map_or(base, |ra| ra.max(base))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> RefreshOptions {
        RefreshOptions::default()
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
    }

    fn state(provider: Provider, expires: i64, access: &str) -> State {
        State {
            loaded: Some(Loaded {
                meta: Meta {
                    provider,
                    expires_at: Some(at(expires)),
                    last_refresh: Some(at(-3600)),
                    status: Status::Ok,
                    status_message: None,
                },
                tokens: Tokens::new(Some(access.into()), Some("rt".into()), None),
            }),
            ..State::default()
        }
    }

    fn id() -> AccountId {
        AccountId::parse("claude-1").unwrap()
    }

    fn served(d: Option<Decision>) -> Option<String> {
        match d {
            Some(Decision::Serve(t)) => Some(t.expose_secret().to_string()),
            _ => None,
        }
    }

    #[test]
    fn use_serves_until_the_margin_and_due_follows_the_provider_lead() {
        let o = opts();
        let s = state(Provider::Claude, 3600, "at");
        assert_eq!(
            served(s.decide(&id(), &Want::Use, at(0), &o)).as_deref(),
            Some("at")
        );
        let late = at(3600 - 30);
        assert!(matches!(
            s.decide(&id(), &Want::Use, late, &o),
            Some(Decision::Refresh)
        ));
        // Claude's lead is 4 h: an hour before expiry it is due.
        assert!(matches!(
            s.decide(&id(), &Want::Due, at(0), &o),
            Some(Decision::Refresh)
        ));
        let codex = state(Provider::Codex, 6 * 86_400, "at");
        assert!(served(codex.decide(&id(), &Want::Due, at(0), &o)).is_some());
        assert!(matches!(
            codex.decide(&id(), &Want::Due, at(86_400 + 1), &o),
            Some(Decision::Refresh)
        ));
        assert_eq!(
            s.due_at(&s.loaded.as_ref().unwrap().meta, &o),
            Some(at(3600 - 4 * 3600))
        );
    }

    #[test]
    fn a_rejected_token_is_refreshed_once_then_the_replacement_is_served() {
        let o = opts();
        let s = state(Provider::Claude, 3600, "new");
        let old = Want::Rejected(SecretString::from("old"));
        assert_eq!(
            served(s.decide(&id(), &old, at(0), &o)).as_deref(),
            Some("new")
        );
        let current = Want::Rejected(SecretString::from("new"));
        assert!(matches!(
            s.decide(&id(), &current, at(0), &o),
            Some(Decision::Refresh)
        ));
        // Refused moments after it was issued: no second refresh.
        let mut fresh = state(Provider::Claude, 3600, "new");
        fresh.loaded.as_mut().unwrap().meta.last_refresh = Some(at(-5));
        assert!(matches!(
            fresh.decide(&id(), &current, at(0), &o),
            Some(Decision::Fail(RefreshError::Unavailable { .. }))
        ));
    }

    #[test]
    fn backoff_keeps_serving_a_valid_token_and_needs_login_fails_fast() {
        let o = opts();
        let mut s = state(Provider::Claude, 60, "at");
        s.backoff = Some(Backoff {
            failures: 1,
            retry_at: at(30),
            reason: "HTTP 500".into(),
        });
        assert_eq!(
            served(s.decide(&id(), &Want::Use, at(0), &o)).as_deref(),
            Some("at")
        );
        match s.decide(&id(), &Want::Force, at(0), &o) {
            Some(Decision::Fail(RefreshError::Unavailable { retry_in, .. })) => {
                assert_eq!(retry_in, Duration::from_secs(30))
            }
            _ => panic!("a forced refresh waits for the backoff"),
        }
        assert!(matches!(
            s.decide(&id(), &Want::Use, at(31), &o),
            Some(Decision::Refresh)
        ));
        s.loaded.as_mut().unwrap().meta.status = Status::NeedsLogin;
        assert!(matches!(
            s.decide(&id(), &Want::Force, at(100), &o),
            Some(Decision::Fail(RefreshError::NeedsLogin { .. }))
        ));
        assert!(s.due_at(&s.loaded.as_ref().unwrap().meta, &o).is_none());
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_honours_retry_after() {
        let o = opts();
        let d = |n, ra| backoff_delay(&o, n, ra, 1.0);
        assert_eq!(d(1, None), Duration::from_secs(30));
        assert_eq!(d(2, None), Duration::from_secs(60));
        assert_eq!(d(7, None), Duration::from_secs(1800));
        assert_eq!(d(40, None), Duration::from_secs(1800));
        assert_eq!(
            d(1, Some(Duration::from_secs(300))),
            Duration::from_secs(300)
        );
        assert_eq!(backoff_delay(&o, 1, None, 1.2), Duration::from_secs(36));
    }
}
