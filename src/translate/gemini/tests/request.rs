use serde_json::{json, Value};

use super::{golden, golden_json, reasoning};
use crate::translate::gemini::{
    decode_request, decode_request_for, encode_request, SKIP_SIGNATURE,
};
use crate::translate::ir::{self, MediaSource, Message, Part, Role};
use crate::translate::test_support::text_part as text;
use crate::translate::TranslateError;
use crate::wire::Format;

fn call(id: &str, name: &str, arguments: &str, signature: Option<&str>) -> Part {
    Part::ToolCall {
        id: id.into(),
        name: name.into(),
        arguments: arguments.into(),
        signature: signature.map(Into::into),
    }
}

fn result(call_id: &str, name: Option<&str>, content: &str, is_error: bool) -> Part {
    Part::ToolResult {
        call_id: call_id.into(),
        name: name.map(Into::into),
        content: vec![text(content)],
        is_error,
    }
}

fn decode_golden(name: &str) -> ir::Request {
    decode_request(&golden(name), "models/gemini-2.5-pro").expect("decodes")
}

#[test]
fn decodes_a_full_client_request() {
    let req = decode_golden("request_client.json");
    assert_eq!(req.model, "gemini-2.5-pro", "models/ prefix stripped");
    assert!(!req.stream, "the URL decides streaming");
    assert_eq!(req.system, vec!["You are a weather bot.", "Be brief."]);
    let expected = vec![
        Message {
            role: Role::User,
            content: vec![
                text("What's the weather in Paris and the time there?"),
                Part::Image {
                    source: MediaSource::Base64 {
                        media_type: "image/png".into(),
                        data: "iVBORw0KGgo=".into(),
                    },
                },
                Part::Document {
                    source: MediaSource::Url("https://example.com/report.pdf".into()),
                    title: None,
                },
            ],
        },
        Message {
            role: Role::Assistant,
            content: vec![
                // Two thought parts, the second carrying the run's signature: one reasoning part.
                reasoning("**Planning**\nI should check both.", Some("c2lnLXJ1bg==")),
                // A signature on a text part travels as an empty reasoning part right before it.
                reasoning("", Some("c2lnLXRleHQ=")),
                text("Checking."),
                call(
                    "call_get_weather_1",
                    "get_weather",
                    r#"{"city":"Paris"}"#,
                    Some("c2lnLWNhbGw="),
                ),
                call(
                    "call_get_time_2",
                    "get_time",
                    r#"{"tz":"Europe/Paris"}"#,
                    None,
                ),
                call(
                    "call_get_weather_3",
                    "get_weather",
                    r#"{"city":"Rome"}"#,
                    None,
                ),
            ],
        },
        Message {
            role: Role::User,
            content: vec![
                // Results match calls by name, oldest first.
                result(
                    "call_get_weather_1",
                    Some("get_weather"),
                    r#"{"temp":21}"#,
                    false,
                ),
                result(
                    "call_get_time_2",
                    Some("get_time"),
                    r#"{"output":"14:00"}"#,
                    false,
                ),
                result(
                    "call_get_weather_3",
                    Some("get_weather"),
                    r#"{"error":"rate limited"}"#,
                    true,
                ),
            ],
        },
        Message {
            role: Role::Assistant,
            content: vec![call("fc-7", "get_time", "{}", None)],
        },
        Message {
            role: Role::User,
            content: vec![
                result("fc-7", Some("get_time"), r#"{"result":"14:01"}"#, false),
                text("Thanks. Summarise as JSON."),
            ],
        },
    ];
    assert_eq!(req.messages, expected);

    assert_eq!(req.tools.len(), 2);
    assert_eq!(req.tools[0].name, "get_weather");
    assert_eq!(req.tools[0].description.as_deref(), Some("Get the weather"));
    // `parameters` (OpenAPI subset, upper-case types) becomes standard JSON Schema.
    assert_eq!(
        req.tools[0].parameters,
        Some(json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": ["string", "null"], "enum": ["c", "f"]}
            },
            "required": ["city"]
        }))
    );
    // `parametersJsonSchema` is JSON Schema already and passes untouched.
    assert_eq!(
        req.tools[1].parameters,
        Some(json!({
            "type": "object",
            "properties": {"tz": {"type": "string"}},
            "additionalProperties": false
        }))
    );
    assert_eq!(
        req.tool_choice,
        Some(ir::ToolChoice::Tool("get_weather".into()))
    );
    assert_eq!(req.max_tokens, Some(1024));
    assert_eq!(req.temperature, Some(0.2));
    assert_eq!(req.top_p, Some(0.9));
    assert_eq!(req.top_k, Some(40));
    assert_eq!(req.stop, vec!["END"]);
    assert_eq!(req.reasoning, Some(ir::Reasoning::Budget(2048)));
    assert_eq!(
        req.output,
        Some(ir::OutputFormat::JsonSchema {
            name: "response".into(),
            schema: json!({"type": "object", "properties": {"summary": {"type": "string"}}}),
            strict: None,
        })
    );
}

