//! The usage export document and its import: one JSON file that both CLIProxyAPI v6 and Switchyard read.
//!
//! `usage` is CLIProxyAPI's `StatisticsSnapshot` (its `internal/usage/logger_plugin.go`) built from the
//! events, so CLIProxyAPI imports our export; `switchyard.events` carries every event whole, so
//! Switchyard imports its own export without loss. A CLIProxyAPI export has only `usage`: each of its
//! request details becomes an event whose id is derived from CLIProxyAPI's own de-duplication key, so
//! importing the same file twice adds nothing.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::dates::{rfc3339_utc, utc_day};
use super::{client_key_label, UsageEvent};

/// The export document's version, and its `switchyard` section's.
pub const VERSION: u32 = 1;

/// What CLIProxyAPI names requests that presented no client key; Switchyard's "no key".
const NO_CLIENT_KEY: &str = "unknown";

#[derive(Debug, Clone, Serialize)]
pub struct Document {
    pub version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub exported_at: OffsetDateTime,
    pub usage: Snapshot,
    pub switchyard: Section,
}

/// Switchyard's own part of the document; CLIProxyAPI ignores it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Section {
    pub version: u32,
    pub events: Vec<UsageEvent>,
}

/// CLIProxyAPI v6's `StatisticsSnapshot`. Maps are ordered so an export is the same bytes each time.
/// Go writes empty maps and slices as `null`; those read as empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub total_requests: i64,
    pub success_count: i64,
    pub failure_count: i64,
    pub total_tokens: i64,
    #[serde(deserialize_with = "null_is_empty")]
    pub apis: BTreeMap<String, ApiStats>,
    #[serde(deserialize_with = "null_is_empty")]
    pub requests_by_day: BTreeMap<String, i64>,
    /// `"00"` … `"23"`.
    #[serde(deserialize_with = "null_is_empty")]
    pub requests_by_hour: BTreeMap<String, i64>,
    #[serde(deserialize_with = "null_is_empty")]
    pub tokens_by_day: BTreeMap<String, i64>,
    #[serde(deserialize_with = "null_is_empty")]
    pub tokens_by_hour: BTreeMap<String, i64>,
}

/// One client key's requests (CLIProxyAPI's `APISnapshot`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ApiStats {
    pub total_requests: i64,
    pub total_tokens: i64,
    #[serde(deserialize_with = "null_is_empty")]
    pub models: BTreeMap<String, ModelStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelStats {
    pub total_requests: i64,
    pub total_tokens: i64,
    #[serde(deserialize_with = "null_is_empty")]
    pub details: Vec<Detail>,
}

/// One request (CLIProxyAPI's `RequestDetail`). The timestamp stays text: the de-duplication key needs
/// it exactly as Go would print it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Detail {
    pub timestamp: String,
    pub latency_ms: i64,
    /// The credential: an account's email, or an upstream key.
    pub source: String,
    pub auth_index: String,
    pub tokens: Tokens,
    pub failed: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tokens {
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub reasoning_tokens: i64,
    pub cached_tokens: i64,
    pub total_tokens: i64,
}

fn null_is_empty<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// The export of `events` (oldest first).
pub fn document(events: Vec<UsageEvent>, exported_at: OffsetDateTime) -> Document {
    Document {
        version: VERSION,
        exported_at,
        usage: snapshot(&events),
        switchyard: Section {
            version: VERSION,
            events,
        },
    }
}

