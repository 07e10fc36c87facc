//! The mock's behaviour over real sockets: scripts, recording, pacing, cuts, hangs and the
//! routes the reference data does not cover (Gemini JSON-array streams, legacy completions).

mod common;

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_mock::replies::{self, Echo};
use switchyard_mock::{Chunking, Family, Kind, MockUpstream, Reply, Step};

fn claude_body(stream: bool) -> Value {
    json!({"model": "claude-x", "max_tokens": 8, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

async fn claude(mock: &MockUpstream, key: &str, stream: bool) -> common::RawResponse {
    common::post_json(
        mock.addr(),
        "/anthropic/v1/messages",
        &[("x-api-key", key)],
        &claude_body(stream),
    )
    .await
}

/// Sends a Claude request on a raw connection and leaves the answer unread.
async fn open_claude(mock: &MockUpstream, stream: bool) -> tokio::net::TcpStream {
    let body = claude_body(stream).to_string();
    common::open(
        mock.addr(),
        "POST",
        "/anthropic/v1/messages",
        &[],
        body.as_bytes(),
    )
    .await
}

async fn wait_until(mut cond: impl FnMut() -> bool, within: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < within {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

#[tokio::test]
async fn script_steps_by_credential_and_count_then_fallback() {
    let mock = MockUpstream::start().await;
    mock.script(
        vec![
            Step::reply(Reply::Error {
                status: 401,
                body: None,
            })
            .credential("bad"),
            Step::reply(Reply::Error {
                status: 429,
                body: None,
            })
            .times(1)
            .header("retry-after", "7"),
        ],
        Reply::Ok(Kind::Tool),
    );
    let r = claude(&mock, "good", false).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.header("retry-after"), Some("7"));
    assert_eq!(claude(&mock, "bad", false).await.status, 401);
    assert_eq!(claude(&mock, "bad", false).await.status, 401);
    let r = claude(&mock, "good", false).await;
    assert_eq!(r.status, 200);
    let body: Value = serde_json::from_slice(&r.body()).unwrap();
    assert_eq!(body["content"][0]["type"], "tool_use");
    assert_eq!(body["model"], "claude-x");

    let log = mock.requests();
    assert_eq!(log.len(), 4);
    assert_eq!(log[0].family, Family::Claude);
    assert_eq!(log[0].method, "POST");
    assert_eq!(log[0].path, "/v1/messages");
    assert_eq!(log[0].credential.as_deref(), Some("good"));
    assert_eq!(log[0].header("X-Api-Key"), Some("good"));
    assert!(log[0]
        .headers
        .iter()
        .all(|(k, _)| k == &k.to_ascii_lowercase()));
    assert_eq!(log[0].body, claude_body(false));
    assert_eq!(log[0].raw_body, claude_body(false).to_string().as_bytes());
    assert!(!log[0].client_disconnected());

    // A new script clears the log.
    mock.script(vec![], Reply::Ok(Kind::Text));
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn credentials_query_and_unknown_routes() {
    let mock = MockUpstream::start().await;
    let addr = mock.addr();
    let body = json!({"contents": []});
    common::post_json(
        addr,
        "/gemini/v1beta/models/g-1:generateContent?key=qk",
        &[],
        &body,
    )
    .await;
    common::post_json(
        addr,
        "/codex/responses",
        &[("authorization", "Bearer tok")],
        &json!({"model": "c"}),
    )
    .await;
    let r = common::post_json(addr, "/anthropic/v2/nothing", &[], &json!({})).await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"error":"mock: unknown route"}"#)
    );
    let r = common::send(addr, "GET", "/elsewhere/v1/models", &[], b"").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"error":"mock: unknown route"}"#)
    );

    let log = mock.requests();
    // Unknown routes under a family prefix are recorded; unknown prefixes are not.
    assert_eq!(log.len(), 3);
    assert_eq!(log[0].query, "key=qk");
    assert_eq!(log[0].credential.as_deref(), Some("qk"));
    assert_eq!(log[1].credential.as_deref(), Some("tok"));
    assert_eq!(log[2].path, "/v2/nothing");
}

#[tokio::test]
async fn garbage_bodies_get_400_without_consuming_a_step() {
    let mock = MockUpstream::start().await;
    mock.script(
        vec![Step::reply(Reply::Ok(Kind::Mixed)).times(1)],
        Reply::Error {
            status: 500,
            body: None,
        },
    );
    let r = common::send(
        mock.addr(),
        "POST",
        "/compat/chat/completions",
        &[],
        b"{not json",
    )
    .await;
    assert_eq!(r.status, 400);
    let err: Value = serde_json::from_slice(&r.body()).unwrap();
    assert_eq!(err["error"]["type"], "invalid_request_error");
    let r = common::send(mock.addr(), "POST", "/anthropic/v1/messages", &[], b"").await;
    assert_eq!(r.status, 400);
    let r = common::send(
        mock.addr(),
        "POST",
        "/gemini/v1beta/models/m:generateContent",
        &[],
        b"[1]",
    )
    .await;
    assert_eq!(r.status, 400);
    // Models never consume a step either.
    assert_eq!(
        common::send(mock.addr(), "GET", "/compat/models", &[], b"")
            .await
            .status,
        200
    );
    let r = common::post_json(
        mock.addr(),
        "/compat/chat/completions",
        &[],
        &json!({"model": "x"}),
    )
    .await;
    assert_eq!(r.status, 200, "the scripted step is still there");
    let log = mock.requests();
    assert_eq!(log[0].body, Value::String("{not json".into()));
    assert_eq!(log[1].body, Value::Null);
}

#[tokio::test]
async fn scripted_error_bodies_and_header_override() {
    let mock = MockUpstream::start().await;
    mock.script(
        vec![Step::reply(Reply::Error {
            status: 400,
            body: Some("plain words".into()),
        })
        .header("content-type", "text/plain")
        .header("x-e2e", "1")
        .header("x-e2e", "2")],
        Reply::Ok(Kind::Text),
    );
    let r = claude(&mock, "k", true).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.text(), "plain words");
    let ct: Vec<_> = r
        .headers
        .iter()
        .filter(|(k, _)| k == "content-type")
        .collect();
    assert_eq!(
        ct,
        vec![&("content-type".to_string(), "text/plain".to_string())]
    );
    assert_eq!(r.headers.iter().filter(|(k, _)| k == "x-e2e").count(), 2);
}

