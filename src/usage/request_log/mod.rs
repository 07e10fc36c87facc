//! Request logs (`request-log: true`): each request's full exchange — the client's request, every
//! upstream attempt, the answer — kept by request id with secrets masked as it is captured, so no key
//! is ever held in a capture or written to disk. Captures go to their own SQLite file next to the usage
//! database (`request-log.sqlite`), written off the request path and capped in size.

mod mask;
mod store;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::runtime::Handle;

use super::batch::{Batcher, Batching, Sink};
use crate::config::UsageConfig;
pub use store::LogError;
use store::{Entry, LogStore};

/// The file's name, in the usage database's folder.
pub const FILE_NAME: &str = "request-log.sqlite";

/// The most body text kept per exchange; longer bodies are cut and marked `truncated`.
pub const BODY_CAP: usize = 1 << 20;

/// Captures waiting to be written before new ones are dropped: at most this many, and at most this
/// many bytes of them (a capture holds up to a few bodies of [`BODY_CAP`] each).
const CHANNEL_CAPACITY: usize = 1024;
const PENDING_BYTES: u64 = 64 << 20;

const BATCHING: Batching = Batching {
    max: 64,
    wait: Duration::from_millis(200),
};

/// One request's exchange as it happened, masked.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Capture {
    pub request: Exchange,
    pub attempts: Vec<Attempt>,
    pub response: Exchange,
    /// The answer's last bytes when they end inside a UTF-8 character split across two chunks.
    #[serde(skip)]
    split_char: Vec<u8>,
}

/// One side of an HTTP exchange.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exchange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body was longer than the cap and was cut.
    pub truncated: bool,
}

/// One upstream attempt: what was sent, and what came back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub credential: String,
    pub request: Exchange,
    pub response: Exchange,
}

impl Exchange {
    /// A request as sent: method, masked URL and headers, masked and capped body.
    fn sent(method: &Method, url: &str, headers: &HeaderMap, body: &[u8]) -> Exchange {
        let mut ex = Exchange {
            method: Some(method.to_string()),
            url: Some(mask::url(url)),
            headers: mask::headers(headers),
            ..Exchange::default()
        };
        ex.set_body(body);
        ex
    }

    /// A whole body: text (invalid UTF-8 replaced), capped, credential fields hidden.
    fn set_body(&mut self, body: &[u8]) {
        let cut = body.len() > BODY_CAP;
        self.body = String::from_utf8_lossy(&body[..body.len().min(BODY_CAP)]).into_owned();
        self.truncated = cut;
        self.cap();
        mask::body(&mut self.body);
    }

    /// Appends text up to the cap.
    fn push(&mut self, text: &str) {
        if self.truncated {
            return;
        }
        self.body.push_str(text);
        self.cap();
    }

    /// Cuts the body to [`BODY_CAP`] bytes at a character boundary (replaced characters can make the
    /// text longer than the bytes it came from).
    fn cap(&mut self) {
        if self.body.len() > BODY_CAP {
            let mut end = BODY_CAP;
            while !self.body.is_char_boundary(end) {
                end -= 1;
            }
            self.body.truncate(end);
            self.truncated = true;
        }
    }

    /// Roughly what this exchange holds in memory.
    fn size(&self) -> usize {
        let headers: usize = self.headers.iter().map(|(n, v)| n.len() + v.len()).sum();
        self.body.len() + headers + self.url.as_ref().map_or(0, String::len)
    }
}

impl Capture {
    pub fn request(&mut self, method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) {
        self.request = Exchange::sent(method, &uri.to_string(), headers, body);
    }

    pub fn attempt(
        &mut self,
        credential: &str,
        method: &Method,
        url: &url::Url,
        headers: &HeaderMap,
        body: &Bytes,
    ) {
        self.attempts.push(Attempt {
            credential: credential.to_string(),
            request: Exchange::sent(method, url.as_str(), headers, body),
            response: Exchange::default(),
        });
    }

    /// The upstream's answer to the last attempt; `body` only for answers that were read whole (errors).
    pub fn attempt_answer(&mut self, status: u16, headers: &HeaderMap, body: Option<&[u8]>) {
        let Some(last) = self.attempts.last_mut() else {
            return;
        };
        last.response.status = Some(status);
        last.response.headers = mask::headers(headers);
        if let Some(body) = body {
            last.response.set_body(body);
        }
    }

