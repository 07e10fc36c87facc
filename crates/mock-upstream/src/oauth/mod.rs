//! Mock OAuth servers for Claude and Codex under `/oauth/claude/…` and `/oauth/codex/…`: authorize
//! (checks the client's parameters, then redirects to its `redirect_uri` with `code` and `state`),
//! token (authorization code with an S256 PKCE check, refresh with rotation), and Codex's device
//! login. Answers look like the real ones: Claude `sk-ant-oat01-…` with `account` and
//! `organization`; Codex an unsigned `id_token` JWT carrying the `https://api.openai.com/auth` claim.
//! The usage endpoints that take those access tokens are in [`usage`].

mod device;
mod usage;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

pub use usage::MockUsage;

pub const CLAUDE_CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
pub const CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
const CLAUDE_MANUAL_REDIRECT: &str = "https://platform.claude.com/oauth/code/callback";
const CODEX_DEVICE_REDIRECT: &str = "https://auth.openai.com/deviceauth/callback";
/// Device logins approve themselves after this many polls unless a test changes it.
const DEFAULT_AUTO_APPROVE_POLLS: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Provider {
    Claude,
    Codex,
}

/// Who the mock says logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockIdentity {
    pub email: String,
    /// Claude: account uuid; Codex: `chatgpt_account_id`.
    pub account: String,
    /// Claude: organization uuid; Codex: `chatgpt_plan_type`.
    pub org_or_plan: String,
}

struct IssuedCode {
    provider: Provider,
    redirect_uri: String,
    challenge: String,
}

struct Device {
    user_code: String,
    approved: bool,
    polls: u32,
}

struct Inner {
    next: u64,
    codes: HashMap<String, IssuedCode>,
    /// Refresh token → (provider, already used).
    refresh: HashMap<String, (Provider, bool)>,
    devices: HashMap<String, Device>,
    claude: MockIdentity,
    codex: MockIdentity,
    auto_approve_polls: Option<u32>,
    /// Token requests still to answer with 429 (what Cloudflare does to clients it finds unusual).
    rate_limited: u32,
    refresh_faults: VecDeque<RefreshFault>,
    /// Access tokens issued → (provider, the account they belong to: Claude account uuid, Codex
    /// workspace). Refreshing does not revoke older ones; [`OAuthMock::revoke_access_tokens`] does.
    access: HashMap<String, (Provider, String)>,
    claude_usage: MockUsage,
    codex_usage: MockUsage,
    /// Statuses the next usage requests answer with instead of the usage.
    usage_faults: VecDeque<u16>,
    usage_requests: usize,
}

/// What the token endpoint does with a refresh request instead of answering it normally (login
/// code exchanges are never affected). Queued with [`OAuthMock::push_refresh_faults`], one per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshFault {
    /// An error status with an OAuth error body (`server_error`), plus `Retry-After` seconds if given.
    Status {
        status: u16,
        retry_after: Option<u64>,
    },
    /// Never answer. With `rotate_first` the refresh token is spent (its successor issued but never
    /// delivered) before the mock goes quiet: a client killed now has lost its refresh token upstream.
    Hold { rotate_first: bool },
}

/// The mock's OAuth state; reach it through `MockUpstream::oauth`.
pub struct OAuthMock {
    inner: Mutex<Inner>,
    /// Refresh requests received (any outcome), so tests can wait for one without polling.
    refreshes: watch::Sender<usize>,
}

impl Default for OAuthMock {
    fn default() -> Self {
        OAuthMock {
            inner: Mutex::new(Inner {
                next: 0,
                codes: HashMap::new(),
                refresh: HashMap::new(),
                devices: HashMap::new(),
                claude: MockIdentity {
                    email: "claude-user@example.com".into(),
                    account: "acc-claude-0001".into(),
                    org_or_plan: "org-claude-0001".into(),
                },
                codex: MockIdentity {
                    email: "codex-user@example.com".into(),
                    account: "ws-codex-0001".into(),
                    org_or_plan: "plus".into(),
                },
                auto_approve_polls: Some(DEFAULT_AUTO_APPROVE_POLLS),
                rate_limited: 0,
                refresh_faults: VecDeque::new(),
                access: HashMap::new(),
                claude_usage: MockUsage::default(),
                codex_usage: MockUsage::default(),
                usage_faults: VecDeque::new(),
                usage_requests: 0,
            }),
            refreshes: watch::channel(0).0,
        }
    }
}

impl OAuthMock {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Who the next Claude login is.
    pub fn set_claude_identity(&self, identity: MockIdentity) {
        self.lock().claude = identity;
    }

