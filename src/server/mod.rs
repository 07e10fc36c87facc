//! The HTTP front door: routes, the gatekeeper (browser guard + client key), and the live state handlers read.

mod guard;
mod handlers;
mod management;
mod models;
mod observe;
mod respond;
mod translated;

use std::net::SocketAddr;
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use http::{Method, StatusCode};
use secrecy::ExposeSecret;

use crate::accounts::refresh::TokenSource;
use crate::accounts::{routable, Account, AccountStore};
use crate::config::Config;
use crate::routing::{Cooldowns, Registry, Router};
use crate::service::Service;
use crate::usage::{self, Usage};
use crate::wire::error::ErrorKind;
use crate::wire::Format;

pub use guard::{check_client_key, presented_keys, AuthFailure};

/// A config snapshot and what is derived from it; swapped whole on reload.
pub struct Live {
    pub config: Arc<Config>,
    pub registry: Registry,
    listings: models::Listings,
    /// How usage names each of `config.api_keys`, computed once per snapshot.
    client_key_labels: Vec<String>,
    /// Every logged-in account, serving or not, as (routing id, provider): health and metrics count
    /// them without reading the list again.
    pub accounts: Vec<(String, &'static str)>,
}

impl Live {
    /// The config's keys and the logged-in accounts that can serve, ready to route.
    pub fn new(config: Arc<Config>, accounts: &[Account]) -> Self {
        let creds = routable::credentials(accounts, &config);
        let registry = Registry::with_accounts(&config, &creds);
        let listings = models::Listings::new(&registry);
        let client_key_labels = config
            .api_keys
            .iter()
            .map(|k| usage::client_key_label(k.expose_secret()))
            .collect();
        Live {
            config,
            registry,
            listings,
            client_key_labels,
            accounts: accounts
                .iter()
                .map(|a| (routable::credential_id(&a.id), a.provider.as_str()))
                .collect(),
        }
    }
}

/// The logged-in accounts a running proxy serves with: where they are listed, and their tokens.
pub struct Accounts {
    pub store: Arc<AccountStore>,
    pub tokens: Arc<TokenSource>,
}

pub struct AppState {
    live: ArcSwap<Live>,
    router: Router,
    bound: SocketAddr,
    /// Set at start: like the port, TLS changes need a restart.
    tls: bool,
    /// `None` until someone logs in: a keys-only proxy never opens the store (or the keychain).
    accounts: ArcSwapOption<AccountStore>,
    /// The accounts' tokens, for `/metrics` to count refreshes; set with `accounts`.
    tokens: ArcSwapOption<TokenSource>,
    /// Bumped whenever the config or the account list changes, for a tray or UI to redraw.
    changes: tokio::sync::watch::Sender<u64>,
    usage: Arc<Usage>,
}

/// Which client key a request presented (its usage label); `None` when the proxy wants no key.
#[derive(Debug, Clone)]
pub struct ClientKey(pub Option<String>);

impl AppState {
    pub fn new(config: Arc<Config>, bound: SocketAddr, usage: Arc<Usage>) -> Self {
        AppState {
            usage,
            tls: config.tls.is_some(),
            live: ArcSwap::from_pointee(Live::new(config, &[])),
            router: Router::new(),
            bound,
            accounts: ArcSwapOption::empty(),
            tokens: ArcSwapOption::empty(),
            changes: tokio::sync::watch::Sender::new(0),
        }
    }

    /// A receiver that sees a new value whenever the config or the account list changed.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.subscribe()
    }

    /// Serves the logged-in accounts from now on, next to the config's keys.
    pub fn attach_accounts(&self, accounts: Accounts) {
        self.tokens.store(Some(accounts.tokens.clone()));
        self.router.set_tokens(accounts.tokens);
        self.accounts.store(Some(accounts.store));
        self.accounts_changed();
    }

    /// The URL clients use.
    pub fn endpoint(&self) -> String {
        base_url(self.bound, self.tls)
    }

    /// Which credentials are cooling down for which model.
    pub fn cooldowns(&self) -> &Cooldowns {
        self.router.cooldowns()
    }

    /// Usage history, request logs and metrics.
    pub fn usage(&self) -> &Arc<Usage> {
        &self.usage
    }

    /// The snapshot one request uses from start to end.
    pub fn live(&self) -> Arc<Live> {
        self.live.load_full()
    }

    /// Applies a new config to requests that start from now on.
    pub fn reload(&self, config: Arc<Config>) {
        let old = self.live();
        if old.config.host != config.host
            || old.config.port != config.port
            || old.config.tls.is_some() != config.tls.is_some()
        {
            tracing::warn!("host, port and tls changes take effect after a restart");
        }
        self.usage.reconfigure(&config.usage);
        let accounts = listed_accounts(self.accounts.load().as_deref());
        self.live.store(Arc::new(Live::new(config, &accounts)));
        self.changes.send_modify(|n| *n += 1);
    }

