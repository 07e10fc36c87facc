//! The `switchyard-mock` binary: the one-line handshake and the control endpoints.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};

/// Kills the child even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn() -> (Running, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard-mock"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn switchyard-mock");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read handshake");
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("bad handshake {line:?}"));
    assert!(addr.starts_with("127.0.0.1:"), "{line:?}");
    (running, addr.parse().expect("socket address"))
}

#[tokio::test]
async fn control_script_and_log() {
    let (_child, addr) = spawn();
    let script = json!({
        "steps": [
            {"credential": "k1", "times": 1, "headers": [["retry-after", "2"]],
             "reply": {"error": {"status": 429, "body": null}}},
            {"chunking": "split", "headers": {"x-e2e-id": "a"}, "reply": {"stream_error": {"kind": "text", "after": 1}}}
        ],
        "fallback": "hang"
    });
    let r = common::post_json(addr, "/__control/script", &[], &script).await;
    assert_eq!(r.status, 200, "{}", r.text());

    let body = json!({"model": "gpt-x", "stream": true, "messages": []});
    let chat = || {
        common::post_json(
            addr,
            "/compat/chat/completions",
            &[("authorization", "Bearer k1")],
            &body,
        )
    };
    let r = chat().await;
    assert_eq!((r.status, r.header("retry-after")), (429, Some("2")));
    let r = chat().await;
    assert_eq!((r.status, r.header("x-e2e-id")), (200, Some("a")));
    assert!(r.chunks.len() >= 4, "split writes: {:?}", r.chunk_texts());
    assert!(r.text().ends_with("data: {\"error\":{\"message\":\"mock mid-stream error\",\"type\":\"server_error\",\"code\":\"server_error\"}}\n\n"));

    let log = common::send(addr, "GET", "/__control/log", &[], b"").await;
    let log: Value = serde_json::from_slice(&log.body()).expect("log JSON");
    let log = log.as_array().expect("array");
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["family"], "compat");
    assert_eq!(log[0]["method"], "POST");
    assert_eq!(log[0]["path"], "/chat/completions");
    assert_eq!(log[0]["query"], "");
    assert_eq!(log[0]["credential"], "k1");
    assert_eq!(log[0]["headers"]["authorization"], "Bearer k1");
    assert_eq!(log[0]["body"], body);
    assert_eq!(log[0]["client_disconnected"], false);

    // A new script clears the log; invalid scripts are refused and change nothing.
    let r = common::post_json(addr, "/__control/script", &[], &json!({"steps": []})).await;
    assert_eq!(r.status, 200);
    let r = common::post_json(
        addr,
        "/__control/script",
        &[],
        &json!({"steps": [{"reply": {"ok": "nope"}}]}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = common::post_json(
        addr,
        "/__control/script",
        &[],
        &json!({"fallback": {"error": {"status": 7}}}),
    )
    .await;
    assert_eq!(r.status, 400);
    let r = common::send(addr, "POST", "/__control/script", &[], b"garbage").await;
    assert_eq!(r.status, 400);
    let log = common::send(addr, "GET", "/__control/log", &[], b"").await;
    assert_eq!(log.text(), "[]");
    // Default fallback is Ok(text).
    let r = common::post_json(addr, "/anthropic/v1/messages", &[], &json!({"model": "m"})).await;
    let v: Value = serde_json::from_slice(&r.body()).unwrap();
    assert_eq!(v["content"][0]["text"], "Hello from mock");
}
