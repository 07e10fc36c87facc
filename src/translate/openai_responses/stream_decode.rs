//! An upstream's `response.*` event stream into IR events.
//!
//! Items are tracked by `output_index`, so interleaved items (parallel tool calls) map to their own
//! blocks. Every piece of content is taken from its deltas; a `.done` event or the finished item only fills
//! in what no delta carried, for servers that send whole values.

use serde::Deserialize;

use super::response::{
    item_parts, reasoning_text, ItemFlags, WireError, WireOutputContent, WireOutputItem,
    WireResponse,
};
use super::{stop_from_status, usage_from_json};
use crate::translate::ir::{BlockStart, Delta, Event, Part};
use crate::translate::{StreamDecoder, TranslateError};
use crate::wire::sse::SseEvent;

/// The fields any `response.*` event may carry.
#[derive(Deserialize)]
struct WireEvent {
    #[serde(rename = "type")]
    ty: Option<String>,
    response: Option<WireResponse>,
    output_index: Option<u64>,
    content_index: Option<u64>,
    summary_index: Option<u64>,
    item: Option<WireOutputItem>,
    delta: Option<String>,
    text: Option<String>,
    refusal: Option<String>,
    arguments: Option<String>,
    part: Option<WireOutputContent>,
    /// `error` events: `code`/`message` at the top (OpenAI) or nested under `error` (some servers).
    code: Option<serde_json::Value>,
    message: Option<String>,
    error: Option<WireError>,
}

/// Only the type, read first so unknown events with unexpected shapes are skipped rather than fail.
#[derive(Deserialize)]
struct EventType {
    #[serde(rename = "type")]
    ty: Option<String>,
}

/// A message's content part: one text block.
struct TextPart {
    output_index: u64,
    content_index: u64,
    block: usize,
    open: bool,
    wrote: bool,
}

enum ItemKind {
    /// Its content parts live in [`Decoder::texts`].
    Message,
    Reasoning {
        block: usize,
        open: bool,
        /// Whether any text went out (a later summary part then needs a separator).
        wrote: bool,
        /// Whether the current summary part's text went out.
        part_wrote: bool,
    },
    FunctionCall {
        block: usize,
        open: bool,
        wrote: bool,
    },
    /// An item no other format has (`web_search_call`, …): its events are skipped.
    Other,
}

struct Item {
    output_index: u64,
    kind: ItemKind,
}

/// The upstream stream decoder. One per request.
#[derive(Default)]
pub struct Decoder {
    started: bool,
    done: bool,
    next_block: usize,
    items: Vec<Item>,
    texts: Vec<TextPart>,
    flags: ItemFlags,
}

impl StreamDecoder for Decoder {
    fn push(&mut self, event: &SseEvent) -> Result<Vec<Event>, TranslateError> {
        let data = event.data.trim();
        if self.done || data.is_empty() || data == "[DONE]" {
            return Ok(Vec::new());
        }
        let wire: WireEvent = match serde_json::from_str(data) {
            Ok(wire) => wire,
            Err(e) => {
                let ty = serde_json::from_str::<EventType>(data)
                    .map_err(|_| TranslateError::Upstream(format!("invalid Responses event: {e}")))?
                    .ty;
                if ty.as_deref().is_some_and(is_known) {
                    return Err(TranslateError::Upstream(format!(
                        "invalid Responses event: {e}"
                    )));
                }
                return Ok(Vec::new());
            }
        };
        let ty = wire
            .ty
            .clone()
            .or_else(|| event.event.clone())
            .unwrap_or_default();
        let mut out = Vec::new();
        self.handle(&ty, wire, &mut out);
        Ok(out)
    }

    fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if !self.done {
            self.done = true;
            self.ensure_started(None, &mut out);
            self.close_all(&mut out);
            out.push(Event::Error {
                message: "upstream stream ended early".into(),
            });
        }
        out
    }
}

fn is_known(ty: &str) -> bool {
    matches!(
        ty,
        "response.created"
            | "response.in_progress"
            | "response.output_item.added"
            | "response.output_item.done"
            | "response.content_part.added"
            | "response.content_part.done"
            | "response.output_text.delta"
            | "response.output_text.done"
            | "response.refusal.delta"
            | "response.refusal.done"
            | "response.reasoning_summary_part.added"
            | "response.reasoning_summary_part.done"
            | "response.reasoning_summary_text.delta"
            | "response.reasoning_summary_text.done"
            | "response.reasoning_text.delta"
            | "response.reasoning_text.done"
            | "response.function_call_arguments.delta"
            | "response.function_call_arguments.done"
            | "response.completed"
            | "response.incomplete"
            | "response.failed"
            | "error"
    )
}

