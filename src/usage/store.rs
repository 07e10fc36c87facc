//! Usage events in SQLite: WAL (a crash loses at most the last batch in flight, never the file), schema
//! versions in `PRAGMA user_version`, one row per request id (an import of the same events twice adds
//! nothing), retention by age.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;

use super::UsageEvent;

/// The schema, one entry per version: applying entry `n` moves a database from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE events (
    request_id     TEXT PRIMARY KEY,
    time_ms        INTEGER NOT NULL,
    client_key     TEXT,
    format         TEXT NOT NULL,
    provider       TEXT,
    credential     TEXT,
    model          TEXT NOT NULL,
    upstream_model TEXT,
    stream         INTEGER NOT NULL,
    status         INTEGER NOT NULL,
    error_class    TEXT,
    latency_ms     INTEGER NOT NULL,
    ttfb_ms        INTEGER,
    input_tokens   INTEGER NOT NULL,
    output_tokens  INTEGER NOT NULL,
    cached_tokens  INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL,
    retries        INTEGER NOT NULL,
    failovers      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX events_time ON events(time_ms);
"#];

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("usage database {path}: {source}")]
    Db {
        path: String,
        source: rusqlite::Error,
    },
    #[error("usage database folder {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "usage database {path} is from a newer Switchyard (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: String,
        found: i64,
        known: usize,
    },
}

pub struct UsageStore {
    pub(super) conn: Connection,
    path: String,
}

impl UsageStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<UsageStore, UsageError> {
        let name = path.display().to_string();
        let db = |source| UsageError::Db {
            path: name.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(db)?;
        // WAL: readers never block the writer, and a kill -9 mid-write leaves the last committed state.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        let mut store = UsageStore { conn, path: name };
        store.migrate()?;
        Ok(store)
    }

    pub(super) fn db(&self) -> impl Fn(rusqlite::Error) -> UsageError + '_ {
        move |source| UsageError::Db {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&mut self) -> Result<(), UsageError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(self.db())?;
        let known = MIGRATIONS.len();
        let Ok(current) = usize::try_from(version) else {
            return Err(UsageError::TooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        };
        if current > known {
            return Err(UsageError::TooNew {
                path: self.path.clone(),
                found: version,
                known,
            });
        }
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|source| UsageError::Db {
            path: path.clone(),
            source,
        })?;
        for (n, sql) in MIGRATIONS.iter().enumerate().skip(current) {
            tx.execute_batch(sql)
                .and_then(|()| tx.pragma_update(None, "user_version", (n + 1) as i64))
                .map_err(|source| UsageError::Db {
                    path: path.clone(),
                    source,
                })?;
        }
        tx.commit()
            .map_err(|source| UsageError::Db { path, source })
    }

    /// Records `events` in one transaction; an event whose request id is already there is skipped.
    /// Returns how many were new.
    pub fn insert(&mut self, events: &[UsageEvent]) -> Result<usize, UsageError> {
        let path = self.path.clone();
        let db = |source| UsageError::Db {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(db)?;
        let mut added = 0;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
                )
                .map_err(db)?;
            for e in events {
                added += stmt
                    .execute(params![
                        e.request_id,
                        millis(e.time),
                        e.client_key,
                        e.format,
                        e.provider,
                        e.credential,
                        e.model,
                        e.upstream_model,
                        e.stream,
                        e.status,
                        e.error_class,
                        e.latency_ms,
                        e.ttfb_ms,
                        e.input_tokens,
                        e.output_tokens,
                        e.cached_tokens,
                        e.reasoning_tokens,
                        e.retries,
                        e.failovers,
                    ])
                    .map_err(db)?;
            }
        }
        tx.commit().map_err(db)?;
        Ok(added)
    }

    /// Deletes events older than `before`; returns how many.
    pub fn forget_before(&self, before: OffsetDateTime) -> Result<usize, UsageError> {
        self.conn
            .execute("DELETE FROM events WHERE time_ms < ?1", [millis(before)])
            .map_err(self.db())
    }

    /// Totals per `by` bucket for events in `[from, to)`, oldest bucket (or largest total) first.
    pub fn totals(
        &self,
        by: GroupBy,
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Result<Vec<Totals>, UsageError> {
        // The grouping expression comes from this enum, never from the caller's text.
        let (key, order) = match by {
            GroupBy::Day => ("strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch')", "key"),
            GroupBy::Hour => (
                "strftime('%Y-%m-%dT%H:00', time_ms / 1000, 'unixepoch')",
                "key",
            ),
            GroupBy::Model => ("model", "tokens DESC"),
            GroupBy::Credential => ("COALESCE(credential, '')", "tokens DESC"),
            GroupBy::ClientKey => ("COALESCE(client_key, '')", "tokens DESC"),
        };
        let sql = format!(
            "SELECT {key} AS key, COUNT(*), SUM(status >= 400), SUM(input_tokens), SUM(output_tokens), \
             SUM(cached_tokens), SUM(reasoning_tokens), \
             SUM(input_tokens + output_tokens) AS tokens \
             FROM events WHERE time_ms >= ?1 AND time_ms < ?2 GROUP BY key ORDER BY {order}"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.db())?;
        let rows = stmt
            .query_map([millis(from), millis(to)], |r| {
                Ok(Totals {
                    key: r.get(0)?,
                    requests: r.get(1)?,
                    errors: r.get(2)?,
                    input_tokens: r.get(3)?,
                    output_tokens: r.get(4)?,
                    cached_tokens: r.get(5)?,
                    reasoning_tokens: r.get(6)?,
                })
            })
            .map_err(self.db())?;
        rows.collect::<Result<_, _>>().map_err(self.db())
    }

    /// Events newest first, `limit` at a time: pass the last page's oldest `(time, request id)` as
    /// `before` for the next page (stable while new events arrive). Filters are exact matches.
    pub fn events(&self, query: &EventQuery) -> Result<Vec<UsageEvent>, UsageError> {
        let (before_ms, before_id) = match &query.before {
            Some((t, id)) => (millis(*t), id.as_str()),
            None => (i64::MAX, ""),
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT * FROM events WHERE (time_ms, request_id) < (?1, ?2) \
                 AND (?3 IS NULL OR model = ?3) AND (?4 IS NULL OR credential = ?4) \
                 AND (?5 IS NULL OR (status >= 400) = ?5) AND (?7 IS NULL OR client_key = ?7) \
                 AND time_ms >= ?8 AND time_ms < ?9 \
                 ORDER BY time_ms DESC, request_id DESC LIMIT ?6",
            )
            .map_err(self.db())?;
        let rows = stmt
            .query_map(
                params![
                    before_ms,
                    before_id,
                    query.model,
                    query.credential,
                    query.errors_only.then_some(true),
                    query.limit.clamp(1, 1000),
                    query.client_key,
                    query.from.map_or(i64::MIN, millis),
                    query.to.map_or(i64::MAX, millis),
                ],
                row_event,
            )
            .map_err(self.db())?;
        rows.collect::<Result<_, _>>().map_err(self.db())
    }

    /// SQLite's own check of the file: `"ok"`, or what is damaged.
    pub fn integrity_check(&self) -> Result<String, UsageError> {
        self.conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(self.db())
    }

    pub fn count(&self) -> Result<u64, UsageError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))
            .map_err(self.db())
    }

    /// One event by request id.
    pub fn get(&self, request_id: &str) -> Result<Option<UsageEvent>, UsageError> {
        self.conn
            .query_row(
                "SELECT * FROM events WHERE request_id = ?1",
                [request_id],
                row_event,
            )
            .optional()
            .map_err(self.db())
    }
}

