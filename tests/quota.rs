//! `QuotaService` against the mock's usage endpoints: answers read into windows, the cache and the
//! single flight (counted at the mock), a refused token refreshed once, failures cached for their
//! own short time.

use std::sync::Arc;
use std::time::Duration;

use switchyard::accounts::quota::{QuotaError, QuotaOptions, QuotaService};
use switchyard::accounts::refresh::{RefreshOptions, TokenSource};
use switchyard::accounts::{
    open_account_store, AccountId, AccountStore, Provider, SecretStoreChoice, Status,
};
use switchyard::config::Endpoints;
use switchyard_mock::{MockUpstream, MockUsage};
use time::OffsetDateTime;

mod common;

struct Env {
    _tmp: tempfile::TempDir,
    mock: MockUpstream,
    endpoints: Endpoints,
    store: Arc<AccountStore>,
    http: reqwest::Client,
}

impl Env {
    async fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let mock = MockUpstream::start().await;
        let endpoints = common::mock_endpoints(&mock.addr().to_string());
        let store = Arc::new(open_account_store(tmp.path(), SecretStoreChoice::File).unwrap());
        let http = common::browser();
        Env {
            _tmp: tmp,
            mock,
            endpoints,
            store,
            http,
        }
    }

    async fn login(&self, provider: Provider) -> AccountId {
        common::login_at_mock(&self.http, &self.endpoints, &self.store, provider).await
    }

    fn service(&self, options: QuotaOptions) -> QuotaService {
        let refresh = RefreshOptions {
            // The tokens were issued a moment ago; a 401 must still be allowed to refresh them.
            min_reissue: Duration::ZERO,
            ..RefreshOptions::default()
        };
        self.service_with(self.endpoints.clone(), refresh, options)
    }

    fn service_with(
        &self,
        endpoints: Endpoints,
        refresh: RefreshOptions,
        options: QuotaOptions,
    ) -> QuotaService {
        let tokens = TokenSource::new(self.store.clone(), endpoints.clone(), refresh).unwrap();
        QuotaService::new(self.store.clone(), tokens, endpoints, options).unwrap()
    }
}

#[tokio::test]
async fn claude_quota_is_fetched_once_then_served_from_the_cache() {
    let env = Env::new().await;
    let id = env.login(Provider::Claude).await;
    env.mock.oauth().set_claude_usage(MockUsage {
        short_percent: 33.0,
        long_percent: 66.5,
    });
    let quota = env.service(QuotaOptions::default());
    let q = quota.get(&id).await.unwrap();
    let seen: Vec<(&str, f64)> = q
        .windows
        .iter()
        .map(|w| (w.name.as_str(), w.used_percent))
        .collect();
    assert_eq!(seen, [("5h", 33.0), ("7d", 66.5)]);
    let resets_in = q.windows[0].resets_at.unwrap() - OffsetDateTime::now_utc();
    assert!(
        (time::Duration::minutes(115)..=time::Duration::minutes(120)).contains(&resets_in),
        "{resets_in}"
    );
    assert_eq!(quota.get(&id).await.unwrap(), q);
    assert_eq!(env.mock.oauth().usage_count(), 1);
}

#[tokio::test]
async fn concurrent_callers_share_one_codex_fetch() {
    let env = Env::new().await;
    let id = env.login(Provider::Codex).await;
    env.mock.oauth().set_codex_usage(MockUsage {
        short_percent: 5.0,
        long_percent: 100.0,
    });
    let quota = env.service(QuotaOptions::default());
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (quota, id) = (quota.clone(), id.clone());
            tokio::spawn(async move { quota.get(&id).await })
        })
        .collect();
    for call in calls {
        let q = call.await.unwrap().unwrap();
        assert_eq!(q.plan.as_deref(), Some("plus"));
        assert_eq!(q.windows[0].name, "primary");
        assert_eq!(q.windows[0].window, Some(Duration::from_secs(18_000)));
        assert_eq!(q.windows[1].used_percent, 100.0);
    }
    assert_eq!(env.mock.oauth().usage_count(), 1);
}

