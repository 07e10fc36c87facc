//! The reply generator: what each family answers for each kind, as JSON bodies and stream
//! events. Pure functions, so tests can compare them with the reference data without a socket.
//!
//! The shared content model (see the crate README) lives here; each family module only knows
//! its own wire shapes.

use serde_json::Value;

use crate::families::{claude, codex, compat, gemini};
pub use crate::sse::{chunk, frame, Event, Framing};
use crate::types::{Chunking, Family, Kind};

/// Tool name used when the request declares no tools.
pub const DEFAULT_TOOL: &str = "get_weather";

pub(crate) const USAGE_IN: u64 = 11;
pub(crate) const USAGE_OUT: u64 = 7;
pub(crate) const USAGE_REASONING: u64 = 3;
pub(crate) const USAGE_CACHED: u64 = 5;
pub(crate) const CREATED: u64 = 1_700_000_000;
pub(crate) const TEXT: [&str; 2] = ["Hello from ", "mock"];
/// The `long` kind's text: 40 deltas, the stream size of a typical short answer (benchmarks use it).
pub(crate) const LONG_TEXT: [&str; 40] = [
    "One ",
    "two ",
    "three ",
    "four ",
    "five ",
    "six ",
    "seven ",
    "eight ",
    "nine ",
    "ten ",
    "eleven ",
    "twelve ",
    "thirteen ",
    "fourteen ",
    "fifteen ",
    "sixteen ",
    "seventeen ",
    "eighteen ",
    "nineteen ",
    "twenty ",
    "twenty-one ",
    "twenty-two ",
    "twenty-three ",
    "twenty-four ",
    "twenty-five ",
    "twenty-six ",
    "twenty-seven ",
    "twenty-eight ",
    "twenty-nine ",
    "thirty ",
    "thirty-one ",
    "thirty-two ",
    "thirty-three ",
    "thirty-four ",
    "thirty-five ",
    "thirty-six ",
    "thirty-seven ",
    "thirty-eight ",
    "thirty-nine ",
    "forty.",
];
pub(crate) const THINKING: [&str; 2] = ["Let me ", "think."];

/// Values a reply copies from the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Echo {
    /// The request body's `model` (gemini: the `{model}` path segment); empty if absent.
    pub model: String,
    /// The first declared tool's name, or [`DEFAULT_TOOL`].
    pub tool: String,
}

impl Echo {
    pub fn new(model: impl Into<String>, tool: impl Into<String>) -> Echo {
        Echo {
            model: model.into(),
            tool: tool.into(),
        }
    }

    /// Reads `model` and the first tool name from a request body.
    pub fn from_body(body: &Value) -> Echo {
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Echo::new(model, first_tool_name(body))
    }
}

/// Name of the first tool declared in a request body, in any dialect: `tools[0].name`,
/// `tools[0].function.name`, `tools[0].functionDeclarations[0].name` or
/// `tools[0].function_declarations[0].name`; else [`DEFAULT_TOOL`].
pub fn first_tool_name(body: &Value) -> String {
    let first = body.get("tools").and_then(|t| t.get(0));
    let name = first.and_then(|t| {
        t.get("name")
            .or_else(|| t.get("function").and_then(|f| f.get("name")))
            .or_else(|| t.pointer("/functionDeclarations/0/name"))
            .or_else(|| t.pointer("/function_declarations/0/name"))
            .and_then(Value::as_str)
    });
    name.unwrap_or(DEFAULT_TOOL).to_string()
}

/// One output item of the content model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    Reasoning,
    Text,
    /// Tool call number `n` (0-based): 0 = Paris, 1 = Rome.
    Call(usize),
    /// Codex image generation call.
    Image,
}

/// Why the model stopped, in family-neutral terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    ToolUse,
    Length,
    /// Claude `pause_turn`; other families report a plain stop.
    Pause,
}

/// The content model for one kind as one family renders it.
#[derive(Clone, Debug)]
pub(crate) struct Content {
    pub items: Vec<Item>,
    pub finish: Finish,
    pub cached: bool,
    pub reasoning: bool,
    /// The text item's pieces: one delta each when streamed, joined in a JSON body.
    pub text: &'static [&'static str],
}

