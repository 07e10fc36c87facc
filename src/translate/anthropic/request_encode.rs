//! IR → a `POST /v1/messages` body for a Claude upstream.

use std::borrow::Cow;

use base64::Engine as _;
use serde::Serialize;
use serde_json::value::RawValue;

use crate::translate::{ir, TranslateError};
use crate::wire::Format;

/// `max_tokens` is required by Claude; when the client set none we ask for 32000, what Claude Code and
/// CLIProxyAPI use: every current Claude model accepts it and it leaves room for thinking.
pub const DEFAULT_MAX_TOKENS: u64 = 32_000;
/// Claude's smallest accepted `thinking.budget_tokens`.
pub const MIN_THINKING_BUDGET: u64 = 1024;
/// When we raise a default `max_tokens` to fit a thinking budget, the answer gets at least this much room.
const ANSWER_ROOM: u64 = 8192;
/// …but never past this, which the Claude 4 models accept (Opus 4.0/4.1 top out at 32000, so large
/// budgets there are clamped instead).
const RAISED_MAX_TOKENS_CAP: u64 = 64_000;

#[derive(Serialize)]
struct OutRequest<'a> {
    model: &'a str,
    max_tokens: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<Vec<OutBlock<'a>>>,
    messages: Vec<OutMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<OutTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<OutToolChoice<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u64>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    stop_sequences: &'a [String],
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking: Option<OutThinking>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_config: Option<OutOutputConfig<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<OutMetadata<'a>>,
}

