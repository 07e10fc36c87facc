//! Reports over the usage history: one range's totals, a zero-filled series of hours or days, the
//! breakdowns by model, credential and client key, and the plain event list an export needs.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime, Time};

use super::dates::utc_day;
use super::ids;
use super::store::{millis, row_event, row_totals};
use super::{GroupBy, Totals, UsageError, UsageEvent, UsageStore};

/// The most buckets one series may have (a year of hours fits; ten years of hours does not).
pub const MAX_BUCKETS: i64 = 10_000;

/// How a series slices its range: UTC hours or UTC days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    /// Hours for a range of up to 48 hours, days beyond: either way a chart of a readable width.
    pub fn for_range(from: OffsetDateTime, to: OffsetDateTime) -> Bucket {
        if to - from <= Duration::hours(48) {
            Bucket::Hour
        } else {
            Bucket::Day
        }
    }

    pub fn parse(name: &str) -> Option<Bucket> {
        match name.trim().to_ascii_lowercase().as_str() {
            "hour" => Some(Bucket::Hour),
            "day" => Some(Bucket::Day),
            _ => None,
        }
    }

    fn length(self) -> Duration {
        match self {
            Bucket::Hour => Duration::HOUR,
            Bucket::Day => Duration::DAY,
        }
    }

    /// The start of the bucket `t` falls in.
    fn floor(self, t: OffsetDateTime) -> OffsetDateTime {
        let t = t.to_offset(time::UtcOffset::UTC);
        match self {
            Bucket::Hour => {
                t.replace_time(Time::from_hms(t.hour(), 0, 0).unwrap_or(Time::MIDNIGHT))
            }
            Bucket::Day => t.replace_time(Time::MIDNIGHT),
        }
    }

    /// How many buckets `[from, to)` touches.
    pub fn count(self, from: OffsetDateTime, to: OffsetDateTime) -> i64 {
        let span = to - self.floor(from);
        let len = self.length().whole_seconds();
        (span.whole_seconds() + len - 1).div_euclid(len).max(0)
    }

    /// The key [`UsageStore::totals`] gives the bucket starting at `t`: `2026-11-22` or
    /// `2026-11-22T14:00`, UTC.
    fn key(self, t: OffsetDateTime) -> String {
        let day = utc_day(t);
        match self {
            Bucket::Hour => format!("{day}T{:02}:00", t.hour()),
            Bucket::Day => day,
        }
    }

    fn group(self) -> GroupBy {
        match self {
            Bucket::Hour => GroupBy::Hour,
            Bucket::Day => GroupBy::Day,
        }
    }
}

/// What happened in one time range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    #[serde(with = "time::serde::rfc3339")]
    pub from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub to: OffsetDateTime,
    pub bucket: Bucket,
    /// Key `""`.
    pub totals: Totals,
    /// One entry per bucket over the whole range, oldest first, empty buckets included.
    pub series: Vec<Totals>,
    /// Largest total tokens first.
    pub by_model: Vec<Totals>,
    pub by_credential: Vec<Totals>,
    pub by_client_key: Vec<Totals>,
}

impl Report {
    /// A report of a range with nothing in it (the history is off, or empty).
    pub fn empty(from: OffsetDateTime, to: OffsetDateTime, bucket: Bucket) -> Report {
        Report {
            from,
            to,
            bucket,
            totals: Totals::default(),
            series: zero_filled(from, to, bucket, Vec::new()),
            by_model: Vec::new(),
            by_credential: Vec::new(),
            by_client_key: Vec::new(),
        }
    }
}

impl UsageStore {
    /// The report of `[from, to)` in `bucket`s. The caller keeps the bucket count reasonable
    /// ([`MAX_BUCKETS`]).
    pub fn report(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        bucket: Bucket,
    ) -> Result<Report, UsageError> {
        Ok(Report {
            from,
            to,
            bucket,
            totals: self.total(from, to)?,
            series: zero_filled(from, to, bucket, self.totals(bucket.group(), from, to)?),
            by_model: self.totals(GroupBy::Model, from, to)?,
            by_credential: self.totals(GroupBy::Credential, from, to)?,
            by_client_key: self.totals(GroupBy::ClientKey, from, to)?,
        })
    }

    /// Everything in `[from, to)` added up, key `""`.
    pub fn total(&self, from: OffsetDateTime, to: OffsetDateTime) -> Result<Totals, UsageError> {
        self.conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(status >= 400), 0), COALESCE(SUM(input_tokens), 0), \
                 COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cached_tokens), 0), \
                 COALESCE(SUM(reasoning_tokens), 0) FROM events WHERE id >= ?1 AND id < ?2",
                [ids::lowest(millis(from)), ids::lowest(millis(to))],
                |r| row_totals(r, String::new(), 0),
            )
            .map_err(self.db())
    }

    /// Every event in `[from, to)`, oldest first.
    pub fn events_between(
        &self,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<UsageEvent>, UsageError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT * FROM events WHERE id >= ?1 AND id < ?2 ORDER BY id")
            .map_err(self.db())?;
        let rows = stmt
            .query_map(
                [ids::lowest(millis(from)), ids::lowest(millis(to))],
                row_event,
            )
            .map_err(self.db())?;
        rows.collect::<Result<_, _>>().map_err(self.db())
    }
}

/// `found` (sparse, keyed by bucket) spread over every bucket of `[from, to)`, empty ones as zeros.
fn zero_filled(
    from: OffsetDateTime,
    to: OffsetDateTime,
    bucket: Bucket,
    found: Vec<Totals>,
) -> Vec<Totals> {
    let mut found = found.into_iter().peekable();
    let mut series = Vec::new();
    let mut t = bucket.floor(from);
    while t < to {
        let key = bucket.key(t);
        // Both lists are in key order, so one pass merges them.
        while found.peek().is_some_and(|f| f.key < key) {
            found.next();
        }
        match found.next_if(|f| f.key == key) {
            Some(totals) => series.push(totals),
            None => series.push(Totals {
                key,
                ..Totals::default()
            }),
        }
        t += bucket.length();
    }
    series
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: u8, hour: u8, minute: u8) -> OffsetDateTime {
        time::Date::from_calendar_date(2026, time::Month::November, day)
            .and_then(|d| d.with_hms(hour, minute, 0))
            .unwrap()
            .assume_utc()
    }

    #[test]
    fn a_series_has_every_bucket_of_the_range() {
        let found = vec![Totals {
            key: "2026-11-21T11:00".into(),
            requests: 3,
            ..Totals::default()
        }];
        let series = zero_filled(at(21, 9, 30), at(21, 12, 0), Bucket::Hour, found);
        let keys: Vec<(&str, u64)> = series
            .iter()
            .map(|t| (t.key.as_str(), t.requests))
            .collect();
        assert_eq!(
            keys,
            [
                ("2026-11-21T09:00", 0),
                ("2026-11-21T10:00", 0),
                ("2026-11-21T11:00", 3)
            ]
        );
        let days = zero_filled(at(20, 23, 0), at(22, 0, 1), Bucket::Day, Vec::new());
        assert_eq!(days.len(), 3);
        assert_eq!(Bucket::Day.count(at(20, 23, 0), at(22, 0, 1)), 3);
        assert_eq!(Bucket::Hour.count(at(21, 9, 30), at(21, 12, 0)), 3);
    }

    #[test]
    fn short_ranges_are_shown_by_hour() {
        assert_eq!(Bucket::for_range(at(20, 0, 0), at(22, 0, 0)), Bucket::Hour);
        assert_eq!(Bucket::for_range(at(20, 0, 0), at(22, 0, 1)), Bucket::Day);
    }
}