impl Decoder {
    fn handle(&mut self, ty: &str, wire: WireEvent, out: &mut Vec<Event>) {
        let index = wire.output_index.unwrap_or(0);
        match ty {
            "response.created" | "response.in_progress" => {
                self.ensure_started(wire.response.as_ref(), out)
            }
            "response.output_item.added" => {
                self.ensure_started(None, out);
                if let Some(item) = wire.item {
                    self.item_added(index, item, out);
                }
            }
            "response.content_part.added" => {
                self.ensure_started(None, out);
                let content_index = wire.content_index.unwrap_or(0);
                if wire.part.as_ref().and_then(|p| p.ty.as_deref()) == Some("refusal") {
                    self.flags.refusal = true;
                }
                self.text_part(index, content_index, out);
            }
            "response.output_text.delta" | "response.refusal.delta" => {
                self.ensure_started(None, out);
                if ty == "response.refusal.delta" {
                    self.flags.refusal = true;
                }
                if let Some(delta) = wire.delta.filter(|d| !d.is_empty()) {
                    let part = self.text_part(index, wire.content_index.unwrap_or(0), out);
                    // A delta after its part closed has no block left to go to.
                    if part.open {
                        part.wrote = true;
                        let block = part.block;
                        out.push(Event::Delta {
                            index: block,
                            delta: Delta::Text(delta),
                        });
                    }
                }
            }
            "response.output_text.done"
            | "response.refusal.done"
            | "response.content_part.done" => {
                let whole = wire
                    .text
                    .or(wire.refusal)
                    .or_else(|| wire.part.and_then(|p| p.text.or(p.refusal)));
                let content_index = wire.content_index.unwrap_or(0);
                self.ensure_started(None, out);
                let part = self.text_part(index, content_index, out);
                let block = part.block;
                let mut events = Vec::new();
                if let Some(text) = whole.filter(|t| !t.is_empty() && !part.wrote && part.open) {
                    part.wrote = true;
                    events.push(Event::Delta {
                        index: block,
                        delta: Delta::Text(text),
                    });
                }
                if ty == "response.content_part.done" && part.open {
                    part.open = false;
                    events.push(Event::BlockStop { index: block });
                }
                out.extend(events);
            }
            "response.reasoning_summary_part.added" => {
                self.ensure_started(None, out);
                let (block, separator) = match self.reasoning(index, out) {
                    Some(ItemKind::Reasoning {
                        block,
                        wrote,
                        part_wrote,
                        ..
                    }) => {
                        let separator = *wrote;
                        *part_wrote = false;
                        (*block, separator)
                    }
                    _ => return,
                };
                // Summary parts are paragraphs; the non-streamed decode joins them the same way.
                if separator && wire.summary_index.unwrap_or(0) > 0 {
                    out.push(Event::Delta {
                        index: block,
                        delta: Delta::Reasoning("\n\n".into()),
                    });
                }
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.ensure_started(None, out);
                if let Some(delta) = wire.delta.filter(|d| !d.is_empty()) {
                    if let Some(ItemKind::Reasoning {
                        block,
                        wrote,
                        part_wrote,
                        ..
                    }) = self.reasoning(index, out)
                    {
                        *wrote = true;
                        *part_wrote = true;
                        out.push(Event::Delta {
                            index: *block,
                            delta: Delta::Reasoning(delta),
                        });
                    }
                }
            }
            "response.reasoning_summary_text.done"
            | "response.reasoning_summary_part.done"
            | "response.reasoning_text.done" => {
                let whole = wire.text.or_else(|| wire.part.and_then(|p| p.text));
                self.ensure_started(None, out);
                if let Some(ItemKind::Reasoning {
                    block,
                    wrote,
                    part_wrote,
                    ..
                }) = self.reasoning(index, out)
                {
                    if let Some(text) = whole.filter(|t| !t.is_empty() && !*part_wrote) {
                        *wrote = true;
                        *part_wrote = true;
                        out.push(Event::Delta {
                            index: *block,
                            delta: Delta::Reasoning(text),
                        });
                    }
                }
            }
            "response.function_call_arguments.delta" | "response.function_call_arguments.done" => {
                // `.done` repeats the whole arguments: used only when no delta carried them.
                let is_done = ty.ends_with(".done");
                let fragment = if is_done { wire.arguments } else { wire.delta };
                if let Some(Item {
                    kind: ItemKind::FunctionCall { block, wrote, .. },
                    ..
                }) = self.item_mut(index)
                {
                    let already_sent = is_done && *wrote;
                    if let Some(fragment) = fragment.filter(|f| !f.is_empty() && !already_sent) {
                        *wrote = true;
                        out.push(Event::Delta {
                            index: *block,
                            delta: Delta::ToolArguments(fragment),
                        });
                    }
                }
            }
            "response.output_item.done" => {
                self.ensure_started(None, out);
                if let Some(item) = wire.item {
                    self.item_done(index, item, out);
                }
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                self.ensure_started(wire.response.as_ref(), out);
                self.terminal(ty, wire.response, out);
            }
            "error" => {
                let message = match (wire.error, wire.message) {
                    (Some(error), _) => error.describe(),
                    (None, message) => WireError {
                        code: wire.code,
                        message,
                    }
                    .describe(),
                };
                self.ensure_started(None, out);
                self.close_all(out);
                out.push(Event::Error { message });
                self.done = true;
            }
            other => tracing::trace!(event = other, "skipping a Responses event"),
        }
    }

