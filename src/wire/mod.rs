//! The wire formats clients and upstreams speak. In this layer a body is bytes and a few fields we must
//! read or rewrite; everything else passes through untouched (see `body`).

pub mod body;
pub mod error;
pub mod sse;

use std::fmt;

/// An API dialect, named after the endpoint family that speaks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `POST /v1/chat/completions`.
    OpenAiChat,
    /// Legacy `POST /v1/completions`.
    OpenAiCompletions,
    /// `POST /v1/responses`.
    OpenAiResponses,
    /// `POST /v1/messages`.
    Anthropic,
    /// `POST /v1beta/models/{model}:generateContent` and friends.
    Gemini,
}

impl Format {
    /// The format's short machine name, as usage history and metrics label it.
    pub fn slug(self) -> &'static str {
        match self {
            Format::OpenAiChat => "openai-chat",
            Format::OpenAiCompletions => "openai-completions",
            Format::OpenAiResponses => "openai-responses",
            Format::Anthropic => "anthropic",
            Format::Gemini => "gemini",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::OpenAiChat => "OpenAI Chat Completions",
            Format::OpenAiCompletions => "OpenAI Completions",
            Format::OpenAiResponses => "OpenAI Responses",
            Format::Anthropic => "Anthropic Messages",
            Format::Gemini => "Gemini",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
