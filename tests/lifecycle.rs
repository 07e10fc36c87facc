//! The proxy over time: hot reload, graceful shutdown, upstream proxies, and the headless binary's commands.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{baseline_yaml, messages_body, sse_events, Harness, CLIENT_KEY};
use serde_json::json;
use switchyard_mock::{Family, Kind, MockUpstream, Reply, Step};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn stream_body() -> serde_json::Value {
    messages_body("claude-sonnet-4-5-20250929", 8, true)
}

#[tokio::test]
async fn a_good_edit_applies_to_new_requests_without_dropping_in_flight_ones() {
    let h = Harness::start().await;
    // A slow stream: the reload happens while it is in flight.
    h.mock.script(
        vec![Step::reply(Reply::Ok(Kind::Text)).stall_ms(2500)],
        Reply::Ok(Kind::Text),
    );
    let in_flight = h.post("/v1/messages", stream_body()).await;
    assert_eq!(in_flight.status(), 200);

    let new_entry = format!(
        "  - {{api-key: sk-new, base-url: '{}', models: [{{name: claude-opus-4-5-20251101, alias: opus}}]}}\n",
        h.mock.base_url(Family::Claude)
    );
    let yaml = baseline_yaml(&h.mock, "").replace(
        "  - api-key: sk-claude-2\n",
        &(new_entry + "  - api-key: sk-claude-2\n"),
    );
    h.rewrite_config(&yaml, "opus", true).await;

    let text = in_flight.text().await.unwrap();
    let events = sse_events(&text);
    assert_eq!(
        events.last().unwrap().0.as_deref(),
        Some("message_stop"),
        "in-flight stream completed: {text}"
    );

    let resp = h
        .post("/v1/messages", json!({"model": "opus", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}))
        .await;
    assert_eq!(resp.status(), 200);
    let up = h.mock.requests().pop().unwrap();
    assert_eq!(up.credential.as_deref(), Some("sk-new"));
    assert_eq!(up.body["model"], "claude-opus-4-5-20251101");
}

