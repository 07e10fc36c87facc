//! `streamGenerateContent`: every SSE event (or JSON-array element) is a whole `GenerateContentResponse`.

use std::collections::HashMap;

use serde::Serialize;

use super::parts::call_args;
use super::response::error_message;
use super::wire::{
    self, CandidateOut, ContentOut, FunctionCallOut, PartOut, ResponseOut, UsageOut,
};
use super::{
    finish_reason_from_stop, format_time, ir, now_secs, parse_time, random_id,
    stop_from_block_reason, stop_from_finish_reason, usage_from_wire, usage_to_wire,
};
use crate::translate::{StreamDecoder, StreamEncoder, StreamOptions, TranslateError};
use crate::wire::error::{error_json, ErrorKind};
use crate::wire::sse::SseEvent;
use crate::wire::Format;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Reasoning,
}

#[derive(Debug)]
enum Ending {
    Finish(String),
    Blocked(String),
}

/// Turns a Gemini upstream's stream into IR events.
///
/// Text opens one text block that stays open across chunks; thoughts open a reasoning block, closed when
/// anything else starts or when a signature ends the thought run. Each function call is a block of its
/// own carrying the whole arguments in one delta. `finishReason` and `usageMetadata` usually come on the
/// last chunk but may be split (some gateways send usage after), so `Finish` is emitted by `finish()`.
#[derive(Debug, Default)]
pub struct Decoder {
    started: bool,
    next_index: usize,
    open: Option<(usize, Open)>,
    saw_tool_call: bool,
    ending: Option<Ending>,
    usage: Option<ir::Usage>,
    done: bool,
}

impl Decoder {
    fn close(&mut self, events: &mut Vec<ir::Event>) {
        if let Some((index, _)) = self.open.take() {
            events.push(ir::Event::BlockStop { index });
        }
    }

    fn start_block(&mut self, block: ir::BlockStart, events: &mut Vec<ir::Event>) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        events.push(ir::Event::BlockStart { index, block });
        index
    }

    fn ensure_open(&mut self, kind: Open, events: &mut Vec<ir::Event>) -> usize {
        if let Some((index, open)) = self.open {
            if open == kind {
                return index;
            }
        }
        self.close(events);
        let block = match kind {
            Open::Text => ir::BlockStart::Text,
            Open::Reasoning => ir::BlockStart::Reasoning {
                id: None,
                redacted: false,
            },
        };
        let index = self.start_block(block, events);
        self.open = Some((index, kind));
        index
    }

    fn part(&mut self, part: wire::Part, events: &mut Vec<ir::Event>) {
        // A call is a call even if flagged as a thought.
        if part.thought == Some(true) && part.function_call.is_none() {
            let text = part.text.unwrap_or_default();
            if text.is_empty() && part.thought_signature.is_none() {
                return;
            }
            let index = self.ensure_open(Open::Reasoning, events);
            if !text.is_empty() {
                events.push(ir::Event::Delta {
                    index,
                    delta: ir::Delta::Reasoning(text),
                });
            }
            if let Some(signature) = part.thought_signature {
                // A signature ends the thought run it signs.
                events.push(ir::Event::Delta {
                    index,
                    delta: ir::Delta::Signature(signature),
                });
                self.close(events);
            }
            return;
        }
        if let Some(call) = part.function_call {
            self.close(events);
            self.saw_tool_call = true;
            let arguments = match call.args {
                None | Some(serde_json::Value::Null) => "{}".to_string(),
                Some(args) => args.to_string(),
            };
            let id = call
                .id
                .filter(|id| !id.is_empty())
                .unwrap_or_else(|| random_id("call_"));
            let index = self.start_block(
                ir::BlockStart::ToolCall {
                    id,
                    name: call.name,
                },
                events,
            );
            events.push(ir::Event::Delta {
                index,
                delta: ir::Delta::ToolArguments(arguments),
            });
            if let Some(signature) = part.thought_signature {
                events.push(ir::Event::Delta {
                    index,
                    delta: ir::Delta::Signature(signature),
                });
            }
            events.push(ir::Event::BlockStop { index });
            return;
        }
        if let Some(signature) = part.thought_signature {
            // A signature on an ordinary part: the IR has no slot on text, so it travels as a reasoning
            // block of its own, placed before the part it came with (see the module docs).
            self.close(events);
            let index = self.start_block(
                ir::BlockStart::Reasoning {
                    id: None,
                    redacted: false,
                },
                events,
            );
            events.push(ir::Event::Delta {
                index,
                delta: ir::Delta::Signature(signature),
            });
            events.push(ir::Event::BlockStop { index });
        }
        if let Some(text) = part.text {
            if !text.is_empty() {
                let index = self.ensure_open(Open::Text, events);
                events.push(ir::Event::Delta {
                    index,
                    delta: ir::Delta::Text(text),
                });
            }
        } else if part.inline_data.is_some() || part.file_data.is_some() {
            tracing::warn!(
                "dropping media from a streamed Gemini answer: IR streams carry no media"
            );
        } else if part.executable_code.is_some() || part.code_execution_result.is_some() {
            tracing::debug!("dropping a code execution part from a streamed Gemini answer");
        }
    }
}

