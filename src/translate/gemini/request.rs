//! `GenerateContentRequest` ↔ [`ir::Request`].

use std::collections::HashMap;

use serde_json::Value;

use super::parts::{decode_parts, CallIds, EncodeCtx, Source};
use super::schema::openapi_to_json_schema;
use super::wire::{self, ContentOut, PartOut, RequestOut};
use super::{bare_model, ir, is_gemini3_or_later, SKIP_SIGNATURE};
use crate::translate::TranslateError;
use crate::wire::Format;

fn unsupported(feature: impl Into<String>, target: Format) -> TranslateError {
    TranslateError::Unsupported {
        feature: feature.into(),
        target,
    }
}

fn invalid(message: impl Into<String>) -> TranslateError {
    TranslateError::Invalid(message.into())
}

/// Decodes a client's `generateContent` body. `model` comes from the URL; streaming is decided by the
/// URL too (`:streamGenerateContent`), so `stream` is left false for the router to set.
///
/// A feature the IR cannot carry (built-in tools, `cachedContent`, several candidates) fails with
/// [`TranslateError::Unsupported`]; this only runs when the request is translated for another format.
/// Its `target` is a placeholder (`Gemini`): a caller that knows the upstream should call
/// [`decode_request_for`] so the error names the real target.
pub fn decode_request(body: &[u8], model: &str) -> Result<ir::Request, TranslateError> {
    decode_request_for(body, model, Format::Gemini)
}

/// [`decode_request`], naming `target` (the upstream's format) in `Unsupported` errors.
pub fn decode_request_for(
    body: &[u8],
    model: &str,
    target: Format,
) -> Result<ir::Request, TranslateError> {
    let req: wire::GenerateContentRequest = match serde_json::from_slice(body) {
        Ok(req) => req,
        // Parse again only to say where the problem is; the fast path skips the path tracking.
        Err(e) => {
            let de = &mut serde_json::Deserializer::from_slice(body);
            let located = serde_path_to_error::deserialize::<_, wire::GenerateContentRequest>(de);
            let message = match located {
                Err(located) => located.to_string(),
                Ok(_) => e.to_string(),
            };
            return Err(invalid(format!("invalid Gemini request: {message}")));
        }
    };
    log_dropped_fields(body);
    let mut out = ir::Request {
        model: bare_model(model).to_string(),
        ..ir::Request::default()
    };

    if let Some(cached) = req.cached_content {
        return Err(unsupported(format!("cachedContent ({cached})"), target));
    }
    if req.safety_settings.is_some() {
        tracing::debug!("dropping safetySettings: no equivalent outside Gemini");
    }

    if let Some(system) = req.system_instruction {
        for part in system.parts {
            match part.text {
                Some(text) => out.system.push(text),
                None => return Err(unsupported("non-text parts in systemInstruction", target)),
            }
        }
    }

    let mut ids = CallIds::for_request();
    for content in req.contents {
        let role = match content.role.as_deref() {
            // A single-turn request may omit the role; the API treats it as the user's.
            None | Some("") | Some("user") | Some("function") => ir::Role::User,
            Some("model") => ir::Role::Assistant,
            Some(other) => return Err(invalid(format!("unknown content role {other:?}"))),
        };
        let mut parts = Vec::with_capacity(content.parts.len());
        decode_parts(content.parts, &mut ids, Source::Request(target), &mut parts)?;
        if parts.is_empty() {
            continue;
        }
        out.messages.push(ir::Message {
            role,
            content: parts,
        });
    }

    for tool in req.tools {
        decode_tool(tool, &mut out.tools, target)?;
    }
    if let Some(config) = req.tool_config.and_then(|c| c.function_calling_config) {
        out.tool_choice = decode_tool_choice(config, target)?;
    }
    if let Some(config) = req.generation_config {
        decode_generation_config(config, &mut out, target)?;
    }
    Ok(out)
}

