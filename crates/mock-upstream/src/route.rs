//! Which operation a request asks for, per family, and the request facts that shape the reply.

use serde_json::Value;

use crate::replies::{first_tool_name, Echo};
use crate::sse::Framing;
use crate::types::Family;

/// JSON body or a stream with some framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Json,
    Stream(Framing),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Messages / Responses / generateContent / chat completions.
    Generate(Mode),
    /// Compat `POST /completions` (legacy `text_completion`).
    LegacyCompletion(Mode),
    /// Codex `POST /responses/compact`: a Responses JSON object, never streamed.
    Compact,
    CountTokens,
    /// Model listings never consume a script step.
    Models,
}

impl Op {
    /// Operations whose request must carry a JSON object body.
    pub fn needs_json_body(self) -> bool {
        !matches!(self, Op::Models)
    }
}

fn body_streams(body: &Value) -> Mode {
    if body.get("stream").and_then(Value::as_bool) == Some(true) {
        Mode::Stream(Framing::Sse)
    } else {
        Mode::Json
    }
}

fn query_has(query: &str, key: &str, value: &str) -> bool {
    query
        .split('&')
        .any(|pair| pair.split_once('=') == Some((key, value)))
}

/// Maps a request to its operation and echoed values; `None` is an unknown route.
pub(crate) fn classify(
    family: Family,
    method: &str,
    path: &str,
    query: &str,
    body: &Value,
) -> Option<(Op, Echo)> {
    let echo = || Echo::from_body(body);
    let op = match (family, method, path) {
        (Family::Claude, "POST", "/v1/messages") => Op::Generate(body_streams(body)),
        (Family::Claude, "POST", "/v1/messages/count_tokens") => Op::CountTokens,
        (Family::Claude, "GET", "/v1/models") => Op::Models,
        (Family::Codex, "POST", "/responses") => Op::Generate(body_streams(body)),
        (Family::Codex, "POST", "/responses/compact") => Op::Compact,
        (Family::Codex | Family::Compat, "GET", "/models" | "/v1/models") => Op::Models,
        // The reference mock answers compat `/responses` in the chat-completions shape too.
        (Family::Compat, "POST", "/chat/completions" | "/responses") => {
            Op::Generate(body_streams(body))
        }
        (Family::Compat, "POST", "/completions") => Op::LegacyCompletion(body_streams(body)),
        (Family::Gemini, "GET", "/v1beta/models") => Op::Models,
        (Family::Gemini, "POST", _) => return gemini(path, query, body),
        _ => return None,
    };
    Some((op, echo()))
}

/// `/v1beta/models/{model}:{method}`; the model echoes from the path, not the body.
fn gemini(path: &str, query: &str, body: &Value) -> Option<(Op, Echo)> {
    let (model, method) = path.strip_prefix("/v1beta/models/")?.split_once(':')?;
    if model.is_empty() || model.contains('/') {
        return None;
    }
    let op = match method {
        "generateContent" => Op::Generate(Mode::Json),
        // Real Gemini: SSE only with `?alt=sse`, otherwise one JSON array written incrementally.
        "streamGenerateContent" if query_has(query, "alt", "sse") => {
            Op::Generate(Mode::Stream(Framing::Sse))
        }
        "streamGenerateContent" => Op::Generate(Mode::Stream(Framing::JsonArray)),
        "countTokens" => Op::CountTokens,
        _ => return None,
    };
    Some((op, Echo::new(model, first_tool_name(body))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn claude_routes_and_stream_flag() {
        let b = json!({"model": "c", "stream": true});
        let (op, echo) = classify(Family::Claude, "POST", "/v1/messages", "beta=true", &b).unwrap();
        assert_eq!(op, Op::Generate(Mode::Stream(Framing::Sse)));
        assert_eq!(echo, Echo::new("c", "get_weather"));
        let (op, _) = classify(
            Family::Claude,
            "POST",
            "/v1/messages",
            "",
            &json!({"stream": "yes"}),
        )
        .unwrap();
        assert_eq!(op, Op::Generate(Mode::Json));
        assert!(classify(Family::Claude, "GET", "/v1/messages", "", &Value::Null).is_none());
        assert!(classify(Family::Claude, "GET", "/models", "", &Value::Null).is_none());
    }

    #[test]
    fn gemini_routes() {
        let b = json!({"tools": [{"functionDeclarations": [{"name": "t"}]}]});
        let p = "/v1beta/models/gemini-x:streamGenerateContent";
        let (op, echo) = classify(Family::Gemini, "POST", p, "alt=sse", &b).unwrap();
        assert_eq!(op, Op::Generate(Mode::Stream(Framing::Sse)));
        assert_eq!(echo, Echo::new("gemini-x", "t"));
        let (op, _) = classify(Family::Gemini, "POST", p, "key=abc", &b).unwrap();
        assert_eq!(op, Op::Generate(Mode::Stream(Framing::JsonArray)));
        let (op, _) = classify(
            Family::Gemini,
            "POST",
            "/v1beta/models/m:countTokens",
            "",
            &b,
        )
        .unwrap();
        assert_eq!(op, Op::CountTokens);
        assert!(classify(
            Family::Gemini,
            "POST",
            "/v1beta/models/m:embedContent",
            "",
            &b
        )
        .is_none());
        assert!(classify(
            Family::Gemini,
            "POST",
            "/v1beta/models/:generateContent",
            "",
            &b
        )
        .is_none());
    }

    #[test]
    fn codex_and_compat_routes() {
        let b = json!({"stream": true});
        assert_eq!(
            classify(Family::Codex, "POST", "/responses/compact", "", &b)
                .unwrap()
                .0,
            Op::Compact
        );
        assert_eq!(
            classify(Family::Codex, "GET", "/v1/models", "", &b)
                .unwrap()
                .0,
            Op::Models
        );
        assert_eq!(
            classify(Family::Compat, "POST", "/completions", "", &b)
                .unwrap()
                .0,
            Op::LegacyCompletion(Mode::Stream(Framing::Sse))
        );
        assert!(classify(Family::Codex, "POST", "/chat/completions", "", &b).is_none());
    }
}
