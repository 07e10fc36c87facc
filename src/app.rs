//! The embedding API: load the config, bind, serve, hot-reload, shut down gracefully.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::accept::NoDelayAcceptor;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{self, Config, ConfigError, ConfigWatcher, FirstRun};
use crate::server::{self, AppState};
use crate::service::{AccountsHub, AccountsWatch, Service};

/// How often the config file is checked for edits.
const RELOAD_POLL: Duration = Duration::from_secs(1);

/// How long a shutdown waits for the usage writer to commit what it was handed.
const USAGE_FLUSH: Duration = Duration::from_secs(3);

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
    service: Arc<Service>,
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
    let usage = crate::usage::Usage::open(&cfg.usage);
    let state = Arc::new(AppState::new(cfg.clone(), addr, usage));
    let accounts_cancel = CancellationToken::new();
    let hub = Arc::new(AccountsHub::new(
        state.clone(),
        &cfg,
        accounts_cancel.clone(),
    ));
    // The first look happens before serving, so accounts that exist serve the very first request.
    let mut accounts_watch = AccountsWatch::new(hub.clone());
    accounts_watch.tick().await;
    tokio::spawn(accounts_watch.run());
    let config_write = Arc::new(tokio::sync::Mutex::new(()));
    let service = Arc::new(Service::new(
        state.clone(),
        hub,
        config_path.clone(),
        config_write.clone(),
    ));
    let app = server::router(state.clone(), service.clone())
        .into_make_service_with_connect_info::<SocketAddr>();
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
        config_write,
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
        service,
        _accounts: accounts_cancel.drop_guard(),
    })
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
        server::base_url(self.addr, self.tls)
    }

    /// The service layer the desktop app's commands and the management API call.
    pub fn service(&self) -> Arc<Service> {
        self.service.clone()
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
        // The writer commits in batches; the last requests' events are still on their way.
        self.service.usage().flush(USAGE_FLUSH).await;
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
