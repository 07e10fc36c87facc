//! Chat Completions streams: upstream `chat.completion.chunk`s → IR events ([`Decoder`]), and IR events →
//! a client's chunks ([`Encoder`]).

use crate::translate::ir::{BlockStart, Delta, Event, StopReason, Usage};
use crate::translate::{StreamDecoder, StreamEncoder, StreamOptions, TranslateError};
use crate::wire::error::stream_error_event;
use crate::wire::sse::SseEvent;
use crate::wire::Format;

use super::wire;
use super::{client_id, random_id, stop_from_wire, stop_to_wire, unix_now, usage_json};

/// A tool call being streamed: the upstream's `index` (or a stand-in) and the IR block it fills.
struct OpenTool {
    key: u64,
    id: String,
    block: usize,
}

/// Stand-in key for a legacy `function_call` delta, which has no index.
const LEGACY_FUNCTION_KEY: u64 = u64::MAX;

/// Upstream chunks → IR events.
///
/// Text and reasoning blocks are sequential: one opening closes the other. Each tool call index gets its
/// own block, and tool blocks stay open together until the finish reason, because providers may interleave
/// the argument fragments of parallel calls. `Finish` waits for `[DONE]` (or the end of the stream): the
/// usage chunk comes after the chunk carrying the finish reason.
#[derive(Default)]
pub struct Decoder {
    started: bool,
    done: bool,
    next_block: usize,
    text: Option<usize>,
    reasoning: Option<usize>,
    tools: Vec<OpenTool>,
    saw_tool_call: bool,
    refused: bool,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl StreamDecoder for Decoder {
    fn push(&mut self, event: &SseEvent) -> Result<Vec<Event>, TranslateError> {
        let mut out = Vec::new();
        let data = event.data.trim();
        if self.done || data.is_empty() {
            return Ok(out);
        }
        if data == "[DONE]" {
            self.finalize(&mut out);
            return Ok(out);
        }
        if event.event.as_deref() == Some("error") {
            // Some servers name the event instead of sending `{"error": …}`.
            let message = match serde_json::from_str::<serde_json::Value>(data) {
                Ok(v) => wire::error_message(v.get("error").unwrap_or(&v)),
                Err(_) => data.to_owned(),
            };
            self.fail(message, &mut out);
            return Ok(out);
        }
        let chunk: wire::Chunk = serde_json::from_str(data)
            .map_err(|e| TranslateError::Upstream(format!("invalid chat completion chunk: {e}")))?;
        if let Some(error) = &chunk.error {
            self.fail(wire::error_message(error), &mut out);
            return Ok(out);
        }
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: chunk.id.unwrap_or_else(|| random_id("chatcmpl-")),
                model: chunk.model.unwrap_or_default(),
                created: chunk.created.unwrap_or_else(unix_now),
                usage: None,
            });
        }
        if let Some(usage) = &chunk.usage {
            self.usage = Some(usage.to_ir());
        }
        for choice in chunk.choices.into_iter().flatten() {
            if choice.index.unwrap_or(0) != 0 {
                // Only one choice is ever requested.
                continue;
            }
            if let Some(delta) = choice.delta {
                self.apply(delta, &mut out);
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
                self.close_all(&mut out);
            }
        }
        Ok(out)
    }

    fn finish(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        if self.finish_reason.is_some() {
            // The upstream finished but closed without `[DONE]`: the answer is complete.
            self.finalize(&mut out);
        } else {
            self.fail("upstream stream ended early".into(), &mut out);
        }
        out
    }
}

impl Decoder {
    /// Ends the stream with an error, after closing what is open.
    fn fail(&mut self, message: String, out: &mut Vec<Event>) {
        self.close_all(out);
        out.push(Event::Error { message });
        self.done = true;
    }