    fn ensure_started(&mut self, response: Option<&WireResponse>, out: &mut Vec<Event>) {
        if self.started {
            return;
        }
        self.started = true;
        out.push(Event::Start {
            id: response.and_then(|r| r.id.clone()).unwrap_or_default(),
            model: response.and_then(|r| r.model.clone()).unwrap_or_default(),
            created: response
                .and_then(|r| r.created_at)
                .map(|t| t as u64)
                .unwrap_or_default(),
            usage: None,
        });
    }

    fn open_block(&mut self, block: BlockStart, out: &mut Vec<Event>) -> usize {
        let index = self.next_block;
        self.next_block += 1;
        out.push(Event::BlockStart { index, block });
        index
    }

    fn item_mut(&mut self, output_index: u64) -> Option<&mut Item> {
        self.items
            .iter_mut()
            .rev()
            .find(|i| i.output_index == output_index)
    }

    fn item_added(&mut self, output_index: u64, item: WireOutputItem, out: &mut Vec<Event>) {
        let kind = match item.ty.as_str() {
            "message" => ItemKind::Message,
            "reasoning" => {
                let block = self.open_block(
                    BlockStart::Reasoning {
                        id: item.id,
                        redacted: false,
                    },
                    out,
                );
                ItemKind::Reasoning {
                    block,
                    open: true,
                    wrote: false,
                    part_wrote: false,
                }
            }
            "function_call" => {
                self.flags.tool_call = true;
                let block = self.open_block(
                    BlockStart::ToolCall {
                        id: item.call_id.or(item.id).unwrap_or_default(),
                        name: item.name.unwrap_or_default(),
                    },
                    out,
                );
                let arguments = item.arguments.filter(|a| !a.is_empty());
                let wrote = arguments.is_some();
                if let Some(arguments) = arguments {
                    out.push(Event::Delta {
                        index: block,
                        delta: Delta::ToolArguments(arguments),
                    });
                }
                ItemKind::FunctionCall {
                    block,
                    open: true,
                    wrote,
                }
            }
            other => {
                tracing::debug!(
                    item = other,
                    "skipping an output item no other format can carry"
                );
                ItemKind::Other
            }
        };
        self.items.push(Item { output_index, kind });
    }

    /// The text part `content_index` of message `output_index`, opening its block if new.
    fn text_part(
        &mut self,
        output_index: u64,
        content_index: u64,
        out: &mut Vec<Event>,
    ) -> &mut TextPart {
        let position = self
            .texts
            .iter()
            .rposition(|p| p.output_index == output_index && p.content_index == content_index);
        let position = match position {
            Some(position) => position,
            None => {
                let block = self.open_block(BlockStart::Text, out);
                self.texts.push(TextPart {
                    output_index,
                    content_index,
                    block,
                    open: true,
                    wrote: false,
                });
                self.texts.len() - 1
            }
        };
        &mut self.texts[position]
    }

    /// The reasoning item at `output_index`, opened on the fly if its `output_item.added` never came.
    fn reasoning(&mut self, output_index: u64, out: &mut Vec<Event>) -> Option<&mut ItemKind> {
        if self.item_mut(output_index).is_none() {
            let item = WireOutputItem {
                ty: "reasoning".into(),
                id: None,
                content: None,
                summary: None,
                encrypted_content: None,
                call_id: None,
                name: None,
                arguments: None,
            };
            self.item_added(output_index, item, out);
        }
        self.item_mut(output_index).map(|i| &mut i.kind)
    }

