//! A Claude upstream's SSE stream → IR events.
//!
//! Finish is emitted at `message_stop`: by then `message_delta` has delivered the stop reason and the final
//! cumulative usage. A stream that ends after `message_delta` but without `message_stop` is complete in all
//! but the last frame, so `finish()` still reports it finished; one that ends before is an error.

use std::collections::HashMap;

use serde::Deserialize;

use super::common::{now_unix, stop_from_wire, WireBlock, WireUsage};
use super::response::WireError;
use crate::translate::{ir, StreamDecoder, TranslateError};
use crate::wire::sse::SseEvent;

/// One upstream event, as `on_event` handles it.
enum WireEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: u64,
        content_block: WireBlock,
    },
    ContentBlockDelta {
        index: u64,
        delta: WireDelta,
    },
    ContentBlockStop {
        index: u64,
    },
    MessageDelta {
        delta: Option<MessageDeltaBody>,
        usage: Option<WireUsage>,
    },
    MessageStop,
    Error {
        error: WireError,
    },
    /// `ping` and anything newer than this code: ignored, as Anthropic's versioning policy asks.
    Other,
}

#[derive(Deserialize)]
struct StartMessage {
    #[serde(default)]
    id: String,
    #[serde(default)]
    model: String,
    #[serde(default)]
    usage: WireUsage,
}

enum WireDelta {
    Text(String),
    Thinking(String),
    Signature(String),
    InputJson(String),
    Other,
}

#[derive(Default)]
struct MessageDeltaBody {
    stop_reason: Option<String>,
    stop_sequence: Option<String>,
}

/// Every event's fields in one struct, read in a single pass. serde's internally tagged enums buffer a
/// whole event before they pick its variant, which cost a fifth of a translated stream's CPU; the `type`
/// tags are matched by hand in [`FlatEvent::into_event`] instead. Absent and `null` read alike.
#[derive(Deserialize)]
struct FlatEvent {
    #[serde(rename = "type")]
    kind: String,
    index: Option<u64>,
    message: Option<StartMessage>,
    content_block: Option<WireBlock>,
    delta: Option<FlatDelta>,
    usage: Option<WireUsage>,
    error: Option<WireError>,
}

/// A `content_block_delta`'s or a `message_delta`'s `delta`.
#[derive(Deserialize)]
struct FlatDelta {
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<String>,
    thinking: Option<String>,
    signature: Option<String>,
    partial_json: Option<String>,
    stop_reason: Option<String>,
    stop_sequence: Option<String>,
}

impl FlatEvent {
    fn into_event(self) -> Result<WireEvent, String> {
        let kind = self.kind;
        let missing = |field: &str| format!("`{kind}` without `{field}`");
        let index = self.index.ok_or_else(|| missing("index"));
        Ok(match kind.as_str() {
            "message_start" => WireEvent::MessageStart {
                message: self.message.ok_or_else(|| missing("message"))?,
            },
            "content_block_start" => WireEvent::ContentBlockStart {
                index: index?,
                content_block: self.content_block.ok_or_else(|| missing("content_block"))?,
            },
            "content_block_delta" => {
                let d = self.delta.ok_or_else(|| missing("delta"))?;
                let Some(delta_kind) = d.kind else {
                    return Err(missing("delta.type"));
                };
                let field = |value: Option<String>, name: &str| {
                    value.ok_or_else(|| format!("`{delta_kind}` without `{name}`"))
                };
                let delta = match delta_kind.as_str() {
                    "text_delta" => WireDelta::Text(field(d.text, "text")?),
                    "thinking_delta" => WireDelta::Thinking(field(d.thinking, "thinking")?),
                    "signature_delta" => WireDelta::Signature(field(d.signature, "signature")?),
                    "input_json_delta" => {
                        WireDelta::InputJson(field(d.partial_json, "partial_json")?)
                    }
                    _ => WireDelta::Other,
                };
                WireEvent::ContentBlockDelta {
                    index: index?,
                    delta,
                }
            }
            "content_block_stop" => WireEvent::ContentBlockStop { index: index? },
            "message_delta" => WireEvent::MessageDelta {
                delta: self.delta.map(|d| MessageDeltaBody {
                    stop_reason: d.stop_reason,
                    stop_sequence: d.stop_sequence,
                }),
                usage: self.usage,
            },
            "message_stop" => WireEvent::MessageStop,
            "error" => WireEvent::Error {
                error: self.error.ok_or_else(|| missing("error"))?,
            },
            _ => WireEvent::Other,
        })
    }
}

