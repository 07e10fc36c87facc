//! Prometheus metrics: counters and histograms kept per finished request, gauges read from the running
//! proxy at scrape time, rendered as the text exposition format 0.0.4 (docs/metrics.md lists them).
//!
//! Hand-rolled rather than the `prometheus-client` crate: its label families want an owned label set per
//! observation (five `String`s allocated per request), where here a request finds its series by borrowed
//! strings under a read lock and then only adds to atomics. The scrape-time gauges would need custom
//! collectors there anyway, and the text format is a few dozen lines.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use indexmap::{Equivalent, IndexMap};

use super::UsageEvent;
use exposition::Exposition;

mod exposition;

/// Histogram bucket bounds in milliseconds: 50 ms to 5 min, from a quick error to a long reasoning stream.
const BUCKETS_MS: [u64; 13] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000,
];
/// The bounds and `+Inf`.
const BUCKETS: usize = BUCKETS_MS.len() + 1;

/// Distinct label sets kept at most. Past it a new set is counted with its model and credential as
/// [`OTHER`], so a client inventing model names cannot grow memory or the scrape without bound.
const MAX_SERIES: usize = 4096;
/// The model and credential of requests counted past [`MAX_SERIES`].
pub const OTHER: &str = "(other)";

/// Token kinds, in the order [`Series::tokens`] keeps them.
const TOKEN_KINDS: [&str; 4] = ["input", "output", "cached", "reasoning"];

/// What one request's series is keyed by: every label any per-request metric uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Key {
    format: String,
    provider: String,
    credential: String,
    model: String,
    status: u16,
    error_class: String,
}

/// [`Key`] borrowed from an event, so finding an existing series allocates nothing. Field order and
/// types hash exactly as `Key`'s do (`&str` hashes as `String`).
#[derive(Hash)]
struct KeyRef<'a> {
    format: &'a str,
    provider: &'a str,
    credential: &'a str,
    model: &'a str,
    status: u16,
    error_class: &'a str,
}

impl<'a> KeyRef<'a> {
    fn of(e: &'a UsageEvent) -> Self {
        KeyRef {
            format: &e.format,
            provider: e.provider.as_deref().unwrap_or(""),
            credential: e.credential.as_deref().unwrap_or(""),
            model: &e.model,
            status: e.status,
            error_class: e.error_class.as_deref().unwrap_or(""),
        }
    }

    fn owned(&self) -> Key {
        Key {
            format: self.format.to_string(),
            provider: self.provider.to_string(),
            credential: self.credential.to_string(),
            model: self.model.to_string(),
            status: self.status,
            error_class: self.error_class.to_string(),
        }
    }
}

impl Equivalent<Key> for KeyRef<'_> {
    fn equivalent(&self, k: &Key) -> bool {
        self.status == k.status
            && self.model == k.model
            && self.credential == k.credential
            && self.provider == k.provider
            && self.format == k.format
            && self.error_class == k.error_class
    }
}

#[derive(Default)]
struct Histogram {
    /// Not cumulative: each observation lands in one bucket; rendering sums them up.
    buckets: [AtomicU64; BUCKETS],
    sum_ms: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn observe(&self, ms: u64) {
        // `le` is inclusive: the first bound at or above the value.
        let i = BUCKETS_MS.partition_point(|&bound| bound < ms);
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_ms.fetch_add(ms, Relaxed);
        self.count.fetch_add(1, Relaxed);
    }

    fn read(&self) -> Hist {
        Hist {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Relaxed)),
            sum_ms: self.sum_ms.load(Relaxed),
            count: self.count.load(Relaxed),
        }
    }
}

/// Everything counted for one label set.
#[derive(Default)]
struct Series {
    requests: AtomicU64,
    duration: Histogram,
    ttfb: Histogram,
    tokens: [AtomicU64; 4],
    retries: AtomicU64,
    failovers: AtomicU64,
}

