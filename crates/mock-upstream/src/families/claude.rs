//! Anthropic Messages wire shapes: the message object, the SSE event sequence, error bodies.

use serde_json::{json, Value};

use crate::replies::{
    call_args, call_args_halves, call_id, Content, Echo, Finish, Item, THINKING, USAGE_CACHED,
    USAGE_IN, USAGE_OUT,
};
use crate::sse::Event;

const SIGNATURE: &str = "c2lnbmF0dXJlLW1vY2s=";

fn stop_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop => "end_turn",
        Finish::ToolUse => "tool_use",
        Finish::Length => "max_tokens",
        Finish::Pause => "pause_turn",
    }
}

fn usage(content: &Content) -> Value {
    let mut usage = json!({"input_tokens": USAGE_IN, "output_tokens": USAGE_OUT});
    if content.cached {
        usage["cache_read_input_tokens"] = json!(USAGE_CACHED);
        usage["cache_creation_input_tokens"] = json!(3);
    }
    usage
}

fn block(item: Item, content: &Content, echo: &Echo) -> Value {
    match item {
        Item::Reasoning => {
            json!({"type": "thinking", "thinking": THINKING.concat(), "signature": SIGNATURE})
        }
        Item::Call(n) => {
            let input: Value = serde_json::from_str(&call_args(n)).unwrap_or(Value::Null);
            json!({"type": "tool_use", "id": call_id("toolu_mock", n), "name": echo.tool, "input": input})
        }
        // Claude has no image output; the content model renders it as text.
        Item::Text | Item::Image => json!({"type": "text", "text": content.text.concat()}),
    }
}

pub(crate) fn message(content: &Content, echo: &Echo) -> Value {
    let blocks: Vec<Value> = content
        .items
        .iter()
        .map(|i| block(*i, content, echo))
        .collect();
    json!({
        "id": "msg_mock01", "type": "message", "role": "assistant", "model": echo.model,
        "content": blocks, "stop_reason": stop_reason(content.finish), "stop_sequence": null,
        "usage": usage(content),
    })
}

/// `content_block_start` payload and the deltas of one block.
fn block_stream(item: Item, content: &Content, echo: &Echo) -> (Value, Vec<Value>) {
    match item {
        Item::Reasoning => (
            json!({"type": "thinking", "thinking": ""}),
            vec![
                json!({"type": "thinking_delta", "thinking": THINKING[0]}),
                json!({"type": "thinking_delta", "thinking": THINKING[1]}),
                json!({"type": "signature_delta", "signature": SIGNATURE}),
            ],
        ),
        Item::Call(n) => (
            json!({"type": "tool_use", "id": call_id("toolu_mock", n), "name": echo.tool, "input": {}}),
            call_args_halves(n)
                .into_iter()
                .map(|part| json!({"type": "input_json_delta", "partial_json": part}))
                .collect(),
        ),
        Item::Text | Item::Image => (
            json!({"type": "text", "text": ""}),
            content
                .text
                .iter()
                .map(|t| json!({"type": "text_delta", "text": t}))
                .collect(),
        ),
    }
}

pub(crate) fn events(content: &Content, echo: &Echo) -> Vec<Event> {
    let mut evs = vec![
        Event::named(
            "message_start",
            json!({"type": "message_start", "message": {
                "id": "msg_mock01", "type": "message", "role": "assistant", "model": echo.model,
                "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": USAGE_IN, "output_tokens": 1},
            }}),
        ),
        Event::named("ping", json!({"type": "ping"})),
    ];
    for (index, item) in content.items.iter().enumerate() {
        let (start, deltas) = block_stream(*item, content, echo);
        evs.push(Event::named(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": start}),
        ));
        for delta in deltas {
            evs.push(Event::named(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        evs.push(Event::named(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        ));
    }
    evs.push(Event::named(
        "message_delta",
        json!({
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason(content.finish), "stop_sequence": null},
            "usage": usage(content),
        }),
    ));
    evs.push(Event::named(
        "message_stop",
        json!({"type": "message_stop"}),
    ));
    evs
}

pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let kind = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

pub(crate) fn stream_error() -> Event {
    Event::named(
        "error",
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    )
}

pub(crate) fn models() -> Value {
    json!({"data": [{"id": "claude-mock", "type": "model", "display_name": "Claude Mock"}], "has_more": false})
}
