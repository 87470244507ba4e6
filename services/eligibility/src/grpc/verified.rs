//! Signature checks done once per token, not once per call.
//!
//! Every CheckEligibility carries an identity assertion (an Ed25519
//! signature; the pass is remembered by the platform's `PassVerifier`), and
//! the same tokens come back: the client checks, then the reservation service
//! checks again with the very same tokens before booking. Verifying a signature costs far more than the rest of a cached
//! check, so the outcome of a successful verification is remembered, keyed by
//! the exact token bytes (and, for a pass, the client id it is bound to).
//! Expiry is still checked on every call; failures are never remembered.
//!
//! Memory is bounded: two generations of at most `capacity` entries each;
//! when the young one fills up, the old one is dropped.
use std::{collections::HashMap, sync::Mutex};

/// Verified tokens and what they said, in two generations.
#[derive(Debug)]
pub struct VerifiedCache<T> {
    capacity: usize,
    generations: Mutex<(HashMap<String, T>, HashMap<String, T>)>,
}

impl<T: Clone> VerifiedCache<T> {
    /// `capacity` 0 disables the cache.
    pub fn new(capacity: usize) -> Self {
        Self { capacity, generations: Mutex::new((HashMap::new(), HashMap::new())) }
    }

    pub fn get(&self, key: &str) -> Option<T> {
        if self.capacity == 0 {
            return None;
        }
        let mut g = self.generations.lock().ok()?;
        if let Some(v) = g.0.get(key) {
            return Some(v.clone());
        }
        // Promote an old entry still in use.
        let v = g.1.remove(key)?;
        Self::insert_locked(&mut g, self.capacity, key.to_owned(), v.clone());
        Some(v)
    }

    pub fn insert(&self, key: String, value: T) {
        if self.capacity == 0 {
            return;
        }
        if let Ok(mut g) = self.generations.lock() {
            Self::insert_locked(&mut g, self.capacity, key, value);
        }
    }

    fn insert_locked(g: &mut (HashMap<String, T>, HashMap<String, T>), capacity: usize, key: String, value: T) {
        if g.0.len() >= capacity {
            g.1 = std::mem::take(&mut g.0);
        }
        g.0.insert(key, value);
    }

    pub fn len(&self) -> usize {
        self.generations.lock().map(|g| g.0.len() + g.1.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_two_generations_and_used_entries_survive() {
        let c = VerifiedCache::new(2);
        c.insert("a".into(), 1);
        c.insert("b".into(), 2);
        c.insert("c".into(), 3); // a, b become the old generation
        assert_eq!((c.get("a"), c.len()), (Some(1), 3), "promoted");
        c.insert("d".into(), 4); // c, a become old; b is dropped
        assert_eq!(c.get("b"), None);
        assert_eq!((c.get("c"), c.get("d")), (Some(3), Some(4)));
        assert!(c.len() <= 4);
        let off = VerifiedCache::new(0);
        off.insert("a".into(), 1);
        assert_eq!((off.get("a"), off.is_empty()), (None, true));
    }
}
