//! Error bodies in each client's own shape, so SDKs raise their proper exception types.

use serde_json::{json, Value};

use super::Format;

/// What went wrong, independent of how a format spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the request cannot be served as sent.
    InvalidRequest,
    /// 401: no client key or a wrong one.
    Authentication,
    /// 403: refused by policy (browser origin, host).
    Permission,
    /// 404: no such model or route.
    NotFound,
    /// 413: the body is over the limit.
    TooLarge,
    /// 429: every credential for the model is cooling down.
    RateLimited,
    /// 502: the upstream failed or could not be reached.
    Upstream,
    /// 503: the proxy is shutting down or has nothing to serve with.
    Unavailable,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::InvalidRequest => 400,
            ErrorKind::Authentication => 401,
            ErrorKind::Permission => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::TooLarge => 413,
            ErrorKind::RateLimited => 429,
            ErrorKind::Upstream => 502,
            ErrorKind::Unavailable => 503,
        }
    }

    fn openai_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::NotFound | ErrorKind::TooLarge => {
                "invalid_request_error"
            }
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Upstream | ErrorKind::Unavailable => "server_error",
        }
    }

    fn anthropic_type(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "invalid_request_error",
            ErrorKind::Authentication => "authentication_error",
            ErrorKind::Permission => "permission_error",
            ErrorKind::NotFound => "not_found_error",
            ErrorKind::TooLarge => "request_too_large",
            ErrorKind::RateLimited => "rate_limit_error",
            ErrorKind::Upstream => "api_error",
            ErrorKind::Unavailable => "overloaded_error",
        }
    }

    fn gemini_status(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest | ErrorKind::TooLarge => "INVALID_ARGUMENT",
            ErrorKind::Authentication => "UNAUTHENTICATED",
            ErrorKind::Permission => "PERMISSION_DENIED",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::RateLimited => "RESOURCE_EXHAUSTED",
            ErrorKind::Upstream => "UNAVAILABLE",
            ErrorKind::Unavailable => "UNAVAILABLE",
        }
    }
}

/// The JSON error body for `format`. `code` is a machine-readable reason (`model_cooldown`, …) where the
/// format has a place for one.
pub fn error_json(format: Format, kind: ErrorKind, message: &str, code: Option<&str>) -> Value {
    match format {
        Format::OpenAiChat | Format::OpenAiCompletions | Format::OpenAiResponses => json!({
            "error": {"message": message, "type": kind.openai_type(), "param": null, "code": code}
        }),
        Format::Anthropic => json!({
            "type": "error",
            "error": {"type": kind.anthropic_type(), "message": message}
        }),
        Format::Gemini => json!({
            "error": {"code": kind.status(), "message": message, "status": kind.gemini_status()}
        }),
    }
}

/// The in-band event that tells a streaming client its upstream failed after the response started.
/// `sequence_number` is the next Responses sequence number (ignored by other formats).
pub fn stream_error_event(format: Format, message: &str, sequence_number: u64) -> String {
    let (event, data) = match format {
        Format::Anthropic => (
            Some("error"),
            error_json(format, ErrorKind::Upstream, message, None),
        ),
        Format::OpenAiResponses => (
            Some("error"),
            json!({"type": "error", "code": "upstream_error", "message": message, "param": null,
                   "sequence_number": sequence_number}),
        ),
        Format::OpenAiChat | Format::OpenAiCompletions | Format::Gemini => (
            None,
            error_json(format, ErrorKind::Upstream, message, Some("upstream_error")),
        ),
    };
    match event {
        Some(name) => format!("event: {name}\ndata: {data}\n\n"),
        None => format!("data: {data}\n\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_gets_its_own_shape() {
        let o = error_json(
            Format::OpenAiChat,
            ErrorKind::Authentication,
            "bad key",
            Some("invalid_api_key"),
        );
        assert_eq!(o["error"]["type"], "authentication_error");
        assert_eq!(o["error"]["code"], "invalid_api_key");
        let a = error_json(Format::Anthropic, ErrorKind::NotFound, "no model", None);
        assert_eq!(
            a,
            json!({"type":"error","error":{"type":"not_found_error","message":"no model"}})
        );
        let g = error_json(Format::Gemini, ErrorKind::RateLimited, "cooling", None);
        assert_eq!(
            g,
            json!({"error":{"code":429,"message":"cooling","status":"RESOURCE_EXHAUSTED"}})
        );
    }

    #[test]
    fn stream_errors_are_well_formed_events() {
        let e = stream_error_event(Format::Anthropic, "lost", 0);
        assert!(
            e.starts_with("event: error\ndata: {\"type\":\"error\""),
            "{e}"
        );
        let r = stream_error_event(Format::OpenAiResponses, "lost", 7);
        assert!(r.contains("\"sequence_number\":7"), "{r}");
        let c = stream_error_event(Format::OpenAiChat, "lost", 0);
        assert!(
            c.starts_with("data: {\"error\":{") && c.ends_with("\n\n"),
            "{c}"
        );
    }
}