#[derive(Serialize)]
struct OutMessage<'a> {
    role: &'static str,
    content: Vec<OutBlock<'a>>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutBlock<'a> {
    Text {
        text: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    Image {
        source: OutSource<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    Document {
        source: OutSource<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: &'a str,
        input: &'a RawValue,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    ToolResult {
        tool_use_id: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        content: Option<OutToolContent<'a>>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    Thinking {
        thinking: &'a str,
        signature: &'a str,
    },
    RedactedThinking {
        data: &'a str,
    },
}

/// A prompt-cache breakpoint: `{"type": "ephemeral"}`.
#[derive(Serialize, Clone, Copy)]
struct CacheControl {
    #[serde(rename = "type")]
    kind: &'static str,
}

const EPHEMERAL: Option<CacheControl> = Some(CacheControl { kind: "ephemeral" });

impl OutBlock<'_> {
    /// Makes this block a cache breakpoint, if its type can be one (thinking blocks cannot).
    fn mark_cache(&mut self) {
        match self {
            OutBlock::Text { cache_control, .. }
            | OutBlock::Image { cache_control, .. }
            | OutBlock::Document { cache_control, .. }
            | OutBlock::ToolUse { cache_control, .. }
            | OutBlock::ToolResult { cache_control, .. } => *cache_control = EPHEMERAL,
            OutBlock::Thinking { .. } | OutBlock::RedactedThinking { .. } => {}
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum OutToolContent<'a> {
    Text(&'a str),
    Blocks(Vec<OutBlock<'a>>),
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutSource<'a> {
    Base64 {
        media_type: &'a str,
        data: &'a str,
    },
    Url {
        url: &'a str,
    },
    Text {
        media_type: &'static str,
        data: Cow<'a, str>,
    },
}

#[derive(Serialize)]
struct OutTool<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    input_schema: Cow<'a, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cache_control: Option<CacheControl>,
}

#[derive(Serialize)]
struct OutToolChoice<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disable_parallel_tool_use: Option<bool>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutThinking {
    Enabled { budget_tokens: u64 },
    Adaptive {},
}

#[derive(Serialize)]
struct OutOutputConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<OutFormat<'a>>,
}

#[derive(Serialize)]
struct OutFormat<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    schema: &'a serde_json::Value,
}

#[derive(Serialize)]
struct OutMetadata<'a> {
    user_id: &'a str,
}

fn unsupported(feature: &str) -> TranslateError {
    TranslateError::Unsupported {
        feature: feature.to_string(),
        target: Format::Anthropic,
    }
}

pub(super) fn encode(req: &ir::Request) -> Result<Vec<u8>, TranslateError> {
    // Cache breakpoints after the system prompt, the tools and the conversation so far, as Claude Code
    // places them: other vendors cache prompt prefixes automatically, Claude only where asked, and without
    // them every turn of an agent loop would pay for its whole history again.
    let system = (!req.system.is_empty()).then(|| {
        let mut blocks: Vec<OutBlock> = req
            .system
            .iter()
            .map(|t| OutBlock::Text {
                text: t,
                cache_control: None,
            })
            .collect();
        if let Some(last) = blocks.last_mut() {
            last.mark_cache();
        }
        blocks
    });

    let mut messages: Vec<OutMessage> = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.iter().enumerate() {
        let role = match m.role {
            ir::Role::User => "user",
            ir::Role::Assistant => "assistant",
        };
        let mut content = Vec::with_capacity(m.content.len());
        for p in &m.content {
            if let Some(b) = block(p, m.role, i)? {
                content.push(b);
            }
        }
        if content.is_empty() {
            continue;
        }
        // Claude wants turns to alternate; the IR may hold runs (one message per OpenAI tool result).
        match messages.last_mut() {
            Some(last) if last.role == role => last.content.append(&mut content),
            _ => messages.push(OutMessage { role, content }),
        }
    }
    for m in messages.iter_mut().filter(|m| m.role == "user") {
        // Tool results must open the user turn that answers the tool calls (stable: order kept otherwise).
        m.content
            .sort_by_key(|b| !matches!(b, OutBlock::ToolResult { .. }));
    }

    let mut tools: Vec<OutTool> = req
        .tools
        .iter()
        .map(|t| OutTool {
            name: &t.name,
            description: t.description.as_deref(),
            input_schema: match &t.parameters {
                Some(schema) => Cow::Borrowed(schema),
                // Claude requires a schema; a tool without parameters takes an empty object.
                None => Cow::Owned(serde_json::json!({"type": "object", "properties": {}})),
            },
            cache_control: None,
        })
        .collect();
    if let Some(last) = tools.last_mut() {
        last.cache_control = EPHEMERAL;
    }

    let mut tool_choice = match (&req.tool_choice, tools.is_empty()) {
        (Some(_), true) => {
            tracing::debug!("tool_choice without tools dropped: Claude rejects it");
            None
        }
        (Some(c), false) => Some(match c {
            ir::ToolChoice::Auto => choice("auto", None),
            ir::ToolChoice::None => choice("none", None),
            ir::ToolChoice::Required => choice("any", None),
            ir::ToolChoice::Tool(name) => choice("tool", Some(name)),
        }),
        (None, _) => None,
    };
    if req.parallel_tool_calls == Some(false) && !tools.is_empty() {
        tool_choice
            .get_or_insert_with(|| choice("auto", None))
            .disable_parallel_tool_use = Some(true);
    }

    let output_format = match &req.output {
        None => None,
        Some(ir::OutputFormat::JsonSchema { schema, .. }) => Some(OutFormat {
            kind: "json_schema",
            schema,
        }),
        // Claude's JSON outputs need a schema whose objects forbid extra properties: "any JSON object" has
        // no spelling, and a prompt asking for JSON would not guarantee it.
        Some(ir::OutputFormat::JsonObject) => {
            return Err(unsupported(
                "response_format json_object (JSON mode without a schema)",
            ))
        }
    };

    let forced_tool = matches!(
        tool_choice.as_ref().map(|c| c.kind),
        Some("any") | Some("tool")
    );
    let mut plan = thinking_plan(req, forced_tool);
    fit_thinking_to_history(&mut plan, &mut messages);
    if let Some(last) = messages.last_mut() {
        if let Some(b) = last.content.iter_mut().rev().find(|b| {
            !matches!(
                b,
                OutBlock::Thinking { .. } | OutBlock::RedactedThinking { .. }
            )
        }) {
            b.mark_cache();
        }
    }
    let mut temperature = req.temperature;
    let mut top_p = req.top_p;
    let mut top_k = req.top_k;
    if plan.thinking.is_some() {
        // Claude rejects sampling changes while thinking (temperature must be 1, top_p ≥ 0.95, no top_k).
        if temperature.is_some_and(|t| t != 1.0) {
            tracing::debug!("temperature dropped: Claude does not allow it with thinking");
            temperature = None;
        }
        if top_p.is_some_and(|p| p < 0.95) {
            tracing::debug!("top_p dropped: Claude does not allow below 0.95 with thinking");
            top_p = None;
        }
        if top_k.take().is_some() {
            tracing::debug!("top_k dropped: Claude does not allow it with thinking");
        }
    }
    if temperature.is_some() && top_p.is_some() {
        // Current Claude models reject both at once; temperature is the one every format has.
        tracing::debug!("top_p dropped: Claude accepts temperature or top_p, not both");
        top_p = None;
    }
    if req.cache_key.is_some() {
        tracing::debug!(
            "prompt cache key dropped: Claude caches by cache_control breakpoints instead"
        );
    }

    let output_config =
        (plan.effort.is_some() || output_format.is_some()).then_some(OutOutputConfig {
            effort: plan.effort,
            format: output_format,
        });

    let out = OutRequest {
        model: &req.model,
        max_tokens: plan.max_tokens,
        system,
        messages,
        tools,
        tool_choice,
        temperature,
        top_p,
        top_k,
        stop_sequences: &req.stop,
        stream: req.stream,
        thinking: plan.thinking,
        output_config,
        metadata: req.user.as_deref().map(|user_id| OutMetadata { user_id }),
    };
    serde_json::to_vec(&out)
        .map_err(|e| TranslateError::Invalid(format!("request could not be encoded: {e}")))
}

/// Claude's rules on thinking blocks in the history: with thinking on, an assistant turn still in its tool
/// loop (its results are the last message) must start with a thinking block, which a conversation from
/// another vendor never has, so thinking is turned off for that request; with thinking off, a final assistant
/// message (a prefill) may not hold thinking blocks, so they are removed.
fn fit_thinking_to_history(plan: &mut ThinkingPlan, messages: &mut Vec<OutMessage>) {
    let is_thinking = |b: &OutBlock| {
        matches!(
            b,
            OutBlock::Thinking { .. } | OutBlock::RedactedThinking { .. }
        )
    };
    if plan.thinking.is_some() {
        let n = messages.len();
        let in_tool_loop = n >= 2
            && messages[n - 1]
                .content
                .iter()
                .any(|b| matches!(b, OutBlock::ToolResult { .. }))
            && messages[n - 2].role == "assistant";
        if in_tool_loop && !messages[n - 2].content.first().is_some_and(is_thinking) {
            tracing::debug!(
                "thinking dropped: the open tool-use turn has no thinking block to continue from"
            );
            plan.thinking = None;
        }
    } else if let Some(last) = messages.last_mut().filter(|m| m.role == "assistant") {
        last.content.retain(|b| !is_thinking(b));
        if last.content.is_empty() {
            messages.pop();
        }
    }
}

fn choice<'a>(kind: &'static str, name: Option<&'a str>) -> OutToolChoice<'a> {
    OutToolChoice {
        kind,
        name,
        disable_parallel_tool_use: None,
    }
}

fn block<'a>(
    p: &'a ir::Part,
    role: ir::Role,
    i: usize,
) -> Result<Option<OutBlock<'a>>, TranslateError> {
    let assistant = role == ir::Role::Assistant;
    Ok(Some(match p {
        // Claude rejects empty text blocks; an empty text says nothing anyway.
        ir::Part::Text { text } if text.is_empty() => return Ok(None),
        ir::Part::Text { text } => OutBlock::Text {
            text,
            cache_control: None,
        },
        ir::Part::Image { .. } | ir::Part::Document { .. } if assistant => {
            return Err(unsupported("images or documents in an assistant message"))
        }
        ir::Part::Image { source } => OutBlock::Image {
            source: image_source(source),
            cache_control: None,
        },
        ir::Part::Document { source, title } => OutBlock::Document {
            source: document_source(source)?,
            title: title.as_deref(),
            cache_control: None,
        },
        ir::Part::ToolCall { .. } | ir::Part::Reasoning { .. } if !assistant => {
            return Err(TranslateError::Invalid(format!(
                "message {i}: tool calls and reasoning belong to assistant messages"
            )))
        }
        ir::Part::ToolCall {
            id,
            name,
            arguments,
            ..
        } => OutBlock::ToolUse {
            id: tool_id(id),
            name,
            input: tool_input(arguments, id)?,
            cache_control: None,
        },
        ir::Part::ToolResult { .. } if assistant => {
            return Err(TranslateError::Invalid(format!(
                "message {i}: tool results belong to user messages"
            )))
        }
        ir::Part::ToolResult {
            call_id,
            content,
            is_error,
            ..
        } => OutBlock::ToolResult {
            tool_use_id: tool_id(call_id),
            content: tool_result_content(content, i)?,
            is_error: *is_error,
            cache_control: None,
        },
        ir::Part::Reasoning {
            signature: Some(data),
            redacted: true,
            ..
        } => OutBlock::RedactedThinking { data },
        ir::Part::Reasoning {
            text,
            signature: Some(signature),
            ..
        } if !signature.is_empty() => OutBlock::Thinking {
            thinking: text,
            signature,
        },
        ir::Part::Reasoning { .. } => {
            // Claude verifies thinking signatures; unsigned reasoning (from another vendor) cannot be replayed.
            tracing::debug!("unsigned reasoning dropped from the history: Claude only accepts its own signed thinking");
            return Ok(None);
        }
    }))
}

