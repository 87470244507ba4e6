//! The operator's side of the waiting room: a queue's settings and counters,
//! its rate and seat cap, pausing, resuming and draining. Changes are saved
//! in PostgreSQL, where they outlive Redis, then copied into Redis, so every
//! replica's next tick and snapshot use them.
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use super::WaitingRoom;
use crate::{
    domain::{validate_settings, Flag, Snapshot, StoredSettings},
    error::AdmissionError,
};

/// Proof that the caller presented the operator token: every operator use
/// case asks for one, so none can be reached without authenticating.
#[derive(Debug)]
pub(crate) struct Operator(());

/// A queue as an operator sees it: its settings and counters, fresh.
#[derive(Clone, Debug)]
pub(crate) struct QueueOverview {
    pub(crate) queue_id: String,
    pub(crate) snapshot: Arc<Snapshot>,
    /// Unix ms.
    pub(crate) opens_at_ms: i64,
}

impl WaitingRoom {
    /// Compares digests so the comparison time does not depend on the token.
    pub(crate) fn authenticate_operator(&self, bearer: Option<&str>) -> Result<Operator, AdmissionError> {
        let expected = self.policy.operator_token.as_ref().ok_or(AdmissionError::Unauthenticated)?;
        let given = bearer.ok_or(AdmissionError::Unauthenticated)?;
        if Sha256::digest(given.as_bytes()) == Sha256::digest(expected.expose().as_bytes()) {
            Ok(Operator(()))
        } else {
            Err(AdmissionError::Unauthenticated)
        }
    }

    pub(crate) async fn settings(&self, _: &Operator, queue: &str) -> Result<QueueOverview, AdmissionError> {
        self.known_queue(queue)?;
        self.overview(queue).await
    }

    /// Sets the admission rate and the cap on admitted active sessions.
    pub(crate) async fn set_settings(
        &self,
        _: &Operator,
        queue: &str,
        rate: f64,
        max_active: u64,
    ) -> Result<QueueOverview, AdmissionError> {
        self.known_queue(queue)?;
        validate_settings(rate, max_active)?;
        self.save(queue, StoredSettings { rate: Some(rate), max_active: Some(max_active), ..StoredSettings::default() }).await?;
        tracing::info!(queue, rate, max_active, "admission settings changed by operator");
        self.overview(queue).await
    }

    /// Pauses or resumes admission, or closes the line to newcomers.
    pub(crate) async fn set_flag(&self, _: &Operator, queue: &str, flag: Flag, on: bool) -> Result<QueueOverview, AdmissionError> {
        self.known_queue(queue)?;
        self.save(queue, StoredSettings::flag(flag, on)).await?;
        tracing::info!(queue, flag = flag.name(), on, "admission flag changed by operator");
        self.overview(queue).await
    }

    /// PostgreSQL first: a change Redis missed comes back with its rebuild.
    async fn save(&self, queue: &str, change: StoredSettings) -> Result<(), AdmissionError> {
        let saved = self.durable.save_settings(queue, &change).await?;
        self.checked(queue, || self.store.write_settings(queue, &saved)).await
    }

    /// Read past the snapshot cache, so an operator sees their change at once.
    async fn overview(&self, queue: &str) -> Result<QueueOverview, AdmissionError> {
        self.store.invalidate(queue);
        let defaults = self.known_queue(queue)?;
        let snapshot = self.checked(queue, || self.store.snapshot(queue, defaults)).await?;
        Ok(QueueOverview { queue_id: queue.to_owned(), snapshot, opens_at_ms: defaults.opens_at_ms })
    }
}
