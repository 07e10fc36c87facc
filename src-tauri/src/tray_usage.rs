//! The tray's usage line, "Today: 12.3k tokens · 45 requests": what the proxy served since local
//! midnight, read from the usage history whenever the tray redraws (at least once a minute). Hidden
//! while the history is off or cannot be read.
//!
//! Local midnight comes from chrono, which reads the zone (TZ, /etc/localtime) itself: `time`'s local
//! offset calls `localtime_r`, which is unsound (and so refused by `time`) once a process has threads.

use chrono::{DateTime, Duration, Local, LocalResult, NaiveDate, SecondsFormat, TimeZone, Utc};
use switchyard::service::Service;

/// The instant the local day of `now` began, in UTC, for `usage_since`.
pub fn today_start(now: DateTime<Local>) -> DateTime<Utc> {
    start_of_day(now.date_naive(), &Local).unwrap_or_else(|| {
        // No valid minute in the day's first hours: no zone does that; a day back is a safe bound.
        now.with_timezone(&Utc) - Duration::hours(24)
    })
}

/// When `date` began in `zone`: midnight, or where a clock change skips midnight (some zones move their
/// clocks at 00:00), the first minute that exists; at an ambiguous midnight, the earlier one.
fn start_of_day<Tz: TimeZone>(date: NaiveDate, zone: &Tz) -> Option<DateTime<Utc>> {
    let midnight = date.and_hms_opt(0, 0, 0)?;
    (0..=180).find_map(|minute| {
        match zone.from_local_datetime(&(midnight + Duration::minutes(minute))) {
            LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t.with_timezone(&Utc)),
            LocalResult::None => None,
        }
    })
}

/// 950, 12.3k, 1.2M, 3.4B: the same short counts the Usage page shows.
pub fn compact(n: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")];
    for (i, (size, unit)) in UNITS.into_iter().enumerate() {
        if n < size {
            continue;
        }
        // Three significant digits at most, so f64's precision is plenty.
        let value = n as f64 / size as f64;
        let text = if value >= 99.95 {
            format!("{value:.0}")
        } else {
            let one = format!("{value:.1}");
            one.strip_suffix(".0").map(str::to_owned).unwrap_or(one)
        };
        // 999,960 rounds to "1000k": that is 1M.
        if let (true, Some((_, bigger))) =
            (text == "1000", i.checked_sub(1).and_then(|j| UNITS.get(j)))
        {
            return format!("1{bigger}");
        }
        return format!("{text}{unit}");
    }
    n.to_string()
}

/// "Today: 12.3k tokens · 45 requests".
pub fn today_label(tokens: u64, requests: u64) -> String {
    let plural = |n: u64, one: &str, many: &str| {
        if n == 1 {
            one.to_owned()
        } else {
            many.to_owned()
        }
    };
    format!(
        "Today: {} {} · {} {}",
        compact(tokens),
        plural(tokens, "token", "tokens"),
        requests,
        plural(requests, "request", "requests"),
    )
}

