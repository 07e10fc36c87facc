//! IPC commands: one per function of the service layer (docs/management-api.md), named alike, each a
//! thin call into [`Service`] after checking its input, plus three desktop-only ones (launch at login,
//! opening a web page). Results and errors are the service's own serde types, so the UI reads the same
//! JSON over IPC as over the management HTTP API.

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use switchyard::accounts::{Account, AccountId, Provider};
use switchyard::logs::LogLine;
use switchyard::service::{
    AccountPatch, AccountView, ConfigText, ErrorKind, EventsPage, EventsQuery, ImportResult,
    ImportedAccount, LoginMethodName, LoginState, LoginView, ModelView, Problem, RequestDetail,
    Service, ServiceError, SettingsPatch, SettingsView, StatusView, TodayUsage, UsageSummary,
};
use switchyard::usage::export::Document;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_opener::OpenerExt as _;

use crate::DesktopState;

type Result<T> = std::result::Result<T, ServiceError>;

/// Bounds on what the UI may send; far above any honest value, low enough that a runaway page cannot
/// make the service parse megabytes per call.
const MAX_CONFIG_BYTES: usize = 1 << 20;
const MAX_TEXT_CHARS: usize = 256;
const MAX_PASTED_CHARS: usize = 4096;
const MAX_URL_CHARS: usize = 2048;
/// RFC 3339 times, opaque cursors and request ids are far shorter.
const MAX_TIME_CHARS: usize = 64;
const MAX_ID_CHARS: usize = 128;
/// The most events one page may ask for (the service's own cap).
const MAX_EVENTS_PAGE: u32 = 1000;

/// Every command, for `Builder::invoke_handler`.
pub fn handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        status,
        accounts,
        update_account,
        remove_account,
        import_account_file,
        start_login,
        login_status,
        submit_login,
        cancel_login,
        models,
        config,
        check_config,
        save_config,
        settings,
        update_settings,
        api_keys,
        create_api_key,
        revoke_api_key,
        logs,
        usage_summary,
        usage_events,
        usage_event,
        usage_since,
        export_usage,
        import_usage,
        autostart_get,
        autostart_set,
        open_url,
    ]
}

fn unavailable(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::new(ErrorKind::Unavailable, e.to_string())
}

fn service(state: &DesktopState) -> Result<Arc<Service>> {
    state
        .service()
        .ok_or_else(|| unavailable("the proxy is not running: start it from the tray"))
}

/// The service answers a malformed id with `not_found`; here it is refused as `invalid` before any
/// disk access, with the store's own rule for what an id looks like.
fn check_account_id(id: &str) -> Result<()> {
    AccountId::parse(id)
        .map(drop)
        .map_err(|_| ServiceError::invalid(format!("`{id}` is not an account id")))
}

/// Login ids are random URL-safe base64.
fn check_login_id(id: &str) -> Result<()> {
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(ServiceError::invalid(format!("`{id}` is not a login id")))
    }
}

fn check_len(what: &str, value: &str, max_chars: usize) -> Result<()> {
    if value.chars().count() > max_chars {
        Err(ServiceError::invalid(format!(
            "{what} is too long (at most {max_chars} characters)"
        )))
    } else {
        Ok(())
    }
}

fn check_config_size(yaml: &str) -> Result<()> {
    if yaml.len() > MAX_CONFIG_BYTES {
        Err(ServiceError::invalid(
            "the config is too large (at most 1 MiB)",
        ))
    } else {
        Ok(())
    }
}

fn parse_provider(provider: &str) -> Result<Provider> {
    match provider {
        "claude" => Ok(Provider::Claude),
        "codex" => Ok(Provider::Codex),
        other => Err(ServiceError::invalid(format!(
            "unknown provider `{other}`: use claude or codex"
        ))),
    }
}

fn parse_method(method: &str) -> Result<LoginMethodName> {
    match method {
        "browser" => Ok(LoginMethodName::Browser),
        "paste" => Ok(LoginMethodName::Paste),
        "device" => Ok(LoginMethodName::Device),
        other => Err(ServiceError::invalid(format!(
            "unknown login method `{other}`: use browser, paste or device"
        ))),
    }
}

/// Only web pages: `file:`, custom schemes and the like would let a page start local programs.
fn check_web_url(url: &str) -> Result<url::Url> {
    check_len("the URL", url, MAX_URL_CHARS)?;
    let parsed = url::Url::parse(url)
        .map_err(|e| ServiceError::invalid(format!("`{url}` is not a URL: {e}")))?;
    if matches!(parsed.scheme(), "https" | "http") && parsed.host_str().is_some() {
        Ok(parsed)
    } else {
        Err(ServiceError::invalid(format!(
            "only http and https pages can be opened, not `{url}`"
        )))
    }
}

