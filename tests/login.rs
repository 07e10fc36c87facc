//! Logging into Claude and Codex against the mock OAuth servers, end to end: the service starts a
//! login, the test plays the browser (GET the authorize URL without following the redirect, then GET
//! the Location, which is the loopback callback), and the account lands in a file-backed store.
//! Callback ports are 0 (any free port): never the real 54545 / 1455.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use switchyard::accounts::login::{
    AccountSummary, LoginError, LoginMethod, LoginOptions, LoginService, LoginStatus, LoginTicket,
};
use switchyard::accounts::oauth::{claude, codex, OAuthError};
use switchyard::accounts::secret::FileSecretStore;
use switchyard::accounts::{AccountStore, Provider};
use switchyard::config::{self, Endpoints};
use switchyard_mock::MockUpstream;

struct Env {
    _tmp: tempfile::TempDir,
    mock: MockUpstream,
    endpoints: Endpoints,
    store: Arc<AccountStore>,
    service: LoginService,
    /// The "browser": no redirects followed, no proxy.
    browser: reqwest::Client,
}

async fn env_with(options: LoginOptions) -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let mock = MockUpstream::start().await;
    let endpoints = endpoints_for(&mock);
    let secrets = Arc::new(FileSecretStore::open(&tmp.path().join("tokens")).unwrap());
    let store = Arc::new(AccountStore::open(&tmp.path().join("data"), secrets).unwrap());
    let service = LoginService::new(store.clone(), endpoints.clone(), options).unwrap();
    let browser = common::browser();
    Env {
        _tmp: tmp,
        mock,
        endpoints,
        store,
        service,
        browser,
    }
}

async fn env() -> Env {
    env_with(LoginOptions::default()).await
}

/// The endpoints a config pointing at the mock resolves to (exercises the `endpoints:` keys).
fn endpoints_for(mock: &MockUpstream) -> Endpoints {
    let loaded = config::load_str(&mock.oauth_endpoints_yaml(), Path::new("/"), &|_| None)
        .expect("the mock's endpoints block loads");
    loaded.config.endpoints.clone()
}

impl Env {
    async fn start(&self, provider: Provider, method: LoginMethod) -> LoginTicket {
        self.service.start(provider, method).await.unwrap()
    }

    /// A whole browser login: sign in, follow the redirect to the loopback listener, wait.
    async fn browser_login(&self, provider: Provider) -> AccountSummary {
        let ticket = self.start(provider, LoginMethod::Callback).await;
        let location = self.sign_in(&ticket).await;
        assert_eq!(self.follow(&location).await.0, 200);
        self.succeeded(&ticket).await
    }

    fn providers(&self) -> Vec<Provider> {
        let mut all = Vec::new();
        for account in self.store.list().unwrap() {
            all.push(account.provider);
        }
        all.sort();
        all
    }
    /// Signs in at the mock's authorize page and returns where it redirects the browser.
    async fn sign_in(&self, ticket: &LoginTicket) -> String {
        let url = ticket.url.as_deref().expect("a browser login has a URL");
        let resp = self.browser.get(url).send().await.unwrap();
        assert_eq!(
            resp.status(),
            302,
            "{}",
            resp.text().await.unwrap_or_default()
        );
        resp.headers()["location"].to_str().unwrap().to_string()
    }

