//! Usage events in SQLite: WAL (a crash loses at most the last batch in flight, never the file), schema
//! versions in `PRAGMA user_version`, one row per request id (an import of the same events twice adds
//! nothing), retention by age.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use time::OffsetDateTime;

use super::{ids, sqlite, UsageEvent};

/// One row's placeholders, the number of columns, and how many rows one statement inserts.
const ROW: &str = "(?, ?, ?, ?, ?, ?, ?, ?)";
const COLUMNS: usize = 8;
const CHUNK: usize = 16;
const ONE: &str = "INSERT OR IGNORE INTO event_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?)";

/// Binds one row's values after the first `offset` parameters. One by one: `params!` costs a trait
/// object and a conversion per value.
fn bind_row(
    stmt: &mut rusqlite::CachedStatement<'_>,
    offset: usize,
    id: i64,
    route: i64,
    e: &UsageEvent,
) -> rusqlite::Result<()> {
    stmt.raw_bind_parameter(offset + 1, id)?;
    stmt.raw_bind_parameter(offset + 2, route)?;
    stmt.raw_bind_parameter(offset + 3, e.latency_ms)?;
    stmt.raw_bind_parameter(offset + 4, e.ttfb_ms)?;
    stmt.raw_bind_parameter(offset + 5, e.input_tokens)?;
    stmt.raw_bind_parameter(offset + 6, e.output_tokens)?;
    stmt.raw_bind_parameter(offset + 7, e.cached_tokens)?;
    stmt.raw_bind_parameter(offset + 8, e.reasoning_tokens)
}

/// An event whose id came from elsewhere (an import): kept as text, keyed by its time and a hash,
/// probing past the rare key another request holds. Returns 1 if it was new.
fn insert_foreign(
    tx: &rusqlite::Transaction<'_>,
    route: i64,
    ms: i64,
    e: &UsageEvent,
) -> rusqlite::Result<usize> {
    let seen: Option<i64> = tx
        .prepare_cached("SELECT id FROM foreign_ids WHERE ext_id = ?1")?
        .query_row([&e.request_id], |r| r.get(0))
        .optional()?;
    if seen.is_some() {
        return Ok(0);
    }
    let mut stmt = tx.prepare_cached(ONE)?;
    for probe in 0..ids::PROBES {
        let id = ids::foreign(&e.request_id, ms, probe);
        bind_row(&mut stmt, 0, id, route, e)?;
        if stmt.raw_execute()? == 1 {
            tx.prepare_cached("INSERT INTO foreign_ids VALUES (?1, ?2)")?
                .execute(params![id, e.request_id])?;
            return Ok(1);
        }
    }
    Ok(0)
}

/// Route ids by their fields, so the writer looks each combination up in SQLite only once. Found by a
/// cheap hash of the event's fields taken by reference, then compared: an event costs no allocation here.
#[derive(Default)]
struct Routes {
    known: std::collections::HashMap<u64, Vec<(RouteKey, i64)>>,
    /// Where the last event's route is in `known`: consecutive requests mostly share one (same tool,
    /// model, account), and then need no hashing at all.
    last: Option<(u64, usize)>,
}

/// FxHash's mixing step: a fast, non-cryptographic hash; the map only ever holds our own fields.
#[derive(Default)]
struct Fx(u64);

impl std::hash::Hasher for Fx {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

fn fingerprint(e: &UsageEvent) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = Fx::default();
    (
        &e.client_key,
        &e.format,
        &e.provider,
        &e.credential,
        &e.model,
        &e.upstream_model,
        e.stream,
        e.status,
        &e.error_class,
        e.retries,
        e.failovers,
    )
        .hash(&mut h);
    h.finish()
}

#[derive(Debug, Clone)]
struct RouteKey {
    client_key: Option<String>,
    format: String,
    provider: Option<String>,
    credential: Option<String>,
    model: String,
    upstream_model: Option<String>,
    stream: bool,
    status: u16,
    error_class: Option<String>,
    retries: u32,
    failovers: u32,
}

impl RouteKey {
    fn matches(&self, e: &UsageEvent) -> bool {
        self.client_key == e.client_key
            && self.format == e.format
            && self.provider == e.provider
            && self.credential == e.credential
            && self.model == e.model
            && self.upstream_model == e.upstream_model
            && self.stream == e.stream
            && self.status == e.status
            && self.error_class == e.error_class
            && self.retries == e.retries
            && self.failovers == e.failovers
    }

