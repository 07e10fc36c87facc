//! A Chat Completions request as a client sends it → IR.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::wire::{self, Content};
use super::{ir, media_source, parse_client, unsupported, TranslateError};
use crate::wire::Format;

/// The format named by decode-time `Unsupported` errors (see the module docs).
const CHAT: Format = Format::OpenAiChat;

pub fn decode_request(body: &[u8]) -> Result<ir::Request, TranslateError> {
    let req: wire::ChatRequest = parse_client(body, "chat completions")?;
    log_dropped(&req);
    if req.n.is_some_and(|n| n > 1) {
        return Err(unsupported("n > 1 (several choices)", CHAT));
    }
    if req.audio.is_some() || req.modalities.iter().flatten().any(|m| m == "audio") {
        return Err(unsupported("audio output", CHAT));
    }
    if req.web_search_options.is_some() {
        return Err(unsupported("web_search_options", CHAT));
    }

    let mut history = History::default();
    for (i, msg) in req.messages.into_iter().enumerate() {
        history.push(msg).map_err(|e| match e {
            TranslateError::Invalid(m) => TranslateError::Invalid(format!("messages[{i}]: {m}")),
            other => other,
        })?;
    }

    let mut tools = Vec::new();
    for tool in req.tools.into_iter().flatten() {
        if tool.kind != "function" {
            return Err(unsupported(format!("`{}` tools", tool.kind), CHAT));
        }
        let f = tool
            .function
            .ok_or_else(|| TranslateError::Invalid("tools[].function is required".into()))?;
        tools.push(tool_from_wire(f));
    }
    tools.extend(req.functions.into_iter().flatten().map(tool_from_wire));

    let tool_choice = match (&req.tool_choice, &req.function_call) {
        (Some(choice), _) => decode_tool_choice(choice, &mut tools)?,
        (None, Some(legacy)) => decode_tool_choice(legacy, &mut tools)?,
        (None, None) => None,
    };

    let reasoning = match req.reasoning_effort.as_deref() {
        None => None,
        Some(e) => Some(ir::Reasoning::Effort(ir::Effort::parse(e).ok_or_else(
            || TranslateError::Invalid(format!("unknown reasoning_effort `{e}`")),
        )?)),
    };

    Ok(ir::Request {
        model: req.model,
        system: history.system,
        messages: history.messages,
        tools,
        tool_choice,
        parallel_tool_calls: req.parallel_tool_calls,
        max_tokens: req.max_completion_tokens.or(req.max_tokens),
        temperature: req.temperature,
        top_p: req.top_p,
        top_k: req.top_k,
        stop: req.stop.map(|s| s.0).unwrap_or_default(),
        stream: req.stream.unwrap_or(false),
        reasoning,
        output: decode_response_format(req.response_format)?,
        user: req.user.or(req.safety_identifier),
        cache_key: req.prompt_cache_key,
    })
}

/// Parameters that only tune sampling or bookkeeping: losing them does not change what is asked.
fn log_dropped(req: &wire::ChatRequest) {
    let present = [
        ("seed", req.seed.is_some()),
        ("logprobs", req.logprobs.is_some()),
        ("top_logprobs", req.top_logprobs.is_some()),
        ("presence_penalty", req.presence_penalty.is_some()),
        ("frequency_penalty", req.frequency_penalty.is_some()),
        ("logit_bias", req.logit_bias.is_some()),
        ("metadata", req.metadata.is_some()),
        ("store", req.store.is_some()),
        ("service_tier", req.service_tier.is_some()),
        ("prediction", req.prediction.is_some()),
        ("verbosity", req.verbosity.is_some()),
    ];
    let dropped: Vec<&str> = present.iter().filter(|p| p.1).map(|p| p.0).collect();
    if !dropped.is_empty() {
        tracing::debug!(
            ?dropped,
            "chat request parameters with no translation dropped"
        );
    }
}

fn tool_from_wire(f: wire::FunctionDef) -> ir::Tool {
    if f.strict.is_some() {
        tracing::debug!(tool = %f.name, "function `strict` flag dropped in translation");
    }
    ir::Tool {
        name: f.name,
        description: f.description,
        parameters: f.parameters,
    }
}

/// `tool_choice` (or legacy `function_call`): a mode string or an object naming a function.
fn decode_tool_choice(
    choice: &Value,
    tools: &mut Vec<ir::Tool>,
) -> Result<Option<ir::ToolChoice>, TranslateError> {
    let invalid = || TranslateError::Invalid(format!("unrecognised tool_choice {choice}"));
    match choice {
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(Some(ir::ToolChoice::Auto)),
            "none" => Ok(Some(ir::ToolChoice::None)),
            "required" => Ok(Some(ir::ToolChoice::Required)),
            _ => Err(invalid()),
        },
        Value::Object(obj) => {
            let name_of = |v: &Value| v.get("name").and_then(Value::as_str).map(str::to_owned);
            match obj.get("type").and_then(Value::as_str) {
                // `{"type":"function","function":{"name"}}`, or legacy `function_call: {"name"}`.
                Some("function") => obj
                    .get("function")
                    .and_then(name_of)
                    .or_else(|| name_of(choice)),
                None => name_of(choice),
                // Restricting the tool list is the same as sending only the allowed tools.
                Some("allowed_tools") => return decode_allowed_tools(obj, tools),
                Some(other) => {
                    return Err(unsupported(format!("tool_choice type `{other}`"), CHAT))
                }
            }
            .map(|name| Some(ir::ToolChoice::Tool(name)))
            .ok_or_else(invalid)
        }
        Value::Null => Ok(None),
        _ => Err(invalid()),
    }
}

