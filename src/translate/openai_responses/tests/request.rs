use serde_json::{json, Value};

use super::{assert_json_golden, golden};
use crate::translate::ir::{
    Effort, MediaSource, Message, OutputFormat, Part, Reasoning, Request, Role, Tool, ToolChoice,
};
use crate::translate::openai_responses::{decode_request, decode_request_for, encode_request};
use crate::translate::test_support::{paris_weather_call, reasoning_part, text_part as text};
use crate::translate::TranslateError;
use crate::wire::Format;

fn msg(role: Role, content: Vec<Part>) -> Message {
    Message { role, content }
}

#[test]
fn a_codex_cli_request_decodes_into_the_ir() {
    let req = decode_request(&golden("request.codex_cli.json")).unwrap();
    let expected = Request {
        model: "gpt-5.5".into(),
        system: vec![
            "<permissions instructions>Sandbox: workspace-write</permissions instructions>".into(),
        ],
        messages: vec![
            msg(
                Role::User,
                vec![
                    text("<environment_context><cwd>/home/u/proj</cwd></environment_context>"),
                    text("What is in this screenshot, and list the files."),
                    Part::Image {
                        source: MediaSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgoAAAANSUhEUg==".into(),
                        },
                    },
                ],
            ),
            msg(
                Role::Assistant,
                vec![
                    reasoning_part(
                        "**Listing files**\n\nI should run ls.",
                        Some("gAAAAABo-enc-token-1=="),
                        None,
                    ),
                    text("Let me look."),
                    Part::ToolCall {
                        id: "call_abc123".into(),
                        name: "shell".into(),
                        arguments: r#"{"command":["ls"]}"#.into(),
                        signature: None,
                    },
                    Part::ToolCall {
                        id: "call_def456".into(),
                        name: "search".into(),
                        arguments: r#"{"q":"readme"}"#.into(),
                        signature: None,
                    },
                ],
            ),
            msg(
                Role::User,
                vec![
                    Part::ToolResult {
                        call_id: "call_abc123".into(),
                        name: Some("shell".into()),
                        content: vec![text("README.md\nsrc\n")],
                        is_error: false,
                    },
                    Part::ToolResult {
                        call_id: "call_def456".into(),
                        name: Some("search".into()),
                        content: vec![
                            text("found 1 doc"),
                            Part::Image {
                                source: MediaSource::Url("https://example.com/doc.png".into()),
                            },
                        ],
                        is_error: false,
                    },
                    text("Thanks. Now summarise."),
                ],
            ),
        ],
        tools: vec![
            Tool {
                name: "shell".into(),
                description: Some("Runs a shell command and returns its output.".into()),
                parameters: Some(json!({"type": "object",
                    "properties": {"command": {"type": "array", "items": {"type": "string"}}},
                    "required": ["command"], "additionalProperties": false})),
            },
            Tool {
                name: "search".into(),
                description: Some("Docs server tools.\n\nSearch the docs.".into()),
                parameters: Some(
                    json!({"type": "object", "properties": {"q": {"type": "string"}},
                    "required": ["q"]}),
                ),
            },
        ],
        tool_choice: Some(ToolChoice::Auto),
        parallel_tool_calls: Some(false),
        stream: true,
        reasoning: Some(Reasoning::Effort(Effort::High)),
        cache_key: Some("019a-session-uuid".into()),
        ..Request::default()
    };
    assert_eq!(req, expected);
}

#[test]
fn an_sdk_request_with_files_schema_and_sampling_decodes() {
    let req = decode_request(&golden("request.sdk_full.json")).unwrap();
    assert_eq!(req.model, "gpt-4.1");
    assert_eq!(
        req.system,
        vec!["You are a terse assistant.", "Answer in JSON."]
    );
    assert_eq!(
        req.messages,
        vec![
            msg(
                Role::User,
                vec![
                    text("Summarise this PDF and describe the photo."),
                    Part::Document {
                        source: MediaSource::Base64 {
                            media_type: "application/pdf".into(),
                            data: "JVBERi0xLjQK".into(),
                        },
                        title: Some("report.pdf".into()),
                    },
                    Part::Image {
                        source: MediaSource::Url("https://example.com/photo.jpg".into()),
                    },
                ],
            ),
            msg(Role::Assistant, vec![text("Which section?")]),
            msg(Role::User, vec![text("All of it.")]),
        ]
    );
    assert_eq!(
        req.tools,
        vec![Tool {
            name: "lookup".into(),
            description: None,
            parameters: Some(json!({"type": "object", "properties": {}})),
        }]
    );
    assert_eq!(req.tool_choice, Some(ToolChoice::Tool("lookup".into())));
    assert_eq!(req.max_tokens, Some(1024));
    assert_eq!(req.temperature, Some(0.2));
    assert_eq!(req.top_p, Some(0.9));
    assert_eq!(req.user.as_deref(), Some("user-42"));
    assert!(!req.stream);
    assert_eq!(
        req.output,
        Some(OutputFormat::JsonSchema {
            name: "summary".into(),
            schema: json!({"type": "object", "properties": {"summary": {"type": "string"}},
                "required": ["summary"], "additionalProperties": false}),
            strict: Some(true),
        })
    );
}

