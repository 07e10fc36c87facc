use serde_json::{json, Value};

use super::{golden, golden_json, normalize_json, normalize_parts, reasoning, RANDOM};
use crate::translate::gemini::{decode_response, encode_response};
use crate::translate::ir::{self, Part, StopReason, Usage};
use crate::translate::test_support::text_part;
use crate::translate::TranslateError;

#[test]
fn decodes_an_answer_with_thoughts_signatures_and_parallel_calls() {
    let mut resp = decode_response(&golden("upstream_response_tools.json")).expect("decodes");
    normalize_parts(&mut resp.content);
    assert_eq!(resp.id, "resp-xyz");
    assert_eq!(resp.model, "gemini-2.5-flash");
    assert_eq!(resp.created, 1_755_226_323);
    assert_eq!(
        resp.content,
        vec![
            reasoning("I need the weather for both cities.", None),
            reasoning("", Some("c2lnQQ==")),
            text_part("Checking now."),
            Part::ToolCall {
                id: RANDOM.into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
                signature: Some("c2lnQg==".into()),
            },
            Part::ToolCall {
                id: "fc_given".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Rome"}"#.into(),
                signature: None,
            },
        ]
    );
    // STOP with function calls is a tool-use stop.
    assert_eq!(resp.stop, StopReason::ToolUse);
    assert_eq!(
        resp.usage,
        Usage {
            input: 50,
            output: 50,
            cache_read: 20,
            cache_write: 0,
            reasoning: 20
        }
    );
}

#[test]
fn decodes_the_mock_answers() {
    let resp = decode_response(&golden("upstream_response_thinking.json")).expect("decodes");
    assert_eq!(resp.id, "mockresp01");
    assert_eq!(
        resp.content,
        vec![
            reasoning("Let me think.", None),
            text_part("Hello from mock")
        ]
    );
    assert_eq!(resp.stop, StopReason::EndTurn);
    // candidatesTokenCount (7) excludes the 3 thought tokens; the IR counts both.
    assert_eq!(
        resp.usage,
        Usage {
            input: 11,
            output: 10,
            cache_read: 0,
            cache_write: 0,
            reasoning: 3
        }
    );
    let resp = decode_response(&golden("upstream_response_length.json")).expect("decodes");
    assert_eq!(resp.stop, StopReason::MaxTokens);
}

#[test]
fn answer_round_trips_through_the_ir() {
    let resp = decode_response(&golden("upstream_response_tools.json")).expect("decodes");
    let mut got: Value = serde_json::from_slice(&encode_response(&resp)).expect("json");
    normalize_json(&mut got);
    assert_eq!(got, golden_json("response_client.json"));
    // And back: the same IR (the generated id is now carried by the answer).
    let again = decode_response(&encode_response(&resp)).expect("decodes");
    assert_eq!(again.content, resp.content);
    assert_eq!(
        (again.stop.clone(), again.usage),
        (resp.stop.clone(), resp.usage)
    );
}

fn answer(content: Vec<Part>, stop: StopReason) -> ir::Response {
    ir::Response {
        id: "msg_01".into(),
        model: "gemini-2.5-pro".into(),
        content,
        stop,
        stop_sequence: None,
        usage: Usage {
            input: 100,
            output: 40,
            cache_read: 60,
            cache_write: 10,
            reasoning: 15,
        },
        created: 1_700_000_000,
    }
}