#[tauri::command]
pub async fn status(state: State<'_, DesktopState>) -> Result<StatusView> {
    service(&state)?.status().await
}

#[tauri::command]
pub async fn accounts(
    state: State<'_, DesktopState>,
    with_quota: bool,
) -> Result<Vec<AccountView>> {
    service(&state)?.accounts(with_quota).await
}

#[tauri::command]
pub async fn update_account(
    state: State<'_, DesktopState>,
    id: String,
    patch: AccountPatch,
) -> Result<Account> {
    check_account_id(&id)?;
    for (what, value) in [("the label", &patch.label), ("the prefix", &patch.prefix)] {
        if let Some(value) = value {
            check_len(what, value, MAX_TEXT_CHARS)?;
        }
    }
    service(&state)?.update_account(&id, patch).await
}

#[tauri::command]
pub async fn remove_account(state: State<'_, DesktopState>, id: String) -> Result<()> {
    check_account_id(&id)?;
    service(&state)?.remove_account(&id).await
}

/// A CLIProxyAPI auth file the person picked: its name and text (the service caps its size).
#[tauri::command]
pub async fn import_account_file(
    state: State<'_, DesktopState>,
    name: String,
    content: String,
) -> Result<ImportedAccount> {
    check_len("the file name", &name, MAX_TEXT_CHARS)?;
    service(&state)?
        .import_auth_file(&name, content.as_bytes())
        .await
}

#[tauri::command]
pub async fn start_login(
    state: State<'_, DesktopState>,
    provider: String,
    method: String,
) -> Result<LoginView> {
    let (provider, method) = (parse_provider(&provider)?, parse_method(&method)?);
    service(&state)?.start_login(provider, method).await
}

#[tauri::command]
pub async fn login_status(state: State<'_, DesktopState>, id: String) -> Result<LoginState> {
    check_login_id(&id)?;
    service(&state)?.login(&id)
}

#[tauri::command]
pub async fn submit_login(
    state: State<'_, DesktopState>,
    id: String,
    pasted: String,
) -> Result<()> {
    check_login_id(&id)?;
    check_len("the pasted text", &pasted, MAX_PASTED_CHARS)?;
    service(&state)?.submit_login(&id, &pasted)
}

#[tauri::command]
pub async fn cancel_login(state: State<'_, DesktopState>, id: String) -> Result<()> {
    check_login_id(&id)?;
    service(&state)?.cancel_login(&id).await
}

#[tauri::command]
pub async fn models(state: State<'_, DesktopState>) -> Result<Vec<ModelView>> {
    Ok(service(&state)?.models())
}

#[tauri::command]
pub async fn config(state: State<'_, DesktopState>) -> Result<ConfigText> {
    service(&state)?.config().await
}

#[tauri::command]
pub async fn check_config(state: State<'_, DesktopState>, yaml: String) -> Result<Vec<Problem>> {
    check_config_size(&yaml)?;
    Ok(service(&state)?.check_config(&yaml))
}

#[tauri::command]
pub async fn save_config(state: State<'_, DesktopState>, yaml: String) -> Result<Vec<Problem>> {
    check_config_size(&yaml)?;
    service(&state)?.save_config(&yaml).await
}

#[tauri::command]
pub async fn settings(state: State<'_, DesktopState>) -> Result<SettingsView> {
    Ok(service(&state)?.settings())
}

#[derive(Serialize)]
pub struct SettingsUpdate {
    settings: SettingsView,
    warnings: Vec<Problem>,
}

#[tauri::command]
pub async fn update_settings(
    state: State<'_, DesktopState>,
    patch: SettingsPatch,
) -> Result<SettingsUpdate> {
    for value in [&patch.host, &patch.strategy, &patch.proxy_url]
        .into_iter()
        .flatten()
    {
        check_len("a setting", value, MAX_URL_CHARS)?;
    }
    let (settings, warnings) = service(&state)?.update_settings(patch).await?;
    Ok(SettingsUpdate { settings, warnings })
}

#[tauri::command]
pub async fn api_keys(state: State<'_, DesktopState>) -> Result<Vec<String>> {
    service(&state)?.api_keys().await
}

#[derive(Serialize)]
pub struct NewKey {
    key: String,
}

#[tauri::command]
pub async fn create_api_key(state: State<'_, DesktopState>) -> Result<NewKey> {
    let key = service(&state)?.create_api_key().await?;
    Ok(NewKey { key })
}

