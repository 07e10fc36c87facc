//! The `switchyard` binary's account commands, each with a config of its own and the file secret store
//! in a temp dir. Logins run against the mock OAuth server: the URL is read from stdout, the browser
//! step played, and the final address pasted on stdin. Imports read the hand-written fixtures.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::cli::{finish, line_where, spawn_login};

use serde_json::Value;
use switchyard::accounts::{open_account_store, Provider, SecretStoreChoice, Status};
use switchyard_mock::{MockUpstream, MockUsage};
use tokio::io::AsyncWriteExt;
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

/// A mock, and a config in a temp dir whose auth-dir and endpoints point at it.
async fn setup() -> (MockUpstream, tempfile::TempDir, PathBuf) {
    let mock = MockUpstream::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("config.yaml");
    let yaml = format!(
        "auth-dir: \"{}\"\nsecret-store: file\n{}",
        tmp.path().join("auth").display(),
        mock.oauth_endpoints_yaml()
    );
    std::fs::write(&config, yaml).unwrap();
    (mock, tmp, config)
}

/// `switchyard login <provider>` played through: the browser step against the mock, then `junk`
/// and the final address pasted on stdin. Returns the login's success and the rest of its stdout.
async fn login_by_paste(config: &Path, provider: &str, junk: &[&str]) -> (bool, String) {
    let (mut proc, mut stdout) = spawn_login(config, &[provider]);
    let url = line_where(&mut stdout, |l| l.starts_with("http")).await;
    assert!(
        url.contains(&format!("/oauth/{provider}/authorize?")),
        "{url}"
    );

    let resp = common::browser().get(&url).send().await.unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let mut stdin = proc.stdin.take().unwrap();
    for line in junk.iter().chain([&location.as_str()]) {
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
    }
    stdin.flush().await.unwrap();
    finish(proc, stdout).await
}

#[tokio::test]
async fn login_codex_with_a_pasted_url_then_list_and_log_out() {
    let (_mock, tmp, config) = setup().await;
    let auth_dir = tmp.path().join("auth");
    let (ok, rest) = login_by_paste(&config, "codex", &["not a url at all"]).await;
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

/// `switchyard …` with HOME at the hand-written fixtures, tokens in files under `dir`.
fn cli_at_home(dir: &Path, args: &[&str]) -> (bool, String) {
    let home = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accounts/home");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_switchyard"))
        .args(args)
        .arg("--config")
        .arg(dir.join("config.yaml"))
        .args(["--secret-store", "file"])
        .env("HOME", home)
        .output()
        .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    // stdout alone when it worked (`accounts --json` must parse); the reason too when it did not.
    if !out.status.success() {
        text.push_str(&String::from_utf8_lossy(&out.stderr));
    }
    (out.status.success(), text)
}

#[test]
fn import_existing_logins_and_export_them_for_cliproxyapi() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = tmp.path().join("auth");
    std::fs::write(
        tmp.path().join("config.yaml"),
        format!("auth-dir: \"{}\"\n", auth.display()),
    )
    .unwrap();

    let (ok, out) = cli_at_home(tmp.path(), &["import", "codex-cli"]);
    assert!(ok, "{out}");
    assert!(out.contains("Added codex account dev@example.com"), "{out}");
    let (ok, out) = cli_at_home(tmp.path(), &["import", "codex-cli"]);
    assert!(ok && out.contains("Updated codex account"), "{out}");
    let (ok, out) = cli_at_home(tmp.path(), &["import", "claude-code"]);
    assert!(ok && out.contains("Added claude account"), "{out}");

    let (ok, out) = cli_at_home(tmp.path(), &["accounts", "--json"]);
    assert!(ok, "{out}");
    let list: Value = serde_json::from_str(&out).unwrap();
    let providers: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["provider"].as_str().unwrap())
        .collect();
    assert_eq!(providers.len(), 2, "{out}");
    assert!(providers.contains(&"claude") && providers.contains(&"codex"));
    let codex_id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["provider"] == "codex")
        .and_then(|a| a["id"].as_str())
        .unwrap()
        .to_string();

    // Back to CLIProxyAPI: its file format, with the tokens that came in.
    let out_dir = tmp.path().join("export");
    let (ok, out) = cli_at_home(
        tmp.path(),
        &["export", &codex_id, "--dir", out_dir.to_str().unwrap()],
    );
    assert!(ok, "{out}");
    let files: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("codex-") && name.ends_with(".json"),
        "{name}"
    );
    let written: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(written["type"], "codex");
    assert_eq!(
        written["refresh_token"],
        "rt_FAKE-codexcli-refresh-GGGGGGGGGGGGGGGGGGGGGGGGGGGG"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn import_reads_cliproxyapi_auth_dir_files() {
    let tmp = tempfile::tempdir().unwrap();
    let auth = tmp.path().join("auth");
    std::fs::create_dir(&auth).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accounts/auth-dir");
    for e in std::fs::read_dir(fixtures).unwrap() {
        let path = e.unwrap().path();
        std::fs::copy(&path, auth.join(path.file_name().unwrap())).unwrap();
    }
    std::fs::write(
        tmp.path().join("config.yaml"),
        format!("auth-dir: \"{}\"\n", auth.display()),
    )
    .unwrap();
    let (ok, out) = cli_at_home(tmp.path(), &["import", "auth-dir"]);
    assert!(ok, "{out}");
    // Claude, Codex and the team seat; the Gemini file is not ours to use.
    assert!(out.contains(": 3 added, 0 updated, 0 removed."), "{out}");
    let (ok, out) = cli_at_home(tmp.path(), &["import", "auth-dir"]);
    assert!(
        ok && out.contains(": 0 added, 0 updated, 0 removed."),
        "{out}"
    );
    let (_, out) = cli_at_home(tmp.path(), &["accounts", "--json"]);
    let list: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3, "{out}");
}

