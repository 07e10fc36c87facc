//! OpenAI Responses wire shapes as the Codex backend sends them: the response object, the
//! `response.*` event sequence with `sequence_number`, and the in-band `response.failed`.
//! Error bodies and model listings are the OpenAI ones shared with compat.

use serde_json::{json, Map, Value};

use crate::replies::{
    call_args, call_args_halves, call_id, Content, Echo, Finish, Item, CREATED, THINKING,
    USAGE_CACHED, USAGE_IN, USAGE_OUT, USAGE_REASONING,
};
use crate::sse::Event;

const IMAGE_RESULT: &str = "AAEC";
const IMAGE_PARTIAL: &str = "AAE=";

/// Which state of the response object is rendered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// In `response.created` / `response.in_progress`: no output, no usage.
    Started,
    /// The finished object (JSON body, `response.completed` / `response.incomplete`).
    Final,
}

fn final_status(content: &Content) -> &'static str {
    if content.finish == Finish::Length {
        "incomplete"
    } else {
        "completed"
    }
}

/// The completed output item for `item`.
fn item_done(item: Item, content: &Content, echo: &Echo) -> Value {
    match item {
        Item::Reasoning => json!({
            "id": "rs_mock01", "type": "reasoning",
            "summary": [{"type": "summary_text", "text": THINKING.concat()}],
        }),
        Item::Text => json!({
            "id": "msg_mock01", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "annotations": [], "text": content.text.concat()}],
        }),
        Item::Call(n) => json!({
            "id": call_id("fc_mock", n), "type": "function_call", "status": "completed",
            "call_id": call_id("call_mock", n), "name": echo.tool, "arguments": call_args(n),
        }),
        Item::Image => json!({
            "id": "ig_mock01", "type": "image_generation_call", "status": "completed", "result": IMAGE_RESULT,
            "revised_prompt": "mock revised", "output_format": "png", "size": "1024x1024",
            "background": "opaque", "quality": "high",
        }),
    }
}

/// The output item as announced by `response.output_item.added`.
fn item_added(item: Item, echo: &Echo) -> Value {
    match item {
        Item::Reasoning => json!({"id": "rs_mock01", "type": "reasoning", "summary": []}),
        Item::Text => {
            json!({"id": "msg_mock01", "type": "message", "status": "in_progress", "role": "assistant", "content": []})
        }
        Item::Call(n) => json!({
            "id": call_id("fc_mock", n), "type": "function_call", "status": "in_progress",
            "call_id": call_id("call_mock", n), "name": echo.tool, "arguments": "",
        }),
        Item::Image => {
            json!({"id": "ig_mock01", "type": "image_generation_call", "status": "in_progress"})
        }
    }
}

pub(crate) fn response(content: &Content, echo: &Echo, phase: Phase) -> Value {
    let (status, output) = match phase {
        Phase::Started => ("in_progress", Vec::new()),
        Phase::Final => (
            final_status(content),
            content
                .items
                .iter()
                .map(|i| item_done(*i, content, echo))
                .collect(),
        ),
    };
    let mut r = json!({
        "id": "resp_mock01", "object": "response", "created_at": CREATED, "status": status,
        "model": echo.model, "output": output, "parallel_tool_calls": true, "store": false,
    });
    if phase == Phase::Final {
        let cached = if content.cached { USAGE_CACHED } else { 0 };
        let reasoning = if content.reasoning {
            USAGE_REASONING
        } else {
            0
        };
        r["usage"] = json!({
            "input_tokens": USAGE_IN, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": USAGE_OUT, "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": USAGE_IN + USAGE_OUT,
        });
        if content.items.contains(&Item::Image) {
            r["tool_usage"] = json!({"image_gen": {
                "input_tokens": 5, "output_tokens": 7, "total_tokens": 12,
                "input_tokens_details": {"cached_tokens": 2},
            }});
        }
        if content.finish == Finish::Length {
            r["incomplete_details"] = json!({"reason": "max_output_tokens"});
        }
    }
    r
}

/// Builds events whose data starts with `type` and `sequence_number`, numbering as it goes.
struct Seq {
    events: Vec<Event>,
}

