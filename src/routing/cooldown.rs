//! Per (credential, model) cooldowns after upstream failures (PROTOCOLS.md §5).
//!
//! Time is tokio's `Instant`, so tests drive it with paused time instead of sleeping.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

const THIRTY_MINUTES: Duration = Duration::from_secs(30 * 60);

/// What happened on one attempt, as far as cooling down is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The upstream answered with this status; `hint` is the reset it named, if any.
    Status { status: u16, hint: Option<Duration> },
    /// No connection, or it broke before the first byte.
    Transport,
}

impl Failure {
    /// Whether another credential may be tried. Requests the upstream judged invalid (400, 422, …) fail the
    /// same way everywhere, so they go straight back to the client.
    pub fn is_retryable(self) -> bool {
        match self {
            Failure::Transport => true,
            Failure::Status { status, .. } => {
                matches!(status, 401 | 402 | 403 | 404 | 408 | 429) || status >= 500
            }
        }
    }

    /// How long the credential rests for this model; `strikes` counts earlier 429s without a named reset.
    pub fn cooldown(self, strikes: u32) -> Option<Duration> {
        match self {
            Failure::Transport => Some(Duration::from_secs(60)),
            Failure::Status { status, hint } => match status {
                401..=403 => Some(THIRTY_MINUTES),
                404 => Some(Duration::from_secs(12 * 3600)),
                429 => Some(hint.unwrap_or_else(|| {
                    Duration::from_secs(1u64 << strikes.min(11)).min(THIRTY_MINUTES)
                })),
                408 | 500..=599 => Some(hint.unwrap_or(Duration::from_secs(60))),
                _ => None,
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    until: Instant,
    /// Consecutive 429s without a named reset: the exponent of the back-off.
    strikes: u32,
    /// The status that caused it; `None` for a connection failure.
    status: Option<u16>,
}

/// One credential resting for one model, as the outside world (a listing, a file) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resting {
    pub cred: String,
    pub model: String,
    pub remaining: Duration,
    pub status: Option<u16>,
}

#[derive(Debug, Default)]
pub struct Cooldowns {
    entries: Mutex<HashMap<(String, String), Entry>>,
    /// Bumped whenever an entry comes or goes, so a watcher can tell cheaply that there is news.
    generation: AtomicU64,
}

impl Cooldowns {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Time left before `cred` may serve `model` again, or `None` when it may now.
    pub fn remaining(&self, cred: &str, model: &str, now: Instant) -> Option<Duration> {
        let entries = self.lock();
        let e = entries.get(&(cred.to_string(), model.to_string()))?;
        (e.until > now).then(|| e.until - now)
    }

    /// Records a failure; returns the cooldown applied, if any.
    pub fn fail(
        &self,
        cred: &str,
        model: &str,
        failure: Failure,
        now: Instant,
    ) -> Option<Duration> {
        let mut entries = self.lock();
        let key = (cred.to_string(), model.to_string());
        let strikes = entries.get(&key).map_or(0, |e| e.strikes);
        let wait = failure.cooldown(strikes)?;
        let backoff = matches!(
            failure,
            Failure::Status {
                status: 429,
                hint: None
            }
        );
        let status = match failure {
            Failure::Status { status, .. } => Some(status),
            Failure::Transport => None,
        };
        entries.insert(
            key,
            Entry {
                until: now + wait,
                strikes: if backoff { strikes + 1 } else { strikes },
                status,
            },
        );
        self.generation.fetch_add(1, Ordering::Relaxed);
        Some(wait)
    }

    /// A success clears the record, so the next 429 starts the back-off from one second again.
    pub fn succeed(&self, cred: &str, model: &str) {
        if self
            .lock()
            .remove(&(cred.to_string(), model.to_string()))
            .is_some()
        {
            self.generation.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Changes whenever a cooldown is added or cleared.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    /// Every credential still resting at `now` whose id `wanted` accepts.
    pub fn resting(&self, now: Instant, wanted: impl Fn(&str) -> bool) -> Vec<Resting> {
        let mut out: Vec<Resting> = self
            .lock()
            .iter()
            .filter(|((cred, _), e)| e.until > now && wanted(cred))
            .map(|((cred, model), e)| Resting {
                cred: cred.clone(),
                model: model.clone(),
                remaining: e.until - now,
                status: e.status,
            })
            .collect();
        out.sort_by(|a, b| (&a.cred, &a.model).cmp(&(&b.cred, &b.model)));
        out
    }

    /// Puts back a cooldown remembered from an earlier run; a longer one already in force is kept.
    pub fn restore(&self, rest: &Resting, now: Instant) {
        let mut entries = self.lock();
        let key = (rest.cred.clone(), rest.model.clone());
        let until = now + rest.remaining;
        if entries.get(&key).is_some_and(|e| e.until >= until) {
            return;
        }
        entries.insert(
            key,
            Entry {
                until,
                strikes: 0,
                status: rest.status,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> Failure {
        Failure::Status { status, hint: None }
    }

    #[test]
    fn cooldowns_follow_the_documented_table() {
        assert_eq!(status(401).cooldown(0), Some(THIRTY_MINUTES));
        assert_eq!(status(403).cooldown(0), Some(THIRTY_MINUTES));
        assert_eq!(status(404).cooldown(0), Some(Duration::from_secs(43_200)));
        assert_eq!(status(503).cooldown(0), Some(Duration::from_secs(60)));
        assert_eq!(status(429).cooldown(0), Some(Duration::from_secs(1)));
        assert_eq!(status(429).cooldown(3), Some(Duration::from_secs(8)));
        assert_eq!(status(429).cooldown(20), Some(THIRTY_MINUTES));
        let hinted = Failure::Status {
            status: 429,
            hint: Some(Duration::from_secs(300)),
        };
        assert_eq!(hinted.cooldown(5), Some(Duration::from_secs(300)));
        assert_eq!(status(400).cooldown(0), None);
        assert!(!status(400).is_retryable() && !status(422).is_retryable());
        assert!(
            status(429).is_retryable()
                && status(502).is_retryable()
                && Failure::Transport.is_retryable()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn resting_credentials_are_listed_counted_and_restored() {
        let c = Cooldowns::new();
        let t0 = Instant::now();
        let g0 = c.generation();
        c.fail("account:a", "m", status(503), t0);
        c.fail("key", "m", Failure::Transport, t0);
        assert_ne!(c.generation(), g0, "news for a watcher");
        let listed = c.resting(t0, |cred| cred.starts_with("account:"));
        assert_eq!(
            listed,
            [Resting {
                cred: "account:a".into(),
                model: "m".into(),
                remaining: Duration::from_secs(60),
                status: Some(503),
            }]
        );
        let g1 = c.generation();
        c.succeed("account:b", "m");
        assert_eq!(c.generation(), g1, "clearing nothing is no news");

        let restarted = Cooldowns::new();
        restarted.restore(&listed[0], t0);
        assert_eq!(
            restarted.remaining("account:a", "m", t0),
            Some(Duration::from_secs(60))
        );
        let shorter = Resting {
            remaining: Duration::from_secs(5),
            ..listed[0].clone()
        };
        restarted.restore(&shorter, t0);
        assert_eq!(
            restarted.remaining("account:a", "m", t0),
            Some(Duration::from_secs(60)),
            "a longer cooldown in force is kept"
        );
        tokio::time::advance(Duration::from_secs(61)).await;
        assert!(restarted.resting(Instant::now(), |_| true).is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn back_off_grows_and_a_success_resets_it() {
        let c = Cooldowns::new();
        let t0 = Instant::now();
        assert_eq!(
            c.fail("k", "m", status(429), t0),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            c.fail("k", "m", status(429), t0),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            c.fail("k", "m", status(429), t0),
            Some(Duration::from_secs(4))
        );
        assert!(c.remaining("k", "m", t0).is_some());
        assert!(
            c.remaining("k", "other-model", t0).is_none(),
            "cooldowns are per model"
        );
        tokio::time::advance(Duration::from_secs(5)).await;
        assert!(c.remaining("k", "m", Instant::now()).is_none());
        c.succeed("k", "m");
        assert_eq!(
            c.fail("k", "m", status(429), Instant::now()),
            Some(Duration::from_secs(1))
        );
    }
}
