//! Usage history, request logs and metrics: one event per request, recorded off the request path into
//! SQLite, and counted for `/metrics`.
//!
//! [`Usage`] is the handle the server and the service share; a request's [`Ledger`] collects what
//! happened to it and hands the finished event over without ever waiting for the disk.

mod batch;
pub(crate) mod dates;
pub mod export;
mod ids;
mod ledger;
pub mod metrics;
mod query;
mod recorder;
pub mod request_log;
mod sqlite;
mod store;
pub mod tokens;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

pub use ledger::Ledger;
pub use metrics::Metrics;
pub use query::{Bucket, Report, MAX_BUCKETS};
pub use recorder::{Counters, Recorder, CHANNEL_CAPACITY};
pub use store::{EventQuery, GroupBy, Totals, UsageError, UsageStore};

use crate::config::UsageConfig;

/// How often events past the retention age are deleted.
const RETENTION_SWEEP: Duration = Duration::from_secs(6 * 3600);

/// One proxied request, as the usage history keeps it. Never holds a secret: the client key is a label
/// or a hash, the credential its config label or account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageEvent {
    pub request_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub client_key: Option<String>,
    /// The client's wire format (`openai-chat`, `anthropic`, …).
    pub format: String,
    pub provider: Option<String>,
    pub credential: Option<String>,
    /// What the client asked for, and what the upstream was asked.
    pub model: String,
    pub upstream_model: Option<String>,
    pub stream: bool,
    pub status: u16,
    pub error_class: Option<String>,
    pub latency_ms: u64,
    pub ttfb_ms: Option<u64>,
    /// Every prompt token, cached ones included.
    pub input_tokens: u64,
    /// Every generated token, reasoning included.
    pub output_tokens: u64,
    /// Of `input_tokens`, read from the provider's prompt cache.
    pub cached_tokens: u64,
    /// Of `output_tokens`, spent on reasoning.
    pub reasoning_tokens: u64,
    /// Attempts after the first, on the same credential or another.
    pub retries: u32,
    /// Attempts that moved to a different credential.
    pub failovers: u32,
}

impl UsageEvent {
    /// An empty event (no allocation): what a finished one leaves behind when it is moved out, and the
    /// base the ledger fills in.
    pub(crate) fn placeholder() -> UsageEvent {
        UsageEvent {
            request_id: String::new(),
            time: OffsetDateTime::UNIX_EPOCH,
            client_key: None,
            format: String::new(),
            provider: None,
            credential: None,
            model: String::new(),
            upstream_model: None,
            stream: false,
            status: 0,
            error_class: None,
            latency_ms: 0,
            ttfb_ms: None,
            input_tokens: 0,
            output_tokens: 0,
            cached_tokens: 0,
            reasoning_tokens: 0,
            retries: 0,
            failovers: 0,
        }
    }
}

