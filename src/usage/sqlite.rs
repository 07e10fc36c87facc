//! What the usage database and the request log share: WAL (readers never block the writer, and a kill -9
//! mid-write leaves the last committed state), a busy timeout for the second process that opens the
//! same file, and schema versions in `PRAGMA user_version` that a newer file is refused by, not damaged.

use std::path::Path;

use rusqlite::Connection;

/// Why a file could not be opened, for each store to name in its own error.
#[derive(Debug)]
pub enum OpenError {
    Db(rusqlite::Error),
    /// The folder could not be created.
    Io(std::io::Error),
    /// The file's schema is newer than the `known` migrations.
    TooNew {
        found: i64,
        known: usize,
    },
}

impl From<rusqlite::Error> for OpenError {
    fn from(e: rusqlite::Error) -> Self {
        OpenError::Db(e)
    }
}

/// Opens (creating it and its folder if needed) the database at `path`: `first` pragmas (those that
/// only count before any table exists, such as `auto_vacuum`), then WAL, then `migrations` from the
/// file's version on, in one transaction. Entry `n` moves a file from version `n` to `n + 1`.
pub fn open(
    path: &Path,
    first: &[(&str, &str)],
    migrations: &[&str],
) -> Result<Connection, OpenError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(OpenError::Io)?;
    }
    let mut conn = Connection::open(path)?;
    for (name, value) in first {
        conn.pragma_update(None, name, value)?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = migrations.len();
    let current = match usize::try_from(version) {
        Ok(v) if v <= known => v,
        _ => {
            return Err(OpenError::TooNew {
                found: version,
                known,
            })
        }
    };
    let tx = conn.transaction()?;
    for (n, sql) in migrations.iter().enumerate().skip(current) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (n + 1) as i64)?;
    }
    tx.commit()?;
    Ok(conn)
}
