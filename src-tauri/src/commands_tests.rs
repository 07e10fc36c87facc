//! The IPC commands through Tauri's mock runtime (real IPC decoding, argument names and serialisation)
//! against a real proxy on 127.0.0.1:0 with a throwaway config, file secret store and auth dir.

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{
    get_ipc_response, mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY,
};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow, WebviewWindowBuilder};

use crate::DesktopState;

const CLIENT_KEY: &str = "ipc-test-key";

struct Fixture {
    _app: App<MockRuntime>,
    webview: WebviewWindow<MockRuntime>,
    dir: tempfile::TempDir,
}

impl Fixture {
    /// An app whose commands see no proxy yet.
    fn without_proxy() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = mock_builder()
            .plugin(tauri_plugin_opener::init())
            .plugin(tauri_plugin_autostart::Builder::new().build())
            .manage(DesktopState::default())
            .invoke_handler(super::handler())
            .build(mock_context(noop_assets()))
            .expect("mock app builds");
        let webview = WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("mock webview");
        Fixture {
            _app: app,
            webview,
            dir,
        }
    }

    /// An app with a real proxy attached, started on the runtime the commands run on.
    fn with_proxy() -> Fixture {
        let fixture = Fixture::without_proxy();
        let auth = fixture.dir.path().join("auth");
        let config = fixture.dir.path().join("config.yaml");
        std::fs::write(
            &config,
            format!(
                "host: 127.0.0.1\nport: 0\nusage-database-path: usage.sqlite\napi-keys: [{CLIENT_KEY}]\nauth-dir: \"{}\"\nsecret-store: file\nshutdown-timeout: 1\n",
                auth.display()
            ),
        )
        .expect("write config");
        let proxy = tauri::async_runtime::block_on(switchyard::start(switchyard::StartOptions {
            config_path: Some(config),
            on_config: None,
        }))
        .expect("proxy starts");
        let state = fixture.webview.state::<DesktopState>();
        assert!(state.attach(proxy).is_ok());
        fixture
    }

    fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().expect("url"),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.webview, request)
            .map(|body| body.deserialize::<Value>().expect("JSON result"))
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args)
            .unwrap_or_else(|err| panic!("{cmd} failed: {err}"))
    }

    /// The error's `kind`, asserting it is a ServiceError (not Tauri's own argument error string).
    fn err_kind(&self, cmd: &str, args: Value) -> String {
        let err = self
            .invoke(cmd, args)
            .expect_err(&format!("{cmd} should fail"));
        assert!(
            err["message"].is_string(),
            "{cmd}: not a ServiceError: {err}"
        );
        err["kind"].as_str().unwrap_or_default().to_owned()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(proxy) = self.webview.state::<DesktopState>().detach(true) {
            tauri::async_runtime::block_on(proxy.shutdown());
        }
    }
}

#[test]
fn without_a_proxy_commands_are_unavailable() {
    let app = Fixture::without_proxy();
    for (cmd, args) in [
        ("status", json!({})),
        ("accounts", json!({"withQuota": false})),
        ("settings", json!({})),
        ("api_keys", json!({})),
        ("usage_summary", json!({})),
        ("usage_events", json!({})),
    ] {
        assert_eq!(app.err_kind(cmd, args), "unavailable", "{cmd}");
    }
    let err = app.invoke("status", json!({})).expect_err("unavailable");
    assert_eq!(
        err,
        json!({"kind": "unavailable", "message": "the proxy is not running: start it from the tray"})
    );
}

#[test]
fn status_models_and_accounts() {
    let app = Fixture::with_proxy();
    let status = app.ok("status", json!({}));
    let endpoint = status["endpoint"].as_str().expect("endpoint");
    assert!(endpoint.starts_with("http://127.0.0.1:"), "{status}");
    assert_ne!(endpoint, "http://127.0.0.1:0");
    assert_eq!(status["client_key_required"], true);
    assert_eq!(status["accounts"], 0);

    assert_eq!(app.ok("accounts", json!({"withQuota": true})), json!([]));
    assert!(app.ok("models", json!({})).is_array());
}

