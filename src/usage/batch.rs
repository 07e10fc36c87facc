//! Writing off the request path: a request hands its item to a bounded channel and moves on; a writer
//! task drains the channel in batches into a [`Sink`] on a blocking thread. When the channel is full
//! (the disk is slower than the traffic) the item is dropped and counted, never waited for. The usage
//! recorder and the request log both write this way.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::mpsc;

/// Where a batch goes; runs on a blocking thread.
pub trait Sink: Send + 'static {
    type Item: Send + 'static;

    /// Writes the whole batch, or none of it and says why.
    fn write(&mut self, batch: Vec<Self::Item>) -> Result<(), String>;
}

/// How a writer groups items: at most `max` per batch, gathered for `wait` after the first. The writer
/// sleeps while a batch gathers instead of waiting on the channel, so senders never pay for waking it:
/// one wake-up per batch, not per item.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    pub max: usize,
    pub wait: Duration,
}

/// What a writer did since it started.
#[derive(Default)]
pub struct Counters {
    pub written: AtomicU64,
    pub dropped: AtomicU64,
    pub failed: AtomicU64,
}

impl Counters {
    /// Written, dropped and failed, as they are now (for `/metrics`).
    pub fn snapshot(&self) -> [u64; 3] {
        [&self.written, &self.dropped, &self.failed].map(|c| c.load(Ordering::Relaxed))
    }
}

pub struct Batcher<T> {
    tx: mpsc::Sender<T>,
    counters: Arc<Counters>,
}

impl<T> Clone for Batcher<T> {
    fn clone(&self) -> Self {
        Batcher {
            tx: self.tx.clone(),
            counters: self.counters.clone(),
        }
    }
}

impl<T: Send + 'static> Batcher<T> {
    /// Starts the writer for `sink` on `runtime` with room for `capacity` pending items. `what` names
    /// the items in log lines. The writer ends once every clone is dropped and the channel is drained.
    pub fn start<S: Sink<Item = T>>(
        runtime: &Handle,
        what: &'static str,
        sink: S,
        capacity: usize,
        batching: Batching,
    ) -> (Batcher<T>, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(capacity);
        let counters = Arc::new(Counters::default());
        let writer = runtime.spawn(write_loop(what, sink, rx, counters.clone(), batching));
        (Batcher { tx, counters }, writer)
    }

    /// Hands an item to the writer without waiting; a full channel drops it (counted). Returns whether
    /// it was taken.
    pub fn send(&self, item: T) -> bool {
        let taken = self.tx.try_send(item).is_ok();
        if !taken {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }
}

async fn write_loop<S: Sink>(
    what: &'static str,
    sink: S,
    mut rx: mpsc::Receiver<S::Item>,
    counters: Arc<Counters>,
    batching: Batching,
) {
    let mut sink = Some(sink);
    let mut backlog = false;
    loop {
        let Some(first) = rx.recv().await else {
            return;
        };
        let mut batch = Vec::with_capacity(batching.max);
        batch.push(first);
        // With a backlog there is no point gathering: write the next batch at once.
        if !backlog {
            tokio::time::sleep(batching.wait).await;
        }
        while batch.len() < batching.max {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        backlog = batch.len() == batching.max;
        let Some(mut s) = sink.take() else {
            return;
        };
        let n = batch.len() as u64;
        let done = tokio::task::spawn_blocking(move || {
            let result = s.write(batch);
            (s, result)
        })
        .await;
        match done {
            Ok((s, Ok(()))) => {
                counters.written.fetch_add(n, Ordering::Relaxed);
                sink = Some(s);
            }
            Ok((s, Err(e))) => {
                tracing::warn!("{what} not recorded: {e}");
                counters.failed.fetch_add(n, Ordering::Relaxed);
                sink = Some(s);
            }
            Err(e) => {
                tracing::error!("the writer of {what} stopped: {e}");
                return;
            }
        }
    }
}
