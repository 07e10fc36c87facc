use serde_json::{json, Value};

use super::{golden, golden_json};
use crate::translate::ir::{
    Effort, MediaSource, Message, OutputFormat, Part, Reasoning, Request, Role, Tool, ToolChoice,
};
use crate::translate::openai_chat::{decode_request, encode_request};
use crate::translate::test_support::{reasoning_part, text_part as text};
use crate::translate::TranslateError;

fn call(id: &str, name: &str, args: &str) -> Part {
    Part::ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: args.into(),
        signature: None,
    }
}

fn result(id: &str, name: &str, content: Vec<Part>) -> Part {
    Part::ToolResult {
        call_id: id.into(),
        name: Some(name.into()),
        content,
        is_error: false,
    }
}

fn decode_json(v: Value) -> Result<Request, TranslateError> {
    decode_request(v.to_string().as_bytes())
}

fn is_unsupported(r: Result<Request, TranslateError>, feature_word: &str) -> bool {
    matches!(r, Err(TranslateError::Unsupported { feature, .. }) if feature.contains(feature_word))
}

#[test]
fn a_full_request_decodes_into_the_ir() {
    let req = decode_request(golden("request_full.json").as_bytes()).expect("decodes");
    assert_eq!(req.model, "gpt-4o");
    assert_eq!(req.system, vec!["You are terse.", "Answer in French."]);
    assert_eq!(req.messages.len(), 5, "{:#?}", req.messages);
    assert_eq!(
        req.messages[0],
        Message {
            role: Role::User,
            content: vec![
                text("What is in this image and this file?"),
                Part::Image {
                    source: MediaSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgo=".into()
                    }
                },
                Part::Image {
                    source: MediaSource::Url("https://example.com/cat.jpg".into())
                },
                Part::Document {
                    source: MediaSource::Base64 {
                        media_type: "application/pdf".into(),
                        data: "JVBERi0xLjQ=".into()
                    },
                    title: Some("report.pdf".into())
                },
            ]
        }
    );
    // Reasoning first, as generated; call ids unchanged.
    assert_eq!(
        req.messages[1],
        Message {
            role: Role::Assistant,
            content: vec![
                reasoning_part("The user wants the weather and the time.", None, None),
                text("Let me check."),
                call("call_a", "get_weather", r#"{"city":"Paris"}"#),
                call("call_b", "get_time", r#"{"tz":"CET"}"#),
            ]
        }
    );
    // Two tool messages join one user message; each result is named after its call.
    assert_eq!(
        req.messages[2],
        Message {
            role: Role::User,
            content: vec![
                result("call_a", "get_weather", vec![text("Sunny, 21°C")]),
                result("call_b", "get_time", vec![text("14:05")]),
            ]
        }
    );
    // A system message after the conversation started keeps its place.
    assert_eq!(
        req.messages[3],
        Message {
            role: Role::User,
            content: vec![text("System: Be brief from now on.")]
        }
    );
    assert_eq!(req.messages[4].content, vec![text("Thanks! And tomorrow?")]);
    assert_eq!(
        req.tools[0],
        Tool {
            name: "get_weather".into(),
            description: Some("Get the weather".into()),
            parameters: Some(
                json!({"type": "object", "properties": {"city": {"type": "string"}},
                                   "required": ["city"], "additionalProperties": false})
            ),
        }
    );
    assert_eq!(req.tools[1].description, None);
    assert_eq!(req.tool_choice, Some(ToolChoice::Auto));
    assert_eq!(req.parallel_tool_calls, Some(true));
    assert_eq!(req.max_tokens, Some(1024));
    assert_eq!(req.temperature, Some(0.2));
    assert_eq!(req.top_p, Some(0.9));
    assert_eq!(req.stop, vec!["END"]);
    assert!(req.stream);
    assert_eq!(req.reasoning, Some(Reasoning::Effort(Effort::High)));
    assert_eq!(
        req.output,
        Some(OutputFormat::JsonSchema {
            name: "answer".into(),
            schema: json!({"type": "object", "properties": {"text": {"type": "string"}},
                           "required": ["text"]}),
            strict: Some(true),
        })
    );
    assert_eq!(req.user.as_deref(), Some("user-42"));
    assert_eq!(req.cache_key.as_deref(), Some("conv-7"));
}

#[test]
fn the_ir_encodes_into_the_golden_upstream_request() {
    let req = decode_request(golden("request_full.json").as_bytes()).expect("decodes");
    let body = encode_request(&req).expect("encodes");
    let got: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(got, golden_json("request_full.encoded.json"));
}

#[test]
fn a_round_trip_loses_only_what_chat_cannot_carry_upstream() {
    let first = decode_request(golden("request_full.json").as_bytes()).expect("decodes");
    let again = decode_request(&encode_request(&first).expect("encodes")).expect("re-decodes");
    let mut expected = first.clone();
    // System prompts travel as one message; history reasoning has no standard upstream field.
    expected.system = vec!["You are terse.\n\nAnswer in French.".into()];
    expected.messages[1]
        .content
        .retain(|p| !matches!(p, Part::Reasoning { .. }));
    assert_eq!(again, expected);
}

#[test]
fn a_plain_conversation_round_trips_exactly() {
    let wire = json!({
        "model": "m",
        "messages": [
            {"role": "system", "content": "sys"},
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "toolu_01", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "toolu_01", "content": "42"},
            {"role": "assistant", "content": "It is 42."},
            {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "f"}},
        "max_tokens": 10,
        "stream": false
    });
    let ir = decode_json(wire.clone()).expect("decodes");
    assert_eq!(ir.tool_choice, Some(ToolChoice::Tool("f".into())));
    let out: Value = serde_json::from_slice(&encode_request(&ir).expect("encodes")).expect("json");
    assert_eq!(out, wire);
    assert_eq!(decode_json(out).expect("re-decodes"), ir);
}

