//! CLIProxyAPI's management routes for settings, keys, the config and logs, in its shapes (its
//! `internal/api/handlers/management/config_basic.go`, `config_lists.go`, `logs.go`), so the desktop
//! wrappers written for it (Quotio, ProxyPal, ZeroLimit) drive Switchyard unchanged. Each call is one
//! service call; only the shapes are translated here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{header, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{cpa_error, status_of, Management};
use crate::config::yaml;
use crate::logs::LogLine;
use crate::service::{ServiceError, SettingsPatch};

type Mgmt = State<Arc<Management>>;

pub fn routes() -> Router<Arc<Management>> {
    scalar_routes(Router::new())
        .route("/config", get(config_json))
        .route("/config.yaml", get(config_yaml).put(put_config_yaml))
        .route(
            "/api-keys",
            get(api_keys)
                .put(put_api_keys)
                .patch(patch_api_keys)
                .delete(delete_api_keys),
        )
        .route("/logs", get(logs))
}

/// A service failure in CLIProxyAPI's `{"error": …}` shape, with the config's problems when it has them.
pub(super) fn service_error(e: ServiceError) -> Response {
    if e.problems.is_empty() {
        return cpa_error(status_of(e.kind), e.message);
    }
    let body = json!({"error": "invalid_config", "message": e.message, "problems": e.problems});
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}

fn ok() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

/// The config as JSON, as CLIProxyAPI's `GET config` answers: the file's keys, with the settings the
/// tools read filled in with the values in force even where the file leaves them out.
async fn config_json(State(m): Mgmt) -> Response {
    let text = match m.service.config().await {
        Ok(c) => c.yaml,
        Err(e) => return service_error(e),
    };
    let mut value = match yaml::parse(&text) {
        Ok(root) => root.to_json(),
        Err(_) => json!({}),
    };
    let s = m.service.settings();
    if let Value::Object(map) = &mut value {
        map.insert("debug".into(), json!(s.debug));
        map.insert("request-retry".into(), json!(s.request_retry));
        map.insert("proxy-url".into(), json!(s.proxy_url.unwrap_or_default()));
        map.insert(
            "usage-statistics-enabled".into(),
            json!(s.usage_statistics_enabled),
        );
        map.insert("request-log".into(), json!(s.request_log));
        let routing = map.entry("routing").or_insert_with(|| json!({}));
        if let Value::Object(routing) = routing {
            routing.insert("strategy".into(), json!(s.strategy));
        }
    }
    Json(value).into_response()
}