#[test]
fn a_string_input_is_one_user_message() {
    let req = decode_request(br#"{"model":"m","input":"hi","instructions":"be brief"}"#).unwrap();
    assert_eq!(req.messages, vec![msg(Role::User, vec![text("hi")])]);
    assert_eq!(req.system, vec!["be brief"]);
}

#[test]
fn data_urls_with_parameters_and_bare_file_data_decode() {
    let body = json!({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_image", "image_url": "data:image/png;name=a.png;base64,iVBO"},
        {"type": "input_file", "filename": "notes.txt", "file_data": "aGVsbG8="}]}]});
    let req = decode_request(body.to_string().as_bytes()).unwrap();
    assert_eq!(
        req.messages[0].content,
        vec![
            Part::Image {
                source: MediaSource::Base64 {
                    media_type: "image/png".into(),
                    data: "iVBO".into()
                }
            },
            Part::Document {
                source: MediaSource::Base64 {
                    media_type: "text/plain".into(),
                    data: "aGVsbG8=".into()
                },
                title: Some("notes.txt".into()),
            },
        ]
    );
}

#[test]
fn json_object_format_and_allowed_tools_are_understood() {
    let body = json!({
        "model": "m", "input": "x",
        "text": {"format": {"type": "json_object"}},
        "tools": [{"type": "function", "name": "a"}, {"type": "function", "name": "b"}],
        "tool_choice": {"type": "allowed_tools", "mode": "required", "tools": [{"type": "function", "name": "b"}]},
        "reasoning": {"effort": "none"}
    });
    let req = decode_request(body.to_string().as_bytes()).unwrap();
    assert_eq!(req.output, Some(OutputFormat::JsonObject));
    assert_eq!(
        req.tools
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>(),
        ["b"]
    );
    assert_eq!(req.tool_choice, Some(ToolChoice::Required));
    assert_eq!(req.reasoning, Some(Reasoning::Effort(Effort::None)));
}

fn unsupported(body: Value) -> String {
    match decode_request_for(body.to_string().as_bytes(), Format::Anthropic) {
        Err(TranslateError::Unsupported { feature, target }) => {
            assert_eq!(target, Format::Anthropic);
            feature
        }
        other => panic!("expected Unsupported for {body}, got {other:?}"),
    }
}

#[test]
fn features_other_formats_lack_fail_by_name() {
    let web = unsupported(json!({"model": "m", "input": "x", "tools": [{"type": "web_search"}]}));
    assert!(web.contains("web_search"), "{web}");
    let custom = unsupported(json!({"model": "m", "input": "x",
        "tools": [{"type": "custom", "name": "apply_patch", "format": {"type": "grammar"}}]}));
    assert!(
        custom.contains("custom") && custom.contains("apply_patch"),
        "{custom}"
    );
    let prev = unsupported(json!({"model": "m", "input": "x", "previous_response_id": "resp_1"}));
    assert!(prev.contains("previous_response_id"), "{prev}");
    let reference =
        unsupported(json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}));
    assert!(reference.contains("item_reference"), "{reference}");
    let shell =
        unsupported(json!({"model": "m", "input": [{"type": "local_shell_call", "call_id": "c"}]}));
    assert!(shell.contains("local_shell_call"), "{shell}");
    let file = unsupported(json!({"model": "m", "input": [{"role": "user",
        "content": [{"type": "input_image", "file_id": "file-1"}]}]}));
    assert!(file.contains("file_id"), "{file}");
    let forced = unsupported(
        json!({"model": "m", "input": "x", "tool_choice": {"type": "web_search_preview"}}),
    );
    assert!(forced.contains("web_search_preview"), "{forced}");
    let dup = unsupported(json!({"model": "m", "input": "x", "tools": [
        {"type": "namespace", "name": "a__", "description": "", "tools": [{"type": "function", "name": "run"}]},
        {"type": "namespace", "name": "b__", "description": "", "tools": [{"type": "function", "name": "run"}]}]}));
    assert!(dup.contains("run"), "{dup}");
    // Without a named target, the placeholder is the source format.
    assert!(matches!(
        decode_request(br#"{"model":"m","input":"x","tools":[{"type":"web_search"}]}"#),
        Err(TranslateError::Unsupported {
            target: Format::OpenAiResponses,
            ..
        })
    ));
}