impl Series {
    fn add(&self, e: &UsageEvent) {
        self.requests.fetch_add(1, Relaxed);
        self.duration.observe(e.latency_ms);
        if let Some(ttfb) = e.ttfb_ms {
            self.ttfb.observe(ttfb);
        }
        let tokens = [
            e.input_tokens,
            e.output_tokens,
            e.cached_tokens,
            e.reasoning_tokens,
        ];
        for (counter, n) in self.tokens.iter().zip(tokens) {
            if n > 0 {
                counter.fetch_add(n, Relaxed);
            }
        }
        if e.retries > 0 {
            self.retries.fetch_add(u64::from(e.retries), Relaxed);
        }
        if e.failovers > 0 {
            self.failovers.fetch_add(u64::from(e.failovers), Relaxed);
        }
    }
}

/// A histogram's values at scrape time.
#[derive(Default, Clone, Copy)]
struct Hist {
    buckets: [u64; BUCKETS],
    sum_ms: u64,
    count: u64,
}

impl Hist {
    fn merge(&mut self, other: &Hist) {
        for (a, b) in self.buckets.iter_mut().zip(other.buckets) {
            *a += b;
        }
        self.sum_ms += other.sum_ms;
        self.count += other.count;
    }
}

/// The request metrics of a running proxy. Observing a request takes a read lock, a hash lookup by
/// borrowed strings and a dozen relaxed atomic adds; only a label set seen for the first time takes the
/// write lock and allocates. No lock is ever held across an `.await`.
pub struct Metrics {
    started: Instant,
    series: RwLock<IndexMap<Key, Series>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            series: RwLock::new(IndexMap::new()),
        }
    }
}

/// One credential resting after an upstream failure, as the scrape sees it.
#[derive(Debug, Clone)]
pub struct Cooling {
    pub provider: String,
    /// The credential's label, as requests name it.
    pub credential: String,
    /// The upstream model it rests for.
    pub model: String,
    pub remaining: Duration,
}

/// Whether a credential can serve now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CredentialState {
    /// Serves at least one model now.
    Ready,
    /// Cooling down for every model it serves.
    Cooling,
    /// Serves nothing: a disabled account, one that needs a new login, or every model excluded.
    Disabled,
}

impl CredentialState {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialState::Ready => "ready",
            CredentialState::Cooling => "cooling",
            CredentialState::Disabled => "disabled",
        }
    }
}

/// Token refreshes of one provider's accounts since start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshes {
    pub provider: String,
    pub ok: u64,
    pub failed: u64,
}

