//! The `switchyard` binary's `login`, `accounts` and `logout` against the mock OAuth server, with a
//! config of their own and the file secret store in a temp dir: the URL is read from stdout, the
//! browser step played, and the final address pasted on stdin.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use switchyard_mock::MockUpstream;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

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

#[tokio::test]
async fn login_codex_with_a_pasted_url_then_list_and_log_out() {
    let mock = MockUpstream::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let auth_dir = tmp.path().join("auth");
    let config = tmp.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "auth-dir: \"{}\"\n{}",
            auth_dir.display(),
            mock.oauth_endpoints_yaml()
        ),
    )
    .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    child
        .args([
            "login",
            "codex",
            "--no-browser",
            "--secret-store",
            "file",
            "--config",
        ])
        .arg(&config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut proc = child.spawn().unwrap();
    let mut stdout = BufReader::new(proc.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let line = stdout.next_line().await.unwrap().expect("a URL line");
            if line.starts_with("http") {
                break line;
            }
        }
    })
    .await
    .expect("the URL is printed");
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

    let status = tokio::time::timeout(Duration::from_secs(20), proc.wait())
        .await
        .expect("login exits")
        .unwrap();
    let mut rest = String::new();
    while let Ok(Some(line)) = stdout.next_line().await {
        rest.push_str(&line);
        rest.push('\n');
    }
    assert!(status.success(), "{rest}");
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
