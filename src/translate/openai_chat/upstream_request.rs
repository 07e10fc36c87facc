//! IR → a Chat Completions request for an OpenAI-compatible upstream.

use serde_json::{json, Map, Value};

use super::response::append_paragraph;
use super::{ir, media_url, TranslateError};
use crate::wire::Format;

/// The upstream format `Unsupported` errors name.
const CHAT: Format = Format::OpenAiChat;

pub fn encode_request(req: &ir::Request) -> Result<Vec<u8>, TranslateError> {
    let mut body = Map::new();
    body.insert("model".into(), json!(req.model));

    let mut messages = Vec::with_capacity(req.messages.len() + 1);
    if !req.system.is_empty() {
        // One system message: many OpenAI-compatible servers' chat templates only honour the first.
        messages.push(json!({"role": "system", "content": req.system.join("\n\n")}));
    }
    for msg in &req.messages {
        match msg.role {
            ir::Role::User => encode_user(&msg.content, &mut messages)?,
            ir::Role::Assistant => messages.push(encode_assistant(&msg.content)?),
        }
    }
    body.insert("messages".into(), Value::Array(messages));

    if !req.tools.is_empty() {
        let tools = req
            .tools
            .iter()
            .map(|t| {
                let mut f = Map::new();
                f.insert("name".into(), json!(t.name));
                if let Some(d) = &t.description {
                    f.insert("description".into(), json!(d));
                }
                // Absent parameters mean "none"; some compatible servers insist on a schema.
                let params = t
                    .parameters
                    .clone()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}}));
                f.insert("parameters".into(), params);
                json!({"type": "function", "function": f})
            })
            .collect();
        body.insert("tools".into(), Value::Array(tools));
        if let Some(choice) = &req.tool_choice {
            let choice = match choice {
                ir::ToolChoice::Auto => json!("auto"),
                ir::ToolChoice::None => json!("none"),
                ir::ToolChoice::Required => json!("required"),
                ir::ToolChoice::Tool(name) => {
                    json!({"type": "function", "function": {"name": name}})
                }
            };
            body.insert("tool_choice".into(), choice);
        }
        if let Some(p) = req.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), json!(p));
        }
    } else if req.tool_choice.is_some() || req.parallel_tool_calls.is_some() {
        // OpenAI rejects both without tools; with no tools they mean nothing.
        tracing::debug!("tool_choice / parallel_tool_calls dropped: the request has no tools");
    }

    if let Some(max) = req.max_tokens {
        // `max_tokens` rather than `max_completion_tokens`: every compatible server knows it.
        body.insert("max_tokens".into(), json!(max));
    }
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), json!(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), json!(p));
    }
    if req.top_k.is_some() {
        // OpenAI rejects unknown parameters; top_k only narrows sampling.
        tracing::debug!("top_k dropped: Chat Completions has no such parameter");
    }
    if !req.stop.is_empty() {
        body.insert("stop".into(), json!(req.stop));
    }
    if let Some(r) = &req.reasoning {
        match r.effort() {
            // "auto" is the upstream's own default.
            ir::Effort::Auto => {}
            // The strongest level Chat knows.
            ir::Effort::Max => {
                body.insert("reasoning_effort".into(), json!("xhigh"));
            }
            e => {
                body.insert("reasoning_effort".into(), json!(e.as_str()));
            }
        }
    }
    if let Some(output) = &req.output {
        let format = match output {
            ir::OutputFormat::JsonObject => json!({"type": "json_object"}),
            ir::OutputFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                let mut spec = Map::new();
                spec.insert("name".into(), json!(name));
                spec.insert("schema".into(), schema.clone());
                if let Some(s) = strict {
                    spec.insert("strict".into(), json!(s));
                }
                json!({"type": "json_schema", "json_schema": spec})
            }
        };
        body.insert("response_format".into(), format);
    }
    if let Some(user) = &req.user {
        body.insert("user".into(), json!(user));
    }
    if let Some(key) = &req.cache_key {
        body.insert("prompt_cache_key".into(), json!(key));
    }
    body.insert("stream".into(), json!(req.stream));
    if req.stream {
        // Without it the upstream reports no usage in a stream.
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    serde_json::to_vec(&body).map_err(|e| TranslateError::Invalid(e.to_string()))
}