    pub fn response_head(&mut self, status: u16, headers: &HeaderMap) {
        self.response.status = Some(status);
        self.response.headers = mask::headers(headers);
    }

    /// More of the answer as the client got it. Chunks may split a character; its first bytes wait for
    /// the next chunk rather than turning into replacement characters.
    pub fn response_body(&mut self, bytes: &[u8]) {
        if self.response.truncated {
            return;
        }
        let joined;
        let mut rest = if self.split_char.is_empty() {
            bytes
        } else {
            let mut held = std::mem::take(&mut self.split_char);
            held.extend_from_slice(bytes);
            joined = held;
            &joined[..]
        };
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => return self.response.push(text),
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.response
                        .push(std::str::from_utf8(valid).unwrap_or_default());
                    match e.error_len() {
                        Some(bad) => {
                            self.response.push("\u{FFFD}");
                            rest = &after[bad..];
                        }
                        None => {
                            self.split_char = after.to_vec();
                            return;
                        }
                    }
                }
            }
        }
    }

    /// The capture is complete: a character left split is replaced, and the answer (read in chunks, so
    /// not masked on the way) has its credential fields hidden.
    fn finish(&mut self) {
        if !std::mem::take(&mut self.split_char).is_empty() {
            self.response.push("\u{FFFD}");
        }
        mask::body(&mut self.response.body);
    }

    fn size(&self) -> u64 {
        let attempts: usize = self
            .attempts
            .iter()
            .map(|a| a.request.size() + a.response.size())
            .sum();
        (self.request.size() + attempts + self.response.size()) as u64
    }
}

/// The request log of a running proxy. Its file is opened the first time logging is on (or a log is
/// read from a file an earlier run left), so a proxy that never logs never creates it.
pub struct RequestLog {
    enabled: AtomicBool,
    /// Shared with the writer, which rotates after each batch.
    max_bytes: Arc<AtomicU64>,
    /// Bytes of captures handed to the writer and not yet written.
    pending: Arc<AtomicU64>,
    /// `None` for a log that never keeps anything.
    path: Option<PathBuf>,
    /// Where the writer runs: reloads may call from outside the runtime.
    runtime: Option<Handle>,
    state: Mutex<State>,
}

enum State {
    Closed,
    Open(Arc<Opened>),
    /// The file could not be opened; tried again when a reload turns logging on.
    Failed(String),
}

struct Opened {
    writer: Batcher<Entry>,
    reader: Arc<Mutex<LogStore>>,
}

/// The writer's side: stores a batch, then holds the file to its cap.
struct LogSink {
    store: LogStore,
    max_bytes: Arc<AtomicU64>,
    pending: Arc<AtomicU64>,
}

impl Sink for LogSink {
    type Item = Entry;

    fn write(&mut self, batch: Vec<Entry>) -> Result<(), String> {
        let size: u64 = batch.iter().map(|e| e.capture.size()).sum();
        let written = self.store.insert(&batch);
        drop(batch);
        self.pending.fetch_sub(size, Ordering::Relaxed);
        written.map_err(|e| e.to_string())?;
        if let Err(e) = self.store.rotate(self.max_bytes.load(Ordering::Relaxed)) {
            tracing::warn!("request log rotation failed: {e}");
        }
        Ok(())
    }
}

/// Where the request log of a usage database lives.
pub fn path_for(usage_database: &Path) -> PathBuf {
    usage_database.with_file_name(FILE_NAME)
}

impl RequestLog {
    /// The request log next to the config's usage database; opened now when logging is on, so a
    /// file that cannot be opened is reported at start. Call inside a Tokio runtime.
    pub fn open(config: &UsageConfig) -> RequestLog {
        let log = RequestLog {
            enabled: AtomicBool::new(config.request_log),
            max_bytes: Arc::new(AtomicU64::new(config.request_log_max_bytes)),
            pending: Arc::new(AtomicU64::new(0)),
            path: Some(path_for(&config.database)),
            runtime: Handle::try_current().ok(),
            state: Mutex::new(State::Closed),
        };
        if config.request_log {
            log.opened();
        }
        log
    }

    pub fn off() -> RequestLog {
        RequestLog {
            enabled: AtomicBool::new(false),
            max_bytes: Arc::new(AtomicU64::new(0)),
            pending: Arc::new(AtomicU64::new(0)),
            path: None,
            runtime: None,
            state: Mutex::new(State::Closed),
        }
    }

