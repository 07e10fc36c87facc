//! Accounts as CLIProxyAPI auth files: an uploaded file becomes an account (its tokens go to the
//! account store, so the keychain where there is one, not to a file), and an account can be taken out
//! again as the file CLIProxyAPI would write for it.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::{accounts_error, parse_account_id, ErrorKind, Result, Service, ServiceError};
use crate::accounts::cliproxy::{export_auth_file, parse_auth_file};
use crate::accounts::{Account, Origin, OriginKind, SettingsMode, Upserted};

/// The largest auth file taken: real ones are a few kilobytes.
const MAX_AUTH_FILE_BYTES: usize = 1 << 20;

/// The account an auth file became.
#[derive(Debug, Clone, Serialize)]
pub struct ImportedAccount {
    /// `false` when the file was a login already here, now updated.
    pub added: bool,
    pub account: Account,
}

impl Service {
    /// Adds (or, for an account already here, updates) the account in the CLIProxyAPI auth file
    /// `name`. The file's own settings (`disabled`, `prefix`, `excluded_models`, …) replace the
    /// account's, as when the file is read from an auth dir.
    pub async fn import_auth_file(&self, name: &str, bytes: &[u8]) -> Result<ImportedAccount> {
        let name = checked_name(name)?;
        if bytes.len() > MAX_AUTH_FILE_BYTES {
            return Err(ServiceError::invalid(format!(
                "{name} is {} bytes; an auth file has at most {MAX_AUTH_FILE_BYTES}",
                bytes.len()
            )));
        }
        let mut imported = match parse_auth_file(Path::new(name), bytes) {
            Ok(Some(imported)) => imported,
            Ok(None) => {
                return Err(ServiceError::invalid(format!(
                    "{name} is not a Claude or Codex login (its `type` names another provider, or none)"
                )))
            }
            Err(e) => return Err(ServiceError::invalid(e.to_string())),
        };
        // Not the auth dir's: the reconciler would remove an account whose file is not in its folder.
        let fingerprint = imported.account.origin.take().and_then(|o| o.fingerprint);
        imported.account.origin = Some(Origin {
            kind: OriginKind::Upload,
            path: Some(name.into()),
            fingerprint,
        });
        let opened = self
            .hub
            .open()
            .await
            .map_err(|why| ServiceError::new(ErrorKind::Unavailable, why))?;
        let store = opened.store.clone();
        let (added, account) = tokio::task::spawn_blocking(move || {
            let (added, id) = match store.import(imported, SettingsMode::Replace)? {
                Upserted::Added(id) => (true, id),
                Upserted::Updated(id) => (false, id),
            };
            let account = store
                .get(&id)?
                .ok_or_else(|| crate::accounts::AccountsError::NotFound(id.to_string()))?;
            Ok((added, account))
        })
        .await
        .map_err(ServiceError::internal)?
        .map_err(accounts_error)?;
        self.hub.changed();
        Ok(ImportedAccount { added, account })
    }

    /// The account `id` as a CLIProxyAPI auth file: its name and JSON, tokens included.
    pub async fn export_auth_file(&self, id: &str) -> Result<(String, Value)> {
        let opened = self.opened_for(id)?;
        let id = parse_account_id(id)?;
        let store = opened.store.clone();
        let found = tokio::task::spawn_blocking(move || {
            let Some(account) = store.get(&id)? else {
                return Ok(None);
            };
            Ok(store.tokens(&id)?.map(|tokens| (account, tokens)))
        })
        .await
        .map_err(ServiceError::internal)?
        .map_err(accounts_error)?;
        let (account, tokens) = found.ok_or_else(|| {
            ServiceError::new(
                ErrorKind::NotFound,
                "that account has no stored tokens; log in again",
            )
        })?;
        Ok(export_auth_file(&account, &tokens))
    }
}

/// A bare file name ending in `.json`, as CLIProxyAPI requires.
fn checked_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.contains(['/', '\\']) || name == ".json" || name.starts_with('.') {
        return Err(ServiceError::invalid(format!(
            "`{name}` is not a file name: give the auth file's name, like claude-you@example.com.json"
        )));
    }
    if !name.to_ascii_lowercase().ends_with(".json") {
        return Err(ServiceError::invalid(format!(
            "`{name}`: an auth file's name ends in .json"
        )));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::checked_name;

    #[test]
    fn auth_file_names_are_bare_json_names() {
        assert_eq!(
            checked_name(" claude-a@b.json ").unwrap(),
            "claude-a@b.json"
        );
        assert_eq!(checked_name("codex-A.JSON").unwrap(), "codex-A.JSON");
        for bad in [
            "",
            "../x.json",
            "a/b.json",
            "a\\b.json",
            ".json",
            ".hidden.json",
            "x.txt",
        ] {
            assert!(checked_name(bad).is_err(), "{bad}");
        }
    }
}
