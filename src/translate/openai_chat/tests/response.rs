use serde_json::{json, Value};

use super::{golden, golden_json};
use crate::translate::ir::{Part, Response, StopReason, Usage};
use crate::translate::openai_chat::{decode_response, encode_response};
use crate::translate::test_support::{mock_reasoning, paris_weather_call, text_part};
use crate::translate::TranslateError;

fn decode_golden(name: &str) -> Response {
    decode_response(golden(name).as_bytes()).expect("decodes")
}

fn call(id: &str, args: &str) -> Part {
    Part::ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: args.into(),
        signature: None,
    }
}

#[test]
fn a_thinking_answer_decodes_reasoning_first() {
    let resp = decode_golden("upstream_response_thinking.json");
    assert_eq!(resp.id, "chatcmpl-mock01");
    assert_eq!(resp.model, "mock-gpt-4o");
    assert_eq!(resp.created, 1_700_000_000);
    assert_eq!(
        resp.content,
        vec![mock_reasoning(None, None), text_part("Hello from mock")]
    );
    assert_eq!(resp.stop, StopReason::EndTurn);
    assert_eq!(
        resp.usage,
        Usage {
            input: 11,
            output: 7,
            reasoning: 3,
            ..Usage::default()
        }
    );
}

#[test]
fn parallel_and_mixed_answers_keep_every_call_and_its_id() {
    let resp = decode_golden("upstream_response_parallel.json");
    assert_eq!(
        resp.content,
        vec![
            call("call_mock01", r#"{"city":"Paris"}"#),
            call("call_mock02", r#"{"city":"Rome"}"#)
        ]
    );
    assert_eq!(resp.stop, StopReason::ToolUse);
    let mixed = decode_golden("upstream_response_mixed.json");
    assert_eq!(
        mixed.content,
        vec![
            text_part("Hello from mock"),
            call("call_mock01", r#"{"city":"Paris"}"#)
        ]
    );
}

#[test]
fn cached_tokens_and_length_stops_are_read() {
    let cached = decode_golden("upstream_response_cached.json");
    assert_eq!(cached.usage.cache_read, 5);
    assert_eq!(cached.usage.input, 11);
    assert_eq!(
        decode_golden("upstream_response_length.json").stop,
        StopReason::MaxTokens
    );
}

#[test]
fn a_stop_with_tool_calls_is_a_tool_use() {
    let body = json!({"id": "x", "model": "m", "created": 1, "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": null,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]});
    assert_eq!(
        decode_response(body.to_string().as_bytes())
            .expect("decodes")
            .stop,
        StopReason::ToolUse
    );
}

#[test]
fn a_refusal_is_text_with_a_refusal_stop() {
    let body = json!({"id": "x", "model": "m", "created": 1, "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}}]});
    let resp = decode_response(body.to_string().as_bytes()).expect("decodes");
    assert_eq!(resp.content, vec![text_part("I can't help with that.")]);
    assert_eq!(resp.stop, StopReason::Refusal);
}

#[test]
fn broken_upstream_answers_are_upstream_errors() {
    for body in [
        &b"<html>bad gateway</html>"[..],
        br#"{"id":"x","choices":[]}"#,
        br#"{"error":{"message":"overloaded","type":"server_error"}}"#,
    ] {
        assert!(
            matches!(decode_response(body), Err(TranslateError::Upstream(_))),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    match decode_response(br#"{"error":{"message":"overloaded"}}"#) {
        Err(TranslateError::Upstream(m)) => assert_eq!(m, "overloaded"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_ir_answer_encodes_into_the_golden_chat_completion() {
    let resp = Response {
        id: "msg_01abc".into(),
        model: "claude-sonnet-4-5".into(),
        content: vec![
            mock_reasoning(Some("c2lnbmF0dXJlLW1vY2s="), None),
            text_part("Hello"),
            paris_weather_call("toolu_01"),
        ],
        stop: StopReason::ToolUse,
        stop_sequence: None,
        usage: Usage {
            input: 11,
            output: 7,
            cache_read: 5,
            cache_write: 3,
            reasoning: 3,
        },
        created: 1_700_000_000,
    };
    let mut got: Value = serde_json::from_slice(&encode_response(&resp)).expect("json");
    let id = got["id"].as_str().expect("id").to_owned();
    assert!(
        id.starts_with("chatcmpl-") && id.len() == 33,
        "a Claude id is replaced by a chatcmpl- id: {id}"
    );
    got["id"] = json!("chatcmpl-GENERATED");
    assert_eq!(got, golden_json("client_response.json"));
}

#[test]
fn decode_then_encode_preserves_a_chat_answer() {
    for name in [
        "upstream_response_thinking.json",
        "upstream_response_parallel.json",
        "upstream_response_mixed.json",
        "upstream_response_cached.json",
        "upstream_response_length.json",
    ] {
        let original = golden_json(name);
        let resp = decode_golden(name);
        let out: Value = serde_json::from_slice(&encode_response(&resp)).expect("json");
        assert_eq!(out["id"], original["id"], "{name}");
        assert_eq!(out["created"], original["created"], "{name}");
        let (a, b) = (&out["choices"][0], &original["choices"][0]);
        assert_eq!(a["finish_reason"], b["finish_reason"], "{name}");
        for field in ["content", "reasoning_content", "tool_calls"] {
            assert_eq!(a["message"][field], b["message"][field], "{name} {field}");
        }
        for field in ["prompt_tokens", "completion_tokens", "total_tokens"] {
            assert_eq!(
                out["usage"][field], original["usage"][field],
                "{name} {field}"
            );
        }
        assert_eq!(
            decode_response(&encode_response(&resp)).expect("again"),
            resp
        );
    }
}

#[test]
fn a_gemini_style_stop_with_calls_reports_tool_calls_to_the_client() {
    let resp = Response {
        id: "x".into(),
        model: "gemini-2.5-flash".into(),
        content: vec![call("call_1", "{}")],
        stop: StopReason::EndTurn,
        stop_sequence: None,
        usage: Usage::default(),
        created: 1,
    };
    let out: Value = serde_json::from_slice(&encode_response(&resp)).expect("json");
    assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(out["choices"][0]["message"]["content"], Value::Null);
    let refused = Response {
        content: vec![],
        stop: StopReason::Refusal,
        ..resp
    };
    let out: Value = serde_json::from_slice(&encode_response(&refused)).expect("json");
    assert_eq!(out["choices"][0]["finish_reason"], "content_filter");
    assert_eq!(out["choices"][0]["message"]["content"], "");
}
