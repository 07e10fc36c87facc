use serde_json::Value;

use super::{decode_transcript, decode_writes, encode_events, golden, stream_payloads};
use crate::translate::ir::{BlockStart, Delta, Event, StopReason, Usage};
use crate::translate::openai_chat::{Decoder, Encoder};
use crate::translate::test_support::{
    delta, finish, open, reasoning_block, start, stop, tool_block, usage,
};
use crate::translate::{StreamDecoder, StreamEncoder, StreamOptions};
use crate::wire::sse::SseEvent;

fn tool(id: &str) -> BlockStart {
    tool_block(id, "get_weather")
}

fn args(s: &str) -> Delta {
    Delta::ToolArguments(s.into())
}

fn mock_start() -> Event {
    start("chatcmpl-mock01", "mock-gpt-4o", 1_700_000_000)
}

#[test]
fn a_thinking_stream_gives_reasoning_then_text() {
    assert_eq!(
        decode_transcript(&golden("upstream_stream_thinking.sse")),
        vec![
            mock_start(),
            open(0, reasoning_block()),
            delta(0, Delta::Reasoning("Let me ".into())),
            delta(0, Delta::Reasoning("think.".into())),
            stop(0),
            open(1, BlockStart::Text),
            delta(1, Delta::Text("Hello from ".into())),
            delta(1, Delta::Text("mock".into())),
            stop(1),
            finish(StopReason::EndTurn, usage(11, 7, 0, 3)),
        ]
    );
}