#[tokio::test]
async fn cut_drops_the_connection_without_terminator() {
    let mock = MockUpstream::start().await;
    mock.script(
        vec![],
        Reply::Cut {
            kind: Kind::Text,
            after: 3,
        },
    );
    let r = claude(&mock, "k", true).await;
    assert_eq!(r.status, 200);
    assert!(!r.complete, "a cut stream must not end cleanly");
    let want = replies::sse_writes(
        Family::Claude,
        Kind::Text,
        &Echo::new("claude-x", "get_weather"),
        Chunking::Whole,
    );
    let want: Vec<String> = want[..3]
        .iter()
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    assert_eq!(r.chunk_texts(), want);
    // A JSON request gets a truncated body, then the drop.
    let r = claude(&mock, "k", false).await;
    assert!(!r.complete);
    let full = replies::json_body(
        Family::Claude,
        Kind::Text,
        &Echo::new("claude-x", "get_weather"),
    );
    assert_eq!(r.text(), full[..48]);
    // The mock ended it, not the client.
    assert!(mock.requests().iter().all(|r| !r.client_disconnected()));
}

#[tokio::test]
async fn hang_sends_headers_then_nothing_and_notices_the_client_leaving() {
    let mock = MockUpstream::start().await;
    mock.script(vec![], Reply::Hang);
    let mut conn = open_claude(&mock, false).await;
    let (status, head, rest) = common::read_head(&mut conn).await;
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/event-stream"),
        "{head}"
    );
    assert!(rest.is_empty());
    let more = tokio::time::timeout(Duration::from_millis(300), common::read_some(&mut conn)).await;
    assert!(
        more.is_err(),
        "a hanging reply must stay silent, got {more:?}"
    );
    let log = mock.wait_for_requests(1, Duration::from_secs(1)).await;
    assert!(!log[0].client_disconnected());
    drop(conn);
    let seen = wait_until(
        || mock.requests()[0].client_disconnected(),
        Duration::from_secs(5),
    )
    .await;
    assert!(
        seen,
        "client_disconnected() should turn true once the client left"
    );
}

#[tokio::test]
async fn delay_and_stall_pace_the_reply() {
    let mock = MockUpstream::start().await;
    mock.script(
        vec![Step::reply(Reply::Ok(Kind::Text))
            .delay_ms(300)
            .stall_ms(300)],
        Reply::Ok(Kind::Text),
    );
    let start = Instant::now();
    let mut conn = open_claude(&mock, true).await;
    let (_, _, mut got) = common::read_head(&mut conn).await;
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "delay_ms precedes the head"
    );
    while got.is_empty() {
        got = common::read_some(&mut conn).await;
    }
    let first = Instant::now();
    loop {
        let more = common::read_some(&mut conn).await;
        if more.is_empty() {
            break;
        }
        got.extend_from_slice(&more);
    }
    assert!(
        first.elapsed() >= Duration::from_millis(290),
        "stall_ms precedes the second write"
    );
    assert!(String::from_utf8_lossy(&got).contains("message_stop"));
    assert!(!mock.requests()[0].client_disconnected());
}

#[tokio::test]
async fn leaving_during_the_delay_counts_as_a_disconnect() {
    let mock = MockUpstream::start().await;
    mock.script(
        vec![Step::reply(Reply::Ok(Kind::Text)).delay_ms(5_000)],
        Reply::Ok(Kind::Text),
    );
    let conn = open_claude(&mock, true).await;
    mock.wait_for_requests(1, Duration::from_secs(2)).await;
    drop(conn);
    let seen = wait_until(
        || mock.requests()[0].client_disconnected(),
        Duration::from_secs(3),
    )
    .await;
    assert!(seen);
}