    fn of(e: &UsageEvent) -> RouteKey {
        RouteKey {
            client_key: e.client_key.clone(),
            format: e.format.clone(),
            provider: e.provider.clone(),
            credential: e.credential.clone(),
            model: e.model.clone(),
            upstream_model: e.upstream_model.clone(),
            stream: e.stream,
            status: e.status,
            error_class: e.error_class.clone(),
            retries: e.retries,
            failovers: e.failovers,
        }
    }
}

impl Routes {
    fn id(&mut self, tx: &rusqlite::Transaction<'_>, e: &UsageEvent) -> rusqlite::Result<i64> {
        if let Some((hash, at)) = self.last {
            if let Some((k, id)) = self.known.get(&hash).and_then(|same| same.get(at)) {
                if k.matches(e) {
                    return Ok(*id);
                }
            }
        }
        let hash = fingerprint(e);
        if let Some((at, (_, id))) = self
            .known
            .get(&hash)
            .and_then(|same| same.iter().enumerate().find(|(_, (k, _))| k.matches(e)))
        {
            self.last = Some((hash, at));
            return Ok(*id);
        }
        let key = RouteKey::of(e);
        let k = &key;
        let fields = params![
            k.client_key,
            k.format,
            k.provider,
            k.credential,
            k.model,
            k.upstream_model,
            k.stream,
            k.status,
            k.error_class,
            k.retries,
            k.failovers
        ];
        let found: Option<i64> = tx
            .prepare_cached(
                "SELECT id FROM routes WHERE model = ?5 AND credential IS ?4 AND client_key IS ?1 \
                 AND format = ?2 AND provider IS ?3 AND upstream_model IS ?6 AND stream = ?7 \
                 AND status = ?8 AND error_class IS ?9 AND retries = ?10 AND failovers = ?11",
            )?
            .query_row(fields, |r| r.get(0))
            .optional()?;
        let id = match found {
            Some(id) => id,
            None => {
                tx.prepare_cached(
                    "INSERT INTO routes (client_key, format, provider, credential, model, \
                     upstream_model, stream, status, error_class, retries, failovers) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )?
                .execute(fields)?;
                tx.last_insert_rowid()
            }
        };
        let same = self.known.entry(hash).or_default();
        same.push((key, id));
        self.last = Some((hash, same.len() - 1));
        Ok(id)
    }
}

/// The schema, one entry per version: applying entry `n` moves a database from version `n` to `n + 1`.
///
/// Writing a row is most of what usage costs a request, so rows are small: what repeats across requests
/// (client key, format, provider, credential, models, stream, status, error class) lives once in
/// `routes` (with the retry counts, mostly zero), and an event's key is an integer that also carries its time (see [`super::ids`]), so one
/// B-tree serves the primary key, de-duplication and time ranges. Readers use the `events` view, which
/// puts the rows back together.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE routes (
    id             INTEGER PRIMARY KEY,
    client_key     TEXT,
    format         TEXT NOT NULL,
    provider       TEXT,
    credential     TEXT,
    model          TEXT NOT NULL,
    upstream_model TEXT,
    stream         INTEGER NOT NULL,
    status         INTEGER NOT NULL,
    error_class    TEXT,
    retries        INTEGER NOT NULL,
    failovers      INTEGER NOT NULL
);
CREATE INDEX routes_all ON routes(model, credential, client_key, format, provider, upstream_model,
    stream, status, error_class, retries, failovers);
CREATE TABLE event_rows (
    id               INTEGER PRIMARY KEY,
    route            INTEGER NOT NULL,
    latency_ms       INTEGER NOT NULL,
    ttfb_ms          INTEGER,
    input_tokens     INTEGER NOT NULL,
    output_tokens    INTEGER NOT NULL,
    cached_tokens    INTEGER NOT NULL,
    reasoning_tokens INTEGER NOT NULL
);
CREATE TABLE foreign_ids (
    id     INTEGER PRIMARY KEY,
    ext_id TEXT NOT NULL UNIQUE
);
CREATE VIEW events AS
SELECT COALESCE(f.ext_id, printf('%016x', e.id)) AS request_id, e.id AS id, e.id >> 20 AS time_ms,
       r.client_key, r.format, r.provider, r.credential, r.model, r.upstream_model, r.stream, r.status,
       r.error_class, e.latency_ms, e.ttfb_ms, e.input_tokens, e.output_tokens, e.cached_tokens,
       e.reasoning_tokens, r.retries, r.failovers
