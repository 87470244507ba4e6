//! The use case, `WaitingRoom`: everything the waiting room does, in order,
//! whoever asks. The gRPC handlers, the booking consumer and the admission
//! ticker all call it; it knows no transport.
//!
//! - `queue`: a citizen's side (join, rejoin, poll, end a session);
//! - `operator`: the operator's side (settings, pause, resume, drain);
//! - here: the queues served, the admission tick, and the end of a session
//!   whose holder has booked.
mod operator;
mod queue;

use std::{collections::HashMap, time::Duration};

use yeyak_platform::{
    tokens::{HmacKeys, SigningKey},
    Secret,
};

pub(crate) use self::operator::{Operator, QueueOverview};
use crate::{domain::QueueDefaults, error::AdmissionError, store::QueueStore};

/// What a deployment's settings decide for its waiting room.
pub(crate) struct Policy {
    /// Every queue served, with the settings it starts with.
    pub(crate) queues: HashMap<String, QueueDefaults>,
    /// Signs passes, which every other service verifies.
    pub(crate) signing_key: SigningKey,
    /// Sign and verify queue tickets, which only admission ever reads.
    pub(crate) ticket_keys: HmacKeys,
    pub(crate) ticket_ttl: Duration,
    /// Bearer token of the operator API; `None` refuses every operator call.
    pub(crate) operator_token: Option<Secret<String>>,
}

/// The virtual waiting room of every queue this deployment serves. All its
/// shared state lives in the store, so any number of replicas run it side
/// by side and agree on one order and one rate.
pub(crate) struct WaitingRoom {
    store: QueueStore,
    policy: Policy,
}

impl WaitingRoom {
    pub(crate) fn new(store: QueueStore, policy: Policy) -> Self {
        Self { store, policy }
    }

    /// The starting settings of a queue this deployment serves.
    pub(crate) fn known_queue(&self, queue: &str) -> Result<&QueueDefaults, AdmissionError> {
        if queue.is_empty() {
            return Err(AdmissionError::NoQueue);
        }
        self.policy.queues.get(queue).ok_or_else(|| AdmissionError::UnknownQueue(queue.to_owned()))
    }

    /// One admission tick: advances the queue's frontier by the rate, within
    /// the free seats. Returns the highest admitted place. An error (Redis
    /// down) admits nobody: the waiting room fails closed.
    pub(crate) async fn admit(&self, queue: &str) -> Result<u64, AdmissionError> {
        let defaults = self.known_queue(queue)?;
        Ok(self.store.advance(queue, defaults).await?)
    }

    /// A booking ends the admitted session that made it: the seat of the
    /// pass's place goes back to the pool at once, instead of when the pass
    /// expires. Freeing a seat is idempotent (a set removal), so a repeated
    /// booking event frees nothing twice.
    pub(crate) async fn end_booked_session(&self, queue: &str, position: u64) -> Result<(), AdmissionError> {
        if position == 0 || self.known_queue(queue).is_err() {
            // Booked without a pass of ours (another deployment): nothing to free.
            return Ok(());
        }
        let freed = self.store.end_session(queue, position).await?;
        tracing::debug!(%queue, position, freed, "booking ended the admitted session");
        Ok(())
    }
}

/// Admission's clock unit: unix milliseconds, server clock. (Redis' own clock
/// orders joins and admissions; this one only dates tokens and polls.)
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