    /// An account was added, removed or changed (a login, an import, a refresh that needs a new login):
    /// requests from now on see the new list.
    pub fn accounts_changed(&self) {
        let config = self.live().config.clone();
        let accounts = listed_accounts(self.accounts.load().as_deref());
        self.live.store(Arc::new(Live::new(config, &accounts)));
        self.changes.send_modify(|n| *n += 1);
    }
}

/// The URL clients use for a proxy bound to `addr`, e.g. `http://127.0.0.1:8317`; a wildcard bind is
/// shown as loopback.
pub fn base_url(addr: SocketAddr, tls: bool) -> String {
    let scheme = if tls { "https" } else { "http" };
    let ip = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv6() => "[::1]".to_string(),
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    format!("{scheme}://{ip}:{}", addr.port())
}

/// The logged-in accounts; none when the list cannot be read (said in the log).
fn listed_accounts(store: Option<&AccountStore>) -> Vec<Account> {
    let Some(store) = store else {
        return Vec::new();
    };
    match store.list() {
        Ok(accounts) => accounts,
        Err(e) => {
            tracing::warn!("cannot read the account list; serving with config keys only: {e}");
            Vec::new()
        }
    }
}

/// The largest request body accepted (Anthropic's own limit is 32 MB; images inflate base64 by a third).
pub const MAX_BODY_BYTES: usize = 64 << 20;

/// The proxy's routes and, answering to the management key instead of a client key, the management API
/// and page over `service`.
pub fn router(state: Arc<AppState>, service: Arc<Service>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(handlers::healthz))
        .route("/metrics", get(observe::metrics))
        .route("/health/liveness", get(observe::liveness))
        .route("/health/readiness", get(observe::readiness))
        .route("/v1/models", get(models::list_v1))
        .route("/v1/chat/completions", post(handlers::chat_completions))
        .route("/v1/completions", post(handlers::completions))
        .route("/v1/responses", post(handlers::responses))
        .route("/v1/messages", post(handlers::messages))
        .route("/v1/messages/count_tokens", post(handlers::count_tokens))
        .route("/v1beta/models", get(models::list_gemini))
        .route(
            "/v1beta/models/{target}",
            post(handlers::gemini).get(models::get_gemini),
        )
        // google-genai's default API version is `v1`; the calls are the same.
        .route("/v1/models/{target}", post(handlers::gemini))
        .merge(management::router(state.clone(), service))
        .fallback(any(not_found))
        .layer(middleware::from_fn_with_state(state.clone(), gatekeeper))
        .with_state(state)
}

/// The format whose error shape a path's clients understand.
pub fn format_for(path: &str, headers: &http::HeaderMap) -> Format {
    match path {
        p if p.starts_with("/v1beta") => Format::Gemini,
        p if p.starts_with("/v1/models/") && p.contains(':') => Format::Gemini,
        p if p.starts_with("/v1/messages") => Format::Anthropic,
        "/v1/models" if headers.contains_key("anthropic-version") => Format::Anthropic,
        "/v1/responses" => Format::OpenAiResponses,
        "/v1/completions" => Format::OpenAiCompletions,
        _ => Format::OpenAiChat,
    }
}

/// Runs before every handler: refuse browser-borne requests, answer preflights, check the client key.
async fn gatekeeper(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let live = state.live();
    let format = format_for(req.uri().path(), req.headers());
    if let Err(why) = guard::check_browser(req.headers(), state.bound, &live.config.browser_access)
    {
        tracing::warn!(path = %req.uri().path(), "refused: {why}");
        return respond::error(
            format,
            ErrorKind::Permission,
            &why,
            Some("browser_request_refused"),
        );
    }
    if req.method() == Method::OPTIONS {
        return StatusCode::NO_CONTENT.into_response();
    }
    // The management routes check the management key themselves, `/metrics` the metrics key; a client
    // key opens nothing there.
    let path = req.uri().path();
    if path == "/healthz" || management::is_management_path(path) || observe::is_observe_path(path)
    {
        return next.run(req).await;
    }
    let keys = guard::presented_keys(req.headers(), req.uri().query());
    match guard::check_client_key(&keys, &live.config.api_keys) {
        Ok(which) => {
            let label = which.and_then(|i| live.client_key_labels.get(i).cloned());
            let mut req = req;
            req.extensions_mut().insert(ClientKey(label));
            next.run(req).await
        }
        Err(AuthFailure::Missing) => respond::error(
            format,
            ErrorKind::Authentication,
            "missing client key: send it as `Authorization: Bearer <key>`, `x-api-key` or `x-goog-api-key`",
            Some("missing_api_key"),
        ),
        Err(AuthFailure::Invalid) => respond::error(
            format,
            ErrorKind::Authentication,
            "invalid client key: it is not one of the config's `api-keys`",
            Some("invalid_api_key"),
        ),
    }
}

async fn not_found(req: Request) -> Response {
    let format = format_for(req.uri().path(), req.headers());
    let message = format!("no route for {} {}", req.method(), req.uri().path());
    respond::error(format, ErrorKind::NotFound, &message, Some("unknown_route"))
}
