//! Codex's device login: a user code to show, polls that answer 403 until the user approves, then an
//! authorization code and verifier to exchange with the device redirect URI.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{
    json_params, json_reply, oauth_error, s256, Device, IssuedCode, OAuthMock, Provider,
    CODEX_CLIENT_ID, CODEX_DEVICE_REDIRECT,
};

pub(super) async fn usercode(State(m): State<Arc<OAuthMock>>, body: Bytes) -> Response {
    if json_params(&body)
        .and_then(|p| p.get("client_id").cloned())
        .as_deref()
        != Some(CODEX_CLIENT_ID)
    {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "unknown client_id",
        );
    }
    let mut inner = m.lock();
    inner.next += 1;
    let n = inner.next;
    let user_code = format!("MOCK-{n:04}");
    let id = format!("deviceauth_mock_{n}");
    inner.devices.insert(
        id.clone(),
        Device {
            user_code: user_code.clone(),
            approved: false,
            polls: 0,
        },
    );
    // A string, as the real endpoint sometimes sends it.
    json_reply(
        StatusCode::OK,
        json!({"device_auth_id": id, "user_code": user_code, "interval": "1"}),
    )
}

pub(super) async fn token(State(m): State<Arc<OAuthMock>>, body: Bytes) -> Response {
    let p = json_params(&body).unwrap_or_default();
    let mut inner = m.lock();
    let auto = inner.auto_approve_polls;
    let id = p.get("device_auth_id").cloned().unwrap_or_default();
    let Some(device) = inner.devices.get_mut(&id) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "unknown device_auth_id",
        );
    };
    if p.get("user_code") != Some(&device.user_code) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "user_code does not match",
        );
    }
    device.polls += 1;
    if auto.is_some_and(|n| device.polls > n) {
        device.approved = true;
    }
    if !device.approved {
        // What the real endpoint answers while the user has not entered the code.
        return json_reply(
            StatusCode::FORBIDDEN,
            json!({"error": {"message": "Device authorization is pending", "code": "deviceauth_authorization_pending"}}),
        );
    }
    inner.devices.remove(&id);
    inner.next += 1;
    let n = inner.next;
    let verifier = format!("mock-device-verifier-{n:040}");
    let code = format!("mock-device-code-{n}");
    let challenge = s256(&verifier);
    inner.codes.insert(
        code.clone(),
        IssuedCode {
            provider: Provider::Codex,
            redirect_uri: CODEX_DEVICE_REDIRECT.into(),
            challenge: challenge.clone(),
        },
    );
    json_reply(
        StatusCode::OK,
        json!({"authorization_code": code, "code_verifier": verifier, "code_challenge": challenge}),
    )
}

/// Control: `{"user_code": "MOCK-0001"}` approves that device login.
pub(super) async fn approve(State(m): State<Arc<OAuthMock>>, body: Bytes) -> Response {
    let code = json_params(&body)
        .and_then(|p| p.get("user_code").cloned())
        .unwrap_or_default();
    if m.approve_device(&code) {
        json_reply(StatusCode::OK, json!({"ok": true}))
    } else {
        json_reply(
            StatusCode::NOT_FOUND,
            json!({"error": "no device login with that user_code"}),
        )
    }
}
