//! OAuth for Claude and Codex subscriptions: PKCE, authorize URLs, token exchange and refresh
//! requests, the loopback callback listener, and reading what a user pasted.
//!
//! Request builders are plain functions returning a [`TokenRequest`] so they can be checked without
//! a network; [`send`] posts one and turns the answer into a [`Grant`] or an [`OAuthError`].

pub mod callback;
pub mod claude;
pub mod codex;
mod paste;
pub mod pkce;
mod token;

pub use callback::{CallbackEvent, CallbackListener};
pub use paste::{parse_pasted, Pasted};
pub use pkce::{random_state, Pkce};
pub use token::{send, Encoding, Grant, TokenRequest};

use std::time::Duration;

use super::Provider;
use crate::config::ProxySetting;

/// Everything that can go wrong while logging in or refreshing.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    #[error("{}", port_busy_message(*provider, *port))]
    PortBusy { provider: Provider, port: u16 },
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot reach {url}: {source}")]
    Http { url: String, source: reqwest::Error },
    /// The refresh token was refused for good (`invalid_grant`, `refresh_token_reused`, …):
    /// only a new login helps.
    #[error(
        "needs login: the provider refused the refresh token ({code}){}",
        detail(message)
    )]
    NeedsLogin { code: String, message: String },
    #[error("the provider is rate limiting sign-ins (HTTP 429){}", retry_after.map(|d| format!("; try again in {}s", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    #[error("the provider refused the request (HTTP {status}{}){}", code.as_deref().map(|c| format!(", {c}")).unwrap_or_default(), detail(message))]
    Rejected {
        status: u16,
        code: Option<String>,
        message: String,
    },
    #[error("the provider's answer was not understood: {0}")]
    BadResponse(String),
    #[error("the sign-in was declined: {0}")]
    Denied(String),
    #[error(
        "this sign-in answer belongs to another login (state mismatch); start the login again"
    )]
    StateMismatch,
    #[error("not a sign-in answer: {0}")]
    BadPaste(String),
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn port_busy_message(provider: Provider, port: u16) -> String {
    let other = match provider {
        Provider::Claude => {
            "log in with `--manual`: Anthropic's page then shows a code#state to paste here"
        }
        Provider::Codex => {
            "log in with `--device` (a code to enter at auth.openai.com), or with `--manual` and \
             paste the address the browser ends on"
        }
    };
    format!(
        "port {port} on this machine is in use by another program (another login or proxy?), so the \
         browser cannot come back to Switchyard after {provider} sign-in. Close that program and try \
         again, or {other}."
    )
}

/// The client both the login service and the refresher use for the token endpoints, through the
/// config's `proxy-url` when one is set (`None`: the environment's proxy).
pub(crate) fn http_client(
    timeout: Duration,
    proxy: Option<&ProxySetting>,
) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        // A token endpoint that redirects would have us re-send codes, verifiers and refresh
        // tokens elsewhere.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("switchyard/", env!("CARGO_PKG_VERSION")));
    if let Some(proxy) = proxy {
        builder = proxy.apply(builder)?;
    }
    builder.build()
}

impl OAuthError {
    /// True when the account cannot be used again without a new login.
    pub fn needs_login(&self) -> bool {
        matches!(self, OAuthError::NeedsLogin { .. })
    }
}

/// Test helper: asserts that `url` is `base` with exactly `want` as its query, in order.
#[cfg(test)]
pub(crate) fn assert_authorize_url(url: &url::Url, base: &str, want: &[(&str, &str)]) {
    assert_eq!(url.as_str().split('?').next(), Some(base));
    let got: Vec<(String, String)> = url.query_pairs().into_owned().collect();
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(got, want);
}
