//! Coalesced version bumps: one per scope per interval during a surge.
use std::{collections::BTreeSet, sync::Arc, time::Duration};

use parking_lot::Mutex;
use yeyak_platform::Shutdown;

use super::{Cache, Scope, BREAKER_OPEN};

/// Collects the scopes touched by applied events and bumps them together,
/// at most once per interval.
#[derive(Clone)]
pub(crate) struct Invalidator {
    cache: Cache,
    pending: Arc<Mutex<BTreeSet<Scope>>>,
    wake: Arc<tokio::sync::Notify>,
}

impl Invalidator {
    pub(crate) fn new(cache: Cache) -> Self {
        Self { cache, pending: Arc::default(), wake: Arc::default() }
    }

    pub(crate) fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Queues `scopes` for the next flush.
    pub(crate) fn touch(&self, scopes: impl IntoIterator<Item = Scope>) {
        if self.cache.conn.is_none() {
            return;
        }
        self.pending.lock().extend(scopes);
        self.wake.notify_one();
    }

    /// Bumps everything queued so far. A failure keeps the scopes queued for
    /// the next flush (bumping twice is harmless).
    pub(crate) async fn flush(&self) -> redis::RedisResult<usize> {
        let batch = std::mem::take(&mut *self.pending.lock());
        if batch.is_empty() {
            return Ok(0);
        }
        match self.cache.bump(&batch).await {
            Ok(()) => Ok(batch.len()),
            Err(e) => {
                self.pending.lock().extend(batch);
                Err(e)
            }
        }
    }

    /// Flushes every interval while there is something to flush, and once
    /// more at shutdown.
    pub(crate) async fn run(self, shutdown: Shutdown) {
        let interval = self.cache.settings.invalidation_interval;
        loop {
            tokio::select! {
                _ = self.wake.notified() => {},
                _ = shutdown.wait() => break,
            }
            // Let the interval's other changes gather first.
            tokio::select! {
                _ = tokio::time::sleep(interval) => {},
                _ = shutdown.wait() => break,
            }
            if let Err(e) = self.flush().await {
                tracing::warn!(error = %e, "cache invalidation failed; retrying (entries expire by TTL regardless)");
                self.wake.notify_one();
                tokio::select! {
                    _ = tokio::time::sleep(BREAKER_OPEN) => {},
                    _ = shutdown.wait() => break,
                }
            }
        }
        if let Err(e) = tokio::time::timeout(Duration::from_secs(1), self.flush()).await.unwrap_or(Ok(0)) {
            tracing::warn!(error = %e, "last cache invalidation failed; entries expire by TTL");
        }
    }
}
