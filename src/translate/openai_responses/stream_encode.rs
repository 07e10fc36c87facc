//! IR events into the Responses event stream, in the order and with the fields the OpenAI SDKs' stream
//! models require: every event has `type` and a `sequence_number` counting from 0, and an `event:` line.
//!
//! Each IR block becomes one output item: text → a `message` with one `output_text` part, reasoning → a
//! `reasoning` item with one summary part (its opaque token as `encrypted_content`), a tool call → a
//! `function_call`. Streams end at `response.completed` / `response.incomplete` / `response.failed`; there
//! is no `[DONE]`.

use serde::Serialize;
use serde_json::{json, Value};

use super::response::{
    function_call_item, message_item, output_text_part, reasoning_item, response_id,
    response_object, summary_part, ResponseMeta,
};
use super::{now_secs, random_id, stop_status};
use crate::translate::ir::{BlockStart, Delta, Event, Usage};
use crate::translate::{StreamEncoder, StreamOptions};

enum Kind {
    Text,
    Reasoning {
        signature: Option<String>,
        redacted: bool,
        /// Whether the summary part was announced (only once there is text).
        part_open: bool,
    },
    Tool {
        call_id: String,
        name: String,
    },
}

struct Block {
    output_index: usize,
    item_id: String,
    kind: Kind,
    /// The text, reasoning or arguments so far, repeated in the `.done` events and the final response.
    content: String,
}

/// A delta event, written without building a JSON tree: these are most of a stream's events.
#[derive(Serialize)]
struct DeltaEvent<'a> {
    #[serde(rename = "type")]
    ty: &'static str,
    sequence_number: u64,
    item_id: &'a str,
    output_index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_index: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary_index: Option<u32>,
    delta: &'a str,
    /// Required (empty) on `output_text.delta` by the SDK's model.
    #[serde(skip_serializing_if = "Option::is_none")]
    logprobs: Option<[u8; 0]>,
}

/// The client stream encoder. One per request.
pub struct Encoder {
    requested_model: String,
    seq: u64,
    started: bool,
    finished: bool,
    id: String,
    model: String,
    created_at: u64,
    /// By IR block index.
    blocks: Vec<Option<Block>>,
    /// Finished items by output index, for the final response object.
    output: Vec<Option<Value>>,
}

impl Encoder {
    pub fn new(opts: &StreamOptions) -> Self {
        Encoder {
            requested_model: opts.model.clone(),
            seq: 0,
            started: false,
            finished: false,
            id: String::new(),
            model: String::new(),
            created_at: 0,
            blocks: Vec::new(),
            output: Vec::new(),
        }
    }

    /// Writes `event: ty` and a JSON object whose `type` and `sequence_number` come first.
    fn emit(&mut self, ty: &'static str, fields: Value, out: &mut Vec<u8>) {
        let mut event = json!({"type": ty, "sequence_number": self.seq});
        if let (Some(event), Value::Object(fields)) = (event.as_object_mut(), fields) {
            event.extend(fields);
        }
        self.write(ty, &event, out);
    }

    fn write(&mut self, ty: &str, payload: &impl Serialize, out: &mut Vec<u8>) {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(ty.as_bytes());
        out.extend_from_slice(b"\ndata: ");
        // Serializing plain data into a Vec cannot fail; compact JSON has no raw newlines to frame.
        let _ = serde_json::to_writer(&mut *out, payload);
        out.extend_from_slice(b"\n\n");
        self.seq += 1;
    }

