//! `GenerateContentResponse` ↔ [`ir::Response`].

use std::collections::HashMap;

use super::parts::{decode_parts, CallIds, EncodeCtx, Source};
use super::wire::{self, CandidateOut, ContentOut, ResponseOut};
use super::{
    finish_reason_from_stop, format_time, ir, now_secs, parse_time, random_id,
    stop_from_block_reason, stop_from_finish_reason, usage_from_wire, usage_to_wire,
};
use crate::translate::TranslateError;

/// The message of an in-band `{"error": {...}}` object.
pub(super) fn error_message(error: &serde_json::Value) -> String {
    match error.get("message").and_then(|m| m.as_str()) {
        Some(message) => match error.get("status").and_then(|s| s.as_str()) {
            Some(status) => format!("{status}: {message}"),
            None => message.to_string(),
        },
        None => error.to_string(),
    }
}

/// Decodes a Gemini upstream's complete answer.
pub fn decode_response(body: &[u8]) -> Result<ir::Response, TranslateError> {
    let resp: wire::GenerateContentResponse = serde_json::from_slice(body)
        .map_err(|e| TranslateError::Upstream(format!("invalid Gemini response: {e}")))?;
    if let Some(error) = &resp.error {
        return Err(TranslateError::Upstream(error_message(error)));
    }
    let mut content = Vec::new();
    let mut finish_reason = None;
    if let Some(candidate) = resp.candidates.into_iter().next() {
        if let Some(c) = candidate.content {
            decode_parts(
                c.parts,
                &mut CallIds::for_answer(),
                Source::Answer,
                &mut content,
            )?;
        }
        finish_reason = candidate.finish_reason;
    }
    let saw_tool_call = content
        .iter()
        .any(|p| matches!(p, ir::Part::ToolCall { .. }));
    let stop = match (
        finish_reason,
        resp.prompt_feedback.and_then(|f| f.block_reason),
    ) {
        (Some(reason), _) => stop_from_finish_reason(&reason, saw_tool_call),
        (None, Some(block)) => stop_from_block_reason(&block),
        (None, None) if saw_tool_call => ir::StopReason::ToolUse,
        (None, None) => ir::StopReason::EndTurn,
    };
    Ok(ir::Response {
        id: resp
            .response_id
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| random_id("")),
        model: resp.model_version.unwrap_or_default(),
        content,
        stop,
        stop_sequence: None,
        usage: resp
            .usage_metadata
            .as_ref()
            .map(usage_from_wire)
            .unwrap_or_default(),
        created: resp
            .create_time
            .as_deref()
            .and_then(parse_time)
            .unwrap_or_else(now_secs),
    })
}

/// Encodes a complete answer for a Gemini client.
pub fn encode_response(resp: &ir::Response) -> Vec<u8> {
    let mut ctx = EncodeCtx {
        names: HashMap::new(),
        strict: false,
        lone_signature_as_thought: true,
    };
    let mut parts = Vec::with_capacity(resp.content.len());
    if let Err(e) = ctx.encode_parts(&resp.content, &mut parts) {
        tracing::error!(error = %e, "could not encode the answer's content for a Gemini client");
    }
    let create_time = format_time(resp.created);
    let body = ResponseOut {
        candidates: [CandidateOut {
            content: ContentOut {
                role: "model",
                parts,
            },
            finish_reason: Some(finish_reason_from_stop(&resp.stop)),
            index: 0,
        }],
        usage_metadata: Some(usage_to_wire(&resp.usage)),
        model_version: &resp.model,
        create_time: &create_time,
        response_id: &resp.id,
    };
    serde_json::to_vec(&body).unwrap_or_else(|e| {
        tracing::error!(error = %e, "could not serialise a Gemini answer");
        Vec::new()
    })
}
