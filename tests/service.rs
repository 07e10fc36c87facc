//! The service layer the desktop app's commands and the management API share, called the way they call
//! it: on a running proxy (no keys in its config, accounts in a temp dir, tokens in files), with logins
//! played against the mock OAuth server.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{chat_body, messages_body, Harness, CLIENT_KEY};
use switchyard::accounts::Provider;
use switchyard::service::{
    AccountPatch, ErrorKind, LoginMethodName, LoginState, Service, SettingsPatch,
};
use switchyard_mock::{Family, MockUpstream};

const CLAUDE_MODEL: &str = "claude-sonnet-4-5-20250929";

/// A commented config: edits must keep every comment.
fn config_yaml(mock: &MockUpstream, auth: &Path) -> String {
    let endpoints = mock.oauth_endpoints_yaml().replacen(
        "  claude:\n",
        &format!("  claude:\n    api: {}\n", mock.base_url(Family::Claude)),
        1,
    );
    format!(
        "# Switchyard for the tests\nhost: 127.0.0.1\nport: 0 # any free port\nusage-database-path: usage.sqlite\n\
         api-keys:\n  - \"{CLIENT_KEY}\"\n\n# how to pick an account\nrouting:\n  strategy: round-robin\n\
         request-retry: 1\nmax-retry-interval: 0\nshutdown-timeout: 2\n\
         auth-dir: \"{}\"\nsecret-store: file\n{endpoints}",
        auth.display()
    )
}

struct Env {
    h: Harness,
    _auth: tempfile::TempDir,
}

impl Env {
    async fn start() -> Env {
        let mock = MockUpstream::start().await;
        let auth = tempfile::tempdir().unwrap();
        let yaml = config_yaml(&mock, auth.path());
        let h = Harness::with_config(mock, &yaml).await;
        Env { h, _auth: auth }
    }

    fn service(&self) -> std::sync::Arc<Service> {
        self.h.proxy().service()
    }

    /// A browser login through the service: start, sign in at the mock, follow the redirect to the
    /// loopback listener, wait for the outcome.
    async fn login(&self, provider: Provider) -> LoginState {
        let service = self.service();
        let view = service
            .start_login(provider, LoginMethodName::Browser)
            .await
            .unwrap();
        assert_eq!(view.status, LoginState::Pending);
        let url = view.url.expect("a sign-in page");
        let page = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(&url)
            .send()
            .await
            .unwrap();
        assert!(page.status().is_success());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let state = service.login(&view.id).unwrap();
            if state != LoginState::Pending {
                return state;
            }
            assert!(tokio::time::Instant::now() < deadline, "login never ended");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test]
async fn a_login_from_the_ui_adds_an_account_that_serves_at_once() {
    let env = Env::start().await;
    let service = env.service();
    let status = service.status().await.unwrap();
    assert_eq!(status.endpoint, env.h.proxy().base_url());
    assert_eq!((status.accounts, status.models), (0, 0));
    assert!(status.client_key_required);
    assert!(service.accounts(true).await.unwrap().is_empty());

    let LoginState::Succeeded { account, email, .. } = env.login(Provider::Claude).await else {
        panic!("the login failed")
    };
    assert_eq!(email.as_deref(), Some("claude-user@example.com"));
    // No wait for the auth-dir poll: the service tells the proxy itself.
    let resp = env
        .h
        .post("/v1/messages", messages_body(CLAUDE_MODEL, 64, false))
        .await;
    assert_eq!(resp.status(), 200);

    let listed = service.accounts(true).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].account.id.as_str(), account);
    let quota = listed[0].quota.as_ref().expect("the mock's quota");
    assert!(!quota.windows.is_empty(), "{quota:?}");
    assert!(listed[0].cooldowns.is_empty());
    let status = service.status().await.unwrap();
    assert_eq!((status.accounts, status.accounts_ready), (1, 1));
    let model = service
        .models()
        .into_iter()
        .find(|m| m.id == CLAUDE_MODEL)
        .expect("served");
    assert_eq!(model.routes.len(), 1);
    assert!(model.routes[0]
        .credential
        .contains("claude-user@example.com"));
}

