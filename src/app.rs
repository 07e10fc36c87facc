//! The embedding API: load the config, bind, serve, hot-reload, shut down gracefully.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::accept::NoDelayAcceptor;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::accounts::refresh::{RefreshOptions, TokenSource};
use crate::accounts::resting::RestingAccount;
use crate::accounts::routable;
use crate::accounts::watch::DiskState;
use crate::accounts::{self, SecretStoreChoice};
use crate::config::{self, Config, ConfigError, ConfigWatcher, FirstRun};
use crate::routing::Resting;
use crate::server::{self, Accounts, AppState};

/// How often the config file is checked for edits.
const RELOAD_POLL: Duration = Duration::from_secs(1);

/// How often the auth dir is checked for logins, logouts and CLIProxyAPI files made elsewhere.
const ACCOUNTS_POLL: Duration = Duration::from_secs(1);

/// Called with the config at start and after every good reload (log level, tray state, …).
pub type ConfigHook = Arc<dyn Fn(&Config) + Send + Sync>;

#[derive(Default, Clone)]
pub struct StartOptions {
    /// `None`: `<user config dir>/switchyard/config.yaml`, created with defaults on first run.
    pub config_path: Option<PathBuf>,
    pub on_config: Option<ConfigHook>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(#[from] ConfigError),
    #[error("cannot create the default config at {path}: {source}")]
    CreateConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("cannot load the TLS certificate or key: {0}")]
    Tls(std::io::Error),
}

/// A proxy that is listening. Dropping it without [`RunningProxy::shutdown`] aborts the server.
pub struct RunningProxy {
    addr: SocketAddr,
    tls: bool,
    config_path: PathBuf,
    first_run: Option<FirstRun>,
    handle: axum_server::Handle<SocketAddr>,
    /// `None` once shut down.
    server: Option<JoinHandle<std::io::Result<()>>>,
    shutdown_timeout: Duration,
    _watcher: ConfigWatcher,
    /// Stops the accounts watch and the token refresh scheduler when the proxy goes away.
    _accounts: tokio_util::sync::DropGuard,
}

/// Loads the config, binds the listener and starts serving; returns once it is listening.
pub async fn start(opts: StartOptions) -> Result<RunningProxy, Error> {
    let (config_path, first_run) = match opts.config_path {
        Some(path) => (path, None),
        None => {
            let path = config::default_config_path();
            let first =
                config::ensure_default_config(&path).map_err(|source| Error::CreateConfig {
                    path: path.clone(),
                    source,
                })?;
            (path, first)
        }
    };
    let loaded = config::load_file(&config_path)?;
    for w in &loaded.warnings {
        tracing::warn!("{}:{w}", config_path.display());
    }
    let cfg = loaded.config;
    if let Some(hook) = &opts.on_config {
        hook(&cfg);
    }
    if cfg.api_keys.is_empty() {
        tracing::warn!("`api-keys` is empty: any local program can use this proxy without a key");
    }
    let listener = bind(&cfg.host, cfg.port)?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: format!("{}:{}", cfg.host, cfg.port),
        source,
    })?;
    let state = Arc::new(AppState::new(cfg.clone(), addr));
    // The first look happens before serving, so accounts that exist serve the very first request.
    let accounts_cancel = CancellationToken::new();
    let mut accounts_watch = AccountsWatch::new(state.clone(), &cfg, accounts_cancel.clone());
    accounts_watch.tick().await;
    tokio::spawn(accounts_watch.run());
    let app = server::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let server = match &cfg.tls {
        None => {
            let srv = axum_server::from_tcp(listener).map_err(|source| Error::Bind {
                addr: addr.to_string(),
                source,
            })?;
            // TCP_NODELAY: without it Nagle's algorithm holds each small SSE event until the client's
            // delayed ACK, stalling streams on a reused connection by ~40 ms at a time.
            let srv = srv.acceptor(NoDelayAcceptor::new());
            tokio::spawn(srv.handle(handle.clone()).serve(app))
        }
        Some(tls) => {
            install_crypto_provider();
            let rustls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&tls.cert, &tls.key)
                .await
                .map_err(Error::Tls)?;
            let srv =
                axum_server::from_tcp_rustls(listener, rustls).map_err(|source| Error::Bind {
                    addr: addr.to_string(),
                    source,
                })?;
            let srv = srv.map(|tls| tls.acceptor(NoDelayAcceptor::new()));
            tokio::spawn(srv.handle(handle.clone()).serve(app))
        }
    };
    let watcher = ConfigWatcher::spawn(
        config_path.clone(),
        RELOAD_POLL,
        Box::new(move |cfg| {
            if let Some(hook) = &opts.on_config {
                hook(&cfg);
            }
            state.reload(cfg);
        }),
    );
    Ok(RunningProxy {
        addr,
        tls: cfg.tls.is_some(),
        config_path,
        first_run,
        handle,
        server: Some(server),
        shutdown_timeout: cfg.shutdown_timeout,
        _watcher: watcher,
        _accounts: accounts_cancel.drop_guard(),
    })
}