    fn apply(&mut self, delta: wire::ChunkDelta, out: &mut Vec<Event>) {
        if let Some(text) = delta.reasoning_content.or(delta.reasoning) {
            if !text.is_empty() {
                let index = self.open_reasoning(out);
                out.push(Event::Delta {
                    index,
                    delta: Delta::Reasoning(text),
                });
            }
        }
        for text in [
            delta.content,
            delta
                .refusal
                .filter(|r| !r.is_empty())
                .inspect(|_| self.refused = true),
        ]
        .into_iter()
        .flatten()
        {
            if !text.is_empty() {
                let index = self.open_text(out);
                out.push(Event::Delta {
                    index,
                    delta: Delta::Text(text),
                });
            }
        }
        for call in delta.tool_calls.into_iter().flatten() {
            let key = call.index.unwrap_or_else(|| self.key_without_index(&call));
            let (name, arguments) = match call.function {
                Some(f) => (f.name, f.arguments),
                None => (None, None),
            };
            self.tool_fragment(key, call.id, name, arguments, out);
        }
        if let Some(f) = delta.function_call {
            self.tool_fragment(LEGACY_FUNCTION_KEY, None, f.name, f.arguments, out);
        }
    }

    /// Some servers omit `index`: a new id starts a new call, anything else continues the last one.
    fn key_without_index(&self, call: &wire::ToolCallDelta) -> u64 {
        match (&call.id, self.tools.last()) {
            (Some(id), Some(last)) if *id != last.id => {
                self.tools.iter().map(|t| t.key).max().unwrap_or(0) + 1
            }
            (_, Some(last)) => last.key,
            (_, None) => 0,
        }
    }

    fn tool_fragment(
        &mut self,
        key: u64,
        id: Option<String>,
        name: Option<String>,
        arguments: Option<String>,
        out: &mut Vec<Event>,
    ) {
        let index = match self.tools.iter().find(|t| t.key == key) {
            Some(tool) => tool.block,
            None => {
                self.close_text_and_reasoning(out);
                let index = self.next_block;
                self.next_block += 1;
                let id = id.unwrap_or_else(|| random_id("call_"));
                out.push(Event::BlockStart {
                    index,
                    block: BlockStart::ToolCall {
                        id: id.clone(),
                        name: name.unwrap_or_default(),
                    },
                });
                self.tools.push(OpenTool {
                    key,
                    id,
                    block: index,
                });
                self.saw_tool_call = true;
                index
            }
        };
        if let Some(arguments) = arguments.filter(|a| !a.is_empty()) {
            out.push(Event::Delta {
                index,
                delta: Delta::ToolArguments(arguments),
            });
        }
    }

    fn open_text(&mut self, out: &mut Vec<Event>) -> usize {
        if let Some(index) = self.text {
            return index;
        }
        self.close_reasoning(out);
        self.close_tools(out);
        let index = self.open(BlockStart::Text, out);
        self.text = Some(index);
        index
    }

    fn open_reasoning(&mut self, out: &mut Vec<Event>) -> usize {
        if let Some(index) = self.reasoning {
            return index;
        }
        self.close_text(out);
        self.close_tools(out);
        let block = BlockStart::Reasoning {
            id: None,
            redacted: false,
        };
        let index = self.open(block, out);
        self.reasoning = Some(index);
        index
    }

    fn open(&mut self, block: BlockStart, out: &mut Vec<Event>) -> usize {
        let index = self.next_block;
        self.next_block += 1;
        out.push(Event::BlockStart { index, block });
        index
    }

    fn close_text(&mut self, out: &mut Vec<Event>) {
        if let Some(index) = self.text.take() {
            out.push(Event::BlockStop { index });
        }
    }

    fn close_reasoning(&mut self, out: &mut Vec<Event>) {
        if let Some(index) = self.reasoning.take() {
            out.push(Event::BlockStop { index });
        }
    }

    fn close_text_and_reasoning(&mut self, out: &mut Vec<Event>) {
        self.close_reasoning(out);
        self.close_text(out);
    }

    fn close_tools(&mut self, out: &mut Vec<Event>) {
        out.extend(
            self.tools
                .drain(..)
                .map(|t| Event::BlockStop { index: t.block }),
        );
    }