#[tokio::test]
async fn account_settings_apply_to_routing_and_removal_stops_it() {
    let env = Env::start().await;
    let service = env.service();
    let LoginState::Succeeded { account, .. } = env.login(Provider::Claude).await else {
        panic!("the login failed")
    };
    let patch = AccountPatch {
        label: Some("Work".into()),
        prefix: Some("/team/".into()),
        priority: Some(3),
        enabled: None,
    };
    let updated = service.update_account(&account, patch).await.unwrap();
    assert_eq!(updated.settings.label.as_deref(), Some("Work"));
    assert_eq!(updated.settings.prefix.as_deref(), Some("team"));
    assert_eq!(updated.settings.priority, 3);
    let ids: Vec<String> = service.models().into_iter().map(|m| m.id).collect();
    assert!(ids.contains(&format!("team/{CLAUDE_MODEL}")), "{ids:?}");

    let off = AccountPatch {
        enabled: Some(false),
        ..AccountPatch::default()
    };
    service.update_account(&account, off).await.unwrap();
    let resp = env
        .h
        .post("/v1/messages", messages_body(CLAUDE_MODEL, 64, false))
        .await;
    assert_eq!(resp.status(), 404, "a disabled account serves nothing");

    service.remove_account(&account).await.unwrap();
    assert!(service.accounts(false).await.unwrap().is_empty());
    let err = service.remove_account(&account).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err}");
    let err = service
        .update_account("not an id", AccountPatch::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn settings_and_keys_edit_the_config_in_place_and_apply_at_once() {
    let env = Env::start().await;
    let service = env.service();
    let path = env.h.config_path();
    let before = std::fs::read_to_string(&path).unwrap();

    let patch = SettingsPatch {
        strategy: Some("fill-first".into()),
        request_retry: Some(5),
        proxy_url: Some("direct".into()),
        ..SettingsPatch::default()
    };
    let (settings, warnings) = service.update_settings(patch).await.unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(settings.strategy, "fill-first");
    assert_eq!(settings.request_retry, 5);
    assert_eq!(settings.proxy_url.as_deref(), Some("direct"));
    let after = std::fs::read_to_string(&path).unwrap();
    for kept in [
        "# Switchyard for the tests\n",
        "port: 0 # any free port\nusage-database-path: usage.sqlite\n",
        "# how to pick an account\n",
    ] {
        assert!(after.contains(kept), "lost {kept:?}:\n{after}");
    }
    assert!(after.contains("  strategy: \"fill-first\"\n"), "{after}");
    assert_ne!(before, after);

    let bad = SettingsPatch {
        strategy: Some("fastest".into()),
        ..SettingsPatch::default()
    };
    let err = service.update_settings(bad).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert!(err.message.contains("round-robin"), "{err}");

    // A new client key is accepted at once; a revoked one is refused at once.
    let key = service.create_api_key().await.unwrap();
    assert!(service.api_keys().await.unwrap().contains(&key));
    let with_key = |key: String| {
        let h = &env.h;
        async move {
            h.http
                .post(h.url("/v1/chat/completions"))
                .bearer_auth(key)
                .json(&chat_body("nothing-serves-this", false))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(
        with_key(key.clone()).await,
        404,
        "the key passes, the model is unknown"
    );
    service.revoke_api_key(&key).await.unwrap();
    assert_eq!(with_key(key.clone()).await, 401);
    assert_eq!(
        service.revoke_api_key(&key).await.unwrap_err().kind,
        ErrorKind::NotFound
    );
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("# how to pick an account\n"), "{text}");
}

#[tokio::test]
async fn a_broken_config_is_refused_with_its_problems_and_nothing_is_written() {
    let env = Env::start().await;
    let service = env.service();
    let path = env.h.config_path();
    let before = service.config().await.unwrap();
    assert_eq!(before.yaml, std::fs::read_to_string(&path).unwrap());

    let broken = before
        .yaml
        .replace("request-retry: 1", "request-retry: lots");
    let problems = service.check_config(&broken);
    assert_eq!(problems.len(), 1, "{problems:?}");
    let line = broken
        .lines()
        .position(|l| l.starts_with("request-retry"))
        .unwrap()
        + 1;
    assert_eq!((problems[0].line, problems[0].severity), (line, "error"));

    let err = service.save_config(&broken).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Invalid);
    assert_eq!(err.problems, problems);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), before.yaml);

    let fixed = before.yaml.replace("request-retry: 1", "request-retry: 4");
    assert!(service.save_config(&fixed).await.unwrap().is_empty());
    assert_eq!(
        service.settings().request_retry,
        4,
        "applied without waiting"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), fixed);
}

#[tokio::test]
async fn logs_are_tailed_after_a_sequence_number_and_filtered_by_level() {
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(switchyard::logs::layer())
        .try_init();
    let env = Env::start().await;
    let service = env.service();
    let start = service
        .logs(0, "trace", 1000)
        .unwrap()
        .last()
        .map_or(0, |l| l.seq);
    // An unknown model is logged at info by the request handler.
    env.h
        .post(
            "/v1/chat/completions",
            chat_body("nothing-serves-this", false),
        )
        .await;
    let lines = service.logs(start, "info", 100).unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l.message.contains("nothing-serves-this")),
        "{lines:?}"
    );
    assert!(service.logs(start, "error", 100).unwrap().is_empty());
    assert_eq!(
        service.logs(0, "loud", 10).unwrap_err().kind,
        ErrorKind::Invalid
    );
}
