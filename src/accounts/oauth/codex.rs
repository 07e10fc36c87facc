//! Codex (ChatGPT subscriptions through Codex CLI's OAuth client): authorize URL, code exchange,
//! refresh and the device-code login. The token endpoint takes a form (PROTOCOLS.md §2, CLIProxyAPI
//! `internal/auth/codex/openai_auth.go`, `sdk/auth/codex_device.go`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use url::Url;

use super::token::{
    answer_tokens, expires_at, refresh_error, refresh_grant, send, text, Encoding, Grant,
    TokenRequest,
};
use super::{OAuthError, Pkce};
use crate::accounts::jwt::CodexClaims;
use crate::accounts::{Identity, Tokens};
use crate::config::CodexEndpoints;

pub const CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";
pub const SCOPE: &str = "openid email profile offline_access";
/// Refreshes ask for this narrower scope, as Codex CLI and CLIProxyAPI do.
pub const REFRESH_SCOPE: &str = "openid profile email";
/// The loopback callback path (`http://localhost:1455/auth/callback`).
pub const CALLBACK_PATH: &str = "/auth/callback";
/// The redirect URI a device-flow code is exchanged with.
pub const DEVICE_REDIRECT_URI: &str = "https://auth.openai.com/deviceauth/callback";
/// Where the user enters the device code.
pub const DEVICE_VERIFICATION_URL: &str = "https://auth.openai.com/codex/device";
/// The interval CLIProxyAPI falls back to when the answer names none.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5);

pub fn loopback_redirect_uri(port: u16) -> String {
    format!("http://localhost:{port}{CALLBACK_PATH}")
}

pub fn authorize_url(ep: &CodexEndpoints, redirect_uri: &str, pkce: &Pkce, state: &str) -> Url {
    let mut url = ep.authorize.clone();
    url.query_pairs_mut()
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPE)
        .append_pair("state", state)
        .append_pair("code_challenge", pkce.challenge())
        .append_pair("code_challenge_method", "S256")
        .append_pair("prompt", "login")
        .append_pair("id_token_add_organizations", "true")
        .append_pair("codex_cli_simplified_flow", "true");
    url
}

pub fn exchange_request(
    ep: &CodexEndpoints,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
) -> TokenRequest {
    TokenRequest::new(&ep.token, Encoding::Form)
        .field("grant_type", "authorization_code")
        .field("code", code.trim())
        .field("redirect_uri", redirect_uri)
        .field("client_id", CLIENT_ID)
        .field("code_verifier", code_verifier)
}

pub fn refresh_request(ep: &CodexEndpoints, refresh_token: &str) -> TokenRequest {
    refresh_grant(&ep.token, Encoding::Form, CLIENT_ID, refresh_token).field("scope", REFRESH_SCOPE)
}

/// Reads the tokens; email, workspace (`chatgpt_account_id`) and plan come from the `id_token`
/// claims (the access token's when a refresh answer carries no `id_token`).
pub fn parse_answer(
    answer: &Map<String, Value>,
    previous_refresh: Option<&str>,
) -> Result<Grant, OAuthError> {
    let (v, access, refresh) = answer_tokens(answer, previous_refresh)?;
    let id_token = text(&v, &["id_token"]);
    let claims = id_token
        .as_deref()
        .and_then(|t| CodexClaims::from_token(t).ok())
        .or_else(|| CodexClaims::from_token(&access).ok())
        .unwrap_or_default();
    let expires = expires_at(answer).or_else(|| {
        CodexClaims::from_token(&access)
            .ok()
            .and_then(|c| c.expires_at)
    });
    Ok(Grant {
        tokens: Tokens::new(Some(access), refresh, id_token),
        identity: Identity {
            email: claims.email,
            account_id: claims.account_id,
            ..Identity::default()
        },
        plan: claims.plan,
        expires_at: expires,
        organization_name: None,
    })
}

pub async fn exchange(
    client: &reqwest::Client,
    ep: &CodexEndpoints,
    code: &str,
    redirect_uri: &str,
    code_verifier: &str,
) -> Result<Grant, OAuthError> {
    let answer = send(
        client,
        &exchange_request(ep, code, redirect_uri, code_verifier),
    )
    .await?;
    let grant = parse_answer(&answer, None)?;
    if grant.identity.email.is_none() && grant.identity.account_id.is_none() {
        return Err(OAuthError::BadResponse(
            "the id_token names no account (no email, no chatgpt_account_id)".into(),
        ));
    }
    Ok(grant)
}

/// Refreshes; `refresh_token_reused` or `invalid_grant` is [`OAuthError::NeedsLogin`]. The answer's
/// refresh token replaces the old one, which is now spent: persist it before anything else runs.
pub async fn refresh(
    client: &reqwest::Client,
    ep: &CodexEndpoints,
    refresh_token: &str,
) -> Result<Grant, OAuthError> {
    let answer = send(client, &refresh_request(ep, refresh_token))
        .await
        .map_err(refresh_error)?;
    parse_answer(&answer, Some(refresh_token))
}

/// A device login in progress: show `user_code`, poll every `interval`.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub device_auth_id: String,
    pub user_code: String,
    pub interval: Duration,
}

pub async fn request_device_code(
    client: &reqwest::Client,
    ep: &CodexEndpoints,
) -> Result<DeviceCode, OAuthError> {
    let req = TokenRequest::new(&ep.device_code, Encoding::Json).field("client_id", CLIENT_ID);
    let answer = Value::Object(send(client, &req).await?);
    // Older answers call it `usercode`.
    let user_code = text(&answer, &["user_code"]).or_else(|| text(&answer, &["usercode"]));
    let (Some(device_auth_id), Some(user_code)) = (text(&answer, &["device_auth_id"]), user_code)
    else {
        return Err(OAuthError::BadResponse(
            "the device-code answer lacks device_auth_id or user_code".into(),
        ));
    };
    Ok(DeviceCode {
        device_auth_id,
        user_code,
        interval: poll_interval(answer.get("interval")),
    })
}

