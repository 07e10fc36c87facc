//! Refreshing OAuth tokens against the mock OAuth servers: rotation, a dead refresh token, a burst of
//! 401s, backoff, the scheduler under paused time, and kill -9 in the middle of a refresh. The kill
//! tests run this test binary again as a child process (`child_process_for_kill_tests`, selected by
//! an environment variable) and SIGKILL it at the moment under test.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use switchyard::accounts::oauth::codex;
use switchyard::accounts::refresh::{
    Clock, RefreshError, RefreshOptions, SystemClock, TokenSource, TokioClock,
};
use switchyard::accounts::secret::FileSecretStore;
use switchyard::accounts::{
    AccountId, AccountStore, AccountsError, Provider, SecretStore, Status, Tokens,
};
use switchyard::config::Endpoints;
use switchyard_mock::{MockIdentity, MockUpstream, RefreshFault};
use time::OffsetDateTime;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;

mod common;

/// Selects the child mode: `<mode>|<folder>|<account id>|<mock address>`.
const CHILD_ENV: &str = "SWITCHYARD_REFRESH_CHILD";
const PERSISTED: &str = "CHILD-PERSISTED";

/// A file-backed store in `dir`: the account list in `data/`, tokens in `tokens/`.
fn open_store(dir: &Path, secrets: Arc<dyn SecretStore>) -> Arc<AccountStore> {
    Arc::new(AccountStore::open(&dir.join("data"), secrets).unwrap())
}

fn file_secrets(dir: &Path) -> FileSecretStore {
    FileSecretStore::open(&dir.join("tokens")).unwrap()
}

struct Env {
    tmp: tempfile::TempDir,
    mock: MockUpstream,
    endpoints: Endpoints,
    store: Arc<AccountStore>,
    /// No redirects followed (it plays the browser), no proxy.
    http: reqwest::Client,
}

impl Env {
    async fn new() -> Env {
        let tmp = tempfile::tempdir().unwrap();
        let mock = MockUpstream::start().await;
        let endpoints = common::mock_endpoints(&mock.addr().to_string());
        let store = open_store(tmp.path(), Arc::new(file_secrets(tmp.path())));
        let http = common::browser();
        Env {
            tmp,
            mock,
            endpoints,
            store,
            http,
        }
    }

    async fn seed(&self, provider: Provider) -> AccountId {
        common::login_at_mock(&self.http, &self.endpoints, &self.store, provider).await
    }

    /// Makes the stored access token expire `secs` after `now`.
    fn expire_in(&self, id: &AccountId, now: OffsetDateTime, secs: i64) {
        self.store
            .update(id, |a| {
                a.expires_at = Some(now + time::Duration::seconds(secs))
            })
            .unwrap();
    }

    fn tokens(&self, id: &AccountId) -> Tokens {
        self.store.tokens(id).unwrap().unwrap()
    }

    fn source(&self, clock: Arc<dyn Clock>) -> TokenSource {
        TokenSource::with_clock(
            self.store.clone(),
            self.endpoints.clone(),
            RefreshOptions::default(),
            clock,
        )
        .unwrap()
    }

    /// Another handle on the same folders whose secret store misbehaves as `faults` say.
    fn faulty_store(&self, faults: &Faults) -> Arc<AccountStore> {
        let files = file_secrets(self.tmp.path());
        let faults = faults.clone();
        open_store(self.tmp.path(), Arc::new(FaultyStore { files, faults }))
    }

    fn refreshes(&self) -> usize {
        self.mock.oauth().refresh_count()
    }