fn tool_result_content<'a>(
    content: &'a [ir::Part],
    i: usize,
) -> Result<Option<OutToolContent<'a>>, TranslateError> {
    if let [ir::Part::Text { text }] = content {
        return Ok(Some(OutToolContent::Text(text)));
    }
    let mut blocks = Vec::with_capacity(content.len());
    for p in content {
        match p {
            ir::Part::Text { .. } | ir::Part::Image { .. } | ir::Part::Document { .. } => {
                if let Some(b) = block(p, ir::Role::User, i)? {
                    blocks.push(b);
                }
            }
            _ => {
                return Err(TranslateError::Invalid(format!(
                    "message {i}: a tool result may only hold text, images and documents"
                )))
            }
        }
    }
    Ok((!blocks.is_empty()).then_some(OutToolContent::Blocks(blocks)))
}

/// Claude accepts tool-use ids of `[a-zA-Z0-9_-]` only; other vendors' ids may hold more (`.`, `:`, `|`).
/// The mapping is deterministic, so a call and its result still match.
fn tool_id(id: &str) -> Cow<'_, str> {
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !id.is_empty() && id.chars().all(ok) {
        Cow::Borrowed(id)
    } else if id.is_empty() {
        // Only a history that lost its ids gets here; Claude rejects an empty id either way.
        Cow::Borrowed("toolu_missing")
    } else {
        Cow::Owned(id.chars().map(|c| if ok(c) { c } else { '_' }).collect())
    }
}

