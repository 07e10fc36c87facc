//! [`QuotaService`]: an account's quota on demand, fetched with its access token, cached briefly and
//! fetched once for all callers asking at the same moment.

use std::collections::HashMap;
use std::error::Error as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::header::ACCEPT;
use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;
use tokio::time::Instant;

use super::{parse_claude, parse_codex, Quota, QuotaError};
use crate::accounts::jwt::CodexClaims;
use crate::accounts::oauth::http_client;
use crate::accounts::refresh::{RefreshError, TokenSource};
use crate::accounts::{Account, AccountId, AccountStore, Provider, Status};
use crate::config::{Endpoints, ProxySetting};

/// The beta flag Anthropic requires before it accepts an OAuth token on its API.
const CLAUDE_OAUTH_BETA: &str = "oauth-2025-04-20";

#[derive(Debug, Clone)]
pub struct QuotaOptions {
    /// How long a fetched quota is served from memory. The numbers move slowly and the endpoints
    /// are not meant to be polled, so a UI refreshing every few seconds still costs one call a minute.
    pub ttl: Duration,
    /// How long a failure is served from memory, so a dead endpoint is not asked on every call.
    pub error_ttl: Duration,
    pub http_timeout: Duration,
    /// The config's `proxy-url`; `None` uses the environment's proxy.
    pub proxy: Option<ProxySetting>,
}

impl Default for QuotaOptions {
    fn default() -> Self {
        QuotaOptions {
            ttl: Duration::from_secs(60),
            error_ttl: Duration::from_secs(15),
            http_timeout: Duration::from_secs(15),
            proxy: None,
        }
    }
}

struct Cached {
    until: Instant,
    result: Result<Quota, QuotaError>,
}

/// One account's cache; its async lock is the single flight (waiters find the fresh result).
type Slot = Arc<tokio::sync::Mutex<Option<Cached>>>;

struct Inner {
    store: Arc<AccountStore>,
    tokens: TokenSource,
    endpoints: Endpoints,
    client: reqwest::Client,
    options: QuotaOptions,
    slots: Mutex<HashMap<AccountId, Slot>>,
}

/// Quotas of the logged-in accounts. Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct QuotaService {
    inner: Arc<Inner>,
}