/// One upstream block we pass on.
struct Slot {
    index: usize,
    open: bool,
    /// A `tool_use` start that already carried its input (some relays do): sent as arguments at the stop
    /// unless `input_json_delta`s arrive.
    initial_input: Option<String>,
}

#[derive(Default)]
pub struct Decoder {
    started: bool,
    done: bool,
    next_index: usize,
    /// Upstream block index → our block. Server-tool blocks are not listed: their events are skipped.
    slots: HashMap<u64, Slot>,
    stop: Option<ir::StopReason>,
    stop_sequence: Option<String>,
    usage: WireUsage,
}

impl Decoder {
    fn ensure_started(&mut self, out: &mut Vec<ir::Event>) {
        if !self.started {
            // Only a relay that lost message_start gets here; encoders make their own ids from "".
            self.started = true;
            out.push(ir::Event::Start {
                id: String::new(),
                model: String::new(),
                created: now_unix(),
                usage: None,
            });
        }
    }

    fn open(&mut self, upstream: u64, block: ir::BlockStart, out: &mut Vec<ir::Event>) -> usize {
        let index = self.next_index;
        self.next_index += 1;
        if let Some(old) = self.slots.insert(
            upstream,
            Slot {
                index,
                open: true,
                initial_input: None,
            },
        ) {
            if old.open {
                out.push(ir::Event::BlockStop { index: old.index });
            }
        }
        out.push(ir::Event::BlockStart { index, block });
        index
    }

    fn close(slot: &mut Slot, out: &mut Vec<ir::Event>) {
        if !slot.open {
            return;
        }
        slot.open = false;
        if let Some(input) = slot.initial_input.take() {
            out.push(ir::Event::Delta {
                index: slot.index,
                delta: ir::Delta::ToolArguments(input),
            });
        }
        out.push(ir::Event::BlockStop { index: slot.index });
    }

    fn close_all(&mut self, out: &mut Vec<ir::Event>) {
        let mut open: Vec<&mut Slot> = self.slots.values_mut().filter(|s| s.open).collect();
        open.sort_by_key(|s| s.index);
        for slot in open {
            Self::close(slot, out);
        }
    }

    fn finish_event(&mut self) -> ir::Event {
        ir::Event::Finish {
            stop: self.stop.take().unwrap_or(ir::StopReason::EndTurn),
            stop_sequence: self.stop_sequence.take(),
            usage: self.usage.to_ir(),
        }
    }