#[test]
fn account_ids_are_checked_before_the_service() {
    let app = Fixture::with_proxy();
    for id in ["../etc/passwd", "", "Claude-ABC", &"a".repeat(65)] {
        assert_eq!(
            app.err_kind("remove_account", json!({"id": id})),
            "invalid",
            "{id}"
        );
    }
    assert_eq!(
        app.err_kind(
            "update_account",
            json!({"id": "claude-1", "patch": {"label": "x".repeat(300)}})
        ),
        "invalid"
    );
    // A well-formed id of no account reaches the service, which does not know it.
    assert_eq!(
        app.err_kind(
            "update_account",
            json!({"id": "claude-0123456789ab", "patch": {"enabled": false}})
        ),
        "not_found"
    );
}

#[test]
fn auth_files_become_accounts() {
    let app = Fixture::with_proxy();
    let file = json!({
        "type": "claude",
        "email": "ipc@example.com",
        "access_token": "at-ipc",
        "refresh_token": "rt-ipc",
    })
    .to_string();
    let args = json!({"name": "claude-ipc.json", "content": file});
    let imported = app.ok("import_account_file", args.clone());
    assert_eq!(imported["added"], true, "{imported}");
    assert_eq!(imported["account"]["email"], "ipc@example.com");
    assert_eq!(app.ok("import_account_file", args)["added"], false);
    assert_eq!(
        app.ok("accounts", json!({"withQuota": false}))
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    for (name, content) in [
        ("x".repeat(300) + ".json", file.clone()),
        ("claude-ipc.txt".to_string(), file.clone()),
        ("claude-ipc.json".to_string(), "{not json".to_string()),
    ] {
        assert_eq!(
            app.err_kind(
                "import_account_file",
                json!({"name": name, "content": content})
            ),
            "invalid",
            "{name}"
        );
    }
}

#[test]
fn login_lifecycle_and_checked_names() {
    let app = Fixture::with_proxy();
    assert_eq!(
        app.err_kind(
            "start_login",
            json!({"provider": "gemini", "method": "browser"})
        ),
        "invalid"
    );
    assert_eq!(
        app.err_kind(
            "start_login",
            json!({"provider": "claude", "method": "fax"})
        ),
        "invalid"
    );
    assert_eq!(
        app.err_kind("login_status", json!({"id": "no/such login"})),
        "invalid"
    );

    // A browser login needs no network until the browser comes back: it opens a loopback port and
    // builds the provider's URL.
    let login = app.ok(
        "start_login",
        json!({"provider": "claude", "method": "browser"}),
    );
    assert_eq!(login["provider"], "claude");
    assert_eq!(login["method"], "browser");
    assert_eq!(login["status"], json!({"state": "pending"}));
    assert!(login["url"]
        .as_str()
        .is_some_and(|u| u.starts_with("https://")));
    let id = login["id"].as_str().expect("login id");

    assert_eq!(
        app.ok("login_status", json!({"id": id})),
        json!({"state": "pending"})
    );
    assert_eq!(
        app.err_kind(
            "submit_login",
            json!({"id": id, "pasted": "x".repeat(5000)})
        ),
        "invalid"
    );
    assert_eq!(app.ok("cancel_login", json!({"id": id})), Value::Null);
    assert_eq!(
        app.ok("login_status", json!({"id": id})),
        json!({"state": "cancelled"})
    );
}

#[test]
fn config_text_check_and_save() {
    let app = Fixture::with_proxy();
    let config = app.ok("config", json!({}));
    let yaml = config["yaml"].as_str().expect("yaml").to_owned();
    assert!(yaml.contains(CLIENT_KEY));
    assert!(config["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("config.yaml")));

    assert_eq!(app.ok("check_config", json!({"yaml": yaml})), json!([]));
    let problems = app.ok("check_config", json!({"yaml": "port: lots\n"}));
    assert_eq!(problems[0]["line"], 1, "{problems}");
    assert_eq!(problems[0]["severity"], "error");

    let refused = app
        .invoke("save_config", json!({"yaml": "port: lots\n"}))
        .expect_err("invalid config refused");
    assert_eq!(refused["kind"], "invalid");
    assert!(refused["problems"]
        .as_array()
        .is_some_and(|p| !p.is_empty()));
    assert_eq!(
        app.err_kind("save_config", json!({"yaml": "#".repeat(2 << 20)})),
        "invalid"
    );

    let saved = format!("{yaml}request-retry: 2\n");
    assert_eq!(app.ok("save_config", json!({"yaml": saved})), json!([]));
    assert_eq!(app.ok("settings", json!({}))["request_retry"], 2);
}

#[test]
fn settings_keys_and_logs() {
    let app = Fixture::with_proxy();
    assert_eq!(app.ok("settings", json!({}))["host"], "127.0.0.1");
    let updated = app.ok(
        "update_settings",
        json!({"patch": {"strategy": "fill-first"}}),
    );
    assert_eq!(updated["settings"]["strategy"], "fill-first");
    assert!(updated["warnings"].is_array());
    assert_eq!(
        app.err_kind("update_settings", json!({"patch": {"strategy": "fastest"}})),
        "invalid"
    );

    assert_eq!(app.ok("api_keys", json!({})), json!([CLIENT_KEY]));
    let created = app.ok("create_api_key", json!({}));
    let key = created["key"].as_str().expect("new key").to_owned();
    assert_eq!(app.ok("api_keys", json!({})), json!([CLIENT_KEY, key]));
    assert_eq!(app.ok("revoke_api_key", json!({"key": key})), Value::Null);
    assert_eq!(app.ok("api_keys", json!({})), json!([CLIENT_KEY]));

    assert!(app
        .ok("logs", json!({"after": 0, "level": "info", "limit": 5}))
        .is_array());
    assert_eq!(
        app.err_kind("logs", json!({"after": 0, "level": "loud", "limit": 5})),
        "invalid"
    );
}

#[test]
fn desktop_commands() {
    let app = Fixture::without_proxy();
    for url in [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "not a url",
        "smb://host/share",
    ] {
        assert_eq!(
            app.err_kind("open_url", json!({"url": url})),
            "invalid",
            "{url}"
        );
    }
    // Reading the launch-at-login state touches nothing; changing it is left to the real app.
    assert!(app.ok("autostart_get", json!({})).is_boolean());
}

/// Two requests as a Switchyard export holds them: one answered, one refused upstream.
fn usage_document() -> Value {
    let event = |id: &str, minutes_ago: i64, status: u16, error: Option<&str>, input: u64| {
        let time = time::OffsetDateTime::now_utc() - time::Duration::minutes(minutes_ago);
        json!({
            "request_id": id,
            "time": time.format(&time::format_description::well_known::Rfc3339).expect("format"),
            "client_key": "key-1a2b3c4d", "format": "anthropic", "provider": "claude",
            "credential": "claude-work", "model": "claude-sonnet-4-5",
            "upstream_model": "claude-sonnet-4-5-20250929", "stream": false, "status": status,
            "error_class": error, "latency_ms": 900, "ttfb_ms": 300, "input_tokens": input,
            "output_tokens": 7, "cached_tokens": 0, "reasoning_tokens": 0, "retries": 0, "failovers": 0,
        })
    };
    json!({
        "version": 1, "exported_at": "2026-11-22T10:00:00Z", "usage": {},
        "switchyard": {"version": 1, "events": [
            event("ipc-ok", 2, 200, None, 11),
            event("ipc-failed", 1, 429, Some("rate_limited"), 0),
        ]},
    })
}

#[test]
fn usage_history_import_summary_events_detail_and_export() {
    let app = Fixture::with_proxy();
    let empty = app.ok("usage_summary", json!({}));
    assert_eq!(empty["enabled"], true, "{empty}");
    assert_eq!(empty["totals"]["requests"], 0);

    let imported = app.ok("import_usage", json!({"document": usage_document()}));
    assert_eq!(imported["added"], 2, "{imported}");
    assert_eq!(imported["format"], "switchyard");
    let again = app.ok("import_usage", json!({"document": usage_document()}));
    assert_eq!(
        (again["added"].clone(), again["skipped"].clone()),
        (json!(0), json!(2))
    );

    let summary = app.ok("usage_summary", json!({"bucket": "hour"}));
    assert_eq!(summary["bucket"], "hour");
    assert_eq!(summary["totals"]["requests"], 2, "{summary}");
    assert_eq!(summary["totals"]["errors"], 1);
    assert_eq!(summary["by_model"][0]["key"], "claude-sonnet-4-5");

    // Newest first, one to a page, the cursor leading to the older one.
    let first = app.ok("usage_events", json!({"limit": 1}));
    assert_eq!(first["events"][0]["request_id"], "ipc-failed", "{first}");
    let before = first["next"].as_str().expect("a cursor").to_owned();
    let second = app.ok("usage_events", json!({"limit": 1, "before": before}));
    assert_eq!(second["events"][0]["request_id"], "ipc-ok", "{second}");
    let errors = app.ok(
        "usage_events",
        json!({"errorsOnly": true, "model": "claude-sonnet-4-5"}),
    );
    assert_eq!(
        errors["events"].as_array().map(Vec::len),
        Some(1),
        "{errors}"
    );

    let detail = app.ok("usage_event", json!({"id": "ipc-ok"}));
    assert_eq!(detail["event"]["input_tokens"], 11, "{detail}");
    assert_eq!(detail["log"], Value::Null);
    assert_eq!(
        app.err_kind("usage_event", json!({"id": "no-such-request"})),
        "not_found"
    );

    let hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
    let since = app.ok(
        "usage_since",
        json!({"from": hour_ago.format(&time::format_description::well_known::Rfc3339).expect("format")}),
    );
    assert_eq!(
        (since["requests"].clone(), since["tokens"].clone()),
        (json!(2), json!(25)),
        "{since}"
    );

    let export = app.ok("export_usage", json!({}));
    assert_eq!(
        export["switchyard"]["events"].as_array().map(Vec::len),
        Some(2),
        "{export}"
    );
    assert_eq!(export["usage"]["total_requests"], 2);
}

#[test]
fn usage_arguments_are_checked_before_the_service() {
    let app = Fixture::with_proxy();
    for (cmd, args) in [
        ("usage_summary", json!({"bucket": "week"})),
        ("usage_summary", json!({"from": "x".repeat(100)})),
        ("usage_events", json!({"limit": 0})),
        ("usage_events", json!({"limit": 100_000})),
        ("usage_events", json!({"model": "m".repeat(300)})),
        ("usage_event", json!({"id": ""})),
        ("usage_event", json!({"id": "r".repeat(300)})),
        ("usage_since", json!({"from": "t".repeat(100)})),
        ("import_usage", json!({"document": "not a document"})),
        ("import_usage", json!({"document": [1, 2]})),
    ] {
        assert_eq!(app.err_kind(cmd, args.clone()), "invalid", "{cmd} {args}");
    }
}

#[test]
fn usage_history_and_request_log_are_settings() {
    let app = Fixture::with_proxy();
    let settings = app.ok("settings", json!({}));
    assert_eq!(
        (
            settings["usage_statistics_enabled"].clone(),
            settings["request_log"].clone()
        ),
        (json!(true), json!(false))
    );
    let updated = app.ok(
        "update_settings",
        json!({"patch": {"usage_statistics_enabled": false, "request_log": true}}),
    );
    assert_eq!(
        updated["settings"]["usage_statistics_enabled"], false,
        "{updated}"
    );
    assert_eq!(updated["settings"]["request_log"], true);
    assert_eq!(app.ok("usage_summary", json!({}))["enabled"], false);
}

/// The tray's usage line reads the same history, and goes away when usage history is turned off.
#[test]
fn the_tray_usage_line_follows_the_history_and_the_setting() {
    let app = Fixture::with_proxy();
    let service = || {
        app.webview
            .state::<DesktopState>()
            .service()
            .expect("a running proxy")
    };
    let line = || tauri::async_runtime::block_on(crate::tray_usage::today_line(&service()));
    assert_eq!(line().as_deref(), Some("Today: 0 tokens · 0 requests"));

    app.ok("import_usage", json!({"document": usage_document()}));
    // The two requests were a minute or two ago: today, unless local midnight has only just passed.
    let midnight = crate::tray_usage::today_start(chrono::Local::now());
    if chrono::Utc::now() - midnight > chrono::Duration::minutes(5) {
        assert_eq!(line().as_deref(), Some("Today: 25 tokens · 2 requests"));
    }

    app.ok(
        "update_settings",
        json!({"patch": {"usage_statistics_enabled": false}}),
    );
    assert_eq!(line(), None);
}
