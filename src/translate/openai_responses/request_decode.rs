//! A Responses client's request body into the IR.

use std::collections::{HashMap, HashSet};

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{parse_data_url, unmark_redacted};
use crate::translate::ir::{
    self, Effort, MediaSource, Message, OutputFormat, Part, Reasoning, Role, Tool, ToolChoice,
};
use crate::translate::TranslateError;
use crate::wire::Format;

/// The request fields we read. Unknown fields are skipped by serde; the ones we knowingly ignore are
/// listed so a debug log can name them.
#[derive(Deserialize)]
struct WireRequest<'a> {
    model: Option<String>,
    instructions: Option<String>,
    /// A string or an array of items; parsed lazily so big histories are read once, without a `Value` tree.
    #[serde(borrow)]
    input: Option<&'a RawValue>,
    tools: Option<Vec<WireTool>>,
    tool_choice: Option<Value>,
    parallel_tool_calls: Option<bool>,
    max_output_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    reasoning: Option<WireReasoning>,
    text: Option<WireText>,
    stream: Option<bool>,
    prompt_cache_key: Option<String>,
    user: Option<String>,
    safety_identifier: Option<String>,
    previous_response_id: Option<String>,
    conversation: Option<IgnoredAny>,
    prompt: Option<IgnoredAny>,
    background: Option<bool>,
    // Stateless proxying makes these meaningless; they are dropped with a debug log.
    store: Option<IgnoredAny>,
    include: Option<IgnoredAny>,
    metadata: Option<IgnoredAny>,
    client_metadata: Option<IgnoredAny>,
    service_tier: Option<IgnoredAny>,
    truncation: Option<IgnoredAny>,
    top_logprobs: Option<IgnoredAny>,
    max_tool_calls: Option<IgnoredAny>,
    stream_options: Option<IgnoredAny>,
    prompt_cache_retention: Option<IgnoredAny>,
    context_management: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct WireTool {
    #[serde(rename = "type")]
    ty: String,
    name: Option<String>,
    description: Option<String>,
    parameters: Option<Value>,
    /// A `namespace` tool's members.
    tools: Option<Vec<WireTool>>,
}

#[derive(Deserialize)]
struct WireReasoning {
    effort: Option<String>,
}

#[derive(Deserialize)]
struct WireText {
    format: Option<WireFormat>,
    verbosity: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct WireFormat {
    #[serde(rename = "type")]
    ty: String,
    name: Option<String>,
    schema: Option<Value>,
    strict: Option<bool>,
}

/// One input item, read flat (every kind's fields optional) so no item is buffered twice.
#[derive(Deserialize)]
struct WireItem<'a> {
    #[serde(rename = "type")]
    ty: Option<String>,
    role: Option<String>,
    /// A message's string or parts; a reasoning item's `reasoning_text` parts.
    #[serde(borrow)]
    content: Option<&'a RawValue>,
    call_id: Option<String>,
    name: Option<String>,
    arguments: Option<String>,
    id: Option<String>,
    #[serde(borrow)]
    output: Option<&'a RawValue>,
    summary: Option<Vec<WireSummary>>,
    encrypted_content: Option<String>,
}

#[derive(Deserialize)]
struct WireSummary {
    text: Option<String>,
}

/// A content part of any kind (`input_text`, `output_text`, `refusal`, `input_image`, `input_file`, …).
#[derive(Deserialize)]
struct WirePart {
    #[serde(rename = "type")]
    ty: String,
    text: Option<String>,
    refusal: Option<String>,
    /// A string in Responses; `{url}` as Chat writes it is accepted too.
    image_url: Option<Value>,
    file_id: Option<String>,
    file_data: Option<String>,
    file_url: Option<String>,
    filename: Option<String>,
}

/// Decodes a client's request. A feature the IR cannot carry (a built-in tool such as `web_search`,
/// `previous_response_id`, stored items) fails with [`TranslateError::Unsupported`] — this only runs when
/// the request is being translated for another format (same-format traffic passes through undecoded).
/// Its `target` is a placeholder (`OpenAiResponses`): a caller that knows the upstream should call
/// [`decode_request_for`] so the error names the real target.
pub fn decode_request(body: &[u8]) -> Result<ir::Request, TranslateError> {
    decode_request_for(body, Format::OpenAiResponses)
}

