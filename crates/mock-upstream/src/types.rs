//! The vocabulary of a script: which upstream family, what to answer and how to pace it.
//!
//! The serde forms of these types are the binary's control JSON (see the crate README), so
//! renaming a variant is a protocol change for the Python tests.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Upstream family, chosen by the first path segment of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Anthropic Messages API, under `/anthropic`.
    Claude,
    /// OpenAI Responses API as the Codex backend speaks it, under `/codex`.
    Codex,
    /// Gemini `generateContent` API, under `/gemini`.
    Gemini,
    /// An OpenAI-compatible chat completions provider, under `/compat`.
    Compat,
}

impl Family {
    /// All families, in a fixed order.
    pub const ALL: [Family; 4] = [
        Family::Claude,
        Family::Codex,
        Family::Gemini,
        Family::Compat,
    ];

    /// Path prefix the family is served under, e.g. `/anthropic`.
    pub fn prefix(self) -> &'static str {
        match self {
            Family::Claude => "/anthropic",
            Family::Codex => "/codex",
            Family::Gemini => "/gemini",
            Family::Compat => "/compat",
        }
    }

    /// Lower-case label used in logs and the control JSON: `claude`, `codex`, `gemini`, `compat`.
    pub fn label(self) -> &'static str {
        match self {
            Family::Claude => "claude",
            Family::Codex => "codex",
            Family::Gemini => "gemini",
            Family::Compat => "compat",
        }
    }

    /// Splits a request path into its family and the rest (prefix stripped, always starting `/`).
    pub fn split_path(path: &str) -> Option<(Family, &str)> {
        Family::ALL.into_iter().find_map(|f| {
            let rest = path.strip_prefix(f.prefix())?;
            if rest.is_empty() {
                Some((f, "/"))
            } else if rest.starts_with('/') {
                Some((f, rest))
            } else {
                None // `/anthropicx/...` is not the claude family
            }
        })
    }
}

/// What a successful reply contains (see the content model in the crate README).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Text "Hello from mock".
    Text,
    /// One tool call `{"city":"Paris"}`.
    Tool,
    /// Reasoning "Let me think." then text.
    Thinking,
    /// Two tool calls (Paris, Rome) of the same tool.
    Parallel,
    /// Text then one tool call.
    Mixed,
    /// Text, stopped by the output token limit.
    Length,
    /// Text, usage reports cached prompt tokens.
    Cached,
    /// Claude only: text with `stop_reason: pause_turn` (plain text elsewhere).
    Pause,
    /// Codex only: one `image_generation_call` item (plain text elsewhere).
    Image,
    /// Text streamed as 40 deltas.
    Long,
}

impl Kind {
    /// All kinds, in a fixed order.
    pub const ALL: [Kind; 10] = [
        Kind::Text,
        Kind::Tool,
        Kind::Thinking,
        Kind::Parallel,
        Kind::Mixed,
        Kind::Length,
        Kind::Cached,
        Kind::Pause,
        Kind::Image,
        Kind::Long,
    ];
}

/// How a stream's events are cut into network writes. Proxies must give the same client output
/// for all three; split and merged catch parsers that assume one event per read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chunking {
    /// One write per event.
    #[default]
    Whole,
    /// Each event's bytes in two writes, cut at half its length (mid-line, mid-JSON).
    Split,
    /// Three consecutive events per write (the last write may hold fewer).
    Merged,
}

/// What the mock answers to one upstream call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Reply {
    /// A successful reply of this kind, JSON or streamed as the request asked.
    Ok(Kind),
    /// An HTTP error. `body: None` uses the family's documented default body for the status.
    Error {
        status: u16,
        #[serde(default, deserialize_with = "string_or_json")]
        body: Option<String>,
    },
    /// 200 stream, the first `after` events, then the family's in-band error event.
    /// A non-streaming request gets HTTP 500 with the family's 500 body instead.
    StreamError { kind: Kind, after: usize },
    /// 200 stream, the first `after` events, then the TCP connection is dropped (no terminator).
    /// A non-streaming request gets the first min(len/2, max(after,1)*16) body bytes, then the drop.
    Cut { kind: Kind, after: usize },
    /// 200 SSE headers and nothing else until the client goes away.
    Hang,
}

/// Lets the control JSON give an error body either as a string (sent verbatim) or as any JSON
/// value (sent compactly serialised), which is what most Python tests want to write.
fn string_or_json<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        other => Some(other.to_string()),
    })
}

/// One entry of a script: a reply plus who it is for, how often, and how it is paced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)] // a typo such as "time" must fail the script, not be ignored
pub struct Step {
    /// Only requests authenticated with exactly this credential match; `None` matches any.
    #[serde(default)]
    pub credential: Option<String>,
    /// How many requests this step answers; `None` is unlimited.
    #[serde(default)]
    pub times: Option<usize>,
    /// Sleep before the response starts (before the status line).
    #[serde(default)]
    pub delay_ms: u64,
    /// Sleep before the second network write of the body.
    #[serde(default)]
    pub stall_ms: u64,
    #[serde(default)]
    pub chunking: Chunking,
    /// Extra response headers; a name that is also a default header (e.g. `content-type`)
    /// replaces the default.
    #[serde(default, deserialize_with = "header_list")]
    pub headers: Vec<(String, String)>,
    pub reply: Reply,
}

