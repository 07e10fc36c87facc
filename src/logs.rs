//! The last few thousand log lines, kept in memory for the Logs page and `/v0/management/logs`: a live
//! tail needs no log file, and a desktop app has no terminal to read. The binaries add [`layer`] to their
//! tracing subscriber; the service layer reads with [`tail`].

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use time::OffsetDateTime;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// Lines kept; older ones are dropped first.
const CAPACITY: usize = 2000;

#[derive(Debug, Clone, Serialize)]
pub struct LogLine {
    /// Increases by one per line for the life of the process; ask for lines after the last one seen.
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// `ERROR`, `WARN`, `INFO`, `DEBUG` or `TRACE`.
    pub level: &'static str,
    pub target: String,
    /// The message followed by its fields as `name=value`.
    pub message: String,
}

#[derive(Default)]
struct Buffer {
    lines: VecDeque<LogLine>,
    next: u64,
}

fn buffer() -> &'static Mutex<Buffer> {
    static BUFFER: OnceLock<Mutex<Buffer>> = OnceLock::new();
    BUFFER.get_or_init(Mutex::default)
}

/// The layer that records every event its subscriber lets through.
pub fn layer() -> LogLayer {
    LogLayer
}

pub struct LogLayer;

impl<S: Subscriber> Layer<S> for LogLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut text = MessageText::default();
        event.record(&mut text);
        let meta = event.metadata();
        record(*meta.level(), meta.target(), text.finish());
    }
}

fn record(level: Level, target: &str, message: String) {
    let mut b = buffer().lock().unwrap_or_else(|p| p.into_inner());
    b.next += 1;
    let seq = b.next;
    if b.lines.len() == CAPACITY {
        b.lines.pop_front();
    }
    b.lines.push_back(LogLine {
        seq,
        time: OffsetDateTime::now_utc(),
        level: level_name(level),
        target: target.to_string(),
        message,
    });
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARN",
        Level::INFO => "INFO",
        Level::DEBUG => "DEBUG",
        Level::TRACE => "TRACE",
    }
}

/// Parses a level name as the Logs page sends it (any case).
pub fn parse_level(name: &str) -> Option<Level> {
    name.trim().parse().ok()
}

/// Up to `limit` lines after `after` at `min_level` or more severe, oldest first.
pub fn tail(after: u64, min_level: Level, limit: usize) -> Vec<LogLine> {
    let b = buffer().lock().unwrap_or_else(|p| p.into_inner());
    b.lines
        .iter()
        .filter(|l| l.seq > after)
        .filter(|l| parse_level(l.level).is_some_and(|level| level <= min_level))
        .take(limit)
        .cloned()
        .collect()
}

#[derive(Default)]
struct MessageText {
    message: String,
    fields: String,
}

impl MessageText {
    fn finish(self) -> String {
        match (self.message.is_empty(), self.fields.is_empty()) {
            (_, true) => self.message,
            (true, false) => self.fields,
            (false, false) => format!("{} {}", self.message, self.fields),
        }
    }
}

impl Visit for MessageText {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let sep = if self.fields.is_empty() { "" } else { " " };
            let _ = write!(self.fields, "{sep}{}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let sep = if self.fields.is_empty() { "" } else { " " };
            let _ = write!(self.fields, "{sep}{}={value:?}", field.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing_subscriber::prelude::*;

    use super::*;

    #[test]
    fn events_are_kept_in_order_and_filtered_by_level() {
        let subscriber = tracing_subscriber::registry().with(layer());
        let start = buffer().lock().unwrap().next;
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(model = "m", "served");
            tracing::debug!("details");
            tracing::warn!(status = 429, "cooling down");
        });
        let lines = tail(start, Level::TRACE, 10);
        let mine: Vec<(&str, &str)> = lines
            .iter()
            .map(|l| (l.level, l.message.as_str()))
            .collect();
        assert_eq!(
            mine,
            [
                ("INFO", "served model=m"),
                ("DEBUG", "details"),
                ("WARN", "cooling down status=429")
            ]
        );
        let warnings = tail(start, Level::WARN, 10);
        assert_eq!(warnings.len(), 1);
        assert_eq!(tail(lines[1].seq, Level::TRACE, 10).len(), 1, "after a seq");
        assert_eq!(parse_level("warn"), Some(Level::WARN));
    }
}
