//! The legacy `/v1/completions` client format: a prompt in, text out. Served by turning the prompt into one
//! user message; answers keep only their text (the request carries no tools, and reasoning has no place).

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::{json, Value};

use super::stream::{chunk_head, push_json_str};
use super::wire::Stop;
use super::{client_id, ir, parse_client, stop_to_wire, unix_now, unsupported, usage_json};
use crate::translate::{StreamEncoder, StreamOptions, TranslateError};
use crate::wire::error::stream_error_event;
use crate::wire::Format;

const COMPLETIONS: Format = Format::OpenAiCompletions;

#[derive(Deserialize)]
struct CompletionsRequest {
    model: String,
    prompt: Option<Value>,
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    stop: Option<Stop>,
    stream: Option<bool>,
    n: Option<u64>,
    best_of: Option<u64>,
    suffix: Option<String>,
    echo: Option<bool>,
    user: Option<String>,
    // Harmless when lost: dropped with a debug log.
    seed: Option<IgnoredAny>,
    logprobs: Option<IgnoredAny>,
    presence_penalty: Option<IgnoredAny>,
    frequency_penalty: Option<IgnoredAny>,
    logit_bias: Option<IgnoredAny>,
}

pub fn decode_completions_request(body: &[u8]) -> Result<ir::Request, TranslateError> {
    let req: CompletionsRequest = parse_client(body, "completions")?;
    if req.n.is_some_and(|n| n > 1) || req.best_of.is_some_and(|n| n > 1) {
        return Err(unsupported(
            "n or best_of > 1 (several choices)",
            COMPLETIONS,
        ));
    }
    if req.suffix.as_deref().is_some_and(|s| !s.is_empty()) {
        return Err(unsupported("suffix (fill-in-the-middle)", COMPLETIONS));
    }
    if req.echo == Some(true) {
        return Err(unsupported("echo", COMPLETIONS));
    }
    let dropped: Vec<&str> = [
        ("seed", req.seed.is_some()),
        ("logprobs", req.logprobs.is_some()),
        ("presence_penalty", req.presence_penalty.is_some()),
        ("frequency_penalty", req.frequency_penalty.is_some()),
        ("logit_bias", req.logit_bias.is_some()),
    ]
    .iter()
    .filter(|p| p.1)
    .map(|p| p.0)
    .collect();
    if !dropped.is_empty() {
        tracing::debug!(
            ?dropped,
            "completions parameters with no translation dropped"
        );
    }
    let prompt = match req.prompt {
        Some(Value::String(s)) => s,
        // An array of prompts is a batch (one choice per prompt), not one long prompt: only a single one
        // can be answered by a chat-style upstream.
        Some(Value::Array(items)) => match <[Value; 1]>::try_from(items) {
            Ok([Value::String(s)]) => s,
            Ok([Value::Array(_)]) | Ok([Value::Number(_)]) => {
                return Err(unsupported("token-id prompts", COMPLETIONS))
            }
            Ok(_) => {
                return Err(TranslateError::Invalid(
                    "prompt must be a string or an array of strings".into(),
                ))
            }
            Err(items) if items.iter().all(Value::is_number) && !items.is_empty() => {
                return Err(unsupported("token-id prompts", COMPLETIONS))
            }
            Err(_) => return Err(unsupported("several prompts in one request", COMPLETIONS)),
        },
        Some(Value::Null) | None => {
            return Err(TranslateError::Invalid("prompt is required".into()))
        }
        Some(_) => {
            return Err(TranslateError::Invalid(
                "prompt must be a string or an array of strings".into(),
            ))
        }
    };
    Ok(ir::Request {
        model: req.model,
        messages: vec![ir::Message {
            role: ir::Role::User,
            content: vec![ir::Part::Text { text: prompt }],
        }],
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        stop: req.stop.map(|s| s.0).unwrap_or_default(),
        stream: req.stream.unwrap_or(false),
        user: req.user,
        ..ir::Request::default()
    })
}

/// `stop | length | content_filter`: tool calls cannot happen without tools.
fn finish_reason(stop: &ir::StopReason) -> &'static str {
    match stop_to_wire(stop, false) {
        "tool_calls" => "stop",
        other => other,
    }
}

pub fn encode_completions_response(resp: &ir::Response) -> Vec<u8> {
    let mut text = String::new();
    for part in &resp.content {
        if let ir::Part::Text { text: t } = part {
            super::response::append_paragraph(&mut text, t);
        }
    }
    json!({
        "id": client_id(&resp.id, "cmpl-"),
        "object": "text_completion",
        "created": resp.created,
        "model": resp.model,
        "choices": [{"text": text, "index": 0, "logprobs": null,
                     "finish_reason": finish_reason(&resp.stop)}],
        "usage": usage_json(&resp.usage),
    })
    .to_string()
    .into_bytes()
}

/// IR events → `text_completion` chunks: one per text delta, a final one with the finish reason, the
/// usage chunk when asked for, then `data: [DONE]`.
pub struct CompletionsEncoder {
    model: String,
    include_usage: bool,
    head: Vec<u8>,
    ended: bool,
    failed: bool,
    closed: bool,
}

impl CompletionsEncoder {
    pub fn new(opts: &StreamOptions) -> Self {
        CompletionsEncoder {
            model: opts.model.clone(),
            include_usage: opts.include_usage,
            head: Vec::new(),
            ended: false,
            failed: false,
            closed: false,
        }
    }

    fn start(&mut self, id: &str, model: &str, created: u64) {
        let model = if self.model.is_empty() {
            model
        } else {
            &self.model
        };
        self.head = chunk_head(&client_id(id, "cmpl-"), "text_completion", created, model);
    }

    fn choice(&mut self, text: &str, finish_reason: Option<&str>, out: &mut Vec<u8>) {
        if self.head.is_empty() {
            self.start("", "", unix_now());
        }
        out.extend_from_slice(&self.head);
        out.extend_from_slice(b"\"choices\":[{\"text\":");
        push_json_str(out, text);
        out.extend_from_slice(b",\"index\":0,\"logprobs\":null,\"finish_reason\":");
        match finish_reason {
            Some(reason) => push_json_str(out, reason),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"}]}\n\n");
    }
}

impl StreamEncoder for CompletionsEncoder {
    fn push(&mut self, event: &ir::Event, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            ir::Event::Start {
                id, model, created, ..
            } if self.head.is_empty() => self.start(id, model, *created),
            ir::Event::Delta {
                delta: ir::Delta::Text(text),
                ..
            } if !text.is_empty() => self.choice(text, None, out),
            ir::Event::Finish { stop, usage, .. } => {
                self.choice("", Some(finish_reason(stop)), out);
                if self.include_usage {
                    out.extend_from_slice(&self.head);
                    out.extend_from_slice(b"\"choices\":[],\"usage\":");
                    out.extend_from_slice(usage_json(usage).to_string().as_bytes());
                    out.extend_from_slice(b"}\n\n");
                }
                self.ended = true;
            }
            ir::Event::Error { message } => {
                out.extend_from_slice(stream_error_event(COMPLETIONS, message, 0).as_bytes());
                self.ended = true;
                self.failed = true;
            }
            ir::Event::BlockStart {
                block: ir::BlockStart::ToolCall { name, .. },
                ..
            } => tracing::debug!(%name, "tool call has no place in a text completion"),
            // Reasoning and block framing have no representation in a text completion.
            _ => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.failed && !self.closed {
            out.extend_from_slice(b"data: [DONE]\n\n");
        }
        self.ended = true;
        self.closed = true;
    }
}