#[test]
fn streaming_upstream_requests_ask_for_usage() {
    let ir = Request {
        model: "m".into(),
        stream: true,
        messages: vec![Message {
            role: Role::User,
            content: vec![text("hi")],
        }],
        ..Request::default()
    };
    let out: Value = serde_json::from_slice(&encode_request(&ir).expect("encodes")).expect("json");
    assert_eq!(out["stream_options"], json!({"include_usage": true}));
}

#[test]
fn tool_result_images_follow_the_tool_messages() {
    let png = MediaSource::Base64 {
        media_type: "image/png".into(),
        data: "AAAA".into(),
    };
    let ir = Request {
        model: "m".into(),
        messages: vec![
            Message {
                role: Role::Assistant,
                content: vec![call("toolu_1", "shot", "")],
            },
            Message {
                role: Role::User,
                content: vec![
                    text("here you go"),
                    Part::ToolResult {
                        call_id: "toolu_1".into(),
                        name: None,
                        content: vec![text("a screenshot"), Part::Image { source: png }],
                        is_error: true,
                    },
                ],
            },
        ],
        ..Request::default()
    };
    let out: Value = serde_json::from_slice(&encode_request(&ir).expect("encodes")).expect("json");
    assert_eq!(
        out["messages"],
        json!([
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "shot", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "toolu_1", "content": "a screenshot"},
            {"role": "user", "content": [
                {"type": "text", "text": "here you go"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}
        ])
    );
}

#[test]
fn reasoning_budgets_become_effort_levels() {
    let encode = |r: Reasoning| {
        let ir = Request {
            model: "m".into(),
            reasoning: Some(r),
            ..Request::default()
        };
        let v: Value =
            serde_json::from_slice(&encode_request(&ir).expect("encodes")).expect("json");
        v.get("reasoning_effort").cloned()
    };
    assert_eq!(encode(Reasoning::Budget(2048)), Some(json!("medium")));
    assert_eq!(encode(Reasoning::Budget(0)), Some(json!("none")));
    assert_eq!(encode(Reasoning::Effort(Effort::Max)), Some(json!("xhigh")));
    assert_eq!(encode(Reasoning::Effort(Effort::Auto)), None);
}

#[test]
fn documents_by_url_cannot_go_upstream() {
    let ir = Request {
        model: "m".into(),
        messages: vec![Message {
            role: Role::User,
            content: vec![Part::Document {
                source: MediaSource::Url("https://example.com/a.pdf".into()),
                title: None,
            }],
        }],
        ..Request::default()
    };
    assert!(matches!(
        encode_request(&ir),
        Err(TranslateError::Unsupported { .. })
    ));
}

#[test]
fn legacy_function_calling_maps_to_tools() {
    let ir = decode_json(json!({
        "model": "m",
        "messages": [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": null,
             "function_call": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
            {"role": "function", "name": "get_weather", "content": "cold"}
        ],
        "functions": [{"name": "get_weather", "parameters": {"type": "object"}}],
        "function_call": {"name": "get_weather"}
    }))
    .expect("decodes");
    assert_eq!(ir.tools[0].name, "get_weather");
    assert_eq!(ir.tool_choice, Some(ToolChoice::Tool("get_weather".into())));
    let Part::ToolCall { id, .. } = &ir.messages[1].content[0] else {
        panic!("{:?}", ir.messages[1])
    };
    assert_eq!(
        ir.messages[2].content,
        vec![result(id, "get_weather", vec![text("cold")])]
    );
}

#[test]
fn allowed_tools_narrows_the_tool_list() {
    let ir = decode_json(json!({
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "tools": [{"type": "function", "function": {"name": "a"}},
                  {"type": "function", "function": {"name": "b"}}],
        "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "required",
            "tools": [{"type": "function", "function": {"name": "b"}}]}}
    }))
    .expect("decodes");
    assert_eq!(ir.tools.len(), 1);
    assert_eq!(ir.tools[0].name, "b");
    assert_eq!(ir.tool_choice, Some(ToolChoice::Required));
}

