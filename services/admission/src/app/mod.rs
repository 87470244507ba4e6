//! The use case, `WaitingRoom`: everything the waiting room does, in order,
//! whoever asks. The gRPC handlers, the booking consumer and the admission
//! ticker all call it; it knows no transport.
//!
//! - `queue`: a citizen's side (join, rejoin, poll, end a session);
//! - `operator`: the operator's side (settings, pause, resume, drain);
//! - `events`: booking events as data (create, change, list, close), and
//!   `catalog`: the events this replica serves, and their copy in Redis;
//! - `guard`: the per-client and per-source limits on new entries;
//! - `challenge`: the proof of work a queue may ask before a new entry;
//! - `control`: the automatic admission rate (one controller per event,
//!   across replicas);
//! - `recovery`: rebuilding a queue whose Redis lost its state, and the
//!   reservations of places and lottery entries in PostgreSQL;
//! - here: the admission tick, and the end of a session
//!   whose holder has booked.
mod catalog;
mod challenge;
mod control;
mod device;
mod entrant;
mod events;
mod guard;
mod operator;
mod queue;
mod recovery;

use std::{collections::HashMap, sync::Arc, time::Duration};

use parking_lot::{Mutex, RwLock};

use yeyak_platform::{
    metrics::{Funnel, Metrics, Stage},
    tokens::{HmacKeys, SigningKey},
};

pub(crate) use self::{
    catalog::seed,
    challenge::Proof,
    control::{ControlState, RateControl},
    device::DeviceKeys,
    entrant::IdentityFirst,
    events::{EventChange, EventOverview},
    guard::Origin,
    operator::QueueOverview,
    queue::JoinProofs,
};
use crate::{
    domain::{source::JoinRules, EventDefinition},
    error::AdmissionError,
    metrics::QueueGauges,
    store::{durable::DurableStore, QueueStore, Tick},
};

/// What a deployment's settings decide for its waiting room.
pub(crate) struct Policy {
    /// The events of the configuration (`YEYAK_QUEUE_IDS` and friends),
    /// created on a first start; operators manage them as data after that.
    pub(crate) seeds: Vec<EventDefinition>,
    /// Lifetime of a pass, and of the seat it holds.
    pub(crate) session_ttl: Duration,
    /// Unused admission credit kept, as time at the configured rate.
    pub(crate) burst: Duration,
    /// Signs passes, which every other service verifies.
    pub(crate) signing_key: SigningKey,
    /// Sign and verify queue tickets, which only admission ever reads.
    pub(crate) ticket_keys: HmacKeys,
    pub(crate) ticket_ttl: Duration,
    /// How long an ended session stays in its stream (every pass of it has
    /// expired by then).
    pub(crate) ended_retention: Duration,
    /// Places (and lottery entries) reserved in PostgreSQL at a time: the
    /// most a loss of Redis can skip is two blocks (one in use, one reserved ahead).
    pub(crate) place_block: u64,
    /// Limits on new entries, and how long a join challenge lives.
    pub(crate) join: JoinRules,
    /// Whether passes must be bound to a device key, and the joins' proofs checked.
    pub(crate) device_keys: DeviceKeys,
    /// Events that hold one entry per verified person.
    pub(crate) identity_first: IdentityFirst,
}

/// The virtual waiting room of every queue this deployment serves. All its
/// shared state lives in the stores, so any number of replicas run it side
/// by side and agree on one order and one rate.
pub(crate) struct WaitingRoom {
    store: QueueStore,
    durable: DurableStore,
    policy: Policy,
    /// This replica's join limits.
    guard: guard::Guard,
    /// Per queue: one rebuild or one reservation at a time in this replica.
    locks: Mutex<HashMap<String, Arc<recovery::Locks>>>,
    /// The booking events served, as last read (`catalog`).
    served: RwLock<Arc<catalog::Served>>,
    funnel: Funnel,
    gauges: QueueGauges,
    /// The automatic admission rate; `None`: no targets configured.
    control: Option<RateControl>,
}

impl WaitingRoom {
    pub(crate) fn new(store: QueueStore, durable: DurableStore, policy: Policy, metrics: &Metrics) -> Self {
        let guard = guard::Guard::new(policy.join.clone());
        // Joins and admissions happen once per place: no marks needed.
        let (funnel, gauges) = (Funnel::new(metrics, None), QueueGauges::new(metrics));
        let (locks, served) = (Mutex::default(), RwLock::default());
        Self { store, durable, policy, guard, locks, served, funnel, gauges, control: None }
    }

