//! The Chat Completions wire shapes this codec reads. Only the fields the IR can use are named; serde skips
//! the rest. Fields that would change the answer but have no IR equivalent are named too, so decoding can
//! refuse them instead of dropping them unnoticed.
//!
//! Flat structs (a `type` string plus optional fields) are used instead of tagged enums: serde buffers every
//! tagged or untagged enum value before choosing a variant, which would copy multi-megabyte image data URLs.

use std::fmt;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

/// A `POST /v1/chat/completions` body.
#[derive(Deserialize)]
pub(super) struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub tools: Option<Vec<Tool>>,
    pub tool_choice: Option<Value>,
    pub parallel_tool_calls: Option<bool>,
    /// Legacy function calling (`functions` + `function_call`), superseded by `tools`.
    pub functions: Option<Vec<FunctionDef>>,
    pub function_call: Option<Value>,
    pub max_tokens: Option<u64>,
    pub max_completion_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Not OpenAI, but many OpenAI-compatible servers (vLLM, OpenRouter) accept it.
    pub top_k: Option<u64>,
    pub stop: Option<Stop>,
    pub stream: Option<bool>,
    pub n: Option<u64>,
    pub reasoning_effort: Option<String>,
    pub response_format: Option<ResponseFormat>,
    pub user: Option<String>,
    /// The newer name for `user`.
    pub safety_identifier: Option<String>,
    pub prompt_cache_key: Option<String>,
    // Meaning-changing features with no IR equivalent: refused when present.
    pub modalities: Option<Vec<String>>,
    pub audio: Option<IgnoredAny>,
    pub web_search_options: Option<IgnoredAny>,
    // Harmless when lost: dropped with a debug log.
    pub seed: Option<IgnoredAny>,
    pub logprobs: Option<IgnoredAny>,
    pub top_logprobs: Option<IgnoredAny>,
    pub presence_penalty: Option<IgnoredAny>,
    pub frequency_penalty: Option<IgnoredAny>,
    pub logit_bias: Option<IgnoredAny>,
    pub metadata: Option<IgnoredAny>,
    pub store: Option<IgnoredAny>,
    pub service_tier: Option<IgnoredAny>,
    pub prediction: Option<IgnoredAny>,
    pub verbosity: Option<IgnoredAny>,
}

/// One message of any role; which fields matter depends on `role`.
#[derive(Deserialize)]
pub(super) struct Message {
    pub role: String,
    pub content: Option<Content>,
    pub name: Option<String>,
    pub tool_calls: Option<Vec<ToolCall>>,
    pub tool_call_id: Option<String>,
    /// DeepSeek-style reasoning text on assistant messages.
    pub reasoning_content: Option<String>,
    /// OpenRouter / vLLM spelling of the same.
    pub reasoning: Option<String>,
    /// Legacy single function call on an assistant message.
    pub function_call: Option<FunctionCall>,
    pub refusal: Option<String>,
}

/// Message content: a plain string or an array of typed parts.
pub(super) enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ContentVisitor;
        impl<'de> Visitor<'de> for ContentVisitor {
            type Value = Content;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_str<E>(self, s: &str) -> Result<Content, E> {
                Ok(Content::Text(s.to_owned()))
            }
            fn visit_string<E>(self, s: String) -> Result<Content, E> {
                Ok(Content::Text(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
                let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(part) = seq.next_element()? {
                    parts.push(part);
                }
                Ok(Content::Parts(parts))
            }
        }
        d.deserialize_any(ContentVisitor)
    }
}

/// One content part: `text`, `image_url`, `input_audio`, `file`, `refusal`.
#[derive(Deserialize)]
pub(super) struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
    pub image_url: Option<ImageUrl>,
    pub file: Option<File>,
    pub refusal: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ImageUrl {
    /// Some clients send the URL bare instead of `{url}`.
    Bare(String),
    Object {
        url: String,
        detail: Option<String>,
    },
}

#[derive(Deserialize)]
pub(super) struct File {
    pub file_data: Option<String>,
    pub file_id: Option<String>,
    pub filename: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ToolCall {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub function: Option<FunctionCall>,
}

#[derive(Deserialize)]
pub(super) struct FunctionCall {
    pub name: String,
    #[serde(default, deserialize_with = "arguments_text")]
    pub arguments: String,
}

/// Tool arguments are a JSON string on the wire; a few clients send the object itself, kept as its text.
fn arguments_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        None => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    })
}