    /// Closes every open block in the order they opened.
    fn close_all(&mut self, out: &mut Vec<Event>) {
        let mut open: Vec<usize> = self.text.take().into_iter().collect();
        open.extend(self.reasoning.take());
        open.extend(self.tools.drain(..).map(|t| t.block));
        open.sort_unstable();
        out.extend(open.into_iter().map(|index| Event::BlockStop { index }));
    }

    fn finalize(&mut self, out: &mut Vec<Event>) {
        if !self.started {
            self.started = true;
            out.push(Event::Start {
                id: random_id("chatcmpl-"),
                model: String::new(),
                created: unix_now(),
                usage: None,
            });
        }
        self.close_all(out);
        let stop = match stop_from_wire(self.finish_reason.as_deref(), self.saw_tool_call) {
            StopReason::EndTurn if self.refused => StopReason::Refusal,
            other => other,
        };
        out.push(Event::Finish {
            stop,
            stop_sequence: None,
            usage: self.usage.unwrap_or_default(),
        });
        self.done = true;
    }
}

/// IR events → a client's `chat.completion.chunk` stream.
///
/// Every chunk shares the same head (`id`, `object`, `created`, `model`), built once at `Start`; each delta
/// is then written straight into the output without building a JSON tree.
pub struct Encoder {
    model: String,
    include_usage: bool,
    /// `data: {"id":…,"object":"chat.completion.chunk","created":…,"model":…,` — empty until started.
    head: Vec<u8>,
    /// IR block index → the client's tool call index, for open tool blocks.
    tools: Vec<(usize, usize)>,
    tool_count: usize,
    /// Text was written, so a later text block is set off by a blank line.
    wrote_text: bool,
    text_block_fresh: bool,
    /// `Finish` or `Error` was written: nothing more goes out but the terminator.
    ended: bool,
    failed: bool,
    /// `finish()` ran.
    closed: bool,
}

impl Encoder {
    pub fn new(opts: &StreamOptions) -> Self {
        Encoder {
            model: opts.model.clone(),
            include_usage: opts.include_usage,
            head: Vec::new(),
            tools: Vec::new(),
            tool_count: 0,
            wrote_text: false,
            text_block_fresh: false,
            ended: false,
            failed: false,
            closed: false,
        }
    }

