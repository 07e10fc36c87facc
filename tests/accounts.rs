//! Accounts from other tools: CLIProxyAPI auth dirs, Claude Code and Codex CLI logins, on hand-written
//! fixtures shaped like the real files (fake tokens; the JWTs are unsigned).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Value};
use switchyard::accounts::cliproxy::{
    auth_file_name, export_auth_file, parse_auth_file, reconcile_auth_dir, write_auth_file,
};
use switchyard::accounts::import::{import_claude_code, import_codex_cli};
use switchyard::accounts::secret::FileSecretStore;
use switchyard::accounts::{
    AccountStore, AccountsError, Imported, OriginKind, Provider, SettingsMode, Upserted,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/accounts")
}

const CLAUDE_FILE: &str = "claude-dev@example.com.json";
const CODEX_FILE: &str = "codex-5cacc927-dev@example.com-pro.json";
const TEAM_FILE: &str = "team-seat.json";

fn parse(name: &str) -> Imported {
    let path = fixtures().join("auth-dir").join(name);
    parse_auth_file(&path, &fs::read(&path).unwrap())
        .unwrap()
        .unwrap()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

struct Env {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    store: AccountStore,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let secrets = Arc::new(FileSecretStore::open(&root.join("tokens")).unwrap());
    let store = AccountStore::open(&root.join("data"), secrets).unwrap();
    Env {
        _tmp: tmp,
        root,
        store,
    }
}

fn copy_auth_dir(to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(fixtures().join("auth-dir")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn cliproxy_files_load_with_their_per_file_settings() {
    let claude = parse(CLAUDE_FILE);
    assert_eq!(claude.account.provider, Provider::Claude);
    assert_eq!(
        claude.account.identity.email.as_deref(),
        Some("dev@example.com")
    );
    let expires = claude.account.expires_at.unwrap();
    assert_eq!(
        expires.unix_timestamp(),
        1_795_166_102,
        "17:15:02+08:00 is 09:15:02Z"
    );
    assert!(claude
        .tokens
        .refresh()
        .unwrap()
        .starts_with("sk-ant-ort01-FAKE"));
    assert!(
        claude.tokens.id_token.is_none(),
        "Claude's empty id_token is no token"
    );

    let codex = parse(CODEX_FILE);
    let a = &codex.account;
    assert_eq!(a.provider, Provider::Codex);
    assert_eq!(
        a.plan.as_deref(),
        Some("pro"),
        "plan from the id_token claim"
    );
    assert_eq!(
        a.identity.account_id.as_deref(),
        Some("a1b2c3d4-0000-4000-8000-00000000c0de")
    );
    assert_eq!(a.settings.prefix.as_deref(), Some("work"));
    assert_eq!(a.settings.priority, 2);
    assert_eq!(
        a.settings.proxy_url.as_deref(),
        Some("socks5://127.0.0.1:1080")
    );
    assert_eq!(a.settings.note.as_deref(), Some("main pro seat"));
    assert_eq!(
        a.settings.excluded_models,
        ["gpt-5-codex-mini", "*-preview"]
    );
    assert!(!a.settings.disabled);
    let kept: Vec<_> = codex.tokens.extra.0.keys().cloned().collect();
    assert_eq!(kept, ["user_agent", "plan_type"], "unknown keys are kept");

    let team = parse(TEAM_FILE);
    assert_eq!(team.account.plan.as_deref(), Some("team"));
    assert!(team.account.settings.disabled);
    assert_eq!(team.account.settings.priority, 1, "numeric string priority");
    assert_eq!(team.account.settings.excluded_models, ["o3"], "legacy key");
    assert!(
        !team.account.same_identity(&codex.account),
        "another workspace"
    );
}

#[test]
fn other_providers_and_our_own_token_files_are_not_accounts() {
    let path = fixtures().join("auth-dir/gemini-dev@example.com-my-project.json");
    assert!(parse_auth_file(&path, &fs::read(&path).unwrap())
        .unwrap()
        .is_none());
    let ours = br#"{"switchyard_tokens":1,"access_token":"x"}"#;
    assert!(parse_auth_file(Path::new("codex-x.json"), ours)
        .unwrap()
        .is_none());
    let no_tokens = br#"{"type":"claude","email":"a@b.c"}"#;
    let err = parse_auth_file(Path::new("claude-a.json"), no_tokens)
        .err()
        .unwrap();
    assert!(err.to_string().contains("no access_token"), "{err}");
}

#[test]
fn export_writes_back_the_same_json_under_the_same_name() {
    for name in [CLAUDE_FILE, CODEX_FILE] {
        let imported = parse(name);
        let (file_name, json) = export_auth_file(&imported.account, &imported.tokens);
        assert_eq!(file_name, name);
        assert_eq!(
            json,
            read_json(&fixtures().join("auth-dir").join(name)),
            "{name}"
        );
    }
    // The team file used the older spellings; export writes the current ones, same meaning.
    let team = parse(TEAM_FILE);
    let (_, json) = export_auth_file(&team.account, &team.tokens);
    let mut want = read_json(&fixtures().join("auth-dir").join(TEAM_FILE));
    let obj = want.as_object_mut().unwrap();
    obj.insert("priority".into(), json!(1));
    let models = obj.remove("excluded-models").unwrap();
    obj.insert("excluded_models".into(), models);
    assert_eq!(json, want);
}

#[test]
fn reconcile_follows_the_auth_dir_as_it_changes() {
    let env = env();
    let dir = env.root.join("auth");
    copy_auth_dir(&dir);
    let first = reconcile_auth_dir(&env.store, &dir).unwrap();
    assert_eq!(first.added.len(), 3, "{first:?}");
    assert!(first.skipped.is_empty(), "{first:?}");
    assert!(
        reconcile_auth_dir(&env.store, &dir).unwrap().is_empty(),
        "nothing changed"
    );

    // Edit: a rotated refresh token and a new priority.
    let codex_path = dir.join(CODEX_FILE);
    let mut codex = read_json(&codex_path);
    codex["refresh_token"] = json!("rt_FAKE-rotated");
    codex["priority"] = json!(9);
    fs::write(&codex_path, codex.to_string()).unwrap();
    // A half-written file keeps its account; our own token files are ignored.
    fs::write(dir.join(CLAUDE_FILE), "{\"type\":\"cla").unwrap();
    fs::write(dir.join("switchyard-codex-000000000001.json"), "{}").unwrap();
    let second = reconcile_auth_dir(&env.store, &dir).unwrap();
    assert_eq!(second.changed.len(), 1, "{second:?}");
    assert!(
        second.added.is_empty() && second.removed.is_empty(),
        "{second:?}"
    );
    assert_eq!(second.skipped.len(), 1, "{second:?}");
    let id = &second.changed[0];
    assert_eq!(
        env.store.tokens(id).unwrap().unwrap().refresh(),
        Some("rt_FAKE-rotated")
    );
    assert_eq!(env.store.get(id).unwrap().unwrap().settings.priority, 9);

    // Delete: the account goes, tokens and all.
    fs::remove_file(dir.join(CLAUDE_FILE)).unwrap();
    let third = reconcile_auth_dir(&env.store, &dir).unwrap();
    assert_eq!(third.removed.len(), 1, "{third:?}");
    assert!(env.store.tokens(&third.removed[0]).unwrap().is_none());
    let providers: Vec<_> = env
        .store
        .list()
        .unwrap()
        .iter()
        .map(|a| a.provider)
        .collect();
    assert_eq!(providers, [Provider::Codex, Provider::Codex]);
}

#[test]
fn a_file_that_now_holds_another_account_replaces_it() {
    let env = env();
    let dir = env.root.join("auth");
    fs::create_dir_all(&dir).unwrap();
    let path = dir.join("claude-me.json");
    let file =
        |email: &str| json!({"type":"claude","email":email,"access_token":"a","refresh_token":"r"});
    fs::write(&path, file("one@example.com").to_string()).unwrap();
    let first = reconcile_auth_dir(&env.store, &dir).unwrap();
    fs::write(&path, file("two@example.com").to_string()).unwrap();
    let second = reconcile_auth_dir(&env.store, &dir).unwrap();
    assert_eq!(second.removed, first.added);
    assert_eq!(second.added.len(), 1);
    let list = env.store.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].identity.email.as_deref(), Some("two@example.com"));
}

#[test]
fn claude_code_login_imports_and_matches_the_same_account() {
    let home = fixtures().join("home");
    let cc = import_claude_code(&home).unwrap();
    let a = &cc.account;
    assert_eq!(a.provider, Provider::Claude);
    assert_eq!(a.identity.email.as_deref(), Some("dev@example.com"));
    assert_eq!(
        a.identity.account_uuid.as_deref(),
        Some("0f1e2d3c-0000-4000-8000-0000000acc07")
    );
    assert_eq!(a.plan.as_deref(), Some("max"));
    assert_eq!(a.expires_at.unwrap().unix_timestamp(), 1_795_000_000);
    assert_eq!(a.origin.as_ref().unwrap().kind, OriginKind::ClaudeCode);
    assert!(cc.tokens.access().unwrap().contains("claudecode-access"));

    let env = env();
    let added = env.store.import(cc, SettingsMode::KeepExisting).unwrap();
    env.store
        .set_label(added.id(), Some("laptop".into()))
        .unwrap();
    // CLIProxyAPI's file for the same person (email only) updates it instead of adding a twin.
    let again = env
        .store
        .import(parse(CLAUDE_FILE), SettingsMode::KeepExisting)
        .unwrap();
    assert_eq!(again, Upserted::Updated(added.id().clone()));
    let list = env.store.list().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].settings.label.as_deref(), Some("laptop"));
    assert_eq!(
        list[0].plan.as_deref(),
        Some("max"),
        "plan known before stays"
    );
    let exported = auth_file_name(&env.store.get(added.id()).unwrap().unwrap());
    assert_eq!(exported, CLAUDE_FILE, "came from that file last");
}

