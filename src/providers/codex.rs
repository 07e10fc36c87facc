//! OpenAI Responses as the Codex backend speaks it (`codex-api-key`).

use std::time::Duration;

use super::{until, Auth, Outbound};

pub(super) fn prepare(_out: &Outbound<'_>) -> (String, Auth) {
    ("/responses".to_string(), Auth::Bearer)
}

/// A Codex `usage_limit_reached` error names its reset as `resets_at` (unix) or `resets_in_seconds`.
pub(super) fn reset_hint(body: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let err = v.get("error").unwrap_or(&v);
    if let Some(secs) = err
        .get("resets_in_seconds")
        .and_then(serde_json::Value::as_u64)
    {
        return Some(Duration::from_secs(secs));
    }
    let at = err.get("resets_at")?;
    match at {
        serde_json::Value::Number(n) => until(&n.to_string()),
        serde_json::Value::String(s) => until(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_reset_forms() {
        let body = br#"{"error":{"type":"usage_limit_reached","resets_in_seconds":90}}"#;
        assert_eq!(reset_hint(body), Some(Duration::from_secs(90)));
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 300;
        let body = format!(r#"{{"error":{{"type":"usage_limit_reached","resets_at":{at}}}}}"#);
        let d = reset_hint(body.as_bytes()).unwrap();
        assert!(d > Duration::from_secs(290), "{d:?}");
        assert_eq!(reset_hint(b"not json"), None);
    }
}
