use std::collections::HashMap;

use serde_json::{json, Value};

use super::{
    assert_well_formed, blessing, block_kinds, decode_split_everywhere, decode_stream,
    encode_stream, golden, normalize_ids, GOLDEN,
};
use crate::translate::ir::{BlockStart, Delta, Event, StopReason, Usage};
use crate::translate::openai_responses::Encoder;
use crate::translate::test_support::{
    delta, finish, open as block, start, stop, tool_block, usage,
};
use crate::translate::{StreamEncoder, StreamOptions};
use crate::wire::sse::parse_events;

fn mock_usage(cached: u64, reasoning: u64) -> Usage {
    usage(11, 7, cached, reasoning)
}

fn tool(id: &str) -> BlockStart {
    tool_block(id, "get_weather")
}

fn args(s: &str) -> Delta {
    Delta::ToolArguments(s.into())
}

#[test]
fn the_mock_thinking_stream_decodes() {
    let events = decode_split_everywhere(&golden("stream.codex_thinking.sse"));
    assert_eq!(
        events,
        vec![
            start("resp_mock01", "gpt-5.5", 1_700_000_000),
            block(
                0,
                BlockStart::Reasoning {
                    id: Some("rs_mock01".into()),
                    redacted: false
                }
            ),
            delta(0, Delta::Reasoning("Let me ".into())),
            delta(0, Delta::Reasoning("think.".into())),
            stop(0),
            block(1, BlockStart::Text),
            delta(1, Delta::Text("Hello from ".into())),
            delta(1, Delta::Text("mock".into())),
            stop(1),
            finish(StopReason::EndTurn, mock_usage(0, 3)),
        ]
    );
}