#[tokio::test]
async fn a_broken_edit_keeps_the_last_good_config() {
    let h = Harness::start().await;
    std::fs::write(h.config_path(), "port: [this is not\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let resp = h.post("/v1/messages", stream_body()).await;
    assert_eq!(resp.status(), 200, "still serving with the old config");
    // Then a good edit lands and is applied.
    let yaml = baseline_yaml(&h.mock, "").replace(
        "    models:\n      - {name: mock-gpt-4o, alias: compat-gpt-4o}",
        "    models:\n      - {name: mock-gpt-4o, alias: compat-renamed}",
    );
    h.rewrite_config(&yaml, "compat-renamed", true).await;
}

#[tokio::test]
async fn shutdown_lets_in_flight_streams_finish_and_refuses_new_connections() {
    let mut h = Harness::start().await;
    h.mock.script(
        vec![Step::reply(Reply::Ok(Kind::Text)).stall_ms(1500)],
        Reply::Ok(Kind::Text),
    );
    let in_flight = h.post("/v1/messages", stream_body()).await;
    let url = h.url("/healthz");
    let proxy = h.proxy.take().unwrap();
    let stopping = tokio::spawn(proxy.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        h.http.get(&url).send().await.is_err(),
        "new connections are refused while stopping"
    );
    let text = in_flight.text().await.unwrap();
    assert_eq!(
        sse_events(&text).last().unwrap().0.as_deref(),
        Some("message_stop")
    );
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .unwrap()
        .unwrap();
}

/// Accepts loopback connections and counts them; `connect` reads each one's handshake and opens the
/// connection to its target, and the two are then relayed both ways.
async fn counting_server<F, Fut>(connect: F) -> (std::net::SocketAddr, Arc<AtomicUsize>)
where
    F: Fn(tokio::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Option<(tokio::net::TcpStream, tokio::net::TcpStream)>>
        + Send
        + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let connected = connect(inbound);
            tokio::spawn(async move {
                if let Some((mut inbound, mut outbound)) = connected.await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, count)
}

/// A forwarding HTTP proxy that counts the connections it carries.
async fn counting_proxy() -> (String, Arc<AtomicUsize>) {
    let (addr, count) = counting_server(|mut inbound| async move {
        // Read the request head to learn the absolute-form target and pass it on.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            inbound.read_exact(&mut byte).await.ok()?;
            head.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&head).to_string();
        let url = url::Url::parse(text.split_whitespace().nth(1)?).ok()?;
        let host = format!("{}:{}", url.host_str()?, url.port().unwrap_or(80));
        let mut outbound = tokio::net::TcpStream::connect(host).await.ok()?;
        outbound.write_all(&head).await.ok()?;
        Some((inbound, outbound))
    })
    .await;
    (format!("http://{addr}"), count)
}

#[tokio::test]
async fn global_and_per_entry_proxy_urls_carry_upstream_traffic() {
    let (global, global_count) = counting_proxy().await;
    let (entry, entry_count) = counting_proxy().await;
    let mock = MockUpstream::start().await;
    let yaml = format!(
        "port: 0\nusage-database-path: usage.sqlite\napi-keys: [{CLIENT_KEY}]\nproxy-url: {global}\nclaude-api-key:\n  - {{api-key: sk-a, base-url: '{claude}'}}\ngemini-api-key:\n  - {{api-key: sk-g, base-url: '{gemini}', proxy-url: {entry}}}\n",
        claude = mock.base_url(Family::Claude),
        gemini = mock.base_url(Family::Gemini),
    );
    let h = Harness::with_config(mock, &yaml).await;
    assert_eq!(h.post("/v1/messages", stream_body()).await.status(), 200);
    assert_eq!(global_count.load(Ordering::SeqCst), 1);
    let resp = h
        .http
        .post(h.url("/v1beta/models/gemini-2.5-flash:generateContent"))
        .bearer_auth(CLIENT_KEY)
        .json(&json!({"contents": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        entry_count.load(Ordering::SeqCst),
        1,
        "the entry's own proxy wins"
    );
    assert_eq!(global_count.load(Ordering::SeqCst), 1);
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchyard"))
}

#[test]
fn config_check_prints_every_error_with_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "port: high\nrouting:\n  strategy: random\nprot: 1\n").unwrap();
    let out = bin().args(["config", "check"]).arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    let shown = path.display().to_string();
    assert!(
        stdout.contains(&format!("{shown}:1:7: error: `port` must be an integer")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{shown}:3:13: error: `routing.strategy`")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{shown}:4:1: warning: unknown key `prot`")),
        "{stdout}"
    );

    std::fs::write(
        &path,
        "claude-api-key: [{api-key: k, models: [{name: a, alias: b}]}]\n",
    )
    .unwrap();
    let out = bin().args(["config", "check"]).arg(&path).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("ok (1 credentials, 1 models"));

    let out = bin()
        .args(["models", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("b ") && l.contains("claude") && l.contains(" a ")),
        "{stdout}"
    );
}

#[cfg(unix)]
#[test]
fn first_run_creates_a_config_prints_the_key_once_and_stops_cleanly_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let run = || {
        bin()
            .arg("serve")
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // The first run uses the built-in default port; the second run's file is edited to use any free one.
    assert!(
        std::net::TcpListener::bind("127.0.0.1:8317").is_ok(),
        "this test needs 127.0.0.1:8317 free (the default port a first run listens on)"
    );
    let mut child = run();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Switchyard listening on") || line.contains("cannot listen");
        printed.push(line);
        if done {
            break;
        }
    }
    let config = home.path().join("config/switchyard/config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let key_line = printed
        .iter()
        .find(|l| l.contains("client key (shown once"))
        .expect("key printed");
    let key = key_line.rsplit(' ').next().unwrap();
    assert!(text.contains(key), "the printed key is the one in the file");
    assert!(text.contains("port: 8317") && text.contains("host: 127.0.0.1"));
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM exits 0: {status:?}");

    // The second run reuses the file and prints no key.
    std::fs::write(&config, text.replace("port: 8317", "port: 0")).unwrap();
    let mut child = run();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert!(
        first.starts_with("Switchyard listening on http://127.0.0.1:"),
        "{first}"
    );
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(child.wait().unwrap().success());
}

