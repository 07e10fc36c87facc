//! The canonical request, response and stream event every format decodes into and encodes from.
//!
//! Conventions every codec follows:
//! - Token counts are totals: `input` counts every prompt token (cache reads and writes included, as
//!   OpenAI reports them), `output` every generated token (reasoning included). Formats that report parts
//!   (Claude's `input_tokens` excludes the cache; Gemini's `candidatesTokenCount` excludes thoughts) add or
//!   subtract on the way in and out.
//! - Opaque provider tokens (Claude thinking `signature`, `redacted_thinking.data`, Gemini
//!   `thoughtSignature`, Responses `encrypted_content`) are carried as the exact strings received and emitted
//!   unchanged, so they round-trip byte for byte through a client that speaks another format.
//! - Tool arguments stay the JSON text the model produced; schemas are kept as JSON values.

use serde_json::Value;

/// A complete generation request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub model: String,
    /// System / developer instructions, in order.
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    pub parallel_tool_calls: Option<bool>,
    pub max_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    pub top_k: Option<u64>,
    pub stop: Vec<String>,
    pub stream: bool,
    pub reasoning: Option<Reasoning>,
    pub output: Option<OutputFormat>,
    /// An end-user id for abuse tracking (`user`, `metadata.user_id`).
    pub user: Option<String>,
    /// A key that keeps prompt caching stable across a conversation (`prompt_cache_key`).
    pub cache_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub content: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MediaSource {
    /// An `http(s)://` URL.
    Url(String),
    /// Inline bytes, base64-encoded (a `data:` URL is decoded into this).
    Base64 { media_type: String, data: String },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text {
        text: String,
    },
    Image {
        source: MediaSource,
    },
    /// A PDF or other document.
    Document {
        source: MediaSource,
        title: Option<String>,
    },
    ToolCall {
        id: String,
        name: String,
        /// The arguments as JSON text, exactly as produced.
        arguments: String,
        /// Gemini's `thoughtSignature` on a function call.
        signature: Option<String>,
    },
    ToolResult {
        call_id: String,
        /// The tool's name, where the format carries it (Gemini needs it).
        name: Option<String>,
        content: Vec<Part>,
        is_error: bool,
    },
    /// Model reasoning: Claude thinking / redacted thinking, Gemini thoughts, a Responses reasoning item.
    Reasoning {
        /// The readable text (thinking, or the reasoning summary); may be empty.
        text: String,
        /// The opaque token that lets the upstream resume its reasoning.
        signature: Option<String>,
        /// Claude `redacted_thinking`: `signature` holds its `data`.
        redacted: bool,
        /// A Responses reasoning item's id.
        id: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Tool {
    pub name: String,
    pub description: Option<String>,
    /// JSON Schema of the parameters.
    pub parameters: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    /// Must call some tool.
    Required,
    /// Must call this tool.
    Tool(String),
}

/// How hard to think. Formats speak levels (OpenAI, Gemini 3) or budgets (Claude, Gemini 2.5); the other
/// is derived with the table in PROTOCOLS.md §6 ([`Reasoning::budget`], [`Reasoning::effort`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reasoning {
    Effort(Effort),
    Budget(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effort {
    None,
    Auto,
    Minimal,
    Low,
    Medium,
    High,
    XHigh,
    Max,
}

impl Effort {
    pub fn parse(s: &str) -> Option<Effort> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "none" => Effort::None,
            "auto" => Effort::Auto,
            "minimal" => Effort::Minimal,
            "low" => Effort::Low,
            "medium" => Effort::Medium,
            "high" => Effort::High,
            "xhigh" => Effort::XHigh,
            "max" => Effort::Max,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Effort::None => "none",
            Effort::Auto => "auto",
            Effort::Minimal => "minimal",
            Effort::Low => "low",
            Effort::Medium => "medium",
            Effort::High => "high",
            Effort::XHigh => "xhigh",
            Effort::Max => "max",
        }
    }
}

impl Reasoning {
    /// The token budget: none 0, auto −1 (dynamic), minimal 512, low 1024, medium 8192, high 24576,
    /// xhigh 32768, max 128000.
    pub fn budget(&self) -> i64 {
        match self {
            Reasoning::Budget(b) => i64::try_from(*b).unwrap_or(i64::MAX),
            Reasoning::Effort(e) => match e {
                Effort::None => 0,
                Effort::Auto => -1,
                Effort::Minimal => 512,
                Effort::Low => 1024,
                Effort::Medium => 8192,
                Effort::High => 24576,
                Effort::XHigh => 32768,
                Effort::Max => 128_000,
            },
        }
    }

    /// The level: ≤512 minimal, ≤1024 low, ≤8192 medium, ≤24576 high, else xhigh (0 is none).
    pub fn effort(&self) -> Effort {
        match self {
            Reasoning::Effort(e) => *e,
            Reasoning::Budget(0) => Effort::None,
            Reasoning::Budget(b) if *b <= 512 => Effort::Minimal,
            Reasoning::Budget(b) if *b <= 1024 => Effort::Low,
            Reasoning::Budget(b) if *b <= 8192 => Effort::Medium,
            Reasoning::Budget(b) if *b <= 24576 => Effort::High,
            Reasoning::Budget(_) => Effort::XHigh,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum OutputFormat {
    /// Any JSON object.
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: Option<bool>,
    },
}

/// Why generation stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    EndTurn,
    MaxTokens,
    StopSequence,
    ToolUse,
    /// Claude paused a long turn; the client should continue it.
    PauseTurn,
    Refusal,
    /// A safety filter stopped the output.
    ContentFilter,
    /// A reason this version does not know, kept verbatim.
    Other(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Every prompt token, cached ones included.
    pub input: u64,
    /// Every generated token, reasoning included.
    pub output: u64,
    /// Of `input`, read from the prompt cache.
    pub cache_read: u64,
    /// Of `input`, written to the prompt cache.
    pub cache_write: u64,
    /// Of `output`, spent on reasoning.
    pub reasoning: u64,
}

/// A complete (non-streamed) answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub id: String,
    pub model: String,
    pub content: Vec<Part>,
    pub stop: StopReason,
    /// The stop sequence that matched, when `stop` is `StopSequence`.
    pub stop_sequence: Option<String>,
    pub usage: Usage,
    /// Unix seconds.
    pub created: u64,
}

/// The kind of a content block opened in a stream.
#[derive(Debug, Clone, PartialEq)]
pub enum BlockStart {
    Text,
    Reasoning { id: Option<String>, redacted: bool },
    ToolCall { id: String, name: String },
}

/// An increment within an open block.
#[derive(Debug, Clone, PartialEq)]
pub enum Delta {
    Text(String),
    Reasoning(String),
    /// The block's opaque token (Claude `signature_delta`, Gemini `thoughtSignature`, encrypted content).
    Signature(String),
    /// A fragment of tool-call arguments; fragments only parse as JSON once joined.
    ToolArguments(String),
}

/// One step of a streamed answer. Blocks are numbered from 0 in the order they open; every opened block
/// is closed before `Finish`.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Start {
        id: String,
        model: String,
        /// Unix seconds.
        created: u64,
        /// Prompt usage when the upstream reports it up front (Claude's `message_start`).
        usage: Option<Usage>,
    },
    BlockStart {
        index: usize,
        block: BlockStart,
    },
    Delta {
        index: usize,
        delta: Delta,
    },
    BlockStop {
        index: usize,
    },
    Finish {
        stop: StopReason,
        stop_sequence: Option<String>,
        usage: Usage,
    },
    /// The upstream reported a failure mid-stream.
    Error {
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effort_and_budget_follow_the_documented_table() {
        let table = [
            (Effort::None, 0),
            (Effort::Auto, -1),
            (Effort::Minimal, 512),
            (Effort::Low, 1024),
            (Effort::Medium, 8192),
            (Effort::High, 24576),
            (Effort::XHigh, 32768),
            (Effort::Max, 128_000),
        ];
        for (effort, budget) in table {
            assert_eq!(Reasoning::Effort(effort).budget(), budget);
            assert_eq!(Effort::parse(effort.as_str()), Some(effort));
        }
        assert_eq!(Reasoning::Budget(512).effort(), Effort::Minimal);
        assert_eq!(Reasoning::Budget(1000).effort(), Effort::Low);
        assert_eq!(Reasoning::Budget(2048).effort(), Effort::Medium);
        assert_eq!(Reasoning::Budget(16384).effort(), Effort::High);
        assert_eq!(Reasoning::Budget(30000).effort(), Effort::XHigh);
        assert_eq!(Reasoning::Budget(0).effort(), Effort::None);
    }
}