impl QuotaService {
    pub fn new(
        store: Arc<AccountStore>,
        tokens: TokenSource,
        endpoints: Endpoints,
        options: QuotaOptions,
    ) -> Result<Self, QuotaError> {
        let client = http_client(options.http_timeout, options.proxy.as_ref())
            .map_err(|e| QuotaError::Internal(format!("cannot set up the HTTP client: {e}")))?;
        Ok(QuotaService {
            inner: Arc::new(Inner {
                store,
                tokens,
                endpoints,
                client,
                options,
                slots: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The account's quota: from memory while the last answer (or failure) is fresh, else fetched.
    /// Concurrent callers for one account wait for the same fetch.
    pub async fn get(&self, id: &AccountId) -> Result<Quota, QuotaError> {
        let slot = self
            .inner
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(id.clone())
            .or_default()
            .clone();
        let mut cached = slot.lock().await;
        if let Some(c) = cached.as_ref().filter(|c| c.until > Instant::now()) {
            return c.result.clone();
        }
        let result = self.fetch(id).await;
        let ttl = match result {
            Ok(_) => self.inner.options.ttl,
            Err(_) => self.inner.options.error_ttl,
        };
        *cached = Some(Cached {
            until: Instant::now() + ttl,
            result: result.clone(),
        });
        result
    }

    /// Every account's quota for a listing, in `accounts`' order, fetched concurrently within `wait`
    /// overall. Accounts that cannot be asked (disabled, logged out) or do not answer in time get the
    /// reason instead, so a listing never hangs on one slow provider.
    pub async fn for_listing(
        &self,
        accounts: &[Account],
        wait: Duration,
    ) -> Vec<Result<Quota, String>> {
        let deadline = Instant::now() + wait;
        let fetches = accounts.iter().map(|account| async move {
            if account.settings.disabled {
                return Err("not fetched: the account is disabled".to_string());
            }
            if account.status == Status::NeedsLogin {
                return Err("not fetched: the account needs a new login".to_string());
            }
            match tokio::time::timeout_at(deadline, self.get(&account.id)).await {
                Ok(quota) => quota.map_err(|e| e.to_string()),
                Err(_) => Err(format!(
                    "quota unavailable: no answer within {} s",
                    wait.as_secs()
                )),
            }
        });
        futures_util::future::join_all(fetches).await
    }

    async fn fetch(&self, id: &AccountId) -> Result<Quota, QuotaError> {
        let account = self.account(id).await?;
        if account.status == Status::NeedsLogin {
            return Err(QuotaError::NeedsLogin(
                account
                    .status_message
                    .unwrap_or_else(|| "log in again".into()),
            ));
        }
        let tokens = &self.inner.tokens;
        let token = tokens.access_token(id).await.map_err(token_error)?;
        match self.request(&account, &token).await {
            // As the proxy does: a refused token is refreshed once and the request sent again.
            Err(refused @ QuotaError::Status { status: 401, .. }) => {
                match tokens.refresh_after_401(id, &token).await {
                    Ok(token) => self.request(&account, &token).await,
                    Err(e) if e.needs_login() => Err(token_error(e)),
                    // No new token (refreshed moments ago, backing off): the 401 is the news.
                    Err(_) => Err(refused),
                }
            }
            other => other,
        }
    }

    async fn account(&self, id: &AccountId) -> Result<Account, QuotaError> {
        let store = self.inner.store.clone();
        let key = id.clone();
        tokio::task::spawn_blocking(move || store.get(&key))
            .await
            .map_err(|e| QuotaError::Internal(format!("reading the account failed: {e}")))?
            .map_err(|e| QuotaError::Internal(e.to_string()))?
            .ok_or_else(|| QuotaError::UnknownAccount(id.to_string()))
    }

    async fn request(&self, account: &Account, token: &SecretString) -> Result<Quota, QuotaError> {
        let inner = &self.inner;
        let request = match account.provider {
            Provider::Claude => inner
                .client
                .get(inner.endpoints.claude.usage.clone())
                .header("anthropic-beta", CLAUDE_OAUTH_BETA),
            Provider::Codex => {
                let request = inner.client.get(inner.endpoints.codex.usage.clone());
                // The ChatGPT workspace whose limits to report; a person can be in several. Logins
                // imported without it still carry it in the access token.
                let workspace = account.identity.account_id.clone().or_else(|| {
                    CodexClaims::from_token(token.expose_secret())
                        .ok()
                        .and_then(|c| c.account_id)
                });
                match workspace {
                    Some(workspace) => request.header("chatgpt-account-id", workspace),
                    None => request,
                }
            }
        };
        let response = request
            .bearer_auth(token.expose_secret())
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| QuotaError::Unreachable(describe(&e, inner.options.http_timeout)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| QuotaError::Unreachable(describe(&e, inner.options.http_timeout)))?;
        if !status.is_success() {
            return Err(QuotaError::Status {
                status: status.as_u16(),
                detail: error_detail(&body),
            });
        }
        match account.provider {
            Provider::Claude => parse_claude(&body),
            Provider::Codex => parse_codex(&body, OffsetDateTime::now_utc()),
        }
    }
}

fn token_error(e: RefreshError) -> QuotaError {
    match e {
        RefreshError::NeedsLogin { reason, .. } => QuotaError::NeedsLogin(reason),
        RefreshError::UnknownAccount(id) => QuotaError::UnknownAccount(id.to_string()),
        other => QuotaError::NoToken(other.to_string()),
    }
}

/// reqwest's own message names only the URL; the cause is further down the chain.
fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs());
    }
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The message of an error answer, in the shapes these servers use: Anthropic's
/// `{"error": {"message"}}`, OAuth's `{"error", "error_description"}`, ChatGPT's `{"detail"}`.
fn error_detail(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = [
        &v["error"]["message"],
        &v["error_description"],
        &v["detail"],
        &v["error"],
        &v["message"],
    ]
    .into_iter()
    .find_map(|m| m.as_str().filter(|s| !s.trim().is_empty()))?;
    Some(text.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_details_from_the_usual_shapes() {
        let cases: [(&str, Option<&str>); 5] = [
            (
                r#"{"type":"error","error":{"type":"permission_error","message":"OAuth token does not meet scope requirement user:profile"}}"#,
                Some("OAuth token does not meet scope requirement user:profile"),
            ),
            (r#"{"detail":"Unauthorized"}"#, Some("Unauthorized")),
            (
                r#"{"error":"invalid_token","error_description":"expired"}"#,
                Some("expired"),
            ),
            ("<html>Bad gateway</html>", None),
            ("{}", None),
        ];
        for (body, want) in cases {
            assert_eq!(error_detail(body.as_bytes()).as_deref(), want, "{body}");
        }
    }

    #[test]
    fn errors_read_as_sentences() {
        let e = QuotaError::Status {
            status: 503,
            detail: None,
        };
        assert_eq!(
            e.to_string(),
            "quota unavailable: the usage endpoint answered 503"
        );
        let e = QuotaError::Status {
            status: 403,
            detail: Some("missing scope".into()),
        };
        assert_eq!(
            e.to_string(),
            "quota unavailable: the usage endpoint answered 403 (missing scope)"
        );
    }
}
