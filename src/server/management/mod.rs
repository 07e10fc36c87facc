//! The management API under `/v0/management` and the management page: Switchyard's own routes
//! (`switchyard/…`, docs/management-api.md), CLIProxyAPI's routes for the tools written for it, and the
//! UI build. All of them answer from the one service layer; this module only translates HTTP.

mod access;
mod compat;
mod compat_auth;
mod compat_usage;
mod own;
mod ui;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use http::StatusCode;
use serde_json::json;

use super::AppState;
use crate::service::{ErrorKind, Service, ServiceError};

pub use access::is_management_path;

/// What the management handlers share.
pub struct Management {
    service: Arc<Service>,
    app: Arc<AppState>,
    attempts: access::Attempts,
    /// OAuth `state` → login id, for logins started through CLIProxyAPI's `*-auth-url` routes: its tools
    /// poll and complete logins by `state`.
    states: Mutex<HashMap<String, String>>,
}

/// The management routes; [`super::router`] merges them next to the proxy's.
pub fn router(app: Arc<AppState>, service: Arc<Service>) -> axum::Router<Arc<AppState>> {
    let mgmt = Arc::new(Management {
        service,
        app,
        attempts: access::Attempts::default(),
        states: Mutex::new(HashMap::new()),
    });
    let api = axum::Router::new()
        .nest("/switchyard", own::routes())
        .merge(compat::routes())
        .merge(compat_auth::routes())
        .merge(compat_usage::routes())
        .layer(axum::middleware::from_fn_with_state(
            mgmt.clone(),
            access::require_key,
        ));
    let page = axum::Router::new()
        .route("/management.html", get(ui::page))
        .route("/management-assets/{*path}", get(ui::asset))
        .layer(axum::middleware::from_fn_with_state(
            mgmt.clone(),
            access::page_allowed,
        ));
    axum::Router::new()
        .nest("/v0/management", api.with_state(mgmt.clone()))
        .merge(page.with_state(mgmt))
}

/// The largest usage import accepted: a year of heavy use exported by CLIProxyAPI is tens of MB.
const IMPORT_BODY_LIMIT: usize = 64 << 20;

/// The HTTP status of a service failure, on every management route.
fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Invalid => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A service failure as the documented `ServiceError` JSON with its status.
impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        (status_of(self.kind), Json(self)).into_response()
    }
}

/// A JSON body that did not parse, as an `invalid` ServiceError in the caller's words.
fn bad_body(rejection: JsonRejection) -> ServiceError {
    ServiceError::invalid(format!(
        "the request body is not what this call takes: {}",
        rejection.body_text()
    ))
}

/// CLIProxyAPI's error shape: `{"error": "…"}`.
fn cpa_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}