/// What the proxy looks like at scrape time: read from the router, the accounts and the usage recorder
/// by the `/metrics` handler, rendered next to the request metrics.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    pub cooldowns: Vec<Cooling>,
    /// Each credential's provider and state.
    pub credentials: Vec<(String, CredentialState)>,
    pub refreshes: Vec<Refreshes>,
    /// The usage recorder's written, dropped and failed events; `None` without a database.
    pub usage_events: Option<[u64; 3]>,
    /// The request log writer's written, dropped and failed captures; `None` while its file is closed.
    pub request_logs: Option<[u64; 3]>,
    /// Events are being written to the usage history now.
    pub recording: bool,
}

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, IndexMap<Key, Series>> {
        self.series.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, IndexMap<Key, Series>> {
        self.series.write().unwrap_or_else(|p| p.into_inner())
    }

    /// A finished request.
    pub fn observe(&self, event: &UsageEvent) {
        let key = KeyRef::of(event);
        if let Some(series) = self.read().get(&key) {
            series.add(event);
            return;
        }
        let mut map = self.write();
        // Another request may have added it between the two locks.
        if let Some(series) = map.get(&key) {
            series.add(event);
            return;
        }
        let key = if map.len() >= MAX_SERIES {
            KeyRef {
                credential: OTHER,
                model: OTHER,
                ..key
            }
        } else {
            key
        };
        match map.get(&key) {
            Some(series) => series.add(event),
            None => {
                let series = Series::default();
                series.add(event);
                map.insert(key.owned(), series);
            }
        }
    }

    /// The text exposition (format 0.0.4) of every metric: the request metrics and `scrape`'s gauges.
    pub fn render(&self, scrape: &Scrape) -> String {
        let agg = self.aggregate();
        let mut out = Exposition::default();

        out.family("switchyard_requests_total", "counter", "Finished requests by client format, provider, credential, requested model and HTTP status.");
        for ((format, provider, credential, model, status), n) in &agg.requests {
            let status = status.to_string();
            let labels = [
                ("format", format.as_str()),
                ("provider", provider.as_str()),
                ("credential", credential.as_str()),
                ("model", model.as_str()),
                ("status", status.as_str()),
            ];
            out.sample("switchyard_requests_total", &labels, n);
        }

        out.family(
            "switchyard_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its last byte.",
        );
        for ((format, provider), h) in &agg.duration {
            let labels = [("format", format.as_str()), ("provider", provider.as_str())];
            out.histogram("switchyard_request_duration_seconds", &labels, h);
        }

        out.family(
            "switchyard_time_to_first_byte_seconds",
            "histogram",
            "Time from a request's arrival to the first byte of the upstream's answer.",
        );
        for (provider, h) in &agg.ttfb {
            out.histogram(
                "switchyard_time_to_first_byte_seconds",
                &[("provider", provider.as_str())],
                h,
            );
        }

        out.family(
            "switchyard_tokens_total",
            "counter",
            "Tokens the upstreams reported; cached is part of input, reasoning part of output.",
        );
        for ((provider, model), tokens) in &agg.tokens {
            for (kind, n) in TOKEN_KINDS.iter().zip(tokens) {
                let labels = [
                    ("provider", provider.as_str()),
                    ("model", model.as_str()),
                    ("kind", kind),
                ];
                out.sample("switchyard_tokens_total", &labels, n);
            }
        }

        out.family(
            "switchyard_retries_total",
            "counter",
            "Upstream attempts after a request's first one.",
        );
        for (provider, (retries, _)) in &agg.by_provider {
            out.sample(
                "switchyard_retries_total",
                &[("provider", provider.as_str())],
                retries,
            );
        }
        out.family(
            "switchyard_failovers_total",
            "counter",
            "Upstream attempts that moved to another credential.",
        );
        for (provider, (_, failovers)) in &agg.by_provider {
            out.sample(
                "switchyard_failovers_total",
                &[("provider", provider.as_str())],
                failovers,
            );
        }

        out.family(
            "switchyard_errors_total",
            "counter",
            "Failed requests by error class.",
        );
        for (class, n) in &agg.errors {
            out.sample(
                "switchyard_errors_total",
                &[("error_class", class.as_str())],
                n,
            );
        }

        render_scrape(&mut out, scrape, self.started.elapsed());
        out.text
    }

    /// The series summed up per metric, sorted so a scrape reads the same way every time.
    fn aggregate(&self) -> Aggregate {
        let mut agg = Aggregate::default();
        let map = self.read();
        for (k, s) in map.iter() {
            let requests = s.requests.load(Relaxed);
            *agg.requests
                .entry((
                    k.format.clone(),
                    k.provider.clone(),
                    k.credential.clone(),
                    k.model.clone(),
                    k.status,
                ))
                .or_default() += requests;
            agg.duration
                .entry((k.format.clone(), k.provider.clone()))
                .or_default()
                .merge(&s.duration.read());
            let ttfb = s.ttfb.read();
            if ttfb.count > 0 {
                agg.ttfb.entry(k.provider.clone()).or_default().merge(&ttfb);
            }
            let tokens = agg
                .tokens
                .entry((k.provider.clone(), k.model.clone()))
                .or_default();
            for (sum, n) in tokens.iter_mut().zip(&s.tokens) {
                *sum += n.load(Relaxed);
            }
            let (retries, failovers) = agg.by_provider.entry(k.provider.clone()).or_default();
            *retries += s.retries.load(Relaxed);
            *failovers += s.failovers.load(Relaxed);
            if !k.error_class.is_empty() {
                *agg.errors.entry(k.error_class.clone()).or_default() += requests;
            }
        }
        agg
    }
}

type RequestLabels = (String, String, String, String, u16);

#[derive(Default)]
struct Aggregate {
    requests: BTreeMap<RequestLabels, u64>,
    duration: BTreeMap<(String, String), Hist>,
    ttfb: BTreeMap<String, Hist>,
    tokens: BTreeMap<(String, String), [u64; 4]>,
    /// Retries and failovers per provider.
    by_provider: BTreeMap<String, (u64, u64)>,
    errors: BTreeMap<String, u64>,
}

