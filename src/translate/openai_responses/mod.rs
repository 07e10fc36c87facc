//! OpenAI Responses (`POST /v1/responses`): the client format Codex CLI and the OpenAI SDKs speak, and the
//! upstream format of the Codex backend and api.openai.com.
//!
//! - [`decode_request`] / [`encode_request`]: a client's request into the IR; the IR into a request for a
//!   Responses upstream (stateless: `store: false`, encrypted reasoning asked for and replayed).
//! - [`decode_response`] / [`encode_response`]: a `response` object.
//! - [`Decoder`]: an upstream's `response.*` event stream into IR events.
//! - [`Encoder`]: IR events into the event sequence the OpenAI SDKs parse (`sequence_number` from 0).

mod request_decode;
mod request_encode;
mod response;
mod stream_decode;
mod stream_encode;

#[cfg(test)]
mod tests;

pub use request_decode::{decode_request, decode_request_for};
pub use request_encode::encode_request;
pub use response::{decode_response, encode_response};
pub use stream_decode::Decoder;
pub use stream_encode::Encoder;

use std::borrow::Cow;

use super::common::{parse_data_url, random_id, unix_now as now_secs};
use super::ir::{MediaSource, StopReason, Usage};

/// Marks a Claude `redacted_thinking` block carried in `encrypted_content`. A Responses reasoning item has
/// no "redacted" flag, and Codex CLI drops reasoning item ids, so the flag rides in the opaque token itself:
/// the client hands the string back unchanged and the decoder strips the mark, giving Claude its exact
/// `data` again.
const REDACTED_MARK: &str = "switchyard-redacted:";

/// A media source as the URL string Responses takes (`image_url`, `file_url`, or a `file_data` data URL).
fn source_url(source: &MediaSource) -> Cow<'_, str> {
    match source {
        MediaSource::Url(url) => Cow::Borrowed(url),
        MediaSource::Base64 { media_type, data } => {
            Cow::Owned(format!("data:{media_type};base64,{data}"))
        }
    }
}

/// The `status` and `incomplete_details.reason` a response ends with.
fn stop_status(stop: &StopReason) -> (&'static str, Option<&'static str>) {
    match stop {
        StopReason::MaxTokens => ("incomplete", Some("max_output_tokens")),
        // A refusal stop (Claude's safety classifier) is what Responses calls a content filter.
        StopReason::ContentFilter | StopReason::Refusal => ("incomplete", Some("content_filter")),
        StopReason::EndTurn
        | StopReason::StopSequence
        | StopReason::ToolUse
        | StopReason::PauseTurn
        | StopReason::Other(_) => ("completed", None),
    }
}

/// The stop reason of a finished response: `incomplete_details.reason` wins, then tool calls, then refusals.
fn stop_from_status(
    status: &str,
    incomplete_reason: Option<&str>,
    saw_tool_call: bool,
    saw_refusal: bool,
) -> StopReason {
    match (status, incomplete_reason) {
        ("incomplete", Some("max_output_tokens")) => StopReason::MaxTokens,
        ("incomplete", Some("content_filter")) => StopReason::ContentFilter,
        ("incomplete", Some(other)) => StopReason::Other(other.to_string()),
        ("incomplete", None) => StopReason::Other("incomplete".to_string()),
        _ if saw_tool_call => StopReason::ToolUse,
        _ if saw_refusal => StopReason::Refusal,
        ("completed", _) | ("", _) => StopReason::EndTurn,
        (other, _) => StopReason::Other(other.to_string()),
    }
}

/// The Responses `usage` object. `cache_write_tokens` is required by current SDKs' `InputTokensDetails`.
fn usage_json(usage: &Usage) -> serde_json::Value {
    serde_json::json!({
        "input_tokens": usage.input,
        "input_tokens_details": {"cached_tokens": usage.cache_read, "cache_write_tokens": usage.cache_write},
        "output_tokens": usage.output,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning},
        "total_tokens": usage.input + usage.output,
    })
}

/// Reads a Responses `usage` object; OpenAI's totals already follow the IR conventions.
fn usage_from_json(v: Option<&serde_json::Value>) -> Usage {
    let Some(v) = v.filter(|v| v.is_object()) else {
        return Usage::default();
    };
    let num = |v: Option<&serde_json::Value>| v.and_then(serde_json::Value::as_u64).unwrap_or(0);
    Usage {
        input: num(v.get("input_tokens")),
        output: num(v.get("output_tokens")),
        cache_read: num(v.pointer("/input_tokens_details/cached_tokens")),
        cache_write: num(v.pointer("/input_tokens_details/cache_write_tokens")),
        reasoning: num(v.pointer("/output_tokens_details/reasoning_tokens")),
    }
}

/// Splits a reasoning item's opaque token into (the upstream's exact token, redacted?).
fn unmark_redacted(token: String) -> (String, bool) {
    match token.strip_prefix(REDACTED_MARK) {
        Some(data) => (data.to_string(), true),
        None => (token, false),
    }
}

/// The `encrypted_content` a reasoning item carries for an IR signature.
fn mark_redacted(signature: &str, redacted: bool) -> Cow<'_, str> {
    if redacted {
        Cow::Owned(format!("{REDACTED_MARK}{signature}"))
    } else {
        Cow::Borrowed(signature)
    }
}
