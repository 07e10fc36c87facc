//! The OS keychain for real (on Linux: the Secret Service over D-Bus). Ignored by a plain `cargo test`,
//! which may run where no keychain answers; CI runs them inside a private, unlocked GNOME Keyring:
//!
//!     scripts/with-keyring.sh cargo test --test keychain -- --ignored

use std::fs;
use std::path::Path;

use rand::Rng;
use switchyard::accounts::secret::{KeyringBackend, KvBackend};
use switchyard::accounts::{
    open_secret_store, Account, AccountStore, Identity, Provider, SecretStoreChoice, SettingsMode,
    Tokens,
};

/// `len` characters of token-like text, unique per call so runs never read each other's leftovers.
fn token(prefix: &str, len: usize) -> String {
    let mut rng = rand::rng();
    let mut s = format!("{prefix}-{:016x}-", rng.random::<u64>());
    while s.len() < len {
        s.push(char::from(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
                [rng.random_range(0..64)],
        ));
    }
    s
}

/// Every regular file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if fs::read(&path)
                .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
            {
                hits.push(path.display().to_string());
            }
        }
    }
    hits
}

#[test]
#[ignore = "needs a Secret Service: scripts/with-keyring.sh cargo test --test keychain -- --ignored"]
fn tokens_over_8_kb_live_in_the_keychain_and_never_on_disk() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let secrets = open_secret_store(SecretStoreChoice::Keychain, &data.join("tokens"))
        .expect("the keychain must answer under scripts/with-keyring.sh");
    assert_eq!(secrets.describe(), "the OS keychain");
    let store = AccountStore::open(&data, secrets).unwrap();

    let refresh = token("rt_KEYCHAIN", 9 * 1024);
    let tokens = Tokens::new(
        Some(token("at_KEYCHAIN", 3000)),
        Some(refresh.clone()),
        Some(token("id_KEYCHAIN", 2000)),
    );
    let account = Account::new(
        Provider::Codex,
        Identity {
            email: Some("keychain-test@example.com".into()),
            account_id: Some(token("ws", 20)),
            ..Identity::default()
        },
    );
    let id = store
        .upsert(account, &tokens, SettingsMode::KeepExisting)
        .unwrap()
        .id()
        .clone();

    let back = store.tokens(&id).unwrap().expect("tokens read back");
    assert_eq!(back.refresh(), Some(refresh.as_str()));
    assert_eq!(back.access(), tokens.access());
    assert_eq!(back.id(), tokens.id());

    // A refresh rotates the token: the new one replaces the old, still not on disk.
    let rotated = token("rt_ROTATED", 8500);
    let new_tokens = Tokens::new(Some(token("at_ROTATED", 1200)), Some(rotated.clone()), None);
    store.set_tokens(&id, &new_tokens).unwrap();
    assert_eq!(
        store.tokens(&id).unwrap().unwrap().refresh(),
        Some(rotated.as_str())
    );

    assert!(data.join("accounts.json").exists());
    for secret in [&refresh, &rotated] {
        let hits = files_containing(&data, &secret[..40]);
        assert!(
            hits.is_empty(),
            "refresh token text found on disk in {hits:?}"
        );
    }
    assert!(
        !data.join("tokens").exists(),
        "no token folder with a keychain"
    );

    // Logout removes the manifest and every part from the keychain.
    assert!(store.remove(&id).unwrap());
    assert!(store.tokens(&id).unwrap().is_none());
    let kv = KeyringBackend;
    for key in [
        id.to_string(),
        format!("{id}#a1"),
        format!("{id}#b1"),
        format!("{id}#a5"),
        format!("{id}#b9"),
    ] {
        assert_eq!(kv.get(&key).unwrap(), None, "{key} left in the keychain");
    }
}

#[test]
#[ignore = "needs a Secret Service: scripts/with-keyring.sh cargo test --test keychain -- --ignored"]
fn auto_chooses_the_keychain_when_it_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let files = tmp.path().join("tokens");
    let store = open_secret_store(SecretStoreChoice::Auto, &files).unwrap();
    assert_eq!(store.describe(), "the OS keychain");
    assert!(!files.exists());
}