/// Keeps the running proxy's accounts in line with the auth dir: opens the account store once there is
/// anything in it (so a keys-only proxy never touches the keychain), reads CLIProxyAPI's files as they
/// come, change and go, and applies logins, logouts and refreshes made by other processes.
struct AccountsWatch {
    state: Arc<AppState>,
    dir: PathBuf,
    choice: SecretStoreChoice,
    endpoints: config::Endpoints,
    proxy: Option<config::ProxySetting>,
    cancel: CancellationToken,
    seen: DiskState,
    opened: Option<Accounts>,
    /// The cooldown generation last written to `resting.json`.
    saved_rest: u64,
}

impl AccountsWatch {
    fn new(state: Arc<AppState>, cfg: &Config, cancel: CancellationToken) -> Self {
        AccountsWatch {
            state,
            dir: cfg.auth_dir.clone(),
            choice: cfg.secret_store,
            endpoints: cfg.endpoints.clone(),
            proxy: cfg.proxy.clone(),
            cancel,
            seen: DiskState::default(),
            opened: None,
            saved_rest: 0,
        }
    }

    /// Looks once and applies what changed since the last look.
    async fn tick(&mut self) {
        self.save_resting().await;
        let dir = self.dir.clone();
        let Ok(now) = tokio::task::spawn_blocking(move || DiskState::read(&dir)).await else {
            return;
        };
        if now == self.seen {
            return;
        }
        if self.opened.is_none() && now.has_accounts() {
            match self.open().await {
                Ok(accounts) => {
                    self.restore_resting(&accounts.store).await;
                    self.state.attach_accounts(Accounts {
                        store: accounts.store.clone(),
                        tokens: accounts.tokens.clone(),
                    });
                    self.opened = Some(accounts);
                }
                // Tried again when the files change, not every poll: the reason does not change by itself.
                Err(why) => tracing::warn!(
                    "logged-in accounts are unavailable, serving config keys only: {why}"
                ),
            }
        }
        if let Some(accounts) = &self.opened {
            if self.seen.auth_files_changed(&now) {
                let (store, dir) = (accounts.store.clone(), self.dir.clone());
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
            accounts.tokens.notify_changed();
            self.state.accounts_changed();
        }
        self.seen = now;
    }

    /// Puts back the cooldowns an earlier run recorded, so a restart does not walk straight back into
    /// a rate limit the provider already announced.
    async fn restore_resting(&mut self, store: &Arc<accounts::AccountStore>) {
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
        self.saved_rest = cooldowns.generation();
    }

    /// Records the accounts' cooldowns when they changed since the last write.
    async fn save_resting(&mut self) {
        let Some(accounts) = &self.opened else {
            return;
        };
        let cooldowns = self.state.cooldowns();
        let generation = cooldowns.generation();
        if generation == self.saved_rest {
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
        let store = accounts.store.clone();
        match tokio::task::spawn_blocking(move || store.save_resting(&resting)).await {
            Ok(Ok(())) => self.saved_rest = generation,
            // Tried again on the next look.
            Ok(Err(e)) => tracing::warn!("cannot record the accounts' cooldowns: {e}"),
            Err(e) => tracing::warn!("cannot record the accounts' cooldowns: {e}"),
        }
    }

    async fn open(&self) -> Result<Accounts, String> {
        let (dir, choice) = (self.dir.clone(), self.choice);
        let store = tokio::task::spawn_blocking(move || accounts::open_account_store(&dir, choice))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let store = Arc::new(store);
        let options = RefreshOptions {
            proxy: self.proxy.clone(),
            ..RefreshOptions::default()
        };
        let tokens = TokenSource::new(store.clone(), self.endpoints.clone(), options)
            .map_err(|e| e.to_string())?;
        let tokens = Arc::new(tokens);
        tokens.spawn_scheduler(self.cancel.child_token());
        Ok(Accounts { store, tokens })
    }

    /// Polls until the proxy goes away.
    async fn run(mut self) {
        loop {
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(ACCOUNTS_POLL) => self.tick().await,
            }
        }
    }
}

/// Binds before serving so a taken port is reported plainly. An empty host means every interface, as in
/// CLIProxyAPI: IPv6 and IPv4 where the system allows a dual-stack socket.
fn bind(host: &str, port: u16) -> Result<TcpListener, Error> {
    let bind_err = |addr: String| move |source| Error::Bind { addr, source };
    let candidates: Vec<SocketAddr> = if host.is_empty() {
        vec![
            SocketAddr::from(([0u16; 8], port)),
            SocketAddr::from(([0u8; 4], port)),
        ]
    } else {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        (host, port)
            .to_socket_addrs()
            .map_err(bind_err(format!("{host}:{port}")))?
            .collect()
    };
    let mut last = None;
    for addr in candidates {
        match TcpListener::bind(addr) {
            Ok(l) => {
                l.set_nonblocking(true)
                    .map_err(bind_err(addr.to_string()))?;
                return Ok(l);
            }
            Err(e) => last = Some((addr, e)),
        }
    }
    let (addr, source) = last.unwrap_or_else(|| {
        (
            SocketAddr::from(([0u8; 4], port)),
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the host resolved to no address",
            ),
        )
    });
    Err(Error::Bind {
        addr: addr.to_string(),
        source,
    })
}

