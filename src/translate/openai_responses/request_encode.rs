//! The IR into a request body for a Responses upstream (the Codex backend or api.openai.com).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{json, Value};

use super::source_url;
use crate::translate::ir::{
    self, Effort, MediaSource, Message, OutputFormat, Part, Reasoning, Role, ToolChoice,
};
use crate::translate::TranslateError;
use crate::wire::Format;

#[derive(Serialize)]
struct OutRequest<'a> {
    model: &'a str,
    /// Always a string: the Codex backend rejects a request without one.
    instructions: String,
    input: Vec<OutItem<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<OutTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parallel_tool_calls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning: Option<OutReasoning>,
    store: bool,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    include: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt_cache_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_output_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<Value>,
}

#[derive(Serialize)]
struct OutReasoning {
    effort: &'static str,
    summary: &'static str,
}

#[derive(Serialize)]
struct OutTool<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    parameters: Cow<'a, Value>,
    /// Explicitly off: Responses otherwise tries strict mode, which rewrites or rejects ordinary schemas.
    strict: bool,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutItem<'a> {
    Message {
        role: &'static str,
        content: Vec<OutPart<'a>>,
    },
    FunctionCall {
        call_id: &'a str,
        name: &'a str,
        arguments: &'a str,
    },
    FunctionCallOutput {
        call_id: &'a str,
        output: OutOutput<'a>,
    },
    Reasoning {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a str>,
        summary: Vec<OutSummary<'a>>,
        encrypted_content: &'a str,
    },
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutPart<'a> {
    InputText {
        text: &'a str,
    },
    OutputText {
        text: &'a str,
    },
    InputImage {
        image_url: Cow<'a, str>,
        detail: &'static str,
    },
    InputFile {
        #[serde(skip_serializing_if = "Option::is_none")]
        file_data: Option<Cow<'a, str>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        file_url: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        filename: Option<Cow<'a, str>>,
    },
}

#[derive(Serialize)]
#[serde(untagged)]
enum OutOutput<'a> {
    Text(Cow<'a, str>),
    Parts(Vec<OutPart<'a>>),
}

#[derive(Serialize)]
struct OutSummary<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    text: &'a str,
}

/// Encodes a request for a Responses upstream (the Codex backend or api.openai.com).
pub fn encode_request(req: &ir::Request) -> Result<Vec<u8>, TranslateError> {
    let unsupported = |feature: &str| TranslateError::Unsupported {
        feature: feature.to_string(),
        target: Format::OpenAiResponses,
    };
    if !req.stop.is_empty() {
        return Err(unsupported("stop sequences"));
    }
    if req.top_k.is_some() {
        tracing::debug!("dropping top_k: Responses has no equivalent");
    }
    if req.user.is_some() {
        // The Codex backend refuses unknown parameters; an abuse-tracking id is not worth a failed request.
        tracing::debug!("dropping user: not sent to Responses upstreams");
    }
    let reasoning = req
        .reasoning
        .as_ref()
        .map(Reasoning::effort)
        .filter(|e| *e != Effort::None)
        .map(|e| OutReasoning {
            effort: openai_effort(e),
            summary: "auto",
        });
    let out = OutRequest {
        model: &req.model,
        instructions: req.system.join("\n\n"),
        input: encode_input(&req.messages, &unsupported)?,
        tools: req
            .tools
            .iter()
            .map(|t| OutTool {
                ty: "function",
                name: &t.name,
                description: t.description.as_deref(),
                parameters: match &t.parameters {
                    Some(p) => Cow::Borrowed(p),
                    None => Cow::Owned(json!({"type": "object", "properties": {}})),
                },
                strict: false,
            })
            .collect(),
        tool_choice: req.tool_choice.as_ref().map(|c| match c {
            ToolChoice::Auto => json!("auto"),
            ToolChoice::None => json!("none"),
            ToolChoice::Required => json!("required"),
            ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
        }),
        parallel_tool_calls: req.parallel_tool_calls,
        include: reasoning.as_ref().map(|_| ["reasoning.encrypted_content"]),
        reasoning,
        store: false,
        stream: req.stream,
        prompt_cache_key: req.cache_key.as_deref(),
        max_output_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        text: req.output.as_ref().map(|f| match f {
            OutputFormat::JsonObject => json!({"format": {"type": "json_object"}}),
            OutputFormat::JsonSchema {
                name,
                schema,
                strict,
            } => {
                let mut format = json!({"type": "json_schema", "name": name, "schema": schema});
                if let Some(strict) = strict {
                    format["strict"] = json!(strict);
                }
                json!({ "format": format })
            }
        }),
    };
    serde_json::to_vec(&out).map_err(|e| TranslateError::Invalid(e.to_string()))
}

/// OpenAI's effort levels: there is no "auto" (its default is medium) and nothing above xhigh.
fn openai_effort(effort: Effort) -> &'static str {
    match effort {
        Effort::Auto => "medium",
        Effort::Max => "xhigh",
        other => other.as_str(),
    }
}

