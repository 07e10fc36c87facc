//! Model listings in each client's shape.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::HeaderMap;
use serde_json::{json, Value};

use super::{respond, AppState};
use crate::routing::{ModelEntry, Registry};
use crate::wire::error::ErrorKind;
use crate::wire::Format;

/// The listings of one config snapshot, serialised once: they change only when the config does.
pub struct Listings {
    openai: Bytes,
    anthropic: Bytes,
    gemini: Bytes,
}

impl Listings {
    pub fn new(registry: &Registry) -> Listings {
        let models: Vec<&ModelEntry> = registry.models().collect();
        let anthropic: Vec<Value> = models
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
        let openai: Vec<Value> = models
            .iter()
            .map(
                |m| json!({"id": m.id, "object": "model", "created": m.created, "owned_by": m.owner()}),
            )
            .collect();
        let gemini: Vec<Value> = models.iter().map(|m| gemini_model(m)).collect();
        Listings {
            openai: Bytes::from(json!({"object": "list", "data": openai}).to_string()),
            anthropic: Bytes::from(
                json!({
                    "data": anthropic,
                    "has_more": false,
                    "first_id": models.first().map(|m| m.id.as_str()),
                    "last_id": models.last().map(|m| m.id.as_str()),
                })
                .to_string(),
            ),
            gemini: Bytes::from(json!({ "models": gemini }).to_string()),
        }
    }
}

fn json_response(body: &Bytes) -> Response {
    ([(CONTENT_TYPE, "application/json")], body.clone()).into_response()
}

/// `GET /v1/models`: OpenAI's list shape, or Anthropic's when the client sends `anthropic-version`.
pub async fn list_v1(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let live = state.live();
    if headers.contains_key("anthropic-version") {
        json_response(&live.listings.anthropic)
    } else {
        json_response(&live.listings.openai)
    }
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
    json_response(&state.live().listings.gemini)
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
