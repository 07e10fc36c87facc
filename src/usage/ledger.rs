//! One request's account of itself, kept as it goes: which credentials were tried, when the first byte
//! came, the tokens the answer reported, how it ended. Finishing it (or dropping it, when the client goes
//! away mid-answer) hands one [`UsageEvent`] to the [`Usage`] handle; nothing here waits on the disk.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use time::OffsetDateTime;

use super::request_log::Capture;
use super::tokens::Tokens;
use super::{Usage, UsageEvent};
use crate::wire::Format;

pub struct Ledger {
    usage: Arc<Usage>,
    started: Instant,
    event: UsageEvent,
    /// The exchange, kept only while the request log is on.
    capture: Option<Box<Capture>>,
    attempts: u32,
    /// Set once the event has been handed over.
    done: bool,
}

/// A request id that carries the start time (see [`super::ids`]).
fn new_request_id(now: OffsetDateTime) -> String {
    let ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    super::ids::new(ms)
}

impl Ledger {
    /// Opens the ledger of a request that asked `model` in `format`; `client_key` is the key's label.
    pub fn start(
        usage: Arc<Usage>,
        format: Format,
        client_key: Option<String>,
        model: &str,
        stream: bool,
    ) -> Ledger {
        let time = OffsetDateTime::now_utc();
        let capture = usage.requests().enabled().then(Box::default);
        Ledger {
            usage,
            started: Instant::now(),
            event: UsageEvent {
                request_id: new_request_id(time),
                time,
                client_key,
                format: format.slug().to_string(),
                model: model.to_string(),
                stream,
                ..UsageEvent::placeholder()
            },
            capture,
            attempts: 0,
            done: false,
        }
    }

    pub fn request_id(&self) -> &str {
        &self.event.request_id
    }

    /// The request log is capturing this request: callers may skip work it alone needs.
    pub fn capturing(&self) -> bool {
        self.capture.is_some()
    }

    /// The client's request as it arrived.
    pub fn client_request(
        &mut self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
    ) {
        if let Some(c) = &mut self.capture {
            c.request(method, uri, headers, body);
        }
    }

    /// An upstream attempt begins on `credential` (its label) of `provider`.
    pub fn attempt(&mut self, provider: &str, credential: &str, upstream_model: &str) {
        self.attempts += 1;
        if self.attempts > 1 {
            self.event.retries += 1;
            if self.event.credential.as_deref() != Some(credential) {
                self.event.failovers += 1;
            }
        }
        self.event.provider = Some(provider.to_string());
        self.event.credential = Some(credential.to_string());
        self.event.upstream_model = Some(upstream_model.to_string());
    }

    /// What the attempt sent upstream (request log only).
    pub fn attempt_sent(
        &mut self,
        credential: &str,
        method: &Method,
        url: &url::Url,
        headers: &HeaderMap,
        body: &Bytes,
    ) {
        if let Some(c) = &mut self.capture {
            c.attempt(credential, method, url, headers, body);
        }
    }

    /// The upstream's answer to the attempt (request log only); `body` for answers read whole.
    pub fn attempt_answered(&mut self, status: u16, headers: &HeaderMap, body: Option<&[u8]>) {
        if let Some(c) = &mut self.capture {
            c.attempt_answer(status, headers, body);
        }
    }

    /// The upstream's answer is committed: its first byte has arrived.
    pub fn committed(&mut self, status: u16) {
        self.event.status = status;
        self.event.ttfb_ms = Some(elapsed_ms(self.started));
    }

    /// The head the client gets (request log only): the upstream's, filtered, for passthrough; our own
    /// for translated answers.
    pub fn answer_head(&mut self, status: u16, headers: &HeaderMap) {
        if let Some(c) = &mut self.capture {
            c.response_head(status, headers);
        }
    }

    /// More of the answer as the client gets it (request log only).
    pub fn answer_bytes(&mut self, bytes: &[u8]) {
        if let Some(c) = &mut self.capture {
            c.response_body(bytes);
        }
    }

    pub fn tokens(&mut self, t: Tokens) {
        self.event.input_tokens = t.input;
        self.event.output_tokens = t.output;
        self.event.cached_tokens = t.cached;
        self.event.reasoning_tokens = t.reasoning;
    }

    /// The request ended with `status`; `error_class` names what went wrong, if anything did.
    pub fn finish(mut self, status: u16, error_class: Option<&str>) {
        self.close(status, error_class);
    }

    /// An error answer of our own: its status, class, and the body the client got.
    pub fn finish_error(
        mut self,
        status: u16,
        error_class: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) {
        if let Some(c) = &mut self.capture {
            c.response_head(status, headers);
            c.response_body(body);
        }
        self.close(status, Some(error_class));
    }

    fn close(&mut self, status: u16, error_class: Option<&str>) {
        if self.done {
            return;
        }
        self.done = true;
        self.event.status = status;
        self.event.error_class = error_class.map(str::to_string);
        self.event.latency_ms = elapsed_ms(self.started);
        let event = std::mem::replace(&mut self.event, UsageEvent::placeholder());
        self.usage.finish(event, self.capture.take());
    }
}

impl Drop for Ledger {
    /// The answer's body was dropped before its end: the client went away.
    fn drop(&mut self) {
        let status = self.event.status;
        self.close(status, Some("client_closed"));
    }
}

fn elapsed_ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}
