//! Proofs seen, so that a copied proof buys nothing: each `jti` is accepted
//! once per replica while its `iat` is within the window.
//!
//! Per replica, not shared: a shared cache would cost a Redis round trip on
//! every protected call. What that leaves: a proof copied in flight (which
//! needs the device or the TLS session already) can be replayed once on
//! each other replica, for the same method with the same pass, within
//! [`PROOF_WINDOW_SECS`]; the calls it could repeat are reads, or writes
//! that are idempotent per person (one reservation, one place per person).
//! Memory is bounded: ids are kept as 64-bit keyed hashes, in buckets of
//! the window's length dropped once no proof in them can be accepted, and
//! a bucket holds at most [`MAX_PER_BUCKET`] (beyond that new proofs are
//! refused until the bucket ages out: a replica taking more than ~16,000
//! new proofs per second is already past its limits).
use std::{
    collections::{HashSet, VecDeque},
    hash::{BuildHasher, RandomState},
};

use parking_lot::Mutex;

use super::PROOF_WINDOW_SECS;

/// At most this many proofs remembered per window-long bucket.
pub const MAX_PER_BUCKET: usize = 1 << 20;

#[derive(Debug, PartialEq, Eq)]
pub enum Replay {
    /// This `jti` was accepted before.
    Seen,
    /// Too many proofs in this window to remember one more.
    Full,
}

#[derive(Debug)]
pub struct ReplayCache {
    hasher: RandomState,
    max_per_bucket: usize,
    /// (bucket = iat / window, hashes), oldest first.
    buckets: Mutex<VecDeque<(i64, HashSet<u64>)>>,
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self::with_capacity(MAX_PER_BUCKET)
    }
}

impl ReplayCache {
    pub fn with_capacity(max_per_bucket: usize) -> Self {
        Self { hasher: RandomState::new(), max_per_bucket, buckets: Mutex::new(VecDeque::new()) }
    }

    /// Records `jti` (of a proof whose `iat` is within the window of
    /// `now_unix`, already checked); `Err` when it was seen or cannot be kept.
    pub fn first_use(&self, jti: &str, iat: i64, now_unix: i64) -> Result<(), Replay> {
        let hash = self.hasher.hash_one(jti);
        let bucket = iat.div_euclid(PROOF_WINDOW_SECS);
        let oldest_live = (now_unix - PROOF_WINDOW_SECS).div_euclid(PROOF_WINDOW_SECS);
        let mut buckets = self.buckets.lock();
        while buckets.front().is_some_and(|(b, _)| *b < oldest_live) {
            buckets.pop_front();
        }
        let at = match buckets.iter().position(|(b, _)| *b >= bucket) {
            Some(i) if buckets[i].0 == bucket => i,
            Some(i) => {
                buckets.insert(i, (bucket, HashSet::new()));
                i
            }
            None => {
                buckets.push_back((bucket, HashSet::new()));
                buckets.len() - 1
            }
        };
        let set = &mut buckets[at].1;
        if set.contains(&hash) {
            return Err(Replay::Seen);
        }
        if set.len() >= self.max_per_bucket {
            return Err(Replay::Full);
        }
        set.insert(hash);
        Ok(())
    }

    /// Proofs remembered now (tests, metrics).
    pub fn len(&self) -> usize {
        self.buckets.lock().iter().map(|(_, s)| s.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
