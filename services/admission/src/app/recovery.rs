//! When Redis lost a queue's state (restarted empty, a replica promoted
//! before it had the last writes), every store call answers `Lost` until
//! the state is rebuilt from PostgreSQL; [`WaitingRoom::checked`] rebuilds
//! it and runs the call again, so no caller sees the loss unless PostgreSQL
//! is down too (then the room stays closed: UNAVAILABLE with a retry hint).
//! Also here: reserving the next block of places or lottery entries, and
//! freezing the lottery pool at the opening, each once at a time per queue.
use std::{future::Future, sync::Arc};

use tokio::sync::Mutex;

use super::{now_ms, WaitingRoom};
use crate::{
    error::AdmissionError,
    store::{Limit, Short, StoreError},
};

/// How many times a call meets a lost state before giving up (a rebuild
/// between each): more than one means Redis keeps losing data.
const ATTEMPTS: usize = 3;

/// One rebuild and one reservation at a time per queue, in this replica.
#[derive(Default)]
pub(super) struct Locks {
    rebuild: Mutex<()>,
    reserve: Mutex<()>,
}

impl WaitingRoom {
    /// The queue's locks, made on its first use (events come and go).
    fn locks(&self, queue: &str) -> Result<Arc<Locks>, AdmissionError> {
        self.event(queue)?;
        Ok(self.locks.lock().entry(queue.to_owned()).or_default().clone())
    }

    /// Runs a store call; when the queue's state was lost, rebuilds it and
    /// runs the call again.
    pub(super) async fn checked<T, F, Fut>(&self, queue: &str, mut call: F) -> Result<T, AdmissionError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut attempt = 1;
        loop {
            match call().await {
                Err(StoreError::Lost) if attempt < ATTEMPTS => {
                    if let Err(e) = self.rebuild(queue).await {
                        // The room stays closed, and says why, until it can be rebuilt.
                        tracing::warn!(queue, error = %e, "cannot rebuild the queue's state yet");
                        return Err(StoreError::Lost.into());
                    }
                }
                other => return other.map_err(AdmissionError::from),
            }
            attempt += 1;
        }
    }

    /// Rebuilds the queue's Redis state from PostgreSQL. Concurrent callers
    /// in this replica wait for one rebuild; another replica's rebuild makes
    /// this one a no-op.
    async fn rebuild(&self, queue: &str) -> Result<(), AdmissionError> {
        let locks = self.locks(queue)?;
        let _one = locks.rebuild.lock().await;
        let marks = self.durable.marks(queue, now_ms()).await?;
        if self.store.rebuild(queue, &marks).await? {
            tracing::warn!(
                queue,
                restored = marks.existed,
                admitted = marks.admitted,
                places_reserved = marks.places_reserved,
                lottery_reserved = marks.lottery_reserved,
                seats = marks.seats.len(),
                "queue state built in Redis from PostgreSQL"
            );
        }
        Ok(())
    }

    /// Reserves the next block of places or lottery entries. A caller that
    /// finds a reservation under way waits for it instead of reserving
    /// another block, then tries its join again.
    pub(super) async fn reserve(&self, queue: &str, short: Short) -> Result<(), AdmissionError> {
        let locks = self.locks(queue)?;
        let Ok(_one) = locks.reserve.try_lock() else {
            drop(locks.reserve.lock().await);
            return Ok(());
        };
        self.reserve_block(queue, short).await
    }

    /// The lock above only spares this replica's PostgreSQL round trips;
    /// what bounds the places reserved across replicas is that PostgreSQL
    /// adds the block only if its mark is still the limit the join saw.
    /// Either way Redis is raised to PostgreSQL's mark.
    async fn reserve_block(&self, queue: &str, short: Short) -> Result<(), AdmissionError> {
        let block = self.policy.place_block;
        let mark = match short.limit {
            Limit::Lottery => self.durable.reserve_lottery(queue, block, short.seen).await?,
            Limit::Places | Limit::Pool => self.durable.reserve_places(queue, block, short.seen).await?,
        };
        self.checked(queue, || self.store.raise(queue, short.limit, mark)).await
    }

    /// Reserves the next block before the current one runs out, unless a
    /// reservation is already under way in this replica (then that one
    /// will do). One join in a block pays for it with one PostgreSQL write.
    pub(super) async fn reserve_ahead(&self, queue: &str, short: Short) -> Result<(), AdmissionError> {
        let locks = self.locks(queue)?;
        let Ok(_one) = locks.reserve.try_lock() else {
            return Ok(());
        };
        self.reserve_block(queue, short).await
    }

    /// Freezes the lottery pool at the opening, in PostgreSQL first.
    pub(super) async fn freeze_pool(&self, queue: &str, entries: u64) -> Result<(), AdmissionError> {
        let pool = self.durable.freeze_pool(queue, entries).await?;
        tracing::info!(queue, pool, "lottery pool frozen at the opening");
        self.checked(queue, || self.store.raise(queue, Limit::Pool, pool)).await
    }
}