#[test]
fn snake_case_fields_decode_the_same() {
    assert_eq!(
        decode_golden("request_client_snake.json"),
        decode_golden("request_client.json")
    );
}

#[test]
fn generated_ids_are_stable_across_turns() {
    // The same history sent again with one more turn keeps every earlier id.
    let mut body = golden_json("request_client.json");
    let first = decode_request(body.to_string().as_bytes(), "gemini-2.5-pro").expect("decodes");
    body["contents"]
        .as_array_mut()
        .expect("contents")
        .push(json!({
            "role": "model",
            "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Oslo"}}}]
        }));
    let second = decode_request(body.to_string().as_bytes(), "gemini-2.5-pro").expect("decodes");
    assert_eq!(second.messages[..first.messages.len()], first.messages[..]);
    assert_eq!(
        second.messages.last().map(|m| &m.content[0]),
        Some(&call(
            "call_get_weather_4",
            "get_weather",
            r#"{"city":"Oslo"}"#,
            None
        ))
    );
}

#[test]
fn results_with_client_invented_ids_find_their_calls() {
    // Gemini CLI gives an id-less call its own id and sends it only on the response.
    let body = json!({"contents": [
        {"role": "user", "parts": [{"text": "hi"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "read_file", "args": {"path": "a"}}},
            {"functionCall": {"name": "read_file", "args": {"path": "b"}}}
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"id": "read_file-1755226323-9f1c", "name": "read_file", "response": {"output": "A"}}},
            {"functionResponse": {"id": "read_file-1755226323-77aa", "name": "read_file", "response": {"output": "B"}}}
        ]},
        {"role": "user", "parts": [
            {"functionResponse": {"id": "orphan-1", "name": "other", "response": {}}},
            {"text": ""}
        ]}
    ]});
    let req = decode_request(body.to_string().as_bytes(), "gemini-2.5-pro").expect("decodes");
    assert_eq!(
        req.messages[2].content,
        vec![
            result(
                "call_read_file_1",
                Some("read_file"),
                r#"{"output":"A"}"#,
                false
            ),
            result(
                "call_read_file_2",
                Some("read_file"),
                r#"{"output":"B"}"#,
                false
            ),
        ]
    );
    // No call to answer: the client's id is kept; the empty text part is dropped.
    assert_eq!(
        req.messages[3].content,
        vec![result("orphan-1", Some("other"), "{}", false)]
    );
}

#[test]
fn thinking_settings_decode_to_effort_or_budget() {
    let cases = [
        (
            json!({"thinkingBudget": -1}),
            Some(ir::Reasoning::Effort(ir::Effort::Auto)),
        ),
        (
            json!({"thinkingBudget": 0}),
            Some(ir::Reasoning::Effort(ir::Effort::None)),
        ),
        (
            json!({"thinking_budget": 512}),
            Some(ir::Reasoning::Budget(512)),
        ),
        (
            json!({"thinkingLevel": "HIGH"}),
            Some(ir::Reasoning::Effort(ir::Effort::High)),
        ),
        (
            json!({"thinkingLevel": "low", "includeThoughts": true}),
            Some(ir::Reasoning::Effort(ir::Effort::Low)),
        ),
        (
            json!({"includeThoughts": true}),
            Some(ir::Reasoning::Effort(ir::Effort::Auto)),
        ),
        (json!({"includeThoughts": false}), None),
    ];
    for (config, expected) in cases {
        let body = json!({"contents": [], "generationConfig": {"thinkingConfig": config}});
        let req = decode_request(body.to_string().as_bytes(), "gemini-2.5-flash").expect("decodes");
        assert_eq!(req.reasoning, expected, "{config}");
    }
}

