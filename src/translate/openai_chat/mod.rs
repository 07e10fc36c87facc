//! OpenAI Chat Completions: as a client format (`/v1/chat/completions`, and the legacy `/v1/completions`)
//! and as the upstream format of OpenAI-compatible providers.
//!
//! Decisions worth knowing (each is also commented where it is made):
//! - `system`/`developer` messages before the first conversation turn become `ir.system`, in order. One that
//!   appears later keeps its place: it becomes a user message whose text is prefixed `System: `, because
//!   hoisting it to the top would detach it from the turn it refers to.
//! - Consecutive `tool` messages join one IR user message of tool results; each result gets its tool name
//!   from the assistant call with the same id (Gemini needs names).
//! - Reasoning in assistant history is not sent upstream: Chat has no standard field for it and opaque
//!   signatures cannot be carried. Reasoning in answers is written as the de-facto `reasoning_content`.
//! - Tool results are text-only in Chat: images in a result follow as a user message right after the
//!   `tool` messages.
//! - A feature the IR cannot hold is refused while decoding with [`TranslateError::Unsupported`]. Decoding
//!   does not know the upstream, so `target` names the client's own format; the caller may replace it.

mod client_request;
mod completions;
mod response;
mod stream;
mod upstream_request;
mod wire;

#[cfg(test)]
mod tests;

use super::common::{id_with_prefix as client_id, random_id, unix_now};
use super::{ir, TranslateError};
use crate::wire::Format;

pub use client_request::decode_request;
pub use completions::{
    decode_completions_request, encode_completions_response, CompletionsEncoder,
};
pub use response::{decode_response, encode_response};
pub use stream::{Decoder, Encoder};
pub use upstream_request::encode_request;

/// The reasoning and text of a Chat assistant message as IR parts, reasoning first (it came first when the
/// turn was generated). `strict` refuses content parts other than text and refusal, as a client's request
/// must; an upstream's answer is read leniently, taking whatever text a part carries.
fn assistant_text(
    reasoning: Option<String>,
    content: Option<wire::Content>,
    strict: bool,
) -> Result<Vec<ir::Part>, TranslateError> {
    let mut parts = Vec::new();
    if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
        parts.push(ir::Part::Reasoning {
            text,
            signature: None,
            redacted: false,
            id: None,
        });
    }
    match content {
        Some(wire::Content::Text(text)) if !text.is_empty() => parts.push(ir::Part::Text { text }),
        None | Some(wire::Content::Text(_)) => {}
        Some(wire::Content::Parts(list)) => {
            for p in list {
                let text = match (p.kind.as_str(), p.text, p.refusal) {
                    ("text", Some(text), _) | ("refusal", _, Some(text)) => text,
                    (kind, _, _) if strict => {
                        return Err(TranslateError::Invalid(format!(
                            "assistant content parts must be text or refusal, not `{kind}`"
                        )))
                    }
                    (_, text, refusal) => match text.or(refusal) {
                        Some(text) => text,
                        None => continue,
                    },
                };
                parts.push(ir::Part::Text { text });
            }
        }
    }
    Ok(parts)
}

/// Whether a Chat or legacy Completions request asked for the final usage chunk
/// (`stream_options.include_usage`), which the client's stream encoder needs to know
/// ([`StreamOptions::include_usage`](super::StreamOptions::include_usage)). The IR has no place for it.
pub fn include_usage(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Options {
        include_usage: Option<bool>,
    }
    #[derive(serde::Deserialize)]
    struct Body {
        stream_options: Option<Options>,
    }
    serde_json::from_slice::<Body>(body)
        .ok()
        .and_then(|b| b.stream_options)
        .and_then(|o| o.include_usage)
        .unwrap_or(false)
}

/// A feature of the client's request the IR cannot carry (see the module docs for `target`).
fn unsupported(feature: impl Into<String>, client: Format) -> TranslateError {
    TranslateError::Unsupported {
        feature: feature.into(),
        target: client,
    }
}

