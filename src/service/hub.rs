//! The running proxy's logged-in accounts: opened on first need (the first account on disk, or the first
//! login started from the UI or tray), never before, so a keys-only proxy never touches the keychain. The
//! watch keeps them in line with the auth dir: CLIProxyAPI's files as they come, change and go, and
//! logins, logouts and refreshes made by other processes (the CLI, another Switchyard).

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use tokio_util::sync::CancellationToken;

use crate::accounts::login::{LoginOptions, LoginService};
use crate::accounts::quota::{QuotaOptions, QuotaService};
use crate::accounts::refresh::{RefreshOptions, TokenSource};
use crate::accounts::resting::RestingAccount;
use crate::accounts::watch::DiskState;
use crate::accounts::{self, routable, AccountStore, SecretStoreChoice};
use crate::config::{self, Config};
use crate::routing::Resting;
use crate::server::{Accounts, AppState};

/// How often the auth dir is checked for logins, logouts and CLIProxyAPI files made elsewhere.
const ACCOUNTS_POLL: Duration = Duration::from_secs(1);

/// The accounts of a running proxy and the services that act on them.
pub struct Opened {
    pub store: Arc<AccountStore>,
    pub tokens: Arc<TokenSource>,
    pub logins: LoginService,
    pub quota: QuotaService,
}

pub struct AccountsHub {
    state: Arc<AppState>,
    dir: PathBuf,
    choice: SecretStoreChoice,
    endpoints: config::Endpoints,
    proxy: Option<config::ProxySetting>,
    cancel: CancellationToken,
    opened: ArcSwapOption<Opened>,
    /// Serialises opening: a login started while the watch opens the store waits for that one.
    opening: tokio::sync::Mutex<()>,
    /// The cooldown generation last written to `resting.json`.
    saved_rest: AtomicU64,
}

impl AccountsHub {
    /// The hub for `cfg`'s auth dir; `cancel` stops the watch and the refresh scheduler.
    pub fn new(state: Arc<AppState>, cfg: &Config, cancel: CancellationToken) -> Self {
        AccountsHub {
            state,
            dir: cfg.auth_dir.clone(),
            choice: cfg.secret_store,
            endpoints: cfg.endpoints.clone(),
            proxy: cfg.proxy.clone(),
            cancel,
            opened: ArcSwapOption::empty(),
            opening: tokio::sync::Mutex::new(()),
            saved_rest: AtomicU64::new(0),
        }
    }

    /// The accounts, if the store is open.
    pub fn get(&self) -> Option<Arc<Opened>> {
        self.opened.load_full()
    }

    /// The accounts, opening the store first if nobody has yet.
    pub async fn open(&self) -> Result<Arc<Opened>, String> {
        let _opening = self.opening.lock().await;
        if let Some(opened) = self.get() {
            return Ok(opened);
        }
        let (dir, choice) = (self.dir.clone(), self.choice);
        let store = tokio::task::spawn_blocking(move || accounts::open_account_store(&dir, choice))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let store = Arc::new(store);
        let refresh = RefreshOptions {
            proxy: self.proxy.clone(),
            ..RefreshOptions::default()
        };
        let tokens = TokenSource::new(store.clone(), self.endpoints.clone(), refresh)
            .map_err(|e| e.to_string())?;
        let logins = LoginService::new(
            store.clone(),
            self.endpoints.clone(),
            LoginOptions {
                proxy: self.proxy.clone(),
                ..LoginOptions::default()
            },
        )
        .map_err(|e| e.to_string())?;
        let quota = QuotaService::new(
            store.clone(),
            tokens.clone(),
            self.endpoints.clone(),
            QuotaOptions {
                proxy: self.proxy.clone(),
                ..QuotaOptions::default()
            },
        )
        .map_err(|e| e.to_string())?;
        let tokens = Arc::new(tokens);
        tokens.spawn_scheduler(self.cancel.child_token());
        self.restore_resting(&store).await;
        self.state.attach_accounts(Accounts {
            store: store.clone(),
            tokens: tokens.clone(),
        });
        let opened = Arc::new(Opened {
            store,
            tokens,
            logins,
            quota,
        });
        self.opened.store(Some(opened.clone()));
        Ok(opened)
    }

    /// Something changed the account list (a login, a logout, a setting): requests and the refresh
    /// scheduler see it now rather than at the next poll.
    pub fn changed(&self) {
        if let Some(opened) = self.get() {
            opened.tokens.notify_changed();
        }
        self.state.accounts_changed();
    }