/// Claude's `input` must be a JSON object; the IR keeps the model's argument text, embedded unchanged.
fn tool_input<'a>(arguments: &'a str, id: &str) -> Result<&'a RawValue, TranslateError> {
    let text = if arguments.trim().is_empty() {
        "{}"
    } else {
        arguments
    };
    match serde_json::from_str::<&RawValue>(text) {
        Ok(raw) if raw.get().trim_start().starts_with('{') => Ok(raw),
        _ => Err(TranslateError::Invalid(format!(
            "tool call {id}: its arguments are not a JSON object, which Claude requires"
        ))),
    }
}

fn image_source(source: &ir::MediaSource) -> OutSource<'_> {
    match source {
        ir::MediaSource::Url(url) => OutSource::Url { url },
        ir::MediaSource::Base64 { media_type, data } => OutSource::Base64 { media_type, data },
    }
}

fn document_source(source: &ir::MediaSource) -> Result<OutSource<'_>, TranslateError> {
    Ok(match source {
        ir::MediaSource::Url(url) => OutSource::Url { url },
        ir::MediaSource::Base64 { media_type, data } if media_type == "application/pdf" => {
            OutSource::Base64 { media_type, data }
        }
        ir::MediaSource::Base64 { media_type, data } if media_type.starts_with("text/") => {
            let text = base64::engine::general_purpose::STANDARD
                .decode(data)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| {
                    TranslateError::Invalid("a text document is not valid base64 UTF-8".into())
                })?;
            OutSource::Text {
                media_type: "text/plain",
                data: Cow::Owned(text),
            }
        }
        ir::MediaSource::Base64 { media_type, .. } => {
            return Err(unsupported(&format!(
                "a {media_type} document (Claude reads PDF and plain-text documents)"
            )))
        }
    })
}

