//! CLIProxyAPI's usage routes (its `internal/api/handlers/management/usage.go`) in its shapes, answered
//! from the persisted history: `usage`, `usage/export`, `usage/import`, and our `usage/events`. The
//! `usage-statistics-enabled` and `request-log` switches are scalar settings in compat.rs.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

use super::compat::service_error;
use super::{cpa_error, Management, IMPORT_BODY_LIMIT};
use crate::service::{ErrorKind, EventsQuery};
use crate::usage::export::Snapshot;

type Mgmt = State<Arc<Management>>;

pub fn routes() -> Router<Arc<Management>> {
    Router::new()
        .route("/usage", get(usage))
        .route("/usage/export", get(export))
        .route(
            "/usage/import",
            post(import).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT)),
        )
        .route("/usage/events", get(events))
}

#[derive(Debug, Default, Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
}

type Asked<T> = std::result::Result<Query<T>, QueryRejection>;

fn bad_query(e: QueryRejection) -> Response {
    cpa_error(StatusCode::BAD_REQUEST, e.body_text())
}

/// CLIProxyAPI's `{"usage": <snapshot>, "failed_requests": n}` (the snapshot of the whole history, or of
/// `from`/`to`), plus our `summary` of the same query (default: the last 7 days).
async fn usage(State(m): Mgmt, q: Asked<RangeQuery>) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return bad_query(e),
    };
    let (from, to) = (q.from.as_deref(), q.to.as_deref());
    // CLIProxyAPI always answers a snapshot, an empty one when it keeps none.
    let snapshot = match m.service.export_usage(from, to).await {
        Ok(doc) => doc.usage,
        Err(e) if e.kind == ErrorKind::Unavailable => Snapshot::default(),
        Err(e) => return service_error(e),
    };
    let summary = match m.service.usage_summary(from, to, q.bucket.as_deref()).await {
        Ok(s) => s,
        Err(e) => return service_error(e),
    };
    Json(json!({
        "failed_requests": snapshot.failure_count,
        "usage": snapshot,
        "summary": summary,
    }))
    .into_response()
}

async fn export(State(m): Mgmt, q: Asked<RangeQuery>) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return bad_query(e),
    };
    match m
        .service
        .export_usage(q.from.as_deref(), q.to.as_deref())
        .await
    {
        Ok(doc) => Json(doc).into_response(),
        Err(e) => service_error(e),
    }
}

/// CLIProxyAPI's `{added, skipped, total_requests, failed_requests}` (the last two over the whole
/// history after the import), plus the `format` read.
async fn import(State(m): Mgmt, body: Bytes) -> Response {
    let Ok(document) = serde_json::from_slice::<Value>(&body) else {
        return cpa_error(StatusCode::BAD_REQUEST, "invalid json");
    };
    let result = match m.service.import_usage(document).await {
        Ok(r) => r,
        Err(e) => return service_error(e),
    };
    let everything = (
        OffsetDateTime::UNIX_EPOCH,
        OffsetDateTime::now_utc() + Duration::days(365 * 100),
    );
    let totals = match m.service.usage_totals(everything.0, everything.1).await {
        Ok(t) => t,
        Err(e) => return service_error(e),
    };
    Json(json!({
        "added": result.added,
        "skipped": result.skipped,
        "total_requests": totals.requests,
        "failed_requests": totals.errors,
        "format": result.format,
    }))
    .into_response()
}

async fn events(State(m): Mgmt, q: Asked<EventsQuery>) -> Response {
    let q = match q {
        Ok(Query(q)) => q,
        Err(e) => return bad_query(e),
    };
    match m.service.usage_events(q).await {
        Ok(page) => Json(page).into_response(),
        Err(e) => service_error(e),
    }
}