    /// Runs the automatic admission rate with `control` (startup, when
    /// targets are configured).
    pub(crate) fn with_control(self, control: Option<RateControl>) -> Self {
        Self { control, ..self }
    }

    /// Sets the queue's gauges from its snapshot (at most 100 ms old).
    pub(crate) async fn observe(&self, queue: &str) -> Result<(), AdmissionError> {
        let defaults = self.known_queue(queue)?;
        let snapshot = self.checked(queue, || self.store.snapshot(queue, &defaults)).await?;
        self.gauges.observe(queue, &snapshot);
        Ok(())
    }

    /// Forgets join-limit keys that have earned their burst back (bounded
    /// memory); returns how many are still remembered.
    pub(crate) fn sweep_join_limits(&self) -> usize {
        self.guard.sweep()
    }

    /// One admission tick: advances the queue's frontier by the rate, within
    /// the free seats, and logs the admitted batch in PostgreSQL before
    /// anyone in it is told. Returns the frontier people see. An error
    /// (Redis or PostgreSQL down) admits nobody: the waiting room fails closed.
    pub(crate) async fn admit(&self, queue: &str) -> Result<u64, AdmissionError> {
        let defaults = self.known_queue(queue)?;
        match self.checked(queue, || self.store.advance(queue, &defaults)).await? {
            Tick::FreezePool(entries) => {
                self.freeze_pool(queue, entries).await?;
                Ok(0)
            }
            Tick::Frontier { durable, admitted, expiry_ms, created } if admitted > durable => {
                self.funnel.count_many(queue, Stage::Admitted, created);
                self.durable.log_batch(queue, durable + 1, admitted, expiry_ms).await?;
                self.checked(queue, || self.store.mark(queue, admitted)).await?;
                Ok(admitted)
            }
            Tick::Frontier { durable, .. } => Ok(durable),
        }
    }

    /// Forgets admitted batches and ended seats past their expiry.
    pub(crate) async fn prune(&self, queue: &str) -> Result<(), AdmissionError> {
        self.durable.prune(queue, now_ms()).await?;
        // A person's entry lives as long as the tickets it backs.
        Ok(self.durable.prune_entries(queue, self.policy.ticket_ttl.as_secs() as i64).await?)
    }

    /// A booking ends the admitted session that made it: the seat of the
    /// pass's place goes back to the pool at once, instead of when the pass
    /// expires. Freeing a seat is idempotent, so a repeated booking event
    /// frees nothing twice.
    pub(crate) async fn end_booked_session(&self, queue: &str, position: u64, session_id: &str) -> Result<(), AdmissionError> {
        if position == 0 || self.known_queue(queue).is_err() {
            // Booked without a pass of ours (another deployment): nothing to free.
            return Ok(());
        }
        let freed = self.free_seat(queue, position).await?;
        if !session_id.is_empty() {
            self.end_pass(queue, session_id).await?;
        }
        tracing::debug!(%queue, position, freed, "booking ended the admitted session");
        Ok(())
    }

    /// Ends the session's pass at every service within seconds (its seat is
    /// free; the pass would otherwise work until its expiry).
    async fn end_pass(&self, queue: &str, session_id: &str) -> Result<(), AdmissionError> {
        let retention_ms = self.policy.ended_retention.as_millis() as i64;
        Ok(self.store.record_end(queue, session_id, now_ms(), retention_ms).await?)
    }

    /// Frees a seat, recording it in PostgreSQL first so a rebuild leaves it
    /// free. Places are never handed out twice, so the place names one session.
    async fn free_seat(&self, queue: &str, place: u64) -> Result<bool, AdmissionError> {
        if let Some(expiry_ms) = self.checked(queue, || self.store.seat(queue, place)).await? {
            self.durable.end_seat(queue, place, expiry_ms).await?;
        }
        self.checked(queue, || self.store.end_session(queue, place)).await
    }
}

/// Admission's clock unit: unix milliseconds, server clock. (Redis' own clock
/// orders joins and admissions; this one only dates tokens and polls.)
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}
