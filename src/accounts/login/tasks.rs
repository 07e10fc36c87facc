//! The background task behind each login: wait for the browser, a paste or a device approval (or
//! cancel, or time out), exchange the code, store the account, publish the outcome.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::{AccountSummary, Inner, LoginStatus};
use crate::accounts::oauth::codex::{DeviceCode, DevicePoll};
use crate::accounts::oauth::{
    claude, codex, CallbackEvent, CallbackListener, Grant, OAuthError, Pkce,
};
use crate::accounts::{Provider, SettingsMode, Upserted};

/// What a code login needs after the browser step.
pub(super) struct CodeLogin {
    pub(super) provider: Provider,
    pub(super) pkce: Pkce,
    pub(super) state: String,
    pub(super) redirect_uri: String,
}

/// The listener's next event; never ready without a listener (paste logins).
async fn next_event(listener: &mut Option<CallbackListener>) -> CallbackEvent {
    match listener {
        Some(l) => match l.next().await {
            Some(event) => event,
            None => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}

pub(super) async fn run_code(
    inner: Arc<Inner>,
    login: CodeLogin,
    mut listener: Option<CallbackListener>,
    mut paste: mpsc::Receiver<SecretString>,
    status: watch::Sender<LoginStatus>,
    cancel: CancellationToken,
) {
    let deadline = tokio::time::sleep(inner.options.timeout);
    tokio::pin!(deadline);
    let code = tokio::select! {
        () = cancel.cancelled() => Err(LoginStatus::Cancelled),
        () = &mut deadline => Err(timed_out(&inner)),
        event = next_event(&mut listener) => match event {
            CallbackEvent::Code(code) => Ok(code),
            CallbackEvent::Denied(why) => Err(LoginStatus::Failed(OAuthError::Denied(why).to_string())),
        },
        pasted = paste.recv() => pasted.ok_or(LoginStatus::Cancelled),
    };
    // The port is freed before the (possibly slow) token exchange.
    if let Some(l) = listener.take() {
        l.close().await;
    }
    let result = match code {
        Err(status) => status,
        Ok(code) => tokio::select! {
            () = cancel.cancelled() => LoginStatus::Cancelled,
            r = exchange_code(&inner, &login, &code) => r,
        },
    };
    status.send_replace(result);
}

/// Anthropic's token endpoint sits behind Cloudflare, which answers 429 to clients it finds unusual.
/// A code stays valid for minutes and a 429 never reaches the origin (the code is not spent), so a
/// short `Retry-After` is waited out a couple of times rather than failing the login.
const RATE_LIMIT_RETRIES: u32 = 2;
const LONGEST_RATE_LIMIT_WAIT: Duration = Duration::from_secs(30);

async fn retry_rate_limited<F, Fut>(mut attempt: F) -> Result<Grant, OAuthError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Grant, OAuthError>>,
{
    let mut retries = 0;
    loop {
        match attempt().await {
            Err(OAuthError::RateLimited { retry_after }) if retries < RATE_LIMIT_RETRIES => {
                let wait = retry_after.unwrap_or(Duration::from_secs(2));
                if wait > LONGEST_RATE_LIMIT_WAIT {
                    return Err(OAuthError::RateLimited { retry_after });
                }
                retries += 1;
                tracing::info!(
                    "the token endpoint is rate limiting; retrying in {} s",
                    wait.as_secs()
                );
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

async fn exchange_code(inner: &Arc<Inner>, login: &CodeLogin, code: &SecretString) -> LoginStatus {
    let grant = retry_rate_limited(|| exchange_once(inner, login, code)).await;
    finish(inner, login.provider, grant).await
}

async fn exchange_once(
    inner: &Arc<Inner>,
    login: &CodeLogin,
    code: &SecretString,
) -> Result<Grant, OAuthError> {
    let client = &inner.client;
    match login.provider {
        Provider::Claude => {
            claude::exchange(
                client,
                &inner.endpoints.claude,
                code.expose_secret(),
                &login.state,
                &login.redirect_uri,
                &login.pkce,
            )
            .await
        }
        Provider::Codex => {
            codex::exchange(
                client,
                &inner.endpoints.codex,
                code.expose_secret(),
                &login.redirect_uri,
                login.pkce.verifier(),
            )
            .await
        }
    }
}

pub(super) async fn run_device(
    inner: Arc<Inner>,
    device: DeviceCode,
    status: watch::Sender<LoginStatus>,
    cancel: CancellationToken,
) {
    let deadline = tokio::time::sleep(inner.options.timeout);
    tokio::pin!(deadline);
    let ep = &inner.endpoints.codex;
    let result = loop {
        tokio::select! {
            () = cancel.cancelled() => break LoginStatus::Cancelled,
            () = &mut deadline => break timed_out(&inner),
            () = tokio::time::sleep(device.interval) => {}
        }
        let polled = tokio::select! {
            () = cancel.cancelled() => break LoginStatus::Cancelled,
            p = codex::poll_device(&inner.client, ep, &device) => p,
        };
        match polled {
            Ok(DevicePoll::Pending) => continue,
            Ok(DevicePoll::Approved {
                authorization_code,
                code_verifier,
            }) => {
                let exchange = retry_rate_limited(|| {
                    codex::exchange_device(&inner.client, ep, &authorization_code, &code_verifier)
                });
                let grant = tokio::select! {
                    () = cancel.cancelled() => break LoginStatus::Cancelled,
                    g = exchange => g,
                };
                break finish(&inner, Provider::Codex, grant).await;
            }
            Err(e) => break LoginStatus::Failed(e.to_string()),
        }
    };
    status.send_replace(result);
}

fn timed_out(inner: &Inner) -> LoginStatus {
    LoginStatus::Failed(format!(
        "the login timed out after {} s without an answer; start it again",
        inner.options.timeout.as_secs()
    ))
}

/// Stores the account and says what happened.
async fn finish(
    inner: &Arc<Inner>,
    provider: Provider,
    grant: Result<Grant, OAuthError>,
) -> LoginStatus {
    let grant = match grant {
        Ok(g) => g,
        Err(e) => return LoginStatus::Failed(e.to_string()),
    };
    let (account, tokens) = grant.into_account(provider);
    let (email, plan) = (account.identity.email.clone(), account.plan.clone());
    let store = inner.store.clone();
    // The store does blocking file and keychain work.
    let saved = tokio::task::spawn_blocking(move || {
        store.upsert(account, &tokens, SettingsMode::KeepExisting)
    })
    .await;
    match saved {
        Ok(Ok(up)) => LoginStatus::Succeeded(AccountSummary {
            id: up.id().clone(),
            provider,
            email,
            plan,
            updated: matches!(up, Upserted::Updated(_)),
        }),
        Ok(Err(e)) => LoginStatus::Failed(format!(
            "signed in, but the account could not be saved: {e}"
        )),
        Err(e) => LoginStatus::Failed(format!("signed in, but saving the account failed: {e}")),
    }
}