#[tokio::test]
async fn accounts_show_each_logged_in_accounts_quota() {
    let (mock, tmp, config) = setup().await;
    for provider in ["claude", "codex"] {
        let (ok, rest) = login_by_paste(&config, provider, &[]).await;
        assert!(ok, "{rest}");
    }
    mock.oauth().set_claude_usage(MockUsage {
        short_percent: 21.0,
        long_percent: 43.0,
    });
    mock.oauth().set_codex_usage(MockUsage {
        short_percent: 7.0,
        long_percent: 100.0,
    });

    let (ok, listed) = run(&config, &["accounts", "--json"]).await;
    assert!(ok, "{listed}");
    let accounts: Value = serde_json::from_str(&listed).unwrap();
    let by_provider = |p: &str| {
        accounts
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["provider"] == p)
            .unwrap_or_else(|| panic!("no {p} account in {listed}"))
            .clone()
    };
    let claude = by_provider("claude");
    let windows = &claude["quota"]["windows"];
    assert_eq!(windows[0]["name"], "5h", "{claude}");
    assert_eq!(windows[0]["used_percent"], 21.0);
    assert_eq!(windows[0]["window_seconds"], 18_000);
    assert_eq!(windows[1]["name"], "7d");
    assert_eq!(windows[1]["used_percent"], 43.0);
    let reset = time::OffsetDateTime::parse(
        windows[0]["resets_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert!(reset > time::OffsetDateTime::now_utc(), "{reset}");
    let codex = by_provider("codex");
    assert_eq!(codex["quota"]["plan"], "plus", "{codex}");
    assert_eq!(codex["quota"]["windows"][0]["name"], "primary");
    assert_eq!(codex["quota"]["windows"][0]["used_percent"], 7.0);
    assert_eq!(codex["quota"]["windows"][1]["used_percent"], 100.0);
    assert_eq!(mock.oauth().usage_count(), 2);

    let (ok, table) = run(&config, &["accounts"]).await;
    assert!(ok, "{table}");
    assert!(table.lines().next().unwrap().ends_with("QUOTA"), "{table}");
    assert!(
        table.contains("5h 21% (resets in 1h 59m) · 7d 43% (resets in 2d 23h)"),
        "{table}"
    );
    assert!(
        table.contains("5h 7% (resets in 1h 59m) · 7d 100%"),
        "{table}"
    );

    // An endpoint that fails is explained per account; the listing still succeeds.
    mock.oauth().push_usage_faults([503, 503]);
    let (ok, listed) = run(&config, &["accounts", "--json"]).await;
    assert!(ok, "{listed}");
    let accounts: Value = serde_json::from_str(&listed).unwrap();
    for a in accounts.as_array().unwrap() {
        assert_eq!(
            a["quota_error"],
            "quota unavailable: the usage endpoint answered 503 (mock: injected failure)",
            "{a}"
        );
        assert!(a.get("quota").is_none());
    }

    // Accounts that cannot be used are not asked.
    let store = open_account_store(&tmp.path().join("auth"), SecretStoreChoice::File).unwrap();
    for a in store.list().unwrap() {
        store
            .update(&a.id, |a| match a.provider {
                Provider::Claude => a.settings.disabled = true,
                Provider::Codex => a.status = Status::NeedsLogin,
            })
            .unwrap();
    }
    let before = mock.oauth().usage_count();
    let (ok, listed) = run(&config, &["accounts", "--json"]).await;
    assert!(ok, "{listed}");
    let accounts: Value = serde_json::from_str(&listed).unwrap();
    let errors: Vec<&str> = ["claude", "codex"]
        .iter()
        .map(|p| {
            accounts
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["provider"] == *p)
                .and_then(|a| a["quota_error"].as_str())
                .unwrap()
        })
        .collect();
    assert_eq!(
        errors,
        [
            "not fetched: the account is disabled",
            "not fetched: the account needs a new login"
        ]
    );
    assert_eq!(mock.oauth().usage_count(), before);
}
