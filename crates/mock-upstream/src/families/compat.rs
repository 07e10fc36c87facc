//! OpenAI Chat Completions wire shapes (the compat family), the legacy text completions it
//! also serves, and the OpenAI error and model-list shapes that codex shares.

use serde_json::{json, Value};

use crate::replies::{
    call_args, call_args_halves, call_id, Content, Echo, Finish, Item, CREATED, THINKING,
    USAGE_CACHED, USAGE_IN, USAGE_OUT, USAGE_REASONING,
};
use crate::sse::Event;

fn finish_reason(finish: Finish) -> &'static str {
    match finish {
        Finish::Stop | Finish::Pause => "stop",
        Finish::ToolUse => "tool_calls",
        Finish::Length => "length",
    }
}

fn usage(content: &Content) -> Value {
    let mut u = json!({
        "prompt_tokens": USAGE_IN, "completion_tokens": USAGE_OUT, "total_tokens": USAGE_IN + USAGE_OUT,
    });
    if content.cached {
        u["prompt_tokens_details"] = json!({"cached_tokens": USAGE_CACHED});
    }
    if content.reasoning {
        u["completion_tokens_details"] = json!({"reasoning_tokens": USAGE_REASONING});
    }
    u
}

fn calls(content: &Content) -> impl Iterator<Item = usize> + '_ {
    content.items.iter().filter_map(|i| match i {
        Item::Call(n) => Some(*n),
        _ => None,
    })
}

fn has(content: &Content, item: Item) -> bool {
    content.items.contains(&item)
}

pub(crate) fn completion(content: &Content, echo: &Echo) -> Value {
    // Chat has one message: text (or null when the turn is only tool calls), reasoning beside it.
    let text = if has(content, Item::Text) || has(content, Item::Image) {
        json!(content.text.concat())
    } else {
        Value::Null
    };
    let mut message = json!({"role": "assistant", "content": text});
    if has(content, Item::Reasoning) {
        message["reasoning_content"] = json!(THINKING.concat());
    }
    let tool_calls: Vec<Value> = calls(content)
        .map(|n| {
            json!({
                "id": call_id("call_mock", n), "type": "function",
                "function": {"name": echo.tool, "arguments": call_args(n)},
            })
        })
        .collect();
    if !tool_calls.is_empty() {
        message["tool_calls"] = json!(tool_calls);
    }
    json!({
        "id": "chatcmpl-mock01", "object": "chat.completion", "created": CREATED, "model": echo.model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(content.finish)}],
        "usage": usage(content),
    })
}

fn chunk(echo: &Echo, delta: Value, finish: Value) -> Event {
    Event::data(json!({
        "id": "chatcmpl-mock01", "object": "chat.completion.chunk", "created": CREATED, "model": echo.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }))
}

pub(crate) fn events(content: &Content, echo: &Echo) -> Vec<Event> {
    let mut evs = vec![chunk(
        echo,
        json!({"role": "assistant", "content": ""}),
        Value::Null,
    )];
    for item in &content.items {
        match *item {
            Item::Reasoning => {
                for t in THINKING {
                    evs.push(chunk(echo, json!({"reasoning_content": t}), Value::Null));
                }
            }
            Item::Text | Item::Image => {
                for t in content.text {
                    evs.push(chunk(echo, json!({"content": t}), Value::Null));
                }
            }
            Item::Call(n) => {
                let start = json!({"tool_calls": [{
                    "index": n, "id": call_id("call_mock", n), "type": "function",
                    "function": {"name": echo.tool, "arguments": ""},
                }]});
                evs.push(chunk(echo, start, Value::Null));
                for part in call_args_halves(n) {
                    let delta =
                        json!({"tool_calls": [{"index": n, "function": {"arguments": part}}]});
                    evs.push(chunk(echo, delta, Value::Null));
                }
            }
        }
    }
    evs.push(chunk(echo, json!({}), json!(finish_reason(content.finish))));
    // The usage chunk is always sent, as if the client asked for `stream_options.include_usage`.
    evs.push(Event::data(json!({
        "id": "chatcmpl-mock01", "object": "chat.completion.chunk", "created": CREATED, "model": echo.model,
        "choices": [], "usage": usage(content),
    })));
    evs.push(Event::done());
    evs
}

/// Legacy completions only carry text: the content model's text with the kind's finish reason
/// (tool kinds end with `stop`: the legacy API has no tool calls).
fn legacy_finish(content: &Content) -> &'static str {
    if content.finish == Finish::Length {
        "length"
    } else {
        "stop"
    }
}

pub(crate) fn legacy_completion(content: &Content, echo: &Echo) -> Value {
    json!({
        "id": "cmpl-mock01", "object": "text_completion", "created": CREATED, "model": echo.model,
        "choices": [{"text": content.text.concat(), "index": 0, "logprobs": null, "finish_reason": legacy_finish(content)}],
        "usage": usage(content),
    })
}

pub(crate) fn legacy_events(content: &Content, echo: &Echo) -> Vec<Event> {
    let chunk = |text: &str, finish: Value| {
        Event::data(json!({
            "id": "cmpl-mock01", "object": "text_completion", "created": CREATED, "model": echo.model,
            "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": finish}],
        }))
    };
    let mut evs: Vec<Event> = content.text.iter().map(|t| chunk(t, Value::Null)).collect();
    evs.push(chunk("", json!(legacy_finish(content))));
    evs.push(Event::data(json!({
        "id": "cmpl-mock01", "object": "text_completion", "created": CREATED, "model": echo.model,
        "choices": [], "usage": usage(content),
    })));
    evs.push(Event::done());
    evs
}

/// OpenAI error body (compat and codex).
pub(crate) fn error_body(status: u16, message: &str) -> Value {
    let (kind, code) = match status {
        400 => ("invalid_request_error", Value::Null),
        401 => ("authentication_error", json!("invalid_api_key")),
        403 => ("permission_error", Value::Null),
        404 => ("invalid_request_error", json!("model_not_found")),
        429 => ("rate_limit_error", json!("rate_limit_exceeded")),
        _ => ("server_error", Value::Null),
    };
    json!({"error": {"message": message, "type": kind, "code": code}})
}

pub(crate) fn stream_error() -> Event {
    Event::data(
        json!({"error": {"message": "mock mid-stream error", "type": "server_error", "code": "server_error"}}),
    )
}

/// OpenAI model list (compat and codex).
pub(crate) fn models() -> Value {
    json!({"object": "list", "data": [{"id": "mock-model", "object": "model", "owned_by": "mock"}]})
}