/// [`decode_request`], naming `target` (the upstream's format) in `Unsupported` errors.
pub fn decode_request_for(body: &[u8], target: Format) -> Result<ir::Request, TranslateError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let wire: WireRequest = serde_path_to_error::deserialize(de)
        .map_err(|e| TranslateError::Invalid(format!("invalid Responses request: {e}")))?;
    let unsupported = |feature: String| TranslateError::Unsupported { feature, target };

    if wire.previous_response_id.is_some() {
        return Err(unsupported(
            "previous_response_id (stored conversation state)".into(),
        ));
    }
    if wire.conversation.is_some() {
        return Err(unsupported(
            "conversation (stored conversation state)".into(),
        ));
    }
    if wire.prompt.is_some() {
        return Err(unsupported("a stored prompt template (prompt)".into()));
    }
    if wire.background == Some(true) {
        return Err(unsupported("background mode".into()));
    }
    log_ignored(&wire);

    let mut req = ir::Request {
        model: wire.model.unwrap_or_default(),
        stream: wire.stream.unwrap_or(false),
        parallel_tool_calls: wire.parallel_tool_calls,
        max_tokens: wire.max_output_tokens,
        temperature: wire.temperature,
        top_p: wire.top_p,
        user: wire.user.or(wire.safety_identifier),
        cache_key: wire.prompt_cache_key,
        ..ir::Request::default()
    };
    if let Some(instructions) = wire.instructions.filter(|s| !s.is_empty()) {
        req.system.push(instructions);
    }
    if let Some(input) = wire.input {
        decode_input(input, &mut req, &unsupported)?;
    }
    req.tools = decode_tools(wire.tools.unwrap_or_default(), &unsupported)?;
    if let Some(choice) = wire.tool_choice.filter(|v| !v.is_null()) {
        req.tool_choice = Some(decode_tool_choice(&choice, &mut req.tools, &unsupported)?);
    }
    if let Some(effort) = wire.reasoning.and_then(|r| r.effort) {
        let effort = Effort::parse(&effort).ok_or_else(|| {
            TranslateError::Invalid(format!("unknown reasoning.effort {effort:?}"))
        })?;
        req.reasoning = Some(Reasoning::Effort(effort));
    }
    if let Some(text) = wire.text {
        if text.verbosity.is_some() {
            tracing::debug!("dropping text.verbosity: no equivalent in the IR");
        }
        req.output = text.format.map(decode_format).transpose()?.flatten();
    }
    Ok(req)
}

fn log_ignored(wire: &WireRequest<'_>) {
    let ignored = [
        ("store", wire.store.is_some()),
        ("include", wire.include.is_some()),
        ("metadata", wire.metadata.is_some()),
        ("client_metadata", wire.client_metadata.is_some()),
        ("service_tier", wire.service_tier.is_some()),
        ("truncation", wire.truncation.is_some()),
        ("top_logprobs", wire.top_logprobs.is_some()),
        ("max_tool_calls", wire.max_tool_calls.is_some()),
        ("stream_options", wire.stream_options.is_some()),
        (
            "prompt_cache_retention",
            wire.prompt_cache_retention.is_some(),
        ),
        ("context_management", wire.context_management.is_some()),
    ];
    for (name, present) in ignored {
        if present {
            tracing::debug!(
                field = name,
                "ignoring a Responses field the translation does not carry"
            );
        }
    }
}

fn decode_format(format: WireFormat) -> Result<Option<OutputFormat>, TranslateError> {
    Ok(match format.ty.as_str() {
        "text" => None,
        "json_object" => Some(OutputFormat::JsonObject),
        "json_schema" => Some(OutputFormat::JsonSchema {
            name: format.name.unwrap_or_else(|| "response".into()),
            schema: format.schema.ok_or_else(|| {
                TranslateError::Invalid("text.format json_schema needs a schema".into())
            })?,
            strict: format.strict,
        }),
        other => {
            return Err(TranslateError::Invalid(format!(
                "unknown text.format type {other:?}"
            )))
        }
    })
}

/// Appends parts to the conversation, merging consecutive parts of one role into one message.
fn push_part(messages: &mut Vec<Message>, role: Role, part: Part) {
    match messages.last_mut() {
        Some(last) if last.role == role => last.content.push(part),
        _ => messages.push(Message {
            role,
            content: vec![part],
        }),
    }
}