/// One IR user message → `tool` messages for its results (first: they must follow the assistant's calls),
/// then one user message with everything else, including images the results carried.
fn encode_user(parts: &[ir::Part], messages: &mut Vec<Value>) -> Result<(), TranslateError> {
    let mut rest = Vec::new();
    for part in parts {
        match part {
            ir::Part::ToolResult {
                call_id,
                content,
                is_error,
                ..
            } => {
                if *is_error {
                    tracing::debug!(%call_id, "tool error flag dropped: Chat tool messages have none");
                }
                let mut text = String::new();
                for p in content {
                    match p {
                        ir::Part::Text { text: t } => {
                            if !text.is_empty() {
                                text.push('\n');
                            }
                            text.push_str(t);
                        }
                        ir::Part::Image { .. } | ir::Part::Document { .. } => {
                            rest.push(encode_user_part(p)?)
                        }
                        _ => tracing::debug!("non-content part in a tool result dropped"),
                    }
                }
                messages.push(json!({"role": "tool", "tool_call_id": call_id, "content": text}));
            }
            ir::Part::Text { .. } | ir::Part::Image { .. } | ir::Part::Document { .. } => {
                rest.push(encode_user_part(part)?)
            }
            ir::Part::Reasoning { .. } | ir::Part::ToolCall { .. } => {
                tracing::debug!("reasoning or tool call in a user message dropped")
            }
        }
    }
    match rest.as_slice() {
        [] => {}
        // The plain-string form is what every compatible server accepts.
        [Value::Object(p)] if p.get("type").and_then(Value::as_str) == Some("text") => {
            let text = p.get("text").cloned().unwrap_or_default();
            messages.push(json!({"role": "user", "content": text}));
        }
        _ => messages.push(json!({"role": "user", "content": rest})),
    }
    Ok(())
}

fn encode_user_part(part: &ir::Part) -> Result<Value, TranslateError> {
    Ok(match part {
        ir::Part::Text { text } => json!({"type": "text", "text": text}),
        ir::Part::Image { source } => {
            json!({"type": "image_url", "image_url": {"url": media_url(source)}})
        }
        ir::Part::Document {
            source: source @ ir::MediaSource::Base64 { media_type, .. },
            title,
        } => {
            let filename = title
                .clone()
                .unwrap_or_else(|| format!("document.{}", extension(media_type)));
            json!({"type": "file", "file": {"filename": filename, "file_data": media_url(source)}})
        }
        ir::Part::Document {
            source: ir::MediaSource::Url(_),
            ..
        } => {
            return Err(TranslateError::Unsupported {
                feature: "documents given by URL".into(),
                target: CHAT,
            })
        }
        _ => Value::Null,
    })
}

fn extension(media_type: &str) -> &str {
    match media_type {
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        "text/markdown" => "md",
        "text/html" => "html",
        "text/csv" => "csv",
        _ => "bin",
    }
}

fn encode_assistant(parts: &[ir::Part]) -> Result<Value, TranslateError> {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in parts {
        match part {
            ir::Part::Text { text: t } => append_paragraph(&mut text, t),
            ir::Part::ToolCall {
                id,
                name,
                arguments,
                signature,
            } => {
                if signature.is_some() {
                    tracing::debug!(%id, "tool call signature dropped: Chat cannot carry it");
                }
                // An empty argument string is not JSON; servers that parse it would fail.
                let arguments = if arguments.trim().is_empty() {
                    "{}"
                } else {
                    arguments.as_str()
                };
                calls.push(json!({"id": id, "type": "function",
                                  "function": {"name": name, "arguments": arguments}}));
            }
            ir::Part::Reasoning { .. } => {
                tracing::debug!("assistant reasoning dropped: Chat has no standard field for it")
            }
            ir::Part::Image { .. } | ir::Part::Document { .. } => {
                return Err(TranslateError::Unsupported {
                    feature: "images or documents in assistant messages".into(),
                    target: CHAT,
                });
            }
            ir::Part::ToolResult { .. } => {
                tracing::debug!("tool result in an assistant message dropped")
            }
        }
    }
    let mut msg = Map::new();
    msg.insert("role".into(), json!("assistant"));
    let content = if text.is_empty() && !calls.is_empty() {
        Value::Null
    } else {
        Value::String(text)
    };
    msg.insert("content".into(), content);
    if !calls.is_empty() {
        msg.insert("tool_calls".into(), Value::Array(calls));
    }
    Ok(Value::Object(msg))
}
