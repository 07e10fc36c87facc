//! Driving the `switchyard` binary's login like a person does: run the command, read the URL it prints,
//! play the browser against the mock OAuth server, and wait for the account line.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

pub type Stdout = Lines<BufReader<ChildStdout>>;

/// Starts `switchyard login <extra…> --no-browser --config <config>` and returns it with its stdout
/// lines. The secret store is the config's.
pub fn spawn_login(config: &Path, extra: &[&str]) -> (Child, Stdout) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchyard"));
    cmd.arg("login")
        .args(extra)
        .args(["--no-browser", "--config"])
        .arg(config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut proc = cmd.spawn().expect("switchyard login starts");
    let stdout = BufReader::new(proc.stdout.take().expect("stdout")).lines();
    (proc, stdout)
}

/// The first stdout line that `wanted` accepts.
pub async fn line_where(lines: &mut Stdout, wanted: impl Fn(&str) -> bool) -> String {
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
pub async fn finish(mut proc: Child, mut lines: Stdout) -> (bool, String) {
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

/// A whole `switchyard login <provider>`: the browser signs in at the printed URL and follows the
/// redirect to the command's loopback listener. Returns the command's closing output.
pub async fn login_in_browser(config: &Path, provider: &str) -> String {
    let (proc, mut stdout) = spawn_login(config, &[provider]);
    let url = line_where(&mut stdout, |l| l.starts_with("http")).await;
    let browser = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("browser");
    let page = browser.get(&url).send().await.expect("the browser step");
    assert!(
        page.status().is_success(),
        "callback page: {}",
        page.status()
    );
    let (ok, rest) = finish(proc, stdout).await;
    assert!(ok, "login {provider} failed: {rest}");
    rest
}
