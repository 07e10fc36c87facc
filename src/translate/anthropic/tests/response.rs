//! Complete responses, both ways.

use super::*;
use crate::translate::test_support::{mock_reasoning, paris_weather_call};

#[test]
fn decodes_claude_responses_with_thinking_and_cache() {
    let resp = decode_response(golden("upstream_response_thinking.json").as_bytes()).unwrap();
    assert_eq!(resp.id, "msg_mock01");
    assert_eq!(resp.model, "claude-sonnet-4-5-20250929");
    assert_eq!(
        resp.content,
        vec![
            mock_reasoning(Some("c2lnbmF0dXJlLW1vY2s="), None),
            text("Hello from mock"),
        ]
    );
    assert_eq!(resp.stop, StopReason::EndTurn);
    assert_eq!(
        resp.usage,
        Usage {
            input: 11,
            output: 7,
            ..Default::default()
        }
    );

    let cached = decode_response(golden("upstream_response_cached.json").as_bytes()).unwrap();
    assert_eq!(cached.usage, mock_cached_usage());
}

#[test]
fn decodes_tool_use_and_refuses_error_bodies() {
    let body = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "m",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}
        ],
        "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 3, "output_tokens": 4}});
    let resp = decode_response(body.to_string().as_bytes()).unwrap();
    assert_eq!(resp.content, vec![paris_weather_call("toolu_1")]);
    assert_eq!(resp.stop, StopReason::ToolUse);
    let err = decode_response(
        br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
    );
    assert_eq!(err, Err(TranslateError::Upstream("Overloaded".into())));
    assert!(matches!(
        decode_response(b"<html>"),
        Err(TranslateError::Upstream(_))
    ));
}

#[test]
fn encodes_a_full_messages_response() {
    let resp = ir::Response {
        id: "resp_mock01".into(),
        model: "gpt-5.5".into(),
        content: vec![
            mock_reasoning(Some("gAAAAABo-encrypted/+=="), Some("rs_mock01")),
            text("Calling the tool."),
            Part::ToolCall {
                id: "call_mock01".into(),
                name: "get_weather".into(),
                arguments: r#"{"city": "Paris"}"#.into(),
                signature: None,
            },
            // Truncated arguments (the turn hit max_tokens) cannot be an object: an empty one.
            Part::ToolCall {
                id: "call_mock02".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Ro"#.into(),
                signature: None,
            },
        ],
        // An upstream that ends tool calls with a plain stop: Claude clients need tool_use.
        stop: StopReason::EndTurn,
        stop_sequence: None,
        usage: Usage {
            input: 19,
            output: 7,
            cache_read: 5,
            cache_write: 3,
            reasoning: 2,
        },
        created: 1_700_000_000,
    };
    let mut out = json_of(&encode_response(&resp));
    let id = out["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("msg_") && id.len() == 28, "{id}");
    out["id"] = json!("<id>");
    assert_eq!(out, json_of(golden("response_encoded.json").as_bytes()));
    // Upstream argument text is embedded unchanged.
    let raw = String::from_utf8(encode_response(&resp)).unwrap();
    assert!(raw.contains(r#""input":{"city": "Paris"}"#), "{raw}");
}

#[test]
fn claude_responses_round_trip() {
    for name in [
        "upstream_response_thinking.json",
        "upstream_response_cached.json",
    ] {
        let original = json_of(golden(name).as_bytes());
        let again = json_of(&encode_response(
            &decode_response(golden(name).as_bytes()).unwrap(),
        ));
        let mut expected = original.clone();
        // The encoder always spells out the cache counts (zero when there was no cache).
        for k in ["cache_creation_input_tokens", "cache_read_input_tokens"] {
            if expected["usage"].get(k).is_none() {
                expected["usage"][k] = json!(0);
            }
        }
        assert_eq!(again, expected, "{name}");
    }
}
