//! Tests for the Chat Completions codec, against hand-written golden files in
//! `tests/golden/openai_chat/` (upstream transcripts copied from the conformance mock's wire bytes).

mod completions;
mod request;
mod response;
mod stream;

use std::path::Path;

use serde_json::Value;

use crate::translate::ir::Event;
use crate::translate::{test_support, StreamEncoder};
use crate::wire::sse::parse_events;

fn golden(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/openai_chat")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn golden_json(name: &str) -> Value {
    serde_json::from_str(&golden(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Feeds a transcript through the splitter in the given writes, then ends the stream.
fn decode_writes(writes: &[&[u8]]) -> Vec<Event> {
    test_support::decode_writes::<super::Decoder>(writes)
}

/// Decodes a transcript fed whole, and checks that cutting it at every byte boundary gives the same events.
fn decode_transcript(transcript: &str) -> Vec<Event> {
    test_support::decode_split_everywhere::<super::Decoder>(transcript.as_bytes(), |_| {})
}

fn encode_events(encoder: &mut dyn StreamEncoder, events: &[Event]) -> String {
    let mut out = Vec::new();
    for event in events {
        encoder.push(event, &mut out);
    }
    encoder.finish(&mut out);
    String::from_utf8(out).expect("utf-8")
}

/// The `data:` payloads of a client stream, parsed (`[DONE]` kept as a string).
fn stream_payloads(stream: &str) -> Vec<Value> {
    parse_events(stream.as_bytes())
        .into_iter()
        .map(|e| serde_json::from_str(&e.data).unwrap_or(Value::String(e.data)))
        .collect()
}
