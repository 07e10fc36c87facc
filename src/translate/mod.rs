//! The translation hub: every wire format decodes into the IR ([`ir`]) and encodes from it, so N formats
//! need N codecs, not N×N translators. Same-format traffic never comes here (it passes through untouched).
//!
//! Each format module offers the same six pieces:
//! `decode_request`, `encode_request`, `decode_response`, `encode_response`, a [`StreamDecoder`] (upstream
//! events → IR events) and a [`StreamEncoder`] (IR events → the client's stream bytes).

pub mod aggregate;
pub mod anthropic;
mod common;
pub mod gemini;
pub mod ir;
pub mod openai_chat;
pub mod openai_responses;
#[cfg(test)]
mod test_support;

use crate::wire::sse::SseEvent;
use crate::wire::Format;

/// Why a translation could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TranslateError {
    /// The client's request is malformed for its own format (answered 400).
    #[error("{0}")]
    Invalid(String),
    /// The request uses a feature that changes its meaning and has no equivalent upstream (answered 400,
    /// naming the feature): dropping it silently would give the user a different answer than they asked for.
    #[error("{feature} cannot be sent to this model's upstream: {target} has no equivalent")]
    Unsupported { feature: String, target: Format },
    /// The upstream sent something that is not valid in its own format (answered 502).
    #[error("the upstream's answer could not be read: {0}")]
    Upstream(String),
}

/// Turns an upstream's stream, one event at a time, into IR events.
pub trait StreamDecoder: Send {
    /// One upstream SSE event (for Gemini's JSON-array streams, one array element as `data`).
    fn push(&mut self, event: &SseEvent) -> Result<Vec<ir::Event>, TranslateError>;
    /// The upstream stream ended. A decoder that saw no terminal event returns an [`ir::Event::Error`] after
    /// closing open blocks, so a truncated stream never looks finished.
    fn finish(&mut self) -> Vec<ir::Event>;
}

/// Turns IR events into the client's stream bytes.
pub trait StreamEncoder: Send {
    fn push(&mut self, event: &ir::Event, out: &mut Vec<u8>);
    /// The stream is over (after `Finish` or `Error`): write the format's terminator, if it has one.
    fn finish(&mut self, out: &mut Vec<u8>);
    /// A comment or no-op the client ignores, written during long silences so idle timeouts do not fire.
    /// An SSE comment unless the format has its own.
    fn keep_alive(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b": keep-alive\n\n");
    }
}

/// Options that shape a client's stream.
#[derive(Debug, Clone, Default)]
pub struct StreamOptions {
    /// The model name to show the client (what it asked for).
    pub model: String,
    /// Gemini: `?alt=sse` framing (otherwise one incrementally written JSON array).
    pub gemini_sse: bool,
    /// OpenAI Chat: `stream_options.include_usage` was set.
    pub include_usage: bool,
}

/// Decodes a client's request. `model` comes from the URL for Gemini (its body has none).
pub fn decode_request(
    format: Format,
    body: &[u8],
    model: Option<&str>,
) -> Result<ir::Request, TranslateError> {
    match format {
        Format::Anthropic => anthropic::decode_request(body),
        Format::OpenAiChat => openai_chat::decode_request(body),
        Format::OpenAiCompletions => openai_chat::decode_completions_request(body),
        Format::OpenAiResponses => openai_responses::decode_request(body),
        Format::Gemini => gemini::decode_request(body, model.unwrap_or_default()),
    }
}

/// Encodes a request for an upstream speaking `format`.
pub fn encode_request(format: Format, req: &ir::Request) -> Result<Vec<u8>, TranslateError> {
    match format {
        Format::Anthropic => anthropic::encode_request(req),
        Format::OpenAiChat | Format::OpenAiCompletions => openai_chat::encode_request(req),
        Format::OpenAiResponses => openai_responses::encode_request(req),
        Format::Gemini => gemini::encode_request(req),
    }
}

/// Decodes an upstream's complete (non-streamed) answer.
pub fn decode_response(format: Format, body: &[u8]) -> Result<ir::Response, TranslateError> {
    match format {
        Format::Anthropic => anthropic::decode_response(body),
        Format::OpenAiChat | Format::OpenAiCompletions => openai_chat::decode_response(body),
        Format::OpenAiResponses => openai_responses::decode_response(body),
        Format::Gemini => gemini::decode_response(body),
    }
}

/// Encodes a complete answer for a client speaking `format`.
pub fn encode_response(format: Format, resp: &ir::Response) -> Vec<u8> {
    match format {
        Format::Anthropic => anthropic::encode_response(resp),
        Format::OpenAiChat => openai_chat::encode_response(resp),
        Format::OpenAiCompletions => openai_chat::encode_completions_response(resp),
        Format::OpenAiResponses => openai_responses::encode_response(resp),
        Format::Gemini => gemini::encode_response(resp),
    }
}

pub fn stream_decoder(format: Format) -> Box<dyn StreamDecoder> {
    match format {
        Format::Anthropic => Box::new(anthropic::Decoder::default()),
        Format::OpenAiChat | Format::OpenAiCompletions => Box::new(openai_chat::Decoder::default()),
        Format::OpenAiResponses => Box::new(openai_responses::Decoder::default()),
        Format::Gemini => Box::new(gemini::Decoder::default()),
    }
}

pub fn stream_encoder(format: Format, opts: &StreamOptions) -> Box<dyn StreamEncoder> {
    match format {
        Format::Anthropic => Box::new(anthropic::Encoder::new(opts)),
        Format::OpenAiChat => Box::new(openai_chat::Encoder::new(opts)),
        Format::OpenAiCompletions => Box::new(openai_chat::CompletionsEncoder::new(opts)),
        Format::OpenAiResponses => Box::new(openai_responses::Encoder::new(opts)),
        Format::Gemini => Box::new(gemini::Encoder::new(opts)),
    }
}
