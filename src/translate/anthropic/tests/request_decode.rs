//! Claude client requests → IR.

use super::*;

#[test]
fn decodes_a_claude_code_request() {
    let req = decode_request(golden("request_claude_code.json").as_bytes()).unwrap();
    assert_eq!(req.model, "claude-opus-4-6");
    assert_eq!(req.max_tokens, Some(64000));
    assert!(req.stream);
    // System blocks in order, then the leading role:system message.
    assert_eq!(
        req.system,
        vec![
            "You are Claude Code, Anthropic's official CLI for Claude.",
            "Be concise.",
            "Project rules: use tabs."
        ]
    );
    assert_eq!(req.messages.len(), 6);
    assert_eq!(req.messages[0].role, Role::User);
    assert_eq!(
        req.messages[0].content,
        vec![text(
            "What is the weather in Paris? See the photo and the report."
        )]
    );
    assert_eq!(
        req.messages[1].content,
        vec![
            Part::Image {
                source: MediaSource::Base64 {
                    media_type: "image/png".into(),
                    data: "iVBORw0KGgo=".into()
                }
            },
            Part::Image {
                source: MediaSource::Url("https://example.com/paris.jpg".into())
            },
            Part::Document {
                source: MediaSource::Base64 {
                    media_type: "application/pdf".into(),
                    data: "JVBERi0xLjQ=".into()
                },
                title: Some("Report".into())
            },
            Part::Document {
                // "Sunny, 21°C" as base64 text/plain.
                source: MediaSource::Base64 {
                    media_type: "text/plain".into(),
                    data: "U3VubnksIDIxwrBD".into()
                },
                title: Some("Notes".into())
            },
        ]
    );
    let assistant = &req.messages[2];
    assert_eq!(assistant.role, Role::Assistant);
    assert_eq!(
        assistant.content,
        vec![
            reasoning_part(
                "I should call the tool.",
                Some("EqQBCkgIARABGAIiQL+sig/==+"),
                None
            ),
            Part::Reasoning {
                text: String::new(),
                signature: Some("EmwKAhgBEgy3va3pzix==".into()),
                redacted: true,
                id: None
            },
            text("Let me check."),
            Part::ToolCall {
                id: "toolu_01A".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris","units":{"temp":"C"}}"#.into(),
                signature: None
            },
            Part::ToolCall {
                id: "toolu_01B".into(),
                name: "get_time".into(),
                arguments: "{}".into(),
                signature: None
            },
        ]
    );
    // Tool results learn their tool's name; the mid-conversation system message follows as user text.
    assert_eq!(
        req.messages[3].content,
        vec![
            Part::ToolResult {
                call_id: "toolu_01A".into(),
                name: Some("get_weather".into()),
                content: vec![text("21°C and sunny")],
                is_error: false
            },
            Part::ToolResult {
                call_id: "toolu_01B".into(),
                name: Some("get_time".into()),
                content: vec![
                    text("clock unavailable"),
                    Part::Image {
                        source: MediaSource::Base64 {
                            media_type: "image/jpeg".into(),
                            data: "/9j/4AAQ".into()
                        }
                    }
                ],
                is_error: true
            },
            text("Thanks. And tomorrow?"),
            text("Plan mode is now active."),
        ]
    );
    assert_eq!(req.messages[4].role, Role::Assistant);
    assert_eq!(
        req.messages[4].content,
        vec![text("Tomorrow looks similar.")]
    );
    // A system message after an assistant turn opens a user turn of its own.
    assert_eq!(req.messages[5].role, Role::User);
    assert_eq!(
        req.messages[5].content,
        vec![text("The user switched to auto-accept.")]
    );
    assert_eq!(req.tools.len(), 2);
    assert_eq!(req.tools[0].name, "get_weather");
    assert_eq!(req.tools[0].description.as_deref(), Some("Get the weather"));
    assert_eq!(
        req.tools[0].parameters.as_ref().unwrap()["required"],
        json!(["city"])
    );
    assert_eq!(req.tools[1].name, "get_time");
    assert_eq!(req.tool_choice, Some(ir::ToolChoice::Auto));
    assert_eq!(req.parallel_tool_calls, Some(false));
    assert_eq!(req.reasoning, Some(Reasoning::Effort(Effort::High)));
    assert_eq!(req.user.as_deref(), Some("user_abc123_account__session_42"));
    assert_eq!(req.stop, vec!["\n\nHuman:"]);
    assert_eq!(req.temperature, Some(1.0));
    assert_eq!(req.top_k, Some(40));
}

