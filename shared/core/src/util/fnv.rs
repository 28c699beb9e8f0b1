//! FNV-1a: a small, fast, stable hash for short keys (catalog lookups) and for deriving
//! deterministic finding ids. Not for untrusted-key maps exposed to collision attacks: the keys
//! hashed here come from a fixed table or are hashed once, not used as map keys.

use std::hash::{BuildHasherDefault, Hasher};

/// 64-bit FNV-1a.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// A `HashMap` hasher builder using FNV-1a.
pub type FnvBuild = BuildHasherDefault<Fnv>;

/// FNV-1a of several parts, each followed by a 0xff separator (which never occurs in UTF-8).
pub fn hash_parts(parts: &[&str]) -> u64 {
    let mut h = Fnv::default();
    for p in parts {
        h.write(p.as_bytes());
        h.write(&[0xff]);
    }
    h.finish()
}
