//! Times as text in the shapes usage speaks: RFC 3339 in UTC, and UTC day keys.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

/// `2026-11-20T10:15:03.1234Z`: UTC, the fraction without trailing zeros, as Go's `time.RFC3339Nano`
/// writes it (CLIProxyAPI's exports) and JavaScript's `Date` reads it.
pub fn rfc3339_utc(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// `2026-11-22`: the UTC day `t` falls on.
pub fn utc_day(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_in_utc_without_trailing_zeros() {
        let t = OffsetDateTime::parse("2026-11-20T12:15:03.1234+02:00", &Rfc3339).unwrap();
        assert_eq!(rfc3339_utc(t), "2026-11-20T10:15:03.1234Z");
        let whole = OffsetDateTime::parse("2026-11-20T10:15:03Z", &Rfc3339).unwrap();
        assert_eq!(rfc3339_utc(whole), "2026-11-20T10:15:03Z");
    }

    #[test]
    fn the_day_is_the_utc_day() {
        let t = OffsetDateTime::parse("2026-11-22T01:30:00+03:00", &Rfc3339).unwrap();
        assert_eq!(utc_day(t), "2026-11-21");
    }
}
