//! CLIProxyAPI's routes for accounts and logins (its `auth_files.go`, `auth_files_crud.go`,
//! `auth_files_fields.go`, `auth_files_provider_oauth.go`, `oauth_callback.go`): the account list as
//! "auth files", and a login started with `<provider>-auth-url`, watched with `get-auth-status?state=`
//! and finished by the loopback callback or a pasted redirect (`oauth-callback`). CLIProxyAPI names a
//! login by its OAuth `state`; the service by its login id, so the two are mapped here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use http::{header, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::compat::service_error;
use super::{cpa_error, Management};
use crate::accounts::{Account, Provider, Status};
use crate::service::{AccountPatch, AccountView, LoginMethodName, LoginState};

type Mgmt = State<Arc<Management>>;

pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route(
            "/auth-files",
            get(auth_files)
                .post(upload_auth_files)
                .delete(delete_auth_file),
        )
        .route("/auth-files/download", get(download_auth_file))
        .route("/auth-files/status", patch(auth_file_status))
        .route("/anthropic-auth-url", get(claude_auth_url))
        .route("/codex-auth-url", get(codex_auth_url))
        .route("/get-auth-status", get(auth_status))
        .route("/oauth-callback", post(oauth_callback))
}

/// The name CLIProxyAPI's tools know an account by: its auth file's name when it came from one.
fn file_name(a: &Account) -> String {
    a.origin
        .as_ref()
        .and_then(|o| o.path.as_ref())
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| a.id.to_string())
}