fn decode_input(
    input: &RawValue,
    req: &mut ir::Request,
    unsupported: &dyn Fn(String) -> TranslateError,
) -> Result<(), TranslateError> {
    let raw = input.get().trim_start();
    if raw.starts_with('"') {
        let text: String = parse(input, "input")?;
        push_part(&mut req.messages, Role::User, Part::Text { text });
        return Ok(());
    }
    let items: Vec<WireItem> = parse(input, "input")?;
    // Gemini needs a tool result's function name; Responses only links it by call_id.
    let mut call_names: HashMap<String, String> = HashMap::new();
    for item in items {
        let ty = item.ty.as_deref().unwrap_or("message");
        match ty {
            "message" => decode_message(item, req, unsupported)?,
            "function_call" => {
                let (Some(call_id), Some(name)) = (item.call_id, item.name) else {
                    return Err(TranslateError::Invalid(
                        "a function_call item needs call_id and name".into(),
                    ));
                };
                call_names.insert(call_id.clone(), name.clone());
                let part = Part::ToolCall {
                    id: call_id,
                    name,
                    arguments: item.arguments.unwrap_or_else(|| "{}".into()),
                    signature: None,
                };
                push_part(&mut req.messages, Role::Assistant, part);
            }
            "function_call_output" => {
                let call_id = item.call_id.ok_or_else(|| {
                    TranslateError::Invalid("a function_call_output item needs call_id".into())
                })?;
                let content = match item.output {
                    Some(output) => decode_tool_output(output, unsupported)?,
                    None => Vec::new(),
                };
                let part = Part::ToolResult {
                    name: call_names.get(&call_id).cloned(),
                    call_id,
                    content,
                    is_error: false,
                };
                push_part(&mut req.messages, Role::User, part);
            }
            "reasoning" => {
                if let Some(part) = decode_reasoning(item)? {
                    push_part(&mut req.messages, Role::Assistant, part);
                }
            }
            "item_reference" => {
                return Err(unsupported(
                    "an item_reference input item (stored items; requests are proxied statelessly)"
                        .into(),
                ))
            }
            other => return Err(unsupported(format!("a {other} input item"))),
        }
    }
    Ok(())
}

fn parse<'a, T: Deserialize<'a>>(raw: &'a RawValue, what: &str) -> Result<T, TranslateError> {
    serde_json::from_str(raw.get())
        .map_err(|e| TranslateError::Invalid(format!("invalid Responses request: {what}: {e}")))
}

/// A message's `content`: a string, or parts.
fn content_parts(raw: Option<&RawValue>) -> Result<Vec<WirePart>, TranslateError> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    match raw.get().trim_start().as_bytes().first() {
        Some(b'"') => Ok(vec![WirePart {
            ty: "input_text".into(),
            text: Some(parse(raw, "message content")?),
            refusal: None,
            image_url: None,
            file_id: None,
            file_data: None,
            file_url: None,
            filename: None,
        }]),
        Some(b'n') => Ok(Vec::new()),
        _ => parse(raw, "message content"),
    }
}

fn decode_message(
    item: WireItem<'_>,
    req: &mut ir::Request,
    unsupported: &dyn Fn(String) -> TranslateError,
) -> Result<(), TranslateError> {
    let role = match item.role.as_deref() {
        Some("user") => Role::User,
        Some("assistant") => Role::Assistant,
        Some("system" | "developer") => {
            for part in content_parts(item.content)? {
                match decode_part(part, unsupported)? {
                    Some(Part::Text { text }) => req.system.push(text),
                    Some(_) => {
                        return Err(unsupported(
                            "a non-text part in a system or developer message".into(),
                        ))
                    }
                    None => {}
                }
            }
            return Ok(());
        }
        Some(other) => {
            return Err(TranslateError::Invalid(format!(
                "unknown message role {other:?}"
            )))
        }
        None => {
            return Err(TranslateError::Invalid(
                "a message item needs a role".into(),
            ))
        }
    };
    for part in content_parts(item.content)? {
        if let Some(part) = decode_part(part, unsupported)? {
            push_part(&mut req.messages, role, part);
        }
    }
    Ok(())
}