#[derive(Deserialize)]
pub(super) struct Tool {
    #[serde(rename = "type")]
    pub kind: String,
    pub function: Option<FunctionDef>,
}

#[derive(Deserialize)]
pub(super) struct FunctionDef {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Option<Value>,
    pub strict: Option<bool>,
}

/// `stop`: one string or an array of them.
pub(super) struct Stop(pub Vec<String>);

impl<'de> Deserialize<'de> for Stop {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StopVisitor;
        impl<'de> Visitor<'de> for StopVisitor {
            type Value = Stop;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E>(self, s: &str) -> Result<Stop, E> {
                Ok(Stop(vec![s.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Stop, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    v.push(s);
                }
                Ok(Stop(v))
            }
        }
        d.deserialize_any(StopVisitor)
    }
}

#[derive(Deserialize)]
pub(super) struct ResponseFormat {
    #[serde(rename = "type")]
    pub kind: String,
    pub json_schema: Option<JsonSchema>,
}

#[derive(Deserialize)]
pub(super) struct JsonSchema {
    pub name: Option<String>,
    pub schema: Option<Value>,
    pub strict: Option<bool>,
}

/// A complete `chat.completion` answer.
#[derive(Deserialize)]
pub(super) struct ChatResponse {
    pub id: Option<String>,
    pub model: Option<String>,
    pub created: Option<u64>,
    #[serde(default)]
    pub choices: Vec<Choice>,
    pub usage: Option<Usage>,
    pub error: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct Choice {
    pub index: Option<u64>,
    pub message: Option<Message>,
    pub finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub prompt_tokens_details: Option<PromptDetails>,
    pub completion_tokens_details: Option<CompletionDetails>,
    /// DeepSeek reports cache hits here instead of `prompt_tokens_details.cached_tokens`.
    pub prompt_cache_hit_tokens: Option<u64>,
}

#[derive(Deserialize)]
pub(super) struct PromptDetails {
    pub cached_tokens: Option<u64>,
}

#[derive(Deserialize)]
pub(super) struct CompletionDetails {
    pub reasoning_tokens: Option<u64>,
}

impl Usage {
    pub fn to_ir(&self) -> crate::translate::ir::Usage {
        crate::translate::ir::Usage {
            input: self.prompt_tokens.unwrap_or(0),
            output: self.completion_tokens.unwrap_or(0),
            cache_read: self
                .prompt_tokens_details
                .as_ref()
                .and_then(|d| d.cached_tokens)
                .or(self.prompt_cache_hit_tokens)
                .unwrap_or(0),
            cache_write: 0,
            reasoning: self
                .completion_tokens_details
                .as_ref()
                .and_then(|d| d.reasoning_tokens)
                .unwrap_or(0),
        }
    }
}

/// One `chat.completion.chunk`, or an in-band `{"error": …}`.
#[derive(Deserialize)]
pub(super) struct Chunk {
    pub id: Option<String>,
    pub model: Option<String>,
    pub created: Option<u64>,
    pub choices: Option<Vec<ChunkChoice>>,
    pub usage: Option<Usage>,
    pub error: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct ChunkChoice {
    pub index: Option<u64>,
    pub delta: Option<ChunkDelta>,
    pub finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct ChunkDelta {
    pub content: Option<String>,
    pub reasoning_content: Option<String>,
    pub reasoning: Option<String>,
    pub refusal: Option<String>,
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    pub function_call: Option<FunctionDelta>,
}

#[derive(Deserialize)]
pub(super) struct ToolCallDelta {
    pub index: Option<u64>,
    pub id: Option<String>,
    pub function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
pub(super) struct FunctionDelta {
    pub name: Option<String>,
    pub arguments: Option<String>,
}

/// The human-readable message of an `error` value (`{"message": …}` or a bare string).
pub(super) fn error_message(error: &Value) -> String {
    match error {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("message") {
            Some(Value::String(m)) => m.clone(),
            _ => error.to_string(),
        },
        other => other.to_string(),
    }
}
