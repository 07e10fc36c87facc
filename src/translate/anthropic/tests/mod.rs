//! Golden-file tests for the Anthropic codec (files under `tests/golden/anthropic/`).

mod request_decode;
mod request_encode;
mod response;
mod stream_decode;
mod stream_encode;

use serde_json::{json, Value};

use super::*;
use crate::translate::ir::{
    BlockStart, Delta, Effort, Event, MediaSource, Part, Reasoning, Role, StopReason, Usage,
};
use crate::translate::test_support;
use crate::translate::test_support::{reasoning_part, text_part as text};
use crate::translate::{StreamDecoder, StreamEncoder, StreamOptions};
use crate::wire::sse::parse_events;

fn golden(name: &str) -> String {
    let path = format!(
        "{}/tests/golden/anthropic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(bytes)))
}

// Stream helpers shared by the decoding and encoding tests.

/// Feeds a transcript through the splitter and decoder in one write.
fn decode_stream_whole(transcript: &str) -> Vec<Event> {
    let mut events = test_support::decode_writes::<Decoder>(&[transcript.as_bytes()]);
    zero_created(&mut events);
    events
}

fn zero_created(events: &mut [Event]) {
    for e in events {
        if let Event::Start { created, .. } = e {
            *created = 0;
        }
    }
}

/// Decodes a transcript whole, and checks every two-chunk split yields the same events.
fn decode_stream(transcript: &str) -> Vec<Event> {
    test_support::decode_split_everywhere::<Decoder>(transcript.as_bytes(), zero_created)
}

fn start(id: &str, model: &str, usage: Option<Usage>) -> Event {
    Event::Start {
        id: id.into(),
        model: model.into(),
        created: 0,
        usage,
    }
}

fn delta(index: usize, delta: Delta) -> Event {
    Event::Delta { index, delta }
}

const SONNET: &str = "claude-sonnet-4-5-20250929";

fn start_usage() -> Option<Usage> {
    Some(Usage {
        input: 11,
        output: 1,
        ..Default::default()
    })
}

/// The usage the mock reports for its cached answers (`upstream_cached.sse`,
/// `upstream_response_cached.json`), cache reads and writes included.
fn mock_cached_usage() -> Usage {
    Usage {
        input: 19,
        output: 7,
        cache_read: 5,
        cache_write: 3,
        reasoning: 0,
    }
}
