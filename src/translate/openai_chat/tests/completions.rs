use serde_json::{json, Value};

use super::{encode_events, golden, golden_json, stream_payloads};
use crate::translate::ir::{BlockStart, Delta, Event, Response, Role, StopReason, Usage};
use crate::translate::openai_chat::{
    decode_completions_request, encode_completions_response, CompletionsEncoder,
};
use crate::translate::test_support::{reasoning_part, text_part};
use crate::translate::{StreamOptions, TranslateError};

#[test]
fn a_prompt_becomes_one_user_message() {
    let req =
        decode_completions_request(golden("completions_request.json").as_bytes()).expect("decodes");
    assert_eq!(req.model, "gpt-3.5-turbo-instruct");
    assert_eq!(req.messages.len(), 1);
    assert_eq!(req.messages[0].role, Role::User);
    assert_eq!(req.messages[0].content, vec![text_part("Say hello")]);
    assert_eq!(req.max_tokens, Some(32));
    assert_eq!(req.temperature, Some(0.5));
    assert_eq!(req.top_p, Some(1.0));
    assert_eq!(req.stop, vec!["\n"]);
    assert!(req.stream);
    assert_eq!(req.user.as_deref(), Some("u1"));
    assert!(req.tools.is_empty() && req.system.is_empty());
}

#[test]
fn prompts_the_upstream_cannot_answer_as_asked_are_refused() {
    let decode = |v: Value| decode_completions_request(v.to_string().as_bytes());
    let unsupported = |v: Value, word: &str| matches!(decode(v), Err(TranslateError::Unsupported { feature, .. }) if feature.contains(word));
    assert!(unsupported(
        json!({"model": "m", "prompt": ["a", "b"]}),
        "several prompts"
    ));
    assert!(unsupported(
        json!({"model": "m", "prompt": [1, 2, 3]}),
        "token"
    ));
    assert!(unsupported(
        json!({"model": "m", "prompt": [[1, 2]]}),
        "token"
    ));
    assert!(unsupported(
        json!({"model": "m", "prompt": "a", "suffix": "b"}),
        "suffix"
    ));
    assert!(unsupported(
        json!({"model": "m", "prompt": "a", "echo": true}),
        "echo"
    ));
    assert!(unsupported(
        json!({"model": "m", "prompt": "a", "n": 3}),
        "n"
    ));
    assert!(
        decode(json!({"model": "m", "prompt": "a", "suffix": "", "echo": false, "n": 1})).is_ok()
    );
    assert!(matches!(
        decode(json!({"model": "m"})),
        Err(TranslateError::Invalid(_))
    ));
}

#[test]
fn an_answer_encodes_as_a_text_completion() {
    let resp = Response {
        id: "chatcmpl-mock01".into(),
        model: "gpt-3.5-turbo-instruct".into(),
        content: vec![
            reasoning_part("hidden", None, None),
            text_part("Hello from mock"),
        ],
        stop: StopReason::EndTurn,
        stop_sequence: None,
        usage: Usage {
            input: 11,
            output: 7,
            ..Usage::default()
        },
        created: 1_700_000_000,
    };
    let mut got: Value = serde_json::from_slice(&encode_completions_response(&resp)).expect("json");
    let id = got["id"].as_str().expect("id");
    assert!(id.starts_with("cmpl-") && id.len() > 10, "{id}");
    got["id"] = json!("cmpl-GENERATED");
    assert_eq!(got, golden_json("client_completions_response.json"));
}

#[test]
fn the_stream_is_text_chunks_a_finish_and_done() {
    let events = [
        Event::Start {
            id: "cmpl-mock01".into(),
            model: "mock".into(),
            created: 1_700_000_000,
            usage: None,
        },
        Event::BlockStart {
            index: 0,
            block: BlockStart::Reasoning {
                id: None,
                redacted: false,
            },
        },
        Event::Delta {
            index: 0,
            delta: Delta::Reasoning("not shown".into()),
        },
        Event::BlockStop { index: 0 },
        Event::BlockStart {
            index: 1,
            block: BlockStart::Text,
        },
        Event::Delta {
            index: 1,
            delta: Delta::Text("Hello from ".into()),
        },
        Event::Delta {
            index: 1,
            delta: Delta::Text("mock".into()),
        },
        Event::BlockStop { index: 1 },
        Event::Finish {
            stop: StopReason::MaxTokens,
            stop_sequence: None,
            usage: Usage {
                input: 11,
                output: 7,
                reasoning: 3,
                ..Usage::default()
            },
        },
    ];
    let opts = StreamOptions {
        model: "gpt-3.5-turbo-instruct".into(),
        include_usage: true,
        ..StreamOptions::default()
    };
    let out = encode_events(&mut CompletionsEncoder::new(&opts), &events);
    assert_eq!(out, golden("client_completions_stream.sse"));
}

#[test]
fn a_failed_completion_stream_ends_with_the_error() {
    let events = [
        Event::Delta {
            index: 0,
            delta: Delta::Text("par".into()),
        },
        Event::Error {
            message: "lost".into(),
        },
    ];
    let out = encode_events(
        &mut CompletionsEncoder::new(&StreamOptions::default()),
        &events,
    );
    let payloads = stream_payloads(&out);
    assert_eq!(payloads.len(), 2, "{out}");
    assert_eq!(payloads[0]["object"], "text_completion");
    assert_eq!(payloads[0]["choices"][0]["text"], "par");
    assert_eq!(payloads[1]["error"]["message"], "lost");
    assert!(!out.contains("[DONE]"));
}
