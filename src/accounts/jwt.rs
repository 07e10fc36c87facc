//! Reading claims out of a JWT (Codex's `id_token` and access token).
//!
//! The signature is deliberately not checked. These tokens reach us straight from the issuer over TLS
//! or from a file the user owns; we read the claims only to name, label and route the account, never to
//! decide whether someone may do something. Checking would need OpenAI's signing keys over the network
//! and would protect nothing: whoever can plant a forged token here already holds the real ones.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use serde_json::Value;
use time::OffsetDateTime;

use super::AccountsError;

/// base64url that accepts the payload with or without `=` padding (issuers differ).
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The claim object holding ChatGPT's account data.
pub const OPENAI_AUTH_CLAIM: &str = "https://api.openai.com/auth";

/// The payload of a JWT as JSON.
pub fn decode_claims(token: &str) -> Result<serde_json::Map<String, Value>, AccountsError> {
    let mut parts = token.trim().split('.');
    let (Some(_header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AccountsError::Jwt(
            "expected three dot-separated parts".into(),
        ));
    };
    let bytes = B64URL
        .decode(payload)
        .map_err(|e| AccountsError::Jwt(format!("payload is not base64url: {e}")))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AccountsError::Jwt("payload is not a JSON object".into())),
        Err(e) => Err(AccountsError::Jwt(format!("payload is not JSON: {e}"))),
    }
}

/// What a Codex token says about its account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodexClaims {
    pub email: Option<String>,
    /// `chatgpt_account_id`, or `user_id` for tokens minted by the iOS app, which omit it (as
    /// CLIProxyAPI does).
    pub account_id: Option<String>,
    /// `chatgpt_plan_type`: free, plus, pro, team, …
    pub plan: Option<String>,
    pub expires_at: Option<OffsetDateTime>,
}

impl CodexClaims {
    pub fn from_token(token: &str) -> Result<Self, AccountsError> {
        let claims = decode_claims(token)?;
        let text = |v: Option<&Value>| {
            v.and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let auth = claims.get(OPENAI_AUTH_CLAIM);
        let auth_field = |k: &str| text(auth.and_then(|a| a.get(k)));
        let email = text(claims.get("email")).or_else(|| {
            text(
                claims
                    .get("https://api.openai.com/profile")
                    .and_then(|p| p.get("email")),
            )
        });
        Ok(CodexClaims {
            email,
            account_id: auth_field("chatgpt_account_id").or_else(|| auth_field("user_id")),
            plan: auth_field("chatgpt_plan_type"),
            expires_at: claims
                .get("exp")
                .and_then(Value::as_i64)
                .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()),
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An unsigned JWT with `claims` as payload, as test fixtures need.
    pub(crate) fn fake_jwt(claims: &Value) -> String {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.fake-signature",
            enc.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            enc.encode(claims.to_string())
        )
    }

    #[test]
    fn reads_account_plan_and_email_from_the_openai_claim() {
        let token = fake_jwt(&serde_json::json!({
            "email": "dev@example.com",
            "exp": 1_900_000_000,
            OPENAI_AUTH_CLAIM: {"chatgpt_account_id": "acc-123", "chatgpt_plan_type": "pro", "user_id": "user-9"}
        }));
        let c = CodexClaims::from_token(&token).unwrap();
        assert_eq!(c.email.as_deref(), Some("dev@example.com"));
        assert_eq!(c.account_id.as_deref(), Some("acc-123"));
        assert_eq!(c.plan.as_deref(), Some("pro"));
        assert_eq!(
            c.expires_at.map(|t| t.unix_timestamp()),
            Some(1_900_000_000)
        );
    }

    #[test]
    fn ios_tokens_fall_back_to_user_id_and_padding_is_tolerated() {
        let token = fake_jwt(&serde_json::json!({OPENAI_AUTH_CLAIM: {"user_id": "user-9"}}));
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        while parts[1].len() % 4 != 0 {
            parts[1].push('=');
        }
        let c = CodexClaims::from_token(&parts.join(".")).unwrap();
        assert_eq!(c.account_id.as_deref(), Some("user-9"));
        assert_eq!(c.plan, None);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in ["", "abc", "a.b", "a.!!!.c", "a.b.c.d", "e30.WzFd.x"] {
            assert!(decode_claims(bad).is_err(), "{bad:?}");
        }
    }
}
