//! Recording usage off the request path: a request hands its event to a bounded channel and moves on; a
//! writer task drains it in batches into SQLite on a blocking thread. When the channel is full (the disk
//! is slower than the traffic) the event is dropped and counted, never waited for.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{UsageEvent, UsageStore};

/// Events waiting to be written before new ones are dropped.
pub const CHANNEL_CAPACITY: usize = 16_384;

/// At most this many events per transaction.
const BATCH: usize = 4096;
/// How long a batch gathers after its first event. The writer sleeps meanwhile instead of waiting on the
/// channel, so requests never pay for waking it: one wake-up per batch, not per event.
const BATCH_WAIT: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::Sender<UsageEvent>,
    counters: Arc<Counters>,
}

#[derive(Default)]
pub struct Counters {
    pub written: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
}

impl Recorder {
    /// Starts the writer for `store` with room for `capacity` pending events. The writer ends once
    /// every `Recorder` clone is dropped and the channel is drained.
    pub fn start(store: UsageStore, capacity: usize) -> (Recorder, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity);
        let counters = Arc::new(Counters::default());
        let writer = tokio::spawn(write_loop(store, rx, counters.clone()));
        (Recorder { tx, counters }, writer)
    }

    /// Hands an event to the writer without waiting; a full channel drops it (counted).
    pub fn record(&self, event: UsageEvent) {
        if self.tx.try_send(event).is_err() {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

async fn write_loop(
    store: UsageStore,
    mut rx: mpsc::Receiver<UsageEvent>,
    counters: Arc<Counters>,
) {
    let mut store = Some(store);
    let mut batch = Vec::with_capacity(BATCH);
    let mut backlog = false;
    loop {
        let Some(first) = rx.recv().await else {
            return;
        };
        batch.push(first);
        // With a backlog there is no point gathering: write the next batch at once.
        if !backlog {
            tokio::time::sleep(BATCH_WAIT).await;
        }
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(e) => batch.push(e),
                Err(_) => break,
            }
        }
        backlog = batch.len() == BATCH;
        let Some(mut s) = store.take() else {
            return;
        };
        let events = std::mem::take(&mut batch);
        let n = events.len() as u64;
        let done = tokio::task::spawn_blocking(move || {
            let result = s.insert(&events);
            (s, result)
        })
        .await;
        match done {
            Ok((s, Ok(_))) => {
                counters.written.fetch_add(n, Ordering::Relaxed);
                store = Some(s);
            }
            Ok((s, Err(e))) => {
                tracing::warn!("usage events not recorded: {e}");
                counters.failed.fetch_add(n, Ordering::Relaxed);
                store = Some(s);
            }
            Err(e) => {
                tracing::error!("the usage writer stopped: {e}");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use time::OffsetDateTime;

    use super::*;

    fn event(n: usize) -> UsageEvent {
        UsageEvent {
            request_id: format!("req-{n}"),
            time: OffsetDateTime::now_utc(),
            client_key: None,
            format: "anthropic".into(),
            provider: Some("claude".into()),
            credential: None,
            model: "m".into(),
            upstream_model: None,
            stream: false,
            status: 200,
            error_class: None,
            latency_ms: 5,
            ttfb_ms: None,
            input_tokens: 1,
            output_tokens: 1,
            cached_tokens: 0,
            reasoning_tokens: 0,
            retries: 0,
            failovers: 0,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ten_thousand_events_below_the_cap_are_all_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let (recorder, writer) =
            Recorder::start(UsageStore::open(&path).unwrap(), CHANNEL_CAPACITY);
        for n in 0..10_000 {
            recorder.record(event(n));
        }
        let counters = recorder.counters.clone();
        drop(recorder);
        writer.await.unwrap();
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 0);
        assert_eq!(counters.written.load(Ordering::Relaxed), 10_000);
        assert_eq!(UsageStore::open(&path).unwrap().count().unwrap(), 10_000);
    }

    #[tokio::test]
    async fn a_full_channel_drops_and_counts_instead_of_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        // A current-thread runtime: the writer cannot run while this loop sends, so the channel fills.
        let (recorder, writer) = Recorder::start(UsageStore::open(&path).unwrap(), 100);
        for n in 0..150 {
            recorder.record(event(n));
        }
        assert_eq!(recorder.counters().dropped.load(Ordering::Relaxed), 50);
        let counters = recorder.counters.clone();
        drop(recorder);
        writer.await.unwrap();
        assert_eq!(counters.written.load(Ordering::Relaxed), 100);
    }
}