    /// No file under the test folder but the account's own token file holds any of `secrets`.
    fn assert_secrets_only_in_token_file(&self, id: &AccountId, secrets: &[&str]) {
        let token_file = file_secrets(self.tmp.path()).path_for(id);
        let mut files = Vec::new();
        walk(self.tmp.path(), &mut files);
        assert!(files.contains(&token_file));
        for file in files.iter().filter(|f| **f != token_file) {
            let text = String::from_utf8_lossy(&std::fs::read(file).unwrap()).into_owned();
            for secret in secrets {
                assert!(!text.contains(secret), "a token is in {}", file.display());
            }
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn text(s: &SecretString) -> &str {
    s.expose_secret()
}

/// Runs other tasks until `cond` holds. Busy on purpose: with paused time an idle runtime would
/// jump the clock to the next timer (an HTTP timeout, the scheduler's nap) behind the test's back.
async fn until(what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::task::yield_now().await;
    }
}

/// Lets other tasks run for a moment of real time without moving the paused clock.
async fn settle() {
    let end = std::time::Instant::now() + Duration::from_millis(150);
    while std::time::Instant::now() < end {
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_refresh_rotates_persists_the_new_pair_and_never_reuses_the_old_one() {
    let env = Env::new().await;
    let id = env.seed(Provider::Codex).await;
    let before = env.tokens(&id);
    let old_refresh = before.refresh().unwrap().to_string();
    // Within the expiry margin: the next request refreshes first.
    env.expire_in(&id, OffsetDateTime::now_utc(), 60);
    let source = env.source(Arc::new(SystemClock));

    let token = source.access_token(&id).await.unwrap();
    assert_eq!(env.refreshes(), 1);
    assert_ne!(Some(text(&token)), before.access());
    let after = env.tokens(&id);
    assert_eq!(after.access(), Some(text(&token)), "stored before use");
    assert_ne!(after.refresh(), Some(old_refresh.as_str()));
    assert!(after.id().is_some());
    let account = env.store.get(&id).unwrap().unwrap();
    assert_eq!(account.status, Status::Ok);
    let left = account.expires_at.unwrap() - OffsetDateTime::now_utc();
    assert!(
        left > time::Duration::days(9),
        "expiry from the answer: {left}"
    );
    assert!(account.last_refresh.unwrap() > OffsetDateTime::now_utc() - time::Duration::minutes(1));

    // The hot path serves from memory.
    assert_eq!(text(&source.access_token(&id).await.unwrap()), text(&token));
    assert_eq!(env.refreshes(), 1);
    // The next refresh uses the new refresh token (the old one would be `refresh_token_reused`).
    let newer = source.refresh_now(&id).await.unwrap();
    assert_ne!(text(&newer), text(&token));
    assert_eq!(env.refreshes(), 2);
    assert_eq!(env.store.get(&id).unwrap().unwrap().status, Status::Ok);
    let spent = codex::refresh(&env.http, &env.endpoints.codex, &old_refresh)
        .await
        .unwrap_err();
    assert!(spent.needs_login(), "{spent}");

    let current = env.tokens(&id);
    env.assert_secrets_only_in_token_file(
        &id,
        &[
            &old_refresh,
            after.refresh().unwrap(),
            current.refresh().unwrap(),
            current.access().unwrap(),
        ],
    );
}

#[tokio::test]
async fn a_reused_refresh_token_marks_needs_login_and_is_never_tried_again() {
    let env = Env::new().await;
    let id = env.seed(Provider::Codex).await;
    // Another client spends our refresh token (the rotated pair never reaches us).
    let stolen = env.tokens(&id).refresh().unwrap().to_string();
    codex::refresh(&env.http, &env.endpoints.codex, &stolen)
        .await
        .unwrap();
    env.expire_in(&id, OffsetDateTime::now_utc(), 60);
    let source = env.source(Arc::new(SystemClock));

    let err = source.access_token(&id).await.unwrap_err();
    assert!(err.needs_login(), "{err}");
    assert!(err.to_string().contains("refresh_token_reused"), "{err}");
    let account = env.store.get(&id).unwrap().unwrap();
    assert_eq!(account.status, Status::NeedsLogin);
    assert!(account
        .status_message
        .unwrap()
        .contains("refresh_token_reused"));
    let attempts = env.refreshes();
    assert_eq!(attempts, 2);

    let stale = SecretString::from(env.tokens(&id).access().unwrap().to_string());
    for _ in 0..3 {
        assert!(source.access_token(&id).await.unwrap_err().needs_login());
        assert!(source
            .refresh_after_401(&id, &stale)
            .await
            .unwrap_err()
            .needs_login());
        assert!(source.refresh_now(&id).await.unwrap_err().needs_login());
    }
    let cancel = CancellationToken::new();
    let scheduler = source.spawn_scheduler(cancel.clone());
    source.notify_changed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.refreshes(), attempts, "no attempt after needs-login");

    // Logging in again clears the mark; the cache notices the store changed.
    env.seed(Provider::Codex).await;
    let fresh = source.access_token(&id).await.unwrap();
    assert_eq!(Some(text(&fresh)), env.tokens(&id).access());
    assert_eq!(env.refreshes(), attempts);
    cancel.cancel();
    scheduler.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_401s_causes_one_refresh() {
    let env = Env::new().await;
    let id = env.seed(Provider::Claude).await;
    // Logged in an hour ago (a token refused right after it was issued is not refreshed again).
    let an_hour_ago = OffsetDateTime::now_utc() - time::Duration::hours(1);
    env.store
        .update(&id, |a| a.last_refresh = Some(an_hour_ago))
        .unwrap();
    let source = env.source(Arc::new(SystemClock));
    let rejected = source.access_token(&id).await.unwrap();
    assert_eq!(env.refreshes(), 0, "a token valid for 8 h is served as is");

    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (source, id, rejected) = (source.clone(), id.clone(), rejected.clone());
            tokio::spawn(async move { source.refresh_after_401(&id, &rejected).await })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        got.push(text(&t.await.unwrap().unwrap()).to_string());
    }
    assert_eq!(env.refreshes(), 1, "single flight");
    assert!(
        got.iter().all(|t| *t == got[0]),
        "everyone gets the new token"
    );
    assert_ne!(got[0], text(&rejected));
    assert_eq!(env.tokens(&id).access(), Some(got[0].as_str()));

    // A straggler's 401 on the old token gets the new one without another refresh …
    let late = source.refresh_after_401(&id, &rejected).await.unwrap();
    assert_eq!(text(&late), got[0]);
    // … and a 401 on the token issued a moment ago does not refresh again.
    let refused = SecretString::from(got[0].clone());
    let err = source.refresh_after_401(&id, &refused).await.unwrap_err();
    assert!(matches!(err, RefreshError::Unavailable { .. }), "{err}");
    assert!(err.retry_after().is_some());
    assert_eq!(env.refreshes(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_sharing_the_store_refresh_an_account_once() {
    let env = Env::new().await;
    let id = env.seed(Provider::Codex).await;
    env.store
        .update(&id, |a| {
            a.last_refresh = Some(OffsetDateTime::now_utc() - time::Duration::days(9))
        })
        .unwrap();
    env.expire_in(&id, OffsetDateTime::now_utc(), 30);
    // The desktop app and `switchyard serve` (or `switchyard accounts`): separate handles on the same
    // folders, each with its own single flight. Codex refresh tokens are single-use.
    let other_store = open_store(env.tmp.path(), Arc::new(file_secrets(env.tmp.path())));
    let sources = [
        env.source(Arc::new(SystemClock)),
        TokenSource::new(
            other_store,
            env.endpoints.clone(),
            RefreshOptions::default(),
        )
        .unwrap(),
    ];
    let tasks: Vec<_> = (0..8)
        .map(|n| {
            let (source, id) = (sources[n % 2].clone(), id.clone());
            tokio::spawn(async move { source.access_token(&id).await })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        got.push(text(&t.await.unwrap().unwrap()).to_string());
    }
    assert_eq!(env.refreshes(), 1, "one refresh between both processes");
    assert!(got.iter().all(|t| *t == got[0]), "both use the new token");
    assert_eq!(env.tokens(&id).access(), Some(got[0].as_str()));
    let account = env.store.get(&id).unwrap().unwrap();
    assert_eq!(account.status, Status::Ok, "never a reused refresh token");
}

#[tokio::test]
async fn failures_back_off_honour_retry_after_and_keep_serving_the_current_token() {
    let env = Env::new().await;
    let id = env.seed(Provider::Claude).await;
    let old = env.tokens(&id).access().unwrap().to_string();
    tokio::time::pause();
    let clock = Arc::new(TokioClock::new());
    // One hour left: past Claude's 4 h lead, so the scheduler refreshes at once.
    env.expire_in(&id, clock.now(), 3600);
    env.mock.oauth().push_refresh_faults([
        RefreshFault::Status {
            status: 500,
            retry_after: None,
        },
        RefreshFault::Status {
            status: 429,
            retry_after: Some(300),
        },
    ]);
    let source = env.source(clock.clone());
    let cancel = CancellationToken::new();
    let scheduler = source.spawn_scheduler(cancel.clone());
    let settled = |n: usize| {
        let (source, id, mock) = (&source, &id, &env.mock);
        move || mock.oauth().refresh_count() == n && !source.refresh_state(id).busy
    };

    until("the first attempt", settled(1)).await;
    let state = source.refresh_state(&id);
    assert_eq!(state.failures, 1);
    assert!(state.last_error.unwrap().contains("500"));
    let wait = state.retry_at.unwrap() - clock.now();
    assert!(
        wait >= time::Duration::seconds(24) && wait <= time::Duration::seconds(36),
        "{wait}"
    );
    // The current token still has an hour: requests keep using it without refreshing.
    let served = source.access_token(&id).await.unwrap();
    assert_eq!(text(&served), old);
    assert_eq!(env.refreshes(), 1);

    tokio::time::advance(Duration::from_secs(40)).await;
    until("the second attempt (429, Retry-After 300)", settled(2)).await;
    assert_eq!(source.refresh_state(&id).failures, 2);
    tokio::time::advance(Duration::from_secs(200)).await;
    settle().await;
    assert_eq!(env.refreshes(), 2, "Retry-After is honoured");
    tokio::time::advance(Duration::from_secs(110)).await;
    until("the third attempt", settled(3)).await;
    assert_eq!(source.refresh_state(&id).failures, 0);
    assert_ne!(env.tokens(&id).access(), Some(old.as_str()));
    assert_eq!(env.store.get(&id).unwrap().unwrap().status, Status::Ok);
    cancel.cancel();
    until("the scheduler stops", || scheduler.is_finished()).await;
}

#[tokio::test]
async fn the_scheduler_refreshes_each_provider_at_its_lead_and_replans_on_notify() {
    let env = Env::new().await;
    let claude_id = env.seed(Provider::Claude).await;
    let codex_id = env.seed(Provider::Codex).await;
    tokio::time::pause();
    let clock = Arc::new(TokioClock::new());
    env.expire_in(&claude_id, clock.now(), 5 * 3600);
    env.expire_in(&codex_id, clock.now(), 6 * 86_400);
    let (claude0, codex0) = (env.tokens(&claude_id), env.tokens(&codex_id));
    let source = env.source(clock.clone());
    let cancel = CancellationToken::new();
    let scheduler = source.spawn_scheduler(cancel.clone());
    // Refreshed and done (time must not jump while a request is in flight: its timeout would fire).
    let changed = |id: &AccountId, before: &Tokens| {
        env.tokens(id).refresh() != before.refresh() && !source.refresh_state(id).busy
    };

    settle().await;
    assert_eq!(env.refreshes(), 0);
    tokio::time::advance(Duration::from_secs(59 * 60)).await;
    settle().await;
    assert_eq!(env.refreshes(), 0, "Claude is not due before 4 h remain");
    tokio::time::advance(Duration::from_secs(2 * 60)).await;
    until("Claude refreshed 4 h before expiry", || {
        changed(&claude_id, &claude0)
    })
    .await;
    assert!(!changed(&codex_id, &codex0));

    // Codex is due one day in (6 days to expiry, 5 days lead).
    tokio::time::advance(Duration::from_secs(22 * 3600)).await;
    settle().await;
    assert!(
        !changed(&codex_id, &codex0),
        "Codex is not due before 5 days remain"
    );
    tokio::time::advance(Duration::from_secs(3600)).await;
    until("Codex refreshed 5 days before expiry", || {
        changed(&codex_id, &codex0)
    })
    .await;

    // An account added while the scheduler sleeps is planned as soon as it is told.
    env.mock.oauth().set_claude_identity(MockIdentity {
        email: "second@example.com".into(),
        account: "acc-claude-0002".into(),
        org_or_plan: "org-claude-0002".into(),
    });
    let added = env.seed(Provider::Claude).await;
    assert_ne!(added, claude_id);
    env.expire_in(&added, clock.now(), 600);
    let added0 = env.tokens(&added);
    settle().await;
    source.notify_changed();
    until("the new account refreshed without waiting", || {
        changed(&added, &added0)
    })
    .await;

    cancel.cancel();
    until("the scheduler stops", || scheduler.is_finished()).await;
}

/// What a [`FaultyStore`] refuses, and how often it was read.
#[derive(Default, Clone)]
struct Faults {
    refuse_writes: Arc<AtomicBool>,
    refuse_reads: Arc<AtomicBool>,
    reads: Arc<AtomicUsize>,
}

/// A file secret store that can refuse writes or reads, like a locked keychain or a full disk.
struct FaultyStore {
    files: FileSecretStore,
    faults: Faults,
}

fn refused(what: &str) -> AccountsError {
    AccountsError::KeychainUnavailable(format!("test: {what} refused"))
}

impl SecretStore for FaultyStore {
    fn get(&self, id: &AccountId) -> Result<Option<Tokens>, AccountsError> {
        self.faults.reads.fetch_add(1, Ordering::SeqCst);
        if self.faults.refuse_reads.load(Ordering::SeqCst) {
            return Err(refused("reads"));
        }
        self.files.get(id)
    }

    fn set(&self, id: &AccountId, tokens: &Tokens) -> Result<(), AccountsError> {
        if self.faults.refuse_writes.load(Ordering::SeqCst) {
            return Err(refused("writes"));
        }
        self.files.set(id, tokens)
    }

    fn delete(&self, id: &AccountId) -> Result<(), AccountsError> {
        self.files.delete(id)
    }

    fn describe(&self) -> String {
        self.files.describe()
    }
}

#[tokio::test]
async fn tokens_that_cannot_be_saved_stay_in_memory_and_are_saved_later() {
    let env = Env::new().await;
    let id = env.seed(Provider::Codex).await;
    let before = env.tokens(&id);
    env.expire_in(&id, OffsetDateTime::now_utc(), 60);
    let faults = Faults::default();
    faults.refuse_writes.store(true, Ordering::SeqCst);
    let store = env.faulty_store(&faults);
    let source = TokenSource::new(store, env.endpoints.clone(), RefreshOptions::default()).unwrap();

    // The provider rotated the pair: losing it now would lose the account, so it is used from memory.
    let token = source.access_token(&id).await.unwrap();
    assert!(source.refresh_state(&id).unsaved);
    assert_eq!(
        env.tokens(&id).refresh(),
        before.refresh(),
        "nothing written"
    );
    // Memory wins over the store's older (spent) pair, and no second refresh is made.
    assert_eq!(text(&source.access_token(&id).await.unwrap()), text(&token));
    assert_eq!(env.refreshes(), 1);

    faults.refuse_writes.store(false, Ordering::SeqCst);
    let cancel = CancellationToken::new();
    let scheduler = source.spawn_scheduler(cancel.clone());
    until("the scheduler saves the pair", || {
        !source.refresh_state(&id).unsaved
    })
    .await;
    assert_eq!(env.tokens(&id).access(), Some(text(&token)));
    assert_ne!(env.tokens(&id).refresh(), before.refresh());
    let expires = env.store.get(&id).unwrap().unwrap().expires_at.unwrap();
    assert!(expires - OffsetDateTime::now_utc() > time::Duration::days(9));
    assert_eq!(env.refreshes(), 1);
    cancel.cancel();
    scheduler.await.unwrap();

    // The hot path never touches the secret store.
    let before_hot = faults.reads.load(Ordering::SeqCst);
    for _ in 0..100 {
        assert_eq!(text(&source.access_token(&id).await.unwrap()), text(&token));
    }
    assert_eq!(faults.reads.load(Ordering::SeqCst), before_hot);
}

#[tokio::test]
async fn an_unreadable_store_does_not_make_the_scheduler_spin() {
    let env = Env::new().await;
    let id = env.seed(Provider::Claude).await;
    tokio::time::pause();
    let clock = Arc::new(TokioClock::new());
    env.expire_in(&id, clock.now(), 3600);
    let faults = Faults::default();
    faults.refuse_reads.store(true, Ordering::SeqCst);
    let source = TokenSource::with_clock(
        env.faulty_store(&faults),
        env.endpoints.clone(),
        RefreshOptions::default(),
        clock,
    )
    .unwrap();
    let cancel = CancellationToken::new();
    let scheduler = source.spawn_scheduler(cancel.clone());
    let reads = || faults.reads.load(Ordering::SeqCst);
    until("the first attempt", || {
        reads() >= 1 && !source.refresh_state(&id).busy
    })
    .await;
    // A scheduler that only slept "zero" would wake within this second.
    tokio::time::advance(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(reads(), 1, "waits before trying again");
    // Readable again: the next attempt, after the initial backoff, refreshes.
    faults.refuse_reads.store(false, Ordering::SeqCst);
    tokio::time::advance(Duration::from_secs(31)).await;
    until("the refresh", || {
        env.refreshes() == 1 && !source.refresh_state(&id).busy
    })
    .await;
    assert_eq!(env.store.get(&id).unwrap().unwrap().status, Status::Ok);
    cancel.cancel();
    until("the scheduler stops", || scheduler.is_finished()).await;
}

/// A secret store that stops the process dead right after a write lands: the kill test's
/// "after persisting" moment, without any hook in the code under test.
struct HangAfterWrite(FileSecretStore);

impl SecretStore for HangAfterWrite {
    fn get(&self, id: &AccountId) -> Result<Option<Tokens>, AccountsError> {
        self.0.get(id)
    }

    fn set(&self, id: &AccountId, tokens: &Tokens) -> Result<(), AccountsError> {
        self.0.set(id, tokens)?;
        println!("{PERSISTED}");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    fn delete(&self, id: &AccountId) -> Result<(), AccountsError> {
        self.0.delete(id)
    }

    fn describe(&self) -> String {
        self.0.describe()
    }
}

/// Not a test on its own: the process the kill tests start and SIGKILL. Without the environment
/// variable it does nothing.
#[tokio::test]
async fn child_process_for_kill_tests() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<&str> = spec.split('|').collect();
    let [mode, dir, id, addr] = parts[..] else {
        panic!("bad {CHILD_ENV}: {spec}")
    };
    let dir = Path::new(dir);
    let secrets: Arc<dyn SecretStore> = match mode {
        "after-persist" => Arc::new(HangAfterWrite(file_secrets(dir))),
        _ => Arc::new(file_secrets(dir)),
    };
    let source = TokenSource::new(
        open_store(dir, secrets),
        common::mock_endpoints(addr),
        RefreshOptions::default(),
    )
    .unwrap();
    let result = source.access_token(&AccountId::parse(id).unwrap()).await;
    println!("CHILD-DONE {}", result.is_ok());
}

enum KillAt {
    /// The provider has the request but has not answered (nor rotated).
    BeforeAnswer,
    /// The provider rotated the refresh token, then the process died before reading the answer.
    AfterRotation,
    /// The new pair is in the secret store; nothing else happened yet.
    AfterPersist,
}

/// A Codex account whose token is about to expire, a child process refreshing it, killed at `at`.
/// Returns the environment and the tokens stored before the refresh.
async fn kill_mid_refresh(at: KillAt) -> (Env, AccountId, Tokens) {
    let env = Env::new().await;
    let id = env.seed(Provider::Codex).await;
    env.expire_in(&id, OffsetDateTime::now_utc(), 60);
    let before = env.tokens(&id);
    let mode = match at {
        KillAt::BeforeAnswer => {
            let hold = RefreshFault::Hold {
                rotate_first: false,
            };
            env.mock.oauth().push_refresh_faults([hold]);
            "hold"
        }
        KillAt::AfterRotation => {
            let hold = RefreshFault::Hold { rotate_first: true };
            env.mock.oauth().push_refresh_faults([hold]);
            "hold"
        }
        KillAt::AfterPersist => "after-persist",
    };
    let spec = format!(
        "{mode}|{}|{id}|{}",
        env.tmp.path().display(),
        env.mock.addr()
    );
    let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "child_process_for_kill_tests",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, spec)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let reached = async {
        if mode == "after-persist" {
            while let Some(line) = lines.next_line().await.unwrap() {
                // libtest prints "test <name> ... " without a newline before the test's own output.
                assert!(!line.contains("CHILD-DONE"), "the child finished: {line}");
                if line.ends_with(PERSISTED) {
                    return;
                }
            }
            panic!("the child ended without persisting");
        } else {
            env.mock
                .oauth()
                .wait_for_refreshes(1, Duration::from_secs(60))
                .await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), reached)
        .await
        .expect("the child reaches the moment of the kill");
    assert_eq!(env.refreshes(), 1);
    child.kill().await.unwrap(); // SIGKILL on Unix
    (env, id, before)
}

/// What a fresh process finds: the store re-opened from disk and a new token source.
fn restart(env: &Env) -> (Arc<AccountStore>, TokenSource) {
    let store = open_store(env.tmp.path(), Arc::new(file_secrets(env.tmp.path())));
    let source = TokenSource::new(
        store.clone(),
        env.endpoints.clone(),
        RefreshOptions::default(),
    )
    .unwrap();
    (store, source)
}

/// The restarted process's view: the pair found on disk, after checking that it still gets the
/// account a fresh access token (a refresh with it succeeds) and the account is fine.
async fn found_and_usable_after_restart(env: &Env, id: &AccountId) -> Tokens {
    let (store, source) = restart(env);
    let found = store.tokens(id).unwrap().unwrap();
    let token = source.access_token(id).await.unwrap();
    assert_ne!(
        Some(text(&token)),
        found.access(),
        "refreshed with the found pair"
    );
    assert_eq!(store.get(id).unwrap().unwrap().status, Status::Ok);
    found
}

#[tokio::test]
async fn killed_before_the_answer_the_old_pair_still_works() {
    let (env, id, before) = kill_mid_refresh(KillAt::BeforeAnswer).await;
    let found = found_and_usable_after_restart(&env, &id).await;
    assert_eq!(found.refresh(), before.refresh());
    assert_eq!(found.access(), before.access());
}

#[tokio::test]
async fn killed_right_after_persisting_the_new_pair_is_kept_and_works() {
    let (env, id, before) = kill_mid_refresh(KillAt::AfterPersist).await;
    // The expiry was not updated before the kill, so the restarted source refreshes once more,
    // with the saved (new) refresh token.
    let found = found_and_usable_after_restart(&env, &id).await;
    assert_ne!(
        found.refresh(),
        before.refresh(),
        "the rotated pair was saved"
    );
    // The old refresh token was spent upstream: only the saved pair could keep the account.
    let spent = codex::refresh(&env.http, &env.endpoints.codex, before.refresh().unwrap())
        .await
        .unwrap_err();
    assert!(spent.needs_login());
}

/// The window nothing on our side can close (see `accounts::refresh`): the provider rotated a
/// single-use token and the answer died with the process. The account says so; no loop.
#[tokio::test]
async fn killed_after_the_provider_rotated_the_account_reports_needs_login() {
    let (env, id, before) = kill_mid_refresh(KillAt::AfterRotation).await;
    let (store, source) = restart(&env);
    assert_eq!(
        store.tokens(&id).unwrap().unwrap().refresh(),
        before.refresh()
    );
    let err = source.access_token(&id).await.unwrap_err();
    assert!(err.needs_login(), "{err}");
    assert_eq!(store.get(&id).unwrap().unwrap().status, Status::NeedsLogin);
    assert_eq!(env.refreshes(), 2);
    assert!(source.access_token(&id).await.is_err());
    assert_eq!(env.refreshes(), 2);
}
