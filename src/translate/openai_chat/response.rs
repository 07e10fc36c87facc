//! Complete (non-streamed) Chat Completions answers: an upstream's `chat.completion` → IR, IR → a client's.

use serde_json::{json, Map, Value};

use super::wire;
use super::TranslateError;
use super::{client_id, ir, random_id, stop_from_wire, stop_to_wire, unix_now, usage_json};

pub fn decode_response(body: &[u8]) -> Result<ir::Response, TranslateError> {
    let resp: wire::ChatResponse = serde_json::from_slice(body)
        .map_err(|e| TranslateError::Upstream(format!("invalid chat completion: {e}")))?;
    if let Some(error) = &resp.error {
        return Err(TranslateError::Upstream(wire::error_message(error)));
    }
    // Only one choice is ever asked for (n > 1 is refused), so the first is the answer.
    let choice = resp
        .choices
        .into_iter()
        .find(|c| c.index.unwrap_or(0) == 0)
        .ok_or_else(|| TranslateError::Upstream("the chat completion has no choices".into()))?;
    let mut content = Vec::new();
    let mut refused = false;
    if let Some(msg) = choice.message {
        content =
            super::assistant_text(msg.reasoning_content.or(msg.reasoning), msg.content, false)?;
        if let Some(text) = msg.refusal.filter(|r| !r.is_empty()) {
            refused = true;
            content.push(ir::Part::Text { text });
        }
        for call in msg.tool_calls.into_iter().flatten() {
            let f = call
                .function
                .ok_or_else(|| TranslateError::Upstream("a tool call has no function".into()))?;
            content.push(ir::Part::ToolCall {
                id: call.id.unwrap_or_else(|| random_id("call_")),
                name: f.name,
                arguments: f.arguments,
                signature: None,
            });
        }
        if let Some(f) = msg.function_call {
            content.push(ir::Part::ToolCall {
                id: random_id("call_"),
                name: f.name,
                arguments: f.arguments,
                signature: None,
            });
        }
    }
    let saw_tool_call = content
        .iter()
        .any(|p| matches!(p, ir::Part::ToolCall { .. }));
    let stop = match stop_from_wire(choice.finish_reason.as_deref(), saw_tool_call) {
        ir::StopReason::EndTurn if refused => ir::StopReason::Refusal,
        other => other,
    };
    Ok(ir::Response {
        id: resp.id.unwrap_or_else(|| random_id("chatcmpl-")),
        model: resp.model.unwrap_or_default(),
        content,
        stop,
        stop_sequence: None,
        usage: resp.usage.map(|u| u.to_ir()).unwrap_or_default(),
        created: resp.created.unwrap_or_else(unix_now),
    })
}

pub fn encode_response(resp: &ir::Response) -> Vec<u8> {
    let mut text = String::new();
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for part in &resp.content {
        match part {
            ir::Part::Text { text: t } => append_paragraph(&mut text, t),
            ir::Part::Reasoning { text: t, .. } => append_paragraph(&mut reasoning, t),
            ir::Part::ToolCall {
                id,
                name,
                arguments,
                ..
            } => calls.push(json!({"id": id, "type": "function",
                                   "function": {"name": name, "arguments": arguments}})),
            _ => tracing::debug!("a non-text part of the answer has no place in a Chat message"),
        }
    }
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    let content = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    message.insert("content".into(), content);
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), Value::String(reasoning));
    }
    message.insert("refusal".into(), Value::Null);
    let finish = stop_to_wire(&resp.stop, !calls.is_empty());
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    let body = json!({
        "id": client_id(&resp.id, "chatcmpl-"),
        "object": "chat.completion",
        "created": resp.created,
        "model": resp.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish}],
        "usage": usage_json(&resp.usage),
    });
    body.to_string().into_bytes()
}

/// Joins text blocks with a blank line so separate blocks do not run together.
pub(super) fn append_paragraph(buf: &mut String, text: &str) {
    if !buf.is_empty() && !text.is_empty() {
        buf.push_str("\n\n");
    }
    buf.push_str(text);
}