/// The line for the tray, or `None` while usage history is off or unreadable (then the tray shows none).
pub async fn today_line(service: &Service) -> Option<String> {
    if !service.settings().usage_statistics_enabled {
        return None;
    }
    let from = today_start(Local::now()).to_rfc3339_opts(SecondsFormat::Secs, true);
    match service.usage_since(&from).await {
        Ok(today) => Some(today_label(today.tokens, today.requests)),
        Err(err) => {
            tracing::debug!(%err, "no usage line in the tray");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::FixedOffset;

    use super::*;
    use crate::tray::{menu_model, Entry, ProxyStatus, TraySnapshot};

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn the_local_day_starts_at_local_midnight_in_utc() {
        let berlin = FixedOffset::east_opt(3600).expect("offset");
        assert_eq!(
            start_of_day(day(2026, 11, 22), &berlin).map(|t| t.to_rfc3339()),
            Some("2026-11-21T23:00:00+00:00".to_owned())
        );
        let new_york = FixedOffset::west_opt(5 * 3600).expect("offset");
        assert_eq!(
            start_of_day(day(2026, 11, 22), &new_york).map(|t| t.to_rfc3339()),
            Some("2026-11-22T05:00:00+00:00".to_owned())
        );
        assert_eq!(
            start_of_day(day(2026, 11, 22), &Utc).map(|t| t.to_rfc3339()),
            Some("2026-11-22T00:00:00+00:00".to_owned())
        );
    }

    /// A zone whose clocks jump from 00:00 to 01:00 on one day (as Santiago or Beirut have done).
    #[derive(Clone, Copy)]
    struct SkipsMidnight;

    impl TimeZone for SkipsMidnight {
        type Offset = FixedOffset;
        fn from_offset(_: &FixedOffset) -> Self {
            SkipsMidnight
        }
        fn offset_from_local_date(&self, _: &NaiveDate) -> LocalResult<FixedOffset> {
            LocalResult::None
        }
        fn offset_from_local_datetime(
            &self,
            local: &chrono::NaiveDateTime,
        ) -> LocalResult<FixedOffset> {
            use chrono::Timelike;
            if local.hour() == 0 {
                LocalResult::None
            } else {
                FixedOffset::west_opt(3 * 3600).map_or(LocalResult::None, LocalResult::Single)
            }
        }
        fn offset_from_utc_date(&self, _: &NaiveDate) -> FixedOffset {
            FixedOffset::west_opt(3 * 3600).expect("a valid offset")
        }
        fn offset_from_utc_datetime(&self, _: &chrono::NaiveDateTime) -> FixedOffset {
            self.offset_from_utc_date(&day(2026, 1, 1))
        }
    }

    #[test]
    fn a_day_whose_midnight_is_skipped_starts_at_its_first_minute() {
        assert_eq!(
            start_of_day(day(2026, 9, 6), &SkipsMidnight).map(|t| t.to_rfc3339()),
            Some("2026-09-06T04:00:00+00:00".to_owned())
        );
    }

    #[test]
    fn today_started_before_now_and_less_than_a_day_ago() {
        let now = Local::now();
        let start = today_start(now);
        let now = now.with_timezone(&Utc);
        assert!(
            start <= now && now - start <= Duration::hours(25),
            "{start} {now}"
        );
    }

    #[test]
    fn counts_read_like_the_usage_page() {
        for (n, text) in [
            (0, "0"),
            (950, "950"),
            (1_000, "1k"),
            (12_345, "12.3k"),
            (123_456, "123k"),
            (999_960, "1M"),
            (1_234_567, "1.2M"),
            (3_400_000_000, "3.4B"),
        ] {
            assert_eq!(compact(n), text, "{n}");
        }
    }

    #[test]
    fn the_label() {
        assert_eq!(today_label(12_345, 45), "Today: 12.3k tokens · 45 requests");
        assert_eq!(today_label(1, 1), "Today: 1 token · 1 request");
        assert_eq!(today_label(0, 0), "Today: 0 tokens · 0 requests");
    }

    #[test]
    fn the_menu_shows_the_line_under_the_status_only_when_there_is_one() {
        let running = TraySnapshot {
            status: ProxyStatus::Running {
                base_url: "http://127.0.0.1:8317".into(),
            },
            ..TraySnapshot::default()
        };
        let with = TraySnapshot {
            usage_today: Some(today_label(12_345, 45)),
            ..running.clone()
        };
        assert_eq!(
            menu_model(&with)[1],
            Entry::Info("Today: 12.3k tokens · 45 requests".into())
        );
        assert_eq!(menu_model(&with).len(), menu_model(&running).len() + 1);
        assert!(!menu_model(&running)
            .iter()
            .any(|e| matches!(e, Entry::Info(text) if text.starts_with("Today"))));
    }
}
