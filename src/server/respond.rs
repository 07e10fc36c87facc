//! Turning outcomes into HTTP responses: errors in the client's shape, upstream responses streamed through.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use http::{header, HeaderValue, StatusCode};

use crate::providers::DROPPED_RESPONSE_HEADERS;
use crate::routing::{error_chain, Committed, RouteError};
use crate::translate::TranslateError;
use crate::usage::tokens::{self, StreamTokens};
use crate::usage::Ledger;
use crate::wire::error::{error_json, stream_error_event, ErrorKind};
use crate::wire::sse::{last_sequence_number, EventSplitter};
use crate::wire::Format;

/// An error of our own, in `format`'s shape.
pub fn error(format: Format, kind: ErrorKind, message: &str, code: Option<&str>) -> Response {
    let body = error_json(format, kind, message, code);
    let status = StatusCode::from_u16(kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

/// What went wrong, as the usage history and metrics name it.
pub fn error_class(err: &RouteError) -> &'static str {
    let upstream = |status: StatusCode| match status.as_u16() {
        401 | 403 => "upstream_auth",
        429 => "rate_limited",
        400..=499 => "upstream_rejected",
        _ => "upstream_error",
    };
    match err {
        RouteError::UnknownModel(_) => "unknown_model",
        RouteError::Unsupported { .. } => "unsupported",
        RouteError::Translate(_) => "invalid_request",
        RouteError::UpstreamTranslated { status, .. } | RouteError::Upstream { status, .. } => {
            upstream(*status)
        }
        RouteError::Cooldown { .. } => "cooldown",
        RouteError::Unreachable { .. } => "unreachable",
    }
}

pub fn route_error(format: Format, err: RouteError) -> Response {
    let message = err.to_string();
    match err {
        RouteError::UnknownModel(_) => error(
            format,
            ErrorKind::NotFound,
            &message,
            Some("model_not_found"),
        ),
        RouteError::Unsupported { .. } => error(
            format,
            ErrorKind::InvalidRequest,
            &message,
            Some("unsupported_format_pair"),
        ),
        RouteError::Cooldown { retry_after, .. } => {
            let mut resp = error(
                format,
                ErrorKind::RateLimited,
                &message,
                Some("model_cooldown"),
            );
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            resp
        }
        RouteError::Translate(e) => {
            let (kind, code) = match e {
                TranslateError::Upstream(_) => (ErrorKind::Upstream, "upstream_error"),
                TranslateError::Unsupported { .. } => {
                    (ErrorKind::InvalidRequest, "unsupported_feature")
                }
                TranslateError::Invalid(_) => (ErrorKind::InvalidRequest, "invalid_request"),
            };
            error(format, kind, &message, Some(code))
        }
        RouteError::UpstreamTranslated {
            status,
            retry_after,
            ..
        } => {
            let kind = match status.as_u16() {
                400 | 422 => ErrorKind::InvalidRequest,
                401 => ErrorKind::Authentication,
                402 | 403 => ErrorKind::Permission,
                404 => ErrorKind::NotFound,
                413 => ErrorKind::TooLarge,
                429 => ErrorKind::RateLimited,
                _ => ErrorKind::Upstream,
            };
            let mut resp = error(format, kind, &message, None);
            // Keep the upstream's status: a 529 overload or a 400 means the same to the client as to us.
            *resp.status_mut() = status;
            if let Some(wait) = retry_after {
                let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            resp
        }
        RouteError::Unreachable { .. } => error(
            format,
            ErrorKind::Upstream,
            &message,
            Some("upstream_unreachable"),
        ),
        RouteError::Upstream {
            status,
            headers,
            body,
        } => {
            // The upstream's own words reach the client unchanged: same status, same body.
            let mut resp = Response::new(Body::from(body));
            *resp.status_mut() = status;
            copy_headers(&headers, resp.headers_mut());
            resp
        }
    }
}

/// An answer body held for its usage, up to a limit past which its usage is not read.
#[derive(Default)]
struct WholeBody {
    chunks: Vec<Bytes>,
    len: usize,
    too_large: bool,
}

/// Bodies larger than this are not parsed for usage (a JSON answer is rarely near it).
const MAX_USAGE_BODY: usize = 16 << 20;

impl WholeBody {
    fn push(&mut self, bytes: &Bytes) {
        self.len += bytes.len();
        if self.len > MAX_USAGE_BODY {
            self.too_large = true;
            self.chunks.clear();
        } else if !self.too_large && !bytes.is_empty() {
            self.chunks.push(bytes.clone());
        }
    }

    fn tokens(&self, format: Format) -> Option<crate::usage::tokens::Tokens> {
        match self.chunks.as_slice() {
            [] => None,
            [one] => tokens::from_body(format, one),
            many => tokens::from_body(format, &many.concat()),
        }
    }
}

fn copy_headers(from: &http::HeaderMap, to: &mut http::HeaderMap) {
    for (name, value) in from {
        if !DROPPED_RESPONSE_HEADERS.contains(&name.as_str()) {
            to.append(name.clone(), value.clone());
        }
    }
}

/// Streams a committed upstream response to the client as it arrives.
///
/// SSE is forwarded one whole event at a time; if the upstream dies mid-stream the client gets a
/// well-formed error event in its own format instead of a torn line. Other bodies are forwarded chunk by
/// chunk, and a failure aborts the response so the client sees a broken transfer, never a silent truncation.
/// Dropping the returned body (the client went away) drops the upstream stream, which closes that
/// connection at once.
pub async fn committed(format: Format, mut c: Committed, mut ledger: Ledger) -> Response {
    if let Some(t) = c.translation.take() {
        return super::translated::respond(c, t, ledger).await;
    }
    let is_sse = c
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let Committed {
        status,
        headers,
        first,
        mut rest,
        served_by,
        ..
    } = c;
    let mut head = http::HeaderMap::new();
    copy_headers(&headers, &mut head);
    if is_sse {
        // Tell buffering reverse proxies (nginx) to pass events through as they come.
        head.insert("x-accel-buffering", HeaderValue::from_static("no"));
    }
    ledger.answer_head(status.as_u16(), &head);
    let body = if is_sse {
        Body::from_stream(async_stream::stream! {
            let mut splitter = EventSplitter::new();
            let mut tokens = StreamTokens::new(format);
            let mut seq = 0u64;
            let mut chunk = Some(first);
            let mut broke = None;
            loop {
                if let Some(bytes) = chunk.take() {
                    if let Some(events) = splitter.push(&bytes) {
                        if let Some(n) = last_sequence_number(&events) {
                            seq = n + 1;
                        }
                        tokens.push(&events);
                        ledger.answer_bytes(&events);
                        yield Ok::<Bytes, std::io::Error>(events);
                    }
                }
                match rest.next().await {
                    Some(Ok(bytes)) => chunk = Some(bytes),
                    Some(Err(e)) => {
                        let why = error_chain(&e);
                        tracing::warn!(credential = %served_by, "upstream stream broke: {why}");
                        let message = format!("the upstream connection failed mid-stream: {why}");
                        let event = Bytes::from(stream_error_event(format, &message, seq));
                        ledger.answer_bytes(&event);
                        broke = Some("stream_broken");
                        yield Ok(event);
                        break;
                    }
                    None => {
                        // An upstream that ends without a final blank line: pass its last bytes as they are.
                        if !splitter.pending().is_empty() {
                            tokens.push(splitter.pending());
                            ledger.answer_bytes(splitter.pending());
                            yield Ok(Bytes::copy_from_slice(splitter.pending()));
                        }
                        break;
                    }
                }
            }
            if let Some(t) = tokens.tokens() {
                ledger.tokens(t);
            }
            ledger.finish(status.as_u16(), broke);
        })
    } else {
        Body::from_stream(async_stream::stream! {
            // The whole body, kept (as shared chunks, not copies) to read its usage at the end.
            let mut body = WholeBody::default();
            body.push(&first);
            ledger.answer_bytes(&first);
            if !first.is_empty() {
                yield Ok::<Bytes, std::io::Error>(first);
            }
            while let Some(next) = rest.next().await {
                match next {
                    Ok(bytes) => {
                        body.push(&bytes);
                        ledger.answer_bytes(&bytes);
                        yield Ok(bytes);
                    }
                    Err(e) => {
                        let why = error_chain(&e);
                        tracing::warn!(credential = %served_by, "upstream body broke: {why}");
                        ledger.finish(status.as_u16(), Some("stream_broken"));
                        yield Err(std::io::Error::other(why));
                        return;
                    }
                }
            }
            if let Some(t) = body.tokens(format) {
                ledger.tokens(t);
            }
            ledger.finish(status.as_u16(), None);
        })
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    *resp.headers_mut() = head;
    resp
}