/// One content part. Empty text parts carry nothing and would be rejected by Claude, so they are skipped.
fn decode_part(
    part: WirePart,
    unsupported: &dyn Fn(String) -> TranslateError,
) -> Result<Option<Part>, TranslateError> {
    let missing =
        |field: &str| TranslateError::Invalid(format!("an {} part needs {field}", part.ty));
    Ok(Some(match part.ty.as_str() {
        "input_text" | "output_text" | "text" => {
            let text = part.text.clone().ok_or_else(|| missing("text"))?;
            if text.is_empty() {
                return Ok(None);
            }
            Part::Text { text }
        }
        "refusal" => Part::Text {
            text: part.refusal.clone().ok_or_else(|| missing("refusal"))?,
        },
        "input_image" => {
            let url = match &part.image_url {
                Some(Value::String(url)) => url.as_str(),
                Some(Value::Object(o)) => o
                    .get("url")
                    .and_then(Value::as_str)
                    .ok_or_else(|| missing("image_url"))?,
                _ if part.file_id.is_some() => {
                    return Err(unsupported(
                        "an input_image given by file_id (uploaded files)".into(),
                    ))
                }
                _ => return Err(missing("image_url")),
            };
            Part::Image {
                source: media_source(url, None)?,
            }
        }
        "input_file" => {
            let source = if let Some(data) = &part.file_data {
                media_source(data, part.filename.as_deref())?
            } else if let Some(url) = &part.file_url {
                MediaSource::Url(url.clone())
            } else if part.file_id.is_some() {
                return Err(unsupported(
                    "an input_file given by file_id (uploaded files)".into(),
                ));
            } else {
                return Err(missing("file_data or file_url"));
            };
            Part::Document {
                source,
                title: part.filename.clone(),
            }
        }
        other => return Err(unsupported(format!("an {other} content part"))),
    }))
}

/// A URL or data URL. `file_data` may also be bare base64; its type is then guessed from the file name.
fn media_source(url: &str, filename: Option<&str>) -> Result<MediaSource, TranslateError> {
    if let Some((media_type, data)) = parse_data_url(url) {
        return Ok(MediaSource::Base64 {
            media_type: media_type.to_string(),
            data: data.to_string(),
        });
    }
    if url.starts_with("data:") {
        return Err(TranslateError::Invalid(
            "a data URL must be base64-encoded".into(),
        ));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        return Ok(MediaSource::Url(url.to_string()));
    }
    match filename {
        Some(name) => Ok(MediaSource::Base64 {
            media_type: media_type_for(name).to_string(),
            data: url.to_string(),
        }),
        None => Err(TranslateError::Invalid(format!(
            "expected an http(s) or data URL, got {:?}",
            url.chars().take(32).collect::<String>()
        ))),
    }
}

fn media_type_for(filename: &str) -> &'static str {
    let ext = filename.rsplit('.').next().unwrap_or_default();
    match ext.to_ascii_lowercase().as_str() {
        "txt" | "md" => "text/plain",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        _ => "application/pdf",
    }
}

fn decode_tool_output(
    output: &RawValue,
    unsupported: &dyn Fn(String) -> TranslateError,
) -> Result<Vec<Part>, TranslateError> {
    match output.get().trim_start().as_bytes().first() {
        Some(b'"') => {
            let text: String = parse(output, "function_call_output.output")?;
            Ok(vec![Part::Text { text }])
        }
        Some(b'n') => Ok(Vec::new()),
        _ => {
            let parts: Vec<WirePart> = parse(output, "function_call_output.output")?;
            let mut out = Vec::with_capacity(parts.len());
            for part in parts {
                if let Some(part) = decode_part(part, unsupported)? {
                    out.push(part);
                }
            }
            Ok(out)
        }
    }
}

/// A reasoning item; one that carries neither text nor a token says nothing and is skipped.
fn decode_reasoning(item: WireItem<'_>) -> Result<Option<Part>, TranslateError> {
    let mut texts: Vec<String> = item
        .summary
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| s.text)
        .collect();
    if texts.is_empty() {
        // Raw reasoning (`reasoning_text` parts) stands in when there is no summary.
        if let Some(content) = item
            .content
            .filter(|c| c.get().trim_start().starts_with('['))
        {
            let parts: Vec<WireSummary> = parse(content, "reasoning content")?;
            texts = parts.into_iter().filter_map(|p| p.text).collect();
        }
    }
    let text = texts.join("\n\n");
    let (signature, redacted) = match item.encrypted_content {
        Some(token) => {
            let (token, redacted) = unmark_redacted(token);
            (Some(token), redacted)
        }
        None => (None, false),
    };
    if text.is_empty() && signature.is_none() {
        tracing::debug!("skipping an empty reasoning item");
        return Ok(None);
    }
    Ok(Some(Part::Reasoning {
        text,
        signature,
        redacted,
        id: item.id,
    }))
}