/// Reads a `data:` or `http(s)://` URL into a media source.
fn media_source(url: &str, what: &str) -> Result<ir::MediaSource, TranslateError> {
    if let Some(rest) = url.strip_prefix("data:") {
        let (meta, data) = rest
            .split_once(',')
            .ok_or_else(|| TranslateError::Invalid(format!("{what}: malformed data URL")))?;
        let media_type = meta.strip_suffix(";base64").ok_or_else(|| {
            TranslateError::Invalid(format!("{what}: only base64 data URLs are supported"))
        })?;
        // Parameters such as `;charset=…` are not part of the media type.
        let media_type = media_type.split(';').next().unwrap_or_default().trim();
        if media_type.is_empty() {
            return Err(TranslateError::Invalid(format!(
                "{what}: the data URL names no media type"
            )));
        }
        return Ok(ir::MediaSource::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        });
    }
    let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Ok(ir::MediaSource::Url(url.to_owned()));
    }
    Err(TranslateError::Invalid(format!(
        "{what} must be a data: URL or an http(s) URL"
    )))
}

/// The inverse of [`media_source`].
fn media_url(source: &ir::MediaSource) -> String {
    match source {
        ir::MediaSource::Url(url) => url.clone(),
        ir::MediaSource::Base64 { media_type, data } => {
            let mut url = String::with_capacity(13 + media_type.len() + data.len());
            url.push_str("data:");
            url.push_str(media_type);
            url.push_str(";base64,");
            url.push_str(data);
            url
        }
    }
}

/// `finish_reason` → IR. Chat answers `stop` even when a provider ended on tool calls, so tool calls seen
/// in the answer make it `ToolUse`.
fn stop_from_wire(reason: Option<&str>, saw_tool_call: bool) -> ir::StopReason {
    match reason {
        Some("length") => ir::StopReason::MaxTokens,
        Some("tool_calls" | "function_call") => ir::StopReason::ToolUse,
        Some("content_filter") => ir::StopReason::ContentFilter,
        Some("stop") | None if saw_tool_call => ir::StopReason::ToolUse,
        Some("stop") | None => ir::StopReason::EndTurn,
        Some(other) => ir::StopReason::Other(other.to_owned()),
    }
}

/// IR → `finish_reason` (stop | length | tool_calls | content_filter), per PROTOCOLS §6.
fn stop_to_wire(stop: &ir::StopReason, saw_tool_call: bool) -> &'static str {
    match stop {
        ir::StopReason::MaxTokens => "length",
        ir::StopReason::ToolUse => "tool_calls",
        ir::StopReason::Refusal | ir::StopReason::ContentFilter => "content_filter",
        // Gemini ends a function-calling turn with STOP; Chat clients look for `tool_calls`.
        _ if saw_tool_call => "tool_calls",
        ir::StopReason::EndTurn | ir::StopReason::StopSequence | ir::StopReason::PauseTurn => {
            "stop"
        }
        ir::StopReason::Other(other) => {
            tracing::debug!(reason = %other, "unknown stop reason reported to a Chat client as stop");
            "stop"
        }
    }
}

/// The `usage` object of answers and final chunks.
fn usage_json(usage: &ir::Usage) -> serde_json::Value {
    serde_json::json!({
        "prompt_tokens": usage.input,
        "completion_tokens": usage.output,
        "total_tokens": usage.input + usage.output,
        "prompt_tokens_details": {"cached_tokens": usage.cache_read},
        "completion_tokens_details": {"reasoning_tokens": usage.reasoning},
    })
}

/// Parses a client body, naming the offending field on failure.
fn parse_client<T: serde::de::DeserializeOwned>(
    body: &[u8],
    what: &str,
) -> Result<T, TranslateError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut de)
        .map_err(|e| TranslateError::Invalid(format!("invalid {what} request: {e}")))
}
