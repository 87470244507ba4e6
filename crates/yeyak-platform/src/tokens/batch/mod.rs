//! Ed25519 signatures of concurrent requests checked together.
//!
//! A person's first call carries tokens no replica has seen, and checking one
//! signature alone (30–40 µs here) costs more than the rest of a cheap call.
//! Batch verification checks n signatures with one multi-scalar
//! multiplication, with one term per signing key (our tokens come from a
//! handful of issuer keys). During a surge dozens of first calls are in
//! flight at once, so signatures that arrive while a batch is being checked
//! wait for the next one; a lone signature is checked alone at once (no
//! timer, no added latency when the service is quiet).
//!
//! The equation is `ed25519-zebra`'s (ZIP 215, see [`super::sig`]), the same
//! rules single verification applies, so batched and single answers agree
//! on every signature. Only screened signatures join a batch, and a batch
//! that fails is halved until the bad ones are found ([`bisect`]).
mod bisect;
mod size;

pub use bisect::{all_valid, verify_each};
pub use ed25519_zebra::batch::Item;

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc, OnceLock,
};

use parking_lot::Mutex;

use tokio::sync::oneshot;

use super::sig::{Screened, VerificationKey, VerificationKeyBytes};

/// Signatures checked in one multi-scalar multiplication at most, unless
/// `YEYAK_SIGNATURE_BATCH_MAX` says otherwise (1 turns batching off: each
/// signature is checked alone, in the calling task): beyond
/// this the per-signature gain is small and a batch holds a worker longer.
pub const MAX_BATCH: usize = 32;

struct Job {
    /// Key, signature and the message's hash, computed by the caller.
    item: Item,
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
    /// Recent share of bad signatures: batches shrink under garbage.
    bad: Arc<size::BadShare>,
    queue: Arc<Mutex<Queue>>,
    /// Verifications run (a batch equation or a single check, halves of a
    /// failed batch included), and signatures answered.
    checks: Arc<AtomicU64>,
    signatures: Arc<AtomicU64>,
    /// Batches formed (a lone signature counts as one).
    batches: Arc<AtomicU64>,
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
        let (queue, checks, signatures, batches) = Default::default();
        Self { max_batch: max_batch.max(1), bad: Arc::default(), queue, checks, signatures, batches }
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

    /// Verifications run so far (a lone signature counts as one; a failed
    /// batch counts once plus once per half checked).
    pub fn checks(&self) -> u64 {
        self.checks.load(Ordering::Relaxed)
    }

    /// Batches formed so far, however many checks each took.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// Signatures checked so far.
    pub fn signatures(&self) -> u64 {
        self.signatures.load(Ordering::Relaxed)
    }

    /// True when `signature` is `key`'s over `message`.
    pub async fn verify(&self, key: VerificationKey, message: &[u8], signature: Screened) -> bool {
        self.verify_bytes(VerificationKeyBytes::from(key), message, signature).await
    }

    /// [`Self::verify`] with the key as sent, not yet decompressed: the batch
    /// decompresses it anyway (device keys, which admission checked once).
    pub async fn verify_bytes(&self, key: VerificationKeyBytes, message: &[u8], signature: Screened) -> bool {
        let item = Item::from((key, signature.signature(), message));
        if self.max_batch == 1 {
            // Batching off: checked here, as the synchronous path does.
            return self.alone(item);
        }
        let (reply, answer) = oneshot::channel();
        let start_drain = {
            let mut q = self.queue.lock();
            q.jobs.push(Job { item, reply });
            !std::mem::replace(&mut q.draining, true)
        };
        if start_drain {
            tokio::spawn(drain(self.clone()));
        }
        // The drain task answers every job it takes; a dropped sender means it
        // panicked, and an unchecked signature is a bad one.
        answer.await.unwrap_or(false)
    }

    /// Checked alone, never in a batch, under the same rules (tools and
    /// tests that compare the two).
    pub fn verify_alone(&self, key: VerificationKey, message: &[u8], signature: Screened) -> bool {
        self.alone(Item::from((VerificationKeyBytes::from(key), signature.signature(), message)))
    }

    fn alone(&self, item: Item) -> bool {
        self.checks.fetch_add(1, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.signatures.fetch_add(1, Ordering::Relaxed);
        item.verify_single().is_ok()
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
            let take = q.jobs.len().min(guard.batcher.bad.batch_size(guard.batcher.max_batch));
            q.jobs.drain(..take).collect()
        };
        guard.batcher.signatures.fetch_add(batch.len() as u64, Ordering::Relaxed);
        guard.batcher.batches.fetch_add(1, Ordering::Relaxed);
        let (checks, bad, total) = check(batch);
        guard.batcher.bad.observe(bad, total);
        guard.batcher.checks.fetch_add(checks, Ordering::Relaxed);
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
            let good = job.item.verify_single().is_ok();
            let _ = job.reply.send(good);
        }
    }
}

/// Answers every job of a batch; returns the verifications it took, the
/// bad signatures and the signatures.
fn check(batch: Vec<Job>) -> (u64, usize, usize) {
    let mut checks = 0;
    let (items, replies): (Vec<Item>, Vec<_>) = batch.into_iter().map(|j| (j.item, j.reply)).unzip();
    let answers = verify_each(&items, &mut checks);
    let bad = answers.iter().filter(|good| !**good).count();
    for (good, reply) in answers.into_iter().zip(replies) {
        let _ = reply.send(good);
    }
    (checks, bad, items.len())
}

#[cfg(test)]
mod tests;