/// Function tools, with `namespace` tools flattened into their members (named as given). Built-in tools
/// (`web_search`, `file_search`, `custom`, …) run on OpenAI's side or take freeform input; no other
/// format can host them, so they fail the translation rather than vanish.
fn decode_tools(
    tools: Vec<WireTool>,
    unsupported: &dyn Fn(String) -> TranslateError,
) -> Result<Vec<Tool>, TranslateError> {
    let mut out = Vec::with_capacity(tools.len());
    let mut seen = HashSet::new();
    let mut add = |tool: Tool| {
        if seen.insert(tool.name.clone()) {
            out.push(tool);
            Ok(())
        } else {
            Err(unsupported(format!(
                "two tools named `{}` (namespaces cannot be kept apart)",
                tool.name
            )))
        }
    };
    for tool in tools {
        match tool.ty.as_str() {
            "function" => add(function_tool(tool, None)?)?,
            "namespace" => {
                let ns_name = tool.name.unwrap_or_default();
                for member in tool.tools.unwrap_or_default() {
                    if member.ty != "function" {
                        return Err(unsupported(format!(
                            "the {} tool `{}` in namespace `{ns_name}`",
                            member.ty,
                            member.name.unwrap_or_default()
                        )));
                    }
                    add(function_tool(member, tool.description.as_deref())?)?;
                }
            }
            other => {
                return Err(unsupported(match tool.name {
                    Some(name) => format!("the {other} tool `{name}`"),
                    None => format!("the {other} tool"),
                }))
            }
        }
    }
    Ok(out)
}

/// A function tool. A namespace's description opens its members' descriptions: a flat tool has no other
/// place to say which server it belongs to.
fn function_tool(
    tool: WireTool,
    namespace_description: Option<&str>,
) -> Result<Tool, TranslateError> {
    let name = tool
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| TranslateError::Invalid("a function tool needs a name".into()))?;
    let description = match (
        namespace_description.filter(|d| !d.trim().is_empty()),
        tool.description,
    ) {
        (Some(ns), Some(d)) if !d.trim().is_empty() => Some(format!("{ns}\n\n{d}")),
        (Some(ns), _) => Some(ns.to_string()),
        (None, d) => d,
    };
    Ok(Tool {
        name,
        description,
        parameters: tool.parameters.filter(|p| !p.is_null()),
    })
}

fn decode_tool_choice(
    choice: &Value,
    tools: &mut Vec<Tool>,
    unsupported: &dyn Fn(String) -> TranslateError,
) -> Result<ToolChoice, TranslateError> {
    let invalid = || TranslateError::Invalid(format!("unknown tool_choice {choice}"));
    if let Some(mode) = choice.as_str() {
        return match mode {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Required),
            _ => Err(invalid()),
        };
    }
    match choice.get("type").and_then(Value::as_str) {
        Some("function") => {
            let name = choice
                .get("name")
                .and_then(Value::as_str)
                .ok_or_else(invalid)?;
            Ok(ToolChoice::Tool(name.to_string()))
        }
        // Restricting the model to a subset is the same as offering only that subset.
        Some("allowed_tools") => {
            let allowed: HashSet<&str> = choice
                .get("tools")
                .and_then(Value::as_array)
                .ok_or_else(invalid)?
                .iter()
                .filter_map(|t| t.get("name").and_then(Value::as_str))
                .collect();
            tools.retain(|t| allowed.contains(t.name.as_str()));
            match choice.get("mode").and_then(Value::as_str) {
                Some("required") => Ok(ToolChoice::Required),
                Some("auto") | None => Ok(ToolChoice::Auto),
                Some(_) => Err(invalid()),
            }
        }
        Some(other) => Err(unsupported(format!("tool_choice forcing the {other} tool"))),
        None => Err(invalid()),
    }
}