#[test]
fn malformed_requests_are_invalid() {
    let invalid = |body: &[u8]| match decode_request(body) {
        Err(TranslateError::Invalid(message)) => message,
        other => panic!(
            "expected Invalid for {}, got {other:?}",
            String::from_utf8_lossy(body)
        ),
    };
    invalid(b"{not json");
    let path = invalid(br#"{"model":"m","input":"x","max_output_tokens":"many"}"#);
    assert!(path.contains("max_output_tokens"), "{path}");
    invalid(br#"{"model":"m","input":[{"type":"function_call","name":"f"}]}"#);
    invalid(br#"{"model":"m","input":[{"role":"robot","content":"x"}]}"#);
    invalid(br#"{"model":"m","input":"x","reasoning":{"effort":"extreme"}}"#);
    invalid(br#"{"model":"m","input":[{"role":"user","content":[{"type":"input_image","image_url":"ftp://x"}]}]}"#);
    invalid(br#"{"model":"m","input":"x","tool_choice":"sometimes"}"#);
    invalid(br#"{"model":"m","input":42}"#);
}

/// An IR as another client format produces it (Claude-like: thinking with signatures, tool results with
/// images), with everything the Responses request can carry.
fn cross_format_request() -> Request {
    Request {
        model: "gpt-5.5".into(),
        system: vec!["You are helpful.".into(), "Be brief.".into()],
        messages: vec![
            msg(
                Role::User,
                vec![
                    text("Look at these."),
                    Part::Image {
                        source: MediaSource::Base64 {
                            media_type: "image/jpeg".into(),
                            data: "/9j/4AAQ".into(),
                        },
                    },
                    Part::Document {
                        source: MediaSource::Base64 {
                            media_type: "application/pdf".into(),
                            data: "JVBERi0x".into(),
                        },
                        title: None,
                    },
                    Part::Document {
                        source: MediaSource::Url("https://example.com/a.pdf".into()),
                        title: Some("a.pdf".into()),
                    },
                ],
            ),
            msg(
                Role::Assistant,
                vec![
                    reasoning_part("Two tools at once.", Some("gAAAAABenc+/="), Some("rs_0123")),
                    Part::Reasoning {
                        text: String::new(),
                        signature: Some("claude-redacted-data".into()),
                        redacted: true,
                        id: None,
                    },
                    reasoning_part("unsigned thoughts", None, None),
                    text("Checking."),
                    paris_weather_call("toolu_01"),
                    Part::ToolCall {
                        id: "toolu_02".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Rome"}"#.into(),
                        signature: None,
                    },
                ],
            ),
            msg(
                Role::User,
                vec![
                    Part::ToolResult {
                        call_id: "toolu_01".into(),
                        name: None,
                        content: vec![text("sunny"), text("22C")],
                        is_error: false,
                    },
                    Part::ToolResult {
                        call_id: "toolu_02".into(),
                        name: None,
                        content: vec![
                            text("see map"),
                            Part::Image {
                                source: MediaSource::Url("https://example.com/map.png".into()),
                            },
                        ],
                        is_error: true,
                    },
                    text("And tomorrow?"),
                ],
            ),
        ],
        tools: vec![
            Tool {
                name: "get_weather".into(),
                description: Some("Get the weather".into()),
                parameters: Some(
                    json!({"type": "object", "properties": {"city": {"type": "string"}},
                    "required": ["city"]}),
                ),
            },
            Tool {
                name: "now".into(),
                description: None,
                parameters: None,
            },
        ],
        tool_choice: Some(ToolChoice::Required),
        parallel_tool_calls: Some(true),
        max_tokens: Some(4096),
        temperature: Some(0.5),
        top_p: Some(0.95),
        top_k: Some(40),
        stream: true,
        reasoning: Some(Reasoning::Budget(2048)),
        output: Some(OutputFormat::JsonObject),
        user: Some("u1".into()),
        cache_key: Some("conv-1".into()),
        ..Request::default()
    }
}

#[test]
fn the_ir_encodes_into_a_stateless_responses_request() {
    let body: Value =
        serde_json::from_slice(&encode_request(&cross_format_request()).unwrap()).unwrap();
    assert_json_golden("request.encoded.json", &body);
    // What the Codex backend insists on, checked directly as well as through the golden.
    assert_eq!(body["store"], false);
    assert_eq!(body["instructions"], "You are helpful.\n\nBe brief.");
    assert_eq!(body["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(
        body["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    // The encrypted token is replayed byte for byte; redacted and unsigned reasoning are not.
    let reasoning: Vec<&Value> = body["input"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["type"] == "reasoning")
        .collect();
    assert_eq!(reasoning.len(), 1);
    assert_eq!(reasoning[0]["encrypted_content"], "gAAAAABenc+/=");
}

#[test]
fn encoding_without_system_or_reasoning_keeps_the_required_fields() {
    let req = Request {
        model: "gpt-5.5".into(),
        messages: vec![msg(Role::User, vec![text("hi")])],
        reasoning: Some(Reasoning::Effort(Effort::None)),
        ..Request::default()
    };
    let body: Value = serde_json::from_slice(&encode_request(&req).unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"model": "gpt-5.5", "instructions": "",
               "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]}],
               "store": false, "stream": false})
    );
    let max = Request {
        reasoning: Some(Reasoning::Effort(Effort::Max)),
        ..req.clone()
    };
    let body: Value = serde_json::from_slice(&encode_request(&max).unwrap()).unwrap();
    assert_eq!(body["reasoning"]["effort"], "xhigh");
}

#[test]
fn stop_sequences_and_assistant_images_cannot_be_sent() {
    let stop = Request {
        stop: vec!["END".into()],
        ..Request::default()
    };
    assert!(matches!(
        encode_request(&stop),
        Err(TranslateError::Unsupported { ref feature, target: Format::OpenAiResponses }) if feature.contains("stop")
    ));
    let image = Request {
        messages: vec![msg(
            Role::Assistant,
            vec![Part::Image {
                source: MediaSource::Url("https://x/y.png".into()),
            }],
        )],
        ..Request::default()
    };
    assert!(matches!(
        encode_request(&image),
        Err(TranslateError::Unsupported { .. })
    ));
}

#[test]
fn a_codex_request_survives_decode_encode_decode() {
    let first = decode_request(&golden("request.codex_cli.json")).unwrap();
    let encoded = encode_request(&first).unwrap();
    let body: Value = serde_json::from_slice(&encoded).unwrap();
    // Namespaced tools went out flat, under their own names, with strict off.
    assert_eq!(body["tools"][1]["name"], "search");
    assert_eq!(body["tools"][1]["strict"], false);
    let second = decode_request(&encoded).unwrap();
    assert_eq!(second.messages, first.messages);
    assert_eq!(second.tools, first.tools);
    assert_eq!(second.system, first.system);
    assert_eq!(second.tool_choice, first.tool_choice);
    assert_eq!(second.parallel_tool_calls, first.parallel_tool_calls);
    assert_eq!(second.reasoning, first.reasoning);
    assert_eq!(second.cache_key, first.cache_key);
}

#[test]
fn a_two_megabyte_conversation_translates_quickly() {
    let chunk = "lorem ipsum dolor sit amet ".repeat(40);
    let mut input = Vec::new();
    for i in 0..1000 {
        input.push(json!({"role": "user", "content": [{"type": "input_text", "text": chunk}]}));
        input.push(json!({"type": "function_call", "call_id": format!("call_{i}"), "name": "f", "arguments": "{}"}));
        input.push(json!({"type": "function_call_output", "call_id": format!("call_{i}"), "output": chunk}));
    }
    let body = json!({"model": "m", "input": input}).to_string();
    assert!(body.len() > 2_000_000, "{}", body.len());
    let started = std::time::Instant::now();
    let req = decode_request(body.as_bytes()).unwrap();
    let out = encode_request(&req).unwrap();
    let elapsed = started.elapsed();
    assert_eq!(req.messages.len(), 2001);
    assert!(out.len() > 2_000_000);
    // Unoptimised test builds are ~10x slower than release; this still catches quadratic behaviour.
    assert!(elapsed < std::time::Duration::from_secs(2), "{elapsed:?}");
}
