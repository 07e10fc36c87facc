//! Request logs in their own SQLite file, next to the usage database: one row per request id holding
//! the capture as deflated JSON. WAL (a kill mid-write keeps the last committed batch), schema versions
//! in `PRAGMA user_version`, and a size cap: past it the oldest rows go and the file shrinks
//! (`auto_vacuum = INCREMENTAL`).

use std::io::{Read, Write};
use std::path::Path;

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use rusqlite::{params, Connection, OptionalExtension};

use super::Capture;
use crate::usage::sqlite;

/// The schema, one entry per version: applying entry `n` moves a file from version `n` to `n + 1`.
/// `seq` is the insertion order, which rotation follows (oldest first).
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE captures (
    seq        INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE,
    time_ms    INTEGER NOT NULL,
    bytes      INTEGER NOT NULL,
    capture    BLOB NOT NULL
);
"#];

/// Rotation deletes down to this share of the cap, so it runs once per many batches, not every one.
const ROTATE_TO_PERCENT: u64 = 90;

/// What a row costs besides its capture (its cell, its index entry, a part-filled overflow page), for
/// choosing how many rows to delete; the file's real size is checked again after each deletion.
const ROW_OVERHEAD: u64 = 2048;

/// A rotation stops after this many delete-and-measure rounds even if the estimate keeps falling short.
const ROTATE_ROUNDS: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("request log {path}: {source}")]
    Db {
        path: String,
        source: rusqlite::Error,
    },
    #[error("request log folder {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "request log {path} is from a newer Switchyard (schema {found}, this one knows {known})"
    )]
    TooNew {
        path: String,
        found: i64,
        known: usize,
    },
    #[error("request log entry {id} cannot be read: {reason}")]
    Unreadable { id: String, reason: String },
}

/// One capture on its way to the file.
pub struct Entry {
    pub request_id: String,
    pub time_ms: i64,
    pub capture: Box<Capture>,
}

pub struct LogStore {
    conn: Connection,
    path: String,
}