/// Accepts headers as `[[name, value], ...]` or as an object `{name: value}`.
fn header_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Headers {
        Pairs(Vec<(String, String)>),
        Map(serde_json::Map<String, Value>),
    }
    Ok(match Option::<Headers>::deserialize(d)? {
        None => Vec::new(),
        Some(Headers::Pairs(pairs)) => pairs,
        Some(Headers::Map(map)) => map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
    })
}

impl Step {
    /// A step answering `reply` to any credential, without limit, delay or stall, whole writes.
    pub fn reply(reply: Reply) -> Step {
        Step {
            credential: None,
            times: None,
            delay_ms: 0,
            stall_ms: 0,
            chunking: Chunking::Whole,
            headers: Vec::new(),
            reply,
        }
    }

    /// Only match requests carrying this credential.
    pub fn credential(mut self, credential: impl Into<String>) -> Step {
        self.credential = Some(credential.into());
        self
    }

    /// Answer at most `n` requests.
    pub fn times(mut self, n: usize) -> Step {
        self.times = Some(n);
        self
    }

    pub fn delay_ms(mut self, ms: u64) -> Step {
        self.delay_ms = ms;
        self
    }

    pub fn stall_ms(mut self, ms: u64) -> Step {
        self.stall_ms = ms;
        self
    }

    pub fn chunking(mut self, chunking: Chunking) -> Step {
        self.chunking = chunking;
        self
    }

    /// Add a response header (repeatable).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Step {
        self.headers.push((name.into(), value.into()));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_json_forms_deserialize() {
        let r: Reply = serde_json::from_str(r#"{"ok":"tool"}"#).unwrap();
        assert_eq!(r, Reply::Ok(Kind::Tool));
        let r: Reply = serde_json::from_str(r#"{"error":{"status":429,"body":null}}"#).unwrap();
        assert_eq!(
            r,
            Reply::Error {
                status: 429,
                body: None
            }
        );
        let r: Reply = serde_json::from_str(r#"{"error":{"status":400}}"#).unwrap();
        assert_eq!(
            r,
            Reply::Error {
                status: 400,
                body: None
            }
        );
        let r: Reply = serde_json::from_str(r#"{"error":{"status":400,"body":{"a":1}}}"#).unwrap();
        assert_eq!(
            r,
            Reply::Error {
                status: 400,
                body: Some(r#"{"a":1}"#.into())
            }
        );
        let r: Reply =
            serde_json::from_str(r#"{"stream_error":{"kind":"text","after":2}}"#).unwrap();
        assert_eq!(
            r,
            Reply::StreamError {
                kind: Kind::Text,
                after: 2
            }
        );
        let r: Reply = serde_json::from_str(r#"{"cut":{"kind":"mixed","after":0}}"#).unwrap();
        assert_eq!(
            r,
            Reply::Cut {
                kind: Kind::Mixed,
                after: 0
            }
        );
        let r: Reply = serde_json::from_str(r#""hang""#).unwrap();
        assert_eq!(r, Reply::Hang);
    }

    #[test]
    fn step_defaults_and_header_forms() {
        let s: Step = serde_json::from_str(r#"{"reply":"hang"}"#).unwrap();
        assert_eq!(s, Step::reply(Reply::Hang));
        let s: Step = serde_json::from_str(
            r#"{"credential":"k","times":2,"chunking":"split","headers":[["retry-after","3"]],"reply":{"ok":"text"}}"#,
        )
        .unwrap();
        let want = Step::reply(Reply::Ok(Kind::Text))
            .credential("k")
            .times(2)
            .chunking(Chunking::Split)
            .header("retry-after", "3");
        assert_eq!(s, want);
        let s: Step =
            serde_json::from_str(r#"{"headers":{"retry-after":"3"},"reply":{"ok":"text"}}"#)
                .unwrap();
        assert_eq!(
            s.headers,
            vec![("retry-after".to_string(), "3".to_string())]
        );
        // Typos fail loudly instead of being ignored.
        assert!(serde_json::from_str::<Step>(r#"{"time":1,"reply":"hang"}"#).is_err());
        let typo = r#"{"error":{"status":400,"bdy":"x"}}"#;
        assert!(serde_json::from_str::<Reply>(typo).is_err());
    }

    #[test]
    fn split_path_requires_a_segment_boundary() {
        assert_eq!(
            Family::split_path("/anthropic/v1/messages"),
            Some((Family::Claude, "/v1/messages"))
        );
        assert_eq!(Family::split_path("/gemini"), Some((Family::Gemini, "/")));
        assert_eq!(Family::split_path("/anthropicx/v1"), None);
        assert_eq!(Family::split_path("/other"), None);
    }
}
