//! Anthropic Messages (`claude-api-key`).

use std::time::Duration;

use http::{HeaderMap, HeaderValue};

use super::{until, Auth, Call, Outbound};
use crate::config::Credential;

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
    let auth = if official {
        Auth::XApiKey
    } else {
        Auth::Bearer
    };
    (path.to_string(), auth)
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
