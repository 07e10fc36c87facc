//! IR → requests for a Claude upstream.

use super::*;
use crate::translate::test_support::paris_weather_call;

/// The IR an OpenAI Chat client produces for a typical tool-calling conversation.
fn openai_like_ir() -> ir::Request {
    ir::Request {
        model: "claude-sonnet-4-5-20250929".into(),
        system: vec!["You are terse.".into(), "Answer in French.".into()],
        messages: vec![
            ir::Message {
                role: Role::User,
                content: vec![text("Weather in Paris? Also ping.")],
            },
            ir::Message {
                role: Role::Assistant,
                content: vec![
                    // Reasoning another vendor produced, unsigned: Claude cannot take it back.
                    reasoning_part("thinking", None, Some("rs_1")),
                    text(""),
                    paris_weather_call("call_abc"),
                    Part::ToolCall {
                        id: "call_def".into(),
                        name: "ping".into(),
                        arguments: String::new(),
                        signature: None,
                    },
                ],
            },
            // One message per tool result, as Chat's `role: tool` messages decode.
            ir::Message {
                role: Role::User,
                content: vec![Part::ToolResult {
                    call_id: "call_abc".into(),
                    name: None,
                    content: vec![text("sunny")],
                    is_error: false,
                }],
            },
            ir::Message {
                role: Role::User,
                content: vec![Part::ToolResult {
                    call_id: "call_def".into(),
                    name: None,
                    content: vec![],
                    is_error: false,
                }],
            },
            ir::Message {
                role: Role::User,
                content: vec![
                    text("Merci"),
                    Part::Image {
                        source: MediaSource::Base64 {
                            media_type: "image/png".into(),
                            data: "iVBORw0KGgo=".into(),
                        },
                    },
                ],
            },
            ir::Message {
                role: Role::Assistant,
                content: vec![text("Il fait beau.")],
            },
            ir::Message {
                role: Role::User,
                content: vec![text("Et demain ?")],
            },
        ],
        tools: vec![
            ir::Tool {
                name: "get_weather".into(),
                description: Some("Get the weather".into()),
                parameters: Some(
                    json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
                ),
            },
            ir::Tool {
                name: "ping".into(),
                description: None,
                parameters: None,
            },
        ],
        tool_choice: Some(ir::ToolChoice::Auto),
        parallel_tool_calls: Some(false),
        max_tokens: None,
        temperature: Some(0.3),
        top_p: Some(0.9),
        top_k: None,
        stop: vec!["STOP".into()],
        stream: true,
        reasoning: Some(Reasoning::Effort(Effort::High)),
        output: Some(ir::OutputFormat::JsonSchema {
            name: "weather".into(),
            schema: json!({"type": "object", "properties": {"temp": {"type": "number"}}, "required": ["temp"], "additionalProperties": false}),
            strict: Some(true),
        }),
        user: Some("u-42".into()),
        cache_key: Some("conversation-1".into()),
    }
}

#[test]
fn encodes_an_openai_style_conversation_for_claude() {
    let encoded = encode_request(&openai_like_ir()).unwrap();
    assert_eq!(
        json_of(&encoded),
        json_of(golden("encode_openai_like.json").as_bytes())
    );
}

#[test]
fn newer_models_get_adaptive_thinking_with_an_effort() {
    let mut req = openai_like_ir();
    req.model = "claude-opus-4-7".into();
    req.max_tokens = Some(2000);
    req.reasoning = Some(Reasoning::Budget(3000));
    let out = json_of(&encode_request(&req).unwrap());
    assert_eq!(out["thinking"], json!({"type": "adaptive"}));
    assert_eq!(out["output_config"]["effort"], "medium");
    assert_eq!(
        out["max_tokens"], 2000,
        "adaptive thinking needs no max_tokens headroom"
    );
    assert!(out.get("temperature").is_none());

    req.reasoning = Some(Reasoning::Effort(Effort::Auto));
    let out = json_of(&encode_request(&req).unwrap());
    assert_eq!(out["thinking"], json!({"type": "adaptive"}));
    assert!(out["output_config"].get("effort").is_none());

    for (model, adaptive) in [
        ("claude-opus-4-6", true),
        ("claude-sonnet-4-6", true),
        ("claude-opus-4-7", true),
        ("claude-opus-5", true),
        ("claude-mythos-preview", true),
        ("claude-sonnet-4-5-20250929", false),
        ("claude-opus-4-1-20250805", false),
        ("claude-sonnet-4-20250514", false),
        ("claude-3-7-sonnet-20250219", false),
        ("claude-haiku-4-5", false),
        ("gpt-5.5", false),
    ] {
        assert_eq!(is_adaptive_thinking_model(model), adaptive, "{model}");
    }
}