/// CLIProxyAPI's snapshot of `events`: per client key and model, with every request's detail. Days and
/// hours are UTC.
pub fn snapshot(events: &[UsageEvent]) -> Snapshot {
    let mut s = Snapshot::default();
    for e in events {
        let total = to_i64(e.input_tokens.saturating_add(e.output_tokens));
        let failed = e.status >= 400;
        s.total_requests += 1;
        if failed {
            s.failure_count += 1;
        } else {
            s.success_count += 1;
        }
        s.total_tokens += total;
        let api = s
            .apis
            .entry(e.client_key.clone().unwrap_or_else(|| NO_CLIENT_KEY.into()))
            .or_default();
        api.total_requests += 1;
        api.total_tokens += total;
        let model = api.models.entry(e.model.clone()).or_default();
        model.total_requests += 1;
        model.total_tokens += total;
        model.details.push(Detail {
            timestamp: rfc3339_utc(e.time),
            latency_ms: to_i64(e.latency_ms),
            source: e.credential.clone().unwrap_or_default(),
            auth_index: String::new(),
            tokens: Tokens {
                input_tokens: to_i64(e.input_tokens),
                output_tokens: to_i64(e.output_tokens),
                reasoning_tokens: to_i64(e.reasoning_tokens),
                cached_tokens: to_i64(e.cached_tokens),
                total_tokens: total,
            },
            failed,
        });
        let day = utc_day(e.time);
        let hour = format!("{:02}", e.time.to_offset(UtcOffset::UTC).hour());
        *s.requests_by_day.entry(day.clone()).or_default() += 1;
        *s.requests_by_hour.entry(hour.clone()).or_default() += 1;
        *s.tokens_by_day.entry(day).or_default() += total;
        *s.tokens_by_hour.entry(hour).or_default() += total;
    }
    s
}

/// Which kind of document an import read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Switchyard,
    Cliproxyapi,
}

/// The events an import document holds.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub format: Format,
    pub events: Vec<UsageEvent>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Invalid(String),
    #[error(
        "this export is from a newer Switchyard (switchyard.version {0}); update Switchyard to import it"
    )]
    TooNew(u64),
}

/// Reads an export document: Switchyard's `switchyard.events` when present, else CLIProxyAPI v6's
/// `{version: 0|1, usage: {apis: …}}`.
pub fn parse(mut doc: Value) -> Result<Parsed, ImportError> {
    let invalid = |m: &str| ImportError::Invalid(m.to_string());
    let Some(root) = doc.as_object_mut() else {
        return Err(invalid(
            "the document is not a JSON object: send a usage export (GET /v0/management/usage/export) \
             as it was saved",
        ));
    };
    if let Some(section) = root.get_mut("switchyard").filter(|s| !s.is_null()) {
        let version = section.get("version").and_then(Value::as_u64).unwrap_or(1);
        if version > u64::from(VERSION) {
            return Err(ImportError::TooNew(version));
        }
        let events = section
            .get_mut("events")
            .map(Value::take)
            .unwrap_or(Value::Null);
        let events: Vec<UsageEvent> = serde_path_to_error::deserialize(events).map_err(|e| {
            ImportError::Invalid(format!(
                "switchyard.events.{}: {} (the file was changed after it was exported?)",
                e.path(),
                e.inner()
            ))
        })?;
        return Ok(Parsed {
            format: Format::Switchyard,
            events,
        });
    }
    match root.get("version") {
        None | Some(Value::Null) => {}
        Some(v) if v.as_u64().is_some_and(|v| v <= 1) => {}
        Some(v) => {
            return Err(ImportError::Invalid(format!(
                "unsupported version {v}: Switchyard reads CLIProxyAPI's usage exports of version 0 and 1"
            )))
        }
    }
    let usage = match root.get_mut("usage").map(Value::take) {
        None | Some(Value::Null) => return Err(invalid(
            "the document has neither `switchyard.events` nor CLIProxyAPI's `usage`: send a usage \
                 export from Switchyard or CLIProxyAPI",
        )),
        Some(usage) => usage,
    };
    // The error names no map key: under `apis` the keys are CLIProxyAPI's raw client keys.
    let snapshot: Snapshot = serde_json::from_value(usage).map_err(|e| {
        ImportError::Invalid(format!(
            "`usage` is not a CLIProxyAPI v6 usage snapshot: {e}"
        ))
    })?;
    Ok(Parsed {
        format: Format::Cliproxyapi,
        events: cliproxyapi_events(snapshot)?,
    })
}