#[test]
fn the_mock_parallel_tool_stream_decodes_both_calls() {
    let events = decode_split_everywhere(&golden("stream.codex_parallel.sse"));
    assert_eq!(
        events,
        vec![
            start("resp_mock01", "gpt-5.5", 1_700_000_000),
            block(0, tool("call_mock01")),
            delta(0, args(r#"{"city":"#)),
            delta(0, args(r#""Paris"}"#)),
            stop(0),
            block(1, tool("call_mock02")),
            delta(1, args(r#"{"city""#)),
            delta(1, args(r#":"Rome"}"#)),
            stop(1),
            finish(StopReason::ToolUse, mock_usage(0, 0)),
        ]
    );
}

#[test]
fn the_other_mock_streams_decode() {
    let text = decode_split_everywhere(&golden("stream.codex_text.sse"));
    assert_eq!(block_kinds(&text), [&BlockStart::Text]);
    assert_eq!(
        text.last(),
        Some(&finish(StopReason::EndTurn, mock_usage(0, 0)))
    );

    let tool_only = decode_split_everywhere(&golden("stream.codex_tool.sse"));
    assert_eq!(block_kinds(&tool_only), [&tool("call_mock01")]);
    assert!(matches!(
        tool_only.last(),
        Some(Event::Finish {
            stop: StopReason::ToolUse,
            ..
        })
    ));

    let mixed = decode_split_everywhere(&golden("stream.codex_mixed.sse"));
    assert_eq!(
        block_kinds(&mixed),
        [&BlockStart::Text, &tool("call_mock01")]
    );
    assert!(matches!(
        mixed.last(),
        Some(Event::Finish {
            stop: StopReason::ToolUse,
            ..
        })
    ));

    let length = decode_split_everywhere(&golden("stream.codex_length.sse"));
    assert!(matches!(
        length.last(),
        Some(Event::Finish {
            stop: StopReason::MaxTokens,
            ..
        })
    ));

    let cached = decode_split_everywhere(&golden("stream.codex_cached.sse"));
    assert_eq!(
        cached.last(),
        Some(&finish(StopReason::EndTurn, mock_usage(5, 0)))
    );
}

#[test]
fn a_failed_or_errored_stream_ends_in_an_error() {
    let failed = decode_split_everywhere(&golden("stream.codex_failed.sse"));
    assert_eq!(
        failed[failed.len() - 2..],
        [
            stop(0),
            Event::Error {
                message: "server_error: mock mid-stream error".into()
            }
        ]
    );
    let errored = decode_split_everywhere(&golden("stream.error_event.sse"));
    assert_eq!(
        errored[errored.len() - 3..],
        [
            delta(0, Delta::Text("Hel".into())),
            stop(0),
            Event::Error {
                message: "rate_limit_exceeded: Slow down".into()
            }
        ]
    );
    let truncated = decode_split_everywhere(&golden("stream.codex_truncated.sse"));
    assert_eq!(
        truncated[truncated.len() - 3..],
        [
            delta(1, Delta::Text("Hello from ".into())),
            stop(1),
            Event::Error {
                message: "upstream stream ended early".into()
            }
        ]
    );
}

#[test]
fn encrypted_reasoning_summary_parts_and_crlf_framing_decode() {
    let events = decode_split_everywhere(&golden("stream.reasoning_encrypted_crlf.sse"));
    assert_eq!(
        events,
        vec![
            start("resp_0abc", "gpt-5.5-2026", 1_750_000_000),
            block(
                0,
                BlockStart::Reasoning {
                    id: Some("rs_0abc".into()),
                    redacted: false
                }
            ),
            delta(0, Delta::Reasoning("**Plan**".into())),
            delta(0, Delta::Reasoning("\n\n".into())),
            delta(0, Delta::Reasoning("Check the ".into())),
            delta(0, Delta::Reasoning("weather.".into())),
            delta(0, Delta::Signature("gAAAAABo-enc/+token==".into())),
            stop(0),
            block(1, BlockStart::Text),
            delta(1, Delta::Text("It is ".into())),
            delta(1, Delta::Text("sunny.".into())),
            stop(1),
            block(
                2,
                BlockStart::ToolCall {
                    id: "call_Xyz".into(),
                    name: "get_weather".into()
                }
            ),
            delta(2, args(r#"{"city":"#)),
            delta(2, args(r#""Paris"}"#)),
            stop(2),
            finish(
                StopReason::ToolUse,
                Usage {
                    input: 120,
                    output: 40,
                    cache_read: 64,
                    cache_write: 0,
                    reasoning: 16
                }
            ),
        ]
    );
}

#[test]
fn whole_values_items_without_added_and_refusals_decode() {
    let events = decode_split_everywhere(&golden("stream.whole_values.sse"));
    assert_eq!(
        events[1..],
        [
            block(0, BlockStart::Text),
            delta(0, Delta::Text("Partial answer. ".into())),
            block(1, BlockStart::Text),
            delta(1, Delta::Text("I can't help with that.".into())),
            stop(0),
            stop(1),
            block(
                2,
                BlockStart::ToolCall {
                    id: "call_W".into(),
                    name: "noop".into()
                }
            ),
            delta(2, args("{}")),
            stop(2),
            finish(
                StopReason::ToolUse,
                Usage {
                    input: 5,
                    output: 9,
                    ..Usage::default()
                }
            ),
        ]
    );
    let refusal = decode_split_everywhere(&golden("stream.refusal.sse"));
    assert!(refusal.contains(&delta(0, Delta::Text("No.".into()))));
    assert!(matches!(
        refusal.last(),
        Some(Event::Finish {
            stop: StopReason::Refusal,
            ..
        })
    ));
}

#[test]
fn done_markers_unknown_events_and_bad_json_are_handled() {
    let stream = b"data: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"m\",\"created_at\":1}}\n\n\
        data: {\"type\":\"response.image_generation_call.partial_image\",\"partial_image_b64\":42}\n\n\
        data: {\"type\":\"response.completed\",\"response\":{\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"late\"}]}]}}\n\n\
        data: [DONE]\n\n";
    let events = decode_split_everywhere(stream);
    // A server that sent only the final response still delivers its output.
    assert!(events.contains(&delta(0, Delta::Text("late".into()))));
    assert!(
        decode_stream(b"data: {\"type\":\"response.output_text.delta\",\"delta\":5}\n\n").is_err()
    );
    assert!(decode_stream(b"data: not json\n\n").is_err());
}

/// Thinking with a signature, text, and two interleaved tool calls, as a Claude upstream might produce.
fn sample_events() -> Vec<Event> {
    vec![
        start("msg_01abc", "claude-sonnet-4-5", 1_750_000_000),
        block(
            0,
            BlockStart::Reasoning {
                id: None,
                redacted: false,
            },
        ),
        delta(0, Delta::Reasoning("Let me ".into())),
        delta(0, Delta::Reasoning("think.".into())),
        delta(0, Delta::Signature("EqQBCkgIBxABGAIiQ+/=".into())),
        stop(0),
        block(1, BlockStart::Text),
        delta(1, Delta::Text("Hello \"world\"\nline two".into())),
        stop(1),
        block(2, tool("toolu_01")),
        block(3, tool("toolu_02")),
        delta(2, args(r#"{"city":"#)),
        delta(3, args(r#"{"city":"Rome"}"#)),
        delta(2, args(r#""Paris"}"#)),
        stop(2),
        stop(3),
        finish(
            StopReason::ToolUse,
            Usage {
                input: 100,
                output: 50,
                cache_read: 60,
                cache_write: 20,
                reasoning: 10,
            },
        ),
    ]
}

/// Parses an encoded client stream into (event name, JSON), checking the framing the SDKs rely on:
/// `event:` equals `type`, and `sequence_number` counts from 0 without gaps.
fn parse_client_stream(bytes: &[u8]) -> Vec<(String, Value)> {
    let events = parse_events(bytes);
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let v: Value = serde_json::from_str(&e.data).unwrap();
            let name = e.event.clone().expect("every event is named");
            assert_eq!(v["type"], json!(name));
            assert_eq!(v["sequence_number"], json!(i), "{name}");
            (name, v)
        })
        .collect()
}

#[test]
fn ir_events_encode_as_the_documented_event_sequence() {
    let bytes = encode_stream(&sample_events(), "claude-sonnet-4-5");
    let mut seen = HashMap::new();
    let mut transcript = String::new();
    for (name, mut v) in parse_client_stream(&bytes) {
        normalize_ids(&mut v, &mut seen);
        transcript.push_str(&format!("event: {name}\ndata: {v}\n\n"));
    }
    let path = format!("{GOLDEN}stream.encoded.sse");
    if blessing() {
        std::fs::write(&path, &transcript).unwrap();
    }
    let expected = String::from_utf8(golden("stream.encoded.sse")).unwrap();
    // Compare event by event for a readable failure.
    let (a, b) = (
        parse_events(transcript.as_bytes()),
        parse_events(expected.as_bytes()),
    );
    for (i, (a, b)) in a.iter().zip(&b).enumerate() {
        let (va, vb): (Value, Value) = (
            serde_json::from_str(&a.data).unwrap(),
            serde_json::from_str(&b.data).unwrap(),
        );
        assert_eq!((&a.event, va), (&b.event, vb), "event {i}");
    }
    assert_eq!(a.len(), b.len());
}

#[test]
fn an_encoded_stream_decodes_back_to_the_same_events() {
    let mut events = sample_events();
    // Ids the client side generates are fixed here so the comparison is exact.
    events[0] = start("resp_fixed", "claude-sonnet-4-5", 1_750_000_000);
    events[1] = block(
        0,
        BlockStart::Reasoning {
            id: Some("rs_fixed".into()),
            redacted: false,
        },
    );
    let bytes = encode_stream(&events, "");
    // Interleaved tool calls, the signature and the usage details all come back unchanged.
    assert_eq!(decode_split_everywhere(&bytes), events);
}

#[test]
fn max_tokens_ends_incomplete_and_errors_end_failed() {
    let events = vec![
        start("x", "m", 1),
        block(0, BlockStart::Text),
        delta(0, Delta::Text("cut".into())),
        finish(StopReason::MaxTokens, Usage::default()),
    ];
    let parsed = parse_client_stream(&encode_stream(&events, "m"));
    let (name, last) = parsed.last().unwrap();
    assert_eq!(name, "response.incomplete");
    assert_eq!(last["response"]["status"], "incomplete");
    assert_eq!(
        last["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    // The still-open text block was closed before the end, and its text is in the final output.
    assert!(parsed.iter().any(|(n, _)| n == "response.output_item.done"));
    assert_eq!(last["response"]["output"][0]["content"][0]["text"], "cut");

    let failing = vec![
        start("x", "m", 1),
        block(0, BlockStart::Text),
        Event::Error {
            message: "upstream went away".into(),
        },
    ];
    let parsed = parse_client_stream(&encode_stream(&failing, "m"));
    let names: Vec<&str> = parsed.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[names.len() - 2..], ["error", "response.failed"]);
    let (_, error) = &parsed[parsed.len() - 2];
    assert_eq!(error["message"], "upstream went away");
    assert_eq!(error["param"], Value::Null);
    let (_, failed) = &parsed[parsed.len() - 1];
    assert_eq!(failed["response"]["status"], "failed");
    assert_eq!(failed["response"]["error"]["code"], "server_error");
}

#[test]
fn redacted_reasoning_is_marked_and_events_after_the_end_are_ignored() {
    let events = vec![
        start("resp_1", "m", 1),
        block(
            0,
            BlockStart::Reasoning {
                id: None,
                redacted: true,
            },
        ),
        delta(0, Delta::Signature("opaque".into())),
        stop(0),
        finish(StopReason::EndTurn, Usage::default()),
        block(1, BlockStart::Text),
    ];
    let parsed = parse_client_stream(&encode_stream(&events, "m"));
    let (name, last) = parsed.last().unwrap();
    assert_eq!(name, "response.completed");
    let item = &last["response"]["output"][0];
    assert_eq!(item["summary"], json!([]));
    assert_eq!(item["encrypted_content"], "switchyard-redacted:opaque");
}

#[test]
fn keep_alive_is_a_comment_and_there_is_no_done_terminator() {
    let mut encoder = Encoder::new(&StreamOptions::default());
    let mut out = Vec::new();
    encoder.keep_alive(&mut out);
    assert_eq!(out, b": keep-alive\n\n");
    assert!(parse_events(&out).is_empty());
    let mut end = Vec::new();
    encoder.finish(&mut end);
    assert!(end.is_empty());
}

#[test]
fn a_thousand_delta_stream_is_cheap() {
    let mut events = vec![start("resp_x", "m", 1), block(0, BlockStart::Text)];
    events.extend((0..1000).map(|i| delta(0, Delta::Text(format!("token{i} ")))));
    events.push(stop(0));
    events.push(finish(StopReason::EndTurn, Usage::default()));
    let started = std::time::Instant::now();
    let bytes = encode_stream(&events, "m");
    let decoded = decode_stream(&bytes).unwrap();
    let elapsed = started.elapsed();
    assert_well_formed(&decoded);
    assert_eq!(decoded.len(), events.len());
    assert!(
        elapsed < std::time::Duration::from_millis(500),
        "{elapsed:?}"
    );
}

/// Upstreams that skip or repeat events must still yield a well-formed IR stream: every golden transcript
/// is replayed with each event dropped, and with each event sent twice.
#[test]
fn dropped_or_repeated_events_still_give_a_well_formed_stream() {
    let names = [
        "stream.codex_thinking.sse",
        "stream.codex_parallel.sse",
        "stream.codex_mixed.sse",
        "stream.reasoning_encrypted_crlf.sse",
        "stream.whole_values.sse",
        "stream.refusal.sse",
        "stream.error_event.sse",
    ];
    for name in names {
        let events = parse_events(&golden(name));
        for i in 0..events.len() {
            for variant in [0, 2] {
                let mut decoder = crate::translate::openai_responses::Decoder::default();
                let mut out = Vec::new();
                for (j, event) in events.iter().enumerate() {
                    let times = if j == i { variant } else { 1 };
                    for _ in 0..times {
                        out.extend(
                            crate::translate::StreamDecoder::push(&mut decoder, event).unwrap(),
                        );
                    }
                }
                out.extend(crate::translate::StreamDecoder::finish(&mut decoder));
                assert_well_formed(&out);
            }
        }
    }
}
