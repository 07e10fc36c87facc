//! Tests against hand-written golden files in `tests/golden/gemini/` (stream transcripts copied from the
//! conformance mock's documented wire bytes).

mod request;
mod response;
mod schema;
mod stream;

use serde_json::Value;

use crate::translate::ir;
use crate::translate::test_support;

use super::Decoder;

fn golden_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/gemini")
        .join(name)
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(golden_path(name)).unwrap_or_else(|e| panic!("golden file {name}: {e}"))
}

fn golden_json(name: &str) -> Value {
    serde_json::from_slice(&golden(name)).unwrap_or_else(|e| panic!("golden file {name}: {e}"))
}

/// Whether `id` is one of ours: `call_` + 24 random alphanumerics.
fn is_random_call_id(id: &str) -> bool {
    id.strip_prefix("call_")
        .is_some_and(|rest| rest.len() == 24 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

const RANDOM: &str = "call_<random>";

/// Replaces random tool-call ids so runs compare equal.
fn normalize_json(value: &mut Value) {
    match value {
        Value::String(s) if is_random_call_id(s) => *s = RANDOM.to_string(),
        Value::Array(items) => items.iter_mut().for_each(normalize_json),
        Value::Object(map) => map.values_mut().for_each(normalize_json),
        _ => {}
    }
}

/// Replaces random tool-call ids, and `created` stamped from the clock (chunks without `createTime`),
/// so runs compare equal.
fn normalize_events(events: &mut [ir::Event]) {
    let recent = super::now_secs().saturating_sub(86_400);
    for event in events.iter_mut() {
        if let ir::Event::Start { created, .. } = event {
            if *created >= recent {
                *created = 0;
            }
        }
    }
    for event in events {
        if let ir::Event::BlockStart {
            block: ir::BlockStart::ToolCall { id, .. },
            ..
        } = event
        {
            if is_random_call_id(id) {
                *id = RANDOM.to_string();
            }
        }
    }
}

fn normalize_parts(parts: &mut [ir::Part]) {
    for part in parts {
        if let ir::Part::ToolCall { id, .. } = part {
            if is_random_call_id(id) {
                *id = RANDOM.to_string();
            }
        }
    }
}

/// An unredacted reasoning part, as Gemini gives them (without ids).
fn reasoning(text: &str, signature: Option<&str>) -> ir::Part {
    test_support::reasoning_part(text, signature, None)
}

/// Decodes a transcript whole, then again split at every byte boundary, and checks every split gives
/// the same events.
fn decode_transcript(bytes: &[u8]) -> Vec<ir::Event> {
    test_support::decode_split_everywhere::<Decoder>(bytes, normalize_events)
}