    /// Who the next Codex login is.
    pub fn set_codex_identity(&self, identity: MockIdentity) {
        self.lock().codex = identity;
    }

    /// After how many polls a device login approves itself; `None`: only [`Self::approve_device`].
    pub fn set_device_auto_approve(&self, polls: Option<u32>) {
        self.lock().auto_approve_polls = polls;
    }

    /// The next `n` token requests (either provider) answer `429` with `Retry-After: 1`.
    pub fn rate_limit_token_requests(&self, n: u32) {
        self.lock().rate_limited = n;
    }

    /// The next refresh requests meet these faults, in order; later ones are answered normally.
    pub fn push_refresh_faults(&self, faults: impl IntoIterator<Item = RefreshFault>) {
        self.lock().refresh_faults.extend(faults);
    }

    /// How many refresh requests (either provider, any outcome) the token endpoints received.
    pub fn refresh_count(&self) -> usize {
        *self.refreshes.borrow()
    }

    /// Waits until at least `n` refresh requests arrived or `timeout` passed; returns the count.
    pub async fn wait_for_refreshes(&self, n: usize, timeout: Duration) -> usize {
        let mut rx = self.refreshes.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|count| *count >= n)).await;
        self.refresh_count()
    }

    /// Counts a refresh request and applies the next queued fault: `Some(reply)` to send instead
    /// of the normal answer; a hold never returns.
    async fn refresh_fault(
        &self,
        provider: Provider,
        p: &HashMap<String, String>,
    ) -> Option<Response> {
        if p.get("grant_type").map(String::as_str) != Some("refresh_token") {
            return None;
        }
        self.refreshes.send_modify(|n| *n += 1);
        let fault = self.lock().refresh_faults.pop_front()?;
        match fault {
            RefreshFault::Status {
                status,
                retry_after,
            } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                let mut resp = oauth_error(status, "server_error", "mock: injected failure");
                if let Some(v) =
                    retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok())
                {
                    resp.headers_mut().insert("retry-after", v);
                }
                Some(resp)
            }
            RefreshFault::Hold { rotate_first } => {
                if rotate_first {
                    let _ = grant(&mut self.lock(), provider, p);
                }
                std::future::pending().await
            }
        }
    }

    /// Plays the user entering `user_code` at the device page. False when no login has that code.
    pub fn approve_device(&self, user_code: &str) -> bool {
        let mut inner = self.lock();
        let found = inner
            .devices
            .values_mut()
            .find(|d| d.user_code == user_code);
        found.map(|d| d.approved = true).is_some()
    }
}

/// The `/oauth` routes, to be nested under that prefix.
pub(crate) fn router<S>(mock: Arc<OAuthMock>) -> Router<S> {
    Router::new()
        .route("/claude/authorize", get(claude_authorize))
        .route("/claude/token", post(claude_token))
        .route("/codex/authorize", get(codex_authorize))
        .route("/codex/token", post(codex_token))
        .route("/codex/deviceauth/usercode", post(device::usercode))
        .route("/codex/deviceauth/token", post(device::token))
        .route("/codex/deviceauth/approve", post(device::approve))
        .route("/claude/usage", get(usage::claude))
        .route("/codex/usage", get(usage::codex))
        .with_state(mock)
}

fn json_reply(status: StatusCode, body: Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    json_reply(
        status,
        json!({"error": code, "error_description": description}),
    )
}

/// An error answer, kept small until it becomes a response.
struct Refusal(StatusCode, Value);

impl Refusal {
    fn oauth(status: StatusCode, code: &str, description: &str) -> Self {
        Refusal(
            status,
            json!({"error": code, "error_description": description}),
        )
    }

    fn into_response(self) -> Response {
        json_reply(self.0, self.1)
    }
}

fn params(raw: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(raw).into_owned().collect()
}

fn json_params(raw: &[u8]) -> Option<HashMap<String, String>> {
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(raw) else {
        return None;
    };
    Some(
        map.into_iter()
            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
            .collect(),
    )
}

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// `http://localhost:<port><path>` with a real port.
fn is_loopback(uri: &str, path: &str) -> bool {
    uri.strip_prefix("http://localhost:")
        .and_then(|rest| rest.strip_suffix(path))
        .is_some_and(|port| port.parse::<u16>().is_ok_and(|p| p > 0))
}

