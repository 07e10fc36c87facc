//! The management API over HTTP, as the UI and the tools written for CLIProxyAPI drive it: the key and
//! who may use it, every `switchyard/…` route, logins from start to a stored account, config and
//! settings edits that keep the file's comments and take effect at once, client keys, and CLIProxyAPI's
//! own paths in its shapes.

mod common;

use std::time::Duration;

use common::{accounts_only_yaml, browser, Harness, CLIENT_KEY};
use reqwest::Method;
use serde_json::{json, Value};
use switchyard_mock::MockUpstream;

const KEY: &str = "test-management-key";

/// A proxy with no upstream keys (logins add accounts), tokens in files under a temp dir, and `KEY` as
/// the management key. `extra` goes at the top of the file.
async fn proxy(extra: &str) -> (Harness, tempfile::TempDir) {
    let mock = MockUpstream::start().await;
    let auth = tempfile::tempdir().unwrap();
    let yaml = format!(
        "{extra}remote-management:\n  secret-key: {KEY}\n{}",
        accounts_only_yaml(&mock, auth.path())
    );
    (Harness::with_config(mock, &yaml).await, auth)
}

/// One management call with the key: its status and JSON body (`null` when there is none).
async fn call(h: &Harness, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    h.manage(KEY, method, path, body).await
}

/// A call that must answer `status`; returns its body.
async fn answer(
    h: &Harness,
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
) -> Value {
    let (code, body) = call(h, method.clone(), path, body).await;
    assert_eq!(code, status, "{method} {path}: {body}");
    body
}

/// A call that must fail with `status` and a ServiceError of `kind`; returns the error.
async fn fails(
    h: &Harness,
    method: Method,
    path: &str,
    body: Option<Value>,
    (status, kind): (u16, &str),
) -> Value {
    let (code, err) = call(h, method, &format!("switchyard/{path}"), body).await;
    assert_eq!(
        (code, err["kind"].as_str()),
        (status, Some(kind)),
        "{path}: {err}"
    );
    err
}

/// `GET` with the key, the answer as it came (for its headers or a body that is not JSON).
async fn get_raw(h: &Harness, path: &str) -> reqwest::Response {
    h.http
        .get(h.url(&format!("/v0/management/{path}")))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap()
}

async fn get(h: &Harness, path: &str) -> Value {
    let (status, body) = call(h, Method::GET, path, None).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    body
}

