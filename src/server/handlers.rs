//! Inbound endpoints: decode just enough of the request to route it, then hand it to the router.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use http::request::Parts;
use http::HeaderValue;

use super::{respond, AppState, ClientKey, MAX_BODY_BYTES};
use crate::providers::Call;
use crate::routing::{Request, RequestBody};
use crate::usage::Ledger;
use crate::wire::body::JsonBody;
use crate::wire::error::ErrorKind;
use crate::wire::Format;

/// Names the request in the usage history and the request log (`request-log-by-id`). Not `x-request-id`:
/// upstreams send their own under that name, and clients quote it to the provider.
const REQUEST_ID: &str = "x-switchyard-request-id";

pub async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

pub async fn chat_completions(state: State<Arc<AppState>>, req: http::Request<Body>) -> Response {
    proxy_json(state, Format::OpenAiChat, false, req).await
}

pub async fn completions(state: State<Arc<AppState>>, req: http::Request<Body>) -> Response {
    proxy_json(state, Format::OpenAiCompletions, false, req).await
}

pub async fn responses(state: State<Arc<AppState>>, req: http::Request<Body>) -> Response {
    proxy_json(state, Format::OpenAiResponses, false, req).await
}

pub async fn messages(state: State<Arc<AppState>>, req: http::Request<Body>) -> Response {
    proxy_json(state, Format::Anthropic, false, req).await
}

pub async fn count_tokens(state: State<Arc<AppState>>, req: http::Request<Body>) -> Response {
    proxy_json(state, Format::Anthropic, true, req).await
}

/// Reads the whole request body within the size limit, answering in the client's shape when it cannot.
async fn read_body(format: Format, body: Body) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_large {
                let message = format!(
                    "the request body is larger than {} MiB",
                    MAX_BODY_BYTES >> 20
                );
                respond::error(
                    format,
                    ErrorKind::TooLarge,
                    &message,
                    Some("request_too_large"),
                )
            } else {
                let message = format!("could not read the request body: {e}");
                respond::error(
                    format,
                    ErrorKind::InvalidRequest,
                    &message,
                    Some("invalid_body"),
                )
            }
        })
}

/// The JSON endpoints that name their model in the body.
async fn proxy_json(
    State(state): State<Arc<AppState>>,
    format: Format,
    count_tokens: bool,
    req: http::Request<Body>,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = match read_body(format, body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let json = match JsonBody::parse(&bytes) {
        Ok(j) => j,
        Err(e) => {
            return respond::error(
                format,
                ErrorKind::InvalidRequest,
                &e.to_string(),
                Some("invalid_json"),
            )
        }
    };
    let Some(model) = json.str_field("model").filter(|m| !m.trim().is_empty()) else {
        return respond::error(
            format,
            ErrorKind::InvalidRequest,
            "the request has no `model`: name the model to use",
            Some("missing_model"),
        );
    };
    let call = if count_tokens {
        Call::CountTokens
    } else {
        Call::Generate {
            stream: json.is_stream(),
        }
    };
    route(
        &state,
        format,
        call,
        &model,
        false,
        &parts,
        RequestBody::json(bytes, json),
    )
    .await
}

/// `POST /v1beta/models/{model}:{method}`.
pub async fn gemini(
    State(state): State<Arc<AppState>>,
    Path(target): Path<String>,
    req: http::Request<Body>,
) -> Response {
    let format = Format::Gemini;
    let (parts, body) = req.into_parts();
    let Some((model, method)) = target.rsplit_once(':') else {
        let message = format!("`{target}` names no method; expected `{{model}}:generateContent`");
        return respond::error(format, ErrorKind::NotFound, &message, None);
    };
    let call = match method {
        "generateContent" => Call::Generate { stream: false },
        "streamGenerateContent" => Call::Generate { stream: true },
        "countTokens" => Call::CountTokens,
        other => {
            let message = format!("unsupported Gemini method `{other}`");
            return respond::error(format, ErrorKind::NotFound, &message, None);
        }
    };
    let bytes = match read_body(format, body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    if let Err(e) = JsonBody::parse(&bytes) {
        return respond::error(format, ErrorKind::InvalidRequest, &e.to_string(), None);
    }
    let sse = parts
        .uri
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "alt=sse"));
    let model = model.strip_prefix("models/").unwrap_or(model).to_string();
    route(
        &state,
        format,
        call,
        &model,
        sse,
        &parts,
        RequestBody::raw(bytes),
    )
    .await
}

async fn route(
    state: &AppState,
    format: Format,
    call: Call,
    model: &str,
    gemini_sse: bool,
    parts: &Parts,
    body: RequestBody,
) -> Response {
    let live = state.live();
    let client_key = parts
        .extensions
        .get::<ClientKey>()
        .and_then(|k| k.0.clone());
    let stream = matches!(call, Call::Generate { stream: true });
    let mut ledger = Ledger::start(state.usage().clone(), format, client_key, model, stream);
    if ledger.capturing() {
        ledger.client_request(&parts.method, &parts.uri, &parts.headers, body.bytes());
    }
    let request_id = HeaderValue::from_str(ledger.request_id()).ok();
    let request = Request {
        format,
        call,
        model,
        gemini_sse,
        headers: &parts.headers,
        query: parts.uri.query(),
        body,
    };
    let result = state
        .router
        .execute(&live.config, &live.registry, request, &mut ledger)
        .await;
    let mut resp = match result {
        Ok(committed) => {
            tracing::info!(model, credential = %committed.served_by, status = committed.status.as_u16(), "{format} request");
            ledger.committed(committed.status.as_u16());
            respond::committed(format, committed, ledger).await
        }
        Err(err) => {
            tracing::info!(model, "{format} request failed: {err}");
            let class = respond::error_class(&err);
            let message = err.to_string();
            let resp = respond::route_error(format, err);
            ledger.finish_error(
                resp.status().as_u16(),
                class,
                resp.headers(),
                message.as_bytes(),
            );
            resp
        }
    };
    if let Some(id) = request_id {
        resp.headers_mut().insert(REQUEST_ID, id);
    }
    resp
}