#[tokio::test]
async fn tls_serves_https_with_the_configured_certificate() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let mock = MockUpstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    // Relative paths resolve against the config file's folder.
    let yaml = format!(
        "port: 0\nusage-database-path: usage.sqlite\napi-keys: [{CLIENT_KEY}]\ntls: {{enable: true, cert: cert.pem, key: key.pem}}\nclaude-api-key:\n  - {{api-key: sk-a, base-url: '{}'}}\n",
        mock.base_url(Family::Claude)
    );
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    let proxy = switchyard::start(switchyard::StartOptions {
        config_path: Some(path),
        on_config: None,
    })
    .await
    .unwrap();
    assert!(proxy.base_url().starts_with("https://127.0.0.1:"));
    let client = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!(
        "https://localhost:{}/v1/messages",
        proxy.local_addr().port()
    );
    let resp = client
        .post(&url)
        .bearer_auth(CLIENT_KEY)
        .json(&stream_body())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        sse_events(&resp.text().await.unwrap())
            .last()
            .unwrap()
            .0
            .as_deref(),
        Some("message_stop")
    );
    // Plain HTTP on the TLS port does not get an answer.
    let plain = format!("http://127.0.0.1:{}/healthz", proxy.local_addr().port());
    let answered = reqwest::Client::new()
        .get(plain)
        .send()
        .await
        .map(|r| r.status().is_success());
    assert!(!matches!(answered, Ok(true)));
    proxy.shutdown().await;
}

/// A minimal SOCKS5 server (no auth, CONNECT only) that counts the connections it carries.
async fn counting_socks5() -> (String, Arc<AtomicUsize>) {
    let (addr, count) = counting_server(|mut inbound| async move {
        let mut greeting = [0u8; 2];
        inbound.read_exact(&mut greeting).await.ok()?;
        let mut methods = vec![0u8; greeting[1] as usize];
        inbound.read_exact(&mut methods).await.ok()?;
        inbound.write_all(&[5, 0]).await.ok()?;
        let mut head = [0u8; 4];
        inbound.read_exact(&mut head).await.ok()?;
        let host = match head[3] {
            1 => {
                let mut ip = [0u8; 4];
                inbound.read_exact(&mut ip).await.ok()?;
                std::net::Ipv4Addr::from(ip).to_string()
            }
            3 => {
                let mut len = [0u8; 1];
                inbound.read_exact(&mut len).await.ok()?;
                let mut name = vec![0u8; len[0] as usize];
                inbound.read_exact(&mut name).await.ok()?;
                String::from_utf8(name).ok()?
            }
            _ => return None,
        };
        let mut port = [0u8; 2];
        inbound.read_exact(&mut port).await.ok()?;
        let target = format!("{host}:{}", u16::from_be_bytes(port));
        let outbound = tokio::net::TcpStream::connect(target).await.ok()?;
        inbound
            .write_all(&[5, 0, 0, 1, 0, 0, 0, 0, 0, 0])
            .await
            .ok()?;
        Some((inbound, outbound))
    })
    .await;
    (format!("socks5://{addr}"), count)
}

#[tokio::test]
async fn a_socks5_proxy_url_carries_upstream_traffic() {
    let (socks, count) = counting_socks5().await;
    let mock = MockUpstream::start().await;
    let yaml = format!(
        "port: 0\nusage-database-path: usage.sqlite\napi-keys: [{CLIENT_KEY}]\ncodex-api-key:\n  - {{api-key: sk-c, base-url: '{}', proxy-url: '{socks}'}}\n",
        mock.base_url(Family::Codex)
    );
    let h = Harness::with_config(mock, &yaml).await;
    let resp = h
        .post(
            "/v1/responses",
            json!({"model": "gpt-5.5", "input": "hi", "stream": true}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("response.completed"));
    assert_eq!(count.load(Ordering::SeqCst), 1);
}
