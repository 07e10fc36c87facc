//! Golden-file tests: inputs and expected outputs live in `tests/golden/openai_responses/`.
//!
//! `SWITCHYARD_BLESS=1` rewrites the expected-output goldens from the current code (review the diff!).

mod request;
mod response;
mod stream;

use std::collections::HashMap;

use serde_json::Value;

use super::{Decoder, Encoder};
use crate::translate::ir::{BlockStart, Event};
use crate::translate::{test_support, StreamDecoder, StreamEncoder, StreamOptions, TranslateError};
use crate::wire::sse::parse_events;

const GOLDEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/golden/openai_responses/"
);

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(format!("{GOLDEN}{name}")).unwrap_or_else(|e| panic!("golden {name}: {e}"))
}

fn golden_json(name: &str) -> Value {
    serde_json::from_slice(&golden(name)).unwrap_or_else(|e| panic!("golden {name}: {e}"))
}

fn blessing() -> bool {
    std::env::var_os("SWITCHYARD_BLESS").is_some()
}

/// Compares `actual` with a JSON golden (rewriting it when blessing).
fn assert_json_golden(name: &str, actual: &Value) {
    if blessing() {
        let text = serde_json::to_string_pretty(actual).unwrap() + "\n";
        std::fs::write(format!("{GOLDEN}{name}"), text).unwrap();
    }
    assert_eq!(actual, &golden_json(name), "golden {name}");
}

/// Replaces generated ids (`msg_` + 24 alphanumerics, …) with stable placeholders numbered by first
/// appearance, so goldens can pin which events share an id.
fn normalize_ids(v: &mut Value, seen: &mut HashMap<String, String>) {
    match v {
        Value::String(s) => {
            for prefix in ["resp_", "msg_", "rs_", "fc_"] {
                if let Some(rest) = s.strip_prefix(prefix) {
                    if rest.len() == 24 && rest.bytes().all(|b| b.is_ascii_alphanumeric()) {
                        let n = seen.len() + 1;
                        let placeholder = seen
                            .entry(s.clone())
                            .or_insert_with(|| format!("{prefix}<{n}>"))
                            .clone();
                        *s = placeholder;
                    }
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| normalize_ids(i, seen)),
        Value::Object(map) => map.values_mut().for_each(|i| normalize_ids(i, seen)),
        _ => {}
    }
}

/// Decodes a whole transcript.
fn decode_stream(bytes: &[u8]) -> Result<Vec<Event>, TranslateError> {
    let mut decoder = Decoder::default();
    let mut out = Vec::new();
    for event in parse_events(bytes) {
        out.extend(decoder.push(&event)?);
    }
    out.extend(decoder.finish());
    Ok(out)
}

/// Decodes a transcript as it would arrive cut in two at every byte, checking each cut gives the events
/// of the whole, and that they are well formed. Returns them.
fn decode_split_everywhere(bytes: &[u8]) -> Vec<Event> {
    let whole = decode_stream(bytes).expect("the transcript decodes");
    assert_well_formed(&whole);
    assert_eq!(
        test_support::decode_split_everywhere::<Decoder>(bytes, |_| {}),
        whole
    );
    whole
}

/// The IR stream contract: Start first; blocks numbered from 0 in opening order; deltas only inside open
/// blocks; every block closed before the single terminal Finish or Error.
fn assert_well_formed(events: &[Event]) {
    assert!(
        matches!(events.first(), Some(Event::Start { .. })),
        "{events:#?}"
    );
    let mut open: Vec<bool> = Vec::new();
    let mut terminal = 0;
    for event in events {
        assert_eq!(terminal, 0, "event after the end: {event:?}");
        match event {
            Event::Start { .. } => {}
            Event::BlockStart { index, .. } => {
                assert_eq!(*index, open.len(), "blocks open in order");
                open.push(true);
            }
            Event::Delta { index, .. } => assert!(open.get(*index) == Some(&true), "{event:?}"),
            Event::BlockStop { index } => {
                assert!(open.get(*index) == Some(&true), "{event:?}");
                open[*index] = false;
            }
            Event::Finish { .. } | Event::Error { .. } => {
                assert!(open.iter().all(|o| !o), "blocks left open: {events:#?}");
                terminal += 1;
            }
        }
    }
    assert_eq!(terminal, 1, "{events:#?}");
}

/// Encodes IR events as a client stream.
fn encode_stream(events: &[Event], model: &str) -> Vec<u8> {
    let mut encoder = Encoder::new(&StreamOptions {
        model: model.into(),
        ..StreamOptions::default()
    });
    let mut out = Vec::new();
    for event in events {
        encoder.push(event, &mut out);
    }
    encoder.finish(&mut out);
    out
}

/// The block kinds of a decoded stream, for compact assertions.
fn block_kinds(events: &[Event]) -> Vec<&BlockStart> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::BlockStart { block, .. } => Some(block),
            _ => None,
        })
        .collect()
}
