//! Which accounts are resting (cooling down after a rate limit, an outage, a refused token) for which
//! model, kept in `resting.json` next to the account list. The proxy writes it as cooldowns come and
//! go and reads it back at start, so a restart does not send requests straight back into a rate limit
//! the provider told us about; `switchyard accounts` shows it.

use std::fs;
use std::io;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::fsutil::write_atomic;
use super::{io_err, AccountId, AccountStore, AccountsError};

const RESTING_FILE: &str = "resting.json";

/// One account resting for one model until a wall-clock time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestingAccount {
    pub account: AccountId,
    pub model: String,
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
    /// The upstream status that caused it; absent for a connection failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

#[derive(Serialize, Deserialize)]
struct RestingFile {
    version: u32,
    resting: Vec<RestingAccount>,
}

impl AccountStore {
    /// Replaces the list of resting accounts.
    pub fn save_resting(&self, resting: &[RestingAccount]) -> Result<(), AccountsError> {
        let path = self.data_dir().join(RESTING_FILE);
        let file = RestingFile {
            version: 1,
            resting: resting.to_vec(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|source| AccountsError::Json {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes).map_err(io_err(path))
    }

    /// The accounts still resting at `now`. A missing or unreadable file is no one resting: this is a
    /// hint for routing, and losing it costs one more request to learn the same thing again.
    pub fn resting(&self, now: OffsetDateTime) -> Vec<RestingAccount> {
        let path = self.data_dir().join(RESTING_FILE);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Vec::new(),
            Err(e) => {
                tracing::warn!("cannot read {}: {e}", path.display());
                return Vec::new();
            }
        };
        match serde_json::from_slice::<RestingFile>(&bytes) {
            Ok(file) => file.resting.into_iter().filter(|r| r.until > now).collect(),
            Err(e) => {
                tracing::warn!("ignoring {}: {e}", path.display());
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::accounts::secret::FileSecretStore;
    use crate::accounts::Provider;

    #[test]
    fn saved_rest_comes_back_until_it_is_over() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Arc::new(FileSecretStore::open(&dir.path().join("t")).unwrap());
        let store = AccountStore::open(&dir.path().join("d"), secrets).unwrap();
        let now = OffsetDateTime::now_utc();
        assert!(store.resting(now).is_empty(), "no file yet");
        let rest = |model: &str, secs: i64| RestingAccount {
            account: AccountId::generate(Provider::Claude),
            model: model.into(),
            until: (now + time::Duration::seconds(secs))
                .replace_nanosecond(0)
                .unwrap(),
            status: Some(429),
        };
        let (long, short) = (rest("a", 3600), rest("b", 60));
        store.save_resting(&[long.clone(), short.clone()]).unwrap();
        assert_eq!(store.resting(now), [long.clone(), short]);
        assert_eq!(
            store.resting(now + time::Duration::seconds(120)),
            [long],
            "over is over"
        );
        std::fs::write(dir.path().join("d").join(RESTING_FILE), "{oops").unwrap();
        assert!(store.resting(now).is_empty(), "a broken file is ignored");
    }
}
