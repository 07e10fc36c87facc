//! Shared harness for the black-box tests: a mock upstream for every provider and a real proxy on
//! 127.0.0.1:0 configured to use it, both in-process.

#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod cli;
pub mod usage;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use switchyard::accounts::oauth::{claude, codex, random_state, Pkce};
use switchyard::accounts::{AccountId, AccountStore, Provider, SettingsMode};
use switchyard::config::Endpoints;
use switchyard::{RunningProxy, StartOptions};
use switchyard_mock::{Family, Kind, MockUpstream, Reply, Step};
use url::Url;

pub const CLIENT_KEY: &str = "test-client-key";

pub struct Harness {
    pub mock: MockUpstream,
    pub proxy: Option<RunningProxy>,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

/// The baseline config: two keys per provider, all pointing at the mock, plus whatever `extra` adds.
pub fn baseline_yaml(mock: &MockUpstream, extra: &str) -> String {
    format!(
        r#"host: 127.0.0.1
port: 0
api-keys: ["{CLIENT_KEY}", "second-client-key"]
request-retry: 2
max-retry-interval: 0
shutdown-timeout: 5
claude-api-key:
  - api-key: sk-claude-1
    base-url: {claude}
  - api-key: sk-claude-2
    base-url: {claude}
codex-api-key:
  - api-key: sk-codex-1
    base-url: {codex}
  - api-key: sk-codex-2
    base-url: {codex}
gemini-api-key:
  - api-key: sk-gemini-1
    base-url: {gemini}
  - api-key: sk-gemini-2
    base-url: {gemini}
openai-compatibility:
  - name: mockcompat
    base-url: {compat}
    api-key-entries: [{{api-key: sk-compat-1}}, {{api-key: sk-compat-2}}]
    models:
      - {{name: mock-gpt-4o, alias: compat-gpt-4o}}
      - {{name: mock-reason, alias: compat-reason}}
{extra}"#,
        claude = mock.base_url(Family::Claude),
        codex = mock.base_url(Family::Codex),
        gemini = mock.base_url(Family::Gemini),
        compat = mock.base_url(Family::Compat),
    )
}

/// A config with client keys but no upstream keys: only logged-in accounts can serve. Tokens go to
/// files in `auth` (the CI machine's keychain is exercised by tests/keychain.rs).
pub fn accounts_only_yaml(mock: &MockUpstream, auth: &std::path::Path) -> String {
    // The mock's OAuth endpoints, with the API bases added to each provider's block.
    let endpoints = mock
        .oauth_endpoints_yaml()
        .replacen(
            "  claude:\n",
            &format!("  claude:\n    api: {}\n", mock.base_url(Family::Claude)),
            1,
        )
        .replacen(
            "  codex:\n",
            &format!("  codex:\n    api: {}\n", mock.base_url(Family::Codex)),
            1,
        );
    format!(
        "host: 127.0.0.1\nport: 0\napi-keys: [\"{CLIENT_KEY}\"]\nrequest-retry: 3\nmax-retry-interval: 0\n\
         shutdown-timeout: 2\nauth-dir: \"{}\"\nsecret-store: file\n{endpoints}",
        auth.display(),
    )
}

impl Harness {
    pub async fn start() -> Harness {
        Self::with_extra("").await
    }

    pub async fn with_extra(extra: &str) -> Harness {
        let mock = MockUpstream::start().await;
        let yaml = baseline_yaml(&mock, extra);
        Self::with_config(mock, &yaml).await
    }

    pub async fn with_config(mock: MockUpstream, yaml: &str) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.yaml");
        // The usage history goes to the test's folder, never the user's data dir.
        let yaml = if yaml.contains("usage-database-path") {
            yaml.to_string()
        } else {
            format!("{yaml}\nusage-database-path: usage.sqlite\n")
        };
        std::fs::write(&path, yaml).expect("write config");
        let proxy = switchyard::start(StartOptions {
            config_path: Some(path),
            on_config: None,
        })
        .await
        .expect("proxy starts");
        Harness {
            mock,
            proxy: Some(proxy),
            dir,
            http: reqwest::Client::builder()
                .no_proxy()
                .build()
                .expect("client"),
        }
    }