    fn item_done(&mut self, output_index: u64, item: WireOutputItem, out: &mut Vec<Event>) {
        let position = self
            .items
            .iter()
            .rposition(|i| i.output_index == output_index);
        let has_texts = self.texts.iter().any(|p| p.output_index == output_index);
        let kind = match position {
            Some(position) => self.items.remove(position).kind,
            None if has_texts => ItemKind::Message,
            // No `added` event: take the whole item at once.
            None => return self.emit_whole(item, out),
        };
        match kind {
            ItemKind::Message => {
                for (i, content) in item.content.unwrap_or_default().into_iter().enumerate() {
                    if content.ty.as_deref() == Some("refusal") {
                        self.flags.refusal = true;
                    }
                    let Some(text) = content.text.or(content.refusal).filter(|t| !t.is_empty())
                    else {
                        continue;
                    };
                    let part = self.text_part(output_index, i as u64, out);
                    if !part.wrote && part.open {
                        part.wrote = true;
                        let block = part.block;
                        out.push(Event::Delta {
                            index: block,
                            delta: Delta::Text(text),
                        });
                    }
                }
                let mut open = Vec::new();
                self.texts.retain(|p| {
                    if p.output_index != output_index {
                        return true;
                    }
                    if p.open {
                        open.push(p.block);
                    }
                    false
                });
                open.sort_unstable();
                out.extend(open.into_iter().map(|index| Event::BlockStop { index }));
            }
            ItemKind::Reasoning {
                block, open, wrote, ..
            } => {
                if !wrote {
                    let text = reasoning_text(item.summary, item.content);
                    if !text.is_empty() {
                        out.push(Event::Delta {
                            index: block,
                            delta: Delta::Reasoning(text),
                        });
                    }
                }
                if let Some(token) = item.encrypted_content.filter(|t| !t.is_empty()) {
                    out.push(Event::Delta {
                        index: block,
                        delta: Delta::Signature(token),
                    });
                }
                if open {
                    out.push(Event::BlockStop { index: block });
                }
            }
            ItemKind::FunctionCall { block, open, wrote } => {
                if let Some(arguments) = item.arguments.filter(|a| !a.is_empty() && !wrote) {
                    out.push(Event::Delta {
                        index: block,
                        delta: Delta::ToolArguments(arguments),
                    });
                }
                if open {
                    out.push(Event::BlockStop { index: block });
                }
            }
            ItemKind::Other => {}
        }
    }

    /// An item that arrived whole: one block per IR part.
    fn emit_whole(&mut self, item: WireOutputItem, out: &mut Vec<Event>) {
        for part in item_parts(item, &mut self.flags) {
            let (start, delta) = match part {
                Part::Text { text } => (BlockStart::Text, Some(Delta::Text(text))),
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                    ..
                } => (
                    BlockStart::ToolCall { id, name },
                    Some(Delta::ToolArguments(arguments)),
                ),
                Part::Reasoning {
                    text,
                    signature,
                    redacted,
                    id,
                } => {
                    let block = self.open_block(BlockStart::Reasoning { id, redacted }, out);
                    if !text.is_empty() {
                        out.push(Event::Delta {
                            index: block,
                            delta: Delta::Reasoning(text),
                        });
                    }
                    if let Some(signature) = signature {
                        out.push(Event::Delta {
                            index: block,
                            delta: Delta::Signature(signature),
                        });
                    }
                    out.push(Event::BlockStop { index: block });
                    continue;
                }
                _ => continue,
            };
            let block = self.open_block(start, out);
            if let Some(delta) = delta
                .filter(|d| !matches!(d, Delta::Text(t) | Delta::ToolArguments(t) if t.is_empty()))
            {
                out.push(Event::Delta {
                    index: block,
                    delta,
                });
            }
            out.push(Event::BlockStop { index: block });
        }
    }

    /// Closes every open block, in block order.
    fn close_all(&mut self, out: &mut Vec<Event>) {
        let mut open: Vec<usize> = Vec::new();
        open.extend(self.texts.drain(..).filter(|p| p.open).map(|p| p.block));
        for item in self.items.drain(..) {
            match item.kind {
                ItemKind::Reasoning {
                    block, open: true, ..
                }
                | ItemKind::FunctionCall {
                    block, open: true, ..
                } => open.push(block),
                _ => {}
            }
        }
        open.sort_unstable();
        out.extend(open.into_iter().map(|index| Event::BlockStop { index }));
    }

    fn terminal(&mut self, ty: &str, response: Option<WireResponse>, out: &mut Vec<Event>) {
        self.done = true;
        self.close_all(out);
        let Some(response) = response else {
            out.push(Event::Error {
                message: format!("{ty} without a response"),
            });
            return;
        };
        if ty == "response.failed" {
            let message = response
                .error
                .as_ref()
                .map(WireError::describe)
                .unwrap_or_else(|| "the upstream response failed".into());
            out.push(Event::Error { message });
            return;
        }
        // A server that sent no item events still gets its output through.
        if self.next_block == 0 {
            for item in response.output.unwrap_or_default() {
                self.emit_whole(item, out);
            }
        }
        let status = response.status.as_deref().unwrap_or(match ty {
            "response.incomplete" => "incomplete",
            _ => "completed",
        });
        let reason = response.incomplete_details.and_then(|d| d.reason);
        out.push(Event::Finish {
            stop: stop_from_status(
                status,
                reason.as_deref(),
                self.flags.tool_call,
                self.flags.refusal,
            ),
            stop_sequence: None,
            usage: usage_from_json(response.usage.as_ref()),
        });
    }
}
