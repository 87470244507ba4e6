//! The operator's side of the waiting room: a queue's settings and counters,
//! its rate and seat cap, pausing, resuming and draining, and the switch and
//! floor of the automatic admission rate. Changes are saved
//! in PostgreSQL, where they outlive Redis, then copied into Redis, so every
//! replica's next tick and snapshot use them.
use std::sync::Arc;

use yeyak_platform::operators::{audit, OperatorIdentity, Role};

use super::WaitingRoom;
use crate::{
    domain::{validate_difficulty, validate_floor, validate_settings, Flag, Snapshot, StoredSettings},
    error::AdmissionError,
};

/// A queue as an operator sees it: its settings and counters, fresh.
#[derive(Clone, Debug)]
pub(crate) struct QueueOverview {
    pub(crate) queue_id: String,
    pub(crate) snapshot: Arc<Snapshot>,
    /// Unix ms.
    pub(crate) opens_at_ms: i64,
    /// The proof of work in force (the operator's, else the deployment's).
    pub(crate) join_difficulty_bits: u8,
    /// Whether the automatic admission rate controls the queue, and its
    /// floor (0 when it does not).
    pub(crate) automatic: bool,
    pub(crate) floor: f64,
}

impl WaitingRoom {
    /// Support staff may look; only operators change anything.
    pub(crate) async fn settings(&self, op: &OperatorIdentity, queue: &str) -> Result<QueueOverview, AdmissionError> {
        if !op.has(Role::Support) {
            op.require(Role::Operator, "admission.get_settings")?;
        }
        self.known_queue(queue)?;
        self.overview(queue).await
    }

    /// Sets the admission rate and the cap on admitted active sessions.
    pub(crate) async fn set_settings(
        &self,
        op: &OperatorIdentity,
        queue: &str,
        rate: f64,
        max_active: u64,
    ) -> Result<QueueOverview, AdmissionError> {
        op.require(Role::Operator, "admission.set_settings")?;
        self.known_queue(queue)?;
        validate_settings(rate, max_active)?;
        let change = StoredSettings { rate: Some(rate), max_active: Some(max_active), ..StoredSettings::default() };
        self.save(op, "admission.set_settings", queue, change).await?;
        self.overview(queue).await
    }

    /// Sets the proof of work each new entry must carry (0: none).
    pub(crate) async fn set_join_difficulty(&self, op: &OperatorIdentity, queue: &str, bits: u32) -> Result<QueueOverview, AdmissionError> {
        op.require(Role::Operator, "admission.set_join_difficulty")?;
        self.known_queue(queue)?;
        let bits = validate_difficulty(bits)?;
        let change = StoredSettings { pow_bits: Some(bits), ..StoredSettings::default() };
        self.save(op, "admission.set_join_difficulty", queue, change).await?;
        self.overview(queue).await
    }

    /// Switches the automatic admission rate on or off, and sets its floor
    /// (`None`: unchanged). Off clears the controller's rate at once, so the
    /// operators' rate applies on every replica's next tick.
    pub(crate) async fn set_automatic(
        &self,
        op: &OperatorIdentity,
        queue: &str,
        enabled: bool,
        floor: Option<f64>,
    ) -> Result<QueueOverview, AdmissionError> {
        op.require(Role::Operator, "admission.set_automatic")?;
        self.known_queue(queue)?;
        let floor = floor.map(validate_floor).transpose()?;
        let change = StoredSettings { auto_rate: Some(enabled), auto_floor: floor, ..StoredSettings::default() };
        self.save(op, "admission.set_automatic", queue, change).await?;
        if !enabled {
            self.checked(queue, || self.store.write_control(queue, None, std::time::Duration::ZERO)).await?;
        }
        self.overview(queue).await
    }

    /// Pauses or resumes admission, or closes the line to newcomers.
    pub(crate) async fn set_flag(&self, op: &OperatorIdentity, queue: &str, flag: Flag, on: bool) -> Result<QueueOverview, AdmissionError> {
        let action = match (flag, on) {
            (Flag::Paused, true) => "admission.pause",
            (Flag::Paused, false) => "admission.resume",
            (Flag::Closed, true) => "admission.drain",
            (Flag::Closed, false) => "admission.reopen",
        };
        op.require(Role::Operator, action)?;
        self.known_queue(queue)?;
        self.save(op, action, queue, StoredSettings::flag(flag, on)).await?;
        self.overview(queue).await
    }

    /// PostgreSQL first, with the audit row of the change in the same
    /// transaction (no record, no change); a change Redis missed comes back
    /// with its rebuild.
    pub(super) async fn save(
        &self,
        op: &OperatorIdentity,
        action: &str,
        queue: &str,
        change: StoredSettings,
    ) -> Result<(), AdmissionError> {
        let resource = format!("queue {queue}");
        let saved = self
            .durable
            .save_settings(queue, &change, |old, new| audit(op, action, &resource, Some(&describe(old)), Some(&describe(new))))
            .await?;
        self.checked(queue, || self.store.write_settings(queue, &saved)).await
    }
    /// Read past the snapshot cache, so an operator sees their change at once.
    async fn overview(&self, queue: &str) -> Result<QueueOverview, AdmissionError> {
        self.store.invalidate(queue);
        let defaults = self.known_queue(queue)?;
        let snapshot = self.checked(queue, || self.store.snapshot(queue, &defaults)).await?;
        let join_difficulty_bits = self.difficulty(queue, &snapshot.settings);
        let (automatic, floor) = match &self.control {
            Some(rc) => {
                let stored = self.durable.settings(queue).await?;
                let on = stored.auto_rate.unwrap_or(rc.enabled_by_default());
                (on, if on { rc.floor(stored.auto_floor, snapshot.settings.rate_per_second) } else { 0.0 })
            }
            None => (false, 0.0),
        };
        let opens_at_ms = defaults.opens_at_ms;
        Ok(QueueOverview { queue_id: queue.to_owned(), snapshot, opens_at_ms, join_difficulty_bits, automatic, floor })
    }
}

/// Settings as the audit trail shows them; unset means the deployment's default.
fn describe(s: &StoredSettings) -> String {
    let or_default = |v: Option<String>| v.unwrap_or_else(|| "default".into());
    format!(
        "rate={} max_active={} paused={} closed={} automatic_rate={} automatic_floor={} join_pow_bits={}",
        or_default(s.rate.map(|r| r.to_string())),
        or_default(s.max_active.map(|m| m.to_string())),
        s.paused.unwrap_or(false),
        s.closed.unwrap_or(false),
        or_default(s.auto_rate.map(|on| if on { "on" } else { "off" }.to_owned())),
        or_default(s.auto_floor.map(|f| f.to_string())),
        or_default(s.pow_bits.map(|b| b.to_string()))
    )
}