impl Content {
    pub fn of(family: Family, kind: Kind) -> Content {
        let items = match kind {
            Kind::Tool => vec![Item::Call(0)],
            Kind::Thinking => vec![Item::Reasoning, Item::Text],
            Kind::Parallel => vec![Item::Call(0), Item::Call(1)],
            Kind::Mixed => vec![Item::Text, Item::Call(0)],
            Kind::Image if family == Family::Codex => vec![Item::Image],
            Kind::Text | Kind::Length | Kind::Cached | Kind::Pause | Kind::Image | Kind::Long => {
                vec![Item::Text]
            }
        };
        let finish = match kind {
            Kind::Tool | Kind::Parallel | Kind::Mixed => Finish::ToolUse,
            Kind::Length => Finish::Length,
            Kind::Pause if family == Family::Claude => Finish::Pause,
            _ => Finish::Stop,
        };
        Content {
            items,
            finish,
            cached: kind == Kind::Cached,
            reasoning: kind == Kind::Thinking,
            text: if kind == Kind::Long {
                &LONG_TEXT
            } else {
                &TEXT
            },
        }
    }
}

/// Tool call `n`'s arguments as compact JSON.
pub(crate) fn call_args(n: usize) -> String {
    let city = if n == 0 { "Paris" } else { "Rome" };
    serde_json::json!({ "city": city }).to_string()
}

/// Tool call `n`'s arguments as streamed: the compact JSON cut at half its length, so neither
/// fragment parses alone.
pub(crate) fn call_args_halves(n: usize) -> [String; 2] {
    let args = call_args(n);
    let (a, b) = args.split_at(args.len() / 2);
    [a.to_string(), b.to_string()]
}

/// Two-digit ids: `toolu_mock01`, `call_mock02`, ...
pub(crate) fn call_id(prefix: &str, n: usize) -> String {
    format!("{prefix}{:02}", n + 1)
}

/// The non-streaming success body of a generate call (compact JSON, wire key order).
pub fn json_body(family: Family, kind: Kind, echo: &Echo) -> String {
    let content = Content::of(family, kind);
    let value = match family {
        Family::Claude => claude::message(&content, echo),
        Family::Codex => codex::response(&content, echo, codex::Phase::Final),
        Family::Gemini => gemini::response(&content, echo),
        Family::Compat => compat::completion(&content, echo),
    };
    value.to_string()
}

/// The events of a successful stream, terminator included (`message_stop`, `response.completed`,
/// `data: [DONE]`, ...).
pub fn events(family: Family, kind: Kind, echo: &Echo) -> Vec<Event> {
    let content = Content::of(family, kind);
    match family {
        Family::Claude => claude::events(&content, echo),
        Family::Codex => codex::events(&content, echo),
        Family::Gemini => gemini::events(&content, echo),
        Family::Compat => compat::events(&content, echo),
    }
}

/// The network writes of a successful SSE stream with the given chunking.
pub fn sse_writes(
    family: Family,
    kind: Kind,
    echo: &Echo,
    chunking: Chunking,
) -> Vec<bytes::Bytes> {
    chunk(
        frame(&events(family, kind, echo), Framing::Sse, true),
        chunking,
    )
}

/// The family's default error body for an HTTP status (used when a scripted error has no body;
/// the same body whether the request streamed or not).
pub fn error_body(family: Family, status: u16) -> String {
    error_body_with_message(family, status, &format!("mock upstream error {status}"))
}

/// The family's error shape for `status` with a custom message (the mock's own 400s use it).
pub fn error_body_with_message(family: Family, status: u16, message: &str) -> String {
    let value = match family {
        Family::Claude => claude::error_body(status, message),
        Family::Gemini => gemini::error_body(status, message),
        Family::Codex | Family::Compat => compat::error_body(status, message),
    };
    value.to_string()
}