/// Top-level fields the IR does not carry (`labels`, `model`, …), logged when debugging.
fn log_dropped_fields(body: &[u8]) {
    const USED: &[&str] = &[
        "contents",
        "systemInstruction",
        "system_instruction",
        "tools",
        "toolConfig",
        "tool_config",
        "generationConfig",
        "generation_config",
        "safetySettings",
        "safety_settings",
        "cachedContent",
        "cached_content",
    ];
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    if let Ok(wire::FieldNames(fields)) = serde_json::from_slice(body) {
        for key in fields.keys().filter(|k| !USED.contains(&k.as_str())) {
            tracing::debug!(field = key.as_str(), "dropping a Gemini request field");
        }
    }
}

fn decode_tool(
    tool: serde_json::Map<String, Value>,
    out: &mut Vec<ir::Tool>,
    target: Format,
) -> Result<(), TranslateError> {
    for (kind, value) in tool {
        match kind.as_str() {
            "functionDeclarations" | "function_declarations" => {
                let Value::Array(declarations) = value else {
                    return Err(invalid("functionDeclarations must be an array"));
                };
                for declaration in declarations {
                    out.push(decode_declaration(declaration)?);
                }
            }
            // Built-in tools run inside Google's service; no other upstream can run them.
            other => {
                return Err(unsupported(
                    format!("the Gemini built-in tool {other}"),
                    target,
                ))
            }
        }
    }
    Ok(())
}

fn decode_declaration(declaration: Value) -> Result<ir::Tool, TranslateError> {
    let Value::Object(mut d) = declaration else {
        return Err(invalid("a function declaration must be an object"));
    };
    let name = match d.remove("name") {
        Some(Value::String(name)) if !name.is_empty() => name,
        _ => return Err(invalid("a function declaration has no name")),
    };
    let description = match d.remove("description") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let json_schema = d
        .remove("parametersJsonSchema")
        .or_else(|| d.remove("parameters_json_schema"));
    let openapi = d.remove("parameters");
    let parameters = match (json_schema, openapi) {
        (Some(schema), _) if !schema.is_null() => Some(schema),
        (_, Some(schema)) if !schema.is_null() => Some(openapi_to_json_schema(&schema)),
        _ => None,
    };
    if d.contains_key("response") || d.contains_key("responseJsonSchema") {
        tracing::debug!(
            tool = name.as_str(),
            "dropping a function's response schema"
        );
    }
    Ok(ir::Tool {
        name,
        description,
        parameters,
    })
}

fn decode_tool_choice(
    config: wire::FunctionCallingConfig,
    target: Format,
) -> Result<Option<ir::ToolChoice>, TranslateError> {
    let mode = config.mode.unwrap_or_default().to_ascii_uppercase();
    let names = config.allowed_function_names;
    let choice = match mode.as_str() {
        "" | "MODE_UNSPECIFIED" => None,
        "AUTO" | "VALIDATED" => Some(ir::ToolChoice::Auto),
        "NONE" => Some(ir::ToolChoice::None),
        "ANY" => Some(match names.as_slice() {
            [only] => ir::ToolChoice::Tool(only.clone()),
            _ => ir::ToolChoice::Required,
        }),
        other => {
            return Err(invalid(format!(
                "unknown functionCallingConfig.mode {other}"
            )))
        }
    };
    if names.len() > 1 || (names.len() == 1 && mode != "ANY") {
        return Err(unsupported(
            "functionCallingConfig.allowedFunctionNames",
            target,
        ));
    }
    Ok(choice)
}

