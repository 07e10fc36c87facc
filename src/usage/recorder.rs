//! Recording usage off the request path: each finished request's event goes to a [`Batcher`] whose
//! writer inserts batches into the usage database; a full channel drops the event and counts it.

use std::time::Duration;

pub use super::batch::Counters;
use super::batch::{Batcher, Batching, Sink};
use super::{UsageEvent, UsageStore};

/// Events waiting to be written before new ones are dropped.
pub const CHANNEL_CAPACITY: usize = 16_384;

/// At most this many events per transaction, gathered for this long after the first.
const BATCHING: Batching = Batching {
    max: 4096,
    wait: Duration::from_millis(100),
};

#[derive(Clone)]
pub struct Recorder {
    batcher: Batcher<UsageEvent>,
}

impl Sink for UsageStore {
    type Item = UsageEvent;

    fn write(&mut self, batch: Vec<UsageEvent>) -> Result<(), String> {
        self.insert(&batch).map(drop).map_err(|e| e.to_string())
    }
}

impl Recorder {
    /// Starts the writer for `store` with room for `capacity` pending events. The writer ends once
    /// every `Recorder` clone is dropped and the channel is drained. Must run inside a Tokio runtime.
    pub fn start(store: UsageStore, capacity: usize) -> (Recorder, tokio::task::JoinHandle<()>) {
        let runtime = tokio::runtime::Handle::current();
        let (batcher, writer) = Batcher::start(&runtime, "usage events", store, capacity, BATCHING);
        (Recorder { batcher }, writer)
    }

    /// Hands an event to the writer without waiting; a full channel drops it (counted).
    pub fn record(&self, event: UsageEvent) {
        self.batcher.send(event);
    }

    pub fn counters(&self) -> &Counters {
        self.batcher.counters()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

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
        let counters = recorder.batcher.counters().clone();
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
        let counters = recorder.batcher.counters().clone();
        drop(recorder);
        writer.await.unwrap();
        assert_eq!(counters.written.load(Ordering::Relaxed), 100);
    }
}