/// The in-band error event a `StreamError { after }` reply sends after `after` events.
/// Codex numbers it `sequence_number = after`.
pub fn stream_error_event(family: Family, after: usize) -> Event {
    match family {
        Family::Claude => claude::stream_error(),
        Family::Codex => codex::stream_error(after),
        Family::Gemini => gemini::stream_error(),
        Family::Compat => compat::stream_error(),
    }
}

/// `count_tokens` / `countTokens` answer: `{"input_tokens":42}` (gemini `{"totalTokens":42}`).
pub fn count_tokens_body(family: Family) -> String {
    match family {
        Family::Gemini => r#"{"totalTokens":42}"#.to_string(),
        _ => r#"{"input_tokens":42}"#.to_string(),
    }
}

/// The fixed model listing of a family.
pub fn models_body(family: Family) -> String {
    match family {
        Family::Claude => claude::models(),
        Family::Gemini => gemini::models(),
        Family::Codex | Family::Compat => compat::models(),
    }
    .to_string()
}

/// Compat legacy `POST /completions` non-streaming body (`object: text_completion`).
/// Not in the reference mock: the content model's text, with `length` honoured.
pub fn legacy_completion_body(kind: Kind, echo: &Echo) -> String {
    compat::legacy_completion(&Content::of(Family::Compat, kind), echo).to_string()
}

/// Compat legacy `POST /completions` stream events, ending with `data: [DONE]`.
pub fn legacy_completion_events(kind: Kind, echo: &Echo) -> Vec<Event> {
    compat::legacy_events(&Content::of(Family::Compat, kind), echo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_tool_name_in_every_dialect() {
        assert_eq!(first_tool_name(&json!({"tools":[{"name":"a"}]})), "a");
        assert_eq!(
            first_tool_name(&json!({"tools":[{"type":"function","function":{"name":"b"}}]})),
            "b"
        );
        assert_eq!(
            first_tool_name(&json!({"tools":[{"functionDeclarations":[{"name":"c"}]}]})),
            "c"
        );
        assert_eq!(
            first_tool_name(&json!({"tools":[{"function_declarations":[{"name":"d"}]}]})),
            "d"
        );
        assert_eq!(first_tool_name(&json!({"tools":[]})), DEFAULT_TOOL);
        assert_eq!(first_tool_name(&json!({"tools":"nonsense"})), DEFAULT_TOOL);
        assert_eq!(first_tool_name(&json!("not an object")), DEFAULT_TOOL);
    }

    #[test]
    fn long_streams_forty_text_deltas_in_every_family() {
        let echo = Echo::new("m", DEFAULT_TOOL);
        let whole = LONG_TEXT.concat();
        for family in [
            Family::Claude,
            Family::Codex,
            Family::Gemini,
            Family::Compat,
        ] {
            let events = events(family, Kind::Long, &echo);
            // The text each event adds, whatever the family calls it.
            let deltas: Vec<&str> = events
                .iter()
                .filter_map(|e| {
                    let d = &e.data;
                    d.pointer("/delta/text")
                        .filter(|_| d["type"] == "content_block_delta")
                        .or_else(|| {
                            d.get("delta")
                                .filter(|_| d["type"] == "response.output_text.delta")
                        })
                        .or_else(|| d.pointer("/candidates/0/content/parts/0/text"))
                        .or_else(|| d.pointer("/choices/0/delta/content"))
                        .and_then(Value::as_str)
                        // Chat's first chunk opens the message with `content: ""`.
                        .filter(|t| !t.is_empty())
                })
                .collect();
            assert_eq!(deltas.len(), 40, "{family:?}");
            assert_eq!(deltas.concat(), whole, "{family:?}");
            assert!(
                json_body(family, Kind::Long, &echo).contains(&whole),
                "{family:?}"
            );
        }
    }

    #[test]
    fn args_halves_match_the_documented_cuts() {
        assert_eq!(
            call_args_halves(0),
            ["{\"city\":".to_string(), "\"Paris\"}".to_string()]
        );
        assert_eq!(
            call_args_halves(1),
            ["{\"city\"".to_string(), ":\"Rome\"}".to_string()]
        );
    }
}