/// `interval` comes as a number or a numeric string; anything else (or 0) means 5 s.
fn poll_interval(v: Option<&Value>) -> Duration {
    let secs = match v {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    secs.filter(|s| *s > 0)
        .map_or(DEFAULT_POLL_INTERVAL, Duration::from_secs)
}

/// One poll's outcome.
pub enum DevicePoll {
    /// The user has not entered the code yet.
    Pending,
    /// Exchange `authorization_code` with `code_verifier` and [`DEVICE_REDIRECT_URI`].
    Approved {
        authorization_code: SecretString,
        code_verifier: SecretString,
    },
}

/// Polls once. 403 and 404 mean "not yet", as in CLIProxyAPI's `pollCodexDeviceToken`.
pub async fn poll_device(
    client: &reqwest::Client,
    ep: &CodexEndpoints,
    device: &DeviceCode,
) -> Result<DevicePoll, OAuthError> {
    let req = TokenRequest::new(&ep.device_token, Encoding::Json)
        .field("device_auth_id", device.device_auth_id.as_str())
        .field("user_code", device.user_code.as_str());
    let answer = match send(client, &req).await {
        Ok(answer) => Value::Object(answer),
        Err(OAuthError::Rejected {
            status: 403 | 404, ..
        }) => return Ok(DevicePoll::Pending),
        Err(e) => return Err(e),
    };
    match (
        text(&answer, &["authorization_code"]),
        text(&answer, &["code_verifier"]),
    ) {
        (Some(code), Some(verifier)) => Ok(DevicePoll::Approved {
            authorization_code: SecretString::from(code),
            code_verifier: SecretString::from(verifier),
        }),
        _ => Err(OAuthError::BadResponse(
            "the device-token answer lacks authorization_code or code_verifier".into(),
        )),
    }
}

/// Exchanges an approved device login.
pub async fn exchange_device(
    client: &reqwest::Client,
    ep: &CodexEndpoints,
    authorization_code: &SecretString,
    code_verifier: &SecretString,
) -> Result<Grant, OAuthError> {
    exchange(
        client,
        ep,
        authorization_code.expose_secret(),
        DEVICE_REDIRECT_URI,
        code_verifier.expose_secret(),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::jwt::tests::fake_jwt;
    use crate::accounts::jwt::OPENAI_AUTH_CLAIM;
    use crate::config::Endpoints;

    #[test]
    fn authorize_url_has_exactly_the_documented_parameters() {
        let ep = Endpoints::default().codex;
        let pkce = Pkce::generate();
        let url = authorize_url(&ep, &loopback_redirect_uri(1455), &pkce, "st");
        super::super::assert_authorize_url(
            &url,
            "https://auth.openai.com/oauth/authorize",
            &[
                ("client_id", CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", "http://localhost:1455/auth/callback"),
                ("scope", SCOPE),
                ("state", "st"),
                ("code_challenge", pkce.challenge()),
                ("code_challenge_method", "S256"),
                ("prompt", "login"),
                ("id_token_add_organizations", "true"),
                ("codex_cli_simplified_flow", "true"),
            ],
        );
    }

    #[test]
    fn exchange_and_refresh_are_forms() {
        let ep = Endpoints::default().codex;
        let req = exchange_request(&ep, "c", DEVICE_REDIRECT_URI, "v");
        assert_eq!(req.encoding, Encoding::Form);
        assert_eq!(
            req.keys(),
            vec![
                "grant_type",
                "code",
                "redirect_uri",
                "client_id",
                "code_verifier"
            ]
        );
        let r = refresh_request(&ep, "rt");
        assert_eq!(r.get("scope"), Some("openid profile email"));
        assert_eq!(r.get("grant_type"), Some("refresh_token"));
        assert_eq!(r.body().0, "application/x-www-form-urlencoded");
    }

    #[test]
    fn identity_and_plan_come_from_the_id_token() {
        let id = fake_jwt(&serde_json::json!({
            "email": "dev@example.com",
            OPENAI_AUTH_CLAIM: {"chatgpt_account_id": "ws-1", "chatgpt_plan_type": "plus"}
        }));
        let answer = serde_json::json!({"access_token": "at", "refresh_token": "rt", "id_token": id, "expires_in": "3600"});
        let Value::Object(map) = answer else {
            unreachable!()
        };
        let g = parse_answer(&map, None).unwrap();
        assert_eq!(g.identity.email.as_deref(), Some("dev@example.com"));
        assert_eq!(g.identity.account_id.as_deref(), Some("ws-1"));
        assert_eq!(g.plan.as_deref(), Some("plus"));
        assert!(g.expires_at.is_some());
        assert!(g.tokens.id().is_some());
    }

    #[test]
    fn poll_interval_accepts_numbers_and_strings() {
        assert_eq!(
            poll_interval(Some(&serde_json::json!(3))),
            Duration::from_secs(3)
        );
        assert_eq!(
            poll_interval(Some(&serde_json::json!("2"))),
            Duration::from_secs(2)
        );
        assert_eq!(
            poll_interval(Some(&serde_json::json!(0))),
            DEFAULT_POLL_INTERVAL
        );
        assert_eq!(poll_interval(None), DEFAULT_POLL_INTERVAL);
    }
}
