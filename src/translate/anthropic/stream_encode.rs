//! IR events → the SSE stream a Claude client expects:
//! `message_start` → per block `content_block_start`, deltas, `content_block_stop` → `message_delta` →
//! `message_stop`.
//!
//! Claude's SDKs append a block at `content_block_start` and address it by position, so blocks must reach
//! the client one at a time in index order. The IR allows blocks to overlap (an OpenAI upstream may stream
//! two tool calls at once); a block that opens while another is being written is buffered and written whole
//! once the current one stops. In the usual sequential case nothing is buffered.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::Serialize;

use super::common::{message_id, random_id, stop_to_wire, OutUsage};
use crate::translate::{ir, StreamEncoder, StreamOptions};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Thinking,
    Redacted,
    Tool,
}

/// The block being written to the client.
struct Active {
    ir_index: usize,
    client_index: usize,
    kind: Kind,
    /// A redacted block's start carries its data, which arrives as the first Signature delta.
    start_written: bool,
}

/// A block that opened while another was being written.
struct Buffered {
    ir_index: usize,
    block: ir::BlockStart,
    /// Text, thinking or argument fragments, joined.
    text: String,
    signature: Option<String>,
    closed: bool,
}

pub struct Encoder {
    model: String,
    started: bool,
    done: bool,
    next_client_index: usize,
    active: Option<Active>,
    queue: VecDeque<Buffered>,
    saw_tool: bool,
    /// Prompt counts from `Start`, for a `Finish` whose usage lacks them.
    start_usage: Option<ir::Usage>,
}

#[derive(Serialize)]
struct MessageStart<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: StartMessage<'a>,
}

#[derive(Serialize)]
struct StartMessage<'a> {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    role: &'static str,
    model: &'a str,
    content: [(); 0],
    stop_reason: Option<()>,
    stop_sequence: Option<()>,
    usage: OutUsage,
}

#[derive(Serialize)]
struct BlockStartEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    content_block: StartBlock<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum StartBlock<'a> {
    Text {
        text: &'static str,
    },
    Thinking {
        thinking: &'static str,
        signature: &'static str,
    },
    RedactedThinking {
        data: &'a str,
    },
    ToolUse {
        id: Cow<'a, str>,
        name: &'a str,
        input: super::response::EmptyObject,
    },
}

#[derive(Serialize)]
struct DeltaEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
    delta: WireDelta<'a>,
}

/// Claude's delta types (`text_delta`, …).
#[derive(Serialize)]
#[serde(tag = "type")]
enum WireDelta<'a> {
    #[serde(rename = "text_delta")]
    Text { text: &'a str },
    #[serde(rename = "thinking_delta")]
    Thinking { thinking: &'a str },
    #[serde(rename = "signature_delta")]
    Signature { signature: &'a str },
    #[serde(rename = "input_json_delta")]
    InputJson { partial_json: &'a str },
}

#[derive(Serialize)]
struct IndexEvent {
    #[serde(rename = "type")]
    kind: &'static str,
    index: usize,
}

#[derive(Serialize)]
struct MessageDelta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    delta: MessageDeltaBody<'a>,
    usage: OutUsage,
}

#[derive(Serialize)]
struct MessageDeltaBody<'a> {
    stop_reason: &'a str,
    stop_sequence: Option<&'a str>,
}

#[derive(Serialize)]
struct ErrorEvent<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    message: &'a str,
}

fn write_event<T: Serialize>(out: &mut Vec<u8>, name: &str, data: &T) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    // Serialising these borrowed structs into a Vec cannot fail (no maps with non-string keys, no I/O).
    if serde_json::to_writer(&mut *out, data).is_err() {
        tracing::warn!(event = name, "stream event could not be serialised");
    }
    out.extend_from_slice(b"\n\n");
}

fn kind_of(block: &ir::BlockStart) -> Kind {
    match block {
        ir::BlockStart::Text => Kind::Text,
        ir::BlockStart::Reasoning { redacted: true, .. } => Kind::Redacted,
        ir::BlockStart::Reasoning { .. } => Kind::Thinking,
        ir::BlockStart::ToolCall { .. } => Kind::Tool,
    }
}