    /// The browser following the redirect to the loopback callback.
    async fn follow(&self, location: &str) -> (u16, String) {
        let resp = self.browser.get(location).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    async fn finished(&self, ticket: &LoginTicket) -> LoginStatus {
        tokio::time::timeout(Duration::from_secs(20), self.service.wait(&ticket.id))
            .await
            .expect("the login finishes")
            .unwrap()
    }

    async fn succeeded(&self, ticket: &LoginTicket) -> AccountSummary {
        match self.finished(ticket).await {
            LoginStatus::Succeeded(summary) => summary,
            other => panic!("login did not succeed: {other:?}"),
        }
    }
}

fn port_is_free(port: u16) -> bool {
    std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
}

#[tokio::test]
async fn claude_login_through_the_loopback_callback() {
    let env = env().await;
    let ticket = env.start(Provider::Claude, LoginMethod::Callback).await;
    let port = ticket.callback_port.unwrap();
    assert!(port != 0 && port != 54545);
    let location = env.sign_in(&ticket).await;
    assert!(
        location.starts_with(&format!("http://localhost:{port}/callback?code=")),
        "{location}"
    );
    let (status, page) = env.follow(&location).await;
    assert_eq!(status, 200);
    assert!(page.contains("close this tab"), "{page}");
    let summary = env.succeeded(&ticket).await;
    assert!(!summary.updated);
    assert_eq!(summary.email.as_deref(), Some("claude-user@example.com"));
    let accounts = env.store.list().unwrap();
    assert_eq!(accounts.len(), 1);
    let a = &accounts[0];
    assert_eq!(a.provider, Provider::Claude);
    assert_eq!(a.identity.account_uuid.as_deref(), Some("acc-claude-0001"));
    assert_eq!(
        a.identity.organization_uuid.as_deref(),
        Some("org-claude-0001")
    );
    assert!(a.expires_at.is_some());
    let tokens = env.store.tokens(&a.id).unwrap().unwrap();
    assert!(tokens.access().unwrap().starts_with("sk-ant-oat01-"));
    assert!(tokens.refresh().unwrap().starts_with("sk-ant-ort01-"));
    assert!(port_is_free(port), "the listener is closed after the login");
}

#[tokio::test]
async fn codex_login_through_the_loopback_callback() {
    let env = env().await;
    let ticket = env.start(Provider::Codex, LoginMethod::Callback).await;
    let location = env.sign_in(&ticket).await;
    let port = ticket.callback_port.unwrap();
    assert!(location.starts_with(&format!("http://localhost:{port}/auth/callback?code=")));
    assert_eq!(env.follow(&location).await.0, 200);
    let summary = env.succeeded(&ticket).await;
    assert_eq!(summary.plan.as_deref(), Some("plus"));
    let a = &env.store.list().unwrap()[0];
    assert_eq!(a.identity.email.as_deref(), Some("codex-user@example.com"));
    assert_eq!(a.identity.account_id.as_deref(), Some("ws-codex-0001"));
    assert_eq!(a.plan.as_deref(), Some("plus"));
    let tokens = env.store.tokens(&a.id).unwrap().unwrap();
    assert!(tokens.id().is_some() && tokens.refresh().is_some());
}

#[tokio::test]
async fn codex_device_login_waits_for_approval() {
    let env = env().await;
    env.mock.oauth().set_device_auto_approve(None);
    let ticket = env.start(Provider::Codex, LoginMethod::Device).await;
    let code = ticket.user_code.clone().unwrap();
    assert_eq!(
        ticket.verification_url.as_deref(),
        Some("https://auth.openai.com/codex/device")
    );
    assert!(ticket.url.is_none() && ticket.callback_port.is_none());
    // Polled once (interval 1 s) and still pending: 403 means "not yet".
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(env.service.status(&ticket.id), Some(LoginStatus::Pending));
    assert!(env.service.submit_pasted(&ticket.id, "code#state").is_err());
    assert!(env.mock.oauth().approve_device(&code));
    let summary = env.succeeded(&ticket).await;
    assert_eq!(summary.email.as_deref(), Some("codex-user@example.com"));
    assert_eq!(env.store.list().unwrap().len(), 1);
}

#[tokio::test]
async fn claude_has_no_device_login() {
    let env = env().await;
    let err = env
        .service
        .start(Provider::Claude, LoginMethod::Device)
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("--manual"), "{err}");
}

