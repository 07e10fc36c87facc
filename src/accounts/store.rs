//! [`AccountStore`]: the account list (plain JSON in the data dir, no secrets) plus a [`SecretStore`]
//! for the tokens. The one place that adds, updates and removes accounts.
//!
//! The list is re-read from disk on every call and changed under a file lock, so the desktop app and a
//! `switchyard login` in a terminal can both change it without losing each other's edits.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::fsutil::{ensure_private_dir, write_atomic, FileLock};
use super::{io_err, Account, AccountId, AccountsError, Imported, SecretStore, Tokens};

/// An account's cross-process refresh lock, held while it lives ([`AccountStore::try_refresh_lock`]).
pub struct RefreshLock {
    _lock: FileLock,
}

pub(crate) const LIST_FILE: &str = "accounts.json";
const LOCK_FILE: &str = "accounts.json.lock";

/// What happens to the user's settings (label, priority, …) when an upsert finds the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsMode {
    /// A login or an import from Claude Code / Codex CLI: the user's settings stay.
    KeepExisting,
    /// A CLIProxyAPI file, whose per-file keys are the settings: they replace ours.
    Replace,
}

/// The result of [`AccountStore::upsert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upserted {
    Added(AccountId),
    /// An account with the same identity existed; it now has the new tokens.
    Updated(AccountId),
}

impl Upserted {
    pub fn id(&self) -> &AccountId {
        match self {
            Upserted::Added(id) | Upserted::Updated(id) => id,
        }
    }
}

#[derive(Serialize, Deserialize, Default)]
struct ListFile {
    version: u32,
    accounts: Vec<Account>,
}

pub struct AccountStore {
    dir: PathBuf,
    secrets: Arc<dyn SecretStore>,
}

impl AccountStore {
    /// The account list lives in `data_dir/accounts.json`; tokens go to `secrets`.
    pub fn open(data_dir: &Path, secrets: Arc<dyn SecretStore>) -> Result<Self, AccountsError> {
        ensure_private_dir(data_dir).map_err(io_err(data_dir))?;
        let store = AccountStore {
            dir: data_dir.to_path_buf(),
            secrets,
        };
        store.read()?;
        Ok(store)
    }

    /// The folder with the account list (and the other files Switchyard keeps about accounts).
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    pub fn secret_store(&self) -> &dyn SecretStore {
        self.secrets.as_ref()
    }

    pub fn list(&self) -> Result<Vec<Account>, AccountsError> {
        self.read()
    }

    pub fn get(&self, id: &AccountId) -> Result<Option<Account>, AccountsError> {
        Ok(self.read()?.into_iter().find(|a| &a.id == id))
    }

    /// Adds the account, or — when one with the same identity exists ([`Account::same_identity`]) —
    /// updates that one in place, keeping its id, so logging in twice never makes a twin.
    /// Tokens are stored before the list changes: a crash in between leaves at worst unused tokens.
    pub fn upsert(
        &self,
        incoming: Account,
        tokens: &Tokens,
        settings: SettingsMode,
    ) -> Result<Upserted, AccountsError> {
        let _held = self.lock()?;
        let mut list = self.read()?;
        let Some(existing) = list.iter_mut().find(|a| a.same_identity(&incoming)) else {
            self.secrets.set(&incoming.id, tokens)?;
            let id = incoming.id.clone();
            list.push(incoming);
            self.write(&list)?;
            return Ok(Upserted::Added(id));
        };
        self.secrets.set(&existing.id, tokens)?;
        existing.identity.merge_from(&incoming.identity);
        existing.plan = incoming.plan.or(existing.plan.take());
        if settings == SettingsMode::Replace {
            existing.settings = incoming.settings;
        }
        existing.status = incoming.status;
        existing.status_message = incoming.status_message;
        existing.expires_at = incoming.expires_at;
        existing.last_refresh = incoming.last_refresh.or(existing.last_refresh);
        existing.origin = incoming.origin.or(existing.origin.take());
        let id = existing.id.clone();
        self.write(&list)?;
        Ok(Upserted::Updated(id))
    }

    /// [`Self::upsert`] for an importer's result.
    pub fn import(
        &self,
        imported: Imported,
        settings: SettingsMode,
    ) -> Result<Upserted, AccountsError> {
        self.upsert(imported.account, &imported.tokens, settings)
    }

    /// Removes the account and its tokens. `Ok(false)` when there was no such account.
    pub fn remove(&self, id: &AccountId) -> Result<bool, AccountsError> {
        let _held = self.lock()?;
        let mut list = self.read()?;
        let before = list.len();
        list.retain(|a| &a.id != id);
        let found = list.len() != before;
        if found {
            // The list first: if the token delete fails the account is gone from view and its
            // tokens are orphaned, rather than listed without tokens.
            self.write(&list)?;
        }
        self.secrets.delete(id)?;
        Ok(found)
    }