/// One entry of `GET auth-files`, with the fields the tools read.
fn auth_file(view: &AccountView) -> Value {
    let a = &view.account;
    let status = match (a.settings.disabled, a.status) {
        (true, _) => "disabled",
        (false, Status::Ok) => "active",
        (false, _) => "error",
    };
    let message = match a.status {
        Status::NeedsLogin => Some("needs a new login".to_string()),
        _ => a.status_message.clone(),
    };
    let mut entry = json!({
        "id": file_name(a),
        "auth_index": a.id.to_string(),
        "name": file_name(a),
        "type": a.provider,
        "provider": a.provider,
        "label": a.settings.label.clone().or_else(|| a.identity.email.clone()).unwrap_or_default(),
        "status": status,
        "status_message": message.unwrap_or_default(),
        "disabled": a.settings.disabled,
        "unavailable": !view.cooldowns.is_empty(),
        "runtime_only": false,
        "source": "file",
        "account_type": "oauth",
        "priority": a.settings.priority,
    });
    let extra = [
        ("email", a.identity.email.clone().map(Value::from)),
        ("account", a.identity.account_id.clone().map(Value::from)),
        ("plan", a.plan.clone().map(Value::from)),
        (
            "path",
            a.origin
                .as_ref()
                .and_then(|o| o.path.as_ref())
                .map(|p| p.display().to_string().into()),
        ),
        (
            "last_refresh",
            a.last_refresh
                .and_then(|t| {
                    t.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .map(Value::from),
        ),
    ];
    if let Value::Object(map) = &mut entry {
        for (key, value) in extra {
            if let Some(v) = value {
                map.insert(key.into(), v);
            }
        }
    }
    entry
}

async fn auth_files(State(m): Mgmt) -> Response {
    match m.service.accounts(false).await {
        Ok(views) => {
            let mut files: Vec<Value> = views.iter().map(auth_file).collect();
            files.sort_by_key(|f| f["name"].as_str().unwrap_or_default().to_lowercase());
            Json(json!({"files": files})).into_response()
        }
        Err(e) => service_error(e),
    }
}

/// The id of the account a tool names `name` (its file name or its id).
async fn account_named(m: &Management, name: &str) -> Result<String, Response> {
    let name = name.trim();
    if name.is_empty() {
        return Err(cpa_error(StatusCode::BAD_REQUEST, "name is required"));
    }
    let views = m.service.accounts(false).await.map_err(service_error)?;
    views
        .iter()
        .map(|v| &v.account)
        .find(|a| file_name(a) == name || a.id.to_string() == name)
        .map(|a| a.id.to_string())
        .ok_or_else(|| cpa_error(StatusCode::NOT_FOUND, format!("no auth file {name}")))
}

#[derive(Deserialize)]
struct NameQuery {
    #[serde(default)]
    name: String,
}

async fn delete_auth_file(State(m): Mgmt, Query(q): Query<NameQuery>) -> Response {
    let id = match account_named(&m, &q.name).await {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    match m.service.remove_account(&id).await {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => service_error(e),
    }
}

/// CLIProxyAPI's upload: one or more files in a multipart form, or one file as the raw body with
/// `?name=`. Each becomes an account (tokens in the account store, not a file); all succeeding answer
/// 200, some 207 with what failed and why, a single failure 400.
async fn upload_auth_files(State(m): Mgmt, Query(q): Query<NameQuery>, req: Request) -> Response {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let files = if multipart {
        match multipart_files(Multipart::from_request(req, &()).await).await {
            Ok(files) => files,
            Err(refused) => return refused,
        }
    } else {
        match Bytes::from_request(req, &()).await {
            Ok(body) => vec![(q.name, body)],
            Err(e) => return cpa_error(e.status(), e.body_text()),
        }
    };
    let mut uploaded = Vec::new();
    let mut failed = Vec::new();
    for (name, bytes) in &files {
        match m.service.import_auth_file(name, bytes).await {
            Ok(_) => uploaded.push(name.trim().to_string()),
            Err(e) => failed.push((name.clone(), e)),
        }
    }
    if failed.is_empty() {
        return Json(json!({"status": "ok", "uploaded": uploaded.len(), "files": uploaded}))
            .into_response();
    }
    if files.len() == 1 {
        let (_, e) = failed.remove(0);
        return service_error(e);
    }
    let failed: Vec<Value> = failed
        .iter()
        .map(|(name, e)| json!({"name": name, "error": e.message}))
        .collect();
    let body = json!({"status": "partial", "uploaded": uploaded.len(), "files": uploaded, "failed": failed});
    (StatusCode::MULTI_STATUS, Json(body)).into_response()
}

/// Every file of a multipart form, in order, with the name it was sent under (its last path part: some
/// clients send the picked file's whole path).
async fn multipart_files(
    form: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Vec<(String, Bytes)>, Response> {
    let bad = |why: String| {
        cpa_error(
            StatusCode::BAD_REQUEST,
            format!("invalid multipart form: {why}"),
        )
    };
    let mut form = form.map_err(|e| bad(e.body_text()))?;
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            cpa_error(e.status(), e.body_text())
        } else {
            bad(e.body_text())
        }
    })? {
        let Some(name) = field
            .file_name()
            .and_then(|n| n.rsplit(['/', '\\']).next())
            .map(str::to_string)
        else {
            continue;
        };
        let bytes = field.bytes().await.map_err(|e| bad(e.body_text()))?;
        files.push((name, bytes));
    }
    if files.is_empty() {
        return Err(cpa_error(StatusCode::BAD_REQUEST, "no files uploaded"));
    }
    Ok(files)
}

/// The account a tool names, as the CLIProxyAPI auth file it would have written: tokens included,
/// so only for the management key's holder, and never cached.
async fn download_auth_file(State(m): Mgmt, Query(q): Query<NameQuery>) -> Response {
    let id = match account_named(&m, &q.name).await {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let (name, json) = match m.service.export_auth_file(&id).await {
        Ok(file) => file,
        Err(e) => return service_error(e),
    };
    let mut bytes = serde_json::to_vec_pretty(&json).unwrap_or_default();
    bytes.push(b'\n');
    let mut resp = bytes.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // The name is ours (`claude-<email>.json`) or was checked when uploaded; quotes would end it early.
    let disposition = format!(
        "attachment; filename=\"{}\"",
        name.replace(['"', '\\'], "_")
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

#[derive(Deserialize)]
struct StatusPatch {
    #[serde(default)]
    name: String,
    disabled: Option<bool>,
}

async fn auth_file_status(State(m): Mgmt, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<StatusPatch>(&body) else {
        return cpa_error(StatusCode::BAD_REQUEST, "invalid request body");
    };
    let Some(disabled) = req.disabled else {
        return cpa_error(StatusCode::BAD_REQUEST, "disabled is required");
    };
    let id = match account_named(&m, &req.name).await {
        Ok(id) => id,
        Err(refused) => return refused,
    };
    let patch = AccountPatch {
        enabled: Some(!disabled),
        ..AccountPatch::default()
    };
    match m.service.update_account(&id, patch).await {
        Ok(_) => Json(json!({"status": "ok", "disabled": disabled})).into_response(),
        Err(e) => service_error(e),
    }
}

async fn claude_auth_url(State(m): Mgmt) -> Response {
    start(&m, Provider::Claude).await
}

async fn codex_auth_url(State(m): Mgmt) -> Response {
    start(&m, Provider::Codex).await
}

/// Starts a browser login (the provider returns to a loopback port; a pasted redirect works too) and
/// answers `{status, url, state}` as CLIProxyAPI does.
async fn start(m: &Management, provider: Provider) -> Response {
    let view = match m
        .service
        .start_login(provider, LoginMethodName::Browser)
        .await
    {
        Ok(view) => view,
        Err(e) => return service_error(e),
    };
    let (Some(url), Some(state)) = (view.url, view.state) else {
        return cpa_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the login has no sign-in page",
        );
    };
    m.states
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(state.clone(), view.id);
    Json(json!({"status": "ok", "url": url, "state": state})).into_response()
}

fn login_of(m: &Management, state: &str) -> Option<String> {
    m.states
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(state)
        .cloned()
}

#[derive(Deserialize)]
struct StateQuery {
    #[serde(default)]
    state: String,
}

/// `{"status": "wait"}` while pending, `"ok"` once the account is stored, `"error"` with the reason.
async fn auth_status(State(m): Mgmt, Query(q): Query<StateQuery>) -> Response {
    let state = q.state.trim();
    if state.is_empty() {
        return Json(json!({"status": "ok"})).into_response();
    }
    let unknown =
        || Json(json!({"status": "error", "error": "unknown or expired state"})).into_response();
    let Some(id) = login_of(&m, state) else {
        return unknown();
    };
    let answer = match m.service.login(&id) {
        Ok(LoginState::Pending) => json!({"status": "wait"}),
        Ok(LoginState::Succeeded { .. }) => json!({"status": "ok"}),
        Ok(LoginState::Failed { message }) => json!({"status": "error", "error": message}),
        Ok(LoginState::Cancelled) => json!({"status": "error", "error": "the login was cancelled"}),
        Err(_) => return unknown(),
    };
    Json(answer).into_response()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Callback {
    redirect_url: String,
    code: String,
    state: String,
    error: String,
}

fn callback_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"status": "error", "error": message}))).into_response()
}