fn decode_allowed_tools(
    obj: &Map<String, Value>,
    tools: &mut Vec<ir::Tool>,
) -> Result<Option<ir::ToolChoice>, TranslateError> {
    let spec = obj.get("allowed_tools").unwrap_or(&Value::Null);
    let allowed: Vec<&str> = spec
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
        .collect();
    tools.retain(|t| allowed.contains(&t.name.as_str()));
    match spec.get("mode").and_then(Value::as_str) {
        Some("required") => Ok(Some(ir::ToolChoice::Required)),
        Some("auto") | None => Ok(Some(ir::ToolChoice::Auto)),
        Some(other) => Err(TranslateError::Invalid(format!(
            "unknown allowed_tools mode `{other}`"
        ))),
    }
}

fn decode_response_format(
    format: Option<wire::ResponseFormat>,
) -> Result<Option<ir::OutputFormat>, TranslateError> {
    let Some(format) = format else {
        return Ok(None);
    };
    match format.kind.as_str() {
        "text" => Ok(None),
        "json_object" => Ok(Some(ir::OutputFormat::JsonObject)),
        "json_schema" => {
            let spec = format.json_schema.ok_or_else(|| {
                TranslateError::Invalid("response_format.json_schema is required".into())
            })?;
            // The schema is optional on the wire; without one any JSON object is acceptable.
            Ok(Some(match spec.schema {
                Some(schema) => ir::OutputFormat::JsonSchema {
                    name: spec.name.unwrap_or_else(|| "response".into()),
                    schema,
                    strict: spec.strict,
                },
                None => ir::OutputFormat::JsonObject,
            }))
        }
        other => Err(unsupported(format!("response_format type `{other}`"), CHAT)),
    }
}

/// Builds the IR conversation message by message.
#[derive(Default)]
struct History {
    system: Vec<String>,
    messages: Vec<ir::Message>,
    /// Tool names by call id, from assistant tool calls, to name the matching results.
    tool_names: HashMap<String, String>,
    /// The last IR message holds tool results, so the next `tool` message joins it.
    in_tool_results: bool,
    /// Ids given to legacy `function_call`s (which have none), newest last: `(name, id)`.
    legacy_calls: Vec<(String, String)>,
}

impl History {
    fn push(&mut self, msg: wire::Message) -> Result<(), TranslateError> {
        let joins_results = std::mem::take(&mut self.in_tool_results);
        match msg.role.as_str() {
            "system" | "developer" => self.push_system(msg.content),
            "user" => {
                if msg.name.is_some() {
                    tracing::debug!("user message `name` dropped in translation");
                }
                let content = msg
                    .content
                    .ok_or_else(|| TranslateError::Invalid("user content is required".into()))?;
                let content = parts_from_wire(content)?;
                self.messages.push(ir::Message {
                    role: ir::Role::User,
                    content,
                });
                Ok(())
            }
            "assistant" => self.push_assistant(msg),
            "tool" => {
                let call_id = msg.tool_call_id.ok_or_else(|| {
                    TranslateError::Invalid("tool messages need a tool_call_id".into())
                })?;
                let name = self.tool_names.get(&call_id).cloned();
                self.push_result(call_id, name, msg.content, joins_results)
            }
            "function" => {
                let name = msg.name.ok_or_else(|| {
                    TranslateError::Invalid("function messages need a name".into())
                })?;
                let pos = self
                    .legacy_calls
                    .iter()
                    .rposition(|(n, _)| *n == name)
                    .ok_or_else(|| {
                        TranslateError::Invalid(format!(
                            "function message `{name}` answers no earlier function_call"
                        ))
                    })?;
                let (name, call_id) = self.legacy_calls.remove(pos);
                self.push_result(call_id, Some(name), msg.content, joins_results)
            }
            other => Err(TranslateError::Invalid(format!("unknown role `{other}`"))),
        }
    }

