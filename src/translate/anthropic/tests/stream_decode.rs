//! Claude upstream streams → IR events (every transcript also re-fed split at every byte).

use super::*;
use crate::translate::test_support::{finish, open, reasoning_block, stop, tool_block, usage};

/// How the mock's finished streams end: 11 tokens in, 7 out.
fn mock_finish(stop: StopReason) -> Event {
    finish(stop, usage(11, 7, 0, 0))
}

#[test]
fn decodes_a_thinking_stream() {
    let events = decode_stream(&golden("upstream_thinking.sse"));
    assert_eq!(
        events,
        vec![
            start("msg_mock01", SONNET, start_usage()),
            open(0, reasoning_block()),
            delta(0, Delta::Reasoning("Let me ".into())),
            delta(0, Delta::Reasoning("think.".into())),
            delta(0, Delta::Signature("c2lnbmF0dXJlLW1vY2s=".into())),
            stop(0),
            open(1, BlockStart::Text),
            delta(1, Delta::Text("Hello from ".into())),
            delta(1, Delta::Text("mock".into())),
            stop(1),
            mock_finish(StopReason::EndTurn),
        ]
    );
}

#[test]
fn decodes_parallel_tool_calls() {
    let events = decode_stream(&golden("upstream_parallel.sse"));
    let tool = |id: &str| tool_block(id, "get_weather");
    assert_eq!(
        events,
        vec![
            start("msg_mock01", SONNET, start_usage()),
            open(0, tool("toolu_mock01")),
            delta(0, Delta::ToolArguments(r#"{"city":"#.into())),
            delta(0, Delta::ToolArguments(r#""Paris"}"#.into())),
            stop(0),
            open(1, tool("toolu_mock02")),
            delta(1, Delta::ToolArguments(r#"{"city""#.into())),
            delta(1, Delta::ToolArguments(r#":"Rome"}"#.into())),
            stop(1),
            mock_finish(StopReason::ToolUse),
        ]
    );
}

#[test]
fn cache_counts_from_message_delta_complete_the_usage() {
    let events = decode_stream(&golden("upstream_cached.sse"));
    assert_eq!(
        events.last(),
        Some(&finish(StopReason::EndTurn, mock_cached_usage()))
    );
}

#[test]
fn decodes_redacted_thinking_skips_server_blocks_and_reports_errors() {
    let events = decode_stream(&golden("upstream_redacted_error.sse"));
    assert_eq!(
        events,
        vec![
            start(
                "msg_01XyzRedacted",
                "claude-opus-4-6",
                Some(Usage {
                    input: 120,
                    output: 1,
                    cache_read: 100,
                    ..Default::default()
                })
            ),
            Event::BlockStart {
                index: 0,
                block: BlockStart::Reasoning {
                    id: None,
                    redacted: true
                }
            },
            delta(
                0,
                Delta::Signature(
                    "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPkNRj2YfWXGmKDxH4mPnZ5sQ7vB5URj=="
                        .into()
                )
            ),
            Event::BlockStop { index: 0 },
            // The server_tool_use block (upstream index 1) is skipped; the text block is ours number 1.
            Event::BlockStart { index: 1, block: BlockStart::Text },
            delta(1, Delta::Text("Partial ".into())),
            Event::BlockStop { index: 1 },
            Event::Error {
                message: "Overloaded".into()
            },
        ]
    );
}

#[test]
fn a_truncated_stream_closes_its_blocks_and_reports_an_error() {
    let events = decode_stream(&golden("upstream_truncated.sse"));
    assert_eq!(
        &events[1..],
        &[
            Event::BlockStart {
                index: 0,
                block: BlockStart::ToolCall {
                    id: "toolu_mock01".into(),
                    name: "get_weather".into()
                }
            },
            delta(0, Delta::ToolArguments(r#"{"city":"#.into())),
            Event::BlockStop { index: 0 },
            Event::Error {
                message: "upstream stream ended early".into()
            },
        ]
    );
}

#[test]
fn a_stream_missing_only_message_stop_still_finishes() {
    let transcript = golden("upstream_thinking.sse");
    let cut = transcript.find("event: message_stop").unwrap();
    let events = decode_stream_whole(&transcript[..cut]);
    assert!(matches!(
        events.last(),
        Some(Event::Finish {
            stop: StopReason::EndTurn,
            ..
        })
    ));
}

#[test]
fn a_malformed_event_is_an_upstream_error() {
    let mut dec = Decoder::default();
    let bad = crate::wire::sse::SseEvent {
        event: Some("content_block_delta".into()),
        data: "{\"type\":\"content_block_delta\",".into(),
    };
    assert!(matches!(dec.push(&bad), Err(TranslateError::Upstream(_))));
}
