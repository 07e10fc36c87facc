//! Secrets larger than a keychain item can hold, split over several items.
//!
//! Windows' Credential Manager stores at most 2,560 bytes per credential (1,280 UTF-16 characters),
//! and a Codex login (three JWTs) is larger. Every platform uses the same layout so it is tested here:
//!
//! - `<id>`: a small manifest `{"switchyard_chunks":1,"slot":"a","parts":N,"chars":L}`;
//! - `<id>#a1` … `<id>#aN` (or slot `b`): the parts, at most [`CHUNK_CHARS`] UTF-16 units each.
//!
//! A write fills the slot the manifest does not point at, then flips the manifest (one item, replaced
//! atomically by the keychain), then clears the old slot. A crash at any point leaves the manifest
//! pointing at a complete set: a refresh that rotated a single-use token cannot leave a torn one.

use serde::{Deserialize, Serialize};

use super::SecretStore;
use crate::accounts::{AccountId, AccountsError, Tokens};
use secrecy::ExposeSecret;

/// UTF-16 code units per part (Windows stores text as UTF-16): 1,000 units are 2,000 bytes, well under
/// its 2,560-byte blob limit.
pub const CHUNK_CHARS: usize = 1000;

/// Splits `text` into parts of at most [`CHUNK_CHARS`] UTF-16 units, never inside a character.
fn split(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut units = 0;
    for c in text.chars() {
        if units + c.len_utf16() > CHUNK_CHARS {
            parts.push(std::mem::take(&mut current));
            units = 0;
        }
        current.push(c);
        units += c.len_utf16();
    }
    if !current.is_empty() || parts.is_empty() {
        parts.push(current);
    }
    parts
}

/// A flat key → string store: one keychain item per key.
pub trait KvBackend: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<String>, AccountsError>;
    fn set(&self, key: &str, value: &str) -> Result<(), AccountsError>;
    /// `Ok(false)` when there was nothing to delete.
    fn delete(&self, key: &str) -> Result<bool, AccountsError>;
}

#[derive(Serialize, Deserialize)]
struct Manifest {
    switchyard_chunks: u32,
    slot: Slot,
    parts: usize,
    chars: usize,
}

#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Slot {
    A,
    B,
}

impl Slot {
    fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }
    fn letter(self) -> char {
        match self {
            Slot::A => 'a',
            Slot::B => 'b',
        }
    }
}

/// A [`SecretStore`] over any [`KvBackend`], splitting each account's tokens into parts.
pub struct ChunkedStore<B> {
    backend: B,
    label: String,
}

impl<B: KvBackend> ChunkedStore<B> {
    pub fn new(backend: B) -> Self {
        Self::with_label(backend, "the OS keychain")
    }

    pub fn with_label(backend: B, label: &str) -> Self {
        ChunkedStore {
            backend,
            label: label.to_string(),
        }
    }

    /// A harmless read that tells whether the backend answers at all.
    pub fn probe(&self) -> Result<(), AccountsError> {
        self.backend
            .get("switchyard-probe")
            .map(|_| ())
            .map_err(|e| match e {
                AccountsError::Keychain(k) => AccountsError::KeychainUnavailable(k.to_string()),
                AccountsError::KeychainUnavailable(m) => AccountsError::KeychainUnavailable(m),
                other => AccountsError::KeychainUnavailable(other.to_string()),
            })
    }

    fn part_key(id: &AccountId, slot: Slot, n: usize) -> String {
        format!("{id}#{}{n}", slot.letter())
    }

    fn manifest(&self, id: &AccountId) -> Result<Option<Manifest>, AccountsError> {
        let Some(text) = self.backend.get(id.as_str())? else {
            return Ok(None);
        };
        let m: Manifest = serde_json::from_str(&text).map_err(|e| corrupt(id, e.to_string()))?;
        if m.switchyard_chunks != 1 {
            return Err(corrupt(
                id,
                format!("unknown layout {}", m.switchyard_chunks),
            ));
        }
        Ok(Some(m))
    }

