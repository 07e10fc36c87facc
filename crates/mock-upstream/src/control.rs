//! `/__control/*`: lets a process outside Rust (the Python SDK tests) script the mock and read
//! its log. Same shapes as the reference harness; documented in the crate README.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::server::Shared;
use crate::types::{Kind, Reply, Step};

/// Body of `POST /__control/script`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptRequest {
    #[serde(default)]
    steps: Vec<Step>,
    #[serde(default = "default_fallback")]
    fallback: Reply,
}

fn default_fallback() -> Reply {
    Reply::Ok(Kind::Text)
}

fn json(status: StatusCode, body: Value) -> Response {
    let mut resp = Response::new(Body::from(body.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

/// Statuses the HTTP layer can actually send; checked up front so a typo fails the script call
/// instead of turning into a silent 500 later.
fn check_statuses(req: &ScriptRequest) -> Result<(), String> {
    let replies = req
        .steps
        .iter()
        .map(|s| &s.reply)
        .chain(std::iter::once(&req.fallback));
    for reply in replies {
        if let Reply::Error { status, .. } = reply {
            if !(100..=999).contains(status) {
                return Err(format!("error status {status} is not an HTTP status"));
            }
        }
    }
    Ok(())
}

pub(crate) fn handle(shared: &Shared, method: &Method, route: &str, raw: &[u8]) -> Response {
    match (method.as_str(), route) {
        ("POST", "script") => {
            let parsed = serde_json::from_slice::<ScriptRequest>(raw)
                .map_err(|e| format!("invalid script: {e}"))
                .and_then(|req| check_statuses(&req).map(|()| req));
            match parsed {
                Ok(req) => {
                    shared.set_script(req.steps, req.fallback);
                    json(StatusCode::OK, json!({"ok": true}))
                }
                Err(e) => json(StatusCode::BAD_REQUEST, json!({"error": e})),
            }
        }
        ("GET", "log") => {
            let log: Vec<Value> = shared.log().iter().map(|r| r.to_json()).collect();
            json(StatusCode::OK, Value::Array(log))
        }
        _ => json(
            StatusCode::NOT_FOUND,
            json!({"error": "mock: unknown control route"}),
        ),
    }
}
