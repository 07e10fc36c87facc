//! Claude (Claude Pro/Max through Claude Code's OAuth client): authorize URL, code exchange and
//! refresh. The token endpoint takes JSON (PROTOCOLS.md §1, CLIProxyAPI `internal/auth/claude`).

use serde_json::{Map, Value};
use url::Url;

use super::token::{
    answer_tokens, expires_at, refresh_error, refresh_grant, send, text, Encoding, Grant,
    TokenRequest,
};
use super::{OAuthError, Pkce};
use crate::accounts::{Identity, Tokens};
use crate::config::ClaudeEndpoints;

pub const CLIENT_ID: &str = "9d1c250a-e61b-44d9-88ed-5944d1962f5e";
pub const SCOPE: &str =
    "user:profile user:inference user:sessions:claude_code user:mcp_servers user:file_upload";
/// The loopback callback path (`http://localhost:54545/callback`).
pub const CALLBACK_PATH: &str = "/callback";
/// Anthropic's own page that shows `code#state` for pasting: the login needs no local port.
pub const MANUAL_REDIRECT_URI: &str = "https://platform.claude.com/oauth/code/callback";

/// The redirect URI for a loopback callback on `port`.
pub fn loopback_redirect_uri(port: u16) -> String {
    format!("http://localhost:{port}{CALLBACK_PATH}")
}

pub fn authorize_url(ep: &ClaudeEndpoints, redirect_uri: &str, pkce: &Pkce, state: &str) -> Url {
    let mut url = ep.authorize.clone();
    url.query_pairs_mut()
        .append_pair("code", "true")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("response_type", "code")
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", SCOPE)
        .append_pair("code_challenge", pkce.challenge())
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", state);
    url
}

/// The code exchange. A code pasted as `code#state` is split; the state it carries wins, as in
/// CLIProxyAPI (the caller has already checked it against ours).
pub fn exchange_request(
    ep: &ClaudeEndpoints,
    code: &str,
    state: &str,
    redirect_uri: &str,
    pkce: &Pkce,
) -> TokenRequest {
    let (code, state) = match code.split_once('#') {
        Some((c, s)) if !s.is_empty() => (c, s),
        Some((c, _)) => (c, state),
        None => (code, state),
    };
    TokenRequest::new(&ep.token, Encoding::Json)
        .field("grant_type", "authorization_code")
        .field("code", code.trim())
        .field("redirect_uri", redirect_uri)
        .field("client_id", CLIENT_ID)
        .field("code_verifier", pkce.verifier())
        .field("state", state)
}

pub fn refresh_request(ep: &ClaudeEndpoints, refresh_token: &str) -> TokenRequest {
    refresh_grant(&ep.token, Encoding::Json, CLIENT_ID, refresh_token)
}

/// Reads `access_token`, `refresh_token`, `expires_in`, `account{uuid,email_address}` and
/// `organization{uuid,name}`. Without a new refresh token the previous one stays in use.
pub fn parse_answer(
    answer: &Map<String, Value>,
    previous_refresh: Option<&str>,
) -> Result<Grant, OAuthError> {
    let (v, access, refresh) = answer_tokens(answer, previous_refresh)?;
    Ok(Grant {
        tokens: Tokens::new(Some(access), refresh, None),
        identity: Identity {
            email: text(&v, &["account", "email_address"]),
            account_uuid: text(&v, &["account", "uuid"]),
            organization_uuid: text(&v, &["organization", "uuid"]),
            account_id: None,
        },
        plan: None,
        expires_at: expires_at(answer),
        organization_name: text(&v, &["organization", "name"]),
    })
}

pub async fn exchange(
    client: &reqwest::Client,
    ep: &ClaudeEndpoints,
    code: &str,
    state: &str,
    redirect_uri: &str,
    pkce: &Pkce,
) -> Result<Grant, OAuthError> {
    let answer = send(
        client,
        &exchange_request(ep, code, state, redirect_uri, pkce),
    )
    .await?;
    parse_answer(&answer, None)
}

/// Refreshes; a refused refresh token is [`OAuthError::NeedsLogin`].
pub async fn refresh(
    client: &reqwest::Client,
    ep: &ClaudeEndpoints,
    refresh_token: &str,
) -> Result<Grant, OAuthError> {
    let answer = send(client, &refresh_request(ep, refresh_token))
        .await
        .map_err(refresh_error)?;
    parse_answer(&answer, Some(refresh_token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Endpoints;

    #[test]
    fn authorize_url_has_exactly_the_documented_parameters() {
        let ep = Endpoints::default().claude;
        let pkce = Pkce::generate();
        let url = authorize_url(&ep, &loopback_redirect_uri(54545), &pkce, "st4te");
        super::super::assert_authorize_url(
            &url,
            "https://claude.ai/oauth/authorize",
            &[
                ("code", "true"),
                ("client_id", CLIENT_ID),
                ("response_type", "code"),
                ("redirect_uri", "http://localhost:54545/callback"),
                ("scope", SCOPE),
                ("code_challenge", pkce.challenge()),
                ("code_challenge_method", "S256"),
                ("state", "st4te"),
            ],
        );
    }

    #[test]
    fn exchange_is_json_with_state_and_splits_pasted_code() {
        let ep = Endpoints::default().claude;
        let pkce = Pkce::generate();
        let req = exchange_request(&ep, "abc#fromPaste", "ours", MANUAL_REDIRECT_URI, &pkce);
        assert_eq!(req.encoding, Encoding::Json);
        assert_eq!(
            req.url.as_str(),
            "https://platform.claude.com/v1/oauth/token"
        );
        assert_eq!(req.get("code"), Some("abc"));
        assert_eq!(req.get("state"), Some("fromPaste"));
        assert_eq!(req.get("code_verifier"), Some(pkce.verifier()));
        assert_eq!(req.get("redirect_uri"), Some(MANUAL_REDIRECT_URI));
        assert_eq!(
            exchange_request(&ep, "abc", "ours", MANUAL_REDIRECT_URI, &pkce).get("state"),
            Some("ours")
        );
        let r = refresh_request(&ep, "rt");
        assert_eq!(r.keys(), vec!["grant_type", "refresh_token", "client_id"]);
        assert_eq!(r.get("grant_type"), Some("refresh_token"));
    }

    #[test]
    fn answer_gives_tokens_identity_and_expiry() {
        let answer = serde_json::json!({
            "access_token": "sk-ant-oat01-x", "refresh_token": "sk-ant-ort01-y", "expires_in": 28800,
            "account": {"uuid": "acc-1", "email_address": "me@example.com"},
            "organization": {"uuid": "org-1", "name": "Mine"}
        });
        let Value::Object(map) = answer else {
            unreachable!()
        };
        let g = parse_answer(&map, None).unwrap();
        assert_eq!(g.tokens.access(), Some("sk-ant-oat01-x"));
        assert_eq!(g.tokens.refresh(), Some("sk-ant-ort01-y"));
        assert_eq!(g.identity.email.as_deref(), Some("me@example.com"));
        assert_eq!(g.identity.account_uuid.as_deref(), Some("acc-1"));
        assert_eq!(g.identity.organization_uuid.as_deref(), Some("org-1"));
        assert_eq!(g.organization_name.as_deref(), Some("Mine"));
        assert!(g.expires_at.is_some());
        let mut map = map;
        map.remove("refresh_token");
        assert_eq!(
            parse_answer(&map, Some("old")).unwrap().tokens.refresh(),
            Some("old")
        );
        map.remove("access_token");
        assert!(parse_answer(&map, None).is_err());
    }
}