    /// Deletes parts `from`, `from + 1`, … of `slot` until one is missing (parts are written contiguously).
    fn clear_slot(&self, id: &AccountId, slot: Slot, from: usize) -> Result<(), AccountsError> {
        let mut n = from;
        while self.backend.delete(&Self::part_key(id, slot, n))? {
            n += 1;
        }
        Ok(())
    }
}

fn corrupt(id: &AccountId, reason: String) -> AccountsError {
    AccountsError::CorruptSecret {
        id: id.to_string(),
        reason,
    }
}

impl<B: KvBackend> SecretStore for ChunkedStore<B> {
    fn get(&self, id: &AccountId) -> Result<Option<Tokens>, AccountsError> {
        let Some(m) = self.manifest(id)? else {
            return Ok(None);
        };
        let mut blob = String::with_capacity(m.chars);
        for n in 1..=m.parts {
            match self.backend.get(&Self::part_key(id, m.slot, n))? {
                Some(part) => blob.push_str(&part),
                None => return Err(corrupt(id, format!("part {n} of {} is missing", m.parts))),
            }
        }
        if blob.chars().count() != m.chars {
            return Err(corrupt(
                id,
                "parts do not add up to the recorded length".into(),
            ));
        }
        Tokens::from_blob(&blob)
            .map(Some)
            .map_err(|reason| corrupt(id, reason))
    }

    fn set(&self, id: &AccountId, tokens: &Tokens) -> Result<(), AccountsError> {
        // A damaged manifest is overwritten rather than blocking a fresh login.
        let live = self.manifest(id).ok().flatten().map(|m| m.slot);
        let target = live.map_or(Slot::A, Slot::other);
        let blob = tokens.to_blob();
        let parts = split(blob.expose_secret());
        for (i, part) in parts.iter().enumerate() {
            self.backend.set(&Self::part_key(id, target, i + 1), part)?;
        }
        // Leftovers from an older, longer value in this slot would make it ambiguous later.
        self.clear_slot(id, target, parts.len() + 1)?;
        let manifest = Manifest {
            switchyard_chunks: 1,
            slot: target,
            parts: parts.len(),
            chars: blob.expose_secret().chars().count(),
        };
        let text = serde_json::to_string(&manifest).unwrap_or_default();
        self.backend.set(id.as_str(), &text)?;
        if let Some(old) = live {
            self.clear_slot(id, old, 1)?;
        }
        Ok(())
    }

    fn delete(&self, id: &AccountId) -> Result<(), AccountsError> {
        // Manifest first: if we stop half way, the account reads as "no tokens", never as damaged.
        self.backend.delete(id.as_str())?;
        self.clear_slot(id, Slot::A, 1)?;
        self.clear_slot(id, Slot::B, 1)
    }