#[test]
fn parallel_tool_calls_stream_into_their_own_blocks() {
    assert_eq!(
        decode_transcript(&golden("upstream_stream_parallel.sse")),
        vec![
            mock_start(),
            open(0, tool("call_mock01")),
            delta(0, args(r#"{"city":"#)),
            delta(0, args(r#""Paris"}"#)),
            open(1, tool("call_mock02")),
            delta(1, args(r#"{"city""#)),
            delta(1, args(r#":"Rome"}"#)),
            stop(0),
            stop(1),
            finish(StopReason::ToolUse, usage(11, 7, 0, 0)),
        ]
    );
    let single = decode_transcript(&golden("upstream_stream_tool.sse"));
    assert_eq!(single[1], open(0, tool("call_mock01")));
    assert_eq!(
        single.last(),
        Some(&finish(StopReason::ToolUse, usage(11, 7, 0, 0)))
    );
}

#[test]
fn cached_usage_and_length_stops_come_through() {
    let cached = decode_transcript(&golden("upstream_stream_cached.sse"));
    assert_eq!(
        cached.last(),
        Some(&finish(StopReason::EndTurn, usage(11, 7, 5, 0)))
    );
    let length = decode_transcript(&golden("upstream_stream_length.sse"));
    assert_eq!(
        length.last(),
        Some(&finish(StopReason::MaxTokens, usage(11, 7, 0, 0)))
    );
}

#[test]
fn interleaved_parallel_calls_without_done_still_finish() {
    // CRLF framing, an SSE comment, two calls opened in one chunk, fragments interleaved by index, usage on
    // the finish chunk in DeepSeek's spelling, and no `[DONE]`.
    assert_eq!(
        decode_transcript(&golden("upstream_stream_interleaved.sse")),
        vec![
            start("chatcmpl-x1", "deepseek-reasoner", 1_700_000_001),
            open(0, reasoning_block()),
            delta(0, Delta::Reasoning("Two cities.".into())),
            stop(0),
            open(1, BlockStart::Text),
            delta(1, Delta::Text("Checking both.".into())),
            stop(1),
            open(
                2,
                BlockStart::ToolCall {
                    id: "call_p".into(),
                    name: "get_weather".into()
                }
            ),
            open(
                3,
                BlockStart::ToolCall {
                    id: "call_r".into(),
                    name: "get_weather".into()
                }
            ),
            delta(3, args(r#"{"city":"#)),
            delta(2, args(r#"{"city":"Paris"}"#)),
            delta(3, args(r#""Rome"}"#)),
            stop(2),
            stop(3),
            finish(StopReason::ToolUse, usage(20, 9, 4, 2)),
        ]
    );
}

#[test]
fn an_in_band_error_closes_blocks_and_reports_it() {
    assert_eq!(
        decode_transcript(&golden("upstream_stream_error.sse")),
        vec![
            mock_start(),
            open(0, BlockStart::Text),
            delta(0, Delta::Text("Hello from ".into())),
            delta(0, Delta::Text("mock".into())),
            stop(0),
            Event::Error {
                message: "mock mid-stream error".into()
            },
        ]
    );
}

#[test]
fn a_truncated_stream_never_looks_finished() {
    let transcript = golden("upstream_stream_parallel.sse");
    // Cut after the first tool call's first argument fragment.
    let cut = transcript.match_indices("\n\n").nth(2).expect("events").0 + 2;
    let events = decode_writes(&[&transcript.as_bytes()[..cut]]);
    assert_eq!(
        &events[events.len() - 2..],
        &[
            stop(0),
            Event::Error {
                message: "upstream stream ended early".into()
            }
        ]
    );
    assert!(!events.iter().any(|e| matches!(e, Event::Finish { .. })));
}

#[test]
fn garbage_from_the_upstream_is_an_upstream_error() {
    let mut decoder = Decoder::default();
    assert!(decoder.push(&SseEvent::data("{\"choices\": 5}")).is_err());
    assert!(decoder.push(&SseEvent::data("not json")).is_err());
}

#[test]
fn the_encoder_writes_the_golden_client_stream() {
    let events = vec![
        start("chatcmpl-mock01", "upstream-model", 1_700_000_000),
        open(0, reasoning_block()),
        delta(0, Delta::Reasoning("Let me think.".into())),
        delta(0, Delta::Signature("c2lnbmF0dXJlLW1vY2s=".into())),
        stop(0),
        open(1, BlockStart::Text),
        delta(1, Delta::Text("Checking \"both\".".into())),
        stop(1),
        open(
            2,
            BlockStart::ToolCall {
                id: "toolu_01".into(),
                name: "get_weather".into(),
            },
        ),
        delta(2, args(r#"{"city":"#)),
        delta(2, args(r#""Paris"}"#)),
        stop(2),
        open(
            3,
            BlockStart::ToolCall {
                id: "toolu_02".into(),
                name: "get_weather".into(),
            },
        ),
        delta(3, args(r#"{"city":"Rome"}"#)),
        stop(3),
        finish(StopReason::ToolUse, usage(11, 7, 5, 3)),
    ];
    let opts = StreamOptions {
        model: "gpt-4o".into(),
        include_usage: true,
        ..StreamOptions::default()
    };
    let out = encode_events(&mut Encoder::new(&opts), &events);
    assert_eq!(out, golden("client_stream_tools.sse"));

    // What an SDK needs: every chunk has id/object/created/model and choices with index + delta.
    let payloads = stream_payloads(&out);
    assert_eq!(payloads.last(), Some(&Value::String("[DONE]".into())));
    for chunk in &payloads[..payloads.len() - 1] {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert!(chunk["id"].is_string() && chunk["created"].is_u64() && chunk["model"] == "gpt-4o");
        for choice in chunk["choices"].as_array().expect("choices") {
            assert!(choice["index"].is_u64() && choice["delta"].is_object());
        }
    }

    // Our own decoder reads the stream back to the same events (the signature has no place in Chat).
    let back = decode_transcript(&out);
    let mut expected: Vec<Event> = events
        .into_iter()
        .filter(|e| {
            !matches!(
                e,
                Event::Delta {
                    delta: Delta::Signature(_),
                    ..
                }
            )
        })
        .collect();
    expected[0] = start("chatcmpl-mock01", "gpt-4o", 1_700_000_000);
    // Tool blocks stay open together until the finish reason.
    let stop2 = expected.iter().position(|e| *e == stop(2)).expect("stop 2");
    let moved = expected.remove(stop2);
    let stop3 = expected.iter().position(|e| *e == stop(3)).expect("stop 3");
    expected.insert(stop3, moved);
    assert_eq!(back, expected);
}

#[test]
fn without_include_usage_there_is_no_usage_chunk() {
    let events = [
        start("msg_01", "claude", 5),
        open(0, BlockStart::Text),
        delta(0, Delta::Text("hi".into())),
        stop(0),
        finish(StopReason::MaxTokens, usage(1, 2, 0, 0)),
    ];
    let out = encode_events(&mut Encoder::new(&StreamOptions::default()), &events);
    let payloads = stream_payloads(&out);
    assert_eq!(payloads.len(), 4, "{out}");
    let id = payloads[0]["id"].as_str().expect("id");
    assert!(id.starts_with("chatcmpl-") && id != "msg_01", "{id}");
    assert!(payloads.iter().take(3).all(|p| p["id"] == id));
    assert_eq!(payloads[0]["choices"][0]["delta"]["role"], "assistant");
    assert_eq!(payloads[0]["model"], "claude");
    assert_eq!(payloads[2]["choices"][0]["finish_reason"], "length");
    assert!(payloads.iter().all(|p| p.get("usage").is_none()));
}

#[test]
fn a_second_text_block_is_set_off_from_the_first() {
    let events = [
        start("chatcmpl-1", "m", 5),
        open(0, BlockStart::Text),
        delta(0, Delta::Text("First.".into())),
        stop(0),
        open(1, BlockStart::Text),
        delta(1, Delta::Text("Second.".into())),
        stop(1),
        finish(StopReason::EndTurn, Usage::default()),
    ];
    let out = encode_events(&mut Encoder::new(&StreamOptions::default()), &events);
    let text: String = stream_payloads(&out)
        .iter()
        .filter_map(|p| {
            p["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    assert_eq!(text, "First.\n\nSecond.");
}

#[test]
fn an_error_ends_the_stream_without_done() {
    let mut encoder = Encoder::new(&StreamOptions::default());
    let out = encode_events(
        &mut encoder,
        &[
            start("chatcmpl-1", "m", 5),
            open(0, BlockStart::Text),
            delta(0, Delta::Text("partial".into())),
            Event::Error {
                message: "upstream overloaded".into(),
            },
        ],
    );
    let payloads = stream_payloads(&out);
    let last = payloads.last().expect("events");
    assert_eq!(last["error"]["message"], "upstream overloaded");
    assert_eq!(last["error"]["type"], "server_error");
    assert_eq!(last["error"]["code"], "upstream_error");
    assert!(!out.contains("[DONE]"), "{out}");
    let mut keep_alive = Vec::new();
    encoder.keep_alive(&mut keep_alive);
    assert_eq!(keep_alive, b": keep-alive\n\n");
}

#[test]
fn a_thousand_deltas_encode_in_linear_time() {
    let mut encoder = Encoder::new(&StreamOptions::default());
    let mut out = Vec::new();
    encoder.push(&start("chatcmpl-1", "m", 5), &mut out);
    encoder.push(&open(0, BlockStart::Text), &mut out);
    let first = out.len();
    let started = std::time::Instant::now();
    for _ in 0..1000 {
        encoder.push(&delta(0, Delta::Text("token ".into())), &mut out);
    }
    assert!(
        started.elapsed().as_millis() < 200,
        "{:?}",
        started.elapsed()
    );
    // Every delta costs the same bytes: nothing accumulates per chunk.
    let per_chunk = (out.len() - first) / 1000;
    assert_eq!((out.len() - first) % 1000, 0);
    assert!(per_chunk < 200, "{per_chunk}");
}

#[test]
fn tool_deltas_without_an_index_are_told_apart_by_id() {
    let chunk = |delta: &str| {
        format!(
            "data: {{\"id\":\"c\",\"model\":\"m\",\"created\":1,\"choices\":[{{\"index\":0,\"delta\":{delta}}}]}}\n\n"
        )
    };
    let transcript = [
        chunk(r#"{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\":"}}]}"#),
        chunk(r#"{"tool_calls":[{"function":{"arguments":"1}"}}]}"#),
        chunk(r#"{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}"#),
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
            .into(),
        "data: [DONE]\n\n".into(),
    ]
    .concat();
    let named = |id: &str, name: &str| BlockStart::ToolCall {
        id: id.into(),
        name: name.into(),
    };
    assert_eq!(
        decode_transcript(&transcript),
        vec![
            start("c", "m", 1),
            open(0, named("a", "f")),
            delta(0, args(r#"{"x":"#)),
            delta(0, args("1}")),
            open(1, named("b", "g")),
            delta(1, args("{}")),
            stop(0),
            stop(1),
            finish(StopReason::ToolUse, Usage::default()),
        ]
    );
}

#[test]
fn a_named_error_event_is_an_error() {
    let mut decoder = Decoder::default();
    let event = SseEvent {
        event: Some("error".into()),
        data: r#"{"message":"rate limited"}"#.into(),
    };
    assert_eq!(
        decoder.push(&event).expect("decodes"),
        vec![Event::Error {
            message: "rate limited".into()
        }]
    );
    assert!(decoder.finish().is_empty(), "the error was terminal");
}