    /// Changes one account's metadata under the lock and returns the result.
    pub fn update(
        &self,
        id: &AccountId,
        change: impl FnOnce(&mut Account),
    ) -> Result<Account, AccountsError> {
        let _held = self.lock()?;
        let mut list = self.read()?;
        let account = list
            .iter_mut()
            .find(|a| &a.id == id)
            .ok_or_else(|| AccountsError::NotFound(id.to_string()))?;
        let before_id = account.id.clone();
        change(account);
        // The id names the tokens: it may not change behind the secret store's back.
        account.id = before_id;
        let updated = account.clone();
        self.write(&list)?;
        Ok(updated)
    }

    pub fn set_enabled(&self, id: &AccountId, enabled: bool) -> Result<Account, AccountsError> {
        self.update(id, |a| a.settings.disabled = !enabled)
    }

    pub fn set_label(
        &self,
        id: &AccountId,
        label: Option<String>,
    ) -> Result<Account, AccountsError> {
        let label = label
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty());
        self.update(id, |a| a.settings.label = label)
    }

    pub fn set_priority(&self, id: &AccountId, priority: i64) -> Result<Account, AccountsError> {
        self.update(id, |a| a.settings.priority = priority)
    }

    pub fn tokens(&self, id: &AccountId) -> Result<Option<Tokens>, AccountsError> {
        self.secrets.get(id)
    }

    /// Replaces the tokens of an existing account (after a refresh: persist before using them).
    pub fn set_tokens(&self, id: &AccountId, tokens: &Tokens) -> Result<(), AccountsError> {
        if self.get(id)?.is_none() {
            return Err(AccountsError::NotFound(id.to_string()));
        }
        self.secrets.set(id, tokens)
    }

    fn list_path(&self) -> PathBuf {
        self.dir.join(LIST_FILE)
    }

    /// Takes the account's refresh lock if no other process holds it: refresh tokens rotate and Codex's
    /// are single-use, so of two processes sharing a store (the desktop app and `switchyard serve`, or
    /// `switchyard accounts` fetching quota next to either) only one may refresh an account at a time.
    /// `None` while another holds it; the lock goes with the returned value.
    pub fn try_refresh_lock(&self, id: &AccountId) -> Result<Option<RefreshLock>, AccountsError> {
        let path = self.dir.join(format!("refresh-{id}.lock"));
        FileLock::try_acquire(&path)
            .map(|lock| lock.map(|l| RefreshLock { _lock: l }))
            .map_err(io_err(path))
    }

    fn lock(&self) -> Result<FileLock, AccountsError> {
        let path = self.dir.join(LOCK_FILE);
        FileLock::acquire(&path).map_err(io_err(path))
    }

    fn read(&self) -> Result<Vec<Account>, AccountsError> {
        let path = self.list_path();
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(path)(e)),
        };
        let file: ListFile = serde_json::from_slice(&bytes)
            .map_err(|source| AccountsError::Json { path, source })?;
        Ok(file.accounts)
    }

    fn write(&self, accounts: &[Account]) -> Result<(), AccountsError> {
        let path = self.list_path();
        let file = ListFile {
            version: 1,
            accounts: accounts.to_vec(),
        };
        let bytes = serde_json::to_vec_pretty(&file).map_err(|source| AccountsError::Json {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &bytes).map_err(io_err(path))
    }
}

#[cfg(test)]
mod tests {
    use super::super::secret::{ChunkedStore, FileSecretStore};
    use super::super::{Identity, Origin, OriginKind, Provider, Status};
    use super::*;
    use crate::accounts::secret::chunked_tests::MemoryBackend;

    fn store(dir: &Path) -> AccountStore {
        AccountStore::open(dir, Arc::new(ChunkedStore::new(MemoryBackend::default()))).unwrap()
    }

    fn codex(email: &str, ws: &str) -> Account {
        Account::new(
            Provider::Codex,
            Identity {
                email: Some(email.into()),
                account_id: Some(ws.into()),
                ..Identity::default()
            },
        )
    }

    fn tokens(rt: &str) -> Tokens {
        Tokens::new(Some(format!("at-{rt}")), Some(rt.into()), None)
    }

