//! Anthropic Messages (`POST /v1/messages`), both as the format Claude clients speak and as the format of
//! Claude upstreams.
//!
//! Decisions a reader should know about:
//! - `role: "system"` messages inside `messages` (Claude Code sends them): the ones before the first user or
//!   assistant turn join `ir.system` in order; later ones become user text at their place in the
//!   conversation (hoisting them would detach "from now on…" instructions from the turn they belong to).
//! - Server tools (`web_search_20250305`, …), server-tool history blocks, MCP servers and Files API sources
//!   run inside Anthropic's API: a request using them cannot be translated and is refused with a message
//!   naming the feature.
//! - Encoding for a Claude upstream: `max_tokens` defaults to [`DEFAULT_MAX_TOKENS`]. Claude 4.6 and later
//!   get `thinking: {type: adaptive}` + `output_config.effort`; older models get `budget_tokens` (at least
//!   1024 and below `max_tokens`: a default `max_tokens` is raised to fit, a client's own limit is kept and
//!   the budget shrunk to ¾ of it; thinking is left off when even 1024 does not fit). Sampling parameters
//!   Claude rejects next to thinking are dropped, as is thinking next to a forced tool choice or an open
//!   tool-use turn without a thinking block (a history from another vendor). Prompt-cache breakpoints go
//!   after the system prompt, the tools and the latest turn (other vendors cache automatically, Claude only
//!   where asked). Tool-call ids are made Claude-safe (`[A-Za-z0-9_-]`) the same way for calls and results.
//! - Streams to Claude clients write one block at a time in index order, as the SDKs require; overlapping
//!   IR blocks are buffered (see `stream_encode`).
//! - Usage: Claude's `input_tokens` excludes the cache; the IR counts it (see `ir`), both ways.

mod common;
mod request_decode;
mod request_encode;
mod response;
mod stream_decode;
mod stream_encode;

use super::{ir, TranslateError};

pub use request_encode::{DEFAULT_MAX_TOKENS, MIN_THINKING_BUDGET};
pub use stream_decode::Decoder;
pub use stream_encode::Encoder;

/// Whether Claude `model` thinks adaptively (Claude 4.6 and later), which decides how reasoning is encoded.
pub fn is_adaptive_thinking_model(model: &str) -> bool {
    request_encode::adaptive_model(model)
}

pub fn decode_request(body: &[u8]) -> Result<ir::Request, TranslateError> {
    request_decode::decode(body)
}

pub fn encode_request(req: &ir::Request) -> Result<Vec<u8>, TranslateError> {
    request_encode::encode(req)
}

pub fn decode_response(body: &[u8]) -> Result<ir::Response, TranslateError> {
    response::decode(body)
}

pub fn encode_response(resp: &ir::Response) -> Vec<u8> {
    response::encode(resp)
}

#[cfg(test)]
mod tests;
