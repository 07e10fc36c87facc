//! Model listings in each client's shape.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use http::HeaderMap;
use serde_json::{json, Value};

use super::{respond, AppState};
use crate::routing::ModelEntry;
use crate::wire::error::ErrorKind;
use crate::wire::Format;

/// `GET /v1/models`: OpenAI's list shape, or Anthropic's when the client sends `anthropic-version`.
pub async fn list_v1(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let live = state.live();
    let models: Vec<&ModelEntry> = live.registry.models().collect();
    if headers.contains_key("anthropic-version") {
        let data: Vec<Value> = models
            .iter()
            .map(|m| {
                json!({
                    "type": "model",
                    "id": m.id,
                    "display_name": m.display_name,
                    "created_at": rfc3339(m.created),
                })
            })
            .collect();
        return axum::Json(json!({
            "data": data,
            "has_more": false,
            "first_id": models.first().map(|m| m.id.as_str()),
            "last_id": models.last().map(|m| m.id.as_str()),
        }))
        .into_response();
    }
    let data: Vec<Value> = models
        .iter()
        .map(
            |m| json!({"id": m.id, "object": "model", "created": m.created, "owned_by": m.owner()}),
        )
        .collect();
    axum::Json(json!({"object": "list", "data": data})).into_response()
}

fn gemini_model(m: &ModelEntry) -> Value {
    json!({
        "name": format!("models/{}", m.id),
        "displayName": m.display_name,
        "supportedGenerationMethods": ["generateContent", "streamGenerateContent", "countTokens"],
    })
}

/// `GET /v1beta/models`.
pub async fn list_gemini(State(state): State<Arc<AppState>>) -> Response {
    let live = state.live();
    let models: Vec<Value> = live.registry.models().map(gemini_model).collect();
    axum::Json(json!({ "models": models })).into_response()
}

/// `GET /v1beta/models/{model}`.
pub async fn get_gemini(State(state): State<Arc<AppState>>, Path(model): Path<String>) -> Response {
    let live = state.live();
    let id = model.strip_prefix("models/").unwrap_or(&model);
    match live.registry.get(id) {
        Some(m) => axum::Json(gemini_model(m)).into_response(),
        None => {
            let message = format!("the model `{id}` is not served by this proxy");
            respond::error(Format::Gemini, ErrorKind::NotFound, &message, None)
        }
    }
}

fn rfc3339(unix: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix))
        .to_string()
}