    #[test]
    fn logging_in_again_updates_instead_of_adding_a_twin() {
        let tmp = tempfile::tempdir().unwrap();
        let s = store(tmp.path());
        let first = s
            .upsert(
                codex("me@x.com", "ws-1"),
                &tokens("rt-1"),
                SettingsMode::KeepExisting,
            )
            .unwrap();
        let Upserted::Added(id) = first else {
            panic!("{first:?}")
        };
        s.set_label(&id, Some(" Work ".into())).unwrap();
        s.set_priority(&id, 5).unwrap();
        s.update(&id, |a| a.status = Status::NeedsLogin).unwrap();

        let mut again = codex("ME@x.com", "ws-1");
        again.plan = Some("pro".into());
        let second = s
            .upsert(again, &tokens("rt-2"), SettingsMode::KeepExisting)
            .unwrap();
        assert_eq!(second, Upserted::Updated(id.clone()));
        let list = s.list().unwrap();
        assert_eq!(list.len(), 1);
        let a = &list[0];
        assert_eq!(a.settings.label.as_deref(), Some("Work"));
        assert_eq!(a.settings.priority, 5);
        assert_eq!(a.status, Status::Ok, "a fresh login clears needs-login");
        assert_eq!(a.plan.as_deref(), Some("pro"));
        assert_eq!(s.tokens(&id).unwrap().unwrap().refresh(), Some("rt-2"));

        // Another workspace of the same person is another account.
        let third = s
            .upsert(
                codex("me@x.com", "ws-2"),
                &tokens("rt-3"),
                SettingsMode::KeepExisting,
            )
            .unwrap();
        assert!(matches!(third, Upserted::Added(_)));
        assert_eq!(s.list().unwrap().len(), 2);
    }

    #[test]
    fn replace_mode_takes_the_incoming_settings() {
        let tmp = tempfile::tempdir().unwrap();
        let s = store(tmp.path());
        let id = s
            .upsert(
                codex("a@x.com", "w"),
                &tokens("r"),
                SettingsMode::KeepExisting,
            )
            .unwrap();
        s.set_label(id.id(), Some("mine".into())).unwrap();
        let mut from_file = codex("a@x.com", "w");
        from_file.settings.disabled = true;
        from_file.origin = Some(Origin::new(OriginKind::AuthDir, None));
        s.upsert(from_file, &tokens("r2"), SettingsMode::Replace)
            .unwrap();
        let a = s.get(id.id()).unwrap().unwrap();
        assert!(a.settings.disabled);
        assert_eq!(a.settings.label, None);
        assert_eq!(a.origin.map(|o| o.kind), Some(OriginKind::AuthDir));
    }

    #[test]
    fn remove_deletes_metadata_and_tokens_and_settings_calls_need_an_account() {
        let tmp = tempfile::tempdir().unwrap();
        let s = store(tmp.path());
        let id = s
            .upsert(
                codex("a@x.com", "w"),
                &tokens("r"),
                SettingsMode::KeepExisting,
            )
            .unwrap();
        let id = id.id().clone();
        let a = s.set_enabled(&id, false).unwrap();
        assert!(a.settings.disabled);
        assert!(s.remove(&id).unwrap());
        assert!(!s.remove(&id).unwrap());
        assert!(s.tokens(&id).unwrap().is_none());
        assert!(matches!(
            s.set_priority(&id, 1),
            Err(AccountsError::NotFound(_))
        ));
        assert!(matches!(
            s.set_tokens(&id, &tokens("x")),
            Err(AccountsError::NotFound(_))
        ));
    }

    #[test]
    fn the_account_list_never_holds_a_token() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        let secrets = Arc::new(FileSecretStore::open(&tmp.path().join("tokens")).unwrap());
        let s = AccountStore::open(&data, secrets).unwrap();
        let mut t = tokens("REFRESH-SECRET-1");
        t.id_token = Some("ID-SECRET-1".to_string().into());
        s.upsert(codex("a@x.com", "w"), &t, SettingsMode::KeepExisting)
            .unwrap();
        let list = fs::read_to_string(data.join(LIST_FILE)).unwrap();
        assert!(list.contains("a@x.com"));
        for secret in ["REFRESH-SECRET-1", "ID-SECRET-1", "at-REFRESH"] {
            assert!(!list.contains(secret), "{secret} in the account list");
        }
    }

    #[test]
    fn two_stores_on_one_folder_do_not_lose_each_others_accounts() {
        let tmp = tempfile::tempdir().unwrap();
        let secrets: Arc<dyn SecretStore> =
            Arc::new(FileSecretStore::open(&tmp.path().join("t")).unwrap());
        let threads: Vec<_> = (0..2)
            .map(|p| {
                let s = AccountStore::open(&tmp.path().join("d"), secrets.clone()).unwrap();
                std::thread::spawn(move || {
                    for i in 0..15 {
                        let a = codex(&format!("u{p}-{i}@x.com"), "w");
                        s.upsert(a, &tokens("r"), SettingsMode::KeepExisting)
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store(&tmp.path().join("d")).list().unwrap().len(), 30);
    }

    #[test]
    fn a_damaged_list_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join(LIST_FILE), "{not json").unwrap();
        let err = AccountStore::open(
            tmp.path(),
            Arc::new(ChunkedStore::new(MemoryBackend::default())),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("accounts.json"), "{err}");
    }
}
