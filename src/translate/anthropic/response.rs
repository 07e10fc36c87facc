//! Complete (non-streamed) Messages responses: a Claude upstream's answer → IR, and IR → a Claude client's
//! answer.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::common::{
    message_id, now_unix, random_id, stop_from_wire, stop_to_wire, OutUsage, WireBlock, WireUsage,
};
use crate::translate::{ir, TranslateError};

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireBody {
    Message(WireMessage),
    Error { error: WireError },
}

#[derive(Deserialize)]
pub(super) struct WireError {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub message: String,
}

impl WireError {
    /// The message a client is shown (the type when there is no message).
    pub fn describe(&self) -> String {
        if self.message.is_empty() {
            self.kind.clone()
        } else {
            self.message.clone()
        }
    }
}

#[derive(Deserialize)]
struct WireMessage {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    content: Vec<WireBlock>,
    stop_reason: Option<String>,
    stop_sequence: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

pub(super) fn decode(body: &[u8]) -> Result<ir::Response, TranslateError> {
    let wire: WireBody = serde_json::from_slice(body)
        .map_err(|e| TranslateError::Upstream(format!("invalid Messages response: {e}")))?;
    let msg = match wire {
        WireBody::Message(m) => m,
        WireBody::Error { error } => return Err(TranslateError::Upstream(error.describe())),
    };
    let mut content = Vec::with_capacity(msg.content.len());
    for b in msg.content {
        content.push(match b {
            WireBlock::Text { text } => ir::Part::Text { text },
            WireBlock::Thinking {
                thinking,
                signature,
            } => ir::Part::Reasoning {
                text: thinking,
                signature: signature.filter(|s| !s.is_empty()),
                redacted: false,
                id: None,
            },
            WireBlock::RedactedThinking { data } => ir::Part::Reasoning {
                text: String::new(),
                signature: Some(data),
                redacted: true,
                id: None,
            },
            WireBlock::ToolUse { id, name, input } => ir::Part::ToolCall {
                id,
                name,
                arguments: if input.is_null() {
                    "{}".to_string()
                } else {
                    input.to_string()
                },
                signature: None,
            },
            WireBlock::Other => {
                // Server-tool blocks only appear when the request asked for server tools, which translated
                // requests never do.
                tracing::debug!("unknown content block in a Claude response skipped");
                continue;
            }
        });
    }
    Ok(ir::Response {
        id: msg.id,
        model: msg.model,
        content,
        stop: msg
            .stop_reason
            .as_deref()
            .map_or(ir::StopReason::EndTurn, stop_from_wire),
        stop_sequence: msg.stop_sequence,
        usage: msg.usage.to_ir(),
        created: now_unix(),
    })
}

#[derive(Serialize)]
struct OutMessage<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: Vec<OutBlock<'a>>,
    stop_reason: &'a str,
    stop_sequence: Option<&'a str>,
    usage: OutUsage,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutBlock<'a> {
    Text {
        text: &'a str,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
    ToolUse {
        id: std::borrow::Cow<'a, str>,
        name: &'a str,
        input: ToolInput<'a>,
    },
}

/// A tool call's `input`: the model's argument text embedded unchanged when it is a JSON object.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum ToolInput<'a> {
    Raw(&'a RawValue),
    Empty(EmptyObject),
}

#[derive(Serialize)]
pub(super) struct EmptyObject {}

pub(super) fn tool_input(arguments: &str) -> ToolInput<'_> {
    match serde_json::from_str::<&RawValue>(arguments) {
        Ok(raw) if raw.get().trim_start().starts_with('{') => ToolInput::Raw(raw),
        _ => {
            // Claude clients type `input` as an object; truncated arguments (max_tokens) cannot be one.
            if !arguments.trim().is_empty() {
                tracing::debug!("tool call arguments are not a JSON object; sent as {{}}");
            }
            ToolInput::Empty(EmptyObject {})
        }
    }
}

pub(super) fn encode(resp: &ir::Response) -> Vec<u8> {
    let mut saw_tool = false;
    let content = resp
        .content
        .iter()
        .filter_map(|p| match p {
            ir::Part::Text { text } => Some(OutBlock::Text { text }),
            ir::Part::Reasoning {
                signature, redacted: true, ..
            } => Some(OutBlock::RedactedThinking {
                data: signature.as_deref().unwrap_or(""),
            }),
            ir::Part::Reasoning { text, signature, .. } => Some(OutBlock::Thinking {
                thinking: text,
                signature: signature.as_deref().unwrap_or(""),
            }),
            ir::Part::ToolCall {
                id, name, arguments, ..
            } => {
                saw_tool = true;
                Some(OutBlock::ToolUse {
                    id: if id.is_empty() {
                        random_id("toolu_").into()
                    } else {
                        id.as_str().into()
                    },
                    name,
                    input: tool_input(arguments),
                })
            }
            ir::Part::Image { .. } | ir::Part::Document { .. } | ir::Part::ToolResult { .. } => {
                tracing::debug!("an image, document or tool result in an answer skipped: Claude answers cannot carry one");
                None
            }
        })
        .collect();
    let out = OutMessage {
        id: message_id(&resp.id),
        kind: "message",
        role: "assistant",
        model: &resp.model,
        content,
        stop_reason: stop_to_wire(&resp.stop, saw_tool),
        stop_sequence: resp.stop_sequence.as_deref(),
        usage: OutUsage::from_ir(&resp.usage),
    };
    serde_json::to_vec(&out).unwrap_or_default()
}
