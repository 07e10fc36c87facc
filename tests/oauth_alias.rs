//! `oauth-model-alias` and `oauth-excluded-models` end to end: the proxy's router serving one logged-in
//! Claude account in front of the mock upstream. The account lives in a file-backed store in a temp
//! folder, so neither the real HOME nor the OS keychain is touched.

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Value};
use switchyard::accounts::refresh::{RefreshOptions, TokenSource};
use switchyard::accounts::secret::FileSecretStore;
use switchyard::accounts::{Account, AccountStore, Identity, Provider, SettingsMode, Tokens};
use switchyard::config::{load_str, Config};
use switchyard::server::{self, Accounts, AppState};
use switchyard::service::{AccountsHub, Service};
use switchyard_mock::{Family, MockUpstream};
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use common::CLIENT_KEY;
const ACCESS_TOKEN: &str = "sk-ant-oat01-account";

const ALIASES: &str = r#"
oauth-model-alias:
  claude:
    - {name: claude-sonnet-4-5-20250929, alias: sonnet}
    - {name: claude-opus-4-5-20251101, alias: opus, fork: true}
  antigravity:
    - {name: gemini-pro-agent, alias: gemini-3.1-pro-preview}
oauth-excluded-models:
  claude: ["claude-3-5-haiku-*"]
"#;

struct Env {
    _tmp: tempfile::TempDir,
    mock: MockUpstream,
    state: Arc<AppState>,
    base: String,
    http: reqwest::Client,
}

/// The config: the account's API at the mock, plus `extra`.
fn config(mock: &MockUpstream, dir: &Path, extra: &str) -> Arc<Config> {
    let yaml = format!(
        "api-keys: [\"{CLIENT_KEY}\"]\nauth-dir: {auth}\nendpoints:\n  claude:\n    api: {api}\n    token: http://{addr}/oauth/claude/token\n{extra}",
        auth = dir.join("auth").display(),
        api = mock.base_url(Family::Claude),
        addr = mock.addr(),
    );
    load_str(&yaml, dir, &|_| None).unwrap().config
}

impl Env {
    async fn start(extra: &str) -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let mock = MockUpstream::start().await;
        let secrets = Arc::new(FileSecretStore::open(&tmp.path().join("tokens")).unwrap());
        let store = Arc::new(AccountStore::open(&tmp.path().join("data"), secrets).unwrap());
        let mut account = Account::new(
            Provider::Claude,
            Identity {
                email: Some("me@example.com".into()),
                ..Identity::default()
            },
        );
        // Valid for a day: no refresh in these tests.
        account.expires_at = Some(OffsetDateTime::now_utc() + time::Duration::days(1));
        let tokens = Tokens::new(Some(ACCESS_TOKEN.into()), Some("rt".into()), None);
        store
            .upsert(account, &tokens, SettingsMode::KeepExisting)
            .unwrap();
        let config = config(&mock, tmp.path(), extra);
        let tokens = TokenSource::new(
            store.clone(),
            config.endpoints.clone(),
            RefreshOptions::default(),
        )
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accounts = Accounts {
            store,
            tokens: Arc::new(tokens),
        };
        let state = Arc::new(AppState::new(
            config.clone(),
            addr,
            switchyard::usage::Usage::in_memory_off(),
        ));
        state.attach_accounts(accounts);
        let hub = Arc::new(AccountsHub::new(
            state.clone(),
            &config,
            CancellationToken::new(),
        ));
        let service = Arc::new(Service::new(
            state.clone(),
            hub,
            tmp.path().join("config.yaml"),
            Arc::default(),
        ));
        let app = server::router(state.clone(), service)
            .into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Env {
            _tmp: tmp,
            mock,
            state,
            base: format!("http://{addr}"),
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
        }
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(CLIENT_KEY)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    async fn message(&self, model: &str) -> (u16, Value) {
        let body = json!({
            "model": model,
            "max_tokens": 32,
            "messages": [{"role": "user", "content": "hi"}],
        });
        self.post("/v1/messages", body).await
    }

    /// The ids `/v1/models` lists.
    async fn listed(&self) -> Vec<String> {
        common::listed_models(&self.http, &self.base).await
    }

    /// The models the upstream was asked for, in order.
    fn upstream_models(&self) -> Vec<String> {
        self.mock
            .requests()
            .iter()
            .map(|r| r.body["model"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

#[tokio::test]
async fn an_alias_reaches_the_upstream_under_the_real_name() {
    let env = Env::start(ALIASES).await;
    let (status, _) = env.message("sonnet").await;
    assert_eq!(status, 200);
    let (status, _) = env.message("opus").await;
    assert_eq!(status, 200);
    let (status, _) = env.message("claude-opus-4-5-20251101").await;
    assert_eq!(status, 200, "fork keeps the real name");
    assert_eq!(
        env.upstream_models(),
        [
            "claude-sonnet-4-5-20250929",
            "claude-opus-4-5-20251101",
            "claude-opus-4-5-20251101"
        ]
    );
    let auth = env.mock.requests()[0].credential.clone();
    assert_eq!(auth.as_deref(), Some(ACCESS_TOKEN), "the account served it");
}

#[tokio::test]
async fn the_model_list_shows_what_is_served() {
    let env = Env::start(ALIASES).await;
    let listed = env.listed().await;
    for served in [
        "sonnet",
        "opus",
        "claude-opus-4-5-20251101",
        "claude-opus-4-1-20250805",
    ] {
        assert!(listed.iter().any(|m| m == served), "{served} in {listed:?}");
    }
    for hidden in [
        "claude-sonnet-4-5-20250929",
        "claude-3-5-haiku-20241022",
        "gemini-3.1-pro-preview",
    ] {
        assert!(
            !listed.iter().any(|m| m == hidden),
            "{hidden} in {listed:?}"
        );
    }
}

#[tokio::test]
async fn a_replaced_or_excluded_name_is_an_unknown_model_in_the_clients_format() {
    let env = Env::start(ALIASES).await;
    let (status, body) = env.message("claude-3-5-haiku-20241022").await;
    assert_eq!(status, 404);
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "not_found_error");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("`claude-3-5-haiku-20241022`"), "{message}");
    let chat = json!({
        "model": "claude-sonnet-4-5-20250929",
        "messages": [{"role": "user", "content": "hi"}],
    });
    let (status, body) = env.post("/v1/chat/completions", chat).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "model_not_found");
    assert!(env.mock.requests().is_empty(), "nothing went upstream");
}

#[tokio::test]
async fn a_reload_applies_the_new_aliases_to_the_accounts() {
    let env = Env::start(ALIASES).await;
    assert!(env.listed().await.iter().any(|m| m == "sonnet"));
    let dir = env._tmp.path();
    env.state.reload(config(
        &env.mock,
        dir,
        "oauth-model-alias:\n  claude:\n    - {name: claude-sonnet-4-5-20250929, alias: sonnet-next}\n",
    ));
    let listed = env.listed().await;
    assert!(listed.iter().any(|m| m == "sonnet-next"), "{listed:?}");
    assert!(!listed.iter().any(|m| m == "sonnet"), "{listed:?}");
    assert!(
        listed.iter().any(|m| m == "claude-3-5-haiku-20241022"),
        "exclusion lifted"
    );
    let (status, _) = env.message("sonnet-next").await;
    assert_eq!(status, 200);
    assert_eq!(env.upstream_models(), ["claude-sonnet-4-5-20250929"]);
}
