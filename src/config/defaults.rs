//! First run: where the config lives when none is named, and the file written the first time.

use std::io::Write;
use std::path::{Path, PathBuf};

use rand::distr::{Alphanumeric, SampleString};

/// `<user config dir>/switchyard/config.yaml` (e.g. `~/.config/switchyard/config.yaml` on Linux).
pub fn default_config_path() -> PathBuf {
    dirs::config_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("switchyard")
        .join("config.yaml")
}

/// `<user data dir>/switchyard/auth`.
pub fn default_auth_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("switchyard")
        .join("auth")
}

/// `<user data dir>/switchyard/usage.sqlite`.
pub fn default_usage_database() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("switchyard")
        .join("usage.sqlite")
}

/// A client key: `sy-` and 40 alphanumerics from the OS-seeded CSPRNG (about 238 bits).
pub fn generate_client_key() -> String {
    format!("sy-{}", Alphanumeric.sample_string(&mut rand::rng(), 40))
}

/// What creating a fresh config produced, for the one-time message to the user.
#[derive(Debug)]
pub struct FirstRun {
    pub client_key: String,
}

/// Creates `path` from built-in defaults if it does not exist yet. Returns the new client key when it did.
/// Replaces the config file with `bytes` atomically (temp file, fsync, rename), owner-only like the
/// first-run file since it holds keys. A symlinked config is written through to its target.
pub fn write_config_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    crate::accounts::fsutil::write_atomic(&target, bytes)
}

pub fn ensure_default_config(path: &Path) -> std::io::Result<Option<FirstRun>> {
    if path.exists() {
        return Ok(None);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let client_key = generate_client_key();
    let text = format!(
        "# Switchyard configuration, created on first run. Every key is described in\n\
         # config.example.yaml; CLIProxyAPI config files work here unchanged.\n\
         host: 127.0.0.1\n\
         port: 8317\n\
         # Clients send one of these as `Authorization: Bearer <key>` (or x-api-key / x-goog-api-key).\n\
         api-keys:\n  - \"{client_key}\"\n\
         auth-dir: \"{}\"\n",
        default_auth_dir().display().to_string().replace('\\', "/")
    );
    let mut options = std::fs::OpenOptions::new();
    // create_new: never clobber a file another process wrote a moment ago.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // The file holds a client key: readable by its owner only.
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(None),
        Err(e) => return Err(e),
    };
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(Some(FirstRun { client_key }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_run_writes_a_loadable_private_config_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("config.yaml");
        let first = ensure_default_config(&path).unwrap().expect("created");
        assert!(first.client_key.starts_with("sy-") && first.client_key.len() == 43);
        assert!(
            ensure_default_config(&path).unwrap().is_none(),
            "second run keeps the file"
        );
        let loaded = crate::config::load_file(&path).unwrap();
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
        use secrecy::ExposeSecret;
        assert_eq!(loaded.config.api_keys[0].expose_secret(), first.client_key);
        assert_eq!(loaded.config.port, 8317);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(generate_client_key(), generate_client_key());
    }
}
