//! Tokens in files, for machines without a keychain (servers, containers): one JSON file per account,
//! `switchyard-<id>.json`, mode 0600 in a 0700 folder, replaced by rename, writers serialized by a lock.
//! The name and the content (no `type` key) keep these files apart from CLIProxyAPI's auth files even
//! when both share a folder.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

use super::SecretStore;
use crate::accounts::fsutil::{ensure_private_dir, write_atomic, FileLock};
use crate::accounts::{io_err, AccountId, AccountsError, Tokens};

const LOCK_FILE: &str = ".switchyard-tokens.lock";

pub struct FileSecretStore {
    dir: PathBuf,
}

impl FileSecretStore {
    /// Uses `dir`, creating it (0700) if needed.
    pub fn open(dir: &Path) -> Result<Self, AccountsError> {
        ensure_private_dir(dir).map_err(io_err(dir))?;
        Ok(FileSecretStore {
            dir: dir.to_path_buf(),
        })
    }

    pub fn path_for(&self, id: &AccountId) -> PathBuf {
        self.dir.join(format!("switchyard-{id}.json"))
    }

    /// Whether a file in an auth folder is one of ours (so importers skip it).
    pub fn is_token_file(name: &str) -> bool {
        name.starts_with("switchyard-") && name.ends_with(".json")
    }

    fn lock(&self) -> Result<FileLock, AccountsError> {
        let path = self.dir.join(LOCK_FILE);
        FileLock::acquire(&path).map_err(io_err(path))
    }
}

impl SecretStore for FileSecretStore {
    fn get(&self, id: &AccountId) -> Result<Option<Tokens>, AccountsError> {
        // No lock: files are only ever replaced whole by rename, so a read sees one version.
        let path = self.path_for(id);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(path)(e)),
        };
        Tokens::from_blob(&text)
            .map(Some)
            .map_err(|reason| AccountsError::InvalidFile { path, reason })
    }

    fn set(&self, id: &AccountId, tokens: &Tokens) -> Result<(), AccountsError> {
        let path = self.path_for(id);
        let _held = self.lock()?;
        write_atomic(&path, tokens.to_blob().expose_secret().as_bytes()).map_err(io_err(path))
    }

    fn delete(&self, id: &AccountId) -> Result<(), AccountsError> {
        let path = self.path_for(id);
        let _held = self.lock()?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io_err(path)(e)),
        }
    }

    fn describe(&self) -> String {
        format!("files in {}", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn id(n: u32) -> AccountId {
        AccountId::parse(&format!("claude-{n:012}")).unwrap()
    }

    fn tokens(refresh: &str) -> Tokens {
        Tokens::new(Some("at".into()), Some(refresh.into()), None)
    }

    #[test]
    fn stores_reads_replaces_and_deletes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileSecretStore::open(&tmp.path().join("tok")).unwrap();
        assert!(store.get(&id(1)).unwrap().is_none());
        store.set(&id(1), &tokens("first")).unwrap();
        store.set(&id(1), &tokens("second")).unwrap();
        assert_eq!(
            store.get(&id(1)).unwrap().unwrap().refresh(),
            Some("second")
        );
        let text = fs::read_to_string(store.path_for(&id(1))).unwrap();
        assert!(!text.contains("first"));
        store.delete(&id(1)).unwrap();
        store.delete(&id(1)).unwrap();
        assert!(store.get(&id(1)).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tok");
        let store = FileSecretStore::open(&dir).unwrap();
        store.set(&id(1), &tokens("rt")).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&store.path_for(&id(1))), 0o600);
    }

    #[test]
    fn concurrent_writers_and_a_reader_never_see_a_torn_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("tok");
        let a = Arc::new(FileSecretStore::open(&dir).unwrap());
        // A second handle on the same folder, like a second process.
        let b = Arc::new(FileSecretStore::open(&dir).unwrap());
        let values = ["A".repeat(20_000), "B".repeat(30_000), "C".repeat(10_000)];
        let writers: Vec<_> = [a.clone(), b.clone()]
            .into_iter()
            .enumerate()
            .map(|(w, store)| {
                let values = values.clone();
                std::thread::spawn(move || {
                    for i in 0..30 {
                        store.set(&id(7), &tokens(&values[(i + w) % 3])).unwrap();
                    }
                })
            })
            .collect();
        let reader = {
            let (store, values) = (a.clone(), values.clone());
            std::thread::spawn(move || {
                for _ in 0..200 {
                    if let Some(t) = store.get(&id(7)).unwrap() {
                        assert!(values.iter().any(|v| Some(v.as_str()) == t.refresh()));
                    }
                }
            })
        };
        for t in writers {
            t.join().unwrap();
        }
        reader.join().unwrap();
        let leftovers: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