#[test]
fn encodes_another_formats_answer() {
    let resp = answer(
        vec![
            reasoning("Hmm.", Some("Y2xhdWRlLXNpZw==")),
            Part::Reasoning {
                text: String::new(),
                signature: Some("cmVkYWN0ZWQ=".into()),
                redacted: true,
                id: None,
            },
            text_part("Hi"),
            Part::ToolCall {
                id: "toolu_9".into(),
                name: "f".into(),
                arguments: r#"{"a": 1}"#.into(),
                signature: None,
            },
            Part::ToolCall {
                id: "toolu_10".into(),
                name: "g".into(),
                arguments: "{\"cut".into(),
                signature: None,
            },
            // A lone signature at the end of the answer.
            reasoning("", Some("dGFpbA==")),
        ],
        StopReason::ToolUse,
    );
    let got: Value = serde_json::from_slice(&encode_response(&resp)).expect("json");
    assert_eq!(
        got,
        json!({
            "candidates": [{
                "content": {"role": "model", "parts": [
                    {"text": "Hmm.", "thought": true, "thoughtSignature": "Y2xhdWRlLXNpZw=="},
                    {"text": "Hi"},
                    {"functionCall": {"id": "toolu_9", "name": "f", "args": {"a": 1}}},
                    // The answer already happened: broken arguments become {} rather than no answer.
                    {"functionCall": {"id": "toolu_10", "name": "g", "args": {}}},
                    // Marked as a thought so Gemini CLI keeps the turn in its history.
                    {"text": "", "thought": true, "thoughtSignature": "dGFpbA=="}
                ]},
                "finishReason": "STOP",
                "index": 0
            }],
            "usageMetadata": {
                "promptTokenCount": 100,
                "candidatesTokenCount": 25,
                "totalTokenCount": 140,
                "cachedContentTokenCount": 60,
                "thoughtsTokenCount": 15
            },
            "modelVersion": "gemini-2.5-pro",
            "createTime": "2023-11-14T22:13:20.000000Z",
            "responseId": "msg_01"
        })
    );
}

#[test]
fn stop_reasons_map_both_ways() {
    let encoded = [
        (StopReason::EndTurn, "STOP"),
        (StopReason::StopSequence, "STOP"),
        (StopReason::ToolUse, "STOP"),
        (StopReason::PauseTurn, "STOP"),
        (StopReason::MaxTokens, "MAX_TOKENS"),
        (StopReason::ContentFilter, "SAFETY"),
        (StopReason::Refusal, "SAFETY"),
        (
            StopReason::Other("MALFORMED_FUNCTION_CALL".into()),
            "MALFORMED_FUNCTION_CALL",
        ),
        (
            StopReason::Other("model_context_window_exceeded".into()),
            "OTHER",
        ),
    ];
    for (stop, reason) in encoded {
        let got: Value =
            serde_json::from_slice(&encode_response(&answer(vec![], stop.clone()))).expect("json");
        assert_eq!(got["candidates"][0]["finishReason"], reason, "{stop:?}");
    }
    let decoded = [
        ("STOP", StopReason::EndTurn),
        ("MAX_TOKENS", StopReason::MaxTokens),
        ("SAFETY", StopReason::ContentFilter),
        ("RECITATION", StopReason::ContentFilter),
        ("BLOCKLIST", StopReason::ContentFilter),
        ("PROHIBITED_CONTENT", StopReason::ContentFilter),
        ("SPII", StopReason::ContentFilter),
        (
            "MALFORMED_FUNCTION_CALL",
            StopReason::Other("MALFORMED_FUNCTION_CALL".into()),
        ),
    ];
    for (reason, stop) in decoded {
        let body = json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "x"}]},
            "finishReason": reason}]});
        let resp = decode_response(body.to_string().as_bytes()).expect("decodes");
        assert_eq!(resp.stop, stop, "{reason}");
    }
}

#[test]
fn blocked_prompts_and_errors() {
    let blocked = json!({"promptFeedback": {"blockReason": "SAFETY"}, "usageMetadata": {"promptTokenCount": 4}});
    let resp = decode_response(blocked.to_string().as_bytes()).expect("decodes");
    assert_eq!(resp.stop, StopReason::ContentFilter);
    assert!(resp.content.is_empty());
    assert_eq!(resp.usage.input, 4);

    let error = json!({"error": {"code": 500, "message": "boom", "status": "INTERNAL"}});
    match decode_response(error.to_string().as_bytes()) {
        Err(TranslateError::Upstream(message)) => assert!(message.contains("boom"), "{message}"),
        other => panic!("expected Upstream, got {other:?}"),
    }
    assert!(matches!(
        decode_response(b"<html>"),
        Err(TranslateError::Upstream(_))
    ));
}