#[test]
fn thinking_budgets_fit_claudes_rules() {
    let budget_of = |max_tokens: Option<u64>, r: Reasoning| {
        let mut req = openai_like_ir();
        req.max_tokens = max_tokens;
        req.reasoning = Some(r);
        let out = json_of(&encode_request(&req).unwrap());
        (
            out["max_tokens"].as_u64().unwrap(),
            out["thinking"]["budget_tokens"].as_u64(),
        )
    };
    // The default limit is raised to fit a large budget…
    assert_eq!(
        budget_of(None, Reasoning::Effort(Effort::XHigh)),
        (40960, Some(32768))
    );
    // …but a client's own limit is kept and the budget fitted under it.
    assert_eq!(
        budget_of(Some(4096), Reasoning::Effort(Effort::Medium)),
        (4096, Some(3072))
    );
    // Claude's minimum budget is 1024.
    assert_eq!(
        budget_of(Some(4096), Reasoning::Effort(Effort::Minimal)),
        (4096, Some(1024))
    );
    // No room for the minimum: thinking stays off rather than failing upstream.
    assert_eq!(budget_of(Some(1000), Reasoning::Budget(2048)), (1000, None));
    // Auto has no budget equivalent on older models: medium.
    assert_eq!(
        budget_of(None, Reasoning::Effort(Effort::Auto)),
        (32000, Some(8192))
    );
    // None means no thinking block at all.
    assert_eq!(
        budget_of(None, Reasoning::Effort(Effort::None)),
        (32000, None)
    );
}

#[test]
fn thinking_follows_claudes_history_rules() {
    // A conversation from another vendor that stops inside a tool loop: Claude would demand a thinking block
    // at the start of the open assistant turn, so this request goes without thinking (and keeps its sampling).
    let mut req = openai_like_ir();
    req.messages.truncate(5);
    req.top_p = None;
    let out = json_of(&encode_request(&req).unwrap());
    assert!(out.get("thinking").is_none(), "{out}");
    assert_eq!(out["temperature"], 0.3);
    // The same turn with Claude's own signed thinking keeps thinking on.
    req.messages[1].content[0] = reasoning_part("plan", Some("sig"), None);
    let out = json_of(&encode_request(&req).unwrap());
    assert_eq!(out["thinking"]["type"], "enabled");
    assert_eq!(
        out["messages"][1]["content"][0],
        json!({"type": "thinking", "thinking": "plan", "signature": "sig"})
    );
    // Without thinking, a final assistant prefill may not carry thinking blocks.
    req.reasoning = None;
    req.messages.truncate(2);
    req.messages[1].content.truncate(1);
    let out = json_of(&encode_request(&req).unwrap());
    assert_eq!(out["messages"].as_array().unwrap().len(), 1, "{out}");
}

#[test]
fn a_forced_tool_wins_over_thinking_and_keeps_sampling() {
    let mut req = openai_like_ir();
    req.tool_choice = Some(ir::ToolChoice::Tool("get_weather".into()));
    req.top_p = None;
    let out = json_of(&encode_request(&req).unwrap());
    assert!(out.get("thinking").is_none());
    assert_eq!(out["temperature"], 0.3);
    assert_eq!(
        out["tool_choice"],
        json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true})
    );
    req.tool_choice = Some(ir::ToolChoice::Required);
    req.parallel_tool_calls = None;
    let out = json_of(&encode_request(&req).unwrap());
    assert_eq!(out["tool_choice"], json!({"type": "any"}));
}

