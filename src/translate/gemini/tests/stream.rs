use serde_json::Value;

use super::{decode_transcript, golden, normalize_events, RANDOM};
use crate::translate::gemini::{Decoder, Encoder};
use crate::translate::ir::{BlockStart, Delta, Event, StopReason, Usage};
use crate::translate::test_support::{
    delta, finish, open, reasoning_block, start, stop, tool_block, usage,
};
use crate::translate::{StreamDecoder, StreamEncoder, StreamOptions};
use crate::wire::sse::{parse_events, EventSplitter, SseEvent};

fn text(index: usize, t: &str) -> Event {
    delta(index, Delta::Text(t.into()))
}

fn thought(index: usize, t: &str) -> Event {
    delta(index, Delta::Reasoning(t.into()))
}

fn signature(index: usize, s: &str) -> Event {
    delta(index, Delta::Signature(s.into()))
}

fn args(index: usize, a: &str) -> Event {
    delta(index, Delta::ToolArguments(a.into()))
}

fn mock_start() -> Event {
    start("mockresp01", "gemini-2.5-flash", 0)
}

/// How the mock's thinking streams open: Start, then a reasoning block in two deltas.
fn mock_thinking_opening() -> Vec<Event> {
    vec![
        mock_start(),
        open(0, reasoning_block()),
        thought(0, "Let me "),
        thought(0, "think."),
        stop(0),
    ]
}

/// The mock's text block, "Hello from mock" in two deltas, at `index`.
fn mock_text_block(index: usize) -> Vec<Event> {
    vec![
        open(index, BlockStart::Text),
        text(index, "Hello from "),
        text(index, "mock"),
        stop(index),
    ]
}

fn decode_golden(name: &str) -> Vec<Event> {
    // The mock sends no `createTime`: the decoder stamps the clock, normalised to 0.
    decode_transcript(&golden(name))
}

#[test]
fn mock_thinking_stream() {
    assert_eq!(
        decode_golden("upstream_stream_thinking.sse"),
        [
            mock_thinking_opening(),
            mock_text_block(1),
            vec![finish(StopReason::EndTurn, usage(11, 10, 0, 3))],
        ]
        .concat()
    );
}

