//! Subscription accounts end to end: a proxy runs with no keys at all, a person logs into Claude and
//! Codex with `switchyard login` (the browser step played against the mock OAuth server), and the proxy
//! picks the accounts up while running and serves every client format with them. Then what a month of
//! use brings: a token the upstream rejects, rate limits across several accounts, a restart, and
//! CLIProxyAPI files dropped into the auth dir.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cli::login_in_browser;
use common::{
    accounts_only_yaml, chat_body, messages_body, retry_after_secs, upstream_error, Harness,
};
use serde_json::{json, Value};
use switchyard_mock::MockIdentity;
use switchyard_mock::{Family, MockUpstream, Recorded, Step};

const CLAUDE_MODEL: &str = "claude-sonnet-4-5-20250929";
const CODEX_MODEL: &str = "gpt-5.1-codex";

struct Setup {
    h: Harness,
    auth: tempfile::TempDir,
    config: PathBuf,
}

async fn setup() -> Setup {
    let mock = MockUpstream::start().await;
    let auth = tempfile::tempdir().unwrap();
    let yaml = accounts_only_yaml(&mock, auth.path());
    let h = Harness::with_config(mock, &yaml).await;
    let config = h.config_path();
    Setup { h, auth, config }
}

/// The credential each upstream call presented, in order, from the `skip`-th call on.
fn bearers(h: &Harness, skip: usize) -> Vec<String> {
    h.mock
        .requests()
        .iter()
        .skip(skip)
        .map(|r| r.credential.clone().unwrap_or_default())
        .collect()
}

/// One Chat Completions request for `model`: its status and the credentials its upstream calls presented.
async fn chat_call(h: &Harness, model: &str) -> (u16, Vec<String>) {
    let skip = h.mock.requests().len();
    let status = h
        .post("/v1/chat/completions", chat_body(model, false))
        .await
        .status()
        .as_u16();
    (status, bearers(h, skip))
}