#[tokio::test]
async fn gemini_without_alt_sse_streams_one_json_array() {
    let mock = MockUpstream::start().await;
    mock.script(vec![], Reply::Ok(Kind::Thinking));
    let path = "/gemini/v1beta/models/gemini-z:streamGenerateContent";
    let r = common::post_json(
        mock.addr(),
        path,
        &[("x-goog-api-key", "g")],
        &json!({"contents": []}),
    )
    .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    let events = replies::events(
        Family::Gemini,
        Kind::Thinking,
        &Echo::new("gemini-z", "get_weather"),
    );
    let mut want: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(i, e)| format!("{}{}", if i == 0 { "[" } else { ",\r\n" }, e.data))
        .collect();
    want.push("]".into());
    assert_eq!(r.chunk_texts(), want);
    let parsed: Vec<Value> = serde_json::from_slice(&r.body()).expect("one JSON array");
    assert_eq!(
        parsed,
        events.iter().map(|e| e.data.clone()).collect::<Vec<_>>()
    );

    // In-band error: the error object is the next array element, then the array closes.
    mock.script(
        vec![],
        Reply::StreamError {
            kind: Kind::Text,
            after: 1,
        },
    );
    let r = common::post_json(mock.addr(), path, &[], &json!({"contents": []})).await;
    let parsed: Vec<Value> = serde_json::from_slice(&r.body()).expect("one JSON array");
    assert_eq!(parsed.len(), 2);
    assert_eq!(parsed[1]["error"]["code"], 500);
}

#[tokio::test]
async fn legacy_completions_json_and_stream() {
    let mock = MockUpstream::start().await;
    mock.script(vec![], Reply::Ok(Kind::Length));
    let r = common::post_json(
        mock.addr(),
        "/compat/completions",
        &[],
        &json!({"model": "davinci", "prompt": "x"}),
    )
    .await;
    let body: Value = serde_json::from_slice(&r.body()).unwrap();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["model"], "davinci");
    assert_eq!(body["choices"][0]["text"], "Hello from mock");
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    let req = json!({"model": "davinci", "prompt": "x", "stream": true});
    let r = common::post_json(mock.addr(), "/compat/completions", &[], &req).await;
    let chunks = r.chunk_texts();
    assert_eq!(chunks.last().map(String::as_str), Some("data: [DONE]\n\n"));
    let text: String = chunks
        .iter()
        .filter_map(|c| c.strip_prefix("data: ")?.trim().parse::<Value>().ok())
        .filter_map(|v| v["choices"][0]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "Hello from mock");
}

#[tokio::test]
async fn wait_for_requests_returns_early_or_at_timeout() {
    let mock = MockUpstream::start().await;
    let start = Instant::now();
    assert!(mock
        .wait_for_requests(1, Duration::from_millis(200))
        .await
        .is_empty());
    assert!(start.elapsed() >= Duration::from_millis(190));
    let addr = mock.addr();
    let task = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        common::post_json(addr, "/codex/responses", &[], &json!({"model": "c"})).await
    });
    let log = mock.wait_for_requests(1, Duration::from_secs(10)).await;
    assert_eq!(log.len(), 1);
    assert!(start.elapsed() < Duration::from_secs(5));
    task.await.unwrap();
}

#[tokio::test]
async fn dropping_the_mock_stops_it_and_ends_hanging_replies() {
    let mock = MockUpstream::start().await;
    mock.script(vec![], Reply::Hang);
    let addr = mock.addr();
    let hanging = tokio::spawn(async move {
        common::post_json(addr, "/compat/chat/completions", &[], &json!({})).await
    });
    mock.wait_for_requests(1, Duration::from_secs(2)).await;
    drop(mock);
    let r = tokio::time::timeout(Duration::from_secs(5), hanging)
        .await
        .expect("hang ended")
        .unwrap();
    assert!(!r.complete);
    let refused = wait_until(
        || std::net::TcpStream::connect(addr).is_err(),
        Duration::from_secs(5),
    )
    .await;
    assert!(refused, "the port should be closed after drop");
}

#[tokio::test]
async fn leaving_mid_stream_counts_as_a_disconnect() {
    let mock = MockUpstream::start().await;
    mock.script(
        vec![Step::reply(Reply::Ok(Kind::Text)).stall_ms(3_000)],
        Reply::Ok(Kind::Text),
    );
    let mut conn = open_claude(&mock, true).await;
    let (_, _, mut got) = common::read_head(&mut conn).await;
    while got.is_empty() {
        got = common::read_some(&mut conn).await;
    }
    assert!(String::from_utf8_lossy(&got).contains("message_start"));
    drop(conn);
    let seen = wait_until(
        || mock.requests()[0].client_disconnected(),
        Duration::from_secs(5),
    )
    .await;
    assert!(seen);
}