fn install_crypto_provider() {
    // Fails only when a provider is already installed, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl RunningProxy {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL clients use, e.g. `http://127.0.0.1:8317`. A wildcard bind is shown as loopback.
    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() && ip.is_ipv6() => "[::1]".to_string(),
            ip if ip.is_unspecified() => "127.0.0.1".to_string(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            std::net::IpAddr::V4(ip) => ip.to_string(),
        };
        format!("{scheme}://{ip}:{}", self.addr.port())
    }

    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// The client key generated when this start created the config file.
    pub fn first_run(&self) -> Option<&FirstRun> {
        self.first_run.as_ref()
    }

    /// Stops accepting connections, lets in-flight requests finish within the configured
    /// `shutdown-timeout`, then closes whatever is left.
    pub async fn shutdown(mut self) {
        self.handle.graceful_shutdown(Some(self.shutdown_timeout));
        let Some(server) = self.server.take() else {
            return;
        };
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("server stopped with an error: {e}"),
            Err(e) => tracing::error!("server task failed: {e}"),
        }
    }

    /// Resolves if the server stops on its own (it should not); for the binary's main loop.
    pub async fn stopped(&mut self) -> String {
        let Some(server) = self.server.as_mut() else {
            return "the server was shut down".into();
        };
        match server.await {
            Ok(Ok(())) => "the server stopped".into(),
            Ok(Err(e)) => format!("the server stopped: {e}"),
            Err(e) => format!("the server task failed: {e}"),
        }
    }
}

impl Drop for RunningProxy {
    fn drop(&mut self) {
        if let Some(server) = &self.server {
            server.abort();
        }
    }
}
