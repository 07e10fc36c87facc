//! Crossing formats, beyond the happy paths the SDK suite covers: errors in the client's own shape,
//! broken streams, Codex's always-streaming upstream, reversible tool-name shortening, keep-alives, and
//! features that cannot cross.

mod common;

use common::{
    chat_body, error_message, messages_body, retry_after_secs, sse_events, upstream_error, Harness,
    CLIENT_KEY,
};
use serde_json::{json, Value};
use switchyard_mock::{Kind, Reply, Step};

fn chat(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Get the weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]})
}

#[tokio::test]
async fn upstream_errors_come_back_in_the_clients_shape_with_status_and_retry_after() {
    let h = Harness::start().await;
    h.script_then_text(vec![upstream_error(429).header("retry-after", "30")]);
    let resp = h
        .post(
            "/v1/chat/completions",
            chat("claude-sonnet-4-5-20250929", false),
        )
        .await;
    assert_eq!(resp.status(), 429);
    let retry = retry_after_secs(&resp);
    assert!((1..=30).contains(&retry), "{retry}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"]["type"], "rate_limit_error",
        "OpenAI's shape, not Anthropic's: {body}"
    );
    assert!(
        error_message(&body).contains("mock upstream error 429"),
        "{body}"
    );

    let h = Harness::start().await;
    h.script_then_text(vec![upstream_error(400)]);
    let resp = h
        .post(
            "/v1/messages",
            json!({"model": "gemini-2.5-flash", "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error", "Anthropic's shape: {body}");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        h.mock.requests().len(),
        1,
        "a 400 is not retried on another key"
    );
}

#[tokio::test]
async fn a_translated_stream_that_breaks_ends_with_the_clients_error_event() {
    let h = Harness::start().await;
    h.cut_streams_after(3);
    let text = h
        .post_text("/v1/messages", messages_body("gpt-5.5", 64, true))
        .await;
    let events = sse_events(&text);
    assert_eq!(
        events.first().unwrap().0.as_deref(),
        Some("message_start"),
        "{text}"
    );
    assert_eq!(events.last().unwrap().0.as_deref(), Some("error"), "{text}");
    assert!(
        !text.contains("message_stop"),
        "a broken stream must not look finished: {text}"
    );

    h.cut_streams_after(2);
    let text = h
        .post_text(
            "/v1/chat/completions",
            chat_body("claude-sonnet-4-5-20250929", true),
        )
        .await;
    assert!(!text.contains("[DONE]"), "{text}");
    let last: Value = serde_json::from_str(&sse_events(&text).last().unwrap().1).unwrap();
    assert!(last.get("error").is_some(), "{text}");
}

#[tokio::test]
async fn codex_is_always_streamed_and_aggregated_for_non_streaming_clients() {
    let h = Harness::start().await;
    h.mock.script(vec![], Reply::Ok(Kind::Parallel));
    let resp = h.post("/v1/chat/completions", chat("gpt-5.5", false)).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    let up = &h.mock.requests()[0];
    assert_eq!(up.path, "/responses");
    assert_eq!(up.body["stream"], true, "Codex is always asked to stream");
    assert!(
        up.body["instructions"].is_string(),
        "Codex wants a string: {}",
        up.body
    );
    assert_eq!(body["object"], "chat.completion");
    let calls = body["choices"][0]["message"]["tool_calls"]
        .as_array()
        .unwrap();
    let args: Vec<Value> = calls
        .iter()
        .map(|c| serde_json::from_str(c["function"]["arguments"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(
        args,
        vec![json!({"city": "Paris"}), json!({"city": "Rome"})]
    );
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn long_tool_names_are_shortened_for_codex_and_restored_for_the_client() {
    let h = Harness::start().await;
    let long = format!(
        "mcp__filesystem__{}",
        "read_multiple_files_with_a_very_long_name_".repeat(2)
    );
    assert!(long.len() > 64);
    let mut body = chat("gpt-5.5", true);
    body["tools"][0]["function"]["name"] = json!(long);
    h.mock.script(vec![], Reply::Ok(Kind::Tool));
    let text = h.post_text("/v1/chat/completions", body).await;
    let up = &h.mock.requests()[0];
    let sent = up.body["tools"][0]["name"].as_str().unwrap();
    assert!(sent.len() <= 64, "{sent}");
    assert!(
        text.contains(&long),
        "the client sees its own tool name: {text}"
    );
    assert!(!text.contains(sent), "{text}");
    assert!(
        up.body["prompt_cache_key"].is_string(),
        "a stable cache key is derived: {}",
        up.body
    );
}

#[tokio::test]
async fn a_cache_key_stays_the_same_across_turns_of_a_conversation() {
    let h = Harness::start().await;
    let first = chat("gpt-5.5", false);
    let mut second = first.clone();
    second["messages"].as_array_mut().unwrap().extend([
        json!({"role": "assistant", "content": "It is sunny."}),
        json!({"role": "user", "content": "And tomorrow?"}),
    ]);
    h.post("/v1/chat/completions", first).await;
    h.post("/v1/chat/completions", second).await;
    let seen = h.mock.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[0].body["prompt_cache_key"],
        seen[1].body["prompt_cache_key"]
    );
}

#[tokio::test]
async fn silent_upstreams_get_keep_alives_on_translated_streams() {
    let h = Harness::with_extra("streaming:\n  keepalive-seconds: 1\n").await;
    h.mock.script(
        vec![Step::reply(Reply::Ok(Kind::Text)).stall_ms(2600)],
        Reply::Ok(Kind::Text),
    );
    let text = h
        .post_text("/v1/messages", messages_body("gemini-2.5-flash", 64, true))
        .await;
    let pings = sse_events(&text)
        .iter()
        .filter(|(name, _)| name.as_deref() == Some("ping"))
        .count();
    assert!(
        pings >= 1,
        "at least one keep-alive during a 2.6 s silence: {text}"
    );
    assert_eq!(
        sse_events(&text).last().unwrap().0.as_deref(),
        Some("message_stop")
    );
}

#[tokio::test]
async fn features_that_cannot_cross_are_refused_by_name() {
    let h = Harness::start().await;
    let resp = h
        .post(
            "/v1/responses",
            json!({"model": "claude-sonnet-4-5-20250929", "input": "news today?",
            "tools": [{"type": "web_search"}]}),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    let message = error_message(&body);
    assert!(message.contains("web_search"), "{message}");
    assert!(h.mock.requests().is_empty(), "nothing went upstream");
}

#[tokio::test]
async fn gemini_clients_get_their_json_array_stream_from_any_upstream() {
    let h = Harness::start().await;
    h.mock.script(vec![], Reply::Ok(Kind::Text));
    let resp = h
        .http
        .post(h.url("/v1beta/models/claude-sonnet-4-5-20250929:streamGenerateContent"))
        .header("x-goog-api-key", CLIENT_KEY)
        .json(&json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let chunks: Vec<Value> = resp.json().await.expect("one JSON array");
    let text: String = chunks
        .iter()
        .flat_map(|c| {
            c["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|p| p["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "Hello from mock");
    assert_eq!(
        chunks.last().unwrap()["candidates"][0]["finishReason"],
        "STOP"
    );
    let up = &h.mock.requests()[0];
    assert_eq!(up.path, "/v1/messages");
    assert_eq!(up.body["stream"], true);
}