impl Seq {
    fn push(&mut self, name: &'static str, rest: Value) {
        let mut data = Map::new();
        data.insert("type".into(), json!(name));
        data.insert("sequence_number".into(), json!(self.events.len()));
        if let Value::Object(rest) = rest {
            data.extend(rest);
        }
        self.events.push(Event::named(name, Value::Object(data)));
    }
}

pub(crate) fn events(content: &Content, echo: &Echo) -> Vec<Event> {
    let mut s = Seq { events: Vec::new() };
    let started = response(content, echo, Phase::Started);
    s.push("response.created", json!({"response": started}));
    s.push("response.in_progress", json!({"response": started}));
    for (oi, item) in content.items.iter().copied().enumerate() {
        s.push(
            "response.output_item.added",
            json!({"output_index": oi, "item": item_added(item, echo)}),
        );
        match item {
            Item::Text => {
                let id = "msg_mock01";
                let at = |extra: Value| {
                    let mut v = json!({"item_id": id, "output_index": oi, "content_index": 0});
                    merge(&mut v, extra);
                    v
                };
                let part =
                    |text: &str| json!({"type": "output_text", "annotations": [], "text": text});
                s.push("response.content_part.added", at(json!({"part": part("")})));
                for delta in content.text {
                    s.push("response.output_text.delta", at(json!({"delta": delta})));
                }
                s.push(
                    "response.output_text.done",
                    at(json!({"text": content.text.concat()})),
                );
                s.push(
                    "response.content_part.done",
                    at(json!({"part": part(&content.text.concat())})),
                );
            }
            Item::Reasoning => {
                let at = |extra: Value| {
                    let mut v =
                        json!({"item_id": "rs_mock01", "output_index": oi, "summary_index": 0});
                    merge(&mut v, extra);
                    v
                };
                let part = |text: &str| json!({"type": "summary_text", "text": text});
                s.push(
                    "response.reasoning_summary_part.added",
                    at(json!({"part": part("")})),
                );
                for delta in THINKING {
                    s.push(
                        "response.reasoning_summary_text.delta",
                        at(json!({"delta": delta})),
                    );
                }
                s.push(
                    "response.reasoning_summary_text.done",
                    at(json!({"text": THINKING.concat()})),
                );
                s.push(
                    "response.reasoning_summary_part.done",
                    at(json!({"part": part(&THINKING.concat())})),
                );
            }
            Item::Call(n) => {
                let id = call_id("fc_mock", n);
                for delta in call_args_halves(n) {
                    s.push(
                        "response.function_call_arguments.delta",
                        json!({"item_id": id, "output_index": oi, "delta": delta}),
                    );
                }
                s.push(
                    "response.function_call_arguments.done",
                    json!({"item_id": id, "output_index": oi, "arguments": call_args(n)}),
                );
            }
            Item::Image => {
                let at = json!({"item_id": "ig_mock01", "output_index": oi});
                s.push("response.image_generation_call.in_progress", at.clone());
                s.push("response.image_generation_call.generating", at.clone());
                let mut partial = at;
                merge(
                    &mut partial,
                    json!({
                        "partial_image_index": 0, "partial_image_b64": IMAGE_PARTIAL, "output_format": "png",
                        "size": "1024x1024", "quality": "high", "background": "opaque",
                    }),
                );
                s.push("response.image_generation_call.partial_image", partial);
            }
        }
        s.push(
            "response.output_item.done",
            json!({"output_index": oi, "item": item_done(item, content, echo)}),
        );
    }
    let terminal = if content.finish == Finish::Length {
        "response.incomplete"
    } else {
        "response.completed"
    };
    s.push(
        terminal,
        json!({"response": response(content, echo, Phase::Final)}),
    );
    s.events
}

/// Appends `extra`'s keys after `base`'s (both objects), keeping wire order.
fn merge(base: &mut Value, extra: Value) {
    if let (Value::Object(b), Value::Object(e)) = (base, extra) {
        b.extend(e);
    }
}

pub(crate) fn stream_error(after: usize) -> Event {
    Event::named(
        "response.failed",
        json!({
            "type": "response.failed", "sequence_number": after,
            "response": {
                "id": "resp_mock01", "object": "response", "status": "failed",
                "error": {"code": "server_error", "message": "mock mid-stream error"},
            },
        }),
    )
}
