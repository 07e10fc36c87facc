//! The usage endpoints' answers, as seen from Claude Code and Codex CLI traffic and the desktop
//! wrappers that call them (CodexBar, Quotio, CLIProxyAPI):
//!
//! Claude `GET /api/oauth/usage`: one object per window, `null` when the plan has none, plus other
//! members (`extra_usage`, …) that are not windows:
//! `{"five_hour": {"utilization": 24.0, "resets_at": "2026-01-02T19:59:59.600956+00:00"},
//!   "seven_day": {…}, "seven_day_opus": null, "seven_day_sonnet": {…}, "extra_usage": {…}}`
//!
//! Codex `GET /wham/usage`: `{"plan_type": "pro", "rate_limit": {"allowed": true,
//!   "limit_reached": false, "primary_window": {"used_percent": 3, "limit_window_seconds": 18000,
//!   "reset_after_seconds": 15858, "reset_at": 1767385852}, "secondary_window": {…}},
//!   "code_review_rate_limit": {…}, "credits": {…}}`
//!
//! Unknown members are ignored and missing windows are fine (the endpoints are undocumented and
//! grow new members); a member that is there but has the wrong type is an error.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{Quota, QuotaError, QuotaWindow};

const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

fn bad(why: impl std::fmt::Display) -> QuotaError {
    QuotaError::BadAnswer(why.to_string())
}

/// Deserializes with the failing member's path in the message (`rate_limit.primary_window.used_percent: …`).
fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, QuotaError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de).map_err(|e| match e.path().to_string() {
        p if p == "." => bad(e.inner()),
        p => bad(format!("{p}: {}", e.inner())),
    })
}

#[derive(Deserialize)]
struct ClaudeWindow {
    utilization: Option<f64>,
    resets_at: Option<String>,
}

/// Claude's window members are `five_hour` and `seven_day`, the latter also per model family
/// (`seven_day_opus`, `seven_day_sonnet`, `seven_day_oauth_apps`): `5h`, `7d`, `7d opus`, …
fn claude_window_name(key: &str) -> Option<(String, Duration)> {
    let (short, length, rest) = if let Some(rest) = key.strip_prefix("five_hour") {
        ("5h", 5 * HOUR, rest)
    } else if let Some(rest) = key.strip_prefix("seven_day") {
        ("7d", 7 * DAY, rest)
    } else {
        return None;
    };
    let name = match rest {
        "" => short.to_string(),
        _ => format!("{short} {}", rest.strip_prefix('_')?.replace('_', " ")),
    };
    Some((name, Duration::from_secs(length)))
}

/// Reads Claude's `/api/oauth/usage` answer. Windows without a utilisation are left out.
pub fn parse_claude(body: &[u8]) -> Result<Quota, QuotaError> {
    let top: serde_json::Map<String, Value> = decode(body)?;
    let mut windows = Vec::new();
    for (key, value) in top {
        let Some((name, length)) = claude_window_name(&key) else {
            continue;
        };
        if value.is_null() {
            continue;
        }
        let w: ClaudeWindow =
            serde_json::from_value(value).map_err(|e| bad(format!("{key}: {e}")))?;
        let Some(used_percent) = w.utilization else {
            continue;
        };
        let resets_at = w
            .resets_at
            .map(|t| {
                OffsetDateTime::parse(&t, &Rfc3339)
                    .map_err(|e| bad(format!("{key}.resets_at {t:?} is not a time: {e}")))
            })
            .transpose()?;
        windows.push(QuotaWindow {
            name,
            used_percent,
            resets_at,
            window: Some(length),
        });
    }
    Ok(Quota {
        windows,
        plan: None,
    })
}

#[derive(Deserialize)]
struct CodexUsage {
    plan_type: Option<String>,
    rate_limit: Option<CodexRateLimit>,
}

#[derive(Deserialize)]
struct CodexRateLimit {
    primary_window: Option<CodexWindow>,
    secondary_window: Option<CodexWindow>,
}

#[derive(Deserialize)]
struct CodexWindow {
    used_percent: f64,
    /// Unix seconds.
    reset_at: Option<i64>,
    reset_after_seconds: Option<i64>,
    limit_window_seconds: Option<i64>,
}