async fn config_yaml(State(m): Mgmt) -> Response {
    match m.service.config().await {
        Ok(c) => (
            [
                (header::CONTENT_TYPE, "application/yaml; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            c.yaml,
        )
            .into_response(),
        Err(e) => service_error(e),
    }
}

/// Replaces the config file with the body if it is a valid config (422 with its problems if not).
async fn put_config_yaml(State(m): Mgmt, body: Bytes) -> Response {
    let Ok(text) = std::str::from_utf8(&body) else {
        return cpa_error(StatusCode::BAD_REQUEST, "the config is not UTF-8 text");
    };
    match m.service.save_config(text).await {
        Ok(_) => Json(json!({"ok": true, "changed": ["config"]})).into_response(),
        Err(e) => service_error(e),
    }
}

async fn api_keys(State(m): Mgmt) -> Response {
    match m.service.api_keys().await {
        Ok(keys) => Json(json!({"api-keys": keys})).into_response(),
        Err(e) => service_error(e),
    }
}

async fn set_keys(m: &Management, keys: Vec<String>) -> Response {
    match m.service.set_api_keys(keys).await {
        Ok(()) => ok(),
        Err(e) => service_error(e),
    }
}

/// `["k1", "k2"]` or `{"items": ["k1", "k2"]}`: the whole list.
async fn put_api_keys(State(m): Mgmt, body: Bytes) -> Response {
    #[derive(Deserialize)]
    struct Items {
        items: Vec<String>,
    }
    let keys = serde_json::from_slice::<Vec<String>>(&body)
        .ok()
        .or_else(|| serde_json::from_slice::<Items>(&body).ok().map(|i| i.items));
    match keys {
        Some(keys) => set_keys(&m, keys).await,
        None => cpa_error(
            StatusCode::BAD_REQUEST,
            "invalid body: send a list of keys or {\"items\": [...]}",
        ),
    }
}

/// One change to a list, as CLIProxyAPI's `PATCH` takes it.
#[derive(Debug, Deserialize)]
struct ListPatch {
    old: Option<String>,
    new: Option<String>,
    index: Option<usize>,
    value: Option<String>,
}

/// The list after `patch`: `{index, value}` replaces an entry, `{old, new}` replaces `old` or adds
/// `new` when `old` is absent. `None` when the patch says neither.
fn patched(mut list: Vec<String>, patch: ListPatch) -> Option<Vec<String>> {
    if let (Some(i), Some(value)) = (patch.index, &patch.value) {
        if let Some(slot) = list.get_mut(i) {
            *slot = value.clone();
            return Some(list);
        }
    }
    let (old, new) = (patch.old?, patch.new?);
    match list.iter_mut().find(|k| **k == old) {
        Some(slot) => *slot = new,
        None => list.push(new),
    }
    Some(list)
}

async fn patch_api_keys(State(m): Mgmt, body: Bytes) -> Response {
    let Ok(patch) = serde_json::from_slice::<ListPatch>(&body) else {
        return cpa_error(StatusCode::BAD_REQUEST, "invalid body");
    };
    let keys = match m.service.api_keys().await {
        Ok(keys) => keys,
        Err(e) => return service_error(e),
    };
    match patched(keys, patch) {
        Some(keys) => set_keys(&m, keys).await,
        None => cpa_error(
            StatusCode::BAD_REQUEST,
            "missing fields: send {\"old\", \"new\"} or {\"index\", \"value\"}",
        ),
    }
}

#[derive(Debug, Deserialize)]
struct ListDelete {
    index: Option<String>,
    value: Option<String>,
}

/// The list without the entry at `?index=` or every entry equal to `?value=`.
fn without(mut list: Vec<String>, q: &ListDelete) -> Option<Vec<String>> {
    if let Some(i) = q
        .index
        .as_deref()
        .and_then(|i| i.trim().parse::<usize>().ok())
    {
        if i < list.len() {
            list.remove(i);
            return Some(list);
        }
    }
    let value = q
        .value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())?;
    list.retain(|k| k.trim() != value);
    Some(list)
}

async fn delete_api_keys(State(m): Mgmt, Query(q): Query<ListDelete>) -> Response {
    let keys = match m.service.api_keys().await {
        Ok(keys) => keys,
        Err(e) => return service_error(e),
    };
    match without(keys, &q) {
        Some(keys) => set_keys(&m, keys).await,
        None => cpa_error(StatusCode::BAD_REQUEST, "missing index or value"),
    }
}

/// CLIProxyAPI's scalar settings: the path, the key its `GET` answers with, and the settings field
/// (in [`crate::service::SettingsView`] and [`SettingsPatch`]) behind it.
const SCALARS: [(&str, &str, &str); 6] = [
    ("/debug", "debug", "debug"),
    ("/routing/strategy", "strategy", "strategy"),
    ("/proxy-url", "proxy-url", "proxy_url"),
    ("/request-retry", "request-retry", "request_retry"),
    (
        "/usage-statistics-enabled",
        "usage-statistics-enabled",
        "usage_statistics_enabled",
    ),
    ("/request-log", "request-log", "request_log"),
];

/// `GET` → `{"<key>": value}`; `PUT`/`PATCH` `{"value": …}` → `{"status": "ok"}`; `DELETE proxy-url`
/// goes back to the environment's proxy.
fn scalar_routes(mut router: Router<Arc<Management>>) -> Router<Arc<Management>> {
    for (path, key, field) in SCALARS {
        let read = move |State(m): Mgmt| async move {
            let settings = serde_json::to_value(m.service.settings()).unwrap_or_default();
            // No proxy is an empty string to CLIProxyAPI.
            let value = match &settings[field] {
                Value::Null => json!(""),
                v => v.clone(),
            };
            Json(json!({ key: value }))
        };
        let write = move |State(m): Mgmt, body: Bytes| async move {
            match serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|b| b.get("value").cloned())
            {
                Some(value) => set_scalar(&m, field, value).await,
                None => cpa_error(
                    StatusCode::BAD_REQUEST,
                    "invalid body: send {\"value\": ...}",
                ),
            }
        };
        let mut route = get(read).put(write).patch(write);
        if field == "proxy_url" {
            route = route.delete(|State(m): Mgmt| async move {
                set_scalar(&m, "proxy_url", json!("")).await
            });
        }
        router = router.route(path, route);
    }
    router
}