impl Encoder {
    pub fn new(opts: &StreamOptions) -> Self {
        Encoder {
            model: opts.model.clone(),
            started: false,
            done: false,
            next_client_index: 0,
            active: None,
            queue: VecDeque::new(),
            saw_tool: false,
            start_usage: None,
        }
    }

    fn start(&mut self, id: &str, model: &str, usage: Option<&ir::Usage>, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.start_usage = usage.copied();
        let mut usage = usage.map(OutUsage::from_ir).unwrap_or(OutUsage {
            input_tokens: 0,
            output_tokens: 0,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: 0,
        });
        usage.output_tokens = 0;
        let model = if self.model.is_empty() {
            model
        } else {
            &self.model
        };
        let ev = MessageStart {
            kind: "message_start",
            message: StartMessage {
                id: message_id(id),
                kind: "message",
                role: "assistant",
                model,
                content: [],
                stop_reason: None,
                stop_sequence: None,
                usage,
            },
        };
        write_event(out, "message_start", &ev);
    }

    /// Writes a block's start (deferred for redacted blocks until their data is known) and makes it active.
    fn open(&mut self, ir_index: usize, block: &ir::BlockStart, out: &mut Vec<u8>) {
        let kind = kind_of(block);
        let client_index = self.next_client_index;
        self.next_client_index += 1;
        let content_block = match block {
            ir::BlockStart::Text => Some(StartBlock::Text { text: "" }),
            ir::BlockStart::Reasoning {
                redacted: false, ..
            } => Some(StartBlock::Thinking {
                thinking: "",
                signature: "",
            }),
            ir::BlockStart::Reasoning { redacted: true, .. } => None,
            ir::BlockStart::ToolCall { id, name } => {
                self.saw_tool = true;
                Some(StartBlock::ToolUse {
                    // Upstream ids pass unchanged; an upstream without ids (Gemini) gets Claude-style ones.
                    id: if id.is_empty() {
                        Cow::Owned(random_id("toolu_"))
                    } else {
                        Cow::Borrowed(id)
                    },
                    name,
                    input: super::response::EmptyObject {},
                })
            }
        };
        let start_written = content_block.is_some();
        if let Some(content_block) = content_block {
            write_event(
                out,
                "content_block_start",
                &BlockStartEvent {
                    kind: "content_block_start",
                    index: client_index,
                    content_block,
                },
            );
        }
        self.active = Some(Active {
            ir_index,
            client_index,
            kind,
            start_written,
        });
    }

    fn write_redacted_start(active: &mut Active, data: &str, out: &mut Vec<u8>) {
        active.start_written = true;
        write_event(
            out,
            "content_block_start",
            &BlockStartEvent {
                kind: "content_block_start",
                index: active.client_index,
                content_block: StartBlock::RedactedThinking { data },
            },
        );
    }

    /// Writes a delta into the active block, when its kind has a matching Claude delta.
    fn delta(active: &mut Active, delta: &ir::Delta, out: &mut Vec<u8>) {
        let wire = match (active.kind, delta) {
            (Kind::Text, ir::Delta::Text(t)) if !t.is_empty() => WireDelta::Text { text: t },
            (Kind::Thinking, ir::Delta::Reasoning(t)) if !t.is_empty() => {
                WireDelta::Thinking { thinking: t }
            }
            (Kind::Thinking, ir::Delta::Signature(s)) => WireDelta::Signature { signature: s },
            (Kind::Tool, ir::Delta::ToolArguments(a)) if !a.is_empty() => {
                WireDelta::InputJson { partial_json: a }
            }
            (Kind::Redacted, ir::Delta::Signature(s)) if !active.start_written => {
                Self::write_redacted_start(active, s, out);
                return;
            }
            _ => return,
        };
        write_event(
            out,
            "content_block_delta",
            &DeltaEvent {
                kind: "content_block_delta",
                index: active.client_index,
                delta: wire,
            },
        );
    }

    fn close_active(&mut self, out: &mut Vec<u8>) {
        let Some(mut active) = self.active.take() else {
            return;
        };
        if !active.start_written {
            Self::write_redacted_start(&mut active, "", out);
        }
        write_event(
            out,
            "content_block_stop",
            &IndexEvent {
                kind: "content_block_stop",
                index: active.client_index,
            },
        );
    }