#[test]
fn tool_choice_modes() {
    let cases = [
        (json!({"mode": "AUTO"}), Some(ir::ToolChoice::Auto)),
        (json!({"mode": "NONE"}), Some(ir::ToolChoice::None)),
        (json!({"mode": "ANY"}), Some(ir::ToolChoice::Required)),
        (
            json!({"mode": "any", "allowed_function_names": ["f"]}),
            Some(ir::ToolChoice::Tool("f".into())),
        ),
    ];
    for (config, expected) in cases {
        let body = json!({"contents": [], "tool_config": {"function_calling_config": config}});
        let req = decode_request(body.to_string().as_bytes(), "m").expect("decodes");
        assert_eq!(req.tool_choice, expected, "{config}");
    }
}

fn unsupported_feature(body: Value) -> String {
    match decode_request_for(
        body.to_string().as_bytes(),
        "gemini-2.5-flash",
        Format::Anthropic,
    ) {
        // The error names the upstream the request was being translated for.
        Err(TranslateError::Unsupported {
            feature,
            target: Format::Anthropic,
        }) => feature,
        other => panic!("expected Unsupported for {body}, got {other:?}"),
    }
}

#[test]
fn features_with_no_equivalent_are_refused_by_name() {
    let contents = json!([{"role": "user", "parts": [{"text": "hi"}]}]);
    assert!(
        unsupported_feature(json!({"contents": contents, "tools": [{"googleSearch": {}}]}))
            .contains("googleSearch")
    );
    assert!(
        unsupported_feature(json!({"contents": contents, "tools": [{"code_execution": {}}]}))
            .contains("code_execution")
    );
    assert!(
        unsupported_feature(json!({"contents": contents, "tools": [{"urlContext": {}}]}))
            .contains("urlContext")
    );
    assert!(
        unsupported_feature(json!({"contents": [{"role": "model", "parts": [
            {"executableCode": {"language": "PYTHON", "code": "print(1)"}}
        ]}]}))
        .contains("executableCode")
    );
    assert!(unsupported_feature(
        json!({"contents": contents, "generationConfig": {"candidateCount": 2}})
    )
    .contains("candidateCount"));
    assert!(unsupported_feature(
        json!({"contents": contents, "cachedContent": "cachedContents/x"})
    )
    .contains("cachedContent"));
    assert!(unsupported_feature(
        json!({"contents": contents, "generationConfig": {"responseMimeType": "text/x.enum"}})
    )
    .contains("text/x.enum"));
    assert!(unsupported_feature(
        json!({"contents": contents, "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}})
    )
    .contains("IMAGE"));
    assert!(unsupported_feature(json!({"contents": contents,
        "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["a", "b"]}}}))
    .contains("allowedFunctionNames"));
}

#[test]
fn malformed_requests_are_invalid() {
    let bodies = [
        "not json".to_string(),
        json!({"contents": [{"role": "system", "parts": [{"text": "x"}]}]}).to_string(),
        json!({"contents": [{"role": "model", "parts": [{"functionCall": {"name": "f", "args": [1]}}]}]})
            .to_string(),
        json!({"contents": [], "tools": [{"functionDeclarations": [{"description": "no name"}]}]})
            .to_string(),
    ];
    for body in bodies {
        assert!(
            matches!(
                decode_request(body.as_bytes(), "m"),
                Err(TranslateError::Invalid(_))
            ),
            "{body}"
        );
    }
}

/// A conversation as another client format would decode it (Claude-like ids, no tool names on results).
fn cross_format_request(model: &str) -> ir::Request {
    ir::Request {
        model: model.into(),
        system: vec!["Be helpful.".into()],
        messages: vec![
            Message {
                role: Role::User,
                content: vec![
                    text("Look at these."),
                    Part::Image {
                        source: MediaSource::Url("https://example.com/cat.png".into()),
                    },
                    Part::Document {
                        source: MediaSource::Base64 {
                            media_type: "application/pdf".into(),
                            data: "JVBERi0=".into(),
                        },
                        title: Some("report".into()),
                    },
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    reasoning("Thinking about it.", Some("c2lnLWNsYXVkZQ==")),
                    Part::Reasoning {
                        text: String::new(),
                        signature: Some("cmVkYWN0ZWQ=".into()),
                        redacted: true,
                        id: None,
                    },
                    text("Let me check."),
                    call("toolu_1", "get_weather", r#"{"city": "Paris"}"#, None),
                    call("toolu_2", "get_weather", r#"{"city":"Rome"}"#, None),
                ],
            },
            Message {
                role: Role::User,
                content: vec![result("toolu_1", None, "Sunny", false)],
            },
            Message {
                role: Role::User,
                content: vec![
                    result("toolu_2", None, r#"{"temp": 20}"#, false),
                    text("And the time?"),
                ],
            },
            Message {
                role: Role::Assistant,
                content: vec![
                    // A signature that rode on an empty reasoning block goes back onto its call.
                    reasoning("", Some("c2lnLWNhbGw=")),
                    call("call_x", "get_time", "", None),
                ],
            },
            Message {
                role: Role::User,
                content: vec![Part::ToolResult {
                    call_id: "call_x".into(),
                    name: Some("get_time".into()),
                    content: vec![
                        text("clock broke"),
                        Part::Image {
                            source: MediaSource::Base64 {
                                media_type: "image/png".into(),
                                data: "iVBORw0KGgo=".into(),
                            },
                        },
                    ],
                    is_error: true,
                }],
            },
        ],
        tools: vec![
            ir::Tool {
                name: "get_weather".into(),
                description: Some("Get the weather".into()),
                parameters: Some(json!({
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                    "additionalProperties": false
                })),
            },
            ir::Tool {
                name: "get_time".into(),
                description: None,
                parameters: None,
            },
        ],
        tool_choice: Some(ir::ToolChoice::Required),
        parallel_tool_calls: Some(false),
        max_tokens: Some(500),
        temperature: Some(0.5),
        top_p: Some(0.95),
        top_k: Some(10),
        stop: vec!["STOP!".into()],
        stream: true,
        reasoning: Some(ir::Reasoning::Effort(ir::Effort::High)),
        output: Some(ir::OutputFormat::JsonObject),
        user: Some("user-1".into()),
        cache_key: Some("conv-1".into()),
    }
}

#[test]
fn encodes_a_cross_format_conversation() {
    let body = encode_request(&cross_format_request("gemini-2.5-flash")).expect("encodes");
    let got: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(got, golden_json("request_upstream.json"));
}

#[test]
fn gemini3_gets_levels_and_signed_calls() {
    let body = encode_request(&cross_format_request("gemini-3-pro-preview")).expect("encodes");
    let got: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(
        got["generationConfig"]["thinkingConfig"],
        json!({"thinkingLevel": "high", "includeThoughts": true})
    );
    // The first unsigned call of each model turn gets Google's bypass value; a real one is kept.
    assert_eq!(
        got["contents"][1]["parts"][2]["thoughtSignature"],
        SKIP_SIGNATURE
    );
    assert!(got["contents"][1]["parts"][3]
        .get("thoughtSignature")
        .is_none());
    assert_eq!(
        got["contents"][3]["parts"][0]["thoughtSignature"],
        "c2lnLWNhbGw="
    );
}

#[test]
fn reasoning_maps_to_each_generations_setting() {
    let mut req = cross_format_request("gemini-2.5-pro");
    let config = |req: &ir::Request| -> Value {
        let body = encode_request(req).expect("encodes");
        let v: Value = serde_json::from_slice(&body).expect("json");
        v["generationConfig"]["thinkingConfig"].clone()
    };
    req.reasoning = Some(ir::Reasoning::Budget(2048));
    assert_eq!(
        config(&req),
        json!({"thinkingBudget": 2048, "includeThoughts": true})
    );
    req.reasoning = Some(ir::Reasoning::Effort(ir::Effort::Auto));
    assert_eq!(
        config(&req),
        json!({"thinkingBudget": -1, "includeThoughts": true})
    );
    req.reasoning = Some(ir::Reasoning::Effort(ir::Effort::None));
    assert_eq!(config(&req), json!({"thinkingBudget": 0}));
    req.reasoning = Some(ir::Reasoning::Effort(ir::Effort::Max));
    assert_eq!(
        config(&req),
        json!({"thinkingBudget": 32768, "includeThoughts": true})
    );
    req.model = "gemini-3-flash".into();
    req.reasoning = Some(ir::Reasoning::Budget(1024));
    assert_eq!(
        config(&req),
        json!({"thinkingLevel": "low", "includeThoughts": true})
    );
    req.reasoning = Some(ir::Reasoning::Effort(ir::Effort::Auto));
    assert_eq!(config(&req), json!({"includeThoughts": true}));
    req.reasoning = None;
    assert_eq!(config(&req), Value::Null);
}

#[test]
fn malformed_tool_arguments_and_orphan_results_are_invalid() {
    let mut req = cross_format_request("gemini-2.5-flash");
    req.messages[1].content[3] = call("toolu_1", "get_weather", "{\"city\": ", None);
    match encode_request(&req) {
        Err(TranslateError::Invalid(message)) => {
            assert!(message.contains("get_weather"), "{message}")
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let mut req = cross_format_request("gemini-2.5-flash");
    req.messages[2].content[0] = result("toolu_unknown", None, "x", false);
    assert!(matches!(
        encode_request(&req),
        Err(TranslateError::Invalid(_))
    ));
}

#[test]
fn client_request_round_trips_through_the_ir() {
    // Gemini → IR → Gemini keeps every part, id and signature where it was; differences are the
    // normalisations a Gemini upstream accepts (documented in the golden).
    let req = decode_golden("request_client.json");
    let body = encode_request(&req).expect("encodes");
    let got: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(got, golden_json("request_client_reencoded.json"));
    let original = golden_json("request_client.json");
    for (turn, part) in [(1, 1), (1, 2), (1, 3)] {
        let sig = &original["contents"][turn]["parts"][part]["thoughtSignature"];
        // The two thought parts merged into one, so every later part moved up by one.
        assert_eq!(
            &got["contents"][turn]["parts"][part - 1]["thoughtSignature"],
            sig
        );
    }
    // Decoding the re-encoded request gives the same IR again.
    assert_eq!(
        decode_request(&body, "gemini-2.5-pro").expect("decodes"),
        req
    );
}

#[test]
fn two_megabyte_conversation_translates_in_linear_time() {
    let chunk = "lorem ipsum dolor sit amet ".repeat(40);
    let mut contents = Vec::new();
    for i in 0..2000 {
        contents.push(json!({"role": "user", "parts": [{"text": format!("{i} {chunk}")}]}));
        contents.push(json!({"role": "model", "parts": [
            {"text": chunk, "thought": true, "thoughtSignature": "c2ln"},
            {"functionCall": {"name": "lookup", "args": {"q": i}}}
        ]}));
        contents.push(json!({"role": "user", "parts": [
            {"functionResponse": {"name": "lookup", "response": {"result": "ok"}}}
        ]}));
    }
    let body = serde_json::to_vec(&json!({"contents": contents})).expect("json");
    assert!(body.len() > 2_000_000, "{}", body.len());
    let started = std::time::Instant::now();
    let req = decode_request(&body, "gemini-2.5-pro").expect("decodes");
    let encoded = encode_request(&req).expect("encodes");
    let elapsed = started.elapsed();
    assert!(encoded.len() > 2_000_000);
    eprintln!("2 MB decode + encode: {elapsed:?}");
    // Generous for an unoptimised build on a shared machine; quadratic behaviour would take seconds.
    assert!(elapsed.as_millis() < 1500, "took {elapsed:?}");
}
