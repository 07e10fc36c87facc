//! How much of each subscription window an account has used: Claude's `/api/oauth/usage` and
//! Codex's `/wham/usage`, read into one [`Quota`] shape, and [`QuotaService`], which fetches them
//! with the account's access token, caches them briefly and shares one fetch among concurrent
//! callers (the CLI now, the management API and the tray later).

mod parse;
mod service;

use std::time::Duration;

use serde::{Serialize, Serializer};
use time::OffsetDateTime;

pub use parse::{parse_claude, parse_codex};
pub use service::{QuotaOptions, QuotaService};

/// One account's usage windows as the provider last reported them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Quota {
    /// In the provider's order: Claude `5h`, `7d`, `7d opus`, …; Codex `primary`, `secondary`.
    pub windows: Vec<QuotaWindow>,
    /// Codex: the `plan_type` the usage answer carries (plus, pro, team, …); Claude says nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
}

/// One rate-limit window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuotaWindow {
    pub name: String,
    /// 0–100 (a provider may report more than 100 once a limit is overrun).
    pub used_percent: f64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub resets_at: Option<OffsetDateTime>,
    /// The window's length, when the provider says or its name implies it.
    #[serde(
        rename = "window_seconds",
        serialize_with = "seconds",
        skip_serializing_if = "Option::is_none"
    )]
    pub window: Option<Duration>,
}

impl Quota {
    /// One line for a listing or a tray menu: `5h 12% (resets in 1h 59m) · 7d 40% (resets in 2d 23h)`.
    pub fn summary(&self, now: OffsetDateTime) -> String {
        if self.windows.is_empty() {
            return "no limits reported".into();
        }
        let parts: Vec<String> = self
            .windows
            .iter()
            .map(|w| {
                // Codex names its windows primary/secondary; their length says more.
                let label = match w.window {
                    Some(length) if !w.name.starts_with(|c: char| c.is_ascii_digit()) => {
                        span(length)
                    }
                    _ => w.name.clone(),
                };
                let reset = match w.resets_at {
                    Some(at) if at > now => {
                        format!(" (resets in {})", span((at - now).unsigned_abs()))
                    }
                    Some(_) => " (resetting)".into(),
                    None => String::new(),
                };
                format!("{label} {:.0}%{reset}", w.used_percent)
            })
            .collect();
        parts.join(" · ")
    }
}

/// A duration the way people say it, to the minute: `45m`, `5h`, `1h 59m`, `2d 23h`.
pub fn span(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 86_400, s % 86_400 / 3600, s % 3600 / 60) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

fn seconds<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_secs()),
        None => s.serialize_none(),
    }
}

/// Why an account's quota cannot be shown. Cloneable (messages, not sources) because one fetch's
/// outcome is cached and handed to every caller that waited for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuotaError {
    #[error("quota unavailable: no account {0}")]
    UnknownAccount(String),
    #[error("quota unavailable: the account needs a new login ({0})")]
    NeedsLogin(String),
    #[error("quota unavailable: no usable access token ({0})")]
    NoToken(String),
    #[error("quota unavailable: cannot reach the usage endpoint ({0})")]
    Unreachable(String),
    #[error("quota unavailable: the usage endpoint answered {status}{}", detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Status { status: u16, detail: Option<String> },
    #[error("quota unavailable: the usage endpoint's answer was not understood ({0})")]
    BadAnswer(String),
    #[error("quota unavailable: internal error ({0})")]
    Internal(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(name: &str, used: f64, resets_in: Option<i64>, length: Option<u64>) -> QuotaWindow {
        QuotaWindow {
            name: name.into(),
            used_percent: used,
            resets_at: resets_in.map(|s| OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(s)),
            window: length.map(Duration::from_secs),
        }
    }

    #[test]
    fn summaries_are_one_short_line() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let claude = Quota {
            windows: vec![
                window("5h", 12.4, Some(7_170), Some(18_000)),
                window("7d", 40.0, Some(3 * 86_400 - 60), Some(604_800)),
                window("7d opus", 99.6, None, Some(604_800)),
            ],
            plan: None,
        };
        assert_eq!(
            claude.summary(now),
            "5h 12% (resets in 1h 59m) · 7d 40% (resets in 2d 23h) · 7d opus 100%"
        );
        let codex = Quota {
            windows: vec![
                window("primary", 3.0, Some(45 * 60), Some(18_000)),
                window("secondary", 9.0, Some(0), Some(604_800)),
                window("extra", 1.0, Some(2 * 86_400), None),
            ],
            plan: Some("pro".into()),
        };
        assert_eq!(
            codex.summary(now),
            "5h 3% (resets in 45m) · 7d 9% (resetting) · extra 1% (resets in 2d)"
        );
        let none = Quota {
            windows: vec![],
            plan: None,
        };
        assert_eq!(none.summary(now), "no limits reported");
    }
}