impl StreamDecoder for Decoder {
    fn push(&mut self, event: &SseEvent) -> Result<Vec<ir::Event>, TranslateError> {
        let data = event.data.trim();
        if self.done || data.is_empty() || data == "[DONE]" {
            return Ok(Vec::new());
        }
        let chunk: wire::GenerateContentResponse = serde_json::from_str(data)
            .map_err(|e| TranslateError::Upstream(format!("invalid Gemini stream chunk: {e}")))?;
        let mut events = Vec::new();
        if let Some(error) = &chunk.error {
            self.close(&mut events);
            events.push(ir::Event::Error {
                message: error_message(error),
            });
            self.done = true;
            return Ok(events);
        }
        if !self.started {
            self.started = true;
            events.push(ir::Event::Start {
                id: chunk
                    .response_id
                    .clone()
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| random_id("")),
                model: chunk.model_version.clone().unwrap_or_default(),
                created: chunk
                    .create_time
                    .as_deref()
                    .and_then(parse_time)
                    .unwrap_or_else(now_secs),
                usage: None,
            });
        }
        if let Some(usage) = &chunk.usage_metadata {
            self.usage = Some(usage_from_wire(usage));
        }
        match chunk.candidates.into_iter().next() {
            Some(candidate) => {
                if let Some(content) = candidate.content {
                    for part in content.parts {
                        self.part(part, &mut events);
                    }
                }
                if let Some(reason) = candidate.finish_reason.filter(|r| !r.is_empty()) {
                    self.ending = Some(Ending::Finish(reason));
                }
            }
            None => {
                if let Some(block) = chunk.prompt_feedback.and_then(|f| f.block_reason) {
                    self.ending = Some(Ending::Blocked(block));
                }
            }
        }
        Ok(events)
    }

    fn finish(&mut self) -> Vec<ir::Event> {
        if self.done {
            return Vec::new();
        }
        self.done = true;
        let mut events = Vec::new();
        self.close(&mut events);
        let stop = match self.ending.take() {
            Some(Ending::Finish(reason)) => stop_from_finish_reason(&reason, self.saw_tool_call),
            Some(Ending::Blocked(reason)) => stop_from_block_reason(&reason),
            None => {
                events.push(ir::Event::Error {
                    message: "upstream stream ended early".to_string(),
                });
                return events;
            }
        };
        events.push(ir::Event::Finish {
            stop,
            stop_sequence: None,
            usage: self.usage.unwrap_or_default(),
        });
        events
    }
}

fn lone_signature(signature: &str) -> PartOut<'_> {
    PartOut {
        text: Some(""),
        thought: Some(true),
        thought_signature: Some(signature),
        ..PartOut::default()
    }
}

