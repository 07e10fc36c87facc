//! Bringing the account set in line with an auth dir's current files: the seam a file watcher will
//! call on every change (the watcher itself comes later).

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{is_candidate, parse_auth_file};
use crate::accounts::{
    io_err, AccountId, AccountStore, AccountsError, Imported, OriginKind, SettingsMode, Upserted,
};

/// What a reconcile did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Reconciled {
    pub added: Vec<AccountId>,
    pub changed: Vec<AccountId>,
    pub removed: Vec<AccountId>,
    /// Files that look like credentials but could not be used, with the reason (for a warning).
    pub skipped: Vec<(PathBuf, String)>,
}

impl Reconciled {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }
}

/// Makes the accounts that came from `dir` match the Claude and Codex files in it now: new files
/// add (or update the same account), edited files update, deleted files remove their account.
/// A file that exists but does not parse keeps its account, since another program may be halfway
/// through writing it. Files' per-file keys replace the account's settings.
pub fn reconcile_auth_dir(store: &AccountStore, dir: &Path) -> Result<Reconciled, AccountsError> {
    let mut out = Reconciled::default();
    let (present, parsed) = scan(dir, &mut out.skipped)?;
    let owned: Vec<_> = store
        .list()?
        .into_iter()
        .filter(|a| {
            a.origin.as_ref().is_some_and(|o| {
                o.kind == OriginKind::AuthDir
                    && o.path.as_deref().and_then(Path::parent) == Some(dir)
            })
        })
        .collect();

    let mut seen: Vec<(&Path, &Imported)> = Vec::new();
    for (path, imported) in &parsed {
        if let Some((first, _)) = seen
            .iter()
            .find(|(_, other)| other.account.same_identity(&imported.account))
        {
            // e.g. CLIProxyAPI's legacy and hashed names for one account: the first name wins.
            let reason = format!("same account as {}", first.display());
            out.skipped.push((path.clone(), reason));
            continue;
        }
        seen.push((path, imported));
        let fingerprint = imported
            .account
            .origin
            .as_ref()
            .and_then(|o| o.fingerprint.clone());
        let owner = owned
            .iter()
            .find(|a| a.origin.as_ref().and_then(|o| o.path.as_deref()) == Some(path.as_path()));
        if let Some(owner) = owner {
            if owner.origin.as_ref().and_then(|o| o.fingerprint.clone()) == fingerprint {
                continue;
            }
            if !owner.same_identity(&imported.account) {
                // The file now holds someone else: the old account goes, the new one comes.
                store.remove(&owner.id)?;
                out.removed.push(owner.id.clone());
            }
        }
        let imported = imported.clone();
        match store.upsert(imported.account, &imported.tokens, SettingsMode::Replace)? {
            Upserted::Added(id) => out.added.push(id),
            Upserted::Updated(id) => out.changed.push(id),
        }
    }

    for account in owned {
        let path = account.origin.as_ref().and_then(|o| o.path.as_deref());
        if path.is_some_and(|p| !present.contains(p)) {
            store.remove(&account.id)?;
            out.removed.push(account.id);
        }
    }
    Ok(out)
}

type Scan = (BTreeSet<PathBuf>, Vec<(PathBuf, Imported)>);

/// Every candidate file present, and those that parsed as Claude/Codex accounts, in name order.
fn scan(dir: &Path, skipped: &mut Vec<(PathBuf, String)>) -> Result<Scan, AccountsError> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        // No folder: no files, so every account that came from it goes.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| is_candidate(&e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .collect();
    paths.sort();
    let mut parsed = Vec::new();
    for path in &paths {
        let result = fs::read(path)
            .map_err(io_err(path))
            .and_then(|bytes| parse_auth_file(path, &bytes));
        match result {
            Ok(Some(imported)) => parsed.push((path.clone(), imported)),
            Ok(None) => {}
            Err(e) => skipped.push((path.clone(), e.to_string())),
        }
    }
    Ok((paths.into_iter().collect(), parsed))
}
