//! The usage endpoints, `GET /oauth/claude/usage` (Claude's `/api/oauth/usage`) and
//! `GET /oauth/codex/usage` (ChatGPT's `/backend-api/wham/usage`), served here because only the
//! OAuth mock knows which access tokens it issued. Answers have the real wire shape, with the
//! utilisation a test set and reset times relative to now.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::{json_reply, OAuthMock, Provider, Refusal};

const FIVE_HOURS: u64 = 5 * 3600;
const SEVEN_DAYS: u64 = 7 * 24 * 3600;
/// The windows reset this long from the moment of the answer.
const SHORT_RESET_IN: u64 = 2 * 3600;
const LONG_RESET_IN: u64 = 3 * 24 * 3600;

/// The used share of an account's two main windows, in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MockUsage {
    /// Claude `five_hour`, Codex `rate_limit.primary_window` (5 hours).
    pub short_percent: f64,
    /// Claude `seven_day`, Codex `rate_limit.secondary_window` (7 days).
    pub long_percent: f64,
}

impl Default for MockUsage {
    fn default() -> Self {
        MockUsage {
            short_percent: 12.0,
            long_percent: 40.0,
        }
    }
}

impl OAuthMock {
    /// What Claude's usage endpoint reports for every account.
    pub fn set_claude_usage(&self, usage: MockUsage) {
        self.lock().claude_usage = usage;
    }

    /// What Codex's usage endpoint reports for every account.
    pub fn set_codex_usage(&self, usage: MockUsage) {
        self.lock().codex_usage = usage;
    }

    /// The next usage requests (either provider) answer these statuses, in order, instead of the usage.
    pub fn push_usage_faults(&self, statuses: impl IntoIterator<Item = u16>) {
        self.lock().usage_faults.extend(statuses);
    }

    /// Every access token issued so far is refused from now on (401), as after a revocation;
    /// tokens issued later (a refresh) work.
    pub fn revoke_access_tokens(&self) {
        self.lock().access.clear();
    }

    /// How many usage requests (either provider, any outcome) arrived.
    pub fn usage_count(&self) -> usize {
        self.lock().usage_requests
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get("authorization")?.to_str().ok()?;
    v.get(..7)
        .filter(|s| s.eq_ignore_ascii_case("bearer "))
        .map(|_| v[7..].trim())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Anthropic writes microseconds and `+00:00`, not `Z`.
fn anthropic_time(unix: u64) -> String {
    let at = time::OffsetDateTime::UNIX_EPOCH + Duration::from_secs(unix);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// Counts the request and checks it as the real server would: a queued fault first, then the
/// token (issued by this mock, for this provider, not revoked). `Ok(account)` the token belongs to.
fn admit(m: &OAuthMock, provider: Provider, headers: &HeaderMap) -> Result<String, Refusal> {
    let mut inner = m.lock();
    inner.usage_requests += 1;
    if let Some(status) = inner.usage_faults.pop_front() {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Err(Refusal(
            status,
            json!({"error": {"type": "api_error", "message": "mock: injected failure"}}),
        ));
    }
    let issued = bearer(headers).and_then(|t| inner.access.get(t));
    match issued {
        Some((p, account)) if *p == provider => Ok(account.clone()),
        _ => Err(Refusal(
            StatusCode::UNAUTHORIZED,
            match provider {
                Provider::Claude => {
                    json!({"type": "error", "error": {"type": "authentication_error", "message": "Invalid bearer token"}})
                }
                Provider::Codex => {
                    json!({"detail": "Could not parse your authentication token. Please try signing in again."})
                }
            },
        )),
    }
}

pub(super) async fn claude(State(m): State<Arc<OAuthMock>>, headers: HeaderMap) -> Response {
    if let Err(refused) = admit(&m, Provider::Claude, &headers) {
        return refused.into_response();
    }
    let betas = header(&headers, "anthropic-beta").unwrap_or_default();
    if !betas.split(',').any(|b| b.trim() == "oauth-2025-04-20") {
        // What api.anthropic.com says to an OAuth token without the beta flag.
        return json_reply(
            StatusCode::UNAUTHORIZED,
            json!({"type": "error", "error": {"type": "authentication_error", "message": "OAuth authentication is currently not supported."}}),
        );
    }
    let usage = m.lock().claude_usage;
    let now = unix_now();
    json_reply(
        StatusCode::OK,
        json!({
            "five_hour": {"utilization": usage.short_percent, "resets_at": anthropic_time(now + SHORT_RESET_IN)},
            "seven_day": {"utilization": usage.long_percent, "resets_at": anthropic_time(now + LONG_RESET_IN)},
            "seven_day_oauth_apps": null,
            "seven_day_opus": null,
            "seven_day_sonnet": null,
            "extra_usage": {"is_enabled": false, "monthly_limit": null, "used_credits": null, "utilization": null},
        }),
    )
}

fn codex_window(percent: f64, length: u64, reset_in: u64, now: u64) -> Value {
    json!({
        "used_percent": percent,
        "limit_window_seconds": length,
        "reset_after_seconds": reset_in,
        "reset_at": now + reset_in,
    })
}

pub(super) async fn codex(State(m): State<Arc<OAuthMock>>, headers: HeaderMap) -> Response {
    let account = match admit(&m, Provider::Codex, &headers) {
        Ok(account) => account,
        Err(refused) => return refused.into_response(),
    };
    // The workspace whose limits are asked for must be the token's.
    if header(&headers, "chatgpt-account-id") != Some(account.as_str()) {
        return json_reply(
            StatusCode::FORBIDDEN,
            json!({"detail": "chatgpt-account-id does not match the token"}),
        );
    }
    let (usage, plan) = {
        let inner = m.lock();
        (inner.codex_usage, inner.codex.org_or_plan.clone())
    };
    let now = unix_now();
    let limit_reached = usage.short_percent >= 100.0 || usage.long_percent >= 100.0;
    json_reply(
        StatusCode::OK,
        json!({
            "plan_type": plan,
            "rate_limit": {
                "allowed": !limit_reached,
                "limit_reached": limit_reached,
                "primary_window": codex_window(usage.short_percent, FIVE_HOURS, SHORT_RESET_IN, now),
                "secondary_window": codex_window(usage.long_percent, SEVEN_DAYS, LONG_RESET_IN, now),
            },
            "code_review_rate_limit": {
                "allowed": true,
                "limit_reached": false,
                "primary_window": codex_window(0.0, SEVEN_DAYS, SEVEN_DAYS, now),
                "secondary_window": null,
            },
            "credits": {"has_credits": false, "unlimited": false, "balance": "0"},
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anthropic_times_look_like_anthropics() {
        assert_eq!(
            anthropic_time(1_767_383_999),
            "2026-01-02T19:59:59.000000+00:00"
        );
    }
}