    /// A reload: logging turns on or off for requests from now on; a new cap applies from the next
    /// batch written. The file stays where it was until a restart.
    pub fn reconfigure(&self, config: &UsageConfig) {
        self.max_bytes
            .store(config.request_log_max_bytes, Ordering::Relaxed);
        self.enabled.store(config.request_log, Ordering::Relaxed);
        if config.request_log {
            let mut state = self.lock();
            if matches!(*state, State::Failed(_)) {
                *state = State::Closed;
            }
            drop(state);
            self.opened();
        }
    }

    /// Whether new requests are captured.
    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Hands a finished capture to the writer; never waits. Dropped (and counted) when logging was
    /// turned off meanwhile or the writer is too far behind.
    pub fn record(&self, request_id: &str, mut capture: Box<Capture>) {
        if !self.enabled() {
            return;
        }
        let Some(opened) = self.opened() else {
            return;
        };
        capture.finish();
        let size = capture.size();
        if self.pending.fetch_add(size, Ordering::Relaxed) + size > PENDING_BYTES {
            self.pending.fetch_sub(size, Ordering::Relaxed);
            opened
                .writer
                .counters()
                .dropped
                .fetch_add(1, Ordering::Relaxed);
            return;
        }
        let entry = Entry {
            request_id: request_id.to_string(),
            time_ms: i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
                .unwrap_or(i64::MAX),
            capture,
        };
        if !opened.writer.send(entry) {
            self.pending.fetch_sub(size, Ordering::Relaxed);
        }
    }

    /// The writer's written, dropped and failed captures since the file was opened; `None` while it is
    /// not open.
    pub fn counters(&self) -> Option<[u64; 3]> {
        match &*self.lock() {
            State::Open(o) => Some(o.writer.counters().snapshot()),
            State::Closed | State::Failed(_) => None,
        }
    }

    /// The capture kept for `request_id`: `None` when there is none (logging was off, or it was
    /// rotated out).
    pub async fn get(&self, request_id: &str) -> Result<Option<Capture>, String> {
        let Some(opened) = self.readable()? else {
            return Ok(None);
        };
        let id = request_id.to_string();
        tokio::task::spawn_blocking(move || {
            let store = opened.reader.lock().unwrap_or_else(|p| p.into_inner());
            store.get(&id).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The open file, opening it if needed; `None` (logged once) when it cannot be opened.
    fn opened(&self) -> Option<Arc<Opened>> {
        let mut state = self.lock();
        match &*state {
            State::Open(o) => return Some(o.clone()),
            State::Failed(_) => return None,
            State::Closed => {}
        }
        match self.start() {
            Ok(o) => {
                *state = State::Open(o.clone());
                Some(o)
            }
            Err(e) => {
                tracing::error!("request logs are not kept: {e}");
                *state = State::Failed(e);
                None
            }
        }
    }

    /// For reading: the open file, or the file an earlier run left; `None` when there is no file.
    fn readable(&self) -> Result<Option<Arc<Opened>>, String> {
        match &*self.lock() {
            State::Open(o) => return Ok(Some(o.clone())),
            State::Failed(e) => return Err(e.clone()),
            State::Closed => {}
        }
        if !self.path.as_deref().is_some_and(Path::exists) {
            return Ok(None);
        }
        self.opened().map(Some).ok_or_else(|| match &*self.lock() {
            State::Failed(e) => e.clone(),
            _ => "the request log could not be opened".to_string(),
        })
    }

    fn start(&self) -> Result<Arc<Opened>, String> {
        let (Some(path), Some(runtime)) = (&self.path, &self.runtime) else {
            return Err("this process keeps no request log".into());
        };
        let writer = LogStore::open(path).map_err(|e| e.to_string())?;
        let reader = LogStore::open(path).map_err(|e| e.to_string())?;
        let sink = LogSink {
            store: writer,
            max_bytes: self.max_bytes.clone(),
            pending: self.pending.clone(),
        };
        let (writer, _task) =
            Batcher::start(runtime, "request logs", sink, CHANNEL_CAPACITY, BATCHING);
        Ok(Arc::new(Opened {
            writer,
            reader: Arc::new(Mutex::new(reader)),
        }))
    }
}
