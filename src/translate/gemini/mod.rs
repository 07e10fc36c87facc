//! Gemini `generateContent` / `streamGenerateContent`, as a client format and as an upstream.
//!
//! Choices worth knowing:
//! - **Tool-call ids.** Gemini clients match results to calls by *name and order*; `functionCall.id` is
//!   optional. A call without an id gets `call_<name>_<n>` (`n` counts calls from the start of the
//!   conversation), so the same history yields the same ids every turn (stable prompt caches upstream).
//!   A `functionResponse` without an id takes the id of the oldest unanswered call with its name. Calls
//!   decoded from an upstream *answer* get random `call_…` ids. Ids are sent to Gemini in
//!   `functionCall.id` / `functionResponse.id` (documented, optional fields).
//! - **Thought signatures** stay on the part they came with. A signature on a thought part signs that
//!   thought run (consecutive thought parts are one [`ir::Part::Reasoning`]); a signature on a function
//!   call is [`ir::Part::ToolCall::signature`]; a signature on an ordinary text part has no IR slot, so it
//!   becomes an empty-text `Reasoning` right before the text, and encoding puts an empty-text signed
//!   `Reasoning` back onto the text (or unsigned tool call) that follows it.
//! - **Schemas** go upstream under `parametersJsonSchema`, which takes full JSON Schema; `parameters`
//!   (an OpenAPI subset) sent by clients is normalised to JSON Schema on the way in.
//!   [`parameters_schema`] converts JSON Schema into what `parameters` accepts, for upstreams that only
//!   know that field (Code Assist).
//! - **Streams** written to clients use `data: …\r\n\r\n` like Google; keep-alives are a bare CRLF, not an
//!   SSE comment, because the official Python SDK (`google-genai`) fails on comment lines.

mod parts;
mod request;
mod response;
mod schema;
mod stream;
mod wire;

#[cfg(test)]
mod tests;

use std::time::{Duration, UNIX_EPOCH};

use super::common::{random_id, unix_now as now_secs};
use super::ir;

pub use request::{decode_request, decode_request_for, encode_request};
pub use response::{decode_response, encode_response};
pub use schema::parameters_schema;
pub use stream::{Decoder, Encoder};

/// The dummy signature Google documents for function calls that Gemini did not produce (histories from
/// other models): Gemini 3 rejects an unsigned call in the current turn otherwise.
pub const SKIP_SIGNATURE: &str = "skip_thought_signature_validator";

/// `createTime` (RFC 3339) as Unix seconds.
fn parse_time(s: &str) -> Option<u64> {
    let t = humantime::parse_rfc3339_weak(s.trim()).ok()?;
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// The last second RFC 3339 can write (9999-12-31T23:59:59Z).
const MAX_RFC3339_SECS: u64 = 253_402_300_799;

/// Unix seconds as `createTime`, in the microsecond form Google uses. An upstream's absurd timestamp is
/// clamped to the largest writable one rather than trusted to fit.
fn format_time(secs: u64) -> String {
    let secs = secs.min(MAX_RFC3339_SECS);
    humantime::format_rfc3339_micros(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

/// The model name without the `models/` resource prefix.
fn bare_model(model: &str) -> &str {
    model.strip_prefix("models/").unwrap_or(model)
}

/// Gemini 3 and later think in levels (`thinkingLevel`) and insist on signed function calls; 2.x uses
/// token budgets.
fn is_gemini3_or_later(model: &str) -> bool {
    let rest = match bare_model(model).strip_prefix("gemini-") {
        Some(r) => r,
        None => return false,
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse::<u32>().is_ok_and(|major| major >= 3)
}

fn stop_from_finish_reason(reason: &str, saw_tool_call: bool) -> ir::StopReason {
    match reason {
        "STOP" if saw_tool_call => ir::StopReason::ToolUse,
        "STOP" => ir::StopReason::EndTurn,
        "MAX_TOKENS" => ir::StopReason::MaxTokens,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" => {
            ir::StopReason::ContentFilter
        }
        other => ir::StopReason::Other(other.to_string()),
    }
}

/// A `promptFeedback.blockReason` (no candidates at all) means the prompt was filtered.
fn stop_from_block_reason(_reason: &str) -> ir::StopReason {
    ir::StopReason::ContentFilter
}

fn finish_reason_from_stop(stop: &ir::StopReason) -> &str {
    match stop {
        ir::StopReason::EndTurn
        | ir::StopReason::ToolUse
        | ir::StopReason::StopSequence
        | ir::StopReason::PauseTurn => "STOP",
        ir::StopReason::MaxTokens => "MAX_TOKENS",
        ir::StopReason::ContentFilter | ir::StopReason::Refusal => "SAFETY",
        // A Gemini reason we do not model (MALFORMED_FUNCTION_CALL, …) goes back as it came; another
        // format's reason means nothing to a Gemini client.
        ir::StopReason::Other(s)
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') =>
        {
            s
        }
        ir::StopReason::Other(_) => "OTHER",
    }
}

fn usage_from_wire(u: &wire::UsageMetadata) -> ir::Usage {
    ir::Usage {
        input: u.prompt_token_count,
        // candidatesTokenCount excludes thoughts; the IR counts every generated token.
        output: u.candidates_token_count + u.thoughts_token_count,
        cache_read: u.cached_content_token_count,
        cache_write: 0,
        reasoning: u.thoughts_token_count,
    }
}

fn usage_to_wire(u: &ir::Usage) -> wire::UsageOut {
    wire::UsageOut {
        prompt_token_count: u.input,
        candidates_token_count: u.output.saturating_sub(u.reasoning),
        total_token_count: u.input + u.output,
        cached_content_token_count: u.cache_read,
        thoughts_token_count: u.reasoning,
    }
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn timestamps_beyond_the_year_9999_do_not_panic() {
        assert_eq!(
            super::format_time(253_402_300_800),
            "9999-12-31T23:59:59.000000Z"
        );
        assert_eq!(super::format_time(u64::MAX), "9999-12-31T23:59:59.000000Z");
        assert_eq!(
            super::format_time(1_700_000_000),
            "2023-11-14T22:13:20.000000Z"
        );
    }
}
