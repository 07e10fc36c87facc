//! Request ids that are also row keys: `(unix milliseconds << 20) | 20 bits`, shown as 16 hex digits.
//! The key sorts by time, so one integer B-tree serves lookups by id, de-duplication and time ranges, and
//! a row needs no separate id column. Ids from elsewhere (imports) keep their text and get a key from
//! their time and a stable hash.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

const LOW_BITS: u32 = 20;
const LOW_MASK: i64 = (1 << LOW_BITS) - 1;
/// Milliseconds fit in the 43 bits left (until the year 2248).
const MAX_MS: i64 = (1 << (63 - LOW_BITS)) - 1;

/// How many neighbouring keys an imported id may try when its own is taken by another request.
pub const PROBES: u32 = 64;

/// The per-process sequence, started at a random point so two processes writing one database at the
/// same millisecond almost never pick the same key.
fn sequence() -> &'static AtomicU32 {
    static SEQ: OnceLock<AtomicU32> = OnceLock::new();
    SEQ.get_or_init(|| AtomicU32::new(rand::random::<u32>()))
}

/// The first key of millisecond `ms`.
pub fn lowest(ms: i64) -> i64 {
    ms.clamp(0, MAX_MS) << LOW_BITS
}

/// A new request id for a request that started at `ms`.
pub fn new(ms: i64) -> String {
    let low = i64::from(sequence().fetch_add(1, Ordering::Relaxed)) & LOW_MASK;
    hex(lowest(ms) | low)
}

/// `{:016x}` without the formatting machinery, which costs more than the rest of the id together.
fn hex(key: i64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(16);
    for shift in (0..16).rev() {
        out.push(char::from(DIGITS[((key >> (shift * 4)) & 0xf) as usize]));
    }
    out
}

/// The key of a native id: exactly 16 lowercase hex digits.
pub fn parse(id: &str) -> Option<i64> {
    if id.len() != 16 {
        return None;
    }
    let mut key: u64 = 0;
    for b in id.bytes() {
        let digit = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            _ => return None,
        };
        key = key << 4 | u64::from(digit);
    }
    i64::try_from(key).ok()
}

/// The key of `id` if it is native and belongs to millisecond `ms`.
pub fn native(id: &str, ms: i64) -> Option<i64> {
    parse(id).filter(|key| key >> LOW_BITS == ms)
}

/// A key for a foreign `id` at `ms`: its time and 20 bits of a stable hash (FNV-1a), moved by `probe`.
pub fn foreign(id: &str, ms: i64, probe: u32) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let low = (h as i64).wrapping_add(i64::from(probe)) & LOW_MASK;
    lowest(ms) | low
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_ids_carry_their_time_and_sort_by_it() {
        let ms = 1_795_000_000_123;
        let a = new(ms);
        let b = new(ms + 1);
        assert_eq!(a.len(), 16);
        assert!(a < b, "{a} {b}");
        assert_eq!(native(&a, ms).map(|k| k >> LOW_BITS), Some(ms));
        assert_eq!(native(&a, ms + 1), None, "another millisecond");
        assert_eq!(parse("cpa-0123456789ab"), None);
        assert_eq!(parse("0123456789ABCDEF"), None, "upper case is not ours");
    }

    #[test]
    fn hex_is_sixteen_lowercase_digits() {
        assert_eq!(hex(0x0123_4567_89ab_cdef), "0123456789abcdef");
        assert_eq!(hex(255), format!("{:016x}", 255));
    }

    #[test]
    fn foreign_keys_are_stable_and_stay_in_their_millisecond() {
        let ms = 1_795_000_000_000;
        assert_eq!(foreign("cpa-1", ms, 0), foreign("cpa-1", ms, 0));
        assert_ne!(foreign("cpa-1", ms, 0), foreign("cpa-1", ms, 1));
        for probe in 0..PROBES {
            assert_eq!(foreign("cpa-x", ms, probe) >> LOW_BITS, ms);
        }
    }
}
