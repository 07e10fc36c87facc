//! Usage history: the summary a dashboard draws, the event list, one request's detail, "today" for the
//! tray, and export / import (Switchyard's and CLIProxyAPI v6's documents).

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::{ErrorKind, Result, Service, ServiceError};
use crate::usage::dates::rfc3339_utc;
use crate::usage::export::{self, Format};
use crate::usage::request_log::Capture;
use crate::usage::{Bucket, EventQuery, ReadError, Report, Totals, UsageEvent, MAX_BUCKETS};

/// The range a summary covers when none is asked for.
const DEFAULT_RANGE: Duration = Duration::days(7);
/// Events per page unless asked otherwise, and at most.
const PAGE: u32 = 100;
const MAX_PAGE: u32 = 1000;
/// Events written per transaction while importing: the reader connection is shared with the UI's
/// queries, which get their turn between batches.
const IMPORT_BATCH: usize = 2000;

#[derive(Debug, Clone, Serialize)]
pub struct UsageSummary {
    /// `usage-statistics-enabled` now.
    pub enabled: bool,
    /// The SQLite file.
    pub database: String,
    /// Why the history is off (the database could not be opened), else null.
    pub unavailable: Option<String>,
    #[serde(flatten)]
    pub report: Report,
    pub recorder: RecorderView,
}

/// What the writer did since this process started.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RecorderView {
    pub written: u64,
    pub dropped: u64,
    pub failed: u64,
}

/// Which events [`Service::usage_events`] lists (the HTTP query, snake_case).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The `next` of the previous page.
    pub before: Option<String>,
    pub limit: Option<u32>,
    pub model: Option<String>,
    pub credential: Option<String>,
    pub client_key: Option<String>,
    #[serde(default)]
    pub errors_only: bool,
    pub from: Option<String>,
    pub to: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventsPage {
    pub events: Vec<UsageEvent>,
    /// Pass as `before` for the next (older) page; null on the last page.
    pub next: Option<String>,
}