/// Each request detail as an event. CLIProxyAPI's client keys (its `apis` names) are raw keys: only
/// their labels are kept.
fn cliproxyapi_events(snapshot: Snapshot) -> Result<Vec<UsageEvent>, ImportError> {
    let mut events = Vec::new();
    for (api, stats) in snapshot.apis {
        // CLIProxyAPI trims the names and skips a blank client key; the de-duplication key uses the
        // trimmed names.
        let api = api.trim();
        if api.is_empty() {
            continue;
        }
        let client_key = client_key_of(api);
        for (model, stats) in stats.models {
            let model = match model.trim() {
                "" => "unknown",
                m => m,
            };
            for d in stats.details {
                let time = OffsetDateTime::parse(d.timestamp.trim(), &Rfc3339).map_err(|e| {
                    ImportError::Invalid(format!(
                        "a request of model `{model}` has the timestamp `{}`, not an RFC 3339 time: {e}",
                        d.timestamp
                    ))
                })?;
                let tokens = normalised(d.tokens);
                let key = format!(
                    "{api}|{model}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
                    rfc3339_utc(time),
                    d.source,
                    d.auth_index,
                    d.failed,
                    tokens.input_tokens,
                    tokens.output_tokens,
                    tokens.reasoning_tokens,
                    tokens.cached_tokens,
                    tokens.total_tokens,
                );
                events.push(UsageEvent {
                    request_id: cliproxyapi_id(&key),
                    time: to_millis(time),
                    client_key: client_key.clone(),
                    format: "cliproxyapi".into(),
                    provider: None,
                    credential: credential_of(&d.source),
                    model: model.to_string(),
                    upstream_model: None,
                    stream: false,
                    status: if d.failed { 500 } else { 200 },
                    error_class: d.failed.then(|| "failed".to_string()),
                    latency_ms: to_u64(d.latency_ms),
                    ttfb_ms: None,
                    input_tokens: to_u64(tokens.input_tokens),
                    output_tokens: to_u64(tokens.output_tokens),
                    cached_tokens: to_u64(tokens.cached_tokens),
                    reasoning_tokens: to_u64(tokens.reasoning_tokens),
                    retries: 0,
                    failovers: 0,
                });
            }
        }
    }
    Ok(events)
}

/// `cpa-` and the first 16 hex digits of the SHA-256 of CLIProxyAPI's de-duplication key.
fn cliproxyapi_id(dedup_key: &str) -> String {
    let digest = Sha256::digest(dedup_key.as_bytes());
    let mut id = String::from("cpa-");
    for b in &digest[..8] {
        id.push_str(&format!("{b:02x}"));
    }
    id
}

/// CLIProxyAPI's token normalisation before it compares details: a missing total is the sum.
fn normalised(mut t: Tokens) -> Tokens {
    if t.total_tokens == 0 {
        t.total_tokens = t.input_tokens + t.output_tokens + t.reasoning_tokens;
    }
    if t.total_tokens == 0 {
        t.total_tokens = t.input_tokens + t.output_tokens + t.reasoning_tokens + t.cached_tokens;
    }
    t
}

/// The history's name for a CLIProxyAPI client key: its label, never the key. A name that is already a
/// label (our own export, passed through CLIProxyAPI) stays; CLIProxyAPI's "unknown" is no key.
fn client_key_of(api: &str) -> Option<String> {
    if api == NO_CLIENT_KEY {
        None
    } else if is_label(api) {
        Some(api.to_string())
    } else {
        Some(client_key_label(api))
    }
}

/// CLIProxyAPI's `source` is an account's email for logins but the upstream key itself for key
/// credentials. Names that cannot be a key (an email, a label with spaces or `[n]`) are kept; anything
/// else is stored as its hash label, like a client key.
fn credential_of(source: &str) -> Option<String> {
    let s = source.trim();
    if s.is_empty() {
        None
    } else if s.contains(['@', '[']) || s.contains(char::is_whitespace) || is_label(s) {
        Some(s.to_string())
    } else {
        Some(client_key_label(s))
    }
}

