//! Where tokens live: the OS keychain when one answers, files with owner-only permissions otherwise.

mod chunked;
mod file;
mod keychain;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use chunked::{ChunkedStore, KvBackend, CHUNK_CHARS};
pub use file::FileSecretStore;
pub use keychain::{KeychainStore, KeyringBackend, SERVICE};

#[cfg(test)]
pub(crate) use chunked::tests as chunked_tests;

use super::{AccountId, AccountsError, Tokens};

/// Secrets by account id. Implementations are cheap to share across threads.
pub trait SecretStore: Send + Sync {
    fn get(&self, id: &AccountId) -> Result<Option<Tokens>, AccountsError>;
    /// Replaces the account's tokens as a whole; after a crash either the old or the new set is there.
    fn set(&self, id: &AccountId, tokens: &Tokens) -> Result<(), AccountsError>;
    /// Removes every trace of the account's tokens; deleting what is not there is not an error.
    fn delete(&self, id: &AccountId) -> Result<(), AccountsError>;
    /// For messages: "the OS keychain", "files in /path".
    fn describe(&self) -> String;
}

/// The config's choice of secret store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretStoreChoice {
    /// The keychain when it answers, else files (with one warning saying so).
    #[default]
    Auto,
    Keychain,
    File,
}

/// Opens the store the config asks for. `file_dir` is where the file store keeps one file per account.
pub fn open_secret_store(
    choice: SecretStoreChoice,
    file_dir: &Path,
) -> Result<Arc<dyn SecretStore>, AccountsError> {
    select(choice, KeychainStore::os_keychain(), file_dir)
}

/// [`open_secret_store`] with the keychain passed in, so tests can offer one that does not answer.
pub fn select<B: KvBackend + 'static>(
    choice: SecretStoreChoice,
    keychain: ChunkedStore<B>,
    file_dir: &Path,
) -> Result<Arc<dyn SecretStore>, AccountsError> {
    match choice {
        SecretStoreChoice::File => Ok(Arc::new(FileSecretStore::open(file_dir)?)),
        SecretStoreChoice::Keychain => {
            keychain.probe()?;
            Ok(Arc::new(keychain))
        }
        SecretStoreChoice::Auto => match keychain.probe() {
            Ok(()) => Ok(Arc::new(keychain)),
            Err(e) => {
                let files = FileSecretStore::open(file_dir)?;
                tracing::warn!(
                    "no OS keychain answered ({e}); account tokens are stored in files readable only by you in {}",
                    file_dir.display()
                );
                Ok(Arc::new(files))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::chunked::tests::MemoryBackend;
    use super::*;

    #[test]
    fn auto_uses_the_keychain_when_it_answers() {
        let tmp = tempfile::tempdir().unwrap();
        let files = tmp.path().join("tokens");
        let store = select(
            SecretStoreChoice::Auto,
            ChunkedStore::new(MemoryBackend::default()),
            &files,
        )
        .unwrap();
        assert_eq!(store.describe(), "the OS keychain");
        assert!(
            !files.exists(),
            "no token folder is made when the keychain works"
        );
    }

    #[test]
    fn auto_falls_back_to_files_and_explicit_keychain_fails_loudly() {
        let tmp = tempfile::tempdir().unwrap();
        let files = tmp.path().join("tokens");
        let broken = || ChunkedStore::new(MemoryBackend::broken());
        let store = select(SecretStoreChoice::Auto, broken(), &files).unwrap();
        assert!(store.describe().contains(&files.display().to_string()));
        let err = select(SecretStoreChoice::Keychain, broken(), &files)
            .err()
            .unwrap();
        assert!(
            matches!(err, AccountsError::KeychainUnavailable(_)),
            "{err}"
        );
        let store = select(SecretStoreChoice::File, broken(), &files).unwrap();
        assert!(store.describe().starts_with("files in"));
    }

    #[test]
    fn choice_reads_from_config_words() {
        for (word, want) in [
            ("auto", SecretStoreChoice::Auto),
            ("keychain", SecretStoreChoice::Keychain),
            ("file", SecretStoreChoice::File),
        ] {
            let got: SecretStoreChoice = serde_json::from_value(word.into()).unwrap();
            assert_eq!(got, want);
        }
    }
}