/// Writes one chunk in the client's framing.
fn write_frame(sse: bool, opened: &mut bool, value: &impl Serialize, out: &mut Vec<u8>) {
    if sse {
        out.extend_from_slice(b"data: ");
    } else if *opened {
        out.extend_from_slice(b",\r\n");
    } else {
        out.push(b'[');
        *opened = true;
    }
    if let Err(e) = serde_json::to_writer(&mut *out, value) {
        tracing::error!(error = %e, "could not serialise a Gemini stream chunk");
        out.extend_from_slice(b"{}");
    }
    if sse {
        out.extend_from_slice(b"\r\n\r\n");
    }
}

#[derive(Debug)]
enum Block {
    Text,
    Reasoning {
        has_text: bool,
    },
    /// Gemini sends a call whole, so fragments are held until the block ends.
    Tool {
        id: String,
        name: String,
        arguments: String,
        signature: Option<String>,
    },
}

/// Writes IR events as a Gemini client's stream: `data: {chunk}\r\n\r\n` with `?alt=sse`, otherwise one
/// JSON array written element by element.
#[derive(Debug)]
pub struct Encoder {
    model: String,
    sse: bool,
    id: String,
    create_time: String,
    /// Array mode: `[` has been written.
    opened: bool,
    /// Array mode: `]` has been written.
    closed: bool,
    blocks: HashMap<usize, Block>,
    /// A signature from a reasoning block without text: it signs the part that follows (Gemini puts such
    /// signatures on the next text or call part), so it waits for that part.
    pending_signature: Option<String>,
    done: bool,
}

impl Encoder {
    pub fn new(opts: &StreamOptions) -> Self {
        Encoder {
            model: opts.model.clone(),
            sse: opts.gemini_sse,
            id: random_id(""),
            create_time: format_time(now_secs()),
            opened: false,
            closed: false,
            blocks: HashMap::new(),
            pending_signature: None,
            done: false,
        }
    }

    fn write_chunk(
        &mut self,
        parts: Vec<PartOut<'_>>,
        finish_reason: Option<&str>,
        usage: Option<UsageOut>,
        out: &mut Vec<u8>,
    ) {
        let chunk = ResponseOut {
            candidates: [CandidateOut {
                content: ContentOut {
                    role: "model",
                    parts,
                },
                finish_reason,
                index: 0,
            }],
            usage_metadata: usage,
            model_version: &self.model,
            create_time: &self.create_time,
            response_id: &self.id,
        };
        write_frame(self.sse, &mut self.opened, &chunk, out);
    }

    /// A signature with no part to ride on, as an empty thought part: Gemini CLI drops a chunk holding an
    /// empty non-thought text part.
    fn write_lone_signature(&mut self, signature: &str, out: &mut Vec<u8>) {
        self.write_chunk(vec![lone_signature(signature)], None, None, out);
    }

    fn flush_pending_signature(&mut self, out: &mut Vec<u8>) {
        if let Some(signature) = self.pending_signature.take() {
            self.write_lone_signature(&signature, out);
        }
    }

    fn write_call(&mut self, block: Block, out: &mut Vec<u8>) {
        let Block::Tool {
            id,
            name,
            arguments,
            signature,
        } = block
        else {
            return;
        };
        let signature = match signature {
            Some(own) => {
                self.flush_pending_signature(out);
                Some(own)
            }
            None => self.pending_signature.take(),
        };
        let args = call_args(&arguments, &name, false).unwrap_or(wire::Args::Empty);
        let part = PartOut {
            function_call: Some(FunctionCallOut {
                id: (!id.is_empty()).then_some(id.as_str()),
                name: &name,
                args,
            }),
            thought_signature: signature.as_deref(),
            ..PartOut::default()
        };
        self.write_chunk(vec![part], None, None, out);
    }

