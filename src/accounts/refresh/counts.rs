//! How many refreshes each provider's accounts made and how they ended, for `/metrics`. A few relaxed
//! atomics: counting never waits on anything.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::accounts::Provider;

const PROVIDERS: [Provider; 2] = [Provider::Claude, Provider::Codex];

/// Refreshes since start, by provider: `[ok, failed]` each.
#[derive(Debug, Default)]
pub(super) struct RefreshCounts {
    by_provider: [[AtomicU64; 2]; PROVIDERS.len()],
}

/// One provider's refreshes since start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshCount {
    pub provider: Provider,
    /// The provider issued new tokens.
    pub ok: u64,
    /// It refused or could not be reached (or there was no refresh token to send).
    pub failed: u64,
}

impl RefreshCounts {
    pub(super) fn record(&self, provider: Provider, ok: bool) {
        let slot = usize::from(!ok);
        self.by_provider[index(provider)][slot].fetch_add(1, Relaxed);
    }

    pub(super) fn read(&self) -> Vec<RefreshCount> {
        PROVIDERS
            .iter()
            .map(|&provider| {
                let [ok, failed] = &self.by_provider[index(provider)];
                RefreshCount {
                    provider,
                    ok: ok.load(Relaxed),
                    failed: failed.load(Relaxed),
                }
            })
            .collect()
    }
}

fn index(provider: Provider) -> usize {
    match provider {
        Provider::Claude => 0,
        Provider::Codex => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_counted_per_provider() {
        let c = RefreshCounts::default();
        c.record(Provider::Codex, true);
        c.record(Provider::Codex, false);
        c.record(Provider::Codex, true);
        assert_eq!(
            c.read(),
            [
                RefreshCount {
                    provider: Provider::Claude,
                    ok: 0,
                    failed: 0
                },
                RefreshCount {
                    provider: Provider::Codex,
                    ok: 2,
                    failed: 1
                },
            ]
        );
    }
}
