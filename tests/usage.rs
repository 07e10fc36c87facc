//! Usage history end to end: real requests through the proxy to the mock upstream, read back from the
//! SQLite file the config names — every format with its tokens, failovers and errors, the runtime switch,
//! 10,000 requests with nothing lost, and a `kill -9` in the middle of writing.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{chat_body, messages_body, upstream_error, Harness, CLIENT_KEY};
use serde_json::{json, Value};
use switchyard::usage::{client_key_label, EventQuery, UsageEvent, UsageStore};
use switchyard_mock::{Kind, Reply};

const REQUEST_ID: &str = "x-switchyard-request-id";

fn db_path(h: &Harness) -> PathBuf {
    h.dir.path().join("usage.sqlite")
}

/// Every event in the database, oldest first.
fn all_events(path: &Path) -> Vec<UsageEvent> {
    let store = UsageStore::open(path).expect("usage database opens");
    let mut events = store
        .events(&EventQuery {
            limit: 1000,
            ..EventQuery::default()
        })
        .expect("events read");
    events.reverse();
    events
}

fn count(path: &Path) -> u64 {
    UsageStore::open(path)
        .and_then(|s| s.count())
        .expect("count")
}

/// Waits for the writer (it commits every 200 ms) until `n` events are stored.
async fn wait_for_count(path: &Path, n: u64) -> u64 {
    let mut seen = 0;
    for _ in 0..300 {
        seen = count(path);
        if seen >= n {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    seen
}

/// The event of the request whose answer carried `id`.
async fn event_for(h: &Harness, id: &str) -> UsageEvent {
    for _ in 0..300 {
        if let Ok(Some(e)) = UsageStore::open(&db_path(h)).and_then(|s| s.get(id)) {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no usage event for request {id}");
}

/// Sends `body` to `path`, reads the whole answer, and returns its request id with the status.
async fn send(h: &Harness, path: &str, body: Value) -> (String, u16) {
    let resp = h.post(path, body).await;
    let status = resp.status().as_u16();
    let id = resp
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .expect("every proxied answer names its request")
        .to_string();
    let _ = resp.bytes().await.expect("the answer arrives whole");
    (id, status)
}

#[tokio::test]
async fn every_format_and_path_is_recorded_with_its_tokens() {
    let h = Harness::start().await;
    let gemini = |stream: bool| {
        let method = if stream {
            "streamGenerateContent"
        } else {
            "generateContent"
        };
        format!("/v1beta/models/gemini-2.5-pro:{method}")
    };
    let contents = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let responses = |stream: bool| json!({"model": "gpt-5-codex", "input": "hi", "stream": stream});
    // (path, body, client format, provider, stream)
    let cases: Vec<(String, Value, &str, &str, bool)> = vec![
        // Passthrough, JSON and streamed.
        (
            "/v1/chat/completions".into(),
            chat_body("compat-gpt-4o", false),
            "openai-chat",
            "openai-compatible",
            false,
        ),
        (
            "/v1/chat/completions".into(),
            chat_body("compat-gpt-4o", true),
            "openai-chat",
            "openai-compatible",
            true,
        ),
        (
            "/v1/messages".into(),
            messages_body("claude-sonnet-4-5-20250929", 64, false),
            "anthropic",
            "claude",
            false,
        ),
        (
            "/v1/messages".into(),
            messages_body("claude-sonnet-4-5-20250929", 64, true),
            "anthropic",
            "claude",
            true,
        ),
        (
            "/v1/responses".into(),
            responses(false),
            "openai-responses",
            "codex",
            false,
        ),
        (
            "/v1/responses".into(),
            responses(true),
            "openai-responses",
            "codex",
            true,
        ),
        (gemini(false), contents.clone(), "gemini", "gemini", false),
        (
            format!("{}?alt=sse", gemini(true)),
            contents.clone(),
            "gemini",
            "gemini",
            true,
        ),
        (gemini(true), contents.clone(), "gemini", "gemini", true),
        // Translated, JSON and streamed.
        (
            "/v1/chat/completions".into(),
            chat_body("claude-sonnet-4-5-20250929", false),
            "openai-chat",
            "claude",
            false,
        ),
        (
            "/v1/chat/completions".into(),
            chat_body("claude-sonnet-4-5-20250929", true),
            "openai-chat",
            "claude",
            true,
        ),
        (
            "/v1/messages".into(),
            messages_body("gemini-2.5-pro", 64, true),
            "anthropic",
            "gemini",
            true,
        ),
        (
            "/v1/messages".into(),
            messages_body("gpt-5-codex", 64, false),
            "anthropic",
            "codex",
            false,
        ),
    ];
    for (path, body, format, provider, stream) in cases {
        let (id, status) = send(&h, &path, body).await;
        assert_eq!(status, 200, "{path}");
        let e = event_for(&h, &id).await;
        let what = format!("{path} → {provider}: {e:?}");
        assert_eq!(e.format, format, "{what}");
        assert_eq!(e.provider.as_deref(), Some(provider), "{what}");
        assert_eq!(e.stream, stream, "{what}");
        assert_eq!(e.status, 200, "{what}");
        assert_eq!(e.error_class, None, "{what}");
        // The mock reports 11 prompt and 7 completion tokens in every format.
        assert_eq!((e.input_tokens, e.output_tokens), (11, 7), "{what}");
        assert_eq!(
            e.client_key.as_deref(),
            Some(client_key_label(CLIENT_KEY).as_str())
        );
        assert!(
            e.credential.is_some() && e.upstream_model.is_some(),
            "{what}"
        );
        let ttfb = e.ttfb_ms.expect("a committed answer has a first byte");
        assert!(ttfb <= e.latency_ms, "{what}");
        assert_eq!((e.retries, e.failovers), (0, 0), "{what}");
    }
    // Nothing of the client key is stored, only its label.
    let bytes = std::fs::read(db_path(&h)).unwrap();
    let wal = std::fs::read(db_path(&h).with_extension("sqlite-wal")).unwrap_or_default();
    for file in [&bytes, &wal] {
        assert!(
            !file
                .windows(CLIENT_KEY.len())
                .any(|w| w == CLIENT_KEY.as_bytes()),
            "the raw client key is in the usage database"
        );
    }
}

#[tokio::test]
async fn cached_and_reasoning_tokens_are_told_apart() {
    let h = Harness::start().await;
    h.mock.script(vec![], Reply::Ok(Kind::Cached));
    let (id, _) = send(
        &h,
        "/v1/messages",
        messages_body("claude-sonnet-4-5-20250929", 64, true),
    )
    .await;
    let e = event_for(&h, &id).await;
    // Claude counts cache reads (5) and writes (3) apart from `input_tokens` (11); usage adds them up.
    assert_eq!(
        (e.input_tokens, e.cached_tokens, e.output_tokens),
        (19, 5, 7)
    );
    h.mock.script(vec![], Reply::Ok(Kind::Thinking));
    let (id, _) = send(
        &h,
        "/v1/chat/completions",
        chat_body("compat-reason", false),
    )
    .await;
    let e = event_for(&h, &id).await;
    assert!(e.reasoning_tokens > 0, "{e:?}");
}

#[tokio::test]
async fn failovers_and_errors_are_recorded_with_their_class() {
    let h = Harness::start().await;
    // The first key fails with a 500; the proxy moves to the second.
    let mut once = upstream_error(500);
    once.times = Some(1);
    h.script_then_text(vec![once]);
    let (id, status) = send(
        &h,
        "/v1/messages",
        messages_body("claude-sonnet-4-5-20250929", 64, false),
    )
    .await;
    assert_eq!(status, 200);
    let e = event_for(&h, &id).await;
    assert_eq!((e.retries, e.failovers, e.status), (1, 1, 200), "{e:?}");

    // A request the upstream refuses: its status and class, no tokens.
    h.mock.script(
        vec![],
        Reply::Error {
            status: 400,
            body: None,
        },
    );
    let (id, status) = send(
        &h,
        "/v1/messages",
        messages_body("claude-sonnet-4-5-20250929", 64, false),
    )
    .await;
    assert_eq!(status, 400);
    let e = event_for(&h, &id).await;
    assert_eq!(e.error_class.as_deref(), Some("upstream_rejected"), "{e:?}");
    assert_eq!((e.status, e.input_tokens), (400, 0));

    // A model nobody serves.
    let (id, status) = send(
        &h,
        "/v1/chat/completions",
        chat_body("no-such-model", false),
    )
    .await;
    assert_eq!(status, 404);
    let e = event_for(&h, &id).await;
    assert_eq!(e.error_class.as_deref(), Some("unknown_model"));
    assert_eq!(e.provider, None);

    // A stream the upstream cuts mid-way.
    h.cut_streams_after(3);
    let (id, _) = send(&h, "/v1/chat/completions", chat_body("compat-gpt-4o", true)).await;
    let e = event_for(&h, &id).await;
    assert_eq!(e.error_class.as_deref(), Some("stream_broken"), "{e:?}");
}

#[tokio::test]
async fn recording_stops_and_resumes_with_the_config_switch() {
    let h = Harness::start().await;
    let path = db_path(&h);
    send(
        &h,
        "/v1/chat/completions",
        chat_body("compat-gpt-4o", false),
    )
    .await;
    assert_eq!(wait_for_count(&path, 1).await, 1);

    let base = std::fs::read_to_string(h.config_path()).unwrap();
    let off = format!("{base}\nusage-statistics-enabled: false\n");
    h.rewrite_config(&off, "compat-gpt-4o", true).await;
    // The reload is picked up within a second; give it a moment to swap.
    wait_until_reloaded(&h, false).await;
    for _ in 0..5 {
        send(
            &h,
            "/v1/chat/completions",
            chat_body("compat-gpt-4o", false),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        count(&path),
        1,
        "nothing is recorded while recording is off"
    );

    h.rewrite_config(&base, "compat-gpt-4o", true).await;
    wait_until_reloaded(&h, true).await;
    send(
        &h,
        "/v1/chat/completions",
        chat_body("compat-gpt-4o", false),
    )
    .await;
    assert_eq!(wait_for_count(&path, 2).await, 2);
}

async fn wait_until_reloaded(h: &Harness, enabled: bool) {
    for _ in 0..100 {
        if h.proxy().service().usage().enabled() == enabled {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the config switch was not applied");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_requests_are_all_recorded() {
    let h = std::sync::Arc::new(Harness::start().await);
    let path = db_path(&h);
    const TOTAL: usize = 10_000;
    const WORKERS: usize = 32;
    let mut tasks = Vec::new();
    for w in 0..WORKERS {
        let h = h.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = 0;
            for _ in (w..TOTAL).step_by(WORKERS) {
                let resp = h
                    .post("/v1/chat/completions", chat_body("compat-gpt-4o", false))
                    .await;
                if resp.status().is_success() && resp.bytes().await.is_ok() {
                    ok += 1;
                }
            }
            ok
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += t.await.unwrap();
    }
    assert_eq!(ok, TOTAL);
    assert_eq!(wait_for_count(&path, TOTAL as u64).await, TOTAL as u64);
    let usage = h.proxy().service().usage().clone();
    let counters = usage.counters().expect("the database is open");
    assert_eq!(
        counters.dropped.load(std::sync::atomic::Ordering::Relaxed),
        0,
        "below the cap nothing is dropped"
    );
}

/// `switchyard serve` on `config`, with the URL it listens on.
async fn serve(config: &Path) -> (tokio::process::Child, String) {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["serve", "--config"])
        .arg(config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("switchyard serve starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        while let Some(line) = lines.next_line().await.expect("stdout reads") {
            if let Some(url) = line.strip_prefix("Switchyard listening on ") {
                return url
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
            }
        }
        panic!("switchyard serve ended before listening");
    })
    .await
    .expect("listening within 20 s");
    // Keep reading stdout so the process never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

async fn chat_at(http: &reqwest::Client, url: &str) -> bool {
    let sent = http
        .post(format!("{url}/v1/chat/completions"))
        .bearer_auth(CLIENT_KEY)
        .json(&chat_body("compat-gpt-4o", false))
        .send()
        .await;
    match sent {
        Ok(resp) => resp.status().is_success() && resp.bytes().await.is_ok(),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_while_writing_leaves_a_sound_database_that_keeps_growing() {
    let mock = switchyard_mock::MockUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        common::baseline_yaml(&mock, "usage-database-path: usage.sqlite\n"),
    )
    .unwrap();
    let db = dir.path().join("usage.sqlite");
    let (mut child, url) = serve(&config).await;
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut load = Vec::new();
    for _ in 0..8 {
        let (http, url, stop) = (http.clone(), url.clone(), stop.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                chat_at(&http, &url).await;
            }
        }));
    }
    // Kill it in the middle of the traffic, once several batches are on disk.
    let before = wait_for_count(&db, 500).await;
    assert!(
        before >= 500,
        "only {before} events were written under load"
    );
    child.start_kill().expect("SIGKILL is sent");
    child.wait().await.unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for t in load {
        t.await.unwrap();
    }

    let store = UsageStore::open(&db).expect("the database opens after a kill -9");
    assert_eq!(store.integrity_check().unwrap(), "ok");
    let after_kill = store.count().unwrap();
    assert!(
        after_kill >= before,
        "committed events were lost: {before} seen, {after_kill} after the kill"
    );
    let events = all_events(&db);
    assert!(events
        .iter()
        .all(|e| e.status == 200 && e.input_tokens == 11));
    drop(store);

    // The next run opens the same file and carries on.
    let (mut child, url) = serve(&config).await;
    for _ in 0..5 {
        assert!(chat_at(&http, &url).await);
    }
    assert_eq!(wait_for_count(&db, after_kill + 5).await, after_kill + 5);
    child.start_kill().unwrap();
    child.wait().await.unwrap();
}

#[tokio::test]
async fn a_graceful_shutdown_writes_the_last_events_first() {
    let mut h = Harness::start().await;
    let path = db_path(&h);
    for _ in 0..20 {
        send(
            &h,
            "/v1/chat/completions",
            chat_body("compat-gpt-4o", false),
        )
        .await;
    }
    h.proxy.take().expect("running").shutdown().await;
    assert_eq!(count(&path), 20, "the writer's pending batch was lost");
}