    /// After the active block closed: writes buffered blocks in order until one that is still open (which
    /// becomes active) or none is left.
    fn drain(&mut self, out: &mut Vec<u8>, all: bool) {
        while self.active.is_none() {
            let Some(b) = self.queue.pop_front() else {
                return;
            };
            self.open(b.ir_index, &b.block, out);
            if let Some(active) = self.active.as_mut() {
                let text = match active.kind {
                    Kind::Text => ir::Delta::Text(b.text),
                    Kind::Thinking | Kind::Redacted => ir::Delta::Reasoning(b.text),
                    Kind::Tool => ir::Delta::ToolArguments(b.text),
                };
                Self::delta(active, &text, out);
                if let Some(sig) = b.signature {
                    Self::delta(active, &ir::Delta::Signature(sig), out);
                }
            }
            if b.closed || all {
                self.close_active(out);
            }
        }
    }

    fn buffered(&mut self, ir_index: usize) -> Option<&mut Buffered> {
        self.queue.iter_mut().find(|b| b.ir_index == ir_index)
    }
}

impl StreamEncoder for Encoder {
    fn push(&mut self, event: &ir::Event, out: &mut Vec<u8>) {
        if self.done {
            return;
        }
        match event {
            ir::Event::Start {
                id, model, usage, ..
            } => self.start(id, model, usage.as_ref(), out),
            ir::Event::BlockStart { index, block } => {
                self.start("", "", None, out);
                if self.active.is_none() {
                    self.open(*index, block, out);
                } else {
                    self.queue.push_back(Buffered {
                        ir_index: *index,
                        block: block.clone(),
                        text: String::new(),
                        signature: None,
                        closed: false,
                    });
                }
            }
            ir::Event::Delta { index, delta } => {
                if let Some(active) = self.active.as_mut().filter(|a| a.ir_index == *index) {
                    Self::delta(active, delta, out);
                } else if let Some(b) = self.buffered(*index) {
                    match (kind_of(&b.block), delta) {
                        (Kind::Text, ir::Delta::Text(t))
                        | (Kind::Thinking, ir::Delta::Reasoning(t))
                        | (Kind::Tool, ir::Delta::ToolArguments(t)) => b.text.push_str(t),
                        (_, ir::Delta::Signature(s)) => b.signature = Some(s.clone()),
                        // A delta of another kind has no Claude spelling in this block (as when active).
                        _ => {}
                    }
                }
            }
            ir::Event::BlockStop { index } => {
                if self.active.as_ref().is_some_and(|a| a.ir_index == *index) {
                    self.close_active(out);
                    self.drain(out, false);
                } else if let Some(b) = self.buffered(*index) {
                    b.closed = true;
                }
            }
            ir::Event::Finish {
                stop,
                stop_sequence,
                usage,
            } => {
                self.start("", "", None, out);
                self.close_active(out);
                self.drain(out, true);
                let mut usage = *usage;
                if let (0, Some(start)) = (usage.input, self.start_usage) {
                    usage.input = start.input;
                    usage.cache_read = start.cache_read;
                    usage.cache_write = start.cache_write;
                }
                write_event(
                    out,
                    "message_delta",
                    &MessageDelta {
                        kind: "message_delta",
                        delta: MessageDeltaBody {
                            stop_reason: stop_to_wire(stop, self.saw_tool),
                            stop_sequence: stop_sequence.as_deref(),
                        },
                        usage: OutUsage::from_ir(&usage),
                    },
                );
                write_event(
                    out,
                    "message_stop",
                    &serde_json::json!({"type": "message_stop"}),
                );
                self.done = true;
            }
            ir::Event::Error { message } => {
                write_error(message, out);
                self.done = true;
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.started && !self.done {
            // The caller ended the stream without Finish or Error: never let it look complete.
            write_error("upstream stream ended early", out);
            self.done = true;
        }
    }

    fn keep_alive(&mut self, out: &mut Vec<u8>) {
        // Claude's own keep-alive, which every Claude client already ignores.
        out.extend_from_slice(b"event: ping\ndata: {\"type\":\"ping\"}\n\n");
    }
}

fn write_error(message: &str, out: &mut Vec<u8>) {
    write_event(
        out,
        "error",
        &ErrorEvent {
            kind: "error",
            error: ErrorBody {
                kind: "api_error",
                message,
            },
        },
    );
}