#[tokio::test]
async fn a_refused_token_is_refreshed_once_and_the_request_sent_again() {
    for provider in [Provider::Claude, Provider::Codex] {
        let env = Env::new().await;
        let id = env.login(provider).await;
        let before = env.store.tokens(&id).unwrap().unwrap();
        env.mock.oauth().revoke_access_tokens();
        let q = env.service(QuotaOptions::default()).get(&id).await;
        assert_eq!(q.map(|q| q.windows.len()), Ok(2), "{provider}");
        assert_eq!(env.mock.oauth().refresh_count(), 1, "{provider}");
        assert_eq!(env.mock.oauth().usage_count(), 2, "{provider}");
        let after = env.store.tokens(&id).unwrap().unwrap();
        assert_ne!(
            after.refresh(),
            before.refresh(),
            "{provider}: rotated and saved"
        );
    }
}

#[tokio::test]
async fn a_token_refused_right_after_it_was_issued_reports_the_401() {
    let env = Env::new().await;
    let id = env.login(Provider::Claude).await;
    env.mock.oauth().revoke_access_tokens();
    // Default timings: a token issued moments ago is not refreshed again, so the refusal stands.
    let quota = env.service_with(
        env.endpoints.clone(),
        RefreshOptions::default(),
        QuotaOptions::default(),
    );
    assert_eq!(
        quota.get(&id).await.unwrap_err().to_string(),
        "quota unavailable: the usage endpoint answered 401 (Invalid bearer token)"
    );
    assert_eq!(env.mock.oauth().refresh_count(), 0);
}

#[tokio::test]
async fn a_codex_login_stored_without_its_workspace_takes_it_from_the_token() {
    let env = Env::new().await;
    let id = env.login(Provider::Codex).await;
    env.store
        .update(&id, |a| a.identity.account_id = None)
        .unwrap();
    // The mock refuses a request without the token's workspace in chatgpt-account-id.
    let q = env.service(QuotaOptions::default()).get(&id).await.unwrap();
    assert_eq!(q.windows.len(), 2);
}

#[tokio::test]
async fn a_failure_is_cached_for_its_own_short_time_then_fetched_again() {
    let env = Env::new().await;
    let id = env.login(Provider::Claude).await;
    env.mock.oauth().push_usage_faults([503]);
    let quota = env.service(QuotaOptions {
        error_ttl: Duration::from_millis(300),
        ..QuotaOptions::default()
    });
    let e = quota.get(&id).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "quota unavailable: the usage endpoint answered 503 (mock: injected failure)"
    );
    assert_eq!(quota.get(&id).await.unwrap_err(), e);
    assert_eq!(env.mock.oauth().usage_count(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(quota.get(&id).await.is_ok());
    assert_eq!(env.mock.oauth().usage_count(), 2);
}

#[tokio::test]
async fn accounts_that_cannot_ask_fail_in_words_without_a_request() {
    let env = Env::new().await;
    let id = env.login(Provider::Codex).await;
    env.store
        .update(&id, |a| {
            a.status = Status::NeedsLogin;
            a.status_message = Some("refresh_token_reused".into());
        })
        .unwrap();
    let quota = env.service(QuotaOptions::default());
    assert_eq!(
        quota.get(&id).await.unwrap_err().to_string(),
        "quota unavailable: the account needs a new login (refresh_token_reused)"
    );
    let nobody = AccountId::parse("claude-000000000000").unwrap();
    assert_eq!(
        quota.get(&nobody).await,
        Err(QuotaError::UnknownAccount(nobody.to_string()))
    );
    assert_eq!(env.mock.oauth().usage_count(), 0);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named() {
    let env = Env::new().await;
    let id = env.login(Provider::Claude).await;
    let mut endpoints = env.endpoints.clone();
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    endpoints.claude.usage = format!("http://127.0.0.1:{port}/usage").parse().unwrap();
    let quota = env.service_with(
        endpoints,
        RefreshOptions::default(),
        QuotaOptions::default(),
    );
    let e = quota.get(&id).await.unwrap_err();
    assert!(matches!(e, QuotaError::Unreachable(_)), "{e}");
    assert!(
        e.to_string()
            .starts_with("quota unavailable: cannot reach the usage endpoint ("),
        "{e}"
    );
}
