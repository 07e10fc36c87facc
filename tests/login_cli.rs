//! The `switchyard` binary's `login`, `accounts` and `logout` against the mock OAuth server, with a
//! config of their own and the file secret store in a temp dir: the URL is read from stdout, the
//! browser step played, and the final address pasted on stdin.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use switchyard_mock::MockUpstream;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

async fn run(config: &Path, args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.args(args)
        .arg("--config")
        .arg(config)
        .args(["--secret-store", "file"]);
    let out = tokio::time::timeout(Duration::from_secs(20), cmd.output())
        .await
        .expect("the command finishes")
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A mock, and a config in a temp dir whose auth-dir and endpoints point at it.
async fn setup() -> (MockUpstream, tempfile::TempDir, PathBuf) {
    let mock = MockUpstream::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.yaml");
    let yaml = format!(
        "auth-dir: \"{}\"\n{}",
        tmp.path().join("auth").display(),
        mock.oauth_endpoints_yaml()
    );
    std::fs::write(&config, yaml).unwrap();
    (mock, tmp, config)
}

/// Starts `switchyard login <extra…> --no-browser` and returns it with its stdout lines.
fn spawn_login(config: &Path, extra: &[&str]) -> (Child, Lines<BufReader<ChildStdout>>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.arg("login")
        .args(extra)
        .args(["--no-browser", "--secret-store", "file", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut proc = cmd.spawn().unwrap();
    let stdout = BufReader::new(proc.stdout.take().unwrap()).lines();
    (proc, stdout)
}

/// The first stdout line that `wanted` accepts.
async fn line_where(
    lines: &mut Lines<BufReader<ChildStdout>>,
    wanted: impl Fn(&str) -> bool,
) -> String {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("more output");
            if wanted(&line) {
                break line;
            }
        }
    })
    .await
    .expect("the line is printed")
}

/// Waits for the process and returns its success and the rest of its stdout.
async fn finish(mut proc: Child, mut lines: Lines<BufReader<ChildStdout>>) -> (bool, String) {
    let status = tokio::time::timeout(Duration::from_secs(20), proc.wait())
        .await
        .expect("login exits")
        .unwrap();
    let mut rest = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        rest.push_str(&line);
        rest.push('\n');
    }
    (status.success(), rest)
}

#[tokio::test]
async fn login_codex_with_a_pasted_url_then_list_and_log_out() {
    let (_mock, tmp, config) = setup().await;
    let auth_dir = tmp.path().join("auth");
    let (mut proc, mut stdout) = spawn_login(&config, &["codex"]);
    let url = line_where(&mut stdout, |l| l.starts_with("http")).await;
    assert!(url.contains("/oauth/codex/authorize?"), "{url}");

    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let resp = browser.get(&url).send().await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let mut stdin = proc.stdin.take().unwrap();
    stdin.write_all(b"not a url at all\n").await.unwrap();
    stdin
        .write_all(format!("{location}\n").as_bytes())
        .await
        .unwrap();
    stdin.flush().await.unwrap();

    let (ok, rest) = finish(proc, stdout).await;
    assert!(ok, "{rest}");
    assert!(
        rest.contains("Added codex account codex-user@example.com (plan plus) as codex-"),
        "{rest}"
    );

    let (ok, listed) = run(&config, &["accounts", "--json"]).await;
    assert!(ok);
    let accounts: Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(accounts.as_array().map(Vec::len), Some(1), "{listed}");
    assert_eq!(accounts[0]["email"], "codex-user@example.com");
    assert_eq!(accounts[0]["plan"], "plus");
    // Tokens sit in the file store, never in the account list.
    let list_file = std::fs::read_to_string(auth_dir.join("switchyard/accounts.json")).unwrap();
    assert!(!list_file.contains("rt_mock_"), "{list_file}");
    let (_, table) = run(&config, &["accounts"]).await;
    assert!(
        table.starts_with("ID") && table.contains("codex-user@example.com"),
        "{table}"
    );

    let (ok, _) = run(&config, &["logout", "CODEX-USER@example.com"]).await;
    assert!(ok);
    let (_, listed) = run(&config, &["accounts", "--json"]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&listed).unwrap(),
        serde_json::json!([])
    );
    let (ok, _) = run(&config, &["logout", "nobody@example.com"]).await;
    assert!(!ok);
}

#[tokio::test]
async fn login_codex_with_a_device_code() {
    let (mock, _tmp, config) = setup().await;
    mock.oauth().set_device_auto_approve(None);
    let (proc, mut stdout) = spawn_login(&config, &["codex", "--device"]);
    let page = line_where(&mut stdout, |l| l.starts_with("http")).await;
    assert_eq!(page, "https://auth.openai.com/codex/device");
    let code = line_where(&mut stdout, |l| l.starts_with("MOCK-")).await;
    assert!(mock.oauth().approve_device(&code));
    let (ok, rest) = finish(proc, stdout).await;
    assert!(ok, "{rest}");
    assert!(
        rest.contains("Added codex account codex-user@example.com"),
        "{rest}"
    );
    let (_, listed) = run(&config, &["accounts", "--json"]).await;
    assert_eq!(
        serde_json::from_str::<Value>(&listed).unwrap()[0]["provider"],
        "codex"
    );
}
