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