    fn push_system(&mut self, content: Option<Content>) -> Result<(), TranslateError> {
        let texts = match content {
            None => Vec::new(),
            Some(Content::Text(t)) => vec![t],
            Some(Content::Parts(parts)) => parts
                .into_iter()
                .map(|p| match (p.kind.as_str(), p.text) {
                    ("text", Some(t)) => Ok(t),
                    _ => Err(TranslateError::Invalid(
                        "system messages may only hold text".into(),
                    )),
                })
                .collect::<Result<_, _>>()?,
        };
        if self.messages.is_empty() {
            self.system.extend(texts);
        } else {
            // Mid-conversation instructions refer to where they stand; keep them there, marked as such.
            let content = texts
                .into_iter()
                .map(|t| ir::Part::Text {
                    text: format!("System: {t}"),
                })
                .collect();
            self.messages.push(ir::Message {
                role: ir::Role::User,
                content,
            });
        }
        Ok(())
    }

    fn push_assistant(&mut self, msg: wire::Message) -> Result<(), TranslateError> {
        let mut content =
            super::assistant_text(msg.reasoning_content.or(msg.reasoning), msg.content, true)?;
        if let Some(text) = msg.refusal {
            content.push(ir::Part::Text { text });
        }
        for call in msg.tool_calls.into_iter().flatten() {
            if call.kind.as_deref().is_some_and(|k| k != "function") {
                return Err(unsupported("custom tool calls", CHAT));
            }
            let f = call.function.ok_or_else(|| {
                TranslateError::Invalid("tool_calls[].function is required".into())
            })?;
            let id = call
                .id
                .ok_or_else(|| TranslateError::Invalid("tool_calls[].id is required".into()))?;
            self.tool_names.insert(id.clone(), f.name.clone());
            content.push(ir::Part::ToolCall {
                id,
                name: f.name,
                arguments: f.arguments,
                signature: None,
            });
        }
        if let Some(f) = msg.function_call {
            // Legacy calls have no id; invent a stable one the following `function` message can answer.
            let id = format!("call_legacy_{}", self.legacy_calls.len() + 1);
            self.legacy_calls.push((f.name.clone(), id.clone()));
            content.push(ir::Part::ToolCall {
                id,
                name: f.name,
                arguments: f.arguments,
                signature: None,
            });
        }
        if content.is_empty() {
            tracing::debug!("empty assistant message skipped");
        } else {
            self.messages.push(ir::Message {
                role: ir::Role::Assistant,
                content,
            });
        }
        Ok(())
    }

    fn push_result(
        &mut self,
        call_id: String,
        name: Option<String>,
        content: Option<Content>,
        joins_results: bool,
    ) -> Result<(), TranslateError> {
        let content = match content {
            None => Vec::new(),
            Some(c) => parts_from_wire(c)?,
        };
        let result = ir::Part::ToolResult {
            call_id,
            name,
            content,
            is_error: false,
        };
        match self.messages.last_mut() {
            Some(last) if joins_results => last.content.push(result),
            _ => self.messages.push(ir::Message {
                role: ir::Role::User,
                content: vec![result],
            }),
        }
        self.in_tool_results = true;
        Ok(())
    }
}

/// User or tool content → IR parts.
fn parts_from_wire(content: Content) -> Result<Vec<ir::Part>, TranslateError> {
    match content {
        Content::Text(text) => Ok(vec![ir::Part::Text { text }]),
        Content::Parts(parts) => parts.into_iter().map(part_from_wire).collect(),
    }
}

fn part_from_wire(part: wire::ContentPart) -> Result<ir::Part, TranslateError> {
    match part.kind.as_str() {
        "text" => Ok(ir::Part::Text {
            text: part
                .text
                .ok_or_else(|| TranslateError::Invalid("text parts need `text`".into()))?,
        }),
        "image_url" => {
            let (url, detail) = match part.image_url {
                Some(wire::ImageUrl::Bare(url)) => (url, None),
                Some(wire::ImageUrl::Object { url, detail }) => (url, detail),
                None => return Err(TranslateError::Invalid("image_url parts need a URL".into())),
            };
            if detail.as_deref().is_some_and(|d| d != "auto") {
                tracing::debug!(?detail, "image detail level dropped in translation");
            }
            Ok(ir::Part::Image {
                source: media_source(&url, "image_url.url")?,
            })
        }
        "file" => {
            let file = part
                .file
                .ok_or_else(|| TranslateError::Invalid("file parts need `file`".into()))?;
            let Some(data) = file.file_data else {
                return Err(if file.file_id.is_some() {
                    unsupported("file_id (an uploaded OpenAI file)", CHAT)
                } else {
                    TranslateError::Invalid("file parts need file_data".into())
                });
            };
            let source = if data.starts_with("data:") {
                media_source(&data, "file.file_data")?
            } else {
                // Bare base64: PDF is the only document type Chat documents.
                ir::MediaSource::Base64 {
                    media_type: "application/pdf".into(),
                    data,
                }
            };
            Ok(ir::Part::Document {
                source,
                title: file.filename,
            })
        }
        "input_audio" => Err(unsupported("input_audio (audio input)", CHAT)),
        other => Err(unsupported(format!("`{other}` content parts"), CHAT)),
    }
}