/// Reads Codex's `/wham/usage` answer; `now` turns a relative `reset_after_seconds` into a time
/// when the absolute `reset_at` is missing.
pub fn parse_codex(body: &[u8], now: OffsetDateTime) -> Result<Quota, QuotaError> {
    let usage: CodexUsage = decode(body)?;
    let mut windows = Vec::new();
    if let Some(limits) = usage.rate_limit {
        for (name, window) in [
            ("primary", limits.primary_window),
            ("secondary", limits.secondary_window),
        ] {
            let Some(w) = window else { continue };
            let resets_at = match (w.reset_at, w.reset_after_seconds) {
                (Some(at), _) => Some(
                    OffsetDateTime::from_unix_timestamp(at)
                        .map_err(|e| bad(format!("rate_limit.{name}_window.reset_at {at}: {e}")))?,
                ),
                (None, Some(after)) => {
                    Some(now + Duration::from_secs(u64::try_from(after).unwrap_or(0)))
                }
                (None, None) => None,
            };
            windows.push(QuotaWindow {
                name: name.to_string(),
                used_percent: w.used_percent,
                resets_at,
                window: w
                    .limit_window_seconds
                    .and_then(|s| u64::try_from(s).ok())
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs),
            });
        }
    }
    Ok(Quota {
        windows,
        plan: usage.plan_type.filter(|p| !p.trim().is_empty()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(unix).unwrap()
    }

    /// A Max account's answer, as the endpoint sends it (null windows, non-window members).
    const CLAUDE: &str = r#"{
        "five_hour": {"utilization": 24.0, "resets_at": "2026-01-02T19:59:59.600956+00:00"},
        "seven_day": {"utilization": 36.5, "resets_at": "2026-01-08T06:59:59.600974+00:00"},
        "seven_day_oauth_apps": null,
        "seven_day_opus": {"utilization": 1.0, "resets_at": null},
        "seven_day_sonnet": {"utilization": null, "resets_at": null},
        "iguana_necktie": null,
        "extra_usage": {"is_enabled": false, "monthly_limit": null, "used_credits": null, "utilization": null}
    }"#;

    #[test]
    fn claude_windows_in_order_with_absolute_resets() {
        let q = parse_claude(CLAUDE.as_bytes()).unwrap();
        let names: Vec<&str> = q.windows.iter().map(|w| w.name.as_str()).collect();
        assert_eq!(names, ["5h", "7d", "7d opus"]);
        let five = &q.windows[0];
        assert_eq!(five.used_percent, 24.0);
        assert_eq!(
            five.resets_at.map(|t| t.unix_timestamp()),
            Some(1_767_383_999)
        );
        assert_eq!(five.window, Some(Duration::from_secs(5 * 3600)));
        assert_eq!(q.windows[1].used_percent, 36.5);
        assert_eq!(q.windows[2].resets_at, None);
        assert_eq!(q.plan, None);
    }

    #[test]
    fn claude_tolerates_an_empty_answer_and_refuses_wrong_types() {
        assert!(parse_claude(b"{}").unwrap().windows.is_empty());
        let e = parse_claude(br#"{"five_hour": {"utilization": "high"}}"#).unwrap_err();
        assert!(
            e.to_string().starts_with(
                "quota unavailable: the usage endpoint's answer was not understood (five_hour:"
            ),
            "{e}"
        );
        let e =
            parse_claude(br#"{"five_hour": {"utilization": 1, "resets_at": "soon"}}"#).unwrap_err();
        assert!(
            e.to_string().contains("five_hour.resets_at \"soon\""),
            "{e}"
        );
        for not_an_object in [&b"[]"[..], b"<html>", b""] {
            assert!(matches!(
                parse_claude(not_an_object),
                Err(QuotaError::BadAnswer(_))
            ));
        }
    }

    /// A Pro account's answer with the members Codex CLI ignores too.
    const CODEX: &str = r#"{
        "plan_type": "pro",
        "rate_limit": {
            "allowed": true, "limit_reached": false,
            "primary_window": {"used_percent": 3, "limit_window_seconds": 18000, "reset_after_seconds": 15858, "reset_at": 1767385852},
            "secondary_window": {"used_percent": 9.5, "limit_window_seconds": 604800, "reset_after_seconds": 489450}
        },
        "code_review_rate_limit": {"allowed": true, "limit_reached": false,
            "primary_window": {"used_percent": 0, "limit_window_seconds": 604800, "reset_after_seconds": 604800, "reset_at": 1767974794},
            "secondary_window": null},
        "credits": {"has_credits": false, "unlimited": false, "balance": "0", "approx_local_messages": [0, 0]}
    }"#;

    #[test]
    fn codex_windows_plan_and_reset_times() {
        let now = at(1_767_370_000);
        let q = parse_codex(CODEX.as_bytes(), now).unwrap();
        assert_eq!(q.plan.as_deref(), Some("pro"));
        assert_eq!(q.windows.len(), 2);
        let (p, s) = (&q.windows[0], &q.windows[1]);
        assert_eq!((p.name.as_str(), p.used_percent), ("primary", 3.0));
        assert_eq!(p.resets_at, Some(at(1_767_385_852)));
        assert_eq!(p.window, Some(Duration::from_secs(18_000)));
        assert_eq!((s.name.as_str(), s.used_percent), ("secondary", 9.5));
        // No absolute reset: relative to when the answer was read.
        assert_eq!(s.resets_at, Some(at(1_767_370_000 + 489_450)));
        assert_eq!(s.window, Some(Duration::from_secs(604_800)));
    }

    #[test]
    fn codex_tolerates_missing_limits_and_refuses_wrong_types() {
        let now = at(0);
        let q = parse_codex(br#"{"plan_type": "free", "rate_limit": null}"#, now).unwrap();
        assert!(q.windows.is_empty());
        let q = parse_codex(
            br#"{"rate_limit": {"primary_window": {"used_percent": 50}, "secondary_window": null}}"#,
            now,
        )
        .unwrap();
        assert_eq!(q.windows.len(), 1);
        assert_eq!((q.windows[0].resets_at, q.windows[0].window), (None, None));
        assert_eq!(q.plan, None);
        let e = parse_codex(br#"{"rate_limit": {"primary_window": {}}}"#, now).unwrap_err();
        assert!(e.to_string().contains("rate_limit.primary_window"), "{e}");
        let e = parse_codex(b"Just a moment...", now).unwrap_err();
        assert!(matches!(e, QuotaError::BadAnswer(_)), "{e}");
    }

    #[test]
    fn json_shape_for_the_cli_and_the_ui() {
        let q = parse_codex(CODEX.as_bytes(), at(1_767_370_000)).unwrap();
        let v = serde_json::to_value(&q).unwrap();
        assert_eq!(v["plan"], "pro");
        assert_eq!(v["windows"][0]["name"], "primary");
        assert_eq!(v["windows"][0]["used_percent"], 3.0);
        assert_eq!(v["windows"][0]["resets_at"], "2026-01-02T20:30:52Z");
        assert_eq!(v["windows"][0]["window_seconds"], 18000);
    }
}
