//! Gemini `generateContent` wire shapes: the response object, the stream chunks (one part per
//! chunk, function calls whole, `finishReason` + `usageMetadata` on the last chunk only) and
//! Google-style error bodies.

use serde_json::{json, Value};

use crate::replies::{
    call_args, Content, Echo, Finish, Item, THINKING, USAGE_CACHED, USAGE_IN, USAGE_OUT,
};
use crate::sse::Event;

fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Length => "MAX_TOKENS",
        Finish::Stop | Finish::ToolUse | Finish::Pause => "STOP",
    }
}

fn usage(content: &Content) -> Value {
    let thoughts = if content.reasoning {
        crate::replies::USAGE_REASONING
    } else {
        0
    };
    let mut u = json!({
        "promptTokenCount": USAGE_IN, "candidatesTokenCount": USAGE_OUT,
        "totalTokenCount": USAGE_IN + USAGE_OUT + thoughts,
    });
    if content.cached {
        u["cachedContentTokenCount"] = json!(USAGE_CACHED);
    }
    if content.reasoning {
        u["thoughtsTokenCount"] = json!(thoughts);
    }
    u
}

fn function_call(n: usize, echo: &Echo) -> Value {
    let args: Value = serde_json::from_str(&call_args(n)).unwrap_or(Value::Null);
    json!({"functionCall": {"name": echo.tool, "args": args}})
}

/// The parts of `item`: whole for the JSON body, or as streamed (one part per text piece).
fn parts(item: Item, content: &Content, echo: &Echo, streamed: bool) -> Vec<Value> {
    let pieces = |texts: &[&str], thought: bool| -> Vec<Value> {
        let texts: Vec<String> = if streamed {
            texts.iter().map(|t| t.to_string()).collect()
        } else {
            vec![texts.concat()]
        };
        texts
            .into_iter()
            .map(|t| {
                if thought {
                    json!({"text": t, "thought": true})
                } else {
                    json!({"text": t})
                }
            })
            .collect()
    };
    match item {
        Item::Reasoning => pieces(&THINKING, true),
        Item::Call(n) => vec![function_call(n, echo)],
        Item::Text | Item::Image => pieces(content.text, false),
    }
}

pub(crate) fn response(content: &Content, echo: &Echo) -> Value {
    let parts: Vec<Value> = content
        .items
        .iter()
        .flat_map(|i| parts(*i, content, echo, false))
        .collect();
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": parts},
            "finishReason": finish_reason(content.finish), "index": 0,
        }],
        "usageMetadata": usage(content),
        "modelVersion": echo.model, "responseId": "mockresp01",
    })
}

pub(crate) fn events(content: &Content, echo: &Echo) -> Vec<Event> {
    let parts: Vec<Value> = content
        .items
        .iter()
        .flat_map(|i| parts(*i, content, echo, true))
        .collect();
    let last = parts.len().saturating_sub(1);
    parts
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let mut chunk = json!({"modelVersion": echo.model, "responseId": "mockresp01"});
            let mut candidate = json!({"content": {"role": "model", "parts": [part]}, "index": 0});
            if i == last {
                chunk["usageMetadata"] = usage(content);
                candidate["finishReason"] = json!(finish_reason(content.finish));
            }
            chunk["candidates"] = json!([candidate]);
            Event::data(chunk)
        })
        .collect()
}

pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let s = match status {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "INTERNAL",
    };
    json!({"error": {"code": status, "message": message, "status": s}})
}

pub(crate) fn stream_error() -> Event {
    Event::data(
        json!({"error": {"code": 500, "message": "mock mid-stream error", "status": "INTERNAL"}}),
    )
}

pub(crate) fn models() -> Value {
    json!({"models": [{"name": "models/gemini-mock", "displayName": "Gemini Mock"}]})
}
