//! Signature checks done once per token, not once per call.
//!
//! The same tokens come back again and again: a front end calls several
//! services with one pass, a person checks eligibility and then reservation
//! re-checks with the very same pass and assertion. One Ed25519 verification
//! costs more than the rest of a typical call, so the outcome of a
//! successful verification is remembered, keyed by a SHA-256 digest of the
//! exact token bytes (and whatever else the verification depended on): a
//! token that was not verified cannot match. Expiry is still checked on
//! every call by the caller; failures are never remembered. The key set's
//! generation is part of that digest: once the trusted keys are reloaded,
//! nothing verified with the old set matches any more.
//!
//! Memory is bounded: two generations of at most `capacity` entries each;
//! when the young one fills up, the old one is dropped. An entry still in
//! use is promoted, so a surge of new tokens cannot evict the active ones
//! all at once.
use std::{collections::HashMap, hash::Hash};

use parking_lot::Mutex;

use sha2::{Digest as _, Sha256};

use super::{verify_batched, IdentityAssertion, KeyRing, SignatureBatcher, TokenError};

/// Default entries per generation: tens of thousands of sessions active
/// within a few minutes per replica, a few hundred bytes each.
pub const DEFAULT_REMEMBERED: usize = 65_536;

pub type Key = [u8; 32];

/// The digest of `parts`, length-prefixed so no two splits collide.
pub fn digest(parts: &[&[u8]]) -> Key {
    let mut h = Sha256::new();
    for part in parts {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

/// Verified tokens and what they said, in two generations. Keyed by a
/// digest by default; any small key works (reservation remembers slots by id).
#[derive(Debug)]
pub struct Remembered<T, K = Key> {
    capacity: usize,
    generations: Mutex<(HashMap<K, T>, HashMap<K, T>)>,
}

impl<T: Clone, K: Hash + Eq + Copy> Remembered<T, K> {
    /// `capacity` 0 remembers nothing.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, generations: Mutex::new((HashMap::new(), HashMap::new())) }
    }

    pub fn get(&self, key: &K) -> Option<T> {
        if self.capacity == 0 {
            return None;
        }
        let mut g = self.generations.lock();
        if let Some(v) = g.0.get(key) {
            return Some(v.clone());
        }
        let v = g.1.remove(key)?;
        Self::insert_locked(&mut g, self.capacity, *key, v.clone());
        Some(v)
    }

    pub fn insert(&self, key: K, value: T) {
        if self.capacity == 0 {
            return;
        }
        let mut g = self.generations.lock();
        Self::insert_locked(&mut g, self.capacity, key, value);
    }

    fn insert_locked(g: &mut (HashMap<K, T>, HashMap<K, T>), capacity: usize, key: K, value: T) {
        if g.0.len() >= capacity {
            // The old generation's table is emptied and reused as the young
            // one: no regrowth from empty (rehashes, fresh pages) per turn.
            std::mem::swap(&mut g.0, &mut g.1);
            g.0.clear();
        }
        g.0.insert(key, value);
    }

    pub fn len(&self) -> usize {
        let g = self.generations.lock();
        g.0.len() + g.1.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Verifies identity assertions, remembering the ones that verified.
#[derive(Debug)]
pub struct AssertionVerifier {
    ring: KeyRing,
    remembered: Remembered<IdentityAssertion>,
    batcher: SignatureBatcher,
}

impl AssertionVerifier {
    pub fn new(ring: KeyRing, capacity: usize) -> Self {
        Self { ring, remembered: Remembered::new(capacity), batcher: SignatureBatcher::shared() }
    }

    /// Signature, issuer, type and expiry, as [`verify`](super::verify)
    /// checks them; a new token's signature is checked in a batch.
    pub async fn verify(&self, token: &str, now_unix: i64) -> Result<IdentityAssertion, TokenError> {
        // The key set's generation is in the key: after a reload, a token is
        // verified again, so one signed with a removed key is refused.
        let key = digest(&[b"assertion", &self.ring.generation().to_be_bytes(), token.as_bytes()]);
        if let Some(hit) = self.remembered.get(&key) {
            return if hit.expires_at > now_unix { Ok(hit) } else { Err(TokenError::Expired) };
        }
        let assertion: IdentityAssertion = verify_batched(&self.ring, &self.batcher, token, now_unix).await?;
        self.remembered.insert(key, assertion.clone());
        Ok(assertion)
    }

    /// Every key this verifier trusts (for other token types).
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_two_generations_and_used_entries_survive() {
        let k = |n: u8| [n; 32];
        let c = Remembered::new(2);
        c.insert(k(1), 1);
        c.insert(k(2), 2);
        c.insert(k(3), 3); // 1, 2 become the old generation
        assert_eq!((c.get(&k(1)), c.len()), (Some(1), 3), "promoted");
        c.insert(k(4), 4); // 3, 1 become old; 2 is dropped
        assert_eq!(c.get(&k(2)), None);
        assert_eq!((c.get(&k(3)), c.get(&k(4))), (Some(3), Some(4)));
        assert!(c.len() <= 4);
        let off = Remembered::new(0);
        off.insert(k(1), 1);
        assert_eq!((off.get(&k(1)), off.is_empty()), (None, true));
        assert_ne!(digest(&[b"ab", b"c"]), digest(&[b"a", b"bc"]), "length-prefixed");
    }
}
