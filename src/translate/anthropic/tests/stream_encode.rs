//! IR events → Claude client streams.

use super::*;

fn encode_stream(events: &[Event], model: &str) -> String {
    let mut enc = Encoder::new(&StreamOptions {
        model: model.into(),
        ..Default::default()
    });
    let mut out = Vec::new();
    for e in events {
        enc.push(e, &mut out);
    }
    enc.finish(&mut out);
    String::from_utf8(out).unwrap()
}

/// Replays a Claude stream the way the official SDKs accumulate it (`accumulate_event` in
/// anthropic-sdk-python), failing where they would: events before `message_start`, a block start whose
/// index is not the next position, a delta of the wrong kind, tool input that does not parse once joined.
/// Returns the final message.
fn sdk_accumulate(sse: &str) -> Value {
    let mut message: Option<Value> = None;
    let mut json_bufs: Vec<String> = Vec::new();
    let mut stopped = false;
    for ev in parse_events(sse.as_bytes()) {
        assert!(!stopped, "event after message_stop: {ev:?}");
        let name = ev.event.clone().expect("Claude events are named");
        let data: Value = serde_json::from_str(&ev.data).unwrap();
        assert_eq!(data["type"], name.as_str(), "type matches the event name");
        if name == "ping" {
            continue;
        }
        if name == "error" {
            assert!(data["error"]["message"].is_string() && data["error"]["type"].is_string());
            return json!({"error": data["error"]});
        }
        if name == "message_start" {
            assert!(message.is_none(), "one message_start");
            let m = data["message"].clone();
            for k in [
                "id",
                "type",
                "role",
                "model",
                "content",
                "stop_reason",
                "stop_sequence",
                "usage",
            ] {
                assert!(m.get(k).is_some(), "message_start.message.{k}");
            }
            assert!(m["usage"]["input_tokens"].is_u64() && m["usage"]["output_tokens"].is_u64());
            message = Some(m);
            continue;
        }
        let m = message.as_mut().expect("message_start comes first");
        let content = m["content"].as_array_mut().unwrap();
        match name.as_str() {
            "content_block_start" => {
                assert_eq!(data["index"], content.len(), "blocks open in order");
                content.push(data["content_block"].clone());
                json_bufs.push(String::new());
            }
            "content_block_delta" => {
                let i = data["index"].as_u64().unwrap() as usize;
                let block = &mut content[i];
                let d = &data["delta"];
                match (block["type"].as_str().unwrap(), d["type"].as_str().unwrap()) {
                    ("text", "text_delta") => {
                        block["text"] = json!(format!(
                            "{}{}",
                            block["text"].as_str().unwrap(),
                            d["text"].as_str().unwrap()
                        ))
                    }
                    ("thinking", "thinking_delta") => {
                        block["thinking"] = json!(format!(
                            "{}{}",
                            block["thinking"].as_str().unwrap(),
                            d["thinking"].as_str().unwrap()
                        ))
                    }
                    ("thinking", "signature_delta") => block["signature"] = d["signature"].clone(),
                    ("tool_use", "input_json_delta") => {
                        json_bufs[i].push_str(d["partial_json"].as_str().unwrap())
                    }
                    (b, d) => panic!("a {d} delta on a {b} block"),
                }
            }
            "content_block_stop" => {
                let i = data["index"].as_u64().unwrap() as usize;
                if content[i]["type"] == "tool_use" && !json_bufs[i].is_empty() {
                    content[i]["input"] =
                        serde_json::from_str(&json_bufs[i]).expect("tool input parses once joined");
                }
            }
            "message_delta" => {
                m["stop_reason"] = data["delta"]["stop_reason"].clone();
                m["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                let usage = data["usage"].as_object().unwrap().clone();
                assert!(usage["output_tokens"].is_u64());
                m["usage"].as_object_mut().unwrap().extend(usage);
            }
            "message_stop" => stopped = true,
            other => panic!("unexpected event {other}"),
        }
    }
    assert!(stopped, "stream ends with message_stop");
    message.unwrap()
}

#[test]
fn encodes_a_thinking_stream_exactly() {
    let events = decode_stream(&golden("upstream_thinking.sse"));
    let sse = encode_stream(&events, "claude-sonnet-4-5");
    assert_eq!(sse, golden("encode_thinking.sse"));
    let msg = sdk_accumulate(&sse);
    assert_eq!(msg["content"][0]["signature"], "c2lnbmF0dXJlLW1vY2s=");
    assert_eq!(msg["content"][0]["thinking"], "Let me think.");
    assert_eq!(msg["content"][1]["text"], "Hello from mock");
    assert_eq!(
        msg["model"], "claude-sonnet-4-5",
        "the model the client asked for"
    );
}

#[test]
fn overlapping_blocks_reach_the_client_one_at_a_time() {
    let tool = |id: &str, name: &str| BlockStart::ToolCall {
        id: id.into(),
        name: name.into(),
    };
    let events = vec![
        start("chatcmpl-mock01", "gpt-4o", None),
        Event::BlockStart {
            index: 0,
            block: BlockStart::Text,
        },
        delta(0, Delta::Text("Checking ".into())),
        Event::BlockStart {
            index: 1,
            block: tool("call_1", "get_weather"),
        },
        delta(1, Delta::ToolArguments(r#"{"city":"#.into())),
        delta(0, Delta::Text("both.".into())),
        Event::BlockStart {
            index: 2,
            block: tool("", "get_time"),
        },
        delta(2, Delta::ToolArguments("{}".into())),
        delta(1, Delta::ToolArguments(r#""Rome"}"#.into())),
        Event::BlockStop { index: 2 },
        Event::BlockStop { index: 0 },
        Event::BlockStop { index: 1 },
        Event::Finish {
            stop: StopReason::EndTurn,
            stop_sequence: None,
            usage: Usage {
                input: 30,
                output: 12,
                cache_read: 10,
                ..Default::default()
            },
        },
    ];
    let sse = encode_stream(&events, "claude-sonnet-4-5");
    let msg = sdk_accumulate(&sse);
    assert!(msg["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(
        msg["content"][0],
        json!({"type": "text", "text": "Checking both."})
    );
    assert_eq!(msg["content"][1]["id"], "call_1");
    assert_eq!(msg["content"][1]["input"], json!({"city": "Rome"}));
    let generated = msg["content"][2]["id"].as_str().unwrap();
    assert!(generated.starts_with("toolu_"), "{generated}");
    assert_eq!(msg["content"][2]["input"], json!({}));
    assert_eq!(msg["stop_reason"], "tool_use");
    assert_eq!(msg["usage"]["input_tokens"], 20);
    assert_eq!(msg["usage"]["cache_read_input_tokens"], 10);
    assert_eq!(msg["usage"]["output_tokens"], 12);
    // Byte-exact apart from the two generated ids.
    let normalized = sse
        .replace(msg["id"].as_str().unwrap(), "msg_<id>")
        .replace(generated, "toolu_<id>");
    assert_eq!(normalized, golden("encode_interleaved.sse"));
}

#[test]
fn redacted_thinking_and_errors_encode_as_claude_sends_them() {
    let events = decode_stream(&golden("upstream_redacted_error.sse"));
    let sse = encode_stream(&events, "claude-opus-4-6");
    assert_eq!(sse, golden("encode_redacted_error.sse"));
    let mut enc = Encoder::new(&StreamOptions::default());
    let mut out = Vec::new();
    enc.keep_alive(&mut out);
    assert_eq!(out, b"event: ping\ndata: {\"type\":\"ping\"}\n\n");
}

#[test]
fn a_stream_cut_without_finish_ends_in_an_error_event() {
    let events = vec![
        start("msg_x", "m", None),
        Event::BlockStart {
            index: 0,
            block: BlockStart::Text,
        },
        delta(0, Delta::Text("Hel".into())),
    ];
    let sse = encode_stream(&events, "m");
    assert!(
        sse.ends_with(
            "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"upstream stream ended early\"}}\n\n"
        ),
        "{sse}"
    );
}

#[test]
fn streams_round_trip_through_the_ir() {
    for name in [
        "upstream_thinking.sse",
        "upstream_parallel.sse",
        "upstream_cached.sse",
        "upstream_redacted_error.sse",
        "upstream_truncated.sse",
    ] {
        let first = decode_stream(&golden(name));
        let again = decode_stream(&encode_stream(&first, ""));
        let strip_ids = |events: Vec<Event>| {
            events
                .into_iter()
                .map(|e| match e {
                    // Start usage output is "so far" (1 upstream, 0 from us): not meaningful to compare.
                    Event::Start {
                        id, model, usage, ..
                    } => start(&id, &model, usage.map(|u| Usage { output: 0, ..u })),
                    e => e,
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(strip_ids(again), strip_ids(first), "{name}");
    }
}

#[test]
fn a_long_stream_costs_one_small_write_per_delta() {
    let mut events = vec![
        start("msg_long", "m", None),
        Event::BlockStart {
            index: 0,
            block: BlockStart::Text,
        },
    ];
    events.extend((0..5000).map(|i| delta(0, Delta::Text(format!("token{i} ")))));
    events.push(Event::BlockStop { index: 0 });
    events.push(Event::Finish {
        stop: StopReason::EndTurn,
        stop_sequence: None,
        usage: Usage::default(),
    });
    let t = std::time::Instant::now();
    let sse = encode_stream(&events, "m");
    let encoded = t.elapsed();
    let back = decode_stream_whole(&sse);
    let took = t.elapsed();
    assert_eq!(sse.matches("event: content_block_delta\n").count(), 5000);
    assert_eq!(back.len(), events.len());
    // Each delta is written and read once; anything quadratic would take seconds here.
    assert!(
        took < std::time::Duration::from_secs(2),
        "{encoded:?} / {took:?}"
    );
}
