//! Token endpoint requests (as data, so they can be checked offline), sending them, reading errors,
//! and [`Grant`], what a successful answer gives us.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use url::Url;

use super::OAuthError;
use crate::accounts::{Account, Identity, Origin, OriginKind, Provider, Tokens};

/// How the body is encoded: Anthropic's endpoint takes JSON, OpenAI's a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Json,
    Form,
}

/// One POST to a token endpoint. Every value is kept secret (codes, verifiers, refresh tokens);
/// `Debug` shows the field names only.
pub struct TokenRequest {
    pub url: Url,
    pub encoding: Encoding,
    fields: Vec<(&'static str, SecretString)>,
}

impl TokenRequest {
    pub(crate) fn new(url: &Url, encoding: Encoding) -> Self {
        TokenRequest {
            url: url.clone(),
            encoding,
            fields: Vec::new(),
        }
    }

    pub(crate) fn field(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.fields.push((key, SecretString::from(value.into())));
        self
    }

    /// A field's value (for tests and for callers that log which grant they sent).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.expose_secret())
    }

    pub fn keys(&self) -> Vec<&'static str> {
        self.fields.iter().map(|(k, _)| *k).collect()
    }

    /// The content type and the body text.
    pub fn body(&self) -> (&'static str, String) {
        let pairs = self.fields.iter().map(|(k, v)| (*k, v.expose_secret()));
        match self.encoding {
            Encoding::Json => {
                let map: Map<String, Value> = pairs
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect();
                ("application/json", Value::Object(map).to_string())
            }
            Encoding::Form => (
                "application/x-www-form-urlencoded",
                url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs)
                    .finish(),
            ),
        }
    }
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("url", &self.url.as_str())
            .field("encoding", &self.encoding)
            .field("fields", &self.keys())
            .finish()
    }
}

/// Error codes after which a refresh token is dead for good.
const DEAD_REFRESH_CODES: &[&str] = &[
    "invalid_grant",
    "refresh_token_reused",
    "refresh_token_expired",
    "refresh_token_invalidated",
];

/// Posts `req` and returns the JSON object a 2xx answer carries.
pub async fn send(
    client: &reqwest::Client,
    req: &TokenRequest,
) -> Result<Map<String, Value>, OAuthError> {
    let (content_type, body) = req.body();
    let http_err = |source| OAuthError::Http {
        url: req.url.to_string(),
        source,
    };
    let resp = client
        .post(req.url.clone())
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .header(reqwest::header::ACCEPT, "application/json")
        .body(body)
        .send()
        .await
        .map_err(http_err)?;
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let bytes = resp.bytes().await.map_err(http_err)?;
    if status.as_u16() == 429 {
        return Err(OAuthError::RateLimited { retry_after });
    }
    let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
    if !status.is_success() {
        let (code, message) = parsed.as_ref().map(error_fields).unwrap_or_default();
        let message = if code.is_none() && message.is_empty() {
            snippet(&String::from_utf8_lossy(&bytes))
        } else {
            message
        };
        return Err(OAuthError::Rejected {
            status: status.as_u16(),
            code,
            message,
        });
    }
    match parsed {
        Some(Value::Object(map)) => Ok(map),
        _ => Err(OAuthError::BadResponse(
            "the answer is not a JSON object".into(),
        )),
    }
}

/// On a refresh, a dead refresh token means "log in again", not a transient failure.
pub(crate) fn refresh_error(err: OAuthError) -> OAuthError {
    match err {
        OAuthError::Rejected {
            code: Some(code),
            message,
            ..
        } if DEAD_REFRESH_CODES.contains(&code.as_str()) => {
            OAuthError::NeedsLogin { code, message }
        }
        other => other,
    }
}

/// `{"error":"invalid_grant","error_description":"…"}` (OAuth) or
/// `{"error":{"code":"refresh_token_reused","message":"…"}}` (OpenAI).
fn error_fields(body: &Value) -> (Option<String>, String) {
    let err = body.get("error");
    let code = match err {
        Some(Value::String(s)) => Some(s.clone()),
        Some(obj) => text(obj, &["code"]).or_else(|| text(obj, &["type"])),
        None => None,
    };
    let message = text(body, &["error_description"])
        .or_else(|| err.and_then(|e| text(e, &["message"])))
        .unwrap_or_default();
    (code, snippet(&message))
}