/// Finishes a login with what the browser ended on: the whole redirect URL, or its `code` and `state`.
async fn oauth_callback(State(m): Mgmt, body: Bytes) -> Response {
    let Ok(mut req) = serde_json::from_slice::<Callback>(&body) else {
        return callback_error(StatusCode::BAD_REQUEST, "invalid body");
    };
    let redirect = req.redirect_url.trim().to_string();
    if !redirect.is_empty() {
        let Ok(url) = url::Url::parse(&redirect) else {
            return callback_error(StatusCode::BAD_REQUEST, "invalid redirect_url");
        };
        for (k, v) in url.query_pairs() {
            let slot = match k.as_ref() {
                "state" => &mut req.state,
                "code" => &mut req.code,
                "error" | "error_description" => &mut req.error,
                _ => continue,
            };
            if slot.trim().is_empty() {
                *slot = v.into_owned();
            }
        }
    }
    let (state, code, error) = (req.state.trim(), req.code.trim(), req.error.trim());
    if state.is_empty() {
        return callback_error(StatusCode::BAD_REQUEST, "state is required");
    }
    if code.is_empty() && error.is_empty() {
        return callback_error(StatusCode::BAD_REQUEST, "code or error is required");
    }
    let Some(id) = login_of(&m, state) else {
        return callback_error(StatusCode::NOT_FOUND, "unknown or expired state");
    };
    if !matches!(m.service.login(&id), Ok(LoginState::Pending)) {
        return callback_error(StatusCode::CONFLICT, "oauth flow is not pending");
    }
    // The provider refused: the login ends, and `get-auth-status` reports it.
    let done = if code.is_empty() {
        m.service.cancel_login(&id).await
    } else {
        m.service.submit_login(&id, &format!("{code}#{state}"))
    };
    match done {
        Ok(()) => Json(json!({"status": "ok"})).into_response(),
        Err(e) => callback_error(StatusCode::BAD_REQUEST, &e.message),
    }
}