    /// Puts back the cooldowns an earlier run recorded, so a restart does not walk straight back into
    /// a rate limit the provider already announced.
    async fn restore_resting(&self, store: &Arc<AccountStore>) {
        let store = store.clone();
        let wall = time::OffsetDateTime::now_utc();
        let Ok(resting) = tokio::task::spawn_blocking(move || store.resting(wall)).await else {
            return;
        };
        let (cooldowns, now) = (self.state.cooldowns(), tokio::time::Instant::now());
        for r in resting {
            let rest = Resting {
                cred: routable::credential_id(&r.account),
                model: r.model,
                remaining: (r.until - wall).unsigned_abs(),
                status: r.status,
            };
            cooldowns.restore(&rest, now);
        }
        self.saved_rest
            .store(cooldowns.generation(), Ordering::Relaxed);
    }

    /// Records the accounts' cooldowns when they changed since the last write.
    async fn save_resting(&self) {
        let Some(opened) = self.get() else {
            return;
        };
        let cooldowns = self.state.cooldowns();
        let generation = cooldowns.generation();
        if generation == self.saved_rest.load(Ordering::Relaxed) {
            return;
        }
        let wall = time::OffsetDateTime::now_utc();
        let resting: Vec<RestingAccount> = cooldowns
            .resting(tokio::time::Instant::now(), |cred| {
                routable::account_of(cred).is_some()
            })
            .into_iter()
            .filter_map(|r| {
                Some(RestingAccount {
                    account: routable::account_of(&r.cred)?,
                    model: r.model,
                    until: wall + r.remaining,
                    status: r.status,
                })
            })
            .collect();
        let store = opened.store.clone();
        match tokio::task::spawn_blocking(move || store.save_resting(&resting)).await {
            Ok(Ok(())) => self.saved_rest.store(generation, Ordering::Relaxed),
            // Tried again on the next look.
            Ok(Err(e)) => tracing::warn!("cannot record the accounts' cooldowns: {e}"),
            Err(e) => tracing::warn!("cannot record the accounts' cooldowns: {e}"),
        }
    }

    /// Reads CLIProxyAPI's files in the auth dir into the account list.
    async fn reconcile(&self, store: &Arc<AccountStore>) {
        let (store, dir) = (store.clone(), self.dir.clone());
        let done = tokio::task::spawn_blocking(move || {
            accounts::cliproxy::reconcile_auth_dir(&store, &dir)
        })
        .await;
        match done {
            Ok(Ok(r)) => {
                for (path, why) in &r.skipped {
                    tracing::warn!("{}: not used: {why}", path.display());
                }
                if !r.is_empty() {
                    tracing::info!(
                        added = r.added.len(),
                        changed = r.changed.len(),
                        removed = r.removed.len(),
                        "auth files in {} applied",
                        self.dir.display()
                    );
                }
            }
            Ok(Err(e)) => tracing::warn!("cannot read the auth files: {e}"),
            Err(e) => tracing::warn!("cannot read the auth files: {e}"),
        }
    }
}

/// Polls the auth dir for the hub.
pub struct AccountsWatch {
    hub: Arc<AccountsHub>,
    seen: DiskState,
}

impl AccountsWatch {
    pub fn new(hub: Arc<AccountsHub>) -> Self {
        AccountsWatch {
            hub,
            seen: DiskState::default(),
        }
    }

    /// Looks once and applies what changed since the last look.
    pub async fn tick(&mut self) {
        let hub = &self.hub;
        hub.save_resting().await;
        let dir = hub.dir.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || DiskState::read(&dir)).await else {
            return;
        };
        if now == self.seen {
            return;
        }
        if hub.get().is_none() && now.has_accounts() {
            // Tried again when the files change, not every poll: the reason does not change by itself.
            if let Err(why) = hub.open().await {
                tracing::warn!(
                    "logged-in accounts are unavailable, serving config keys only: {why}"
                );
            }
        }
        if let Some(opened) = hub.get() {
            if self.seen.auth_files_changed(&now) {
                hub.reconcile(&opened.store).await;
            }
            hub.changed();
        }
        self.seen = now;
    }

    /// Polls until the hub's cancel token fires.
    pub async fn run(mut self) {
        let cancel = self.hub.cancel.clone();
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(ACCOUNTS_POLL) => self.tick().await,
            }
        }
    }
}
