//! CLIProxyAPI's `GET request-log-by-id/{id}`: one request's masked exchange from the request log, as
//! JSON (CLIProxyAPI answers with its log file; each answer names its id in `X-Switchyard-Request-Id`).

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use http::{header, StatusCode};
use serde_json::json;

use super::{cpa_error, Management};

pub fn routes() -> Router<Arc<Management>> {
    Router::new().route("/request-log-by-id/{id}", get(by_id))
}

/// Request ids are ours (hex) or an imported one's; anything else cannot name a log.
fn valid_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn by_id(State(m): State<Arc<Management>>, Path(id): Path<String>) -> Response {
    if !valid_id(&id) {
        return cpa_error(
            StatusCode::BAD_REQUEST,
            "a request id is 1 to 64 letters, digits, `-` or `_`",
        );
    }
    match m.app.usage().requests().get(&id).await {
        // The exchange holds the user's prompts: no cache may keep it.
        Ok(Some(log)) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({"request_id": id, "log": log})),
        )
            .into_response(),
        Ok(None) => cpa_error(
            StatusCode::NOT_FOUND,
            "no request log for that id: request-log is off or it was rotated out",
        ),
        Err(e) => cpa_error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the request log cannot be read: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::valid_id;

    #[test]
    fn request_ids_are_short_plain_words() {
        assert!(valid_id("0193a2b4c5d6e7f8a9b0"));
        assert!(valid_id("cpa-0123_abc"));
        assert!(valid_id(&"a".repeat(64)));
        for bad in ["", "a.b", "../x", "a b", "ü", &"a".repeat(65)] {
            assert!(!valid_id(bad), "{bad:?}");
        }
    }
}
