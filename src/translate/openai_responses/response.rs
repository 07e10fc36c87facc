//! Complete answers: a `response` object into the IR and back, plus the output-item shapes the stream
//! encoder shares.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    mark_redacted, now_secs, random_id, stop_from_status, stop_status, usage_from_json, usage_json,
};
use crate::translate::ir::{self, Part, Usage};
use crate::translate::TranslateError;

/// One output item as upstreams send it (in a response, or in `response.output_item.*` events).
#[derive(Debug, Deserialize)]
pub(super) struct WireOutputItem {
    #[serde(rename = "type")]
    pub ty: String,
    pub id: Option<String>,
    /// A message's `output_text` / `refusal` parts; a reasoning item's `reasoning_text` parts.
    pub content: Option<Vec<WireOutputContent>>,
    pub summary: Option<Vec<WireOutputContent>>,
    pub encrypted_content: Option<String>,
    pub call_id: Option<String>,
    pub name: Option<String>,
    pub arguments: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireOutputContent {
    #[serde(rename = "type")]
    pub ty: Option<String>,
    pub text: Option<String>,
    pub refusal: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct WireResponse {
    pub id: Option<String>,
    pub model: Option<String>,
    pub created_at: Option<f64>,
    pub status: Option<String>,
    pub output: Option<Vec<WireOutputItem>>,
    pub usage: Option<Value>,
    pub incomplete_details: Option<WireIncomplete>,
    pub error: Option<WireError>,
}

#[derive(Deserialize)]
pub(super) struct WireIncomplete {
    pub reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct WireError {
    /// A string from OpenAI; some servers send numbers.
    pub code: Option<Value>,
    pub message: Option<String>,
}

impl WireError {
    pub fn describe(&self) -> String {
        let code = self
            .code
            .as_ref()
            .filter(|c| !c.is_null())
            .map(|c| match c {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        match (code, &self.message) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (None, Some(message)) => message.clone(),
            (Some(code), None) => code,
            (None, None) => "the upstream reported a failure".into(),
        }
    }
}

/// What an output item turned into, and what it says about the stop reason.
#[derive(Default)]
pub(super) struct ItemFlags {
    pub tool_call: bool,
    pub refusal: bool,
}

/// An output item's IR parts (none for items no other format has, such as `web_search_call`).
pub(super) fn item_parts(item: WireOutputItem, flags: &mut ItemFlags) -> Vec<Part> {
    match item.ty.as_str() {
        "message" => item
            .content
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| match (c.ty.as_deref(), c.text, c.refusal) {
                (Some("refusal"), _, Some(refusal)) => {
                    flags.refusal = true;
                    Some(Part::Text { text: refusal })
                }
                (_, Some(text), _) => Some(Part::Text { text }),
                _ => None,
            })
            .collect(),
        "function_call" => {
            flags.tool_call = true;
            vec![Part::ToolCall {
                id: item.call_id.or(item.id).unwrap_or_default(),
                name: item.name.unwrap_or_default(),
                arguments: item.arguments.unwrap_or_default(),
                signature: None,
            }]
        }
        "reasoning" => {
            let text = reasoning_text(item.summary, item.content);
            // An upstream's token is OpenAI's own: it is never one of our redaction marks.
            vec![Part::Reasoning {
                text,
                signature: item.encrypted_content,
                redacted: false,
                id: item.id,
            }]
        }
        other => {
            tracing::debug!(
                item = other,
                "dropping an output item no other format can carry"
            );
            Vec::new()
        }
    }
}

/// A reasoning item's readable text: the summary parts, or the raw reasoning when there is no summary.
pub(super) fn reasoning_text(
    summary: Option<Vec<WireOutputContent>>,
    content: Option<Vec<WireOutputContent>>,
) -> String {
    let join = |parts: Vec<WireOutputContent>| {
        parts
            .into_iter()
            .filter_map(|p| p.text)
            .collect::<Vec<_>>()
            .join("\n\n")
    };
    let text = summary.map(join).unwrap_or_default();
    if text.is_empty() {
        content.map(join).unwrap_or_default()
    } else {
        text
    }
}

/// Decodes an upstream's complete `response` object.
pub fn decode_response(body: &[u8]) -> Result<ir::Response, TranslateError> {
    let wire: WireResponse = serde_json::from_slice(body)
        .map_err(|e| TranslateError::Upstream(format!("invalid Responses response: {e}")))?;
    let status = wire.status.as_deref().unwrap_or_default();
    if status == "failed" || (wire.output.is_none() && wire.error.is_some()) {
        let message = wire
            .error
            .as_ref()
            .map(WireError::describe)
            .unwrap_or_else(|| "the response failed".into());
        return Err(TranslateError::Upstream(message));
    }
    let mut flags = ItemFlags::default();
    let mut content = Vec::new();
    for item in wire.output.unwrap_or_default() {
        content.extend(item_parts(item, &mut flags));
    }
    let reason = wire.incomplete_details.and_then(|d| d.reason);
    Ok(ir::Response {
        id: wire.id.unwrap_or_default(),
        model: wire.model.unwrap_or_default(),
        content,
        stop: stop_from_status(status, reason.as_deref(), flags.tool_call, flags.refusal),
        stop_sequence: None,
        usage: usage_from_json(wire.usage.as_ref()),
        created: wire.created_at.map(|t| t as u64).unwrap_or_default(),
    })
}

// ---------------------------------------------------------------------------------------------- encode

pub(super) fn output_text_part(text: &str) -> Value {
    json!({"type": "output_text", "annotations": [], "logprobs": [], "text": text})
}

pub(super) fn message_item(id: &str, status: &str, content: Vec<Value>) -> Value {
    json!({"id": id, "type": "message", "status": status, "role": "assistant", "content": content})
}

pub(super) fn summary_part(text: &str) -> Value {
    json!({"type": "summary_text", "text": text})
}

pub(super) fn reasoning_item(
    id: &str,
    text: &str,
    encrypted: Option<&str>,
    redacted: bool,
) -> Value {
    let summary = if text.is_empty() {
        Vec::new()
    } else {
        vec![summary_part(text)]
    };
    let mut item = json!({"id": id, "type": "reasoning", "summary": summary});
    if let Some(token) = encrypted {
        item["encrypted_content"] = json!(mark_redacted(token, redacted));
    }
    item
}

pub(super) fn function_call_item(
    id: &str,
    status: &str,
    call_id: &str,
    name: &str,
    arguments: &str,
) -> Value {
    json!({"id": id, "type": "function_call", "status": status, "arguments": arguments,
           "call_id": call_id, "name": name})
}

/// What a response object says beyond its output.
pub(super) struct ResponseMeta<'a> {
    pub id: &'a str,
    pub created_at: u64,
    pub model: &'a str,
}

/// A full `response` object: the fields the OpenAI SDKs' `Response` model requires (`tools`,
/// `tool_choice`, `parallel_tool_calls`, …) are present with neutral values, since a translated answer does
/// not know the client's request.
pub(super) fn response_object(
    meta: &ResponseMeta<'_>,
    status: &str,
    output: Vec<Value>,
    usage: Option<&Usage>,
    incomplete_reason: Option<&str>,
    error: Option<(&str, &str)>,
) -> Value {
    json!({
        "id": meta.id,
        "object": "response",
        "created_at": meta.created_at,
        "status": status,
        "background": false,
        "error": error.map(|(code, message)| json!({"code": code, "message": message})),
        "incomplete_details": incomplete_reason.map(|reason| json!({"reason": reason})),
        "instructions": null,
        "max_output_tokens": null,
        "model": meta.model,
        "output": output,
        "parallel_tool_calls": true,
        "previous_response_id": null,
        "store": false,
        "temperature": null,
        "text": {"format": {"type": "text"}},
        "tool_choice": "auto",
        "tools": [],
        "top_p": null,
        "truncation": "disabled",
        "usage": usage.map(usage_json),
        "user": null,
        "metadata": {},
    })
}

/// The client's response id: the upstream's when it already is one, else a fresh `resp_…`.
pub(super) fn response_id(upstream: &str) -> String {
    if upstream.starts_with("resp_") {
        upstream.to_string()
    } else {
        random_id("resp_")
    }
}

/// Encodes a complete answer as a `response` object. Consecutive text parts share one message item.
pub fn encode_response(resp: &ir::Response) -> Vec<u8> {
    let mut output: Vec<Value> = Vec::new();
    let mut texts: Vec<Value> = Vec::new();
    let flush = |texts: &mut Vec<Value>, output: &mut Vec<Value>| {
        if !texts.is_empty() {
            output.push(message_item(
                &random_id("msg_"),
                "completed",
                std::mem::take(texts),
            ));
        }
    };
    for part in &resp.content {
        match part {
            Part::Text { text } => texts.push(output_text_part(text)),
            Part::Reasoning {
                text,
                signature,
                redacted,
                id,
            } => {
                flush(&mut texts, &mut output);
                let id = id.clone().unwrap_or_else(|| random_id("rs_"));
                output.push(reasoning_item(&id, text, signature.as_deref(), *redacted));
            }
            Part::ToolCall {
                id,
                name,
                arguments,
                ..
            } => {
                flush(&mut texts, &mut output);
                output.push(function_call_item(
                    &random_id("fc_"),
                    "completed",
                    id,
                    name,
                    arguments,
                ));
            }
            Part::Image { .. } | Part::Document { .. } | Part::ToolResult { .. } => {
                tracing::debug!(
                    "dropping a media or tool-result part a Responses answer cannot hold"
                );
            }
        }
    }
    flush(&mut texts, &mut output);
    let (status, reason) = stop_status(&resp.stop);
    let id = response_id(&resp.id);
    let created_at = if resp.created == 0 {
        now_secs()
    } else {
        resp.created
    };
    let meta = ResponseMeta {
        id: &id,
        created_at,
        model: &resp.model,
    };
    let body = response_object(&meta, status, output, Some(&resp.usage), reason, None);
    serde_json::to_vec(&body).unwrap_or_default()
}