    fn on_event(&mut self, ev: WireEvent, out: &mut Vec<ir::Event>) {
        match ev {
            WireEvent::MessageStart { message } => {
                if self.started {
                    return;
                }
                self.started = true;
                self.usage = message.usage;
                out.push(ir::Event::Start {
                    id: message.id,
                    model: message.model,
                    created: now_unix(),
                    usage: Some(message.usage.to_ir()),
                });
            }
            WireEvent::ContentBlockStart {
                index,
                content_block,
            } => {
                self.ensure_started(out);
                match content_block {
                    WireBlock::Text { text } => {
                        let i = self.open(index, ir::BlockStart::Text, out);
                        if !text.is_empty() {
                            out.push(ir::Event::Delta {
                                index: i,
                                delta: ir::Delta::Text(text),
                            });
                        }
                    }
                    WireBlock::Thinking {
                        thinking,
                        signature,
                    } => {
                        let block = ir::BlockStart::Reasoning {
                            id: None,
                            redacted: false,
                        };
                        let i = self.open(index, block, out);
                        if !thinking.is_empty() {
                            out.push(ir::Event::Delta {
                                index: i,
                                delta: ir::Delta::Reasoning(thinking),
                            });
                        }
                        if let Some(signature) = signature.filter(|s| !s.is_empty()) {
                            out.push(ir::Event::Delta {
                                index: i,
                                delta: ir::Delta::Signature(signature),
                            });
                        }
                    }
                    WireBlock::RedactedThinking { data } => {
                        let block = ir::BlockStart::Reasoning {
                            id: None,
                            redacted: true,
                        };
                        let i = self.open(index, block, out);
                        out.push(ir::Event::Delta {
                            index: i,
                            delta: ir::Delta::Signature(data),
                        });
                    }
                    WireBlock::ToolUse { id, name, input } => {
                        self.open(index, ir::BlockStart::ToolCall { id, name }, out);
                        let has_input = input.as_object().is_some_and(|o| !o.is_empty());
                        if let (true, Some(slot)) = (has_input, self.slots.get_mut(&index)) {
                            slot.initial_input = Some(input.to_string());
                        }
                    }
                    WireBlock::Other => {
                        tracing::debug!(index, "server-side content block skipped");
                        if let Some(mut old) = self.slots.remove(&index) {
                            Self::close(&mut old, out);
                        }
                    }
                }
            }
            WireEvent::ContentBlockDelta { index, delta } => {
                let Some(slot) = self.slots.get_mut(&index).filter(|s| s.open) else {
                    return;
                };
                let delta = match delta {
                    WireDelta::Text(text) => ir::Delta::Text(text),
                    WireDelta::Thinking(thinking) => ir::Delta::Reasoning(thinking),
                    WireDelta::Signature(signature) => ir::Delta::Signature(signature),
                    WireDelta::InputJson(partial_json) => {
                        slot.initial_input = None;
                        if partial_json.is_empty() {
                            return;
                        }
                        ir::Delta::ToolArguments(partial_json)
                    }
                    WireDelta::Other => return,
                };
                out.push(ir::Event::Delta {
                    index: slot.index,
                    delta,
                });
            }
            WireEvent::ContentBlockStop { index } => {
                if let Some(slot) = self.slots.get_mut(&index) {
                    Self::close(slot, out);
                }
            }
            WireEvent::MessageDelta { delta, usage } => {
                let delta = delta.unwrap_or_default();
                if let Some(reason) = delta.stop_reason {
                    self.stop = Some(stop_from_wire(&reason));
                }
                if delta.stop_sequence.is_some() {
                    self.stop_sequence = delta.stop_sequence;
                }
                self.usage.merge(usage.unwrap_or_default());
            }
            WireEvent::MessageStop => {
                self.ensure_started(out);
                self.close_all(out);
                let finish = self.finish_event();
                out.push(finish);
                self.done = true;
            }
            WireEvent::Error { error } => {
                self.close_all(out);
                out.push(ir::Event::Error {
                    message: error.describe(),
                });
                self.done = true;
            }
            WireEvent::Other => {}
        }
    }
}

impl StreamDecoder for Decoder {
    fn push(&mut self, event: &SseEvent) -> Result<Vec<ir::Event>, TranslateError> {
        let mut out = Vec::new();
        if self.done {
            return Ok(out);
        }
        let ev = serde_json::from_str::<FlatEvent>(&event.data)
            .map_err(|e| e.to_string())
            .and_then(FlatEvent::into_event)
            .map_err(|e| {
                TranslateError::Upstream(format!(
                    "invalid Claude stream event {}: {e}",
                    event.event.as_deref().unwrap_or("(unnamed)")
                ))
            })?;
        self.on_event(ev, &mut out);
        Ok(out)
    }

    fn finish(&mut self) -> Vec<ir::Event> {
        let mut out = Vec::new();
        if self.done {
            return out;
        }
        self.done = true;
        self.close_all(&mut out);
        if self.stop.is_some() {
            self.ensure_started(&mut out);
            let finish = self.finish_event();
            out.push(finish);
        } else {
            out.push(ir::Event::Error {
                message: "upstream stream ended early".to_string(),
            });
        }
        out
    }
}