#[tokio::test]
async fn a_pasted_redirect_url_completes_a_login() {
    let env = env().await;
    let ticket = env.start(Provider::Codex, LoginMethod::Callback).await;
    let location = env.sign_in(&ticket).await;
    // The user copies the address instead of the browser reaching the listener.
    env.service.submit_pasted(&ticket.id, &location).unwrap();
    env.succeeded(&ticket).await;
    assert!(port_is_free(ticket.callback_port.unwrap()));
    assert!(matches!(
        env.service.submit_pasted(&ticket.id, &location),
        Err(LoginError::Finished)
    ));
}

#[tokio::test]
async fn claude_manual_login_takes_a_pasted_code_and_state() {
    let env = env().await;
    let ticket = env.start(Provider::Claude, LoginMethod::Paste).await;
    assert!(ticket.callback_port.is_none());
    let location = env.sign_in(&ticket).await;
    let prefix = format!("{}?", claude::MANUAL_REDIRECT_URI);
    let query = location
        .strip_prefix(&prefix)
        .expect("redirects to Anthropic's code page");
    let pairs: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    // What Anthropic's page shows: code#state.
    let shown = format!("{}#{}", pairs["code"], pairs["state"]);
    env.service.submit_pasted(&ticket.id, &shown).unwrap();
    let summary = env.succeeded(&ticket).await;
    assert_eq!(summary.provider, Provider::Claude);
}

#[tokio::test]
async fn a_wrong_state_is_refused_and_the_login_keeps_waiting() {
    let env = env().await;
    let ticket = env.start(Provider::Codex, LoginMethod::Callback).await;
    let location = env.sign_in(&ticket).await;
    let state = ticket.state.clone().unwrap();
    let forged = location.replace(&state, "forged-state");
    let (status, page) = env.follow(&forged).await;
    assert_eq!(status, 400);
    assert!(page.contains("does not match"), "{page}");
    let err = env.service.submit_pasted(&ticket.id, &forged).unwrap_err();
    assert!(matches!(err, LoginError::OAuth(OAuthError::StateMismatch)));
    assert_eq!(env.service.status(&ticket.id), Some(LoginStatus::Pending));
    assert_eq!(env.follow(&location).await.0, 200);
    env.succeeded(&ticket).await;
}

#[tokio::test]
async fn a_busy_port_is_reported_with_the_alternatives() {
    let mut env = env().await;
    let taken = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    let port = taken.local_addr().unwrap().port();
    env.endpoints.claude.callback_port = port;
    env.endpoints.codex.callback_port = port;
    let service = LoginService::new(
        env.store.clone(),
        env.endpoints.clone(),
        LoginOptions::default(),
    )
    .unwrap();
    for (provider, hint) in [
        (Provider::Claude, "--manual"),
        (Provider::Codex, "--device"),
    ] {
        let err = service
            .start(provider, LoginMethod::Callback)
            .await
            .err()
            .unwrap();
        let msg = err.to_string();
        assert!(msg.contains(&format!("port {port}")), "{msg}");
        assert!(msg.contains(hint) && msg.contains("paste"), "{msg}");
    }
    // The other ways in still work with the port taken.
    let ticket = service
        .start(Provider::Codex, LoginMethod::Paste)
        .await
        .unwrap();
    let location = env.sign_in(&ticket).await;
    service.submit_pasted(&ticket.id, &location).unwrap();
    env.service = service;
    env.succeeded(&ticket).await;
}

#[tokio::test]
async fn cancel_closes_the_listener_and_frees_the_port() {
    let env = env().await;
    let ticket = env.start(Provider::Claude, LoginMethod::Callback).await;
    let port = ticket.callback_port.unwrap();
    assert!(!port_is_free(port));
    assert!(env.service.cancel(&ticket.id).await.unwrap());
    assert!(port_is_free(port));
    assert_eq!(env.service.status(&ticket.id), Some(LoginStatus::Cancelled));
    assert!(!env.service.cancel(&ticket.id).await.unwrap());
}