    fn meta(&self) -> ResponseMeta<'_> {
        ResponseMeta {
            id: &self.id,
            created_at: self.created_at,
            model: &self.model,
        }
    }

    fn start(&mut self, id: &str, model: &str, created: u64, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.id = response_id(id);
        self.model = if self.requested_model.is_empty() {
            model.to_string()
        } else {
            self.requested_model.clone()
        };
        self.created_at = if created == 0 { now_secs() } else { created };
        for ty in ["response.created", "response.in_progress"] {
            let response =
                response_object(&self.meta(), "in_progress", Vec::new(), None, None, None);
            self.emit(ty, json!({ "response": response }), out);
        }
    }

    fn block_start(&mut self, index: usize, start: &BlockStart, out: &mut Vec<u8>) {
        let output_index = self.output.len();
        self.output.push(None);
        let (item_id, kind, item) = match start {
            BlockStart::Text => {
                let id = random_id("msg_");
                let item = message_item(&id, "in_progress", Vec::new());
                (id, Kind::Text, item)
            }
            BlockStart::Reasoning { id, redacted } => {
                let id = id
                    .clone()
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| random_id("rs_"));
                let item = json!({"id": id, "type": "reasoning", "summary": []});
                let kind = Kind::Reasoning {
                    signature: None,
                    redacted: *redacted,
                    part_open: false,
                };
                (id, kind, item)
            }
            BlockStart::ToolCall { id, name } => {
                let item_id = random_id("fc_");
                let item = function_call_item(&item_id, "in_progress", id, name, "");
                let kind = Kind::Tool {
                    call_id: id.clone(),
                    name: name.clone(),
                };
                (item_id, kind, item)
            }
        };
        self.emit(
            "response.output_item.added",
            json!({"output_index": output_index, "item": item}),
            out,
        );
        if matches!(kind, Kind::Text) {
            self.emit(
                "response.content_part.added",
                json!({"item_id": item_id, "output_index": output_index, "content_index": 0,
                       "part": output_text_part("")}),
                out,
            );
        }
        if self.blocks.len() <= index {
            self.blocks.resize_with(index + 1, || None);
        }
        self.blocks[index] = Some(Block {
            output_index,
            item_id,
            kind,
            content: String::new(),
        });
    }

    fn delta(&mut self, index: usize, delta: &Delta, out: &mut Vec<u8>) {
        let Some(mut block) = self.blocks.get_mut(index).and_then(Option::take) else {
            tracing::debug!(index, "dropping a delta for a block that is not open");
            return;
        };
        let (ty, text, content_index, summary_index, logprobs) = match (&mut block.kind, delta) {
            (Kind::Text, Delta::Text(text)) => {
                ("response.output_text.delta", text, Some(0), None, Some([]))
            }
            (Kind::Reasoning { part_open, .. }, Delta::Reasoning(text)) => {
                if !*part_open {
                    *part_open = true;
                    self.emit(
                        "response.reasoning_summary_part.added",
                        json!({"item_id": block.item_id, "output_index": block.output_index,
                               "summary_index": 0, "part": summary_part("")}),
                        out,
                    );
                }
                (
                    "response.reasoning_summary_text.delta",
                    text,
                    None,
                    Some(0),
                    None,
                )
            }
            (Kind::Reasoning { signature, .. }, Delta::Signature(token)) => {
                signature.get_or_insert_with(String::new).push_str(token);
                self.blocks[index] = Some(block);
                return;
            }
            (Kind::Tool { .. }, Delta::ToolArguments(fragment)) => (
                "response.function_call_arguments.delta",
                fragment,
                None,
                None,
                None,
            ),
            // Gemini's signature on text or a tool call has no place in Responses.
            (_, other) => {
                tracing::debug!(
                    ?other,
                    "dropping a delta Responses cannot carry in this item"
                );
                self.blocks[index] = Some(block);
                return;
            }
        };
        if !text.is_empty() {
            block.content.push_str(text);
            let event = DeltaEvent {
                ty,
                sequence_number: self.seq,
                item_id: &block.item_id,
                output_index: block.output_index,
                content_index,
                summary_index,
                delta: text,
                logprobs,
            };
            self.write(ty, &event, out);
        }
        self.blocks[index] = Some(block);
    }

    fn block_stop(&mut self, index: usize, out: &mut Vec<u8>) {
        let Some(block) = self.blocks.get_mut(index).and_then(Option::take) else {
            return;
        };
        let Block {
            output_index,
            item_id,
            kind,
            content,
        } = block;
        let item = match kind {
            Kind::Text => {
                self.emit(
                    "response.output_text.done",
                    json!({"item_id": item_id, "output_index": output_index, "content_index": 0,
                           "text": content, "logprobs": []}),
                    out,
                );
                let part = output_text_part(&content);
                self.emit(
                    "response.content_part.done",
                    json!({"item_id": item_id, "output_index": output_index, "content_index": 0,
                           "part": part.clone()}),
                    out,
                );
                message_item(&item_id, "completed", vec![part])
            }
            Kind::Reasoning {
                signature,
                redacted,
                part_open,
            } => {
                if part_open {
                    self.emit(
                        "response.reasoning_summary_text.done",
                        json!({"item_id": item_id, "output_index": output_index, "summary_index": 0,
                               "text": content}),
                        out,
                    );
                    self.emit(
                        "response.reasoning_summary_part.done",
                        json!({"item_id": item_id, "output_index": output_index, "summary_index": 0,
                               "part": summary_part(&content)}),
                        out,
                    );
                }
                reasoning_item(&item_id, &content, signature.as_deref(), redacted)
            }
            Kind::Tool { call_id, name } => {
                self.emit(
                    "response.function_call_arguments.done",
                    json!({"item_id": item_id, "output_index": output_index, "arguments": content}),
                    out,
                );
                function_call_item(&item_id, "completed", &call_id, &name, &content)
            }
        };
        self.emit(
            "response.output_item.done",
            json!({"output_index": output_index, "item": item.clone()}),
            out,
        );
        if let Some(slot) = self.output.get_mut(output_index) {
            *slot = Some(item);
        }
    }

    fn close_all(&mut self, out: &mut Vec<u8>) {
        for index in 0..self.blocks.len() {
            self.block_stop(index, out);
        }
    }

    fn finished_output(&mut self) -> Vec<Value> {
        self.output.iter_mut().filter_map(Option::take).collect()
    }

    fn finish_response(
        &mut self,
        stop: &crate::translate::ir::StopReason,
        usage: &Usage,
        out: &mut Vec<u8>,
    ) {
        self.close_all(out);
        let (status, reason) = stop_status(stop);
        let output = self.finished_output();
        let response = response_object(&self.meta(), status, output, Some(usage), reason, None);
        let ty = if status == "incomplete" {
            "response.incomplete"
        } else {
            "response.completed"
        };
        self.emit(ty, json!({ "response": response }), out);
    }

    /// An `error` event (what the SDKs surface as an error) and then `response.failed`, the terminal event
    /// clients such as Codex CLI wait for.
    fn fail(&mut self, message: &str, out: &mut Vec<u8>) {
        self.emit(
            "error",
            json!({"code": "upstream_error", "message": message, "param": null}),
            out,
        );
        let output = self.finished_output();
        let response = response_object(
            &self.meta(),
            "failed",
            output,
            None,
            None,
            Some(("server_error", message)),
        );
        self.emit("response.failed", json!({ "response": response }), out);
    }
}

impl StreamEncoder for Encoder {
    fn push(&mut self, event: &Event, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        match event {
            Event::Start {
                id, model, created, ..
            } => self.start(id, model, *created, out),
            Event::BlockStart { index, block } => {
                self.start("", "", 0, out);
                self.block_start(*index, block, out);
            }
            Event::Delta { index, delta } => self.delta(*index, delta, out),
            Event::BlockStop { index } => self.block_stop(*index, out),
            Event::Finish { stop, usage, .. } => {
                self.start("", "", 0, out);
                self.finish_response(stop, usage, out);
                self.finished = true;
            }
            Event::Error { message } => {
                self.start("", "", 0, out);
                self.fail(message, out);
                self.finished = true;
            }
        }
    }

    fn finish(&mut self, _out: &mut Vec<u8>) {}
}