#[test]
fn codex_cli_login_imports_and_exports_under_cliproxy_naming() {
    let home = fixtures().join("home");
    let cx = import_codex_cli(&home).unwrap();
    let a = &cx.account;
    assert_eq!(a.identity.email.as_deref(), Some("dev@example.com"));
    assert_eq!(a.plan.as_deref(), Some("pro"));
    assert_eq!(a.expires_at.unwrap().unix_timestamp(), 1_795_200_000);
    assert_eq!(a.last_refresh.unwrap().unix_timestamp(), 1_795_264_496);
    assert!(a.same_identity(&parse(CODEX_FILE).account));

    let env = env();
    let out = env.root.join("export");
    let path = write_auth_file(&out, a, &cx.tokens).unwrap();
    assert_eq!(
        path.file_name().unwrap(),
        CODEX_FILE,
        "codex-<sha8(account_id)>-<email>-<plan>"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let back = parse_auth_file(&path, &fs::read(&path).unwrap())
        .unwrap()
        .unwrap();
    assert!(back.account.same_identity(a));
    assert_eq!(back.tokens.refresh(), cx.tokens.refresh());
    assert_eq!(back.account.expires_at, a.expires_at);

    let cc = import_claude_code(&home).unwrap();
    let (name, _) = export_auth_file(&cc.account, &cc.tokens);
    assert_eq!(
        name, "claude-ac45b417-dev@example.com.json",
        "hash of the organization uuid"
    );
}

#[test]
fn missing_or_unusable_logins_say_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    let err = import_codex_cli(tmp.path()).err().unwrap();
    assert!(matches!(err, AccountsError::SourceMissing { .. }), "{err}");
    assert!(err.to_string().contains(".codex/auth.json"), "{err}");
    assert!(import_claude_code(tmp.path()).is_err());

    fs::create_dir_all(tmp.path().join(".codex")).unwrap();
    let api_key_only = json!({"OPENAI_API_KEY": "sk-FAKE", "tokens": null});
    fs::write(
        tmp.path().join(".codex/auth.json"),
        api_key_only.to_string(),
    )
    .unwrap();
    let err = import_codex_cli(tmp.path()).err().unwrap();
    assert!(err.to_string().contains("API key"), "{err}");
    fs::write(tmp.path().join(".codex/auth.json"), "{oops").unwrap();
    assert!(matches!(
        import_codex_cli(tmp.path()),
        Err(AccountsError::Json { .. })
    ));
}

#[test]
fn debug_of_an_imported_account_shows_no_token_text() {
    let home = fixtures().join("home");
    let all = [
        parse(CLAUDE_FILE),
        parse(CODEX_FILE),
        import_claude_code(&home).unwrap(),
        import_codex_cli(&home).unwrap(),
    ];
    for imported in all {
        let shown = format!("{imported:?}");
        for t in [
            imported.tokens.access(),
            imported.tokens.refresh(),
            imported.tokens.id(),
        ]
        .into_iter()
        .flatten()
        {
            assert!(!shown.contains(t), "token text in Debug: {shown}");
        }
        assert!(shown.contains("dev@example.com"));
    }
}
