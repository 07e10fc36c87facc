//! A Claude client's `POST /v1/messages` body → IR.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use serde::de::{self, IgnoredAny};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::translate::{ir, TranslateError};

#[derive(Deserialize)]
struct WireRequest {
    model: String,
    system: Option<Content>,
    messages: Vec<WireMessage>,
    tools: Option<Vec<WireTool>>,
    tool_choice: Option<WireToolChoice>,
    max_tokens: Option<u64>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    top_k: Option<u64>,
    stop_sequences: Option<Vec<String>>,
    stream: Option<bool>,
    thinking: Option<WireThinking>,
    output_config: Option<WireOutputConfig>,
    /// The structured-outputs beta spelling, since moved to `output_config.format`.
    output_format: Option<WireOutputFormat>,
    metadata: Option<WireMetadata>,
    mcp_servers: Option<Vec<IgnoredAny>>,
    // Anthropic-side conveniences the IR has no place for; dropping them changes cost or latency, not the
    // answer. Listed only to log that they were dropped.
    context_management: Option<IgnoredAny>,
    container: Option<IgnoredAny>,
    service_tier: Option<IgnoredAny>,
    cache_control: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct WireMessage {
    role: String,
    content: Content,
}

/// A string or a list of content blocks (messages, `system`, tool results all allow both).
enum Content {
    Text(String),
    Blocks(Vec<Block>),
}

// Hand-written rather than `#[serde(untagged)]` so a malformed block reports its own error (with its
// path) instead of "data did not match any variant".
impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Content;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of content blocks")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Content, E> {
                Ok(Content::Text(s.to_string()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<Content, E> {
                Ok(Content::Text(s))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(0));
                while let Some(b) = seq.next_element()? {
                    blocks.push(b);
                }
                Ok(Content::Blocks(blocks))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    Image {
        source: Source,
    },
    Document {
        source: Source,
        title: Option<String>,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        content: Option<Content>,
        is_error: Option<bool>,
    },
    Thinking {
        #[serde(default)]
        thinking: String,
        signature: Option<String>,
    },
    RedactedThinking {
        data: String,
    },
    /// Blocks that record server-side tool runs: they only mean something to Anthropic itself.
    #[serde(
        rename = "server_tool_use",
        alias = "web_search_tool_result",
        alias = "web_fetch_tool_result",
        alias = "code_execution_tool_result",
        alias = "bash_code_execution_tool_result",
        alias = "text_editor_code_execution_tool_result",
        alias = "tool_search_tool_result",
        alias = "mcp_tool_use",
        alias = "mcp_tool_result",
        alias = "container_upload"
    )]
    ServerSide {},
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Source {
    Base64 { media_type: String, data: String },
    Url { url: String },
    Text { data: String },
    Content { content: Content },
    File {},
}

#[derive(Deserialize)]
struct WireTool {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: String,
    description: Option<String>,
    input_schema: Option<Value>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireToolChoice {
    Auto {
        disable_parallel_tool_use: Option<bool>,
    },
    Any {
        disable_parallel_tool_use: Option<bool>,
    },
    Tool {
        name: String,
        disable_parallel_tool_use: Option<bool>,
    },
    None {},
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireThinking {
    Enabled { budget_tokens: u64 },
    Disabled {},
    Adaptive {},
}

#[derive(Deserialize)]
struct WireOutputConfig {
    effort: Option<String>,
    format: Option<WireOutputFormat>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireOutputFormat {
    JsonSchema { schema: Value },
}

#[derive(Deserialize)]
struct WireMetadata {
    user_id: Option<String>,
}

/// The name given to Claude's (nameless) output schema; OpenAI requires one.
const SCHEMA_NAME: &str = "response";

pub(super) fn decode(body: &[u8]) -> Result<ir::Request, TranslateError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let wire: WireRequest = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| TranslateError::Invalid(format!("invalid Messages request: {e}")))?;

    if wire.mcp_servers.as_ref().is_some_and(|s| !s.is_empty()) {
        return Err(invalid(
            "mcp_servers: the MCP connector runs inside Anthropic's API and is not available for this model",
        ));
    }

    for (name, present) in [
        ("context_management", wire.context_management.is_some()),
        ("container", wire.container.is_some()),
        ("service_tier", wire.service_tier.is_some()),
        ("cache_control", wire.cache_control.is_some()),
    ] {
        if present {
            tracing::debug!(
                field = name,
                "Anthropic-only request field dropped in translation"
            );
        }
    }

    let mut req = ir::Request {
        model: wire.model,
        max_tokens: wire.max_tokens,
        temperature: wire.temperature,
        top_p: wire.top_p,
        top_k: wire.top_k,
        stop: wire.stop_sequences.unwrap_or_default(),
        stream: wire.stream.unwrap_or(false),
        user: wire.metadata.and_then(|m| m.user_id),
        ..Default::default()
    };

    if let Some(system) = wire.system {
        req.system.extend(system_texts(system, "system")?);
    }

    let mut names: HashMap<String, String> = HashMap::new();
    let mut seen_turn = false;
    for (i, m) in wire.messages.into_iter().enumerate() {
        let role = match m.role.as_str() {
            "user" => ir::Role::User,
            "assistant" => ir::Role::Assistant,
            "system" => {
                let texts = system_texts(m.content, &format!("messages[{i}]"))?;
                if !seen_turn {
                    req.system.extend(texts);
                } else {
                    // The IR has no mid-conversation system prompt. Hoisting the text to the top would move
                    // an instruction that refers to "now" (Claude Code's mode switches, reminders) away from
                    // the turn it belongs to; as user text it stays in place, which keeps its meaning.
                    let parts = texts.into_iter().map(|text| ir::Part::Text { text });
                    match req.messages.last_mut() {
                        Some(last) if last.role == ir::Role::User => last.content.extend(parts),
                        _ => req.messages.push(ir::Message {
                            role: ir::Role::User,
                            content: parts.collect(),
                        }),
                    }
                }
                continue;
            }
            other => {
                return Err(invalid(&format!(
                    "messages[{i}].role: `{other}` is not one of user, assistant, system"
                )))
            }
        };
        seen_turn = true;
        let content = match m.content {
            Content::Text(text) => vec![ir::Part::Text { text }],
            Content::Blocks(blocks) => {
                let mut parts = Vec::with_capacity(blocks.len());
                for (j, b) in blocks.into_iter().enumerate() {
                    parts.push(part(b, &mut names, &|| {
                        format!("messages[{i}].content[{j}]")
                    })?);
                }
                parts
            }
        };
        req.messages.push(ir::Message { role, content });
    }

    for (i, t) in wire.tools.unwrap_or_default().into_iter().enumerate() {
        if let Some(kind) = t.kind.as_deref().filter(|k| *k != "custom") {
            return Err(invalid(&format!(
                "tools[{i}]: `{}` (type {kind}) is an Anthropic server tool; it runs inside Anthropic's API \
                 and is not available for this model",
                t.name
            )));
        }
        req.tools.push(ir::Tool {
            name: t.name,
            description: t.description,
            parameters: t.input_schema,
        });
    }

    if let Some(choice) = wire.tool_choice {
        let (choice, disable_parallel) = match choice {
            WireToolChoice::Auto {
                disable_parallel_tool_use,
            } => (ir::ToolChoice::Auto, disable_parallel_tool_use),
            WireToolChoice::Any {
                disable_parallel_tool_use,
            } => (ir::ToolChoice::Required, disable_parallel_tool_use),
            WireToolChoice::Tool {
                name,
                disable_parallel_tool_use,
            } => (ir::ToolChoice::Tool(name), disable_parallel_tool_use),
            WireToolChoice::None {} => (ir::ToolChoice::None, None),
        };
        req.tool_choice = Some(choice);
        req.parallel_tool_calls = disable_parallel.map(|d| !d);
    }

    let (effort, format) = match wire.output_config {
        Some(c) => (c.effort, c.format),
        None => (None, None),
    };
    let effort = effort
        .map(|e| {
            ir::Effort::parse(&e)
                .ok_or_else(|| invalid(&format!("output_config.effort: unknown effort `{e}`")))
        })
        .transpose()?;
    req.reasoning = match (wire.thinking, effort) {
        (Some(WireThinking::Enabled { budget_tokens }), _) => {
            Some(ir::Reasoning::Budget(budget_tokens))
        }
        (Some(WireThinking::Disabled {}), _) => Some(ir::Reasoning::Effort(ir::Effort::None)),
        (Some(WireThinking::Adaptive {}), e) => {
            Some(ir::Reasoning::Effort(e.unwrap_or(ir::Effort::Auto)))
        }
        // Effort without thinking still tells the model how much work to put in: the IR's effort level is the
        // same dial for the other formats.
        (None, Some(e)) => Some(ir::Reasoning::Effort(e)),
        (None, None) => None,
    };
    req.output = format.or(wire.output_format).map(|f| match f {
        WireOutputFormat::JsonSchema { schema } => ir::OutputFormat::JsonSchema {
            name: SCHEMA_NAME.to_string(),
            schema,
            // Claude always constrains decoding to the schema, but OpenAI's `strict: true` adds rules of its
            // own (every property required) that a Claude schema need not meet: leave strictness unstated.
            strict: None,
        },
    });
    Ok(req)
}

fn invalid(msg: &str) -> TranslateError {
    TranslateError::Invalid(msg.to_string())
}

/// The texts of a `system` prompt (a string or text blocks).
fn system_texts(content: Content, at: &str) -> Result<Vec<String>, TranslateError> {
    match content {
        Content::Text(text) => Ok(vec![text]),
        Content::Blocks(blocks) => blocks
            .into_iter()
            .enumerate()
            .map(|(j, b)| match b {
                Block::Text { text } => Ok(text),
                _ => Err(invalid(&format!(
                    "{at}.content[{j}]: a system prompt may only hold text blocks"
                ))),
            })
            .collect(),
    }
}

/// One content block. `names` maps tool-call ids to tool names so results can carry the name (Gemini
/// needs it); `at` names the block's place for error messages (built only on error).
fn part(
    block: Block,
    names: &mut HashMap<String, String>,
    at: &dyn Fn() -> String,
) -> Result<ir::Part, TranslateError> {
    Ok(match block {
        Block::Text { text } => ir::Part::Text { text },
        Block::Image { source } => ir::Part::Image {
            source: media(source, at)?,
        },
        Block::Document { source, title } => ir::Part::Document {
            source: media(source, at)?,
            title,
        },
        Block::ToolUse { id, name, input } => {
            names.insert(id.clone(), name.clone());
            let arguments = if input.is_null() {
                "{}".to_string()
            } else {
                input.to_string()
            };
            ir::Part::ToolCall {
                id,
                name,
                arguments,
                signature: None,
            }
        }
        Block::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => {
            let content = match content {
                None => Vec::new(),
                Some(Content::Text(text)) => vec![ir::Part::Text { text }],
                Some(Content::Blocks(blocks)) => {
                    let mut parts = Vec::with_capacity(blocks.len());
                    for (k, b) in blocks.into_iter().enumerate() {
                        if matches!(b, Block::ToolResult { .. } | Block::ToolUse { .. }) {
                            return Err(invalid(&format!("{}.content[{k}]: not allowed in a tool result", at())));
                        }
                        parts.push(part(b, names, &|| format!("{}.content[{k}]", at()))?);
                    }
                    parts
                }
            };
            ir::Part::ToolResult {
                name: names.get(&tool_use_id).cloned(),
                call_id: tool_use_id,
                content,
                is_error: is_error.unwrap_or(false),
            }
        }
        Block::Thinking { thinking, signature } => ir::Part::Reasoning {
            text: thinking,
            // Claude Code echoes thinking that came from non-Claude upstreams with `signature: ""`.
            signature: signature.filter(|s| !s.is_empty()),
            redacted: false,
            id: None,
        },
        Block::RedactedThinking { data } => ir::Part::Reasoning {
            text: String::new(),
            signature: Some(data),
            redacted: true,
            id: None,
        },
        Block::ServerSide {} => {
            return Err(invalid(&format!(
                "{}: server tool blocks (web search, code execution, MCP, …) are produced by Anthropic's API \
                 and cannot be replayed to this model",
                at()
            )))
        }
    })
}

fn media(source: Source, at: &dyn Fn() -> String) -> Result<ir::MediaSource, TranslateError> {
    Ok(match source {
        Source::Base64 { media_type, data } => ir::MediaSource::Base64 { media_type, data },
        Source::Url { url } => ir::MediaSource::Url(url),
        // A plain-text document travels as base64 text/plain so its title stays attached; the Claude encoder
        // turns it back into a text source.
        Source::Text { data } => text_document(&data),
        Source::Content { content } => {
            let texts = system_texts(content, &at()).map_err(|_| {
                invalid(&format!("{}.source.content: only text blocks can be translated", at()))
            })?;
            text_document(&texts.join("\n\n"))
        }
        Source::File {} => {
            return Err(invalid(&format!(
                "{}.source: files uploaded with Anthropic's Files API (file_id) are not available for this model",
                at()
            )))
        }
    })
}

fn text_document(text: &str) -> ir::MediaSource {
    ir::MediaSource::Base64 {
        media_type: "text/plain".to_string(),
        data: base64::engine::general_purpose::STANDARD.encode(text),
    }
}