/// What the IR's reasoning becomes on the wire, with `max_tokens` adjusted to fit it.
struct ThinkingPlan {
    thinking: Option<OutThinking>,
    effort: Option<&'static str>,
    max_tokens: u64,
}

/// Claude 4.6 and later think adaptively (`thinking.type: adaptive` + `output_config.effort`); Opus 4.7 and
/// later reject `budget_tokens` outright, while older models know only budgets. The model name decides.
pub(super) fn adaptive_model(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    if m.contains("mythos") || m.contains("fable") {
        return true;
    }
    for family in ["opus-", "sonnet-", "haiku-"] {
        if let Some(pos) = m.find(family) {
            let mut nums = m[pos + family.len()..]
                .split(['-', '.', '@', '['])
                .map(|s| s.parse::<u64>().ok());
            let major = nums.next().flatten();
            // A date suffix (claude-sonnet-4-20250514) is not a minor version.
            let minor = nums.next().flatten().filter(|n| *n < 100).unwrap_or(0);
            return match major {
                // claude-3-7-sonnet-20250219: what follows the family is a date, not a version.
                Some(major) if major >= 100 => false,
                Some(major) => major > 4 || (major == 4 && minor >= 6),
                None => false,
            };
        }
    }
    false
}

fn effort_name(e: ir::Effort) -> &'static str {
    match e {
        ir::Effort::None | ir::Effort::Minimal | ir::Effort::Low => "low",
        ir::Effort::Auto | ir::Effort::Medium => "medium",
        ir::Effort::High => "high",
        ir::Effort::XHigh => "xhigh",
        ir::Effort::Max => "max",
    }
}

fn thinking_plan(req: &ir::Request, forced_tool: bool) -> ThinkingPlan {
    let mut plan = ThinkingPlan {
        thinking: None,
        effort: None,
        max_tokens: req.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
    };
    let Some(reasoning) = &req.reasoning else {
        return plan;
    };
    if reasoning.budget() == 0 {
        // Thinking off is Claude's default.
        return plan;
    }
    if forced_tool {
        // Claude refuses thinking together with a forced tool; the forced call is what the client asked for.
        tracing::debug!(
            "thinking dropped: Claude does not allow it when tool_choice forces a tool"
        );
        return plan;
    }
    if adaptive_model(&req.model) {
        plan.thinking = Some(OutThinking::Adaptive {});
        plan.effort = match reasoning {
            ir::Reasoning::Effort(ir::Effort::Auto) => None,
            r => Some(effort_name(r.effort())),
        };
        return plan;
    }
    // Budget models. Auto (a dynamic budget) has no equivalent: a medium budget is the neutral choice.
    let wanted = match reasoning {
        ir::Reasoning::Effort(ir::Effort::Auto) => {
            ir::Reasoning::Effort(ir::Effort::Medium).budget()
        }
        r => r.budget(),
    };
    let mut budget = u64::try_from(wanted)
        .unwrap_or(MIN_THINKING_BUDGET)
        .max(MIN_THINKING_BUDGET);
    // Claude requires budget_tokens < max_tokens. A client's own limit is a cost cap we keep and fit the budget
    // under; our default limit we may raise instead.
    if budget >= plan.max_tokens && req.max_tokens.is_none() {
        plan.max_tokens = budget
            .saturating_add(ANSWER_ROOM)
            .min(RAISED_MAX_TOKENS_CAP)
            .max(plan.max_tokens);
    }
    if budget >= plan.max_tokens {
        budget = (plan.max_tokens / 4 * 3).max(MIN_THINKING_BUDGET);
    }
    if budget >= plan.max_tokens {
        tracing::debug!(
            max_tokens = plan.max_tokens,
            "thinking dropped: max_tokens leaves no room for Claude's minimum budget"
        );
        return plan;
    }
    plan.thinking = Some(OutThinking::Enabled {
        budget_tokens: budget,
    });
    plan
}
