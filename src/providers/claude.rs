//! Anthropic Messages (`claude-api-key`).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

use serde_json::{json, Value};

use super::{until, Auth, Call, Outbound};
use crate::config::{Credential, CredentialAuth};
use crate::wire::body::JsonBody;

const API_HOST: &str = "api.anthropic.com";

pub(super) fn prepare(
    cred: &Credential,
    out: &Outbound<'_>,
    headers: &mut HeaderMap,
) -> (String, Auth) {
    // The API rejects requests without a version; clients that omit it get the stable one.
    if !headers.contains_key("anthropic-version") {
        headers.insert("anthropic-version", HeaderValue::from_static("2023-06-01"));
    }
    let path = match out.call {
        Call::Generate { .. } => "/v1/messages",
        Call::CountTokens => "/v1/messages/count_tokens",
    };
    // Anthropic's own API wants `x-api-key`; gateways in front of it (and CLIProxyAPI's custom bases) use Bearer.
    let official = cred
        .base_url
        .host_str()
        .is_some_and(|h| h.eq_ignore_ascii_case(API_HOST));
    let account = matches!(cred.auth, CredentialAuth::Account { .. });
    let auth = if official && !account {
        Auth::XApiKey
    } else {
        Auth::Bearer
    };
    (path.to_string(), auth)
}

/// The first system block a Claude subscription (OAuth) request must carry: Anthropic accepts these tokens
/// only for Claude Code traffic (PROTOCOLS.md §1). The client's own system text follows it unchanged.
pub(super) const CLAUDE_CODE_SYSTEM: &str =
    "You are Claude Code, Anthropic's official CLI for Claude.";

/// The beta every OAuth request needs; betas the client sent are kept.
const OAUTH_BETA: &str = "oauth-2025-04-20";

/// Whether the request comes from Claude Code itself, whose requests pass through unchanged.
pub(super) fn from_claude_code(client_headers: &HeaderMap) -> bool {
    client_headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with("claude-cli/"))
}

/// Adds the OAuth beta to `anthropic-beta`, keeping the client's betas.
pub(super) fn add_oauth_beta(headers: &mut HeaderMap) {
    let present: Vec<String> = headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty())
        .collect();
    if present.iter().any(|b| b == OAUTH_BETA) {
        return;
    }
    let joined = present
        .into_iter()
        .chain(std::iter::once(OAUTH_BETA.to_string()))
        .collect::<Vec<_>>()
        .join(",");
    if let Ok(value) = HeaderValue::from_str(&joined) {
        headers.insert("anthropic-beta", value);
    }
}

/// Shapes a request for a Claude subscription account: the OAuth beta, and for clients other than
/// Claude Code the Claude Code system block. Returns the body to send.
pub(super) fn for_subscription(out: &Outbound<'_>, headers: &mut HeaderMap) -> Bytes {
    add_oauth_beta(headers);
    if from_claude_code(out.client_headers) || out.call == Call::CountTokens {
        return out.body.clone();
    }
    match JsonBody::parse(&out.body) {
        Ok(mut body) => {
            with_claude_code_system(&mut body);
            Bytes::from(body.to_bytes())
        }
        Err(_) => out.body.clone(),
    }
}

/// Puts the Claude Code block first in `system`; only that field is re-serialised.
pub(super) fn with_claude_code_system(body: &mut JsonBody) {
    let block = json!({"type": "text", "text": CLAUDE_CODE_SYSTEM});
    let system = match body.value("system") {
        None | Some(Value::Null) => vec![block],
        Some(Value::String(text)) if text.is_empty() => vec![block],
        Some(Value::String(text)) => vec![block, json!({"type": "text", "text": text})],
        Some(Value::Array(blocks)) => {
            let first = blocks.first().and_then(|b| b.get("text"));
            if first.and_then(Value::as_str) == Some(CLAUDE_CODE_SYSTEM) {
                return;
            }
            std::iter::once(block).chain(blocks).collect()
        }
        // Not a valid `system`: the upstream's 400 will say so better than we can.
        Some(_) => return,
    };
    body.set_value("system", &Value::Array(system));
}

