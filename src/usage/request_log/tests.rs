//! The request log as a whole: what a capture keeps, how the file stays under its cap, and that it
//! survives a kill and refuses a newer schema.

use std::path::Path;
use std::time::Duration;

use http::{HeaderMap, HeaderValue};
use rand::distr::{Alphanumeric, SampleString};

use super::store::{Entry, LogError, LogStore};
use super::*;

const CLIENT_KEY: &str = "sy-client-key-0123456789abcdef";
const UPSTREAM_KEY: &str = "sk-ant-api03-upstream-secret-xyz";

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    map
}

/// A chat request through the proxy to a Gemini upstream, with keys everywhere they travel.
fn chat_capture(prompt: &str, answer: &str) -> Capture {
    let mut c = Capture::default();
    let body = serde_json::json!({"model": "m", "stream": true,
        "messages": [{"role": "user", "content": prompt}]});
    c.request(
        &Method::POST,
        &"/v1/chat/completions?key=sy-client-key-0123456789abcdef"
            .parse()
            .unwrap(),
        &headers(&[
            ("authorization", &format!("Bearer {CLIENT_KEY}")),
            ("content-type", "application/json"),
        ]),
        &Bytes::from(body.to_string()),
    );
    let url = url::Url::parse(&format!(
        "https://upstream.example/v1beta/models/m:streamGenerateContent?alt=sse&key={UPSTREAM_KEY}"
    ))
    .unwrap();
    c.attempt(
        "gemini-api-key[1]",
        &Method::POST,
        &url,
        &headers(&[("x-goog-api-key", UPSTREAM_KEY)]),
        &Bytes::from(body.to_string()),
    );
    c.attempt_answer(
        200,
        &headers(&[("set-cookie", "sid=upstream-session")]),
        None,
    );
    c.response_head(200, &headers(&[("content-type", "text/event-stream")]));
    for word in answer.split_inclusive(' ') {
        let event = serde_json::json!({"choices": [{"delta": {"content": word}}]});
        c.response_body(format!("data: {event}\n\n").as_bytes());
    }
    c
}

#[test]
fn a_capture_keeps_the_exchange_and_no_key() {
    let mut c = chat_capture("hello there", "general kenobi");
    c.finish();
    let json = serde_json::to_string(&c).unwrap();
    for secret in [CLIENT_KEY, UPSTREAM_KEY, "upstream-session"] {
        assert!(!json.contains(secret), "{secret} in {json}");
    }
    assert_eq!(
        c.request.headers[0],
        (
            "authorization".to_string(),
            format!("Bearer ***({} chars)", CLIENT_KEY.len())
        )
    );
    assert!(c.request.body.contains("hello there"));
    assert_eq!(c.request.method.as_deref(), Some("POST"));
    let attempt = &c.attempts[0];
    assert_eq!(attempt.credential, "gemini-api-key[1]");
    assert!(attempt
        .request
        .url
        .as_deref()
        .unwrap()
        .contains("alt=sse&key=***("));
    assert_eq!(attempt.response.status, Some(200));
    assert!(c.response.body.contains("kenobi"));
    assert_eq!(c.response.status, Some(200));
}

#[test]
fn bodies_are_capped_per_exchange() {
    let mut c = Capture::default();
    let big = vec![b'a'; BODY_CAP + 10];
    c.request(
        &Method::POST,
        &"/v1/messages".parse().unwrap(),
        &HeaderMap::new(),
        &Bytes::from(big),
    );
    assert_eq!(c.request.body.len(), BODY_CAP);
    assert!(c.request.truncated);
    for _ in 0..3 {
        c.response_body(&vec![b'b'; BODY_CAP / 2]);
    }
    assert_eq!(c.response.body.len(), BODY_CAP);
    assert!(c.response.truncated);
    // Invalid bytes become replacement characters, which are longer: the cap still holds.
    let mut e = Exchange::default();
    e.set_body(&vec![0xff; BODY_CAP]);
    assert!(e.body.len() <= BODY_CAP && e.truncated);
}

#[test]
fn a_character_split_across_chunks_survives() {
    let mut c = Capture::default();
    let text = "naïve 🦀 text";
    let bytes = text.as_bytes();
    // Cut inside the crab (4 bytes) and inside the ï (2 bytes).
    let crab = text.find('🦀').unwrap();
    c.response_body(&bytes[..3]);
    c.response_body(&bytes[3..crab + 2]);
    c.response_body(&bytes[crab + 2..]);
    c.finish();
    assert_eq!(c.response.body, text);
    // A character never completed is replaced, not lost silently.
    let mut c = Capture::default();
    c.response_body(&bytes[..crab + 1]);
    c.finish();
    assert_eq!(c.response.body, "naïve \u{FFFD}");
}

fn entry(id: &str, capture: Capture) -> Entry {
    Entry {
        request_id: id.to_string(),
        time_ms: 0,
        capture: Box::new(capture),
    }
}