/// Error text is shown to people and logged: keep it short.
fn snippet(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A non-empty string at `path` inside `v`.
pub(crate) fn text(v: &Value, path: &[&str]) -> Option<String> {
    let mut node = v;
    for key in path {
        node = node.get(key)?;
    }
    node.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
}

/// The refresh grant both providers share (Codex adds a scope).
pub(crate) fn refresh_grant(
    url: &Url,
    encoding: Encoding,
    client_id: &str,
    refresh_token: &str,
) -> TokenRequest {
    TokenRequest::new(url, encoding)
        .field("grant_type", "refresh_token")
        .field("refresh_token", refresh_token)
        .field("client_id", client_id)
}

/// The answer as a JSON value, its access token, and the refresh token to keep: the answer's, else
/// (a refresh that did not rotate) the previous one.
pub(crate) fn answer_tokens(
    answer: &Map<String, Value>,
    previous_refresh: Option<&str>,
) -> Result<(Value, String, Option<String>), OAuthError> {
    let v = Value::Object(answer.clone());
    let access = text(&v, &["access_token"])
        .ok_or_else(|| OAuthError::BadResponse("no access_token".into()))?;
    let refresh = text(&v, &["refresh_token"]).or_else(|| previous_refresh.map(String::from));
    Ok((v, access, refresh))
}

/// `expires_in` (a number, or a numeric string) as an instant.
pub(crate) fn expires_at(answer: &Map<String, Value>) -> Option<OffsetDateTime> {
    let secs = match answer.get("expires_in")? {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    Some(OffsetDateTime::now_utc() + time::Duration::seconds(secs))
}

/// What a successful exchange or refresh gives: tokens, who they belong to, and when they expire.
#[derive(Debug, Clone)]
pub struct Grant {
    pub tokens: Tokens,
    pub identity: Identity,
    pub plan: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
    /// Claude: the organization's name, for display.
    pub organization_name: Option<String>,
}

impl Grant {
    /// A new account from a login, ready for `AccountStore::upsert` (which keeps the existing id when
    /// the identity matches).
    pub fn into_account(self, provider: Provider) -> (Account, Tokens) {
        let mut account = Account::new(provider, self.identity);
        account.plan = self.plan;
        account.expires_at = self.expires_at;
        account.last_refresh = Some(OffsetDateTime::now_utc());
        account.origin = Some(Origin::new(OriginKind::Login, None));
        (account, self.tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_encode_as_the_provider_expects_and_debug_hides_values() {
        let url = Url::parse("http://127.0.0.1:1/token").unwrap();
        let req = TokenRequest::new(&url, Encoding::Form)
            .field("grant_type", "refresh_token")
            .field("refresh_token", "rt a&b");
        assert_eq!(
            req.body(),
            (
                "application/x-www-form-urlencoded",
                "grant_type=refresh_token&refresh_token=rt+a%26b".to_string()
            )
        );
        assert!(!format!("{req:?}").contains("rt a"));
        let json = TokenRequest::new(&url, Encoding::Json).field("code", "c");
        assert_eq!(
            json.body(),
            ("application/json", r#"{"code":"c"}"#.to_string())
        );
    }

    #[test]
    fn dead_refresh_tokens_become_needs_login() {
        for body in [
            serde_json::json!({"error": "invalid_grant", "error_description": "Refresh token not found"}),
            serde_json::json!({"error": {"code": "refresh_token_reused", "message": "already used"}}),
        ] {
            let (code, message) = error_fields(&body);
            let err = refresh_error(OAuthError::Rejected {
                status: 400,
                code,
                message,
            });
            assert!(err.needs_login(), "{err}");
            assert!(err.to_string().starts_with("needs login"), "{err}");
        }
        let other = refresh_error(OAuthError::Rejected {
            status: 400,
            code: Some("invalid_request".into()),
            message: String::new(),
        });
        assert!(!other.needs_login());
    }
}