impl LogStore {
    /// Opens (creating it and its folder if needed) the file at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<LogStore, LogError> {
        let name = path.display().to_string();
        // `auto_vacuum` only takes effect before the first table exists, which is when this file is new.
        let conn = sqlite::open(path, &[("auto_vacuum", "INCREMENTAL")], MIGRATIONS).map_err(
            |e| match e {
                sqlite::OpenError::Db(source) => LogError::Db {
                    path: name.clone(),
                    source,
                },
                sqlite::OpenError::Io(source) => LogError::Io {
                    path: name.clone(),
                    source,
                },
                sqlite::OpenError::TooNew { found, known } => LogError::TooNew {
                    path: name.clone(),
                    found,
                    known,
                },
            },
        )?;
        Ok(LogStore { conn, path: name })
    }

    fn db(&self) -> impl Fn(rusqlite::Error) -> LogError + '_ {
        move |source| LogError::Db {
            path: self.path.clone(),
            source,
        }
    }

    /// Stores `entries` in one transaction; a request id stored before is replaced.
    pub fn insert(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        let path = self.path.clone();
        let db = |source| LogError::Db {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(db)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO captures (request_id, time_ms, bytes, capture) \
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(db)?;
            for e in entries {
                let blob = encode(&e.capture);
                stmt.execute(params![e.request_id, e.time_ms, blob.len() as i64, blob])
                    .map_err(db)?;
            }
        }
        tx.commit().map_err(db)
    }

    /// The capture of `request_id`, if it is still here.
    pub fn get(&self, request_id: &str) -> Result<Option<Capture>, LogError> {
        let blob: Option<Vec<u8>> = self
            .conn
            .query_row(
                "SELECT capture FROM captures WHERE request_id = ?1",
                [request_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.db())?;
        blob.map(|b| {
            decode(&b).map_err(|reason| LogError::Unreadable {
                id: request_id.to_string(),
                reason,
            })
        })
        .transpose()
    }

    /// The bytes the file holds in use (free pages not counted: they are handed back by the vacuum).
    pub fn used_bytes(&self) -> Result<u64, LogError> {
        let pragma = |name: &str| -> Result<u64, LogError> {
            let n: i64 = self
                .conn
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .map_err(self.db())?;
            Ok(n.unsigned_abs())
        };
        let pages = pragma("page_count")?.saturating_sub(pragma("freelist_count")?);
        Ok(pages * pragma("page_size")?)
    }

    /// Keeps the file under `cap` bytes: once it is past the cap, the oldest rows are deleted until it
    /// is under [`ROTATE_TO_PERCENT`] of it, and the freed pages are given back to the file system.
    /// `cap` 0 means no cap. Returns how many rows were deleted.
    pub fn rotate(&mut self, cap: u64) -> Result<usize, LogError> {
        if cap == 0 || self.used_bytes()? <= cap {
            return Ok(0);
        }
        let target = cap / 100 * ROTATE_TO_PERCENT;
        let mut deleted = 0;
        for _ in 0..ROTATE_ROUNDS {
            let used = self.used_bytes()?;
            if used <= target {
                break;
            }
            let Some(last) = self.oldest_covering(used - target)? else {
                break;
            };
            deleted += self
                .conn
                .execute("DELETE FROM captures WHERE seq <= ?1", [last])
                .map_err(self.db())?;
            self.vacuum()?;
        }
        // The vacuum shrinks the file only once its pages are checkpointed out of the WAL, and a
        // truncating checkpoint keeps the WAL itself from holding the space instead.
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .map_err(self.db())?;
        Ok(deleted)
    }

    /// Gives every free page back to the file system. The pragma frees one page per step, so it is
    /// stepped to its end.
    fn vacuum(&self) -> Result<(), LogError> {
        let mut stmt = self
            .conn
            .prepare_cached("PRAGMA incremental_vacuum")
            .map_err(self.db())?;
        let mut rows = stmt.query([]).map_err(self.db())?;
        while rows.next().map_err(self.db())?.is_some() {}
        Ok(())
    }

    /// The `seq` of the newest row among the oldest ones whose sizes add up to `bytes`.
    fn oldest_covering(&self, bytes: u64) -> Result<Option<i64>, LogError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT seq, bytes FROM captures ORDER BY seq")
            .map_err(self.db())?;
        let mut rows = stmt.query([]).map_err(self.db())?;
        let mut sum = 0u64;
        let mut last = None;
        while let Some(row) = rows.next().map_err(self.db())? {
            let seq: i64 = row.get(0).map_err(self.db())?;
            let size: i64 = row.get(1).map_err(self.db())?;
            sum += size.unsigned_abs() + ROW_OVERHEAD;
            last = Some(seq);
            if sum >= bytes {
                break;
            }
        }
        Ok(last)
    }

    #[cfg(test)]
    pub fn rows(&self) -> (u64, u64) {
        self.conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM captures",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?.unsigned_abs(),
                        r.get::<_, i64>(1)?.unsigned_abs(),
                    ))
                },
            )
            .unwrap_or_default()
    }
}

/// A capture as stored: JSON, deflated. Prompts and SSE text shrink several times over (see the
/// tests), so the same cap keeps several times the history.
fn encode(capture: &Capture) -> Vec<u8> {
    let json = serde_json::to_vec(capture).unwrap_or_default();
    let mut z = DeflateEncoder::new(Vec::with_capacity(json.len() / 4), Compression::fast());
    // Writing into a Vec cannot fail.
    let _ = z.write_all(&json);
    z.finish().unwrap_or_default()
}

fn decode(blob: &[u8]) -> Result<Capture, String> {
    let mut json = Vec::new();
    DeflateDecoder::new(blob)
        .read_to_end(&mut json)
        .map_err(|e| e.to_string())?;
    serde_json::from_slice(&json).map_err(|e| e.to_string())
}