#[tokio::test]
async fn a_login_times_out_and_frees_its_port() {
    let env = env_with(LoginOptions {
        timeout: Duration::from_millis(300),
        ..LoginOptions::default()
    })
    .await;
    let ticket = env.start(Provider::Codex, LoginMethod::Callback).await;
    match env.finished(&ticket).await {
        LoginStatus::Failed(why) => assert!(why.contains("timed out"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(port_is_free(ticket.callback_port.unwrap()));
}

#[tokio::test]
async fn claude_and_codex_logins_run_at_once() {
    let env = env().await;
    let claude_ticket = env.start(Provider::Claude, LoginMethod::Callback).await;
    let codex_ticket = env.start(Provider::Codex, LoginMethod::Callback).await;
    assert_ne!(claude_ticket.callback_port, codex_ticket.callback_port);
    let codex_location = env.sign_in(&codex_ticket).await;
    let claude_location = env.sign_in(&claude_ticket).await;
    assert_eq!(env.follow(&codex_location).await.0, 200);
    assert_eq!(env.follow(&claude_location).await.0, 200);
    env.succeeded(&claude_ticket).await;
    env.succeeded(&codex_ticket).await;
    assert_eq!(env.providers(), vec![Provider::Claude, Provider::Codex]);
}

#[tokio::test]
async fn the_same_account_twice_is_updated_not_duplicated() {
    let env = env().await;
    let mut ids = Vec::new();
    for round in 0..2 {
        let summary = env.browser_login(Provider::Codex).await;
        assert_eq!(summary.updated, round == 1);
        ids.push(summary.id);
    }
    assert_eq!(ids[0], ids[1]);
    let accounts = env.store.list().unwrap();
    assert_eq!(accounts.len(), 1);
    // The second login's tokens replaced the first's.
    let tokens = env.store.tokens(&accounts[0].id).unwrap().unwrap();
    assert!(tokens.refresh().unwrap().starts_with("rt_mock_"));
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_or_unknown_token_needs_login() {
    let env = env().await;
    let id = env.browser_login(Provider::Codex).await.id;
    let first = env.store.tokens(&id).unwrap().unwrap();
    let old = first.refresh().unwrap().to_string();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let grant = codex::refresh(&http, &env.endpoints.codex, &old)
        .await
        .unwrap();
    assert_ne!(grant.tokens.refresh(), Some(old.as_str()));
    assert_eq!(
        grant.identity.email.as_deref(),
        Some("codex-user@example.com")
    );
    let reused = codex::refresh(&http, &env.endpoints.codex, &old)
        .await
        .unwrap_err();
    assert!(reused.needs_login(), "{reused}");
    assert!(
        reused.to_string().contains("refresh_token_reused"),
        "{reused}"
    );
    let unknown = claude::refresh(&http, &env.endpoints.claude, "sk-ant-ort01-nope")
        .await
        .unwrap_err();
    assert!(
        unknown.needs_login() && unknown.to_string().contains("invalid_grant"),
        "{unknown}"
    );
}

#[tokio::test]
async fn a_rate_limited_exchange_waits_out_retry_after() {
    let env = env().await;
    env.mock.oauth().rate_limit_token_requests(1);
    let started = std::time::Instant::now();
    let summary = env.browser_login(Provider::Claude).await;
    assert_eq!(summary.email.as_deref(), Some("claude-user@example.com"));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    // A refresh reports the 429 to its caller (the scheduler backs off), with the wait.
    env.mock.oauth().rate_limit_token_requests(1);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let err = claude::refresh(&http, &env.endpoints.claude, "sk-ant-ort01-x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, OAuthError::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(1)),
        "{err}"
    );
}

#[tokio::test]
async fn codex_paste_login_uses_the_registered_address_without_listening() {
    let env = env().await;
    let ticket = env.start(Provider::Codex, LoginMethod::Paste).await;
    assert!(ticket.callback_port.is_none());
    let location = env.sign_in(&ticket).await;
    // Nothing listens there; the user copies the address from the browser's error page.
    assert!(
        location.starts_with("http://localhost:1455/auth/callback?code="),
        "{location}"
    );
    env.service.submit_pasted(&ticket.id, &location).unwrap();
    env.succeeded(&ticket).await;
}
