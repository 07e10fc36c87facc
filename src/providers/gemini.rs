//! Google Gemini (`gemini-api-key`).

use std::time::Duration;

use super::{Auth, Call, Outbound};

pub(super) fn prepare(out: &Outbound<'_>) -> (String, Auth) {
    let method = match out.call {
        Call::Generate { stream: false } => "generateContent",
        Call::Generate { stream: true } => "streamGenerateContent",
        Call::CountTokens => "countTokens",
    };
    (
        format!("/v1beta/models/{}:{method}", out.upstream_model),
        Auth::XGoogApiKey,
    )
}

/// Gemini's 429 carries a `google.rpc.RetryInfo` detail with `retryDelay` like `"31s"`.
pub(super) fn retry_delay(body: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let details = v.get("error")?.get("details")?.as_array()?;
    details.iter().find_map(|d| {
        let delay = d.get("retryDelay")?.as_str()?;
        let secs: f64 = delay.strip_suffix('s')?.parse().ok()?;
        (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_retry_info() {
        let body = br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"31s"}]}}"#;
        assert_eq!(retry_delay(body), Some(Duration::from_secs(31)));
        assert_eq!(retry_delay(br#"{"error":{"code":429}}"#), None);
    }
}