#[test]
fn mock_parallel_calls_each_get_a_block() {
    assert_eq!(
        decode_golden("upstream_stream_parallel.sse"),
        vec![
            mock_start(),
            open(0, tool_block(RANDOM, "get_weather")),
            args(0, r#"{"city":"Paris"}"#),
            stop(0),
            open(1, tool_block(RANDOM, "get_weather")),
            args(1, r#"{"city":"Rome"}"#),
            stop(1),
            finish(StopReason::ToolUse, usage(11, 7, 0, 0)),
        ]
    );
}

#[test]
fn mock_tool_mixed_length_cached_and_text_streams() {
    assert_eq!(
        decode_golden("upstream_stream_tool.sse"),
        vec![
            mock_start(),
            open(0, tool_block(RANDOM, "get_weather")),
            args(0, r#"{"city":"Paris"}"#),
            stop(0),
            finish(StopReason::ToolUse, usage(11, 7, 0, 0)),
        ]
    );
    assert_eq!(
        decode_golden("upstream_stream_mixed.sse"),
        [
            vec![mock_start()],
            mock_text_block(0),
            vec![
                open(1, tool_block(RANDOM, "get_weather")),
                args(1, r#"{"city":"Paris"}"#),
                stop(1),
                finish(StopReason::ToolUse, usage(11, 7, 0, 0)),
            ],
        ]
        .concat()
    );
    let text_only = |stop_reason: StopReason, u: Usage| {
        [
            vec![mock_start()],
            mock_text_block(0),
            vec![finish(stop_reason, u)],
        ]
        .concat()
    };
    assert_eq!(
        decode_golden("upstream_stream_length.sse"),
        text_only(StopReason::MaxTokens, usage(11, 7, 0, 0))
    );
    assert_eq!(
        decode_golden("upstream_stream_cached.sse"),
        text_only(StopReason::EndTurn, usage(11, 7, 5, 0))
    );
    assert_eq!(
        decode_golden("upstream_stream_text.sse"),
        text_only(StopReason::EndTurn, usage(11, 7, 0, 0))
    );
}

#[test]
fn signatures_stay_with_the_part_they_came_on() {
    // CRLF framing as Google sends it; a signed text part, a signed call and a trailing signature.
    assert_eq!(
        decode_transcript(&golden("upstream_stream_signatures.sse")),
        vec![
            start("Ab3xZ-real01", "gemini-2.5-pro", 1_755_226_323),
            open(0, reasoning_block()),
            thought(0, "**Planning**\nI should check the weather."),
            stop(0),
            open(1, reasoning_block()),
            signature(1, "c2lnLXRleHQ="),
            stop(1),
            open(2, BlockStart::Text),
            text(2, "Let me look that up."),
            stop(2),
            open(3, tool_block(RANDOM, "get_weather")),
            args(3, r#"{"city":"Paris","unit":"c"}"#),
            signature(3, "c2lnLWNhbGw="),
            stop(3),
            open(4, tool_block(RANDOM, "get_time")),
            args(4, "{}"),
            stop(4),
            open(5, reasoning_block()),
            signature(5, "c2lnLXRhaWw="),
            stop(5),
            finish(StopReason::ToolUse, usage(120, 65, 100, 25)),
        ]
    );
}

#[test]
fn in_band_error_ends_the_stream() {
    assert_eq!(
        decode_golden("upstream_stream_error.sse"),
        [
            mock_thinking_opening(),
            vec![Event::Error {
                message: "INTERNAL: mock mid-stream error".into()
            }],
        ]
        .concat()
    );
}

#[test]
fn a_truncated_stream_is_an_error() {
    let full = golden("upstream_stream_thinking.sse");
    let transcript = String::from_utf8(full).expect("utf-8");
    let cut = transcript.rfind("data: ").expect("events");
    assert_eq!(
        decode_transcript(&transcript.as_bytes()[..cut]),
        [
            mock_thinking_opening(),
            vec![
                open(1, BlockStart::Text),
                text(1, "Hello from "),
                stop(1),
                Event::Error {
                    message: "upstream stream ended early".into(),
                },
            ],
        ]
        .concat()
    );
}

#[test]
fn malformed_chunks_are_upstream_errors() {
    let mut decoder = Decoder::default();
    assert!(decoder.push(&SseEvent::data("{not json")).is_err());
    assert!(decoder
        .push(&SseEvent::data("[DONE]"))
        .expect("ignored")
        .is_empty());
}

fn client_events() -> Vec<Event> {
    vec![
        Event::Start {
            id: "msg_01".into(),
            model: "claude-sonnet-4-5".into(),
            created: 1_700_000_000,
            usage: Some(usage(11, 0, 0, 0)),
        },
        open(0, reasoning_block()),
        thought(0, "Let me "),
        thought(0, "think."),
        signature(0, "c2lnbmF0dXJlLW1vY2s="),
        stop(0),
        open(1, BlockStart::Text),
        text(1, "Hello from "),
        text(1, "mock"),
        stop(1),
        open(2, tool_block("toolu_mock01", "get_weather")),
        args(2, r#"{"city":"#),
        args(2, r#""Paris"}"#),
        stop(2),
        open(3, tool_block("toolu_mock02", "get_weather")),
        args(3, r#"{"city""#),
        args(3, r#":"Rome"}"#),
        stop(3),
        finish(
            StopReason::ToolUse,
            Usage {
                input: 11,
                output: 10,
                cache_read: 5,
                cache_write: 3,
                reasoning: 3,
            },
        ),
    ]
}

fn encode(events: &[Event], sse: bool, keep_alive_between: bool) -> Vec<u8> {
    let mut encoder = Encoder::new(&StreamOptions {
        model: "gemini-2.5-flash".into(),
        gemini_sse: sse,
        include_usage: false,
    });
    let mut out = Vec::new();
    for event in events {
        encoder.push(event, &mut out);
        if keep_alive_between {
            encoder.keep_alive(&mut out);
        }
    }
    encoder.finish(&mut out);
    out
}

#[test]
fn encodes_sse_for_gemini_clients() {
    let out = encode(&client_events(), true, false);
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        String::from_utf8(golden("client_stream.sse")).expect("utf-8")
    );
}

#[test]
fn encodes_a_json_array_without_alt_sse() {
    let out = encode(&client_events(), false, false);
    assert_eq!(
        String::from_utf8(out.clone()).expect("utf-8"),
        String::from_utf8(golden("client_stream.json")).expect("utf-8")
    );
    // The same chunks as the SSE form.
    let array: Vec<Value> = serde_json::from_slice(&out).expect("a JSON array");
    let sse = encode(&client_events(), true, false);
    let frames: Vec<Value> = parse_events(&sse)
        .iter()
        .map(|e| serde_json::from_str(&e.data).expect("json"))
        .collect();
    assert_eq!(array, frames);
}

/// The line handling of google-genai for Python: blank lines are skipped, `data: ` lines parsed, and any
/// other line is taken for (part of) a JSON error body — so an SSE comment would fail to parse.
fn parse_like_python_sdk(out: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(out).expect("utf-8");
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.is_empty())
        .map(|l| {
            let data = l.strip_prefix("data: ").unwrap_or(l);
            serde_json::from_str(data).unwrap_or_else(|e| panic!("SDK would fail on {l:?}: {e}"))
        })
        .collect()
}

#[test]
fn keep_alives_are_invisible_to_clients() {
    let plain = encode(&client_events(), true, false);
    let with_pings = encode(&client_events(), true, true);
    assert_ne!(plain, with_pings);
    assert_eq!(
        parse_like_python_sdk(&with_pings),
        parse_like_python_sdk(&plain)
    );
    assert_eq!(parse_events(&with_pings), parse_events(&plain));

    let plain: Value =
        serde_json::from_slice(&encode(&client_events(), false, false)).expect("json");
    let mut encoder = Encoder::new(&StreamOptions::default());
    let mut out = Vec::new();
    encoder.keep_alive(&mut out);
    for event in client_events() {
        encoder.push(&event, &mut out);
        encoder.keep_alive(&mut out);
    }
    encoder.finish(&mut out);
    let with_pings: Value = serde_json::from_slice(&out).expect("still one JSON array");
    assert_eq!(
        with_pings.as_array().map(Vec::len),
        plain.as_array().map(Vec::len)
    );
}

#[test]
fn errors_and_empty_streams_are_well_formed() {
    let events = [
        start("msg_01", "m", 1_700_000_000),
        open(0, BlockStart::Text),
        text(0, "Hi"),
        Event::Error {
            message: "upstream died".into(),
        },
        text(0, "ignored after the error"),
    ];
    let sse = encode(&events, true, false);
    let sse = String::from_utf8(sse).expect("utf-8");
    assert!(
        sse.ends_with(
            "data: {\"error\":{\"code\":502,\"message\":\"upstream died\",\"status\":\"UNAVAILABLE\"}}\r\n\r\n"
        ),
        "{sse}"
    );
    assert!(!sse.contains("ignored"));

    let array: Vec<Value> = serde_json::from_slice(&encode(&events, false, false)).expect("json");
    assert_eq!(array.len(), 2);
    assert_eq!(array[1]["error"]["status"], "UNAVAILABLE");

    assert_eq!(encode(&[], false, false), b"[]");
    assert_eq!(encode(&[], true, false), b"");
}

#[test]
fn streams_round_trip_through_the_ir() {
    // Gemini SSE → IR → Gemini SSE → IR gives the same events: every signature on its part.
    for name in [
        "upstream_stream_signatures.sse",
        "upstream_stream_thinking.sse",
        "upstream_stream_parallel.sse",
    ] {
        let mut events = Vec::new();
        let mut decoder = Decoder::default();
        for event in parse_events(&golden(name)) {
            events.extend(decoder.push(&event).expect("decodes"));
        }
        events.extend(decoder.finish());
        let model = match &events[0] {
            Event::Start { model, .. } => model.clone(),
            other => panic!("expected Start, got {other:?}"),
        };
        let mut encoder = Encoder::new(&StreamOptions {
            model,
            gemini_sse: true,
            include_usage: false,
        });
        let mut out = Vec::new();
        for event in &events {
            encoder.push(event, &mut out);
        }
        encoder.finish(&mut out);
        let mut again = decode_transcript(&out);
        // Ids generated on the first decode are carried by the re-encoded calls.
        normalize_events(&mut events);
        normalize_events(&mut again);
        assert_eq!(again, events, "{name}");

        // Array framing, one element per push, decodes the same.
        let mut array_encoder = Encoder::new(&StreamOptions::default());
        let mut array = Vec::new();
        for event in &events {
            array_encoder.push(event, &mut array);
        }
        array_encoder.finish(&mut array);
        let elements: Vec<Value> = serde_json::from_slice(&array).expect("json array");
        let mut decoder = Decoder::default();
        let mut from_array = Vec::new();
        for element in elements {
            from_array.extend(
                decoder
                    .push(&SseEvent::data(element.to_string()))
                    .expect("decodes"),
            );
        }
        from_array.extend(decoder.finish());
        normalize_events(&mut from_array);
        assert_eq!(from_array.len(), events.len(), "{name}");
    }
}

#[test]
fn a_thousand_deltas_stream_cheaply() {
    let mut events = vec![start("msg", "m", 1), open(0, BlockStart::Text)];
    events.extend((0..1000).map(|i| text(0, &format!("token {i} "))));
    events.push(stop(0));
    events.push(open(1, tool_block("toolu_1", "f")));
    events.push(args(1, r#"{"a":""#));
    events.extend((0..1000).map(|_| args(1, "xx")));
    events.push(args(1, r#""}"#));
    events.push(stop(1));
    events.push(finish(StopReason::ToolUse, usage(1, 1, 0, 0)));
    let started = std::time::Instant::now();
    let mut splitter = EventSplitter::new();
    let out = encode(&events, true, false);
    let frames = splitter.push(&out).map(|run| parse_events(&run).len());
    assert!(
        started.elapsed().as_millis() < 500,
        "{:?}",
        started.elapsed()
    );
    // One chunk per text delta, the whole call in one, and the final chunk.
    assert_eq!(frames, Some(1002));
}