    fn delta(&mut self, index: usize, delta: &ir::Delta, out: &mut Vec<u8>) {
        match delta {
            ir::Delta::Text(text) if !text.is_empty() => {
                let signature = self.pending_signature.take();
                let part = PartOut {
                    text: Some(text),
                    thought_signature: signature.as_deref(),
                    ..PartOut::default()
                };
                self.write_chunk(vec![part], None, None, out);
            }
            ir::Delta::Reasoning(text) if !text.is_empty() => {
                self.flush_pending_signature(out);
                if let Some(Block::Reasoning { has_text }) = self.blocks.get_mut(&index) {
                    *has_text = true;
                }
                let part = PartOut {
                    text: Some(text),
                    thought: Some(true),
                    ..PartOut::default()
                };
                self.write_chunk(vec![part], None, None, out);
            }
            ir::Delta::Signature(signature) => match self.blocks.get_mut(&index) {
                Some(Block::Tool { signature: s, .. }) => *s = Some(signature.clone()),
                // Signs the thoughts just sent: right after them, as Gemini ends a thought run.
                Some(Block::Reasoning { has_text: true }) => {
                    self.flush_pending_signature(out);
                    self.write_lone_signature(signature, out);
                }
                _ => {
                    self.flush_pending_signature(out);
                    self.pending_signature = Some(signature.clone());
                }
            },
            ir::Delta::ToolArguments(fragment) => {
                if let Some(Block::Tool { arguments, .. }) = self.blocks.get_mut(&index) {
                    arguments.push_str(fragment);
                }
            }
            _ => {}
        }
    }

    /// Calls whose block never closed still reach the client before the stream ends.
    fn flush_calls(&mut self, out: &mut Vec<u8>) {
        let mut open: Vec<usize> = self.blocks.keys().copied().collect();
        open.sort_unstable();
        for index in open {
            if let Some(block) = self.blocks.remove(&index) {
                self.write_call(block, out);
            }
        }
    }
}

impl StreamEncoder for Encoder {
    fn push(&mut self, event: &ir::Event, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match event {
            ir::Event::Start {
                id, model, created, ..
            } => {
                if !id.is_empty() {
                    self.id.clone_from(id);
                }
                if self.model.is_empty() {
                    self.model.clone_from(model);
                }
                self.create_time = format_time(*created);
            }
            ir::Event::BlockStart { index, block } => {
                let state = match block {
                    ir::BlockStart::Text => Block::Text,
                    ir::BlockStart::Reasoning { .. } => Block::Reasoning { has_text: false },
                    ir::BlockStart::ToolCall { id, name } => Block::Tool {
                        id: id.clone(),
                        name: name.clone(),
                        arguments: String::new(),
                        signature: None,
                    },
                };
                self.blocks.insert(*index, state);
            }
            ir::Event::Delta { index, delta } => self.delta(*index, delta, out),
            ir::Event::BlockStop { index } => {
                if let Some(block) = self.blocks.remove(index) {
                    self.write_call(block, out);
                }
            }
            ir::Event::Finish { stop, usage, .. } => {
                self.flush_calls(out);
                let signature = self.pending_signature.take();
                let parts = signature
                    .as_deref()
                    .map(lone_signature)
                    .into_iter()
                    .collect();
                let reason = finish_reason_from_stop(stop).to_string();
                self.write_chunk(parts, Some(&reason), Some(usage_to_wire(usage)), out);
                self.done = true;
            }
            ir::Event::Error { message } => {
                let error = error_json(Format::Gemini, ErrorKind::Upstream, message, None);
                write_frame(self.sse, &mut self.opened, &error, out);
                self.done = true;
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.sse || self.closed {
            return;
        }
        self.closed = true;
        if !self.opened {
            out.push(b'[');
            self.opened = true;
        }
        out.push(b']');
    }

    fn keep_alive(&mut self, out: &mut Vec<u8>) {
        if self.closed {
            return;
        }
        // Whitespace: a blank line is no SSE event, and whitespace between array elements is valid
        // JSON. (An SSE comment would make google-genai for Python fail to parse the stream.)
        out.extend_from_slice(if self.sse { b"\r\n" } else { b"\n" });
    }
}