/// A capture whose bodies are `n` random characters (compress about as badly as text can).
fn noisy_capture(n: usize) -> Capture {
    let noise = Alphanumeric.sample_string(&mut rand::rng(), n);
    chat_capture(&noise, "ok")
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[test]
fn the_file_stays_under_its_cap_and_keeps_the_newest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut store = LogStore::open(&path).unwrap();
    let cap = 1 << 20;
    // 10 MB of capture bodies in batches of 20, rotating after each as the writer does.
    let mut id = 0;
    let mut deleted = 0;
    for _ in 0..25 {
        let batch: Vec<Entry> = (0..20)
            .map(|_| {
                id += 1;
                entry(&format!("req-{id}"), noisy_capture(10_000))
            })
            .collect();
        store.insert(&batch).unwrap();
        deleted += store.rotate(cap).unwrap();
        // The database, checkpointed or not, and the main file; the WAL is truncated by each rotation.
        assert!(store.used_bytes().unwrap() <= cap);
        assert!(file_size(&path) <= cap, "file {} > cap", file_size(&path));
    }
    let (rows, stored) = store.rows();
    assert!(stored < cap, "{stored}");
    assert_eq!(rows + deleted as u64, 500);
    assert!(
        store.get("req-500").unwrap().is_some(),
        "the newest is kept"
    );
    assert!(
        store.get("req-1").unwrap().is_none(),
        "the oldest went first"
    );
    eprintln!(
        "rotation: 500 captures of ~{} stored bytes each, cap {cap}: {rows} kept, {stored} bytes in rows, \
         file {} bytes",
        stored / rows.max(1),
        file_size(&path)
    );
}

#[test]
fn a_cap_of_zero_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LogStore::open(&dir.path().join(FILE_NAME)).unwrap();
    store.insert(&[entry("a", noisy_capture(5_000))]).unwrap();
    assert_eq!(store.rotate(0).unwrap(), 0);
    assert_eq!(store.rows().0, 1);
}

#[test]
fn what_a_kill_leaves_opens_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let mut store = LogStore::open(&path).unwrap();
    store
        .insert(&[entry("before-kill", chat_capture("x", "y"))])
        .unwrap();
    // No close and no checkpoint: the committed batch is only in the WAL, as after a kill -9.
    std::mem::forget(store);
    assert!(path.with_extension("sqlite-wal").exists());
    let store = LogStore::open(&path).unwrap();
    let got = store.get("before-kill").unwrap().unwrap();
    assert!(got.request.body.contains("\"x\""));
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    drop(LogStore::open(&path).unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    match LogStore::open(&path) {
        Err(LogError::TooNew { found: 99, .. }) => {}
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a newer schema was opened"),
    }
}

#[test]
fn captures_are_stored_deflated() {
    // A coding-agent-like request: a long system prompt, a file's content and a streamed answer.
    let source = include_str!("mask.rs");
    let mut c = chat_capture(source, &"The function hides credential values. ".repeat(40));
    c.finish();
    let json = serde_json::to_vec(&c).unwrap().len();
    let dir = tempfile::tempdir().unwrap();
    let mut store = LogStore::open(&dir.path().join(FILE_NAME)).unwrap();
    store.insert(&[entry("m", c.clone())]).unwrap();
    let (_, stored) = store.rows();
    eprintln!("a capture of {json} JSON bytes is stored in {stored} bytes");
    assert!(stored * 3 < json as u64, "{stored} of {json}");
    assert_eq!(store.get("m").unwrap().unwrap(), c);
}

fn config(dir: &Path, on: bool, max_bytes: u64) -> UsageConfig {
    UsageConfig {
        enabled: true,
        database: dir.join("usage.sqlite"),
        retention_days: 0,
        request_log: on,
        request_log_max_bytes: max_bytes,
        metrics_key: None,
    }
}

async fn until_logged(log: &RequestLog, id: &str) -> Capture {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(c) = log.get(id).await.unwrap() {
            return c;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} not written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_file_appears_only_once_logging_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(FILE_NAME);
    let log = RequestLog::open(&config(dir.path(), false, 1 << 20));
    assert!(!log.enabled());
    log.record("off", Box::new(chat_capture("a", "b")));
    assert_eq!(log.get("off").await.unwrap(), None);
    assert!(!file.exists(), "request-log off created the file");

    log.reconfigure(&config(dir.path(), true, 1 << 20));
    assert!(log.enabled());
    log.record("on", Box::new(chat_capture("hello", "world")));
    let got = until_logged(&log, "on").await;
    assert!(got.response.body.contains("world"));
    assert!(file.exists());

    log.reconfigure(&config(dir.path(), false, 1 << 20));
    log.record("off-again", Box::new(chat_capture("a", "b")));
    assert!(!log.enabled());
    // Logs kept earlier stay readable.
    assert!(log.get("on").await.unwrap().is_some());
    assert_eq!(log.get("off-again").await.unwrap(), None);
}

#[tokio::test]
async fn an_earlier_runs_file_is_read_without_logging() {
    let dir = tempfile::tempdir().unwrap();
    let on = RequestLog::open(&config(dir.path(), true, 1 << 20));
    on.record("kept", Box::new(chat_capture("x", "y")));
    until_logged(&on, "kept").await;
    drop(on);
    let off = RequestLog::open(&config(dir.path(), false, 1 << 20));
    assert!(off.get("kept").await.unwrap().is_some());
    assert_eq!(off.get("missing").await.unwrap(), None);
}
