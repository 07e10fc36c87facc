//! What a client sees when things go wrong: upstream errors, failover, cooldowns, broken streams,
//! disconnects, bad input.

mod common;

use std::time::Duration;

use common::{
    chat_body, error_message, messages_body, retry_after_secs, sse_events, upstream_error, Harness,
    CLIENT_KEY,
};
use serde_json::{json, Value};
use switchyard_mock::{Kind, Reply, Step};

fn claude_body(stream: bool) -> Value {
    messages_body("claude-sonnet-4-5-20250929", 8, stream)
}

#[tokio::test]
async fn upstream_errors_reach_the_client_with_status_and_body() {
    let h = Harness::start().await;
    let body = r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long"}}"#;
    h.mock.script(
        vec![Step::reply(Reply::Error {
            status: 400,
            body: Some(body.into()),
        })],
        Reply::Ok(Kind::Text),
    );
    let resp = h.post("/v1/messages", claude_body(false)).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.text().await.unwrap(), body);
    assert_eq!(
        h.mock.requests().len(),
        1,
        "a 400 is the client's fault: no other key is tried"
    );
}

#[tokio::test]
async fn a_429_fails_over_to_the_next_key_and_cools_the_first() {
    let h = Harness::start().await;
    h.script_then_text(vec![upstream_error(429)
        .credential("sk-codex-1")
        .header("retry-after", "600")]);
    for _ in 0..3 {
        let resp = h
            .post("/v1/responses", json!({"model": "gpt-5.5", "input": "hi"}))
            .await;
        assert_eq!(resp.status(), 200);
    }
    let creds: Vec<String> = h
        .mock
        .requests()
        .iter()
        .map(|r| r.credential.clone().unwrap())
        .collect();
    let first_429 = creds.iter().position(|c| c == "sk-codex-1");
    // Key 1 is asked at most once; after its 429 it rests for the 600 s the upstream named.
    assert!(
        creds.iter().filter(|c| *c == "sk-codex-1").count() <= 1,
        "{creds:?}"
    );
    assert!(
        creds.iter().filter(|c| *c == "sk-codex-2").count() >= 3,
        "{creds:?}"
    );
    if let Some(i) = first_429 {
        assert_eq!(
            creds[i + 1],
            "sk-codex-2",
            "the same request moved on to key 2"
        );
    }
}

#[tokio::test]
async fn when_every_key_cools_down_the_client_gets_model_cooldown() {
    let h = Harness::start().await;
    h.script_then_text(vec![upstream_error(429).header("retry-after", "120")]);
    let first = h.post("/v1/messages", claude_body(false)).await;
    assert_eq!(
        first.status(),
        429,
        "both keys answered 429: the upstream's answer is relayed"
    );
    assert_eq!(h.mock.requests().len(), 2, "both keys were tried");

    let second = h.post("/v1/messages", claude_body(false)).await;
    assert_eq!(second.status(), 429);
    let retry_after = retry_after_secs(&second);
    assert!((100..=120).contains(&retry_after), "{retry_after}");
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(error_message(&body).contains("cooling down"));
    assert_eq!(
        h.mock.requests().len(),
        2,
        "no upstream call while every key rests"
    );
}

#[tokio::test]
async fn connect_errors_fail_over_to_a_working_key() {
    let mock = switchyard_mock::MockUpstream::start().await;
    // A port that refuses connections: bind one, then free it.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let yaml = format!(
        "port: 0\nusage-database-path: usage.sqlite\napi-keys: [{CLIENT_KEY}]\nrouting: {{strategy: fill-first}}\nclaude-api-key:\n  - {{api-key: sk-dead, base-url: 'http://{dead}'}}\n  - {{api-key: sk-live, base-url: '{}'}}\n",
        mock.base_url(switchyard_mock::Family::Claude)
    );
    let h = Harness::with_config(mock, &yaml).await;
    let resp = h.post("/v1/messages", claude_body(true)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(h.mock.requests()[0].credential.as_deref(), Some("sk-live"));
}

#[tokio::test]
async fn a_stream_that_breaks_midway_ends_with_an_error_event_in_the_clients_format() {
    let h = Harness::start().await;
    h.cut_streams_after(3);
    let text = h.post_text("/v1/messages", claude_body(true)).await;
    let events = sse_events(&text);
    assert_eq!(events.len(), 4, "{text}");
    assert_eq!(events[0].0.as_deref(), Some("message_start"));
    assert_eq!(events[3].0.as_deref(), Some("error"));
    let err: Value = serde_json::from_str(&events[3].1).unwrap();
    assert_eq!(err["type"], "error");
    assert_eq!(err["error"]["type"], "api_error");

    h.cut_streams_after(2);
    let text = h
        .post_text("/v1/chat/completions", chat_body("compat-gpt-4o", true))
        .await;
    let events = sse_events(&text);
    let last: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert!(error_message(&last).contains("mid-stream"), "{text}");
    assert!(
        !text.contains("[DONE]"),
        "a broken stream must not look finished"
    );

    h.cut_streams_after(4);
    let text = h
        .post_text(
            "/v1/responses",
            json!({"model": "gpt-5.5", "input": "hi", "stream": true}),
        )
        .await;
    let events = sse_events(&text);
    let (name, data) = events.last().unwrap();
    assert_eq!(name.as_deref(), Some("error"));
    let data: Value = serde_json::from_str(data).unwrap();
    assert_eq!(
        data["sequence_number"], 4,
        "continues the upstream's numbering"
    );
}

#[tokio::test]
async fn a_client_that_disconnects_cancels_the_upstream_request() {
    let h = Harness::start().await;
    h.mock.script(vec![], Reply::Hang);
    // The hang reply sends headers and then nothing, so the proxy is still waiting for the first bytes
    // when the client gives up and closes its connection.
    let gave_up = tokio::time::timeout(
        Duration::from_millis(500),
        h.post("/v1/messages", claude_body(true)),
    )
    .await;
    assert!(gave_up.is_err(), "nothing should have arrived");
    assert_eq!(
        h.mock.requests().len(),
        1,
        "the request reached the upstream"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let seen = h.mock.requests();
        if seen.len() == 1 && seen[0].client_disconnected() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "upstream still connected 5 s after the client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn bad_input_gets_clear_errors_in_each_format() {
    let h = Harness::start().await;
    let send = |path: &'static str, body: &'static str| {
        h.http
            .post(h.url(path))
            .bearer_auth(CLIENT_KEY)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let resp = send("/v1/chat/completions", "{not json").await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(error_message(&body).contains("not a valid JSON"));

    let resp = send("/v1/messages", r#"{"max_tokens": 1}"#).await.unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["type"], "error");
    assert!(error_message(&body).contains("model"));

    let resp = send("/v1/messages", r#"{"model": "no-such-model"}"#)
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error");

    let resp = send("/v1beta/models/gemini-2.5-flash:generateContent", "[")
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");

    // Counting tokens only exists where the upstream counts them itself: say so plainly elsewhere.
    let resp = send(
        "/v1/messages/count_tokens",
        r#"{"model": "gpt-5.5", "messages": []}"#,
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    let message = error_message(&body);
    assert!(
        message.contains("codex-api-key") && message.contains("count tokens"),
        "{message}"
    );
    assert!(h.mock.requests().is_empty(), "nothing bad went upstream");

    let big = "x".repeat(65 << 20);
    let resp = h
        .http
        .post(h.url("/v1/messages"))
        .bearer_auth(CLIENT_KEY)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "request_too_large");
}