    fn start(&mut self, id: &str, model: &str, created: u64, out: &mut Vec<u8>) {
        let model = if self.model.is_empty() {
            model
        } else {
            &self.model
        };
        self.head = chunk_head(
            &client_id(id, "chatcmpl-"),
            "chat.completion.chunk",
            created,
            model,
        );
        self.chunk(br#"{"role":"assistant","content":""}"#, out);
    }

    fn ensure_started(&mut self, out: &mut Vec<u8>) {
        if self.head.is_empty() {
            self.start("", "", unix_now(), out);
        }
    }

    /// One chunk with a single choice carrying `delta` (a JSON object) and no finish reason.
    fn chunk(&self, delta: &[u8], out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head);
        out.extend_from_slice(br#""choices":[{"index":0,"delta":"#);
        out.extend_from_slice(delta);
        out.extend_from_slice(b",\"logprobs\":null,\"finish_reason\":null}]}\n\n");
    }

    fn delta_string(&self, field: &str, value: &str, out: &mut Vec<u8>) {
        let mut delta = Vec::with_capacity(value.len() + field.len() + 8);
        delta.push(b'{');
        push_json_str(&mut delta, field);
        delta.push(b':');
        push_json_str(&mut delta, value);
        delta.push(b'}');
        self.chunk(&delta, out);
    }
}

impl StreamEncoder for Encoder {
    fn push(&mut self, event: &crate::translate::ir::Event, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            Event::Start {
                id, model, created, ..
            } => {
                if self.head.is_empty() {
                    self.start(id, model, *created, out);
                }
            }
            Event::BlockStart { index, block } => {
                self.ensure_started(out);
                match block {
                    BlockStart::Text => self.text_block_fresh = true,
                    BlockStart::Reasoning { .. } => {}
                    BlockStart::ToolCall { id, name } => {
                        let k = self.tool_count;
                        self.tool_count += 1;
                        self.tools.push((*index, k));
                        let mut delta = Vec::with_capacity(96 + id.len() + name.len());
                        delta.extend_from_slice(br#"{"tool_calls":[{"index":"#);
                        delta.extend_from_slice(k.to_string().as_bytes());
                        delta.extend_from_slice(br#","id":"#);
                        push_json_str(&mut delta, id);
                        delta.extend_from_slice(br#","type":"function","function":{"name":"#);
                        push_json_str(&mut delta, name);
                        delta.extend_from_slice(br#","arguments":""}}]}"#);
                        self.chunk(&delta, out);
                    }
                }
            }
            Event::Delta { index, delta } => {
                self.ensure_started(out);
                match delta {
                    Delta::Text(text) if !text.is_empty() => {
                        if std::mem::take(&mut self.text_block_fresh) && self.wrote_text {
                            // A second text block: keep it from running into the first.
                            self.delta_string("content", "\n\n", out);
                        }
                        self.wrote_text = true;
                        self.delta_string("content", text, out);
                    }
                    Delta::Reasoning(text) if !text.is_empty() => {
                        self.delta_string("reasoning_content", text, out);
                    }
                    Delta::ToolArguments(args) if !args.is_empty() => {
                        let Some(&(_, k)) = self.tools.iter().find(|(b, _)| b == index) else {
                            tracing::debug!(index, "arguments for an unknown tool block dropped");
                            return;
                        };
                        let mut delta = Vec::with_capacity(64 + args.len());
                        delta.extend_from_slice(br#"{"tool_calls":[{"index":"#);
                        delta.extend_from_slice(k.to_string().as_bytes());
                        delta.extend_from_slice(br#","function":{"arguments":"#);
                        push_json_str(&mut delta, args);
                        delta.extend_from_slice(b"}}]}");
                        self.chunk(&delta, out);
                    }
                    // Chat has no place for opaque reasoning signatures.
                    _ => {}
                }
            }
            Event::BlockStop { index } => self.tools.retain(|(b, _)| b != index),
            Event::Finish { stop, usage, .. } => {
                self.ensure_started(out);
                let reason = stop_to_wire(stop, self.tool_count > 0);
                out.extend_from_slice(&self.head);
                out.extend_from_slice(
                    br#""choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":""#,
                );
                out.extend_from_slice(reason.as_bytes());
                out.extend_from_slice(b"\"}]}\n\n");
                if self.include_usage {
                    out.extend_from_slice(&self.head);
                    out.extend_from_slice(br#""choices":[],"usage":"#);
                    out.extend_from_slice(usage_json(usage).to_string().as_bytes());
                    out.extend_from_slice(b"}\n\n");
                }
                self.ended = true;
            }
            Event::Error { message } => {
                out.extend_from_slice(
                    stream_error_event(Format::OpenAiChat, message, 0).as_bytes(),
                );
                self.ended = true;
                self.failed = true;
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        // After an error the stream just ends: `[DONE]` would tell the client the answer is complete.
        if !self.failed && !self.closed {
            out.extend_from_slice(b"data: [DONE]\n\n");
        }
        self.ended = true;
        self.closed = true;
    }
}

/// `data: {"id":…,"object":…,"created":…,"model":…,` — the shared start of every chunk.
pub(super) fn chunk_head(id: &str, object: &str, created: u64, model: &str) -> Vec<u8> {
    let mut head = Vec::with_capacity(64 + id.len() + model.len());
    head.extend_from_slice(b"data: {\"id\":");
    push_json_str(&mut head, id);
    head.extend_from_slice(b",\"object\":");
    push_json_str(&mut head, object);
    head.extend_from_slice(b",\"created\":");
    head.extend_from_slice(created.to_string().as_bytes());
    head.extend_from_slice(b",\"model\":");
    push_json_str(&mut head, model);
    head.push(b',');
    head
}

/// Appends `s` as a JSON string literal.
pub(super) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