/// The gauges and counters read at scrape time.
/// A writer's counter family, by outcome (zeros while it is not running, so the series always exist).
fn outcomes(out: &mut Exposition, name: &str, help: &str, counts: Option<[u64; 3]>) {
    out.family(name, "counter", help);
    let [written, dropped, failed] = counts.unwrap_or_default();
    for (outcome, n) in [
        ("written", written),
        ("dropped", dropped),
        ("failed", failed),
    ] {
        out.sample(name, &[("outcome", outcome)], n);
    }
}

fn render_scrape(out: &mut Exposition, scrape: &Scrape, uptime: Duration) {
    out.family(
        "switchyard_cooldowns",
        "gauge",
        "Credential and model pairs resting after upstream failures, per provider.",
    );
    let mut per_provider: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &scrape.cooldowns {
        *per_provider.entry(&c.provider).or_default() += 1;
    }
    for (provider, n) in &per_provider {
        out.sample("switchyard_cooldowns", &[("provider", provider)], n);
    }
    out.family(
        "switchyard_cooldown_remaining_seconds",
        "gauge",
        "Seconds until a resting credential may serve the model again.",
    );
    let mut resting: Vec<&Cooling> = scrape.cooldowns.iter().collect();
    resting.sort_by(|a, b| (&a.credential, &a.model).cmp(&(&b.credential, &b.model)));
    for c in resting {
        let labels = [
            ("provider", c.provider.as_str()),
            ("credential", c.credential.as_str()),
            ("model", c.model.as_str()),
        ];
        out.sample(
            "switchyard_cooldown_remaining_seconds",
            &labels,
            c.remaining.as_secs_f64(),
        );
    }

    out.family(
        "switchyard_credentials",
        "gauge",
        "Configured keys and logged-in accounts by provider and whether they can serve now.",
    );
    let mut states: BTreeMap<(&str, CredentialState), u64> = BTreeMap::new();
    for (provider, state) in &scrape.credentials {
        *states.entry((provider, *state)).or_default() += 1;
    }
    for ((provider, state), n) in &states {
        out.sample(
            "switchyard_credentials",
            &[("provider", provider), ("state", state.as_str())],
            n,
        );
    }

    out.family(
        "switchyard_token_refreshes_total",
        "counter",
        "OAuth access token refreshes by provider and outcome.",
    );
    for r in &scrape.refreshes {
        out.sample(
            "switchyard_token_refreshes_total",
            &[("provider", &r.provider), ("outcome", "ok")],
            r.ok,
        );
        out.sample(
            "switchyard_token_refreshes_total",
            &[("provider", &r.provider), ("outcome", "failed")],
            r.failed,
        );
    }

    outcomes(
        out,
        "switchyard_usage_events_total",
        "Usage events handed to the history: written, dropped (writer behind) or failed (database error).",
        scrape.usage_events,
    );
    outcomes(
        out,
        "switchyard_request_logs_total",
        "Request log captures handed to its writer: written, dropped (writer behind) or failed (database error).",
        scrape.request_logs,
    );
    out.family(
        "switchyard_usage_recording",
        "gauge",
        "1 while usage history is being recorded, else 0.",
    );
    out.sample(
        "switchyard_usage_recording",
        &[],
        u8::from(scrape.recording),
    );

    out.family(
        "switchyard_build_info",
        "gauge",
        "The running version; always 1.",
    );
    out.sample(
        "switchyard_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1,
    );
    out.family(
        "switchyard_uptime_seconds",
        "gauge",
        "Seconds since the proxy started.",
    );
    out.sample("switchyard_uptime_seconds", &[], uptime.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_bounds_are_inclusive() {
        let h = Histogram::default();
        for ms in [0, 50, 51, 300_000, 300_001] {
            h.observe(ms);
        }
        let r = h.read();
        assert_eq!(r.buckets[0], 2, "0 and 50 are <= 0.05 s");
        assert_eq!(r.buckets[1], 1);
        assert_eq!(r.buckets[BUCKETS - 2], 1, "300 s is <= 300");
        assert_eq!(r.buckets[BUCKETS - 1], 1, "past the last bound: +Inf only");
        assert_eq!((r.count, r.sum_ms), (5, 600_102));
    }
}
