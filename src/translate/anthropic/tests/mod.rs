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
use crate::translate::{StreamDecoder, StreamEncoder, StreamOptions};
use crate::wire::sse::{parse_events, EventSplitter};

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

fn text(t: &str) -> Part {
    Part::Text { text: t.into() }
}

// Stream helpers shared by the decoding and encoding tests.

/// Feeds a transcript through the splitter and decoder, cut into two chunks at `cut`.
fn decode_stream_cut(transcript: &str, cut: usize) -> Vec<Event> {
    let bytes = transcript.as_bytes();
    let mut splitter = EventSplitter::new();
    let mut dec = Decoder::default();
    let mut events = Vec::new();
    for chunk in [&bytes[..cut], &bytes[cut..]] {
        if let Some(run) = splitter.push(chunk) {
            for ev in parse_events(&run) {
                events.extend(dec.push(&ev).unwrap());
            }
        }
    }
    assert!(
        splitter.pending().is_empty(),
        "transcript must end with a blank line"
    );
    events.extend(dec.finish());
    zero_created(events)
}

fn zero_created(mut events: Vec<Event>) -> Vec<Event> {
    for e in &mut events {
        if let Event::Start { created, .. } = e {
            *created = 0;
        }
    }
    events
}

/// Decodes a transcript whole, and checks every two-chunk split yields the same events.
fn decode_stream(transcript: &str) -> Vec<Event> {
    let whole = decode_stream_cut(transcript, transcript.len());
    for cut in 0..transcript.len() {
        if transcript.is_char_boundary(cut) {
            assert_eq!(
                decode_stream_cut(transcript, cut),
                whole,
                "split at byte {cut}"
            );
        }
    }
    whole
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