/// What the usage history shows for a client key: `key-` and the first 8 hex digits of its SHA-256. The
/// same key always gets the same name, and the name does not reveal the key.
pub fn client_key_label(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::from("key-");
    for b in &digest[..4] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The usage history of a running proxy: the writer, a connection for reading, the metrics and the
/// request log. Reads and writes use separate connections; WAL lets them run at the same time.
pub struct Usage {
    enabled: AtomicBool,
    recorder: Option<Recorder>,
    /// Events handed to the recorder, to tell when it has caught up.
    handed: AtomicU64,
    reader: Option<Arc<Mutex<UsageStore>>>,
    path: PathBuf,
    /// Why the database is not there, when it is not.
    unavailable: Option<String>,
    metrics: Metrics,
    requests: request_log::RequestLog,
}

impl Usage {
    /// Opens the database the config names and starts its writer and retention sweep. A database that
    /// cannot be opened is logged and leaves usage history off; requests and metrics work regardless.
    /// Must run inside a Tokio runtime.
    pub fn open(config: &UsageConfig) -> Arc<Usage> {
        let path = config.database.clone();
        let opened = open_pair(&path);
        let (recorder, reader, unavailable) = match opened {
            Ok((writer, reader)) => {
                let (recorder, _task) = Recorder::start(writer, CHANNEL_CAPACITY);
                (Some(recorder), Some(Arc::new(Mutex::new(reader))), None)
            }
            Err(e) => {
                tracing::error!("usage history is off: {e}");
                (None, None, Some(e.to_string()))
            }
        };
        let usage = Arc::new(Usage {
            enabled: AtomicBool::new(config.enabled),
            recorder,
            handed: AtomicU64::new(0),
            reader,
            path,
            unavailable,
            metrics: Metrics::new(),
            requests: request_log::RequestLog::open(config),
        });
        if let Some(reader) = usage.reader.clone() {
            tokio::spawn(sweep(reader, config.retention_days));
        }
        usage
    }

    /// Applies a reloaded config: recording and request logging turn on and off at once.
    pub fn reconfigure(&self, config: &UsageConfig) {
        self.enabled.store(config.enabled, Ordering::Relaxed);
        self.requests.reconfigure(config);
    }

    pub fn enabled(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Why usage history is unavailable (the database could not be opened), if it is.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    pub fn requests(&self) -> &request_log::RequestLog {
        &self.requests
    }

    /// The writer's counters (written, dropped, failed), when the database is open.
    pub fn counters(&self) -> Option<&Counters> {
        self.recorder.as_ref().map(Recorder::counters)
    }

    /// Runs `f` on the reading connection, on a blocking thread.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut UsageStore) -> Result<T, UsageError> + Send + 'static,
    ) -> Result<T, ReadError> {
        let Some(reader) = self.reader.clone() else {
            return Err(ReadError::Unavailable(
                self.unavailable.clone().unwrap_or_default(),
            ));
        };
        tokio::task::spawn_blocking(move || {
            let mut store = reader.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut store)
        })
        .await
        .map_err(|e| ReadError::Failed(e.to_string()))?
        .map_err(|e| ReadError::Failed(e.to_string()))
    }

    /// A finished request: counted in the metrics always, kept in the history when recording is on.
    fn finish(&self, event: UsageEvent, capture: Option<Box<request_log::Capture>>) {
        self.metrics.observe(&event);
        if let Some(capture) = capture {
            self.requests.record(&event.request_id, capture);
        }
        if self.enabled() {
            if let Some(recorder) = &self.recorder {
                self.handed.fetch_add(1, Ordering::Relaxed);
                recorder.record(event);
            }
        }
    }

    /// Waits (at most `within`) until every event handed over so far is written, failed or dropped; for a
    /// graceful shutdown, so the last requests before it are not lost with the writer's pending batch.
    pub async fn flush(&self, within: Duration) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        let deadline = tokio::time::Instant::now() + within;
        let handed = self.handed.load(Ordering::Relaxed);
        loop {
            let c = recorder.counters();
            let settled = c.written.load(Ordering::Relaxed)
                + c.failed.load(Ordering::Relaxed)
                + c.dropped.load(Ordering::Relaxed);
            if settled >= handed || tokio::time::Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A handle with no database, for tests of other layers.
    pub fn in_memory_off() -> Arc<Usage> {
        Arc::new(Usage {
            enabled: AtomicBool::new(false),
            recorder: None,
            handed: AtomicU64::new(0),
            reader: None,
            path: PathBuf::new(),
            unavailable: Some("usage history is not kept by this process".into()),
            metrics: Metrics::new(),
            requests: request_log::RequestLog::off(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("usage history is unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Failed(String),
}

/// The writer's and the reader's connections.
fn open_pair(path: &Path) -> Result<(UsageStore, UsageStore), UsageError> {
    Ok((UsageStore::open(path)?, UsageStore::open(path)?))
}

/// Deletes events past the retention age now and every few hours; 0 days keeps everything.
async fn sweep(reader: Arc<Mutex<UsageStore>>, days: u32) {
    if days == 0 {
        return;
    }
    let mut tick = tokio::time::interval(RETENTION_SWEEP);
    loop {
        tick.tick().await;
        let reader = reader.clone();
        let cutoff = OffsetDateTime::now_utc() - time::Duration::days(i64::from(days));
        let swept = tokio::task::spawn_blocking(move || {
            let store = reader.lock().unwrap_or_else(|p| p.into_inner());
            store.forget_before(cutoff)
        })
        .await;
        match swept {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!("usage history: {n} events older than {days} days deleted"),
            Ok(Err(e)) => tracing::warn!("usage retention sweep failed: {e}"),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_key_is_named_by_a_short_stable_hash() {
        let a = client_key_label("sy-secret-key");
        assert_eq!(a, client_key_label("sy-secret-key"));
        assert_ne!(a, client_key_label("sy-secret-kez"));
        assert!(a.starts_with("key-") && a.len() == 12, "{a}");
        assert!(!a.contains("secret"));
    }
}