    fn describe(&self) -> String {
        self.label.clone()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    use super::*;

    /// A keychain in memory; `broken()` fails every call like a keychain without a session bus.
    #[derive(Default)]
    pub(crate) struct MemoryBackend {
        pub(crate) items: Mutex<BTreeMap<String, String>>,
        broken: bool,
        /// Fail the n-th `set` from now (simulates a crash mid-write).
        pub(crate) fail_set_after: Mutex<Option<usize>>,
    }

    impl MemoryBackend {
        pub(crate) fn broken() -> Self {
            MemoryBackend {
                broken: true,
                ..Self::default()
            }
        }
        fn check(&self) -> Result<(), AccountsError> {
            if self.broken {
                return Err(AccountsError::KeychainUnavailable("no session bus".into()));
            }
            Ok(())
        }
    }

    impl KvBackend for MemoryBackend {
        fn get(&self, key: &str) -> Result<Option<String>, AccountsError> {
            self.check()?;
            Ok(self.items.lock().unwrap().get(key).cloned())
        }
        fn set(&self, key: &str, value: &str) -> Result<(), AccountsError> {
            self.check()?;
            let mut fail = self.fail_set_after.lock().unwrap();
            if let Some(n) = fail.as_mut() {
                if *n == 0 {
                    return Err(AccountsError::KeychainUnavailable("crash".into()));
                }
                *n -= 1;
            }
            assert!(
                value.encode_utf16().count() * 2 <= 2560,
                "item over the Windows limit"
            );
            self.items
                .lock()
                .unwrap()
                .insert(key.to_string(), value.to_string());
            Ok(())
        }
        fn delete(&self, key: &str) -> Result<bool, AccountsError> {
            self.check()?;
            Ok(self.items.lock().unwrap().remove(key).is_some())
        }
    }

    fn id() -> AccountId {
        AccountId::parse("codex-0123456789ab").unwrap()
    }

    fn tokens(refresh: &str) -> Tokens {
        Tokens::new(Some("access".into()), Some(refresh.into()), None)
    }

    fn keys(store: &ChunkedStore<MemoryBackend>) -> Vec<String> {
        store
            .backend
            .items
            .lock()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn a_token_over_8_kb_splits_into_parts_under_the_windows_limit() {
        let store = ChunkedStore::new(MemoryBackend::default());
        let big = format!("rt-{}", "x".repeat(9000));
        store.set(&id(), &tokens(&big)).unwrap();
        let parts = keys(&store).len() - 1;
        assert!(parts >= 9, "only {parts} parts");
        assert_eq!(
            store.get(&id()).unwrap().unwrap().refresh(),
            Some(big.as_str())
        );
    }

    #[test]
    fn non_ascii_text_survives_splitting() {
        let store = ChunkedStore::new(MemoryBackend::default());
        let text = "é🙂ж".repeat(700);
        store.set(&id(), &tokens(&text)).unwrap();
        assert_eq!(
            store.get(&id()).unwrap().unwrap().refresh(),
            Some(text.as_str())
        );
    }

    #[test]
    fn rewrites_alternate_slots_and_leave_no_stale_parts() {
        let store = ChunkedStore::new(MemoryBackend::default());
        store.set(&id(), &tokens(&"l".repeat(5000))).unwrap();
        store.set(&id(), &tokens("short")).unwrap();
        assert_eq!(keys(&store).len(), 2, "{:?}", keys(&store));
        store.set(&id(), &tokens(&"m".repeat(3000))).unwrap();
        store.set(&id(), &tokens(&"n".repeat(1500))).unwrap();
        assert_eq!(
            store.get(&id()).unwrap().unwrap().refresh(),
            Some("n".repeat(1500).as_str())
        );
        assert_eq!(keys(&store).len(), 1 + 2);
    }

    #[test]
    fn delete_removes_every_part() {
        let store = ChunkedStore::new(MemoryBackend::default());
        let other = AccountId::parse("claude-000000000001").unwrap();
        store.set(&other, &tokens("keep me")).unwrap();
        store.set(&id(), &tokens(&"z".repeat(8200))).unwrap();
        store.set(&id(), &tokens(&"y".repeat(8300))).unwrap();
        store.delete(&id()).unwrap();
        assert!(store.get(&id()).unwrap().is_none());
        assert!(
            keys(&store).iter().all(|k| k.starts_with("claude-")),
            "{:?}",
            keys(&store)
        );
        store.delete(&id()).unwrap();
        assert_eq!(
            store.get(&other).unwrap().unwrap().refresh(),
            Some("keep me")
        );
    }

    #[test]
    fn a_crash_mid_write_keeps_the_previous_tokens() {
        let store = ChunkedStore::new(MemoryBackend::default());
        store.set(&id(), &tokens(&"old".repeat(1000))).unwrap();
        for crash_at in 0..5 {
            *store.backend.fail_set_after.lock().unwrap() = Some(crash_at);
            assert!(store.set(&id(), &tokens(&"new".repeat(1000))).is_err());
            *store.backend.fail_set_after.lock().unwrap() = None;
            let got = store.get(&id()).unwrap().unwrap();
            assert_eq!(
                got.refresh(),
                Some("old".repeat(1000).as_str()),
                "crash at {crash_at}"
            );
        }
    }

    #[test]
    fn a_missing_part_is_reported_as_damage() {
        let store = ChunkedStore::new(MemoryBackend::default());
        store.set(&id(), &tokens(&"q".repeat(2500))).unwrap();
        store.backend.delete(&format!("{}#a2", id())).unwrap();
        let err = store.get(&id()).err().unwrap();
        assert!(matches!(err, AccountsError::CorruptSecret { .. }), "{err}");
    }
}
