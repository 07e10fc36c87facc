//! Answers that cross formats: the upstream's stream or body decoded into IR events and re-encoded in the
//! client's format as they arrive.

use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use http::{header, HeaderValue};

use super::respond;
use crate::routing::{error_chain, Committed, Translation};
use crate::translate::aggregate::{events_from_response, Aggregator};
use crate::translate::{self, ir, StreamDecoder, StreamEncoder};
use crate::usage::tokens::Tokens;
use crate::usage::Ledger;
use crate::wire::error::ErrorKind;
use crate::wire::sse::{parse_events, EventSplitter};
use crate::wire::Format;

/// The most of a whole (non-streamed) upstream body we read to translate it.
const MAX_BODY: usize = 64 << 20;

type Upstream = BoxStream<'static, Result<Bytes, reqwest::Error>>;

pub async fn respond(c: Committed, t: Translation, ledger: Ledger) -> Response {
    let upstream_sse = c
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let Committed {
        first,
        rest,
        served_by,
        ..
    } = c;
    let mut events: BoxStream<'static, ir::Event> = if upstream_sse {
        upstream_events(
            first,
            rest,
            translate::stream_decoder(t.upstream),
            served_by,
        )
    } else {
        whole_body_events(first, rest, t.upstream)
    };
    if !t.tool_names.is_empty() {
        let names = t.tool_names.clone();
        events = events
            .map(move |mut e| {
                if let ir::Event::BlockStart {
                    block: ir::BlockStart::ToolCall { name, .. },
                    ..
                } = &mut e
                {
                    if let Some(original) = names.get(name.as_str()) {
                        name.clone_from(original);
                    }
                }
                e
            })
            .boxed();
    }
    if t.client_stream {
        stream_to_client(events, &t, ledger)
    } else {
        aggregate_to_client(events, t.client, &t.options.model, ledger).await
    }
}

/// Decodes an upstream SSE stream into IR events, ending with `Error` if the connection breaks.
fn upstream_events(
    first: Bytes,
    mut rest: Upstream,
    mut decoder: Box<dyn StreamDecoder>,
    served_by: String,
) -> BoxStream<'static, ir::Event> {
    async_stream::stream! {
        let mut splitter = EventSplitter::new();
        let mut chunk = Some(first);
        loop {
            if let Some(bytes) = chunk.take() {
                if let Some(run) = splitter.push(&bytes) {
                    for event in parse_events(&run) {
                        match decoder.push(&event) {
                            Ok(out) => for e in out { yield e; },
                            Err(err) => {
                                yield ir::Event::Error { message: err.to_string() };
                                return;
                            }
                        }
                    }
                }
            }
            match rest.next().await {
                Some(Ok(bytes)) => chunk = Some(bytes),
                Some(Err(e)) => {
                    let why = error_chain(&e);
                    tracing::warn!(credential = %served_by, "upstream stream broke: {why}");
                    yield ir::Event::Error { message: format!("the upstream connection failed mid-stream: {why}") };
                    return;
                }
                None => break,
            }
        }
        for e in decoder.finish() {
            yield e;
        }
    }
    .boxed()
}

/// Reads a whole upstream body and replays it as IR events.
fn whole_body_events(
    first: Bytes,
    mut rest: Upstream,
    upstream: Format,
) -> BoxStream<'static, ir::Event> {
    async_stream::stream! {
        let mut body = first.to_vec();
        while let Some(next) = rest.next().await {
            match next {
                Ok(bytes) if body.len() + bytes.len() <= MAX_BODY => body.extend_from_slice(&bytes),
                Ok(_) => {
                    yield ir::Event::Error { message: "the upstream answer is too large to translate".into() };
                    return;
                }
                Err(e) => {
                    yield ir::Event::Error { message: format!("the upstream connection failed: {}", error_chain(&e)) };
                    return;
                }
            }
        }
        match translate::decode_response(upstream, &body) {
            Ok(resp) => for e in events_from_response(&resp) { yield e; },
            Err(e) => yield ir::Event::Error { message: e.to_string() },
        }
    }
    .boxed()
}

/// The ledger's token counts from the IR's usage (the same definitions: cached within input, reasoning
/// within output).
fn tokens(u: &ir::Usage) -> Tokens {
    Tokens {
        input: u.input,
        output: u.output,
        cached: u.cache_read,
        reasoning: u.reasoning,
    }
}

fn stream_to_client(
    mut events: BoxStream<'static, ir::Event>,
    t: &Translation,
    mut ledger: Ledger,
) -> Response {
    let mut encoder: Box<dyn StreamEncoder> = translate::stream_encoder(t.client, &t.options);
    // Without keep-alives, wait as long as it takes.
    let keepalive = t.keepalive.unwrap_or(Duration::MAX);
    let content_type = if t.client == Format::Gemini && !t.options.gemini_sse {
        "application/json"
    } else {
        "text/event-stream"
    };
    let mut head = http::HeaderMap::new();
    head.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    head.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    head.insert("x-accel-buffering", HeaderValue::from_static("no"));
    ledger.answer_head(200, &head);
    let body = Body::from_stream(async_stream::stream! {
        let mut out = Vec::new();
        let mut failed = None;
        loop {
            match tokio::time::timeout(keepalive, events.next()).await {
                Ok(Some(event)) => {
                    match &event {
                        ir::Event::Start { usage: Some(u), .. } | ir::Event::Finish { usage: u, .. } => {
                            ledger.tokens(tokens(u));
                        }
                        ir::Event::Error { .. } => failed = Some("stream_broken"),
                        _ => {}
                    }
                    encoder.push(&event, &mut out);
                    if failed.is_some() {
                        break;
                    }
                }
                Ok(None) => break,
                Err(_) => encoder.keep_alive(&mut out),
            }
            if !out.is_empty() {
                ledger.answer_bytes(&out);
                yield Ok::<Bytes, std::io::Error>(Bytes::from(std::mem::take(&mut out)));
            }
        }
        encoder.finish(&mut out);
        if !out.is_empty() {
            ledger.answer_bytes(&out);
            yield Ok(Bytes::from(out));
        }
        ledger.finish(200, failed);
    });
    let mut resp = Response::new(body);
    *resp.headers_mut() = head;
    resp
}

/// A non-streaming client waits for the whole answer, so a failure can still get a proper status code.
async fn aggregate_to_client(
    mut events: BoxStream<'static, ir::Event>,
    client: Format,
    model: &str,
    mut ledger: Ledger,
) -> Response {
    let mut agg = Aggregator::new();
    while let Some(event) = events.next().await {
        agg.push(&event);
    }
    match agg.finish() {
        Ok(mut resp) => {
            // The client hears back the model it asked for, as in streams (not the upstream's name for it).
            resp.model = model.to_string();
            ledger.tokens(tokens(&resp.usage));
            let body = translate::encode_response(client, &resp);
            let mut out = Response::new(Body::empty());
            out.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            ledger.answer_head(200, out.headers());
            ledger.answer_bytes(&body);
            ledger.finish(200, None);
            *out.body_mut() = Body::from(body);
            out
        }
        Err(message) => {
            let resp = respond::error(
                client,
                ErrorKind::Upstream,
                &message,
                Some("upstream_error"),
            );
            ledger.finish_error(
                resp.status().as_u16(),
                "upstream_error",
                resp.headers(),
                message.as_bytes(),
            );
            resp
        }
    }
}