FROM event_rows e JOIN routes r ON r.id = e.route LEFT JOIN foreign_ids f ON f.id = e.id;
"#];

#[derive(Debug, thiserror::Error)]
pub enum UsageError {
    #[error("usage database {path}: {source}")]
    Db {
        path: String,
        source: rusqlite::Error,
    },
    #[error("usage database {path}: cannot create its folder: {source}")]
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
    routes: Routes,
}

impl UsageStore {
    /// Opens (creating it and its folder if needed) the database at `path` and brings its schema up
    /// to date.
    pub fn open(path: &Path) -> Result<UsageStore, UsageError> {
        let name = path.display().to_string();
        let conn = sqlite::open(path, &[], MIGRATIONS).map_err(|e| match e {
            sqlite::OpenError::Db(source) => UsageError::Db {
                path: name.clone(),
                source,
            },
            sqlite::OpenError::Io(source) => UsageError::Io {
                path: name.clone(),
                source,
            },
            sqlite::OpenError::TooNew { found, known } => UsageError::TooNew {
                path: name.clone(),
                found,
                known,
            },
        })?;
        Ok(UsageStore {
            conn,
            path: name,
            routes: Routes::default(),
        })
    }

    pub(super) fn db(&self) -> impl Fn(rusqlite::Error) -> UsageError + '_ {
        move |source| UsageError::Db {
            path: self.path.clone(),
            source,
        }
    }

    /// Records `events` in one transaction; an event whose request id is already there is skipped.
    /// Returns how many were new.
    pub fn insert(&mut self, events: &[UsageEvent]) -> Result<usize, UsageError> {
        let path = self.path.clone();
        let db = |source| UsageError::Db {
            path: path.clone(),
            source,
        };
        let result = Self::insert_all(&mut self.conn, &mut self.routes, events).map_err(db);
        if result.is_err() {
            // The transaction rolled back: routes it created are gone, forget their ids.
            self.routes = Routes::default();
        }
        result
    }

    fn insert_all(
        conn: &mut Connection,
        routes: &mut Routes,
        events: &[UsageEvent],
    ) -> rusqlite::Result<usize> {
        let tx = conn.transaction()?;
        let mut added = 0;
        let mut native = Vec::with_capacity(events.len());
        for e in events {
            let route = routes.id(&tx, e)?;
            let ms = millis(e.time);
            match ids::native(&e.request_id, ms) {
                Some(id) => native.push((id, route, e)),
                None => added += insert_foreign(&tx, route, ms, e)?,
            }
        }
        // In key order, each row lands after the last one, where SQLite's B-tree appends without a
        // search; and `CHUNK` rows to a statement pay SQLite's per-statement work once.
        native.sort_unstable_by_key(|(id, _, _)| *id);
        let many = format!(
            "INSERT OR IGNORE INTO event_rows VALUES {}",
            vec![ROW; CHUNK].join(",")
        );
        for chunk in native.chunks(CHUNK) {
            if chunk.len() == CHUNK {
                let mut stmt = tx.prepare_cached(&many)?;
                for (n, (id, route, e)) in chunk.iter().enumerate() {
                    bind_row(&mut stmt, n * COLUMNS, *id, *route, e)?;
                }
                added += stmt.raw_execute()?;
            } else {
                let mut stmt = tx.prepare_cached(ONE)?;
                for (id, route, e) in chunk {
                    bind_row(&mut stmt, 0, *id, *route, e)?;
                    added += stmt.raw_execute()?;
                }
            }
        }
        tx.commit()?;
        Ok(added)
    }

    /// Deletes events older than `before`; returns how many.
    pub fn forget_before(&self, before: OffsetDateTime) -> Result<usize, UsageError> {
        let cut = ids::lowest(millis(before));
        let forget = || -> rusqlite::Result<usize> {
            let tx = self.conn.unchecked_transaction()?;
            tx.execute("DELETE FROM foreign_ids WHERE id < ?1", [cut])?;
            let n = tx.execute("DELETE FROM event_rows WHERE id < ?1", [cut])?;
            tx.commit()?;
            Ok(n)
        };
        forget().map_err(self.db())
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
             FROM events WHERE id >= ?1 AND id < ?2 GROUP BY key ORDER BY {order}"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(self.db())?;
        let rows = stmt
            .query_map([ids::lowest(millis(from)), ids::lowest(millis(to))], |r| {
                row_totals(r, r.get(0)?, 1)
            })
            .map_err(self.db())?;
        rows.collect::<Result<_, _>>().map_err(self.db())
    }

    /// Events newest first, `limit` at a time: pass the last page's oldest `(time, request id)` as
    /// `before` for the next page (stable while new events arrive). Filters are exact matches.
    pub fn events(&self, query: &EventQuery) -> Result<Vec<UsageEvent>, UsageError> {
        let before = match &query.before {
            Some((t, id)) => self.key_of(id, millis(*t))?,
            None => i64::MAX,
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT * FROM events WHERE id < ?1 AND id >= ?7 AND id < ?8 \
                 AND (?2 IS NULL OR model = ?2) AND (?3 IS NULL OR credential = ?3) \
                 AND (?4 IS NULL OR (status >= 400) = ?4) AND (?6 IS NULL OR client_key = ?6) \
                 ORDER BY id DESC LIMIT ?5",
            )
            .map_err(self.db())?;
        let rows = stmt
            .query_map(
                params![
                    before,
                    query.model,
                    query.credential,
                    query.errors_only.then_some(true),
                    query.limit.clamp(1, 1000),
                    query.client_key,
                    query.from.map_or(i64::MIN, |t| ids::lowest(millis(t))),
                    query.to.map_or(i64::MAX, |t| ids::lowest(millis(t))),
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
            .query_row("SELECT COUNT(*) FROM event_rows", [], |r| r.get(0))
            .map_err(self.db())
    }

    /// One event by request id.
    pub fn get(&self, request_id: &str) -> Result<Option<UsageEvent>, UsageError> {
        let found = match ids::parse(request_id) {
            Some(id) => self
                .conn
                .query_row("SELECT * FROM events WHERE id = ?1", [id], row_event),
            None => self.conn.query_row(
                "SELECT * FROM events WHERE id = (SELECT id FROM foreign_ids WHERE ext_id = ?1)",
                [request_id],
                row_event,
            ),
        };
        let event = found.optional().map_err(self.db())?;
        // A native-looking id of an imported row is kept as text; look there too.
        match event {
            Some(e) if e.request_id == request_id => Ok(Some(e)),
            _ if ids::parse(request_id).is_some() => self
                .conn
                .query_row(
                    "SELECT * FROM events WHERE id = (SELECT id FROM foreign_ids WHERE ext_id = ?1)",
                    [request_id],
                    row_event,
                )
                .optional()
                .map_err(self.db()),
            other => Ok(other),
        }
    }

    /// The row key of the event `request_id` at `ms`, or the first key of that millisecond when there
    /// is no such event (a page boundary that was deleted meanwhile).
    fn key_of(&self, request_id: &str, ms: i64) -> Result<i64, UsageError> {
        if let Some(id) = ids::native(request_id, ms) {
            return Ok(id);
        }
        let found: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM foreign_ids WHERE ext_id = ?1",
                [request_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db())?;
        Ok(found.unwrap_or_else(|| ids::lowest(ms)))
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

/// Totals named `key` from the six sums (requests, errors, input, output, cached, reasoning) that start
/// at column `first`.
pub(super) fn row_totals(
    r: &rusqlite::Row<'_>,
    key: String,
    first: usize,
) -> rusqlite::Result<Totals> {
    Ok(Totals {
        key,
        requests: r.get(first)?,
        errors: r.get(first + 1)?,
        input_tokens: r.get(first + 2)?,
        output_tokens: r.get(first + 3)?,
        cached_tokens: r.get(first + 4)?,
        reasoning_tokens: r.get(first + 5)?,
    })
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
    fn native_ids_go_in_chunks_and_come_back_by_id() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = UsageStore::open(&dir.path().join("usage.db")).unwrap();
        let t0 = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        // 40 events: two full chunks and eight single rows, finished out of start order.
        let mut batch: Vec<UsageEvent> = (0..40)
            .map(|n| {
                let at = t0 + time::Duration::milliseconds(n);
                event(&ids::new(millis(at)), at)
            })
            .collect();
        batch.reverse();
        batch.push(event("imported-1", t0));
        assert_eq!(store.insert(&batch).unwrap(), 41);
        assert_eq!(store.insert(&batch).unwrap(), 0, "nothing twice");
        assert_eq!(store.count().unwrap(), 41);
        for e in &batch {
            assert_eq!(store.get(&e.request_id).unwrap().as_ref(), Some(e));
        }
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
        // Two events in the same millisecond: their keys break the tie, the same way on every page.
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
        let mut newest = ids(first.clone());
        newest.sort();
        assert_eq!(newest, ["r4", "r4b"]);
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