#[test]
fn a_system_message_after_the_last_assistant_turn_becomes_user_text() {
    let body = json!({
        "model": "m", "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
            {"role": "system", "content": "The user switched to auto-accept."}
        ]
    });
    let req = decode_request(body.to_string().as_bytes()).unwrap();
    assert!(req.system.is_empty());
    assert_eq!(req.messages.len(), 3);
    assert_eq!(req.messages[2].role, Role::User);
    assert_eq!(
        req.messages[2].content,
        vec![text("The user switched to auto-accept.")]
    );
}

#[test]
fn thinking_and_effort_map_to_reasoning() {
    let cases = [
        (
            json!({"thinking": {"type": "enabled", "budget_tokens": 2048}}),
            Some(Reasoning::Budget(2048)),
        ),
        (
            json!({"thinking": {"type": "disabled"}}),
            Some(Reasoning::Effort(Effort::None)),
        ),
        (
            json!({"thinking": {"type": "adaptive"}}),
            Some(Reasoning::Effort(Effort::Auto)),
        ),
        (
            json!({"thinking": {"type": "adaptive"}, "output_config": {"effort": "max"}}),
            Some(Reasoning::Effort(Effort::Max)),
        ),
        (
            json!({"output_config": {"effort": "low"}}),
            Some(Reasoning::Effort(Effort::Low)),
        ),
        (json!({}), None),
    ];
    for (extra, want) in cases {
        let mut body =
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let req = decode_request(body.to_string().as_bytes()).unwrap();
        assert_eq!(req.reasoning, want, "{extra}");
    }
}

#[test]
fn structured_output_decodes_from_both_spellings() {
    let schema = json!({"type": "object", "properties": {}, "additionalProperties": false});
    for field in [
        json!({"output_config": {"format": {"type": "json_schema", "schema": schema}}}),
        json!({"output_format": {"type": "json_schema", "schema": schema}}),
    ] {
        let mut body =
            json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]});
        body.as_object_mut()
            .unwrap()
            .extend(field.as_object().unwrap().clone());
        let req = decode_request(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            req.output,
            Some(ir::OutputFormat::JsonSchema {
                name: "response".into(),
                schema: schema.clone(),
                strict: None
            })
        );
    }
}

#[test]
fn requests_using_anthropic_only_features_are_refused_by_name() {
    let base =
        || json!({"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "x"}]});
    let mut server_tool = base();
    server_tool["tools"] =
        json!([{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]);
    let mut history = base();
    history["messages"] = json!([{"role": "assistant", "content": [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}}
    ]}]);
    let mut mcp = base();
    mcp["mcp_servers"] = json!([{"type": "url", "url": "https://mcp.example.com", "name": "x"}]);
    let mut file = base();
    file["messages"] = json!([{"role": "user", "content": [
        {"type": "document", "source": {"type": "file", "file_id": "file_011"}}
    ]}]);
    for (body, needle) in [
        (server_tool, "web_search_20250305"),
        (history, "messages[0].content[0]"),
        (mcp, "mcp_servers"),
        (file, "Files API"),
    ] {
        match decode_request(body.to_string().as_bytes()) {
            Err(TranslateError::Invalid(msg)) => assert!(msg.contains(needle), "{msg}"),
            other => panic!("expected a refusal naming {needle}, got {other:?}"),
        }
    }
}

#[test]
fn malformed_requests_say_where() {
    for (body, needle) in [
        (
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}]}),
            "messages[0].content[0]: missing field `media_type`",
        ),
        (
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "robot", "content": "x"}]}),
            "messages[0].role",
        ),
        (
            json!({"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "hologram"}]}]}),
            "hologram",
        ),
        (json!({"max_tokens": 1, "messages": []}), "model"),
    ] {
        match decode_request(body.to_string().as_bytes()) {
            Err(TranslateError::Invalid(msg)) => assert!(msg.contains(needle), "{needle}: {msg}"),
            other => panic!("expected Invalid for {body}, got {other:?}"),
        }
    }
    assert!(matches!(
        decode_request(b"{not json"),
        Err(TranslateError::Invalid(_))
    ));
}

#[test]
fn a_claude_request_survives_decode_then_encode() {
    let original = golden("request_roundtrip.json");
    let req = decode_request(original.as_bytes()).unwrap();
    let encoded = encode_request(&req).unwrap();
    assert_eq!(json_of(&encoded), json_of(original.as_bytes()));
    // Signatures and redacted data go back byte for byte.
    let s = String::from_utf8(encoded).unwrap();
    assert!(
        s.contains(r#""signature":"EqQBCkgIARABGAIiQL+sig/==+""#),
        "{s}"
    );
    assert!(s.contains(r#""data":"EmwKAhgBEgy3va3pzix==""#), "{s}");
    // Tool input text is embedded exactly as the IR holds it (key order, number spelling).
    assert!(
        s.contains(r#""input":{"city":"Paris","days":2,"opts":{"units":"metric","detail":[1,2.5,true,null]}}"#),
        "{s}"
    );
}