/// Changes one setting and answers CLIProxyAPI's `{"status": "ok"}`.
async fn set_scalar(m: &Management, field: &str, value: Value) -> Response {
    let value = match (field, value) {
        ("strategy", Value::String(v)) => match strategy_name(&v) {
            Some(name) => json!(name),
            None => {
                let why = format!("invalid strategy `{v}`: use round-robin or fill-first");
                return cpa_error(StatusCode::BAD_REQUEST, why);
            }
        },
        (_, value) => value,
    };
    let patch = match serde_json::from_value::<SettingsPatch>(json!({ field: value })) {
        Ok(patch) => patch,
        Err(e) => return cpa_error(StatusCode::BAD_REQUEST, format!("invalid value: {e}")),
    };
    match m.service.update_settings(patch).await {
        Ok(_) => ok(),
        Err(e) => service_error(e),
    }
}

/// CLIProxyAPI's spellings of the strategies Switchyard has.
fn strategy_name(value: &str) -> Option<&'static str> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "round-robin" | "roundrobin" | "rr" => Some("round-robin"),
        "fill-first" | "fillfirst" | "ff" => Some("fill-first"),
        _ => None,
    }
}

#[derive(Debug, Deserialize)]
struct LogsQuery {
    /// Unix seconds: only lines logged after it.
    after: Option<String>,
    /// The last this many lines; 0 or absent for all.
    limit: Option<String>,
}

/// The in-memory log tail as CLIProxyAPI's log-file reader answers: `lines` as text, `line-count`,
/// `latest-timestamp` (Unix seconds, for the next `after`). There is no file, so `next-cursor` is empty.
async fn logs(State(m): Mgmt, Query(q): Query<LogsQuery>) -> Response {
    let cutoff = q
        .after
        .as_deref()
        .and_then(|a| a.trim().parse::<i64>().ok())
        .unwrap_or(0);
    let Ok(limit) = q
        .limit
        .as_deref()
        .map_or(Ok(0), |l| l.trim().parse::<usize>())
    else {
        return cpa_error(StatusCode::BAD_REQUEST, "invalid limit: use a whole number");
    };
    let mut lines: Vec<LogLine> = Vec::new();
    loop {
        let after = lines.last().map_or(0, |l| l.seq);
        let page = match m.service.logs(after, "trace", 1000) {
            Ok(page) => page,
            Err(e) => return service_error(e),
        };
        let done = page.len() < 1000;
        lines.extend(
            page.into_iter()
                .filter(|l| l.time.unix_timestamp() > cutoff),
        );
        if done {
            break;
        }
    }
    if limit > 0 && lines.len() > limit {
        lines.drain(..lines.len() - limit);
    }
    let latest = lines.last().map_or(cutoff, |l| l.time.unix_timestamp());
    let text: Vec<String> = lines.iter().map(log_text).collect();
    Json(json!({
        "lines": text,
        "line-count": text.len(),
        "latest-timestamp": latest,
        "next-cursor": "",
    }))
    .into_response()
}

/// A line as CLIProxyAPI writes its log file: `[2026-01-02 15:04:05] [info] message`.
fn log_text(l: &LogLine) -> String {
    let when = l
        .time
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default();
    format!("[{when}] [{}] {}", l.level.to_ascii_lowercase(), l.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> Vec<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn list_patches_replace_by_index_or_value_and_add_the_unknown() {
        let patch = |v: Value| serde_json::from_value::<ListPatch>(v).unwrap();
        let by_index = patch(json!({"index": 1, "value": "x"}));
        assert_eq!(
            patched(keys(&["a", "b"]), by_index),
            Some(keys(&["a", "x"]))
        );
        let by_value = patch(json!({"old": "a", "new": "z"}));
        assert_eq!(
            patched(keys(&["a", "b"]), by_value),
            Some(keys(&["z", "b"]))
        );
        let added = patch(json!({"old": "q", "new": "z"}));
        assert_eq!(patched(keys(&["a"]), added), Some(keys(&["a", "z"])));
        assert_eq!(patched(keys(&["a"]), patch(json!({}))), None);
    }

    #[test]
    fn list_deletes_by_index_or_value() {
        let q = |index: Option<&str>, value: Option<&str>| ListDelete {
            index: index.map(str::to_string),
            value: value.map(str::to_string),
        };
        assert_eq!(
            without(keys(&["a", "b"]), &q(Some("0"), None)),
            Some(keys(&["b"]))
        );
        assert_eq!(
            without(keys(&["a", "b", "a"]), &q(None, Some("a"))),
            Some(keys(&["b"]))
        );
        assert_eq!(without(keys(&["a"]), &q(Some("7"), None)), None);
    }

    #[test]
    fn strategies_take_cliproxyapi_spellings() {
        assert_eq!(strategy_name("RR"), Some("round-robin"));
        assert_eq!(strategy_name("fillfirst"), Some("fill-first"));
        assert_eq!(strategy_name("weighted-round-robin"), None);
    }
}