fn is_label(name: &str) -> bool {
    name.strip_prefix("key-").is_some_and(|hex| {
        hex.len() == 8 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// The history keeps milliseconds.
fn to_millis(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(t)
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn event(id: &str, at: &str, client_key: Option<&str>, model: &str, status: u16) -> UsageEvent {
        UsageEvent {
            request_id: id.into(),
            time: OffsetDateTime::parse(at, &Rfc3339).unwrap(),
            client_key: client_key.map(str::to_string),
            format: "openai-chat".into(),
            provider: Some("claude".into()),
            credential: Some("claude account you@example.com".into()),
            model: model.into(),
            upstream_model: Some("claude-sonnet-4-5".into()),
            stream: true,
            status,
            error_class: (status >= 400).then(|| "upstream".into()),
            latency_ms: 900,
            ttfb_ms: Some(120),
            input_tokens: 100,
            output_tokens: 40,
            cached_tokens: 20,
            reasoning_tokens: 10,
            retries: 1,
            failovers: 0,
        }
    }

    fn events() -> Vec<UsageEvent> {
        vec![
            event(
                "a",
                "2026-11-20T10:15:03.250Z",
                Some("key-0a1b2c3d"),
                "sonnet",
                200,
            ),
            event(
                "b",
                "2026-11-20T23:59:59Z",
                Some("key-0a1b2c3d"),
                "gpt-5",
                429,
            ),
            event("c", "2026-11-21T00:00:00Z", None, "sonnet", 200),
        ]
    }

    #[test]
    fn the_snapshot_adds_up_as_cliproxyapi_does() {
        let s = snapshot(&events());
        assert_eq!(
            (
                s.total_requests,
                s.success_count,
                s.failure_count,
                s.total_tokens
            ),
            (3, 2, 1, 420)
        );
        let keyed = &s.apis["key-0a1b2c3d"];
        assert_eq!((keyed.total_requests, keyed.total_tokens), (2, 280));
        let failed = &keyed.models["gpt-5"].details[0];
        assert!(failed.failed);
        assert_eq!(failed.timestamp, "2026-11-20T23:59:59Z");
        assert_eq!(failed.source, "claude account you@example.com");
        assert_eq!(failed.tokens.total_tokens, 140);
        assert_eq!(
            keyed.models["sonnet"].details[0].timestamp,
            "2026-11-20T10:15:03.25Z"
        );
        assert_eq!(s.apis[NO_CLIENT_KEY].total_requests, 1, "no client key");
        assert_eq!(s.requests_by_day["2026-11-20"], 2);
        assert_eq!(s.requests_by_hour["23"], 1);
        assert_eq!(s.tokens_by_hour["00"], 140);
    }

    #[test]
    fn our_export_reads_back_as_the_same_events() {
        let at = OffsetDateTime::parse("2026-11-22T08:00:00Z", &Rfc3339).unwrap();
        let doc = serde_json::to_value(document(events(), at)).unwrap();
        assert_eq!(doc["version"], 1);
        assert_eq!(doc["exported_at"], "2026-11-22T08:00:00Z");
        let parsed = parse(doc).unwrap();
        assert_eq!(parsed.format, Format::Switchyard);
        assert_eq!(parsed.events, events());
    }

    fn cliproxyapi_doc() -> Value {
        json!({"version": 1, "exported_at": "2026-11-22T08:00:00Z", "usage": {
            "total_requests": 3, "success_count": 2, "failure_count": 1, "total_tokens": 60,
            "apis": {
                " sk-raw-client-key ": {"total_requests": 2, "total_tokens": 45, "models": {"gpt-5": {
                    "total_requests": 2, "total_tokens": 45, "details": [
                        {"timestamp": "2026-11-20T18:15:03.123456789+08:00", "latency_ms": 812,
                         "source": "alice@example.com", "auth_index": "1",
                         "tokens": {"input_tokens": 10, "output_tokens": 5, "reasoning_tokens": 0,
                                    "cached_tokens": 0, "total_tokens": 0}, "failed": false},
                        {"timestamp": "2026-11-20T10:16:00Z", "latency_ms": -3,
                         "source": "sk-upstream-secret-0123456789", "auth_index": "2",
                         "tokens": {"input_tokens": 0, "output_tokens": 0, "reasoning_tokens": 0,
                                    "cached_tokens": 0, "total_tokens": 0}, "failed": true}]}}},
                "unknown": {"total_requests": 1, "total_tokens": 15, "models": {"": {
                    "total_requests": 1, "total_tokens": 15, "details": null}}},
                "": {"models": {"x": {"details": [{"timestamp": "2026-11-20T10:17:00Z"}]}}}
            },
            "requests_by_day": null, "requests_by_hour": {}, "tokens_by_day": {}, "tokens_by_hour": {}}})
    }

    #[test]
    fn a_cliproxyapi_export_becomes_events_named_by_its_own_dedup_key() {
        let parsed = parse(cliproxyapi_doc()).unwrap();
        assert_eq!(parsed.format, Format::Cliproxyapi);
        assert_eq!(
            parsed.events.len(),
            2,
            "a blank client key is skipped, as CLIProxyAPI does"
        );
        let first = &parsed.events[0];
        let key =
            "sk-raw-client-key|gpt-5|2026-11-20T10:15:03.123456789Z|alice@example.com|1|false\
                   |10|5|0|0|15";
        assert_eq!(first.request_id, cliproxyapi_id(key));
        assert!(first.request_id.starts_with("cpa-") && first.request_id.len() == 20);
        assert_eq!(
            first.client_key.as_deref(),
            Some(client_key_label("sk-raw-client-key").as_str())
        );
        assert_eq!(first.credential.as_deref(), Some("alice@example.com"));
        assert_eq!(
            first.time,
            OffsetDateTime::parse("2026-11-20T10:15:03.123Z", &Rfc3339).unwrap()
        );
        assert_eq!(
            (first.status, first.input_tokens, first.output_tokens),
            (200, 10, 5)
        );
        let failed = &parsed.events[1];
        assert_eq!(
            (failed.status, failed.error_class.as_deref()),
            (500, Some("failed"))
        );
        assert_eq!(failed.latency_ms, 0);
        let text = serde_json::to_string(&parsed.events).unwrap();
        assert!(!text.contains("sk-raw-client-key"), "{text}");
        assert!(
            !text.contains("sk-upstream-secret"),
            "an upstream key as source: {text}"
        );
        let again = parse(cliproxyapi_doc()).unwrap();
        assert_eq!(again.events, parsed.events, "the same ids every time");
    }

    #[test]
    fn documents_that_are_not_exports_are_refused_with_a_reason() {
        let err = |doc: Value| parse(doc).unwrap_err().to_string();
        assert!(err(json!([])).contains("not a JSON object"));
        assert!(err(json!({"version": 2, "usage": {}})).contains("unsupported version 2"));
        assert!(err(json!({"version": 1})).contains("neither"));
        assert!(
            err(json!({"switchyard": {"version": 7, "events": []}})).contains("newer Switchyard")
        );
        let bad = err(json!({"switchyard": {"version": 1, "events": [{"request_id": 1}]}}));
        assert!(bad.starts_with("switchyard.events.[0]"), "{bad}");
        let mut doc = cliproxyapi_doc();
        doc["usage"]["apis"]["unknown"]["models"]["m"] =
            json!({"details": [{"timestamp": "yesterday"}]});
        let when = err(doc);
        assert!(
            when.contains("`yesterday`") && !when.contains("sk-raw"),
            "{when}"
        );
    }
}
