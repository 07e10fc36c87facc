//! Switchyard's own management routes, `/v0/management/switchyard/…`: one per service function, JSON in
//! and out, in the shapes docs/management-api.md lists.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bad_body, Management, IMPORT_BODY_LIMIT};
use crate::accounts::Provider;
use crate::service::{
    AccountPatch, EventsQuery, LoginMethodName, Result, ServiceError, SettingsPatch,
};

type Mgmt = State<Arc<Management>>;
type Body<T> = std::result::Result<Json<T>, JsonRejection>;
type Asked<T> = std::result::Result<Query<T>, QueryRejection>;
type Answer = Result<Json<Value>>;

pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/status", get(status))
        .route("/accounts", get(accounts))
        .route("/accounts/import", post(import_account_file))
        .route(
            "/accounts/{id}",
            patch(update_account).delete(remove_account),
        )
        .route("/logins", post(start_login))
        .route("/logins/{id}", get(login).delete(cancel_login))
        .route("/logins/{id}/paste", post(submit_login))
        .route("/models", get(models))
        .route("/config", get(config).put(save_config))
        .route("/config/check", post(check_config))
        .route("/settings", get(settings).patch(update_settings))
        .route(
            "/api-keys",
            get(api_keys).post(create_api_key).delete(revoke_api_key),
        )
        .route("/logs", get(logs))
        .route("/usage", get(usage_summary))
        .route("/usage/events", get(usage_events))
        .route("/usage/events/{id}", get(usage_event))
        .route("/usage/since", get(usage_since))
        .route("/usage/export", get(export_usage))
        .route(
            "/usage/import",
            post(import_usage).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
}

/// The body, or the reason it is not one this call takes.
fn body<T>(b: Body<T>) -> Result<T> {
    b.map(|Json(v)| v).map_err(bad_body)
}

/// The query, or the reason it is not one this call takes.
fn query<T>(q: Asked<T>) -> Result<T> {
    q.map(|Query(v)| v).map_err(|e| {
        ServiceError::invalid(format!(
            "the query is not what this call takes: {}",
            e.body_text()
        ))
    })
}

fn to_json(v: impl serde::Serialize) -> Answer {
    serde_json::to_value(v)
        .map(Json)
        .map_err(|e| ServiceError::new(crate::service::ErrorKind::Internal, e.to_string()))
}

async fn status(State(m): Mgmt) -> Answer {
    to_json(m.service.status().await?)
}

#[derive(Deserialize)]
struct AccountsQuery {
    #[serde(default)]
    quota: bool,
}

async fn accounts(State(m): Mgmt, q: Asked<AccountsQuery>) -> Answer {
    to_json(m.service.accounts(query(q)?.quota).await?)
}

async fn update_account(State(m): Mgmt, Path(id): Path<String>, b: Body<AccountPatch>) -> Answer {
    to_json(m.service.update_account(&id, body(b)?).await?)
}

async fn remove_account(State(m): Mgmt, Path(id): Path<String>) -> Answer {
    to_json(m.service.remove_account(&id).await?)
}

/// A CLIProxyAPI auth file as the person picked it: its name and its text.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountFile {
    name: String,
    content: String,
}

async fn import_account_file(State(m): Mgmt, b: Body<AccountFile>) -> Answer {
    let AccountFile { name, content } = body(b)?;
    to_json(
        m.service
            .import_auth_file(&name, content.as_bytes())
            .await?,
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StartLogin {
    provider: Provider,
    method: LoginMethodName,
}

async fn start_login(State(m): Mgmt, b: Body<StartLogin>) -> Answer {
    let StartLogin { provider, method } = body(b)?;
    to_json(m.service.start_login(provider, method).await?)
}

async fn login(State(m): Mgmt, Path(id): Path<String>) -> Answer {
    to_json(m.service.login(&id)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Pasted {
    pasted: String,
}

async fn submit_login(State(m): Mgmt, Path(id): Path<String>, b: Body<Pasted>) -> Answer {
    to_json(m.service.submit_login(&id, &body(b)?.pasted)?)
}

async fn cancel_login(State(m): Mgmt, Path(id): Path<String>) -> Answer {
    to_json(m.service.cancel_login(&id).await?)
}

async fn models(State(m): Mgmt) -> Answer {
    to_json(m.service.models())
}

async fn config(State(m): Mgmt) -> Answer {
    to_json(m.service.config().await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Yaml {
    yaml: String,
}

async fn check_config(State(m): Mgmt, b: Body<Yaml>) -> Answer {
    to_json(m.service.check_config(&body(b)?.yaml))
}

async fn save_config(State(m): Mgmt, b: Body<Yaml>) -> Answer {
    to_json(m.service.save_config(&body(b)?.yaml).await?)
}

async fn settings(State(m): Mgmt) -> Answer {
    to_json(m.service.settings())
}

async fn update_settings(State(m): Mgmt, b: Body<SettingsPatch>) -> Answer {
    let (settings, warnings) = m.service.update_settings(body(b)?).await?;
    Ok(Json(json!({"settings": settings, "warnings": warnings})))
}

async fn api_keys(State(m): Mgmt) -> Answer {
    to_json(m.service.api_keys().await?)
}

async fn create_api_key(State(m): Mgmt) -> Answer {
    Ok(Json(json!({"key": m.service.create_api_key().await?})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    key: String,
}

async fn revoke_api_key(State(m): Mgmt, b: Body<Key>) -> Answer {
    to_json(m.service.revoke_api_key(&body(b)?.key).await?)
}

#[derive(Deserialize)]
struct LogsQuery {
    #[serde(default)]
    after: u64,
    level: Option<String>,
    limit: Option<usize>,
}

async fn logs(State(m): Mgmt, q: Asked<LogsQuery>) -> Answer {
    let q = query(q)?;
    let level = q.level.as_deref().unwrap_or("info");
    to_json(m.service.logs(q.after, level, q.limit.unwrap_or(200))?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryQuery {
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
}

async fn usage_summary(State(m): Mgmt, q: Asked<SummaryQuery>) -> Answer {
    let q = query(q)?;
    let summary = m
        .service
        .usage_summary(q.from.as_deref(), q.to.as_deref(), q.bucket.as_deref())
        .await?;
    to_json(summary)
}

async fn usage_events(State(m): Mgmt, q: Asked<EventsQuery>) -> Answer {
    to_json(m.service.usage_events(query(q)?).await?)
}

async fn usage_event(State(m): Mgmt, Path(id): Path<String>) -> Answer {
    to_json(m.service.usage_event(&id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SinceQuery {
    from: String,
}

async fn usage_since(State(m): Mgmt, q: Asked<SinceQuery>) -> Answer {
    to_json(m.service.usage_since(&query(q)?.from).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
}

async fn export_usage(State(m): Mgmt, q: Asked<RangeQuery>) -> Answer {
    let q = query(q)?;
    to_json(
        m.service
            .export_usage(q.from.as_deref(), q.to.as_deref())
            .await?,
    )
}

async fn import_usage(State(m): Mgmt, b: Body<Value>) -> Answer {
    to_json(m.service.import_usage(body(b)?).await?)
}
