//! The login service: the one API the CLI, the tray and the management UI call to log into Claude
//! or Codex. A login is started, then observed (`status` / `wait`), fed a pasted answer, or
//! cancelled; on success the account is upserted into the [`AccountStore`] (the same account
//! logging in again is updated, not duplicated).
//!
//! Several logins may run at once (one Claude and one Codex use different ports). Finished logins
//! stay queryable for the life of the service; there are only ever a handful.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::oauth::{self, claude, codex, CallbackListener, OAuthError, Pkce};
use super::{AccountId, AccountStore, AccountsError, Provider};
use crate::config::{Endpoints, ProxySetting, CODEX_CALLBACK_PORT};

mod tasks;
use tasks::{run_code, run_device, CodeLogin};

/// How the user proves who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginMethod {
    /// Browser sign-in returning to a loopback listener; a pasted answer is accepted too.
    Callback,
    /// Browser sign-in without a listener: the user pastes the answer. For Claude the provider's own
    /// page shows `code#state`; for Codex the user copies the address the browser ends on.
    Paste,
    /// Codex only: a code entered at the provider's device page; no local port, no paste.
    Device,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LoginId(String);

impl LoginId {
    fn generate() -> Self {
        LoginId(oauth::random_state()[..16].to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LoginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for LoginId {
    fn from(s: &str) -> Self {
        LoginId(s.to_string())
    }
}

/// What to show the user once a login has started.
#[derive(Debug, Clone)]
pub struct LoginTicket {
    pub id: LoginId,
    pub provider: Provider,
    pub method: LoginMethod,
    /// The sign-in page to open (callback and paste logins).
    pub url: Option<String>,
    /// Device logins: the code to enter at `verification_url`.
    pub user_code: Option<String>,
    pub verification_url: Option<String>,
    /// The `state` this login expects back.
    pub state: Option<String>,
    /// The loopback port the browser returns to (callback logins).
    pub callback_port: Option<u16>,
}

/// The account a login produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub id: AccountId,
    pub provider: Provider,
    pub email: Option<String>,
    pub plan: Option<String>,
    /// True when an existing account with the same identity got the new tokens.
    pub updated: bool,
}

impl fmt::Display for AccountSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.updated { "Updated" } else { "Added" };
        write!(
            f,
            "{verb} {} account {}",
            self.provider,
            self.email.as_deref().unwrap_or("(no email)")
        )?;
        if let Some(plan) = &self.plan {
            write!(f, " (plan {plan})")?;
        }
        write!(f, " as {}", self.id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginStatus {
    Pending,
    Succeeded(AccountSummary),
    Failed(String),
    Cancelled,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error(transparent)]
    Accounts(#[from] AccountsError),
    #[error("no login with id {0}")]
    UnknownLogin(LoginId),
    #[error("{0}")]
    Unsupported(&'static str),
    #[error("this login has already finished")]
    Finished,
    #[error("cannot set up the HTTP client: {0}")]
    Client(reqwest::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// How long a login waits for the browser, a paste or a device approval.
    pub timeout: Duration,
    /// The config's `proxy-url` for the OAuth servers; `None` uses the environment's proxy.
    pub proxy: Option<ProxySetting>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            timeout: Duration::from_secs(10 * 60),
            proxy: None,
        }
    }
}

struct Flow {
    /// `None` for device logins, which take no paste.
    expected_state: Option<String>,
    paste: Option<mpsc::Sender<SecretString>>,
    status: watch::Receiver<LoginStatus>,
    cancel: CancellationToken,
}

struct Inner {
    store: Arc<AccountStore>,
    endpoints: Endpoints,
    client: reqwest::Client,
    options: LoginOptions,
    flows: Mutex<HashMap<LoginId, Flow>>,
}

impl Inner {
    fn flows(&self) -> MutexGuard<'_, HashMap<LoginId, Flow>> {
        // A panic while holding the map must not wedge every later login.
        self.flows.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Cheap to clone; clones share the logins.
#[derive(Clone)]
pub struct LoginService {
    inner: Arc<Inner>,
}

impl LoginService {
    pub fn new(
        store: Arc<AccountStore>,
        endpoints: Endpoints,
        options: LoginOptions,
    ) -> Result<Self, LoginError> {
        let client = oauth::http_client(Duration::from_secs(30), options.proxy.as_ref())
            .map_err(LoginError::Client)?;
        Ok(LoginService {
            inner: Arc::new(Inner {
                store,
                endpoints,
                client,
                options,
                flows: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Starts a login. A callback login whose port is taken fails here with
    /// [`OAuthError::PortBusy`], naming the port and the other ways in.
    pub async fn start(
        &self,
        provider: Provider,
        method: LoginMethod,
    ) -> Result<LoginTicket, LoginError> {
        let id = LoginId::generate();
        let cancel = CancellationToken::new();
        let (status_tx, status) = watch::channel(LoginStatus::Pending);
        let inner = self.inner.clone();
        let (ticket, flow) = match method {
            LoginMethod::Device => {
                if provider != Provider::Codex {
                    return Err(LoginError::Unsupported(
                        "Claude has no device login; use the paste login (`--manual`) when no browser can return here",
                    ));
                }
                let device =
                    codex::request_device_code(&inner.client, &inner.endpoints.codex).await?;
                let ticket = LoginTicket {
                    id: id.clone(),
                    provider,
                    method,
                    url: None,
                    user_code: Some(device.user_code.clone()),
                    verification_url: Some(codex::DEVICE_VERIFICATION_URL.to_string()),
                    state: None,
                    callback_port: None,
                };
                tokio::spawn(run_device(inner, device, status_tx, cancel.clone()));
                let flow = Flow {
                    expected_state: None,
                    paste: None,
                    status,
                    cancel,
                };
                (ticket, flow)
            }
            LoginMethod::Callback | LoginMethod::Paste => {
                let pkce = Pkce::generate();
                let state = oauth::random_state();
                let listener = match method {
                    LoginMethod::Callback => {
                        let (port, path) = match provider {
                            Provider::Claude => {
                                (inner.endpoints.claude.callback_port, claude::CALLBACK_PATH)
                            }
                            Provider::Codex => {
                                (inner.endpoints.codex.callback_port, codex::CALLBACK_PATH)
                            }
                        };
                        Some(CallbackListener::bind(provider, port, path, &state).await?)
                    }
                    _ => None,
                };
                let callback_port = listener.as_ref().map(CallbackListener::port);
                let redirect_uri = match (provider, callback_port) {
                    (Provider::Claude, Some(port)) => claude::loopback_redirect_uri(port),
                    (Provider::Claude, None) => claude::MANUAL_REDIRECT_URI.to_string(),
                    (Provider::Codex, Some(port)) => codex::loopback_redirect_uri(port),
                    // Without a listener the address only has to be the registered one.
                    (Provider::Codex, None) => {
                        codex::loopback_redirect_uri(match inner.endpoints.codex.callback_port {
                            0 => CODEX_CALLBACK_PORT,
                            configured => configured,
                        })
                    }
                };
                let url = match provider {
                    Provider::Claude => {
                        claude::authorize_url(&inner.endpoints.claude, &redirect_uri, &pkce, &state)
                    }
                    Provider::Codex => {
                        codex::authorize_url(&inner.endpoints.codex, &redirect_uri, &pkce, &state)
                    }
                };
                let (paste_tx, paste_rx) = mpsc::channel(1);
                let ticket = LoginTicket {
                    id: id.clone(),
                    provider,
                    method,
                    url: Some(url.to_string()),
                    user_code: None,
                    verification_url: None,
                    state: Some(state.clone()),
                    callback_port,
                };
                let login = CodeLogin {
                    provider,
                    pkce,
                    state: state.clone(),
                    redirect_uri,
                };
                tokio::spawn(run_code(
                    inner,
                    login,
                    listener,
                    paste_rx,
                    status_tx,
                    cancel.clone(),
                ));
                let flow = Flow {
                    expected_state: Some(state),
                    paste: Some(paste_tx),
                    status,
                    cancel,
                };
                (ticket, flow)
            }
        };
        self.inner.flows().insert(id, flow);
        Ok(ticket)
    }

    pub fn status(&self, id: &LoginId) -> Option<LoginStatus> {
        self.inner
            .flows()
            .get(id)
            .map(|f| f.status.borrow().clone())
    }

    /// Waits until the login is no longer pending.
    pub async fn wait(&self, id: &LoginId) -> Result<LoginStatus, LoginError> {
        let mut rx = self
            .inner
            .flows()
            .get(id)
            .map(|f| f.status.clone())
            .ok_or_else(|| LoginError::UnknownLogin(id.clone()))?;
        let status = rx
            .wait_for(|s| *s != LoginStatus::Pending)
            .await
            .map(|s| s.clone())
            .map_err(|_| LoginError::Internal("the login task ended without a result".into()))?;
        Ok(status)
    }

    /// Takes what the user pasted: the final redirect URL, `code#state`, or a bare code. A `state`
    /// that is not this login's is refused and the login keeps waiting.
    pub fn submit_pasted(&self, id: &LoginId, text: &str) -> Result<(), LoginError> {
        let flows = self.inner.flows();
        let flow = flows
            .get(id)
            .ok_or_else(|| LoginError::UnknownLogin(id.clone()))?;
        let (Some(expected), Some(paste)) = (&flow.expected_state, &flow.paste) else {
            return Err(LoginError::Unsupported(
                "a device login takes no pasted answer; enter the code at the device page",
            ));
        };
        if *flow.status.borrow() != LoginStatus::Pending {
            return Err(LoginError::Finished);
        }
        let pasted = oauth::parse_pasted(text)?;
        if pasted.state.as_deref().is_some_and(|s| s != expected) {
            return Err(OAuthError::StateMismatch.into());
        }
        paste
            .try_send(SecretString::from(pasted.code))
            .map_err(|_| LoginError::Finished)
    }

    /// Cancels a pending login; returns once its listener is closed and its port free.
    /// `false` when the login had already finished.
    pub async fn cancel(&self, id: &LoginId) -> Result<bool, LoginError> {
        let mut rx = {
            let flows = self.inner.flows();
            let flow = flows
                .get(id)
                .ok_or_else(|| LoginError::UnknownLogin(id.clone()))?;
            if *flow.status.borrow() != LoginStatus::Pending {
                return Ok(false);
            }
            flow.cancel.cancel();
            flow.status.clone()
        };
        let _ = rx.wait_for(|s| *s != LoginStatus::Pending).await;
        let cancelled = *rx.borrow() == LoginStatus::Cancelled;
        Ok(cancelled)
    }
}