/// Checks an authorize request and redirects with a fresh code, as the real page does after sign-in.
fn authorize(mock: &OAuthMock, provider: Provider, query: Option<String>) -> Response {
    let q = params(query.unwrap_or_default().as_bytes());
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or_default();
    let redirect_uri = get("redirect_uri");
    let problem = match provider {
        Provider::Claude => [
            (get("client_id") != CLAUDE_CLIENT_ID, "unknown client_id"),
            (get("code") != "true", "code=true missing"),
            (
                !is_loopback(redirect_uri, "/callback") && redirect_uri != CLAUDE_MANUAL_REDIRECT,
                "redirect_uri not registered",
            ),
            (
                !get("scope").contains("user:inference"),
                "scope lacks user:inference",
            ),
        ]
        .into_iter()
        .find_map(|(bad, why)| bad.then_some(why)),
        Provider::Codex => [
            (get("client_id") != CODEX_CLIENT_ID, "unknown client_id"),
            (
                !is_loopback(redirect_uri, "/auth/callback"),
                "redirect_uri not registered",
            ),
            (
                get("scope") != "openid email profile offline_access",
                "wrong scope",
            ),
            (get("prompt") != "login", "prompt=login missing"),
            (
                get("id_token_add_organizations") != "true",
                "id_token_add_organizations missing",
            ),
            (
                get("codex_cli_simplified_flow") != "true",
                "codex_cli_simplified_flow missing",
            ),
        ]
        .into_iter()
        .find_map(|(bad, why)| bad.then_some(why)),
    }
    .or_else(|| (get("response_type") != "code").then_some("response_type must be code"))
    .or_else(|| {
        (get("code_challenge_method") != "S256").then_some("code_challenge_method must be S256")
    })
    .or_else(|| {
        (get("code_challenge").len() != 43)
            .then_some("code_challenge is not a SHA-256 in base64url")
    })
    .or_else(|| get("state").is_empty().then_some("state missing"));
    if let Some(why) = problem {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", why);
    }
    let code = {
        let mut inner = mock.lock();
        inner.next += 1;
        let code = format!("mock-code-{}", inner.next);
        inner.codes.insert(
            code.clone(),
            IssuedCode {
                provider,
                redirect_uri: redirect_uri.to_string(),
                challenge: get("code_challenge").to_string(),
            },
        );
        code
    };
    let location = format!(
        "{redirect_uri}?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .append_pair("state", get("state"))
            .finish()
    );
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert("location", v);
    }
    resp
}

async fn claude_authorize(State(m): State<Arc<OAuthMock>>, RawQuery(q): RawQuery) -> Response {
    authorize(&m, Provider::Claude, q)
}

async fn codex_authorize(State(m): State<Arc<OAuthMock>>, RawQuery(q): RawQuery) -> Response {
    authorize(&m, Provider::Codex, q)
}

/// Redeems a code once: client, redirect URI and the PKCE verifier must match what authorize saw.
fn redeem(
    inner: &mut Inner,
    provider: Provider,
    p: &HashMap<String, String>,
) -> Result<(), Refusal> {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != client_id(provider) {
        return Err(Refusal::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client_id",
        ));
    }
    let Some(issued) = inner.codes.remove(get("code")) else {
        return Err(Refusal::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown or used code",
        ));
    };
    if issued.provider != provider || issued.redirect_uri != get("redirect_uri") {
        return Err(Refusal::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri does not match",
        ));
    }
    if s256(get("code_verifier")) != issued.challenge {
        return Err(Refusal::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "code_verifier does not match the challenge",
        ));
    }
    if provider == Provider::Claude && get("state").is_empty() {
        return Err(Refusal::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "state missing",
        ));
    }
    Ok(())
}

/// Uses a refresh token once. Codex answers a second use with `refresh_token_reused`; unknown
/// tokens are `invalid_grant` for both.
fn spend_refresh(inner: &mut Inner, provider: Provider, token: &str) -> Result<(), Refusal> {
    match inner.refresh.get_mut(token) {
        Some((p, used)) if *p == provider && !*used => {
            *used = true;
            Ok(())
        }
        Some((p, _)) if *p == provider && provider == Provider::Codex => Err(Refusal(
            StatusCode::UNAUTHORIZED,
            json!({"error": {"message": "Your refresh token has already been used to generate a new access token.", "type": "invalid_request_error", "code": "refresh_token_reused"}}),
        )),
        _ => Err(Refusal::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "refresh token not found",
        )),
    }
}