/// Which events [`UsageStore::events`] lists.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// The oldest `(time, request id)` of the previous page.
    pub before: Option<(OffsetDateTime, String)>,
    pub model: Option<String>,
    pub credential: Option<String>,
    pub client_key: Option<String>,
    pub errors_only: bool,
    /// Only events in `[from, to)`.
    pub from: Option<OffsetDateTime>,
    pub to: Option<OffsetDateTime>,
    pub limit: u32,
}

/// How [`UsageStore::totals`] groups events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupBy {
    /// UTC days, `2026-11-22`.
    Day,
    /// UTC hours, `2026-11-22T14:00`.
    Hour,
    Model,
    Credential,
    ClientKey,
}

/// One bucket's totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Totals {
    pub key: String,
    pub requests: u64,
    /// Requests that ended with an error status.
    pub errors: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cached_tokens: u64,
    pub reasoning_tokens: u64,
}

pub(super) fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(super) fn row_event(r: &rusqlite::Row<'_>) -> rusqlite::Result<UsageEvent> {
    let ms: i64 = r.get("time_ms")?;
    Ok(UsageEvent {
        request_id: r.get("request_id")?,
        time: OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
        client_key: r.get("client_key")?,
        format: r.get("format")?,
        provider: r.get("provider")?,
        credential: r.get("credential")?,
        model: r.get("model")?,
        upstream_model: r.get("upstream_model")?,
        stream: r.get("stream")?,
        status: r.get("status")?,
        error_class: r.get("error_class")?,
        latency_ms: r.get("latency_ms")?,
        ttfb_ms: r.get("ttfb_ms")?,
        input_tokens: r.get("input_tokens")?,
        output_tokens: r.get("output_tokens")?,
        cached_tokens: r.get("cached_tokens")?,
        reasoning_tokens: r.get("reasoning_tokens")?,
        retries: r.get("retries")?,
        failovers: r.get("failovers")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn event(id: &str, at: OffsetDateTime) -> UsageEvent {
        UsageEvent {
            request_id: id.into(),
            time: at,
            client_key: Some("key:laptop".into()),
            format: "openai-chat".into(),
            provider: Some("claude".into()),
            credential: Some("claude account you@example.com".into()),
            model: "sonnet".into(),
            upstream_model: Some("claude-sonnet-4-5-20250929".into()),
            stream: true,
            status: 200,
            error_class: None,
            latency_ms: 1200,
            ttfb_ms: Some(300),
            input_tokens: 11,
            output_tokens: 7,
            cached_tokens: 2,
            reasoning_tokens: 3,
            retries: 0,
            failovers: 1,
        }
    }

    #[test]
    fn events_are_kept_once_per_request_id_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        {
            let mut store = UsageStore::open(&path).unwrap();
            let batch = [event("a", now), event("b", now)];
            assert_eq!(store.insert(&batch).unwrap(), 2);
            assert_eq!(
                store.insert(&batch).unwrap(),
                0,
                "the same request ids again"
            );
        }
        let store = UsageStore::open(&path).unwrap();
        assert_eq!(store.count().unwrap(), 2);
        assert_eq!(store.get("a").unwrap(), Some(event("a", now)));
        assert_eq!(store.get("zzz").unwrap(), None);
    }

    #[test]
    fn totals_group_by_day_hour_model_and_credential() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = UsageStore::open(&dir.path().join("usage.db")).unwrap();
        let day = time::Date::from_calendar_date(2026, time::Month::November, 20)
            .and_then(|d| d.with_hms(10, 15, 0))
            .unwrap()
            .assume_utc();
        let mut other = event("c", day + time::Duration::days(1));
        other.model = "gpt".into();
        other.status = 429;
        other.credential = None;
        store
            .insert(&[
                event("a", day),
                event("b", day + time::Duration::hours(2)),
                other,
            ])
            .unwrap();
        let (from, to) = (day - time::Duration::days(1), day + time::Duration::days(3));
        let by_day = store.totals(GroupBy::Day, from, to).unwrap();
        let days: Vec<(&str, u64, u64, u64)> = by_day
            .iter()
            .map(|t| (t.key.as_str(), t.requests, t.errors, t.input_tokens))
            .collect();
        assert_eq!(days, [("2026-11-20", 2, 0, 22), ("2026-11-21", 1, 1, 11)]);
        let hours: Vec<String> = store
            .totals(GroupBy::Hour, from, to)
            .unwrap()
            .into_iter()
            .map(|t| t.key)
            .collect();
        assert_eq!(
            hours,
            ["2026-11-20T10:00", "2026-11-20T12:00", "2026-11-21T10:00"]
        );
        let models = store.totals(GroupBy::Model, from, to).unwrap();
        assert_eq!(models[0].key, "sonnet", "the largest total first");
        assert_eq!(models[0].output_tokens, 14);
        let creds = store.totals(GroupBy::Credential, from, to).unwrap();
        assert!(creds.iter().any(|t| t.key.is_empty() && t.requests == 1));
        let none = store
            .totals(GroupBy::Day, to, to + time::Duration::days(1))
            .unwrap();
        assert!(none.is_empty(), "the range is honoured");
    }

    #[test]
    fn events_page_newest_first_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = UsageStore::open(&dir.path().join("usage.db")).unwrap();
        let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let mut batch: Vec<UsageEvent> = (0..5)
            .map(|n| event(&format!("r{n}"), t0 + time::Duration::seconds(n)))
            .collect();
        // Two events in the same millisecond: the request id breaks the tie.
        batch.push(event("r4b", t0 + time::Duration::seconds(4)));
        batch[1].status = 500;
        batch[1].model = "gpt".into();
        store.insert(&batch).unwrap();
        let ids = |events: Vec<UsageEvent>| -> Vec<String> {
            events.into_iter().map(|e| e.request_id).collect()
        };
        let mut q = EventQuery {
            limit: 2,
            ..EventQuery::default()
        };
        let first = store.events(&q).unwrap();
        assert_eq!(ids(first.clone()), ["r4b", "r4"]);
        let last = first.last().unwrap();
        q.before = Some((last.time, last.request_id.clone()));
        assert_eq!(ids(store.events(&q).unwrap()), ["r3", "r2"]);
        let errors = EventQuery {
            errors_only: true,
            limit: 10,
            ..EventQuery::default()
        };
        assert_eq!(ids(store.events(&errors).unwrap()), ["r1"]);
        let gpt = EventQuery {
            model: Some("gpt".into()),
            limit: 10,
            ..EventQuery::default()
        };
        assert_eq!(ids(store.events(&gpt).unwrap()), ["r1"]);
    }

    #[test]
    fn retention_forgets_old_events_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = UsageStore::open(&dir.path().join("usage.db")).unwrap();
        let now = OffsetDateTime::now_utc();
        let old = now - time::Duration::days(40);
        store
            .insert(&[event("old", old), event("new", now)])
            .unwrap();
        assert_eq!(
            store.forget_before(now - time::Duration::days(30)).unwrap(),
            1
        );
        assert_eq!(store.count().unwrap(), 1);
        assert!(store.get("new").unwrap().is_some());
    }

    #[test]
    fn a_database_from_a_newer_version_is_refused_not_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.db");
        drop(UsageStore::open(&path).unwrap());
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let err = UsageStore::open(&path).err().expect("refused");
        assert!(err.to_string().contains("newer Switchyard"), "{err}");
    }
}
