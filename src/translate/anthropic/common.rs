//! Pieces every part of the Anthropic codec shares: stop reasons, usage arithmetic, ids, the clock.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(super) use crate::translate::common::{id_with_prefix, random_id, unix_now as now_unix};
use crate::translate::ir;

/// Claude's `usage` object as the wire carries it. Every field may be absent or `null` (stream deltas
/// repeat only some of them), hence the options.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub(super) struct WireUsage {
    #[serde(default)]
    pub input_tokens: Option<u64>,
    #[serde(default)]
    pub output_tokens: Option<u64>,
    #[serde(default)]
    pub cache_creation_input_tokens: Option<u64>,
    #[serde(default)]
    pub cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Claude's `input_tokens` excludes the cache; the IR's `input` counts every prompt token.
    pub fn to_ir(self) -> ir::Usage {
        let fresh = self.input_tokens.unwrap_or(0);
        let read = self.cache_read_input_tokens.unwrap_or(0);
        let write = self.cache_creation_input_tokens.unwrap_or(0);
        ir::Usage {
            input: fresh.saturating_add(read).saturating_add(write),
            output: self.output_tokens.unwrap_or(0),
            cache_read: read,
            cache_write: write,
            // Claude does not report thinking tokens separately: they are inside output_tokens.
            reasoning: 0,
        }
    }

    /// Later values win, absent ones keep what an earlier event said (`message_delta` repeats some).
    pub fn merge(&mut self, newer: WireUsage) {
        self.input_tokens = newer.input_tokens.or(self.input_tokens);
        self.output_tokens = newer.output_tokens.or(self.output_tokens);
        self.cache_creation_input_tokens = newer
            .cache_creation_input_tokens
            .or(self.cache_creation_input_tokens);
        self.cache_read_input_tokens = newer
            .cache_read_input_tokens
            .or(self.cache_read_input_tokens);
    }
}

/// The usage object written to Claude clients: `input_tokens` is the uncached remainder.
#[derive(Debug, Clone, Copy, Serialize)]
pub(super) struct OutUsage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub cache_read_input_tokens: u64,
}

impl OutUsage {
    pub fn from_ir(u: &ir::Usage) -> Self {
        OutUsage {
            input_tokens: u
                .input
                .saturating_sub(u.cache_read)
                .saturating_sub(u.cache_write),
            output_tokens: u.output,
            cache_creation_input_tokens: u.cache_write,
            cache_read_input_tokens: u.cache_read,
        }
    }
}

pub(super) fn stop_from_wire(s: &str) -> ir::StopReason {
    match s {
        "end_turn" => ir::StopReason::EndTurn,
        "max_tokens" => ir::StopReason::MaxTokens,
        "stop_sequence" => ir::StopReason::StopSequence,
        "tool_use" => ir::StopReason::ToolUse,
        "pause_turn" => ir::StopReason::PauseTurn,
        "refusal" => ir::StopReason::Refusal,
        other => ir::StopReason::Other(other.to_string()),
    }
}

/// Claude clients (the SDKs type `stop_reason` as a closed set) only get values Claude itself sends.
/// `saw_tool_call` repairs upstreams that end a tool-calling turn with a plain "stop" (Gemini does):
/// Claude clients decide whether to run tools from `tool_use`.
pub(super) fn stop_to_wire(stop: &ir::StopReason, saw_tool_call: bool) -> &str {
    match stop {
        ir::StopReason::EndTurn if saw_tool_call => "tool_use",
        ir::StopReason::EndTurn => "end_turn",
        ir::StopReason::MaxTokens => "max_tokens",
        ir::StopReason::StopSequence => "stop_sequence",
        ir::StopReason::ToolUse => "tool_use",
        ir::StopReason::PauseTurn => "pause_turn",
        ir::StopReason::Refusal | ir::StopReason::ContentFilter => "refusal",
        ir::StopReason::Other(s) if s == "model_context_window_exceeded" => s,
        ir::StopReason::Other(_) if saw_tool_call => "tool_use",
        ir::StopReason::Other(_) => "end_turn",
    }
}

/// Keeps an upstream message id Claude clients will recognise, else makes one.
pub(super) fn message_id(id: &str) -> String {
    id_with_prefix(id, "msg_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_adds_the_cache_on_the_way_in_and_subtracts_it_on_the_way_out() {
        let wire = WireUsage {
            input_tokens: Some(11),
            output_tokens: Some(7),
            cache_creation_input_tokens: Some(3),
            cache_read_input_tokens: Some(5),
        };
        let u = wire.to_ir();
        assert_eq!(
            (u.input, u.output, u.cache_read, u.cache_write),
            (19, 7, 5, 3)
        );
        let out = OutUsage::from_ir(&u);
        assert_eq!(
            (
                out.input_tokens,
                out.cache_read_input_tokens,
                out.cache_creation_input_tokens
            ),
            (11, 5, 3)
        );
    }

    #[test]
    fn stop_reasons_stay_inside_claudes_closed_set() {
        for s in [
            "end_turn",
            "max_tokens",
            "stop_sequence",
            "tool_use",
            "pause_turn",
            "refusal",
        ] {
            assert_eq!(stop_to_wire(&stop_from_wire(s), false), s);
        }
        assert_eq!(
            stop_to_wire(&ir::StopReason::ContentFilter, false),
            "refusal"
        );
        assert_eq!(
            stop_to_wire(&ir::StopReason::Other("RECITATION".into()), false),
            "end_turn"
        );
        assert_eq!(stop_to_wire(&ir::StopReason::EndTurn, true), "tool_use");
        assert_eq!(stop_to_wire(&ir::StopReason::MaxTokens, true), "max_tokens");
    }

    #[test]
    fn ids_keep_claude_ids_and_make_new_ones_otherwise() {
        assert_eq!(message_id("msg_mock01"), "msg_mock01");
        let made = message_id("chatcmpl-1");
        assert!(made.starts_with("msg_") && made.len() == 28, "{made}");
        assert!(made[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    }
}

/// A content block of a Claude answer: whole in a JSON response, as `content_block_start` in a stream.
#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum WireBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        #[serde(default)]
        signature: Option<String>,
    },
    RedactedThinking {
        data: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Server-tool blocks and anything newer than this code.
    #[serde(other)]
    Other,
}