#[tauri::command]
pub async fn revoke_api_key(state: State<'_, DesktopState>, key: String) -> Result<()> {
    check_len("the key", &key, MAX_TEXT_CHARS)?;
    service(&state)?.revoke_api_key(&key).await
}

#[tauri::command]
pub async fn logs(
    state: State<'_, DesktopState>,
    after: u64,
    level: String,
    limit: usize,
) -> Result<Vec<LogLine>> {
    check_len("the level", &level, 16)?;
    service(&state)?.logs(after, &level, limit)
}

fn check_bucket(bucket: &str) -> Result<()> {
    if matches!(bucket, "hour" | "day") {
        Ok(())
    } else {
        Err(ServiceError::invalid(format!(
            "unknown bucket `{bucket}`: use hour or day"
        )))
    }
}

fn check_times(times: &[&Option<String>]) -> Result<()> {
    for time in times.iter().copied().flatten() {
        check_len("a time", time, MAX_TIME_CHARS)?;
    }
    Ok(())
}

#[tauri::command]
pub async fn usage_summary(
    state: State<'_, DesktopState>,
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
) -> Result<UsageSummary> {
    check_times(&[&from, &to])?;
    if let Some(bucket) = &bucket {
        check_bucket(bucket)?;
    }
    service(&state)?
        .usage_summary(from.as_deref(), to.as_deref(), bucket.as_deref())
        .await
}

/// The filters arrive as camelCase arguments like every command's (`clientKey`, `errorsOnly`).
#[tauri::command]
#[allow(clippy::too_many_arguments)] // One per filter of the contract, as the UI sends them.
pub async fn usage_events(
    state: State<'_, DesktopState>,
    before: Option<String>,
    limit: Option<u32>,
    model: Option<String>,
    credential: Option<String>,
    client_key: Option<String>,
    errors_only: Option<bool>,
    from: Option<String>,
    to: Option<String>,
) -> Result<EventsPage> {
    check_times(&[&from, &to, &before])?;
    for (what, value) in [
        ("the model", &model),
        ("the account", &credential),
        ("the client key", &client_key),
    ] {
        if let Some(value) = value {
            check_len(what, value, MAX_TEXT_CHARS)?;
        }
    }
    if let Some(limit) = limit {
        if !(1..=MAX_EVENTS_PAGE).contains(&limit) {
            return Err(ServiceError::invalid(format!(
                "a page holds 1 to {MAX_EVENTS_PAGE} events, not {limit}"
            )));
        }
    }
    let query = EventsQuery {
        before,
        limit,
        model,
        credential,
        client_key,
        errors_only: errors_only.unwrap_or_default(),
        from,
        to,
    };
    service(&state)?.usage_events(query).await
}

#[tauri::command]
pub async fn usage_event(state: State<'_, DesktopState>, id: String) -> Result<RequestDetail> {
    if id.is_empty() {
        return Err(ServiceError::invalid("a request id is needed"));
    }
    check_len("the request id", &id, MAX_ID_CHARS)?;
    service(&state)?.usage_event(&id).await
}

#[tauri::command]
pub async fn usage_since(state: State<'_, DesktopState>, from: String) -> Result<TodayUsage> {
    check_len("the time", &from, MAX_TIME_CHARS)?;
    service(&state)?.usage_since(&from).await
}

#[tauri::command]
pub async fn export_usage(
    state: State<'_, DesktopState>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Document> {
    check_times(&[&from, &to])?;
    service(&state)?
        .export_usage(from.as_deref(), to.as_deref())
        .await
}

/// The document is whatever JSON file the person picked; only an object can be an export.
#[tauri::command]
pub async fn import_usage(state: State<'_, DesktopState>, document: Value) -> Result<ImportResult> {
    if !document.is_object() {
        return Err(ServiceError::invalid(
            "this is not a usage export: it is not a JSON object",
        ));
    }
    service(&state)?.import_usage(document).await
}

#[tauri::command]
pub async fn autostart_get<R: Runtime>(app: AppHandle<R>) -> Result<bool> {
    app.autolaunch().is_enabled().map_err(unavailable)
}

#[tauri::command]
pub async fn autostart_set<R: Runtime>(app: AppHandle<R>, enabled: bool) -> Result<bool> {
    crate::set_autostart(&app, enabled).map_err(unavailable)?;
    Ok(enabled)
}

#[tauri::command]
pub async fn open_url<R: Runtime>(app: AppHandle<R>, url: String) -> Result<()> {
    let url = check_web_url(&url)?;
    app.opener()
        .open_url(url.as_str(), None::<&str>)
        .map_err(unavailable)
}

#[cfg(test)]
#[path = "commands_tests.rs"]
mod tests;