/// `GET switchyard/status` with exactly these headers.
async fn status_with(h: &Harness, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = h.http.get(h.url("/v0/management/switchyard/status"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("the proxy answers")
}

/// The status of `/v1/models` asked with client key `key`.
async fn models_status(h: &Harness, key: &str) -> u16 {
    h.http
        .get(h.url("/v1/models"))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Plays the browser at the sign-in page `url`: the mock signs in and redirects to the login's loopback
/// callback, which the browser follows.
async fn sign_in(url: &str) {
    let page = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .unwrap();
    assert!(
        page.status().is_success(),
        "callback page: {}",
        page.status()
    );
}

/// Polls `path` until `done` accepts its body (10 s at most) and returns that body.
async fn poll(h: &Harness, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let body = get(h, path).await;
        if done(&body) {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{path} still {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn without_a_key_configured_there_is_no_management_api() {
    let h = Harness::start().await;
    for path in [
        "/v0/management/switchyard/status",
        "/v0/management/config",
        "/management.html",
    ] {
        let resp = h
            .http
            .get(h.url(path))
            .bearer_auth(CLIENT_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404, "{path}");
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("remote-management.secret-key"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn wrong_keys_are_refused_and_the_sixth_attempt_is_barred() {
    let (h, _auth) = proxy("").await;
    let bearer = |key: &str| format!("Bearer {key}");
    // The client key is not the management key, and no key at all is refused too.
    let client_key = bearer(CLIENT_KEY);
    assert_eq!(
        status_with(&h, &[("authorization", &client_key)])
            .await
            .status(),
        401
    );
    assert_eq!(status_with(&h, &[]).await.status(), 401);
    // Either header carries the right key, and a success clears the count.
    assert_eq!(
        status_with(&h, &[("x-management-key", KEY)]).await.status(),
        200
    );
    let guess = bearer("guess");
    for _ in 0..5 {
        let resp = status_with(&h, &[("authorization", &guess)]).await;
        assert_eq!(resp.status(), 401);
        let body: Value = resp.json().await.unwrap();
        let message = body["error"].as_str().unwrap();
        assert!(message.contains("invalid management key"), "{body}");
    }
    // Barred now, even with the right key, and told for how long.
    let resp = status_with(&h, &[("authorization", &bearer(KEY))]).await;
    assert_eq!(resp.status(), 429);
    assert!(common::retry_after_secs(&resp) > 29 * 60);
    // The proxy itself still serves its clients.
    assert_eq!(models_status(&h, CLIENT_KEY).await, 200);
}

#[tokio::test]
async fn every_switchyard_route_answers_in_its_documented_shape() {
    let (h, _auth) = proxy("").await;
    let status = get(&h, "switchyard/status").await;
    assert_eq!(status["endpoint"], h.proxy().base_url());
    assert_eq!(status["client_key_required"], true);
    assert_eq!(status["accounts"], 0);
    assert_eq!(get(&h, "switchyard/accounts").await, json!([]));
    assert_eq!(get(&h, "switchyard/accounts?quota=true").await, json!([]));
    assert!(get(&h, "switchyard/models").await.is_array());
    let config = get(&h, "switchyard/config").await;
    assert!(config["yaml"].as_str().unwrap().contains("secret-key"));
    assert_eq!(config["path"], h.config_path().display().to_string());
    let settings = get(&h, "switchyard/settings").await;
    assert_eq!(settings["strategy"], "round-robin");
    assert_eq!(settings["request_retry"], 3);
    assert_eq!(get(&h, "switchyard/api-keys").await, json!([CLIENT_KEY]));
    let logs = get(&h, "switchyard/logs?after=0&level=debug&limit=5").await;
    assert!(logs.as_array().unwrap().len() <= 5);

    // Errors are ServiceErrors with their status.
    fails(&h, Method::GET, "logs?level=loud", None, (400, "invalid")).await;
    fails(
        &h,
        Method::DELETE,
        "accounts/claude-000000000000",
        None,
        (404, "not_found"),
    )
    .await;
    fails(&h, Method::GET, "logins/nope", None, (404, "not_found")).await;
    fails(
        &h,
        Method::POST,
        "logins",
        Some(json!({"provider": "gemini"})),
        (400, "invalid"),
    )
    .await;
    let body = answer(
        &h,
        Method::PATCH,
        "switchyard/settings",
        Some(json!({"strategy": "fastest"})),
        400,
    )
    .await;
    assert!(
        body["message"].as_str().unwrap().contains("fastest"),
        "{body}"
    );
    let problems = answer(
        &h,
        Method::POST,
        "switchyard/config/check",
        Some(json!({"yaml": "port: [1\n"})),
        200,
    )
    .await;
    assert_eq!(problems[0]["severity"], "error", "{problems}");
}

#[tokio::test]
async fn a_login_started_over_http_ends_as_an_account() {
    let (h, _auth) = proxy("").await;
    let login = answer(
        &h,
        Method::POST,
        "switchyard/logins",
        Some(json!({"provider": "claude", "method": "browser"})),
        200,
    )
    .await;
    assert_eq!(login["status"]["state"], "pending");
    let id = login["id"].as_str().unwrap();
    sign_in(login["url"].as_str().unwrap()).await;
    let done = poll(&h, &format!("switchyard/logins/{id}"), |s| {
        s["state"] != "pending"
    })
    .await;
    assert_eq!(done["state"], "succeeded", "{done}");
    let account = done["account"].as_str().unwrap().to_string();

    let accounts = get(&h, "switchyard/accounts").await;
    assert_eq!(accounts[0]["id"], account.as_str());
    assert_eq!(accounts[0]["provider"], "claude");
    assert_eq!(get(&h, "switchyard/status").await["accounts"], 1);

    let changed = answer(
        &h,
        Method::PATCH,
        &format!("switchyard/accounts/{account}"),
        Some(json!({"label": "work", "enabled": false})),
        200,
    )
    .await;
    assert_eq!(
        (changed["label"].as_str(), changed["disabled"].as_bool()),
        (Some("work"), Some(true))
    );

    // A second login that is cancelled, and one that gets a bad paste.
    let (_, second) = call(
        &h,
        Method::POST,
        "switchyard/logins",
        Some(json!({"provider": "codex", "method": "paste"})),
    )
    .await;
    let second = second["id"].as_str().unwrap().to_string();
    // An answer carrying another login's state is refused.
    let foreign = Some(json!({"pasted": "http://localhost/callback?state=other&code=x"}));
    let paste = format!("logins/{second}/paste");
    fails(&h, Method::POST, &paste, foreign, (400, "invalid")).await;
    answer(
        &h,
        Method::DELETE,
        &format!("switchyard/logins/{second}"),
        None,
        200,
    )
    .await;
    assert_eq!(
        get(&h, &format!("switchyard/logins/{second}")).await["state"],
        "cancelled"
    );

    answer(
        &h,
        Method::DELETE,
        &format!("switchyard/accounts/{account}"),
        None,
        200,
    )
    .await;
    assert_eq!(get(&h, "switchyard/accounts").await, json!([]));
}

#[tokio::test]
async fn a_broken_config_is_refused_with_positions_and_nothing_is_written() {
    let (h, _auth) = proxy("").await;
    let before = std::fs::read_to_string(h.config_path()).unwrap();
    let broken = format!("{before}routing:\n  strategy: fastest\n");
    let body = Some(json!({"yaml": broken}));
    let err = fails(&h, Method::PUT, "config", body, (400, "invalid")).await;
    let problem = &err["problems"][0];
    assert!(
        problem["line"].as_u64().unwrap() > 1 && problem["column"].as_u64().unwrap() > 0,
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(h.config_path()).unwrap(), before);

    // CLIProxyAPI's PUT config.yaml refuses the same text with 422 and its problems.
    let resp = h
        .http
        .put(h.url("/v0/management/config.yaml"))
        .bearer_auth(KEY)
        .body("port: [1\n")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"], "invalid_config");
    assert!(body["problems"][0]["line"].is_u64(), "{body}");
    assert_eq!(std::fs::read_to_string(h.config_path()).unwrap(), before);

    // A good one is written as sent and served at once.
    let good = before.replace("request-retry: 3", "request-retry: 1");
    let warnings = answer(
        &h,
        Method::PUT,
        "switchyard/config",
        Some(json!({"yaml": good})),
        200,
    )
    .await;
    assert_eq!(warnings, json!([]));
    assert_eq!(std::fs::read_to_string(h.config_path()).unwrap(), good);
    assert_eq!(get(&h, "switchyard/settings").await["request_retry"], 1);
    let text = get_raw(&h, "config.yaml").await;
    assert!(text.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/yaml"));
    assert_eq!(text.text().await.unwrap(), good);
}

#[tokio::test]
async fn settings_are_edited_in_place_and_applied() {
    let (h, _auth) = proxy("# Switchyard, set up by hand\ndebug: false # quiet please\n").await;
    let changed = answer(&h,
        Method::PATCH,
        "switchyard/settings",
        Some(json!({"strategy": "fill-first", "request_retry": 5, "debug": true, "proxy_url": "direct"})), 200).await;
    assert_eq!(changed["settings"]["strategy"], "fill-first");
    assert_eq!(changed["settings"]["request_retry"], 5);
    assert_eq!(changed["settings"]["proxy_url"], "direct");
    let text = std::fs::read_to_string(h.config_path()).unwrap();
    assert!(text.starts_with("# Switchyard, set up by hand\n"), "{text}");
    assert!(text.contains("debug: true # quiet please"), "{text}");
    assert!(text.contains("request-retry: 5"), "{text}");
    // The running proxy answers with the new values (the live config), not only the file.
    let settings = get(&h, "switchyard/settings").await;
    assert_eq!(
        (settings["strategy"].as_str(), settings["debug"].as_bool()),
        (Some("fill-first"), Some(true))
    );

    // CLIProxyAPI's scalar routes read and change the same settings.
    assert_eq!(get(&h, "request-retry").await, json!({"request-retry": 5}));
    assert_eq!(
        get(&h, "routing/strategy").await,
        json!({"strategy": "fill-first"})
    );
    assert_eq!(get(&h, "debug").await, json!({"debug": true}));
    assert_eq!(get(&h, "proxy-url").await, json!({"proxy-url": "direct"}));
    for (path, value) in [
        ("request-retry", json!(2)),
        ("routing/strategy", json!("rr")),
        ("debug", json!(false)),
        ("proxy-url", json!("http://127.0.0.1:3128")),
    ] {
        let body = answer(&h, Method::PUT, path, Some(json!({"value": value})), 200).await;
        assert_eq!(body, json!({"status": "ok"}), "{path}");
    }
    answer(
        &h,
        Method::PATCH,
        "request-retry",
        Some(json!({"value": 4})),
        200,
    )
    .await;
    let settings = get(&h, "switchyard/settings").await;
    assert_eq!(settings["request_retry"], 4);
    assert_eq!(settings["strategy"], "round-robin");
    assert_eq!(settings["debug"], false);
    assert_eq!(settings["proxy_url"], "http://127.0.0.1:3128");
    answer(&h, Method::DELETE, "proxy-url", None, 200).await;
    assert_eq!(get(&h, "proxy-url").await, json!({"proxy-url": ""}));
    answer(
        &h,
        Method::PUT,
        "routing/strategy",
        Some(json!({"value": "fastest"})),
        400,
    )
    .await;
    answer(&h, Method::PUT, "debug", Some(json!({"on": true})), 400).await;

    let config = get(&h, "config").await;
    assert_eq!(config["request-retry"], 4);
    assert_eq!(config["routing"]["strategy"], "round-robin");
    assert_eq!(config["api-keys"], json!([CLIENT_KEY]));
}

#[tokio::test]
async fn client_keys_created_and_revoked_decide_who_gets_in() {
    let (h, _auth) = proxy("").await;
    let created = answer(&h, Method::POST, "switchyard/api-keys", None, 200).await;
    let key = created["key"].as_str().unwrap().to_string();
    assert_eq!(models_status(&h, &key).await, 200);
    assert_eq!(
        get(&h, "switchyard/api-keys").await,
        json!([CLIENT_KEY, key])
    );
    answer(
        &h,
        Method::DELETE,
        "switchyard/api-keys",
        Some(json!({"key": key})),
        200,
    )
    .await;
    assert_eq!(models_status(&h, &key).await, 401);
    let body = Some(json!({"key": key}));
    fails(&h, Method::DELETE, "api-keys", body, (404, "not_found")).await;

    // CLIProxyAPI's list routes: replace all, change one, delete one.
    assert_eq!(get(&h, "api-keys").await, json!({"api-keys": [CLIENT_KEY]}));
    answer(
        &h,
        Method::PUT,
        "api-keys",
        Some(json!(["k-one", "k-two"])),
        200,
    )
    .await;
    assert_eq!(models_status(&h, CLIENT_KEY).await, 401);
    assert_eq!(models_status(&h, "k-two").await, 200);
    answer(
        &h,
        Method::PATCH,
        "api-keys",
        Some(json!({"old": "k-two", "new": "k-three"})),
        200,
    )
    .await;
    answer(&h, Method::DELETE, "api-keys?value=k-one", None, 200).await;
    assert_eq!(get(&h, "api-keys").await, json!({"api-keys": ["k-three"]}));
    assert_eq!(models_status(&h, "k-one").await, 401);
    assert_eq!(models_status(&h, "k-three").await, 200);
}

#[tokio::test]
async fn cliproxyapi_logins_and_auth_files_work_in_its_shapes() {
    let (h, _auth) = proxy("").await;
    let start = get(&h, "anthropic-auth-url").await;
    assert_eq!(start["status"], "ok");
    let state = start["state"].as_str().unwrap().to_string();
    let url = start["url"].as_str().unwrap();
    assert!(url.contains(&format!("state={state}")), "{url}");
    assert_eq!(
        get(&h, &format!("get-auth-status?state={state}")).await,
        json!({"status": "wait"})
    );

    // The person signs in; the tool posts the address the browser ended on.
    let resp = browser().get(url).send().await.unwrap();
    let redirect = resp.headers()["location"].to_str().unwrap().to_string();
    let body = answer(
        &h,
        Method::POST,
        "oauth-callback",
        Some(json!({"provider": "anthropic", "redirect_url": redirect})),
        200,
    )
    .await;
    assert_eq!(body, json!({"status": "ok"}));
    let done = poll(&h, &format!("get-auth-status?state={state}"), |b| {
        b["status"] != "wait"
    })
    .await;
    assert_eq!(done, json!({"status": "ok"}));
    // A finished login takes no second answer.
    answer(
        &h,
        Method::POST,
        "oauth-callback",
        Some(json!({"redirect_url": redirect})),
        409,
    )
    .await;

    let files = get(&h, "auth-files").await;
    let file = &files["files"][0];
    assert_eq!(
        (file["type"].as_str(), file["status"].as_str()),
        (Some("claude"), Some("active")),
        "{files}"
    );
    assert_eq!(file["disabled"], false);
    let name = file["name"].as_str().unwrap().to_string();
    let body = answer(
        &h,
        Method::PATCH,
        "auth-files/status",
        Some(json!({"name": name, "disabled": true})),
        200,
    )
    .await;
    assert_eq!(body, json!({"status": "ok", "disabled": true}));
    assert_eq!(
        get(&h, "auth-files").await["files"][0]["status"],
        "disabled"
    );
    answer(
        &h,
        Method::DELETE,
        &format!("auth-files?name={name}"),
        None,
        200,
    )
    .await;
    assert_eq!(get(&h, "auth-files").await, json!({"files": []}));
    answer(
        &h,
        Method::DELETE,
        &format!("auth-files?name={name}"),
        None,
        404,
    )
    .await;

    // Codex starts the same way; unknown states are said to be so.
    let codex = get(&h, "codex-auth-url").await;
    assert!(
        codex["url"]
            .as_str()
            .unwrap()
            .contains("/oauth/codex/authorize"),
        "{codex}"
    );
    let unknown = get(&h, "get-auth-status?state=nope").await;
    assert_eq!(unknown["status"], "error");
    answer(
        &h,
        Method::POST,
        "oauth-callback",
        Some(json!({"state": "nope", "code": "c"})),
        404,
    )
    .await;
}

#[tokio::test]
async fn cliproxyapi_logs_are_lines_of_text() {
    let (h, _auth) = proxy("").await;
    let logs = get(&h, "logs?limit=3").await;
    assert!(logs["lines"].as_array().unwrap().len() <= 3, "{logs}");
    assert_eq!(logs["line-count"], logs["lines"].as_array().unwrap().len());
    assert!(logs["latest-timestamp"].is_i64());
    answer(&h, Method::GET, "logs?limit=many", None, 400).await;
}

#[tokio::test]
async fn web_pages_other_than_the_proxys_own_are_refused() {
    let (h, _auth) = proxy("").await;
    let evil = [
        ("x-management-key", KEY),
        ("origin", "https://evil.example"),
    ];
    assert_eq!(status_with(&h, &evil).await.status(), 403);
    let base = h.proxy().base_url();
    let own = [("x-management-key", KEY), ("origin", base.as_str())];
    assert_eq!(status_with(&h, &own).await.status(), 200);
}

#[tokio::test]
async fn the_management_page_is_served_when_built_and_explains_itself_when_not() {
    let (h, _auth) = proxy("").await;
    // No key needed for the page: the UI asks for it.
    let resp = h.http.get(h.url("/management.html")).send().await.unwrap();
    let built = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/dist/index.html");
    if built.exists() {
        assert_eq!(resp.status(), 200);
        let csp = resp.headers()["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        // The page's script comes from the embedded assets, typed and cached for good.
        let html = resp.text().await.unwrap();
        let at = html
            .find("management-assets/")
            .expect("the page loads its assets");
        let asset = &html[at..at + html[at..].find('"').unwrap()];
        let resp = h
            .http
            .get(h.url(&format!("/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{asset}");
        assert!(resp.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("immutable"));
        assert!(!resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("octet-stream"));
    } else {
        assert_eq!(resp.status(), 404);
        let body: Value = resp.json().await.unwrap();
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains("npm --prefix ui run build"),
            "{body}"
        );
    }
    let missing = h
        .http
        .get(h.url("/management-assets/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    let escape = h
        .http
        .get(h.url("/management-assets/..%2F..%2FCargo.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(escape.status(), 404);
}

/// A CLIProxyAPI auth file for `email` of `provider` with `access` as its access token.
fn auth_file(provider: &str, email: &str, access: &str) -> Value {
    json!({
        "type": provider,
        "email": email,
        "access_token": access,
        "refresh_token": format!("refresh-{access}"),
        "expired": "2099-01-01T00:00:00Z",
        "prefix": "team",
    })
}

/// `files` as a multipart form, each under the field `file` (the way tools built for CLIProxyAPI send
/// them).
fn multipart(files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "switchyard-test-boundary";
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/json\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `POST auth-files` with a raw or multipart body: status and JSON answer.
async fn upload(h: &Harness, query: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = h
        .http
        .post(h.url(&format!("/v0/management/auth-files{query}")))
        .bearer_auth(KEY)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// `POST auth-files?name=` with `file` as the raw body.
async fn upload_json(h: &Harness, name: &str, file: &Value) -> (u16, Value) {
    let query = format!("?name={name}");
    upload(h, &query, "application/json", file.to_string().into_bytes()).await
}

/// The `name` of each entry of a list (`files`, `failed`).
fn names(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn auth_files_are_uploaded_as_accounts_and_downloaded_again() {
    let (h, auth) = proxy("").await;
    let claude = auth_file("claude", "me@example.com", "uploaded-claude-token");
    let (status, body) = upload_json(&h, "claude-me@example.com.json", &claude).await;
    assert_eq!(
        (status, &body),
        (
            200,
            &json!({"status": "ok", "uploaded": 1, "files": ["claude-me@example.com.json"]})
        )
    );

    // The account serves at once, under the file's prefix, with the file's token.
    let resp = h
        .post(
            "/v1/messages",
            common::messages_body("team/claude-sonnet-4-5-20250929", 8, false),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    let served = h.mock.requests();
    assert_eq!(
        served.last().unwrap().credential.as_deref(),
        Some("uploaded-claude-token")
    );

    // Several at once, as a form: one good, one another provider's, one not JSON.
    let codex = auth_file("codex", "dev@example.com", "uploaded-codex-token").to_string();
    let (content_type, form) = multipart(&[
        // A client that sends the picked file's whole path: only its name counts.
        (
            "/home/dev/auth/codex-dev@example.com.json",
            codex.as_bytes(),
        ),
        ("gemini-x.json", br#"{"type": "gemini", "token": {}}"#),
        ("broken.json", b"{not json"),
    ]);
    let (status, body) = upload(&h, "", &content_type, form).await;
    assert_eq!(status, 207, "{body}");
    assert_eq!(body["status"], "partial");
    assert_eq!(body["files"], json!(["codex-dev@example.com.json"]));
    assert_eq!(names(&body["failed"]), ["gemini-x.json", "broken.json"]);
    assert!(
        body["failed"][0]["error"]
            .as_str()
            .unwrap()
            .contains("not a Claude or Codex login"),
        "{body}"
    );

    assert_eq!(
        names(&get(&h, "auth-files").await["files"]),
        ["claude-me@example.com.json", "codex-dev@example.com.json"]
    );

    // Downloaded, it is the file CLIProxyAPI would have: tokens, email, settings, its name.
    let resp = get_raw(&h, "auth-files/download?name=claude-me@example.com.json").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"claude-me@example.com.json\""
    );
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let file: Value = resp.json().await.unwrap();
    for key in ["type", "email", "access_token", "refresh_token", "prefix"] {
        assert_eq!(file[key], claude[key], "{key}: {file}");
    }

    // Uploading the same login again updates it rather than adding a second account.
    let renewed = auth_file("claude", "me@example.com", "renewed-claude-token");
    let (status, _) = upload_json(&h, "claude-me@example.com.json", &renewed).await;
    assert_eq!(status, 200);
    assert_eq!(
        get(&h, "auth-files").await["files"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Refusals: a name that is a path or not .json, nothing to read, no key, no such file.
    for query in ["?name=../claude.json", "?name=claude.txt", ""] {
        let (status, body) = upload(&h, query, "application/json", claude.to_string().into()).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body["error"].as_str().is_some(), "{body}");
    }
    let (content_type, _) = multipart(&[]);
    let (status, body) = upload(
        &h,
        "",
        &content_type,
        b"--switchyard-test-boundary--\r\n".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("no files uploaded"))
    );
    let anonymous = h
        .http
        .post(h.url("/v0/management/auth-files?name=claude-x.json"))
        .body(claude.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    answer(
        &h,
        Method::GET,
        "auth-files/download?name=nobody.json",
        None,
        404,
    )
    .await;

    // Switchyard's own route (the UI's) takes a file's name and text and answers with the account.
    let other = auth_file("codex", "ops@example.com", "own-route-token").to_string();
    let imported = answer(
        &h,
        Method::POST,
        "switchyard/accounts/import",
        Some(json!({"name": "codex-ops.json", "content": other})),
        200,
    )
    .await;
    assert_eq!(imported["added"], true, "{imported}");
    assert_eq!(
        (
            imported["account"]["provider"].as_str(),
            imported["account"]["email"].as_str(),
            imported["account"]["prefix"].as_str()
        ),
        (Some("codex"), Some("ops@example.com"), Some("team"))
    );
    fails(
        &h,
        Method::POST,
        "accounts/import",
        Some(json!({"name": "codex-ops.txt", "content": other})),
        (400, "invalid"),
    )
    .await;

    // The tokens were not written out as files: they are in the account store's own place.
    let written: Vec<String> = std::fs::read_dir(auth.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !written.iter().any(|n| n.starts_with("claude-me")),
        "{written:?}"
    );
}
