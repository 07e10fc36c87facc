//! Prometheus metrics.
//!
//! SKELETON: `observe` is called once per finished request; the metrics work fills in the counters,
//! histograms and the text exposition.

use super::UsageEvent;

#[derive(Default)]
pub struct Metrics {}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// A finished request.
    pub fn observe(&self, event: &UsageEvent) {
        let _ = event;
    }
}
