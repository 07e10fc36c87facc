use serde_json::{json, Value};

use super::{assert_json_golden, golden, normalize_ids};
use crate::translate::ir::{Part, Response, StopReason, Usage};
use crate::translate::openai_responses::{decode_request, decode_response, encode_response};
use crate::translate::test_support::{
    mock_reasoning, paris_weather_call, reasoning_part, text_part,
};
use crate::translate::TranslateError;

#[test]
fn the_mock_thinking_response_decodes() {
    let resp = decode_response(&golden("response.codex_thinking.json")).unwrap();
    assert_eq!(
        resp,
        Response {
            id: "resp_mock01".into(),
            model: "gpt-5.5".into(),
            content: vec![
                mock_reasoning(None, Some("rs_mock01")),
                text_part("Hello from mock"),
            ],
            stop: StopReason::EndTurn,
            stop_sequence: None,
            usage: Usage {
                input: 11,
                output: 7,
                cache_read: 0,
                cache_write: 0,
                reasoning: 3
            },
            created: 1_700_000_000,
        }
    );
}

#[test]
fn length_and_parallel_tool_responses_decode_their_stop_reasons() {
    let length = decode_response(&golden("response.codex_length.json")).unwrap();
    assert_eq!(length.stop, StopReason::MaxTokens);
    let parallel = decode_response(&golden("response.codex_parallel.json")).unwrap();
    assert_eq!(parallel.stop, StopReason::ToolUse);
    let calls: Vec<(&str, &str)> = parallel
        .content
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall { id, arguments, .. } => Some((id.as_str(), arguments.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("call_mock01", r#"{"city":"Paris"}"#),
            ("call_mock02", r#"{"city":"Rome"}"#)
        ]
    );
}

#[test]
fn refusals_content_filters_and_failures_decode() {
    let refusal = json!({"id": "resp_1", "status": "completed", "model": "m", "output": [
        {"type": "message", "role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]}]});
    let r = decode_response(refusal.to_string().as_bytes()).unwrap();
    assert_eq!(r.stop, StopReason::Refusal);
    assert_eq!(r.content, vec![text_part("No.")]);
    let filtered = json!({"id": "resp_1", "status": "incomplete", "model": "m", "output": [],
        "incomplete_details": {"reason": "content_filter"}});
    assert_eq!(
        decode_response(filtered.to_string().as_bytes())
            .unwrap()
            .stop,
        StopReason::ContentFilter
    );
    let failed = json!({"id": "resp_1", "status": "failed", "output": [],
        "error": {"code": "server_error", "message": "boom"}});
    assert!(matches!(
        decode_response(failed.to_string().as_bytes()),
        Err(TranslateError::Upstream(m)) if m.contains("boom")
    ));
    let error_body =
        json!({"error": {"message": "bad key", "type": "invalid_request_error", "code": null}});
    assert!(matches!(
        decode_response(error_body.to_string().as_bytes()),
        Err(TranslateError::Upstream(m)) if m.contains("bad key")
    ));
    assert!(matches!(
        decode_response(b"<html>"),
        Err(TranslateError::Upstream(_))
    ));
}

fn sample_response() -> Response {
    Response {
        id: "resp_abc".into(),
        model: "claude-sonnet-4-5".into(),
        content: vec![
            reasoning_part("Thinking it over.", Some("EqQBCkgIBxABGAIiQ+/="), None),
            Part::Reasoning {
                text: String::new(),
                signature: Some("redacted-blob".into()),
                redacted: true,
                id: None,
            },
            text_part("Here "),
            text_part("it is."),
            paris_weather_call("toolu_01"),
        ],
        stop: StopReason::ToolUse,
        stop_sequence: None,
        usage: Usage {
            input: 100,
            output: 50,
            cache_read: 60,
            cache_write: 20,
            reasoning: 10,
        },
        created: 1_750_000_000,
    }
}

#[test]
fn a_response_encodes_as_the_sdk_response_object() {
    let mut body: Value = serde_json::from_slice(&encode_response(&sample_response())).unwrap();
    normalize_ids(&mut body, &mut Default::default());
    assert_json_golden("response.encoded.json", &body);
    assert_eq!(body["usage"]["total_tokens"], 150);
    let max = Response {
        stop: StopReason::MaxTokens,
        ..sample_response()
    };
    let body: Value = serde_json::from_slice(&encode_response(&max)).unwrap();
    assert_eq!(body["status"], "incomplete");
    assert_eq!(
        body["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
}

#[test]
fn an_encoded_response_decodes_back() {
    let original = sample_response();
    let decoded = decode_response(&encode_response(&original)).unwrap();
    assert_eq!(decoded.id, "resp_abc");
    assert_eq!(decoded.stop, StopReason::ToolUse);
    assert_eq!(decoded.usage, original.usage);
    assert_eq!(decoded.created, original.created);
    // Texts that shared one message come back as its two parts; the tool call keeps its id.
    assert_eq!(decoded.content[2..], original.content[2..]);
    match &decoded.content[0] {
        Part::Reasoning {
            text, signature, ..
        } => {
            assert_eq!(text, "Thinking it over.");
            assert_eq!(signature.as_deref(), Some("EqQBCkgIBxABGAIiQ+/="));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn redacted_thinking_survives_a_trip_through_a_responses_client() {
    // The client receives the answer, then sends its output items back as input on the next turn.
    let body: Value = serde_json::from_slice(&encode_response(&sample_response())).unwrap();
    let next_turn = json!({"model": "m", "input": body["output"]});
    let req = decode_request(next_turn.to_string().as_bytes()).unwrap();
    let reasoning: Vec<&Part> = req.messages[0]
        .content
        .iter()
        .filter(|p| matches!(p, Part::Reasoning { .. }))
        .collect();
    assert_eq!(reasoning.len(), 2);
    assert!(
        matches!(reasoning[0], Part::Reasoning { signature: Some(s), redacted: false, .. }
        if s == "EqQBCkgIBxABGAIiQ+/=")
    );
    assert!(
        matches!(reasoning[1], Part::Reasoning { signature: Some(s), redacted: true, .. }
        if s == "redacted-blob")
    );
}
