//! OpenAI Responses as the Codex backend speaks it (`codex-api-key`, and ChatGPT subscription accounts).

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use serde_json::Value;

use super::{until, Auth, Outbound};
use crate::translate::ir;
use crate::wire::body::JsonBody;

pub(super) fn prepare(_out: &Outbound<'_>) -> (String, Auth) {
    ("/responses".to_string(), Auth::Bearer)
}

/// A Codex `usage_limit_reached` error names its reset as `resets_at` (unix) or `resets_in_seconds`.
pub(super) fn reset_hint(body: &[u8]) -> Option<Duration> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let err = v.get("error").unwrap_or(&v);
    if let Some(secs) = err
        .get("resets_in_seconds")
        .and_then(serde_json::Value::as_u64)
    {
        return Some(Duration::from_secs(secs));
    }
    let at = err.get("resets_at")?;
    match at {
        serde_json::Value::Number(n) => until(&n.to_string()),
        serde_json::Value::String(s) => until(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_reset_forms() {
        let body = br#"{"error":{"type":"usage_limit_reached","resets_in_seconds":90}}"#;
        assert_eq!(reset_hint(body), Some(Duration::from_secs(90)));
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 300;
        let body = format!(r#"{{"error":{{"type":"usage_limit_reached","resets_at":{at}}}}}"#);
        let d = reset_hint(body.as_bytes()).unwrap();
        assert!(d > Duration::from_secs(290), "{d:?}");
        assert_eq!(reset_hint(b"not json"), None);
    }
}

/// The Codex backend rejects tool names and call ids longer than this.
const MAX_NAME: usize = 64;

/// Original tool names by the shortened names sent upstream, to restore them in the answer.
pub type ToolNames = std::collections::HashMap<String, String>;

/// FNV-1a, 64-bit, continued from `h` over `bytes`: stable across runs and platforms, which is what the
/// shortened names and cache keys below need, and collisions between the few values of one request are
/// negligible.
fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

const FNV_SEED: u64 = 0xcbf2_9ce4_8422_2325;

/// Hashes each text followed by a separator, so ("ab", "c") and ("a", "bc") differ.
fn hash_texts<'a>(texts: impl IntoIterator<Item = &'a str>) -> u64 {
    texts
        .into_iter()
        .fold(FNV_SEED, |h, s| fnv1a(fnv1a(h, s.as_bytes()), &[0xff]))
}

/// Shortens a name over the limit: a readable head plus a hash of the whole, so the same long name always
/// maps to the same short one (across turns too) and different names stay different.
fn shorten(name: &str) -> String {
    if name.len() <= MAX_NAME {
        return name.to_string();
    }
    let h = fnv1a(FNV_SEED, name.as_bytes());
    let mut head_len = MAX_NAME - 17;
    while !name.is_char_boundary(head_len) {
        head_len -= 1;
    }
    format!("{}_{h:016x}", &name[..head_len])
}

/// Fits a translated request to the Codex backend: tool names and call ids within 64 characters
/// (returning how to restore the names), a stable `prompt_cache_key` so prompt caching works across the
/// turns of a conversation even when the client did not send one, and no sampling or length parameters,
/// which the backend refuses.
pub fn adapt(req: &mut ir::Request) -> ToolNames {
    let mut names = ToolNames::new();
    let mut short = |name: &mut String| {
        let s = shorten(name);
        if s != *name {
            names.insert(s.clone(), std::mem::replace(name, s));
        }
    };
    for tool in &mut req.tools {
        short(&mut tool.name);
    }
    if let Some(ir::ToolChoice::Tool(name)) = &mut req.tool_choice {
        short(name);
    }
    for message in &mut req.messages {
        for part in &mut message.content {
            match part {
                ir::Part::ToolCall { id, name, .. } => {
                    short(name);
                    *id = shorten(id);
                }
                ir::Part::ToolResult { call_id, name, .. } => {
                    *call_id = shorten(call_id);
                    if let Some(n) = name {
                        short(n);
                    }
                }
                _ => {}
            }
        }
    }
    if req.cache_key.is_none() {
        req.cache_key = Some(conversation_key(req));
    }
    // The Codex backend answers 400 "Unsupported parameter" to these; its models pick their own.
    for (name, set) in [
        ("max_output_tokens", req.max_tokens.take().is_some()),
        ("temperature", req.temperature.take().is_some()),
        ("top_p", req.top_p.take().is_some()),
    ] {
        if set {
            tracing::debug!("dropping {name}: the Codex backend does not accept it");
        }
    }
    names
}

/// A key derived from what stays the same across a conversation's turns: the instructions and the first
/// user message. Two conversations that start identically share a cache, which is what caching is for.
fn conversation_key(req: &ir::Request) -> String {
    let first_user = req
        .messages
        .iter()
        .find(|m| m.role == ir::Role::User)
        .into_iter()
        .flat_map(|m| &m.content)
        .filter_map(|part| match part {
            ir::Part::Text { text } => Some(text.as_str()),
            _ => None,
        });
    let h = hash_texts(req.system.iter().map(String::as_str).chain(first_user));
    format!("switchyard-{h:016x}")
}

/// The header a ChatGPT subscription request names its client with; a client's own wins.
const ORIGINATOR: &str = "codex-tui";

/// Top-level fields the Codex backend answers 400 "Unsupported parameter" to.
const REFUSED_FIELDS: &[&str] = &[
    "max_output_tokens",
    "temperature",
    "top_p",
    "prompt_cache_retention",
    "safety_identifier",
    "stream_options",
];

/// Shapes a request for a ChatGPT subscription account (PROTOCOLS.md §2): the workspace header,
/// `originator` unless the client named itself, `session_id` from the prompt cache key so the backend's
/// cache follows the conversation, and a body the backend accepts: always streamed, never stored,
/// encrypted reasoning included (there is no server-side state to refer back to), `instructions` a
/// string. Returns the body to send.
pub(super) fn for_subscription(
    out: &Outbound<'_>,
    headers: &mut HeaderMap,
    workspace: Option<&str>,
) -> Bytes {
    if let Some(id) = workspace.and_then(|w| HeaderValue::from_str(w).ok()) {
        headers.insert("chatgpt-account-id", id);
    }
    if !headers.contains_key("originator") {
        headers.insert("originator", HeaderValue::from_static(ORIGINATOR));
    }
    headers.insert(
        http::header::ACCEPT,
        HeaderValue::from_static("text/event-stream"),
    );
    let Ok(mut body) = JsonBody::parse(&out.body) else {
        // Not JSON: the backend's 400 says so better than we could.
        return out.body.clone();
    };
    body.set_value("stream", &Value::Bool(true));
    body.set_value("store", &Value::Bool(false));
    if !matches!(body.value("instructions"), Some(Value::String(_))) {
        body.set_str("instructions", "");
    }
    let mut include = match body.value("include") {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    if !include.iter().any(|i| i == "reasoning.encrypted_content") {
        include.push(Value::from("reasoning.encrypted_content"));
        body.set_value("include", &Value::Array(include));
    }
    for field in REFUSED_FIELDS {
        if body.remove(field) {
            tracing::debug!("dropping {field}: the Codex backend does not accept it");
        }
    }
    let key = match body.str_field("prompt_cache_key") {
        Some(key) if !key.is_empty() => key,
        _ => {
            let key = raw_conversation_key(&body);
            body.set_str("prompt_cache_key", &key);
            key
        }
    };
    if !headers.contains_key("session_id") {
        if let Ok(value) = HeaderValue::from_str(&key) {
            headers.insert("session_id", value);
        }
    }
    Bytes::from(body.to_bytes())
}

/// [`conversation_key`] for a Responses body sent as the client wrote it: the instructions and the
/// first user message's text.
fn raw_conversation_key(body: &JsonBody) -> String {
    let instructions = body.str_field("instructions");
    let input = body.value("input");
    let first_user: Vec<&str> = match &input {
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(items)) => items
            .iter()
            .find(|item| item.get("role").and_then(Value::as_str) == Some("user"))
            .and_then(|item| item.get("content"))
            .map(|content| match content {
                Value::String(text) => vec![text.as_str()],
                Value::Array(parts) => parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect(),
                _ => Vec::new(),
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    let h = hash_texts(instructions.as_deref().into_iter().chain(first_user));
    format!("switchyard-{h:016x}")
}

#[cfg(test)]
mod adapt_tests {
    use super::*;

    fn call(id: &str, name: &str) -> ir::Part {
        ir::Part::ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: "{}".into(),
            signature: None,
        }
    }

    #[test]
    fn long_names_and_ids_shrink_consistently_and_can_be_restored() {
        let long = format!("mcp__{}__search", "a".repeat(80));
        let long_id = format!("call_{}", "x".repeat(90));
        let mut req = ir::Request {
            tools: vec![ir::Tool {
                name: long.clone(),
                description: None,
                parameters: None,
            }],
            tool_choice: Some(ir::ToolChoice::Tool(long.clone())),
            messages: vec![
                ir::Message {
                    role: ir::Role::Assistant,
                    content: vec![call(&long_id, &long), call("call_1", "short")],
                },
                ir::Message {
                    role: ir::Role::User,
                    content: vec![ir::Part::ToolResult {
                        call_id: long_id.clone(),
                        name: None,
                        content: vec![],
                        is_error: false,
                    }],
                },
            ],
            ..Default::default()
        };
        let names = adapt(&mut req);
        let short = &req.tools[0].name;
        assert!(short.len() <= MAX_NAME && short.starts_with("mcp__aaa"));
        assert_eq!(names.get(short), Some(&long));
        assert_eq!(req.tool_choice, Some(ir::ToolChoice::Tool(short.clone())));
        let ir::Part::ToolCall { id, name, .. } = &req.messages[0].content[0] else {
            panic!("not a call")
        };
        assert_eq!(name, short);
        assert!(id.len() <= MAX_NAME);
        let ir::Part::ToolResult { call_id, .. } = &req.messages[1].content[0] else {
            panic!("not a result")
        };
        assert_eq!(call_id, id, "the result still pairs with its call");
        assert_eq!(
            req.messages[0].content[1],
            call("call_1", "short"),
            "short names are untouched"
        );
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn parameters_the_backend_refuses_are_dropped() {
        let mut req = ir::Request {
            max_tokens: Some(4096),
            temperature: Some(0.7),
            top_p: Some(0.9),
            ..Default::default()
        };
        adapt(&mut req);
        assert_eq!(
            (req.max_tokens, req.temperature, req.top_p),
            (None, None, None)
        );
    }

    #[test]
    fn the_cache_key_is_stable_per_conversation() {
        let turn = |extra: &str| ir::Request {
            system: vec!["be brief".into()],
            messages: vec![
                ir::Message {
                    role: ir::Role::User,
                    content: vec![ir::Part::Text { text: "hi".into() }],
                },
                ir::Message {
                    role: ir::Role::Assistant,
                    content: vec![ir::Part::Text { text: extra.into() }],
                },
            ],
            ..Default::default()
        };
        let (mut a, mut b) = (turn("one"), turn("two"));
        adapt(&mut a);
        adapt(&mut b);
        assert_eq!(a.cache_key, b.cache_key, "later turns keep the key");
        let mut other = turn("one");
        other.system = vec!["be verbose".into()];
        adapt(&mut other);
        assert_ne!(a.cache_key, other.cache_key);
        let mut given = turn("one");
        given.cache_key = Some("client-key".into());
        adapt(&mut given);
        assert_eq!(
            given.cache_key.as_deref(),
            Some("client-key"),
            "a client's own key wins"
        );
    }
}