/// The history as items, in order: text and media gather into message items; tool calls, results and
/// reasoning are items of their own and close the message being gathered.
fn encode_input<'a>(
    messages: &'a [Message],
    unsupported: &dyn Fn(&str) -> TranslateError,
) -> Result<Vec<OutItem<'a>>, TranslateError> {
    let mut items = Vec::with_capacity(messages.len());
    for message in messages {
        let role = match message.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        let mut pending: Vec<OutPart<'a>> = Vec::new();
        let flush = |pending: &mut Vec<OutPart<'a>>, items: &mut Vec<OutItem<'a>>| {
            if !pending.is_empty() {
                items.push(OutItem::Message {
                    role,
                    content: std::mem::take(pending),
                });
            }
        };
        for part in &message.content {
            match part {
                Part::Text { text } => pending.push(match message.role {
                    Role::User => OutPart::InputText { text },
                    Role::Assistant => OutPart::OutputText { text },
                }),
                Part::Image { .. } | Part::Document { .. } if message.role == Role::Assistant => {
                    return Err(unsupported("an image or document in an assistant message"));
                }
                Part::Image { .. } | Part::Document { .. } => pending.push(media_part(part)),
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                    ..
                } => {
                    flush(&mut pending, &mut items);
                    items.push(OutItem::FunctionCall {
                        call_id: id,
                        name,
                        arguments,
                    });
                }
                Part::ToolResult {
                    call_id,
                    content,
                    is_error,
                    ..
                } => {
                    if *is_error {
                        // The error text itself still reaches the model; only the flag has no field.
                        tracing::debug!("dropping a tool result's error flag: Responses has none");
                    }
                    flush(&mut pending, &mut items);
                    items.push(OutItem::FunctionCallOutput {
                        call_id,
                        output: tool_output(content, unsupported)?,
                    });
                }
                Part::Reasoning {
                    text,
                    signature,
                    redacted,
                    id,
                } => {
                    // Only a reasoning item with its encrypted token can be replayed statelessly; Claude's
                    // redacted thinking is Claude's own and means nothing to OpenAI.
                    let Some(signature) = signature.as_deref().filter(|_| !redacted) else {
                        tracing::debug!(
                            "dropping reasoning without an encrypted token from the history"
                        );
                        continue;
                    };
                    flush(&mut pending, &mut items);
                    let summary = if text.is_empty() {
                        Vec::new()
                    } else {
                        vec![OutSummary {
                            ty: "summary_text",
                            text,
                        }]
                    };
                    items.push(OutItem::Reasoning {
                        id: id.as_deref().filter(|id| id.starts_with("rs_")),
                        summary,
                        encrypted_content: signature,
                    });
                }
            }
        }
        flush(&mut pending, &mut items);
    }
    Ok(items)
}

/// An image or document as an input part.
fn media_part(part: &Part) -> OutPart<'_> {
    match part {
        Part::Document { source, title } => match source {
            MediaSource::Url(url) => OutPart::InputFile {
                file_data: None,
                file_url: Some(url),
                filename: title.as_deref().map(Cow::Borrowed),
            },
            MediaSource::Base64 { media_type, .. } => OutPart::InputFile {
                file_data: Some(source_url(source)),
                file_url: None,
                // OpenAI requires a file name with inline data.
                filename: Some(match title {
                    Some(t) => Cow::Borrowed(t.as_str()),
                    None => Cow::Owned(format!("document.{}", extension_for(media_type))),
                }),
            },
        },
        Part::Image { source } => OutPart::InputImage {
            image_url: source_url(source),
            detail: "auto",
        },
        _ => OutPart::InputText { text: "" },
    }
}

fn extension_for(media_type: &str) -> &str {
    match media_type {
        "application/pdf" => "pdf",
        "text/plain" => "txt",
        other => other.rsplit('/').next().unwrap_or("bin"),
    }
}

/// A tool result's `output`: one string when it is all text, else a list of input parts.
fn tool_output<'a>(
    content: &'a [Part],
    unsupported: &dyn Fn(&str) -> TranslateError,
) -> Result<OutOutput<'a>, TranslateError> {
    if content.iter().all(|p| matches!(p, Part::Text { .. })) {
        return Ok(OutOutput::Text(match content {
            [Part::Text { text }] => Cow::Borrowed(text.as_str()),
            _ => Cow::Owned(
                content
                    .iter()
                    .filter_map(|p| match p {
                        Part::Text { text } => Some(text.as_str()),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
        }));
    }
    let mut parts = Vec::with_capacity(content.len());
    for part in content {
        match part {
            Part::Text { text } => parts.push(OutPart::InputText { text }),
            Part::Image { .. } | Part::Document { .. } => parts.push(media_part(part)),
            _ => return Err(unsupported("a tool call or reasoning inside a tool result")),
        }
    }
    Ok(OutOutput::Parts(parts))
}
