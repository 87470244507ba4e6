//! Registry answers written to the cache behind the answer, in pipelines.
//!
//! A first check used to wait for its own `SET ... EX` after the registry
//! answered: one more Redis command, read and answered on its own, per
//! check. Nobody needs that write before the check answers (it only spares a
//! later check the registry call), so the handler hands it to this task and
//! answers at once. The task waits a moment ([`LINGER`]) for other answers,
//! then writes them all in one pipeline: during a surge one round trip and
//! one read on Redis's side carry dozens of writes. Measured on this machine
//! (docs/benchmarks.md, eligibility, fifth session), Redis's own CPU was
//! about 18 µs per first check with one command each for the read and the
//! write.
//!
//! The cost: a check repeated within about a millisecond may find no cached
//! answer yet and ask the registry again, which is what a cache miss always
//! did. A write that cannot be queued (the queue is full) or fails is
//! dropped: the cache is an optimisation. When every [`super::Store`] is
//! dropped the task writes what is queued and ends.
use std::time::Duration;

use tokio::sync::mpsc;
use yeyak_platform::redis_store::{query_by_slot, RedisConn};

/// How long the first write of a pipeline waits for others.
pub(super) const LINGER: Duration = Duration::from_millis(1);
/// Writes in one pipeline at most.
const MAX_PIPELINE: usize = 256;
/// Writes waiting for a pipeline; beyond, dropped.
const QUEUE: usize = 8192;

#[derive(Clone, Debug)]
pub(super) struct CacheWriter {
    tx: mpsc::Sender<(String, String)>,
}

impl CacheWriter {
    /// Starts the writing task (needs a Tokio runtime).
    pub(super) fn spawn(conn: RedisConn, ttl_seconds: u64) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(rx, conn, ttl_seconds));
        Self { tx }
    }

    /// Queues `key = value` with the cache TTL; false when it was dropped.
    pub(super) fn write(&self, key: String, value: String) -> bool {
        self.tx.try_send((key, value)).is_ok()
    }
}

async fn run(mut rx: mpsc::Receiver<(String, String)>, conn: RedisConn, ttl_seconds: u64) {
    let mut batch = Vec::with_capacity(MAX_PIPELINE);
    while let Some(first) = rx.recv().await {
        tokio::time::sleep(LINGER).await;
        batch.push(first);
        while batch.len() < MAX_PIPELINE {
            match rx.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        // Many subjects, so many cluster slots: one pipeline per slot there.
        let writes = batch.drain(..).map(|(key, value)| (key.clone(), redis::Cmd::set_ex(key, value, ttl_seconds))).collect();
        if let Err(e) = query_by_slot::<redis::Value>(&conn, writes).await {
            tracing::debug!(error = %e, "registry answers not cached");
        }
    }
}
