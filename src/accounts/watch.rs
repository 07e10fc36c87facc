//! What the running proxy watches on disk: the account list (written by `switchyard login`, the tray, a
//! refresh in another process) and CLIProxyAPI's auth files next to it (written by CLIProxyAPI itself,
//! by a wrapper app, or copied in by hand). Polling a directory listing is cheap, works the same on every
//! platform and file system (network shares included), and cannot miss an event the way a lost inotify
//! watch can.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::cliproxy::is_candidate;
use super::store::LIST_FILE;

/// Enough of a file's metadata to tell that it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let meta = fs::metadata(path).ok()?;
        meta.is_file().then(|| Stamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        })
    }
}

/// The account-related files under an auth dir at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskState {
    list: Option<Stamp>,
    auth_files: Vec<(PathBuf, Stamp)>,
}

impl DiskState {
    /// Reads the state of `auth_dir`: Switchyard's list in `auth_dir/switchyard/` and the candidate
    /// CLIProxyAPI files directly in `auth_dir`. A missing directory is an empty state.
    pub fn read(auth_dir: &Path) -> DiskState {
        let list = Stamp::of(&auth_dir.join("switchyard").join(LIST_FILE));
        let mut auth_files: Vec<(PathBuf, Stamp)> = fs::read_dir(auth_dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_name().to_str().is_some_and(is_candidate))
            .filter_map(|e| {
                let path = e.path();
                Stamp::of(&path).map(|s| (path, s))
            })
            .collect();
        auth_files.sort_by(|a, b| a.0.cmp(&b.0));
        DiskState { list, auth_files }
    }

    /// Whether there is anything to serve: someone logged in or imported, or CLIProxyAPI files wait to be
    /// read. Until then the proxy never opens the account store, so a keys-only setup never touches the
    /// keychain.
    pub fn has_accounts(&self) -> bool {
        self.list.is_some() || !self.auth_files.is_empty()
    }

    /// Whether CLIProxyAPI's files changed between `self` and `newer`.
    pub fn auth_files_changed(&self, newer: &DiskState) -> bool {
        self.auth_files != newer.auth_files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sees_the_list_appear_and_auth_files_come_change_and_go() {
        let dir = tempfile::tempdir().unwrap();
        let empty = DiskState::read(&dir.path().join("missing"));
        assert!(!empty.has_accounts());
        let start = DiskState::read(dir.path());
        assert_eq!(start, empty);

        // Our own token files and dotfiles are not CLIProxyAPI accounts.
        fs::write(dir.path().join("switchyard-abc.json"), "{}").unwrap();
        fs::write(dir.path().join(".hidden.json"), "{}").unwrap();
        fs::write(dir.path().join("notes.txt"), "x").unwrap();
        assert!(!DiskState::read(dir.path()).has_accounts());

        let file = dir.path().join("claude-a@example.com.json");
        fs::write(&file, r#"{"type":"claude"}"#).unwrap();
        let added = DiskState::read(dir.path());
        assert!(added.has_accounts());
        assert!(start.auth_files_changed(&added));

        fs::write(&file, r#"{"type":"claude","email":"a@example.com"}"#).unwrap();
        let edited = DiskState::read(dir.path());
        assert!(added.auth_files_changed(&edited), "a size change is seen");

        fs::remove_file(&file).unwrap();
        let removed = DiskState::read(dir.path());
        assert!(edited.auth_files_changed(&removed));
        assert!(!removed.has_accounts());

        fs::create_dir_all(dir.path().join("switchyard")).unwrap();
        fs::write(dir.path().join("switchyard").join(LIST_FILE), "[]").unwrap();
        let listed = DiskState::read(dir.path());
        assert!(listed.has_accounts());
        assert!(
            !removed.auth_files_changed(&listed),
            "the list is not an auth file"
        );
        assert_ne!(removed, listed);
    }
}