fn decode_generation_config(
    config: wire::GenerationConfig,
    out: &mut ir::Request,
    target: Format,
) -> Result<(), TranslateError> {
    if config.candidate_count.is_some_and(|n| n > 1) {
        return Err(unsupported("candidateCount > 1", target));
    }
    if config
        .response_modalities
        .iter()
        .any(|m| !m.eq_ignore_ascii_case("TEXT"))
    {
        return Err(unsupported(
            format!(
                "responseModalities {}",
                config.response_modalities.join(",")
            ),
            target,
        ));
    }
    out.max_tokens = config.max_output_tokens;
    out.temperature = config.temperature;
    out.top_p = config.top_p;
    out.top_k = config.top_k.filter(|k| *k >= 0.0).map(|k| k as u64);
    out.stop = config.stop_sequences;

    let json_schema = config.response_json_schema.filter(|s| !s.is_null());
    let openapi_schema = config.response_schema.filter(|s| !s.is_null());
    match config.response_mime_type.as_deref() {
        Some("application/json") => {
            let schema = json_schema.or_else(|| openapi_schema.map(|s| openapi_to_json_schema(&s)));
            out.output = Some(match schema {
                Some(schema) => ir::OutputFormat::JsonSchema {
                    name: "response".to_string(),
                    schema,
                    strict: None,
                },
                None => ir::OutputFormat::JsonObject,
            });
        }
        None | Some("text/plain") | Some("") => {}
        Some(other) => return Err(unsupported(format!("responseMimeType {other}"), target)),
    }

    if let Some(thinking) = config.thinking_config {
        out.reasoning = decode_thinking(thinking)?;
    }
    for key in config.extra.keys() {
        tracing::debug!(field = key.as_str(), "dropping a generationConfig field");
    }
    Ok(())
}

fn decode_thinking(config: wire::ThinkingConfig) -> Result<Option<ir::Reasoning>, TranslateError> {
    if let Some(level) = config.thinking_level.as_deref().filter(|l| !l.is_empty()) {
        if level.eq_ignore_ascii_case("THINKING_LEVEL_UNSPECIFIED") {
            return Ok(None);
        }
        return match ir::Effort::parse(level) {
            Some(effort) => Ok(Some(ir::Reasoning::Effort(effort))),
            None => Err(invalid(format!("unknown thinkingLevel {level}"))),
        };
    }
    Ok(match config.thinking_budget {
        Some(-1) => Some(ir::Reasoning::Effort(ir::Effort::Auto)),
        Some(0) => Some(ir::Reasoning::Effort(ir::Effort::None)),
        Some(b) if b > 0 => Some(ir::Reasoning::Budget(b as u64)),
        Some(b) => return Err(invalid(format!("invalid thinkingBudget {b}"))),
        // Asking to see thoughts without a budget means "think as you normally would".
        None if config.include_thoughts == Some(true) => {
            Some(ir::Reasoning::Effort(ir::Effort::Auto))
        }
        None => None,
    })
}

/// Encodes a request for a Gemini upstream (the model goes in the URL, not the body).
pub fn encode_request(req: &ir::Request) -> Result<Vec<u8>, TranslateError> {
    let gemini3 = is_gemini3_or_later(&req.model);
    let mut ctx = EncodeCtx {
        names: HashMap::new(),
        strict: true,
        lone_signature_as_thought: false,
    };
    let mut contents: Vec<ContentOut<'_>> = Vec::with_capacity(req.messages.len());
    for message in &req.messages {
        let role = match message.role {
            ir::Role::User => "user",
            ir::Role::Assistant => "model",
        };
        let mut parts = Vec::with_capacity(message.content.len());
        match message.role {
            ir::Role::User => encode_user_parts(&mut ctx, &message.content, &mut parts)?,
            ir::Role::Assistant => ctx.encode_parts(&message.content, &mut parts)?,
        }
        if parts.is_empty() {
            continue;
        }
        // Gemini expects alternating turns; consecutive same-role messages become one.
        match contents.last_mut() {
            Some(last) if last.role == role => last.parts.append(&mut parts),
            _ => contents.push(ContentOut { role, parts }),
        }
    }
    if gemini3 {
        sign_unsigned_calls(&mut contents);
    }

    let tools = if req.tools.is_empty() {
        Vec::new()
    } else {
        vec![wire::ToolOut {
            function_declarations: req
                .tools
                .iter()
                .map(|t| wire::FunctionDeclarationOut {
                    name: &t.name,
                    description: t.description.as_deref(),
                    parameters_json_schema: t.parameters.as_ref(),
                })
                .collect(),
        }]
    };
    let tool_config = req.tool_choice.as_ref().map(|choice| wire::ToolConfigOut {
        function_calling_config: match choice {
            ir::ToolChoice::Auto => wire::FunctionCallingConfigOut {
                mode: "AUTO",
                allowed_function_names: None,
            },
            ir::ToolChoice::None => wire::FunctionCallingConfigOut {
                mode: "NONE",
                allowed_function_names: None,
            },
            ir::ToolChoice::Required => wire::FunctionCallingConfigOut {
                mode: "ANY",
                allowed_function_names: None,
            },
            ir::ToolChoice::Tool(name) => wire::FunctionCallingConfigOut {
                mode: "ANY",
                allowed_function_names: Some([name.as_str()]),
            },
        },
    });
    if req.parallel_tool_calls == Some(false) {
        tracing::debug!("dropping parallel_tool_calls=false: Gemini has no such switch");
    }
    if req.user.is_some() || req.cache_key.is_some() {
        tracing::debug!("dropping user / prompt cache key: Gemini has no equivalent");
    }

    let (response_mime_type, response_json_schema) = match &req.output {
        None => (None, None),
        Some(ir::OutputFormat::JsonObject) => (Some("application/json"), None),
        Some(ir::OutputFormat::JsonSchema { schema, .. }) => {
            (Some("application/json"), Some(schema))
        }
    };
    let body = RequestOut {
        contents,
        system_instruction: (!req.system.is_empty()).then(|| wire::SystemOut {
            parts: req
                .system
                .iter()
                .map(|text| wire::TextOut { text })
                .collect(),
        }),
        tools,
        tool_config,
        generation_config: wire::GenerationConfigOut {
            max_output_tokens: req.max_tokens,
            temperature: req.temperature,
            top_p: req.top_p,
            top_k: req.top_k,
            stop_sequences: &req.stop,
            response_mime_type,
            response_json_schema,
            thinking_config: req.reasoning.as_ref().map(|r| thinking_config(r, gemini3)),
        },
    };
    serde_json::to_vec(&body).map_err(|e| invalid(format!("could not encode the request: {e}")))
}

