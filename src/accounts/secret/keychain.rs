//! The OS keychain through the `keyring` crate: macOS Keychain, Windows Credential Manager, and the
//! Secret Service (GNOME Keyring, KWallet) over D-Bus on Linux. Items are service "switchyard",
//! user = the item key (`<account id>` or `<account id>#a1`, see [`super::ChunkedStore`]).

use keyring::Entry;

use super::chunked::{ChunkedStore, KvBackend};
use crate::accounts::AccountsError;

pub const SERVICE: &str = "switchyard";

/// Tokens in the OS keychain, split into parts that fit every platform's item size.
pub type KeychainStore = ChunkedStore<KeyringBackend>;

impl KeychainStore {
    pub fn os_keychain() -> Self {
        ChunkedStore::new(KeyringBackend)
    }
}

/// One keychain item per key.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyringBackend;

fn entry(key: &str) -> Result<Entry, AccountsError> {
    Ok(Entry::new(SERVICE, key)?)
}

impl KvBackend for KeyringBackend {
    fn get(&self, key: &str) -> Result<Option<String>, AccountsError> {
        match entry(key)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), AccountsError> {
        Ok(entry(key)?.set_password(value)?)
    }

    fn delete(&self, key: &str) -> Result<bool, AccountsError> {
        match entry(key)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