/// Claude's rate-limit headers name when the limit that was hit resets.
pub(super) fn reset_hint(headers: &HeaderMap) -> Option<Duration> {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(reset) = get("anthropic-ratelimit-unified-reset") {
        return until(reset);
    }
    for window in ["5h", "7d"] {
        let status = get(&format!("anthropic-ratelimit-unified-{window}-status"));
        if status == Some("rejected") {
            if let Some(reset) = get(&format!("anthropic-ratelimit-unified-{window}-reset")) {
                return until(reset);
            }
        }
    }
    ["requests", "tokens", "input-tokens", "output-tokens"]
        .iter()
        .filter(|kind| get(&format!("anthropic-ratelimit-{kind}-remaining")) == Some("0"))
        .filter_map(|kind| get(&format!("anthropic-ratelimit-{kind}-reset")).and_then(until))
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn system_after(body: &str) -> Value {
        let mut b = JsonBody::parse(body.as_bytes()).unwrap();
        with_claude_code_system(&mut b);
        serde_json::from_slice::<Value>(&b.to_bytes()).unwrap()["system"].clone()
    }

    #[test]
    fn subscription_requests_lead_with_the_claude_code_block_and_keep_the_clients_system() {
        let cc = json!({"type": "text", "text": CLAUDE_CODE_SYSTEM});
        assert_eq!(system_after(r#"{"model":"m"}"#), json!([cc]));
        assert_eq!(
            system_after(r#"{"system":"Be brief."}"#),
            json!([cc, {"type": "text", "text": "Be brief."}])
        );
        let blocks =
            json!([{"type": "text", "text": "Mine", "cache_control": {"type": "ephemeral"}}]);
        assert_eq!(
            system_after(&json!({"system": blocks}).to_string()),
            json!([cc, blocks[0]])
        );
        // Already first (a client that knows the rule): left alone, not doubled.
        assert_eq!(
            system_after(&json!({"system": [cc]}).to_string()),
            json!([cc])
        );
    }

    #[test]
    fn only_the_system_field_is_rewritten() {
        let input = r#"{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"c2ln+/=="}]}],"n":1.50,"system":"s"}"#;
        let mut b = JsonBody::parse(input.as_bytes()).unwrap();
        with_claude_code_system(&mut b);
        let out = String::from_utf8(b.to_bytes()).unwrap();
        assert!(out.starts_with(r#"{"model":"m","messages":[{"role":"assistant","content":[{"type":"thinking","thinking":"x","signature":"c2ln+/=="}]}],"n":1.50,"system":["#), "{out}");
    }

    #[test]
    fn the_oauth_beta_joins_the_clients_betas_once() {
        let mut h = HeaderMap::new();
        add_oauth_beta(&mut h);
        assert_eq!(h["anthropic-beta"], "oauth-2025-04-20");
        let mut h = HeaderMap::new();
        h.insert(
            "anthropic-beta",
            HeaderValue::from_static("interleaved-thinking-2025-05-14"),
        );
        add_oauth_beta(&mut h);
        assert_eq!(
            h["anthropic-beta"],
            "interleaved-thinking-2025-05-14,oauth-2025-04-20"
        );
        add_oauth_beta(&mut h);
        assert_eq!(h.get_all("anthropic-beta").iter().count(), 1);
        assert_eq!(
            h["anthropic-beta"],
            "interleaved-thinking-2025-05-14,oauth-2025-04-20"
        );
    }

    #[test]
    fn unified_reset_wins_then_rejected_windows_then_exhausted_limits() {
        let soon = (std::time::SystemTime::now() + Duration::from_secs(600))
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut h = HeaderMap::new();
        h.insert(
            "anthropic-ratelimit-unified-7d-status",
            HeaderValue::from_static("rejected"),
        );
        h.insert(
            "anthropic-ratelimit-unified-7d-reset",
            HeaderValue::from_str(&soon.to_string()).unwrap(),
        );
        let d = reset_hint(&h).unwrap();
        assert!(
            d > Duration::from_secs(590) && d <= Duration::from_secs(600),
            "{d:?}"
        );

        let mut h = HeaderMap::new();
        h.insert(
            "anthropic-ratelimit-requests-remaining",
            HeaderValue::from_static("0"),
        );
        let at = humantime::format_rfc3339_seconds(
            std::time::SystemTime::now() + Duration::from_secs(60),
        );
        h.insert(
            "anthropic-ratelimit-requests-reset",
            HeaderValue::from_str(&at.to_string()).unwrap(),
        );
        let d = reset_hint(&h).unwrap();
        assert!(
            d > Duration::from_secs(50) && d <= Duration::from_secs(60),
            "{d:?}"
        );
        assert_eq!(reset_hint(&HeaderMap::new()), None);
    }
}