fn encode_user_parts<'a>(
    ctx: &mut EncodeCtx<'a>,
    content: &'a [ir::Part],
    out: &mut Vec<PartOut<'a>>,
) -> Result<(), TranslateError> {
    if content
        .iter()
        .all(|p| !matches!(p, ir::Part::Reasoning { .. }))
    {
        return ctx.encode_parts(content, out);
    }
    // Thoughts belong to the model's turns; encode around them.
    tracing::debug!("dropping reasoning found in a user message");
    for part in content {
        if !matches!(part, ir::Part::Reasoning { .. }) {
            ctx.encode_parts(std::slice::from_ref(part), out)?;
        }
    }
    Ok(())
}

/// Gemini 3 rejects an unsigned function call in the turn being continued. Calls from another model's
/// history carry no signature, so the first call of each model turn gets Google's documented bypass value
/// (only the first of parallel calls is signed).
fn sign_unsigned_calls(contents: &mut [ContentOut<'_>]) {
    for content in contents.iter_mut().filter(|c| c.role == "model") {
        if let Some(first) = content.parts.iter_mut().find(|p| p.function_call.is_some()) {
            if first.thought_signature.is_none() {
                first.thought_signature = Some(SKIP_SIGNATURE);
            }
        }
    }
}

fn thinking_config(reasoning: &ir::Reasoning, gemini3: bool) -> wire::ThinkingConfigOut {
    if gemini3 {
        // Gemini 3 cannot switch thinking off and documents two levels for all its models: low and high.
        let effort = reasoning.effort();
        let level = match effort {
            ir::Effort::Auto => None,
            ir::Effort::None | ir::Effort::Minimal | ir::Effort::Low => Some("low"),
            ir::Effort::Medium | ir::Effort::High | ir::Effort::XHigh | ir::Effort::Max => {
                Some("high")
            }
        };
        return wire::ThinkingConfigOut {
            thinking_budget: None,
            thinking_level: level,
            include_thoughts: (effort != ir::Effort::None).then_some(true),
        };
    }
    // 32768 is the largest budget any Gemini 2.5 model accepts.
    let budget = reasoning.budget().min(32768);
    wire::ThinkingConfigOut {
        thinking_budget: Some(budget),
        thinking_level: None,
        include_thoughts: (budget != 0).then_some(true),
    }
}