/// `switchyard <args…> --config <config>`, its stdout parsed as JSON. Waited for asynchronously: the
/// proxy and the mock it may talk to run on this test's runtime.
async fn cli_json(config: &Path, args: &[&str]) -> Value {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .await
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

fn last_request(h: &Harness) -> Recorded {
    h.mock.requests().pop().expect("an upstream request")
}

/// One request per client format for `model`, JSON and streamed; each must answer 200 with the mock's
/// text in the client's own shape.
async fn every_client_format(h: &Harness, model: &str) {
    for stream in [false, true] {
        let requests: [(String, Value); 4] = [
            ("/v1/chat/completions".into(), chat_body(model, stream)),
            ("/v1/messages".into(), messages_body(model, 256, stream)),
            (
                "/v1/responses".into(),
                json!({"model": model, "input": "hi", "stream": stream}),
            ),
            (
                if stream {
                    format!("/v1beta/models/{model}:streamGenerateContent?alt=sse")
                } else {
                    format!("/v1beta/models/{model}:generateContent")
                },
                json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
            ),
        ];
        for (path, body) in requests {
            let resp = h.post(&path, body).await;
            let status = resp.status();
            let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
            let text = resp.text().await.unwrap();
            assert_eq!(status, 200, "{model} {path} stream={stream}: {text}");
            assert_eq!(
                content_type.starts_with("text/event-stream"),
                stream,
                "{model} {path}: {content_type}"
            );
            assert!(
                text.contains("Hello from ") && text.contains("mock"),
                "{model} {path} stream={stream}: {text}"
            );
            if !stream {
                serde_json::from_str::<Value>(&text)
                    .unwrap_or_else(|e| panic!("{path}: not one JSON answer ({e}): {text}"));
            }
        }
    }
}

#[tokio::test]
async fn log_in_while_the_proxy_runs_and_use_both_accounts_from_every_client_format() {
    let s = setup().await;
    let h = &s.h;
    let before = h.listed_models().await;
    assert!(
        !before.iter().any(|m| m == CLAUDE_MODEL || m == CODEX_MODEL),
        "nothing serves these before a login: {before:?}"
    );
    let resp = h
        .post("/v1/chat/completions", chat_body(CLAUDE_MODEL, false))
        .await;
    assert_eq!(resp.status(), 404, "unknown model before the login");
    assert!(
        !s.auth.path().join("switchyard").exists(),
        "a proxy without accounts writes nothing into the auth dir"
    );

    let out = login_in_browser(&s.config, "claude").await;
    assert!(
        out.contains("Added claude account claude-user@example.com"),
        "{out}"
    );
    let out = login_in_browser(&s.config, "codex").await;
    assert!(
        out.contains("Added codex account codex-user@example.com (plan plus)"),
        "{out}"
    );
    h.wait_for_model(CLAUDE_MODEL, true).await;
    h.wait_for_model(CODEX_MODEL, true).await;

    every_client_format(h, CLAUDE_MODEL).await;
    every_client_format(h, CODEX_MODEL).await;

    // What the Claude account's calls looked like upstream.
    let calls = h.mock.requests();
    let claude: Vec<&Recorded> = calls
        .iter()
        .filter(|r| r.family == Family::Claude)
        .collect();
    assert_eq!(claude.len(), 8, "one upstream call per client request");
    for r in &claude {
        assert_eq!(r.path, "/v1/messages");
        assert!(r.query.split('&').any(|p| p == "beta=true"), "{}", r.query);
        let token = r.credential.as_deref().unwrap_or_default();
        assert!(
            r.header("authorization") == Some(&format!("Bearer {token}")) && !token.is_empty(),
            "Bearer access token"
        );
        assert!(r.header("x-api-key").is_none());
        assert!(
            r.header("anthropic-beta")
                .is_some_and(|b| b.contains("oauth-2025-04-20")),
            "{:?}",
            r.header("anthropic-beta")
        );
        assert_eq!(
            r.body["system"][0]["text"],
            "You are Claude Code, Anthropic's official CLI for Claude."
        );
    }
    // The Codex account's: the backend's headers and a body it accepts, even for JSON clients.
    let codex: Vec<&Recorded> = calls.iter().filter(|r| r.family == Family::Codex).collect();
    assert_eq!(codex.len(), 8);
    for r in &codex {
        assert_eq!(r.path, "/responses");
        assert_eq!(r.header("chatgpt-account-id"), Some("ws-codex-0001"));
        assert_eq!(r.header("originator"), Some("codex-tui"));
        assert_eq!(r.header("accept"), Some("text/event-stream"));
        assert_eq!(r.body["stream"], true, "the backend only streams");
        assert_eq!(r.body["store"], false);
        assert!(r.body["instructions"].is_string());
        assert!(r.body["include"]
            .as_array()
            .is_some_and(|i| i.iter().any(|v| v == "reasoning.encrypted_content")));
        let key = r.body["prompt_cache_key"].as_str().expect("a cache key");
        assert_eq!(r.header("session_id"), Some(key));
    }

    // Claude Code itself passes through untouched, its own system prompt first.
    let resp = h
        .post_with(
            "/v1/messages?beta=true",
            &[
                ("user-agent", "claude-cli/2.1.197 (external, cli)"),
                ("anthropic-beta", "claude-code-20250219"),
            ],
            json!({"model": CLAUDE_MODEL, "max_tokens": 64, "system": "custom",
                "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let r = last_request(h);
    assert_eq!(r.body["system"], "custom");
    assert_eq!(
        r.header("anthropic-beta"),
        Some("claude-code-20250219,oauth-2025-04-20")
    );
    assert_eq!(
        r.header("user-agent"),
        Some("claude-cli/2.1.197 (external, cli)")
    );

    // A Codex CLI request keeps its own cache key, session and originator.
    let resp = h
        .post_with(
            "/v1/responses",
            &[("originator", "codex_cli_rs"), ("session_id", "sess-1")],
            json!({"model": CODEX_MODEL, "input": "hi", "stream": true,
                "prompt_cache_key": "sess-1", "instructions": "be brief"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let r = last_request(h);
    assert_eq!(r.header("originator"), Some("codex_cli_rs"));
    assert_eq!(r.header("session_id"), Some("sess-1"));
    assert_eq!(r.body["prompt_cache_key"], "sess-1");
    assert_eq!(r.body["instructions"], "be brief");

    // Settings changed from the CLI apply to the running proxy.
    let account = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
            .arg("account")
            .args(args)
            .arg("--config")
            .arg(&s.config)
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let shown = account(&[
        "claude-user@example.com",
        "--prefix",
        "team",
        "--label",
        "Work",
    ]);
    assert!(
        shown.contains("prefix    team") && shown.contains("label     Work"),
        "{shown}"
    );
    let prefixed = format!("team/{CLAUDE_MODEL}");
    h.wait_for_model(&prefixed, true).await;
    let resp = h
        .post("/v1/messages", messages_body(&prefixed, 64, false))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(last_request(h).body["model"], CLAUDE_MODEL);
    account(&["claude-user@example.com", "--disable"]);
    h.wait_for_model(CLAUDE_MODEL, false).await;
    account(&["claude-user@example.com", "--enable"]);
    h.wait_for_model(CLAUDE_MODEL, true).await;

    // Logging out stops the account serving, without a restart.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(["logout", "claude-user@example.com", "--config"])
        .arg(&s.config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    h.wait_for_model(CLAUDE_MODEL, false).await;
    assert!(h.listed_models().await.iter().any(|m| m == CODEX_MODEL));
}

/// Stops `s`'s proxy and starts a new one on the same config and auth dir, with the same mock.
async fn restart(s: &mut Setup) {
    s.h.proxy.take().expect("running").shutdown().await;
    let yaml = std::fs::read_to_string(&s.config).unwrap();
    let mock = std::mem::replace(&mut s.h.mock, MockUpstream::start().await);
    s.h = Harness::with_config(mock, &yaml).await;
    s.config = s.h.config_path();
}

/// Every account in the list was last refreshed a day ago, as after a day of use; with `expires_in`, its
/// access token also expires that far from now.
fn age_accounts(auth: &Path, expires_in: Option<Duration>) {
    let path = auth.join("switchyard/accounts.json");
    let mut list: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let now = std::time::SystemTime::now();
    let rfc3339 = |t| Value::from(humantime::format_rfc3339_seconds(t).to_string());
    let yesterday = rfc3339(now - Duration::from_secs(24 * 3600));
    let expiry = expires_in.map(|d| rfc3339(now + d));
    fn walk(v: &mut Value, set: &dyn Fn(&str) -> Option<Value>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    match set(k) {
                        Some(new) => *v = new,
                        None => walk(v, set),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, set)),
            _ => {}
        }
    }
    walk(&mut list, &|key| match key {
        "last_refresh" => Some(yesterday.clone()),
        "expires_at" => expiry.clone(),
        _ => None,
    });
    std::fs::write(&path, serde_json::to_vec(&list).unwrap()).unwrap();
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_and_restarts_need_no_login() {
    let mut s = setup().await;
    login_in_browser(&s.config, "codex").await;
    s.h.wait_for_model(CODEX_MODEL, true).await;
    let (status, sent) = chat_call(&s.h, CODEX_MODEL).await;
    assert_eq!(status, 200);
    let issued = sent[0].clone();

    // A day later, after a restart: the account serves from the first request, no login.
    age_accounts(s.auth.path(), None);
    restart(&mut s).await;
    let (status, sent) = chat_call(&s.h, CODEX_MODEL).await;
    assert_eq!(status, 200, "served right after the restart");
    assert_eq!(sent, std::slice::from_ref(&issued));

    // The upstream stops accepting the token (revoked, or expired early): one refresh, one resend.
    s.h.script_then_text(vec![upstream_error(401).times(1)]);
    let (status, sent) = chat_call(&s.h, CODEX_MODEL).await;
    assert_eq!(status, 200);
    assert_eq!(sent.len(), 2, "the rejected call and its resend");
    assert_eq!(sent[0], issued, "the old token went first");
    assert_ne!(sent[1], issued, "the resend carries the refreshed token");
    assert_eq!(s.h.mock.oauth().refresh_count(), 1);
    let refreshed = sent[1].clone();

    // The rotated pair was saved: the next process uses it without refreshing again.
    restart(&mut s).await;
    let (status, sent) = chat_call(&s.h, CODEX_MODEL).await;
    assert_eq!(status, 200);
    assert_eq!(sent, std::slice::from_ref(&refreshed));
    assert_eq!(s.h.mock.oauth().refresh_count(), 1, "no second refresh");

    // Its access token is about to expire: the next request refreshes first and never sends it.
    age_accounts(s.auth.path(), Some(Duration::from_secs(30)));
    restart(&mut s).await;
    let (status, sent) = chat_call(&s.h, CODEX_MODEL).await;
    assert_eq!(status, 200);
    assert_eq!(s.h.mock.oauth().refresh_count(), 2, "refreshed before use");
    assert_eq!(sent.len(), 1);
    assert_ne!(sent[0], refreshed, "the expiring token was not sent");
}

#[tokio::test]
async fn three_accounts_fail_over_cool_down_and_say_when_to_retry() {
    let s = setup().await;
    let h = &s.h;
    for n in 1..=3 {
        h.mock.oauth().set_claude_identity(MockIdentity {
            email: format!("seat{n}@example.com"),
            account: format!("acc-{n}"),
            org_or_plan: "org-1".into(),
        });
        let out = login_in_browser(&s.config, "claude").await;
        assert!(out.contains(&format!("seat{n}@example.com")), "{out}");
    }
    h.wait_for_model(CLAUDE_MODEL, true).await;
    // Wait until all three are routable: three distinct tokens answer in turn.
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let skip = h.mock.requests().len();
        for _ in 0..3 {
            h.post("/v1/messages", messages_body(CLAUDE_MODEL, 64, false))
                .await;
        }
        let mut seen = bearers(h, skip);
        seen.sort();
        seen.dedup();
        if seen.len() == 3 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "three accounts never served"
        );
    }

    // The first account hits its five-hour limit, the second has an outage: the third answers.
    h.script_then_text(vec![
        Step::reply(switchyard_mock::Reply::Error {
            status: 429,
            body: None,
        })
        .header("anthropic-ratelimit-unified-status", "rejected")
        .header("anthropic-ratelimit-unified-5h-status", "rejected")
        .header("anthropic-ratelimit-unified-reset", reset.to_string())
        .times(1),
        upstream_error(503).times(1),
    ]);
    let skip = h.mock.requests().len();
    let resp = h
        .post("/v1/messages", messages_body(CLAUDE_MODEL, 64, false))
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let tried = bearers(h, skip);
    assert_eq!(tried.len(), 3, "{tried:?}");
    let (limited, down, healthy) = (&tried[0], &tried[1], &tried[2]);
    assert!(limited != down && down != healthy && limited != healthy);

    // Both cool down for this model: the healthy account takes every request, straight away.
    for _ in 0..3 {
        let skip = h.mock.requests().len();
        let resp = h
            .post("/v1/messages", messages_body(CLAUDE_MODEL, 64, false))
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(bearers(h, skip), std::slice::from_ref(healthy));
    }

    // `switchyard accounts` shows who rests, why and until when …
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let resting = loop {
        let listed = cli_json(&s.config, &["accounts", "--json"]).await;
        let resting: Vec<Value> = listed
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|a| a["cooldowns"].as_array().cloned().unwrap_or_default())
            .collect();
        if resting.len() == 2 {
            break resting;
        }
        assert!(tokio::time::Instant::now() < deadline, "{listed}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let until = |r: &Value| {
        humantime::parse_rfc3339(r["until"].as_str().unwrap())
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
    };
    let limited_rest = resting.iter().find(|r| r["status"] == 429).expect("429");
    assert_eq!(limited_rest["model"], CLAUDE_MODEL);
    assert!(
        until(limited_rest).abs_diff(reset) <= 2,
        "the reset Anthropic named"
    );
    let down_rest = resting.iter().find(|r| r["status"] == 503).expect("503");
    assert!(until(down_rest) <= reset - 3000, "an outage rests a minute");

    // … and a restart remembers it: the healthy account still answers alone.
    let healthy = healthy.clone();
    let mut s = s;
    restart(&mut s).await;
    let h = &s.h;
    let skip = h.mock.requests().len();
    let resp = h
        .post("/v1/messages", messages_body(CLAUDE_MODEL, 64, false))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(bearers(h, skip), [healthy]);

    // The last one is rate limited too: nothing is left, and the client learns when to come back.
    h.script_then_text(vec![Step::reply(switchyard_mock::Reply::Error {
        status: 429,
        body: None,
    })
    .header("retry-after", "20")
    .times(1)]);
    let resp = h
        .post("/v1/messages", messages_body(CLAUDE_MODEL, 64, false))
        .await;
    assert_eq!(resp.status(), 429);
    let skip = h.mock.requests().len();
    let resp = h
        .post("/v1/messages", messages_body(CLAUDE_MODEL, 64, false))
        .await;
    assert_eq!(resp.status(), 429);
    let wait = retry_after_secs(&resp);
    assert!(
        (1..=20).contains(&wait),
        "the 503'd account is back within a minute, the others later: {wait}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["type"], "rate_limit_error", "{body}");
    assert!(
        bearers(h, skip).is_empty(),
        "no upstream call while all cool down"
    );
}

#[tokio::test]
async fn cliproxyapi_files_dropped_into_the_auth_dir_serve_until_removed() {
    let s = setup().await;
    let h = &s.h;
    let file = s.auth.path().join("claude-dropped@example.com.json");
    let expires = humantime::format_rfc3339_seconds(
        std::time::SystemTime::now() + Duration::from_secs(48 * 3600),
    );
    std::fs::write(
        &file,
        json!({"type": "claude", "email": "dropped@example.com",
            "access_token": "sk-ant-oat01-dropped", "refresh_token": "sk-ant-ort01-dropped",
            "expired": expires.to_string(), "last_refresh": expires.to_string()})
        .to_string(),
    )
    .unwrap();
    h.wait_for_model(CLAUDE_MODEL, true).await;
    let resp = h
        .post("/v1/messages", messages_body(CLAUDE_MODEL, 64, false))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        last_request(h).credential.as_deref(),
        Some("sk-ant-oat01-dropped")
    );

    std::fs::remove_file(&file).unwrap();
    h.wait_for_model(CLAUDE_MODEL, false).await;
}
