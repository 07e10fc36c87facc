//! Usage history (issue 6, in progress on this branch): one event per request, recorded off the request
//! path into SQLite.

mod recorder;
mod store;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use recorder::{Counters, Recorder, CHANNEL_CAPACITY};
pub use store::{EventQuery, GroupBy, Totals, UsageError, UsageStore};

/// One proxied request, as the usage history keeps it. Never holds a secret: the client key is a label
/// or a hash, the credential its config label or account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    pub request_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub client_key: Option<String>,
    /// The client's wire format (`openai-chat`, `anthropic`, …).
    pub format: String,
    pub provider: Option<String>,
    pub credential: Option<String>,
    /// What the client asked for, and what the upstream was asked.
    pub model: String,
    pub upstream_model: Option<String>,
    pub stream: bool,
    pub status: u16,
    pub error_class: Option<String>,
    pub latency_ms: u64,
    pub ttfb_ms: Option<u64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
    pub retries: u32,
    pub failovers: u32,
}