#[test]
fn features_that_would_change_the_answer_are_refused() {
    let base = |extra: Value| {
        let mut v = json!({"model": "m", "messages": [{"role": "user", "content": "x"}]});
        for (k, val) in extra.as_object().expect("object") {
            v[k] = val.clone();
        }
        decode_json(v)
    };
    assert!(is_unsupported(base(json!({"n": 2})), "n > 1"));
    assert!(base(json!({"n": 1})).is_ok());
    assert!(is_unsupported(
        base(json!({"modalities": ["text", "audio"]})),
        "audio"
    ));
    assert!(is_unsupported(
        base(json!({"web_search_options": {}})),
        "web_search"
    ));
    assert!(is_unsupported(
        base(json!({"tools": [{"type": "custom", "custom": {"name": "x"}}]})),
        "custom"
    ));
    assert!(is_unsupported(
        base(json!({"messages": [{"role": "user", "content": [
            {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}}]}]})),
        "input_audio"
    ));
    assert!(is_unsupported(
        base(json!({"messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_id": "file-123"}}]}]})),
        "file_id"
    ));
}

#[test]
fn harmless_parameters_are_dropped() {
    let ir = decode_json(json!({
        "model": "m", "messages": [{"role": "user", "content": "x"}],
        "seed": 1, "logprobs": true, "top_logprobs": 2, "presence_penalty": 0.5, "logit_bias": {"1": 2},
        "metadata": {"a": "b"}, "store": false, "service_tier": "auto", "response_format": {"type": "text"}
    }))
    .expect("decodes");
    assert_eq!(ir.output, None);
    assert_eq!(ir.messages.len(), 1);
}

#[test]
fn malformed_requests_are_invalid_and_name_the_problem() {
    let invalid = |v: Value| match decode_json(v) {
        Err(TranslateError::Invalid(m)) => m,
        other => panic!("expected Invalid, got {other:?}"),
    };
    assert!(invalid(json!({"messages": []})).contains("model"));
    let m = invalid(json!({"model": "m", "messages": [{"role": "user", "content": 5}]}));
    assert!(m.contains("messages[0]"), "{m}");
    let m = invalid(json!({"model": "m", "messages": [{"role": "tool", "content": "x"}]}));
    assert!(m.contains("tool_call_id"), "{m}");
    let m = invalid(
        json!({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}]}]}),
    );
    assert!(m.contains("image_url"), "{m}");
    let m = invalid(json!({"model": "m", "messages": [{"role": "wizard", "content": "x"}]}));
    assert!(m.contains("wizard"), "{m}");
    let m = invalid(json!({"model": "m", "messages": [], "reasoning_effort": "extreme"}));
    assert!(m.contains("extreme"), "{m}");
    assert!(matches!(
        decode_request(b"{not json"),
        Err(TranslateError::Invalid(_))
    ));
}

#[test]
fn a_two_megabyte_conversation_translates_quickly() {
    let filler = "lorem ipsum dolor sit amet ".repeat(40);
    let mut messages = Vec::new();
    for i in 0..2000 {
        let role = if i % 2 == 0 { "user" } else { "assistant" };
        messages.push(json!({"role": role, "content": format!("{i} {filler}")}));
    }
    let body = json!({"model": "m", "messages": messages}).to_string();
    assert!(body.len() > 2_000_000, "{}", body.len());
    let start = std::time::Instant::now();
    let ir = decode_request(body.as_bytes()).expect("decodes");
    let out = encode_request(&ir).expect("encodes");
    let elapsed = start.elapsed();
    assert_eq!(ir.messages.len(), 2000);
    assert!(out.len() > 2_000_000);
    // Generous for an unoptimised test build on a shared machine; quadratic work would take far longer.
    assert!(elapsed.as_millis() < 1500, "{elapsed:?}");
}

#[test]
fn include_usage_is_read_from_the_body() {
    use crate::translate::openai_chat::include_usage;
    assert!(include_usage(
        br#"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#
    ));
    assert!(!include_usage(br#"{"model":"m","stream":true}"#));
    assert!(!include_usage(br#"{"stream_options":null}"#));
    assert!(!include_usage(b"garbage"));
}