/// One request: its usage event and, with `request-log: true`, what was sent and answered.
#[derive(Debug, Clone, Serialize)]
pub struct RequestDetail {
    pub event: Option<UsageEvent>,
    pub log: Option<Capture>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TodayUsage {
    pub requests: u64,
    pub tokens: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportResult {
    pub format: Format,
    /// Events in the document.
    pub read: u64,
    pub added: u64,
    /// Already in the history (imported before, or recorded here).
    pub skipped: u64,
}

impl Service {
    /// Totals, a zero-filled series and the breakdowns for `[from, to)` (default: the last 7 days);
    /// `bucket` `hour` or `day` (default: hours up to 48 hours, days beyond). With the history off the
    /// report is empty and `unavailable` says why.
    pub async fn usage_summary(
        &self,
        from: Option<&str>,
        to: Option<&str>,
        bucket: Option<&str>,
    ) -> Result<UsageSummary> {
        let (from, to) = range(from, to, Some(DEFAULT_RANGE))?;
        let bucket = match bucket.map(str::trim).filter(|b| !b.is_empty()) {
            None => Bucket::for_range(from, to),
            Some(name) => Bucket::parse(name).ok_or_else(|| {
                ServiceError::invalid(format!("unknown bucket `{name}`: use hour or day"))
            })?,
        };
        let buckets = bucket.count(from, to);
        if buckets > MAX_BUCKETS {
            let unit = match bucket {
                Bucket::Hour => "hours",
                Bucket::Day => "days",
            };
            return Err(ServiceError::invalid(format!(
                "that range has {buckets} {unit}, more than {MAX_BUCKETS}: ask for bucket=day or a \
                 shorter range"
            )));
        }
        let usage = self.state.usage();
        let report = match usage.read(move |s| s.report(from, to, bucket)).await {
            Ok(report) => report,
            Err(ReadError::Unavailable(_)) => Report::empty(from, to, bucket),
            Err(e) => return Err(read_error(e)),
        };
        let recorder = usage
            .counters()
            .map(|c| {
                use std::sync::atomic::Ordering::Relaxed;
                RecorderView {
                    written: c.written.load(Relaxed),
                    dropped: c.dropped.load(Relaxed),
                    failed: c.failed.load(Relaxed),
                }
            })
            .unwrap_or_default();
        Ok(UsageSummary {
            enabled: usage.enabled(),
            database: usage.path().display().to_string(),
            unavailable: usage.unavailable().map(str::to_string),
            report,
            recorder,
        })
    }

    /// Events newest first, a page at a time (the whole history unless `from`/`to` narrow it); filters
    /// are exact matches.
    pub async fn usage_events(&self, q: EventsQuery) -> Result<EventsPage> {
        let (from, to) = whole_range(q.from.as_deref(), q.to.as_deref())?;
        let limit = q.limit.unwrap_or(PAGE).clamp(1, MAX_PAGE);
        let query = EventQuery {
            before: q.before.as_deref().map(parse_cursor).transpose()?,
            model: non_empty(q.model),
            credential: non_empty(q.credential),
            client_key: non_empty(q.client_key),
            errors_only: q.errors_only,
            from: Some(from),
            to: Some(to),
            limit,
        };
        let events = self
            .state
            .usage()
            .read(move |s| s.events(&query))
            .await
            .map_err(read_error)?;
        let next = match events.last() {
            Some(last) if events.len() == limit as usize => Some(cursor(last)),
            _ => None,
        };
        Ok(EventsPage { events, next })
    }

    /// One request by id: its event and its request log entry, whichever exist.
    pub async fn usage_event(&self, id: &str) -> Result<RequestDetail> {
        let usage = self.state.usage();
        let wanted = id.to_string();
        let event = match usage.read(move |s| s.get(&wanted)).await {
            Ok(event) => event,
            // The request log may still have it.
            Err(ReadError::Unavailable(_)) => None,
            Err(e) => return Err(read_error(e)),
        };
        let log = usage
            .requests()
            .get(id)
            .await
            .map_err(|e| ServiceError::new(ErrorKind::Unavailable, e))?;
        if event.is_none() && log.is_none() {
            return Err(ServiceError::new(
                ErrorKind::NotFound,
                format!("no request {id} in the usage history or the request log"),
            ));
        }
        Ok(RequestDetail { event, log })
    }

    /// Requests and tokens since `from` (the tray's "today": since local midnight).
    pub async fn usage_since(&self, from: &str) -> Result<TodayUsage> {
        let from = parse_time("from", from)?;
        // A little past now, so a request finishing as this runs is counted.
        let to = OffsetDateTime::now_utc() + Duration::minutes(1);
        let t = self.usage_totals(from, to).await?;
        Ok(TodayUsage {
            requests: t.requests,
            tokens: t.input_tokens.saturating_add(t.output_tokens),
            input_tokens: t.input_tokens,
            output_tokens: t.output_tokens,
        })
    }

    /// Everything in `[from, to)` added up.
    pub async fn usage_totals(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Totals> {
        self.state
            .usage()
            .read(move |s| s.total(from, to))
            .await
            .map_err(read_error)
    }

    /// The export document of `[from, to)` (default: the whole history), for Switchyard and CLIProxyAPI.
    pub async fn export_usage(
        &self,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<export::Document> {
        let (from, to) = whole_range(from, to)?;
        let events = self
            .state
            .usage()
            .read(move |s| s.events_between(from, to))
            .await
            .map_err(read_error)?;
        Ok(export::document(events, OffsetDateTime::now_utc()))
    }

    /// Adds the events of an export (Switchyard's or CLIProxyAPI v6's) that the history does not have.
    pub async fn import_usage(&self, document: Value) -> Result<ImportResult> {
        let parsed = export::parse(document).map_err(|e| ServiceError::invalid(e.to_string()))?;
        let read = parsed.events.len() as u64;
        let mut added = 0;
        let mut events = parsed.events;
        while !events.is_empty() {
            let rest = events.split_off(events.len().min(IMPORT_BATCH));
            let batch = std::mem::replace(&mut events, rest);
            added += self
                .state
                .usage()
                .read(move |s| s.insert(&batch))
                .await
                .map_err(read_error)? as u64;
        }
        Ok(ImportResult {
            format: parsed.format,
            read,
            added,
            skipped: read - added,
        })
    }
}

/// `[from, to)` as asked; missing ends are now and, when `default` is given, `to - default` (else the
/// beginning of time).
fn range(
    from: Option<&str>,
    to: Option<&str>,
    default: Option<Duration>,
) -> Result<(OffsetDateTime, OffsetDateTime)> {
    let to = match to {
        Some(t) => parse_time("to", t)?,
        None => OffsetDateTime::now_utc(),
    };
    let from = match (from, default) {
        (Some(f), _) => parse_time("from", f)?,
        (None, Some(span)) => to - span,
        (None, None) => OffsetDateTime::UNIX_EPOCH,
    };
    if from >= to {
        return Err(ServiceError::invalid(format!(
            "`from` ({}) must be before `to` ({})",
            rfc3339_utc(from),
            rfc3339_utc(to)
        )));
    }
    Ok((from, to))
}

/// `[from, to)` with missing ends open: the whole history.
fn whole_range(from: Option<&str>, to: Option<&str>) -> Result<(OffsetDateTime, OffsetDateTime)> {
    // Past any recorded time; the store counts in milliseconds since 1970 as i64.
    let end = OffsetDateTime::UNIX_EPOCH + Duration::days(365 * 1000);
    let to = to.map(|t| parse_time("to", t)).transpose()?.unwrap_or(end);
    range(from, Some(&rfc3339_utc(to)), None)
}

fn parse_time(name: &str, value: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).map_err(|e| {
        ServiceError::invalid(format!(
            "`{name}` is `{value}`, not an RFC 3339 time like 2026-11-22T00:00:00Z: {e}"
        ))
    })
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// The cursor after `e`: its time and request id, opaque to callers.
fn cursor(e: &UsageEvent) -> String {
    let ms = e.time.unix_timestamp_nanos() / 1_000_000;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{ms}:{}", e.request_id))
}

fn parse_cursor(text: &str) -> Result<(OffsetDateTime, String)> {
    let bad = || {
        ServiceError::invalid(
            "`before` is not a cursor this API gave out: pass the `next` of the previous page, or leave \
             it out for the newest events",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (ms, id) = text.split_once(':').ok_or_else(bad)?;
    let ms: i128 = ms.parse().map_err(|_| bad())?;
    let time = OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).map_err(|_| bad())?;
    Ok((time, id.to_string()))
}

fn read_error(e: ReadError) -> ServiceError {
    match e {
        ReadError::Unavailable(why) => ServiceError::new(
            ErrorKind::Unavailable,
            format!(
                "the usage history is off: {why}; check `usage-database-path` in the config and restart"
            ),
        ),
        ReadError::Failed(why) => ServiceError::new(ErrorKind::Internal, why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_strangers_are_refused() {
        let t = OffsetDateTime::parse("2026-11-22T10:00:00.125Z", &Rfc3339).unwrap();
        let e = UsageEvent {
            request_id: "req:1".into(),
            time: t,
            ..UsageEvent::placeholder()
        };
        assert_eq!(parse_cursor(&cursor(&e)).unwrap(), (t, "req:1".to_string()));
        let err = parse_cursor("not a cursor").unwrap_err();
        assert_eq!(err.kind, ErrorKind::Invalid);
        assert!(err.message.contains("`next`"));
    }

    #[test]
    fn ranges_default_to_a_week_and_must_be_ordered() {
        let (from, to) = range(None, Some("2026-11-22T00:00:00Z"), Some(DEFAULT_RANGE)).unwrap();
        assert_eq!(to - from, Duration::days(7));
        let err = range(
            Some("2026-11-23T00:00:00Z"),
            Some("2026-11-22T00:00:00Z"),
            None,
        );
        assert!(err.unwrap_err().message.contains("must be before"));
        let err = range(Some("yesterday"), None, None).unwrap_err();
        assert!(err.message.contains("RFC 3339"), "{}", err.message);
    }
}