/// Checks a token request (either grant) and issues the next refresh token: `(serial, token)`.
fn grant(
    inner: &mut Inner,
    provider: Provider,
    p: &HashMap<String, String>,
) -> Result<(u64, String), Refusal> {
    let get = |k: &str| p.get(k).map(String::as_str).unwrap_or_default();
    match get("grant_type") {
        "authorization_code" => redeem(inner, provider, p)?,
        "refresh_token" => {
            // Codex CLI refreshes with a narrower scope; insisting on it catches a client that forgets.
            let scope_ok = provider == Provider::Claude || get("scope") == "openid profile email";
            if get("client_id") != client_id(provider) || !scope_ok {
                return Err(Refusal::oauth(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    "client_id or scope",
                ));
            }
            spend_refresh(inner, provider, get("refresh_token"))?;
        }
        _ => {
            return Err(Refusal::oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type",
            ))
        }
    }
    inner.next += 1;
    let n = inner.next;
    let refresh = match provider {
        Provider::Claude => format!("sk-ant-ort01-mock-{n}"),
        Provider::Codex => format!("rt_mock_{n}"),
    };
    inner.refresh.insert(refresh.clone(), (provider, false));
    Ok((n, refresh))
}

/// A 429 while [`OAuthMock::rate_limit_token_requests`] has some left.
fn rate_limit(inner: &mut Inner) -> Option<Response> {
    if inner.rate_limited == 0 {
        return None;
    }
    inner.rate_limited -= 1;
    let mut resp = json_reply(
        StatusCode::TOO_MANY_REQUESTS,
        json!({"type": "error", "error": {"type": "rate_limit_error", "message": "Rate limited"}}),
    );
    resp.headers_mut()
        .insert("retry-after", HeaderValue::from_static("1"));
    Some(resp)
}

/// The start of both token endpoints: a queued refresh fault or rate limit, else the grant checked
/// and the next tokens' serial and refresh token issued (with the state still locked for the answer).
async fn issue<'m>(
    m: &'m OAuthMock,
    provider: Provider,
    p: &HashMap<String, String>,
) -> Result<(MutexGuard<'m, Inner>, u64, String), Response> {
    if let Some(reply) = m.refresh_fault(provider, p).await {
        return Err(reply);
    }
    let mut inner = m.lock();
    if let Some(resp) = rate_limit(&mut inner) {
        return Err(resp);
    }
    let (n, refresh) = grant(&mut inner, provider, p).map_err(Refusal::into_response)?;
    Ok((inner, n, refresh))
}

fn client_id(provider: Provider) -> &'static str {
    match provider {
        Provider::Claude => CLAUDE_CLIENT_ID,
        Provider::Codex => CODEX_CLIENT_ID,
    }
}

async fn claude_token(State(m): State<Arc<OAuthMock>>, body: Bytes) -> Response {
    let Some(p) = json_params(&body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the body must be JSON",
        );
    };
    let (mut inner, n, refresh) = match issue(&m, Provider::Claude, &p).await {
        Ok(issued) => issued,
        Err(reply) => return reply,
    };
    let access = format!("sk-ant-oat01-mock-{n}");
    let owner = (Provider::Claude, inner.claude.account.clone());
    inner.access.insert(access.clone(), owner);
    let id = &inner.claude;
    json_reply(
        StatusCode::OK,
        json!({
            "token_type": "Bearer",
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": 28800,
            "scope": "user:inference user:profile",
            "organization": {"uuid": id.org_or_plan, "name": "Mock Organization"},
            "account": {"uuid": id.account, "email_address": id.email},
        }),
    )
}

/// An unsigned JWT (`alg: none`), as the client never checks signatures.
fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.mock-signature",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn codex_token(State(m): State<Arc<OAuthMock>>, body: Bytes) -> Response {
    let p = params(&body);
    let (mut inner, n, refresh) = match issue(&m, Provider::Codex, &p).await {
        Ok(issued) => issued,
        Err(reply) => return reply,
    };
    let id = &inner.codex;
    let exp = 4_102_444_800_i64; // 2100-01-01: the mock's tokens never expire on their own.
    let auth = json!({"chatgpt_account_id": id.account, "chatgpt_plan_type": id.org_or_plan, "user_id": "user-mock"});
    let id_token =
        jwt(&json!({"email": id.email, "exp": exp, "https://api.openai.com/auth": auth}));
    let access = jwt(&json!({"exp": exp, "https://api.openai.com/auth": auth, "n": n}));
    let owner = (Provider::Codex, id.account.clone());
    inner.access.insert(access.clone(), owner);
    json_reply(
        StatusCode::OK,
        json!({"id_token": id_token, "access_token": access, "refresh_token": refresh, "expires_in": 864000, "token_type": "Bearer"}),
    )
}