    pub fn proxy(&self) -> &RunningProxy {
        self.proxy.as_ref().expect("proxy running")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.proxy().base_url())
    }

    pub fn config_path(&self) -> PathBuf {
        self.proxy().config_path().to_path_buf()
    }

    /// POST JSON with the client key.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .bearer_auth(CLIENT_KEY)
            .json(&body)
            .send()
            .await
            .expect("request reaches the proxy")
    }

    /// A `/v0/management/{path}` call with `key`: its status and JSON body (`null` when there is none).
    pub async fn manage(
        &self,
        key: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, self.url(&format!("/v0/management/{path}")))
            .bearer_auth(key);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("the proxy answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// POST JSON with the client key and extra headers (a real client's user agent, …).
    pub async fn post_with(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: Value,
    ) -> reqwest::Response {
        let mut req = self.http.post(self.url(path)).bearer_auth(CLIENT_KEY);
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.json(&body)
            .send()
            .await
            .expect("request reaches the proxy")
    }

    /// The model ids `/v1/models` lists now.
    pub async fn listed_models(&self) -> Vec<String> {
        listed_models(&self.http, &self.proxy().base_url()).await
    }

    /// POST JSON with the client key and read the whole answer as text.
    pub async fn post_text(&self, path: &str, body: Value) -> String {
        self.post(path, body)
            .await
            .text()
            .await
            .expect("the answer arrives whole")
    }

    /// The upstream answers with `steps` first, then with plain text.
    pub fn script_then_text(&self, steps: Vec<Step>) {
        self.mock.script(steps, Reply::Ok(Kind::Text));
    }

    /// From now on every upstream reply is a text stream that breaks after `after` events.
    pub fn cut_streams_after(&self, after: usize) {
        self.mock.script(
            vec![],
            Reply::Cut {
                kind: Kind::Text,
                after,
            },
        );
    }

    /// Rewrites the config file and waits until the proxy serves `probe_model` (or stops serving it).
    pub async fn rewrite_config(&self, yaml: &str, probe_model: &str, expect_served: bool) {
        std::fs::write(self.config_path(), yaml).expect("rewrite config");
        self.wait_for_model(probe_model, expect_served).await;
    }

    /// Waits until the proxy serves `model` (or stops serving it): config reloads and logins made
    /// elsewhere apply in the background.
    pub async fn wait_for_model(&self, model: &str, expect_served: bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while self.listed_models().await.iter().any(|m| m == model) != expect_served {
            assert!(
                tokio::time::Instant::now() < deadline,
                "`{model}` served={expect_served} not seen within 10 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A client that plays the browser in OAuth flows: it stops at redirects (the test reads the `Location`)
/// and never goes through a proxy.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("browser client")
}

/// The model ids a proxy at `base` lists on `/v1/models`.
pub async fn listed_models(http: &reqwest::Client, base: &str) -> Vec<String> {
    let models: Value = http
        .get(format!("{base}/v1/models"))
        .bearer_auth(CLIENT_KEY)
        .send()
        .await
        .expect("models")
        .json()
        .await
        .expect("json");
    models["data"]
        .as_array()
        .expect("a data array")
        .iter()
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect()
}

/// One upstream answer: `status` with the mock's default error body.
pub fn upstream_error(status: u16) -> Step {
    Step::reply(Reply::Error { status, body: None })
}

/// An Anthropic Messages request that says "hi".
pub fn messages_body(model: &str, max_tokens: u32, stream: bool) -> Value {
    json!({"model": model, "max_tokens": max_tokens, "stream": stream,
        "messages": [{"role": "user", "content": "hi"}]})
}

/// A Chat Completions request that says "hi".
pub fn chat_body(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "hi"}]})
}

/// The `error.message` of an error body (OpenAI and Anthropic shapes put it in the same place).
pub fn error_message(body: &Value) -> &str {
    body["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error message in {body}"))
}

/// The whole seconds of a response's `Retry-After` header.
pub fn retry_after_secs(resp: &reqwest::Response) -> u64 {
    let value = resp
        .headers()
        .get("retry-after")
        .expect("a Retry-After header");
    value
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("Retry-After is not whole seconds: {value:?}"))
}

/// Splits an SSE body into (event name, data) pairs.
pub fn sse_events(body: &str) -> Vec<(Option<String>, String)> {
    body.replace("\r\n", "\n")
        .split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .filter_map(|block| {
            let mut event = None;
            let mut data = Vec::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    event = Some(v.trim().to_string());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push(v.trim_start().to_string());
                }
            }
            (event.is_some() || !data.is_empty()).then(|| (event, data.join("\n")))
        })
        .collect()
}

/// The endpoints of the mock's OAuth servers and usage endpoints at `mock_addr` (an address, so a
/// child process handed only that can build them too).
pub fn mock_endpoints(mock_addr: &str) -> Endpoints {
    let url = |path: &str| Url::parse(&format!("http://{mock_addr}/oauth/{path}")).unwrap();
    let mut ep = Endpoints::default();
    ep.claude.authorize = url("claude/authorize");
    ep.claude.token = url("claude/token");
    ep.claude.usage = url("claude/usage");
    ep.codex.authorize = url("codex/authorize");
    ep.codex.token = url("codex/token");
    ep.codex.usage = url("codex/usage");
    ep
}

/// Logs in at the mock as the login service would (authorize, then exchange the code) and stores
/// the account. `http` must not follow redirects: the code is read from the redirect.
pub async fn login_at_mock(
    http: &reqwest::Client,
    ep: &Endpoints,
    store: &AccountStore,
    provider: Provider,
) -> AccountId {
    let (pkce, state) = (Pkce::generate(), random_state());
    let (url, redirect) = match provider {
        Provider::Claude => {
            let r = claude::loopback_redirect_uri(1);
            (claude::authorize_url(&ep.claude, &r, &pkce, &state), r)
        }
        Provider::Codex => {
            let r = codex::loopback_redirect_uri(1);
            (codex::authorize_url(&ep.codex, &r, &pkce, &state), r)
        }
    };
    let resp = http.get(url).send().await.unwrap();
    let location = Url::parse(resp.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let grant = match provider {
        Provider::Claude => {
            claude::exchange(http, &ep.claude, &code, &state, &redirect, &pkce).await
        }
        Provider::Codex => {
            codex::exchange(http, &ep.codex, &code, &redirect, pkce.verifier()).await
        }
    }
    .unwrap();
    let (account, tokens) = grant.into_account(provider);
    let up = store
        .upsert(account, &tokens, SettingsMode::KeepExisting)
        .unwrap();
    up.id().clone()
}
