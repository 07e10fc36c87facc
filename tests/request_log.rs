//! The request log over HTTP (`request-log: true`): `GET /v0/management/request-log-by-id/{id}` shows one
//! request's exchange with every key masked, behind the management key; a proxy with the log off keeps
//! no file.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use common::{chat_body, Harness, CLIENT_KEY};
use http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;
use switchyard::config::UsageConfig;
use switchyard::usage::request_log::{Capture, RequestLog};
use switchyard_mock::Family;

const KEY: &str = "test-management-key";

/// The baseline proxy with `KEY` as its management key, its databases in its temp dir, and the request
/// log on or off.
async fn proxy(request_log: bool) -> Harness {
    Harness::with_extra(&format!(
        "remote-management:\n  secret-key: {KEY}\nusage-database-path: usage.sqlite\n\
         request-log: {request_log}\n"
    ))
    .await
}

fn log_file(h: &Harness) -> PathBuf {
    h.dir.path().join("request-log.sqlite")
}

/// `GET request-log-by-id/{id}` with `key`: status, headers and JSON body (`null` when none).
async fn by_id(
    h: &Harness,
    id: &str,
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = h
        .http
        .get(h.url(&format!("/v0/management/request-log-by-id/{id}")));
    if let Some(key) = key {
        req = req.bearer_auth(key);
    }
    let resp = req.send().await.expect("the proxy answers");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Polls until the log of `id` is there (captures are written off the request path) and returns the
/// whole answer.
async fn logged(h: &Harness, id: &str) -> (reqwest::header::HeaderMap, Value) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, headers, body) = by_id(h, id, Some(KEY)).await;
        if status == 200 {
            return (headers, body);
        }
        assert_eq!(status, 404, "{body}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "no request log for {id} within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A Chat Completions request that must succeed: the id its answer names (`x-switchyard-request-id`),
/// the answer's content type and its body.
async fn chat(h: &Harness, body: Value) -> (String, String, String) {
    let resp = h.post("/v1/chat/completions", body).await;
    assert_eq!(resp.status(), 200);
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .unwrap_or_else(|| panic!("the answer has no {name}"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let (id, content_type) = (header("x-switchyard-request-id"), header("content-type"));
    (id, content_type, resp.text().await.unwrap())
}

/// A second writer on the proxy's request-log file, to put captures there without real traffic.
fn writer(database_dir: &Path) -> RequestLog {
    RequestLog::open(&UsageConfig {
        enabled: true,
        database: database_dir.join("usage.sqlite"),
        retention_days: 0,
        request_log: true,
        request_log_max_bytes: 16 << 20,
        metrics_key: None,
    })
}

fn capture() -> Capture {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_static("Bearer sy-secret-client-key"),
    );
    let mut c = Capture::default();
    c.request(
        &Method::POST,
        &"/v1/messages".parse().unwrap(),
        &headers,
        &Bytes::from_static(br#"{"model":"m","messages":[{"role":"user","content":"hello log"}]}"#),
    );
    let url = url::Url::parse("https://api.example/v1/messages").unwrap();
    let mut sent = HeaderMap::new();
    sent.insert(
        "x-api-key",
        HeaderValue::from_static("sk-ant-secret-upstream"),
    );
    c.attempt(
        "claude-api-key[1]",
        &Method::POST,
        &url,
        &sent,
        &Bytes::from_static(b"{}"),
    );
    c.attempt_answer(200, &HeaderMap::new(), None);
    c.response_head(200, &HeaderMap::new());
    c.response_body(b"{\"content\":[{\"type\":\"text\",\"text\":\"hi back\"}]}");
    c
}

#[tokio::test]
async fn a_logged_request_is_shown_by_id() {
    let h = proxy(true).await;
    let log = writer(h.dir.path());
    log.record("0193abc-def_1", Box::new(capture()));
    let (headers, body) = logged(&h, "0193abc-def_1").await;
    assert_eq!(body["request_id"], "0193abc-def_1");
    let log = &body["log"];
    assert!(log["request"]["body"]
        .as_str()
        .unwrap()
        .contains("hello log"));
    assert_eq!(
        log["request"]["headers"][0],
        serde_json::json!(["authorization", "Bearer ***(20 chars)"])
    );
    assert_eq!(log["attempts"][0]["credential"], "claude-api-key[1]");
    assert_eq!(log["attempts"][0]["response"]["status"], 200);
    assert!(log["response"]["body"]
        .as_str()
        .unwrap()
        .contains("hi back"));
    let text = body.to_string();
    assert!(!text.contains("sy-secret-client-key") && !text.contains("sk-ant-secret-upstream"));
    // Prompts are the user's: no cache keeps them.
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn unknown_and_malformed_ids_are_told_apart() {
    let h = proxy(true).await;
    let (status, _, body) = by_id(&h, "0123456789abcdef", Some(KEY)).await;
    assert_eq!(status, 404);
    assert_eq!(
        body["error"],
        "no request log for that id: request-log is off or it was rotated out"
    );
    for bad in ["a.b", "a%20b", "%C3%BC", &"a".repeat(65)] {
        let (status, _, body) = by_id(&h, bad, Some(KEY)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains("1 to 64"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_request_log_wants_the_management_key() {
    let h = proxy(true).await;
    let log = writer(h.dir.path());
    log.record("guarded", Box::new(capture()));
    logged(&h, "guarded").await;
    assert_eq!(by_id(&h, "guarded", None).await.0, 401);
    assert_eq!(by_id(&h, "guarded", Some(CLIENT_KEY)).await.0, 401);
}

#[tokio::test]
async fn with_the_log_off_no_file_is_kept() {
    let h = proxy(false).await;
    let (id, _, _) = chat(&h, chat_body("compat-gpt-4o", false)).await;
    assert_eq!(by_id(&h, &id, Some(KEY)).await.0, 404);
    assert!(!log_file(&h).exists(), "request-log off created its file");
}

/// A real request through the proxy is logged under the id its answer names, with every key masked.
#[tokio::test]
async fn real_requests_are_logged_masked() {
    let h = proxy(true).await;
    let sent = chat_body("compat-gpt-4o", false);
    let (id, _, answer) = chat(&h, sent.clone()).await;
    let (_, body) = logged(&h, &id).await;
    let text = body.to_string();
    for secret in [CLIENT_KEY, "sk-compat-1", "sk-compat-2", "sk-claude-1"] {
        assert!(
            !text.contains(secret),
            "{secret} in the request log: {text}"
        );
    }
    let log = &body["log"];
    let request: Value = serde_json::from_str(log["request"]["body"].as_str().unwrap()).unwrap();
    assert_eq!(request, sent, "the client's request body");
    let attempt = &log["attempts"][0];
    let upstream = attempt["request"]["url"].as_str().unwrap();
    let compat = h.mock.base_url(Family::Compat);
    assert!(
        upstream.starts_with(&compat) && upstream.ends_with("/chat/completions"),
        "{upstream}"
    );
    assert_eq!(attempt["response"]["status"], 200);
    assert_eq!(log["response"]["status"], 200);
    assert_eq!(
        log["response"]["body"],
        answer.as_str(),
        "the answer as the client got it"
    );
    let auth = log["request"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "authorization")
        .expect("the client's authorization header, masked");
    assert_eq!(auth[1], format!("Bearer ***({} chars)", CLIENT_KEY.len()));
}

/// A translated answer is logged with the head the client got, not the upstream's: a Chat Completions
/// client asking for a whole answer from Codex (which always streams upstream) gets JSON, while the
/// attempt shows the upstream's event stream.
#[tokio::test]
async fn translated_answers_are_logged_with_the_clients_head() {
    let h = proxy(true).await;
    let (id, client_type, answer) = chat(&h, chat_body("gpt-5-codex", false)).await;
    let (_, body) = logged(&h, &id).await;
    let log = &body["log"];
    let header = |exchange: &Value, name: &str| {
        exchange["headers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h[0] == name)
            .map(|h| h[1].as_str().unwrap().to_string())
    };
    assert_eq!(client_type, "application/json");
    assert_eq!(
        header(&log["response"], "content-type").as_deref(),
        Some("application/json"),
        "{log}"
    );
    assert_eq!(
        header(&log["attempts"][0]["response"], "content-type").as_deref(),
        Some("text/event-stream"),
        "{log}"
    );
    assert_eq!(log["response"]["body"], answer.as_str());
}