#[test]
fn encoding_refuses_what_claude_cannot_express() {
    let mut req = openai_like_ir();
    req.output = Some(ir::OutputFormat::JsonObject);
    match encode_request(&req) {
        Err(TranslateError::Unsupported { feature, target }) => {
            assert!(feature.contains("json_object"), "{feature}");
            assert_eq!(target, crate::wire::Format::Anthropic);
        }
        other => panic!("{other:?}"),
    }
    let mut req = openai_like_ir();
    req.messages[0].content.push(Part::Document {
        source: MediaSource::Base64 {
            media_type: "application/msword".into(),
            data: "AAAA".into(),
        },
        title: None,
    });
    assert!(matches!(
        encode_request(&req),
        Err(TranslateError::Unsupported { .. })
    ));
    let mut req = openai_like_ir();
    req.messages[1].content[2] = Part::ToolCall {
        id: "call_x".into(),
        name: "get_weather".into(),
        arguments: "[1,2]".into(),
        signature: None,
    };
    match encode_request(&req) {
        Err(TranslateError::Invalid(msg)) => assert!(msg.contains("call_x"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn tool_results_open_the_user_turn_and_roles_alternate() {
    let req = ir::Request {
        model: "claude-sonnet-4-5".into(),
        messages: vec![
            ir::Message {
                role: Role::Assistant,
                content: vec![Part::ToolCall {
                    id: "t1".into(),
                    name: "f".into(),
                    arguments: "{}".into(),
                    signature: None,
                }],
            },
            ir::Message {
                role: Role::User,
                content: vec![
                    text("and also"),
                    Part::ToolResult {
                        call_id: "t1".into(),
                        name: Some("f".into()),
                        content: vec![text("a"), text("b")],
                        is_error: false,
                    },
                ],
            },
            ir::Message {
                role: Role::User,
                content: vec![text("")],
            },
            ir::Message {
                role: Role::User,
                content: vec![text("last")],
            },
        ],
        tool_choice: Some(ir::ToolChoice::Auto),
        ..Default::default()
    };
    let out = json_of(&encode_request(&req).unwrap());
    assert_eq!(
        out["messages"][1],
        json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
            {"type": "text", "text": "and also"},
            {"type": "text", "text": "last", "cache_control": {"type": "ephemeral"}}
        ]})
    );
    assert_eq!(out["messages"].as_array().unwrap().len(), 2);
    // tool_choice without tools is dropped (Claude rejects it); max_tokens gets its default.
    assert!(out.get("tool_choice").is_none());
    assert_eq!(out["max_tokens"], DEFAULT_MAX_TOKENS);
    assert_eq!(out["stream"], false);
}

#[test]
fn foreign_tool_ids_are_made_claude_safe_consistently() {
    // Kimi-style ids hold characters Claude rejects; the call and its result must still match.
    let mut req = openai_like_ir();
    req.messages[1].content[2] = Part::ToolCall {
        id: "functions.get_weather:0".into(),
        name: "get_weather".into(),
        arguments: "{}".into(),
        signature: None,
    };
    req.messages[2].content[0] = Part::ToolResult {
        call_id: "functions.get_weather:0".into(),
        name: None,
        content: vec![text("sunny")],
        is_error: false,
    };
    let out = json_of(&encode_request(&req).unwrap());
    assert_eq!(
        out["messages"][1]["content"][0]["id"],
        "functions_get_weather_0"
    );
    assert_eq!(
        out["messages"][2]["content"][0]["tool_use_id"],
        "functions_get_weather_0"
    );
}

#[test]
fn cache_breakpoints_mark_system_tools_and_the_latest_turn_only() {
    let out = encode_request(&openai_like_ir()).unwrap();
    let s = String::from_utf8(out).unwrap();
    // Claude allows four breakpoints; we place three.
    assert_eq!(
        s.matches(r#""cache_control":{"type":"ephemeral"}"#).count(),
        3,
        "{s}"
    );
    let mut bare = openai_like_ir();
    bare.system.clear();
    bare.tools.clear();
    bare.tool_choice = None;
    let s = String::from_utf8(encode_request(&bare).unwrap()).unwrap();
    assert_eq!(s.matches("cache_control").count(), 1, "{s}");
    assert!(!s.contains(r#""system""#) && !s.contains(r#""tools""#));
}

#[test]
fn a_two_megabyte_conversation_translates_quickly() {
    let chunk = "lorem ipsum dolor sit amet, \"quoted\" and ünïcödé\n".repeat(40);
    let mut messages = Vec::new();
    for i in 0..1000 {
        messages.push(json!({"role": "user", "content": [{"type": "text", "text": chunk}]}));
        messages.push(json!({"role": "assistant", "content": [
            {"type": "tool_use", "id": format!("toolu_{i}"), "name": "f", "input": {"q": i}}
        ]}));
        messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": format!("toolu_{i}"), "content": "ok"}
        ]}));
    }
    let body =
        json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": messages}).to_string();
    assert!(body.len() > 2_000_000, "{}", body.len());
    let t = std::time::Instant::now();
    let req = decode_request(body.as_bytes()).unwrap();
    let out = encode_request(&req).unwrap();
    let took = t.elapsed();
    assert!(out.len() > 2_000_000);
    // Measured ~100 ms in the unoptimised test build, the same as a bare serde_json Value parse plus
    // serialise of this body (so a few ms optimised). Generous for a shared machine; a quadratic path would
    // take seconds.
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
}
