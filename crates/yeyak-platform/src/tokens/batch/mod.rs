//! Ed25519 signatures of concurrent requests checked together.
//!
//! A person's first call carries tokens no replica has seen, and checking one
//! signature alone (30–40 µs here) costs more than the rest of a cheap call.
//! Batch verification checks n signatures with one multi-scalar
//! multiplication: measured here, 12–16 µs per signature in sixteens from two
//! keys, in runs where one alone took 37–42 µs. During a surge dozens of first calls are in flight at
//! once, so signatures that arrive while a batch is being checked wait for
//! the next one; a lone signature is checked alone at once (no timer, no
//! added latency when the service is quiet).
//!
//! Batches use the cofactored equation with one term per signing key
//! ([`equation`]): it accepts the signatures the holder of the key could have
//! made, like single verification; the two only differ on signatures with
//! small-order parts, which only the key holder can produce, and our keys are
//! our own issuers'. A batch that fails is checked one signature at a time,
//! so a forged token fails alone and costs its sender a single verification
//! more.
mod equation;

pub use equation::{verify_all, Item};

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, OnceLock,
};

use parking_lot::Mutex;

use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use tokio::sync::oneshot;

/// Signatures checked in one multi-scalar multiplication at most, unless
/// `YEYAK_SIGNATURE_BATCH_MAX` says otherwise (1 turns batching off: each
/// signature is checked alone, in the calling task): beyond
/// this the per-signature gain is small and a batch holds a worker longer.
pub const MAX_BATCH: usize = 32;

struct Job {
    key: VerifyingKey,
    message: Vec<u8>,
    signature: Signature,
    reply: oneshot::Sender<bool>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// A drain task is running; it takes every job queued before it stops.
    draining: bool,
}

/// Verifies signatures, batching those that arrive while others are checked.
#[derive(Clone)]
pub struct SignatureBatcher {
    max_batch: usize,
    queue: Arc<Mutex<Queue>>,
    /// Batches checked, and signatures in them.
    checks: Arc<AtomicU64>,
    signatures: Arc<AtomicU64>,
}

impl std::fmt::Debug for SignatureBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignatureBatcher")
    }
}

impl Default for SignatureBatcher {
    fn default() -> Self {
        Self::with_max_batch(MAX_BATCH)
    }
}

impl SignatureBatcher {
    pub fn with_max_batch(max_batch: usize) -> Self {
        let (queue, checks, signatures) = Default::default();
        Self { max_batch: max_batch.max(1), queue, checks, signatures }
    }

    /// The process's batcher: the more verifiers share one, the fuller its
    /// batches (a pass and an assertion of different requests batch together).
    pub fn shared() -> Self {
        static SHARED: OnceLock<SignatureBatcher> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let max = std::env::var("YEYAK_SIGNATURE_BATCH_MAX").ok().and_then(|v| v.parse().ok()).unwrap_or(MAX_BATCH);
                SignatureBatcher::with_max_batch(max)
            })
            .clone()
    }

    /// Batches checked so far (a lone signature counts as one).
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Signatures checked so far.
    pub fn signatures(&self) -> u64 {
        self.signatures.load(Ordering::Relaxed)
    }

    /// True when `signature` is `key`'s over `message`.
    pub async fn verify(&self, key: VerifyingKey, message: &[u8], signature: Signature) -> bool {
        if self.max_batch == 1 {
            // Batching off: checked here, as the synchronous path does.
            self.checks.fetch_add(1, Ordering::Relaxed);
            self.signatures.fetch_add(1, Ordering::Relaxed);
            return key.verify(message, &signature).is_ok();
        }
        let (reply, answer) = oneshot::channel();
        let job = Job { key, message: message.to_vec(), signature, reply };
        let start_drain = {
            let mut q = self.queue.lock();
            q.jobs.push(job);
            !std::mem::replace(&mut q.draining, true)
        };
        if start_drain {
            tokio::spawn(drain(self.clone()));
        }
        // The drain task answers every job it takes; a dropped sender means it
        // panicked, and an unchecked signature is a bad one.
        answer.await.unwrap_or(false)
    }
}

/// Checks batches until none is waiting, yielding between batches so a long
/// surge does not hold a runtime worker.
async fn drain(batcher: SignatureBatcher) {
    let mut guard = Draining { batcher, finished: false };
    loop {
        let batch: Vec<Job> = {
            let mut q = guard.batcher.queue.lock();
            if q.jobs.is_empty() {
                q.draining = false;
                guard.finished = true;
                return;
            }
            let take = q.jobs.len().min(guard.batcher.max_batch);
            q.jobs.drain(..take).collect()
        };
        guard.batcher.checks.fetch_add(1, Ordering::Relaxed);
        guard.batcher.signatures.fetch_add(batch.len() as u64, Ordering::Relaxed);
        check(batch);
        tokio::task::yield_now().await;
    }
}

/// A drain task that stops early (its runtime shuts down, or a check
/// panicked) must not leave callers waiting with nobody to answer them:
/// whatever is still queued is checked here, one signature at a time, and
/// the next caller starts a new drain task.
struct Draining {
    batcher: SignatureBatcher,
    finished: bool,
}

impl Drop for Draining {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let left = {
            let mut q = self.batcher.queue.lock();
            q.draining = false;
            std::mem::take(&mut q.jobs)
        };
        for job in left {
            let good = job.key.verify(&job.message, &job.signature).is_ok();
            let _ = job.reply.send(good);
        }
    }
}

fn check(batch: Vec<Job>) {
    let single = |j: &Job| j.key.verify(&j.message, &j.signature).is_ok();
    if let [one] = batch.as_slice() {
        let good = single(one);
        for job in batch {
            let _ = job.reply.send(good);
        }
        return;
    }
    let items: Vec<equation::Item<'_>> = batch.iter().map(|j| (&j.key, j.message.as_slice(), &j.signature)).collect();
    let all_good = equation::verify_all(&items);
    drop(items);
    for job in batch {
        let good = all_good || single(&job);
        let _ = job.reply.send(good);
    }
}

#[cfg(test)]
mod tests;
