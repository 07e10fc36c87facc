//! Usage events written straight into a history file, as the proxy's recorder would.

use std::path::Path;

use switchyard::usage::{client_key_label, UsageEvent, UsageStore};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A CLIProxyAPI v6 export written by hand from its Go structs: 2 client keys, 3 models, 6 requests, one
/// failed.
pub const FIXTURE: &str = "tests/fixtures/usage/cliproxyapi-v6-export.json";

pub fn at(text: &str) -> OffsetDateTime {
    OffsetDateTime::parse(text, &Rfc3339).unwrap()
}

pub fn event(
    id: &str,
    time: &str,
    key: &str,
    model: &str,
    status: u16,
    tokens: (u64, u64),
) -> UsageEvent {
    UsageEvent {
        request_id: id.into(),
        time: at(time),
        client_key: Some(client_key_label(key)),
        format: "openai-chat".into(),
        provider: Some("claude".into()),
        credential: Some("claude account you@example.com".into()),
        model: model.into(),
        upstream_model: Some(format!("{model}-upstream")),
        stream: true,
        status,
        error_class: (status >= 400).then(|| "rate_limited".into()),
        latency_ms: 1500,
        ttfb_ms: Some(200),
        input_tokens: tokens.0,
        output_tokens: tokens.1,
        cached_tokens: tokens.0 / 2,
        reasoning_tokens: tokens.1 / 4,
        retries: 0,
        failovers: 0,
    }
}

pub fn insert(db: &Path, events: &[UsageEvent]) {
    UsageStore::open(db).unwrap().insert(events).unwrap();
}
