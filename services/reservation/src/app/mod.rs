//! `Booking`, the use cases: who the caller is, what eligibility and the
//! catalogue say (asked at once), then one statement in the store.
//! Everything that can refuse a booking is asked before anything is written.
//! A slot's details never change once published (only its size does, through
//! the ledger), so each replica remembers the slots it has booked: only its
//! first booking of a slot asks the catalogue.
//!
//! `create` books; `change` reads, cancels and reschedules; `sizes` follows
//! the catalogue's slot sizes; `full` is the memory of slots found full;
//! `callers` verifies who is asking; `contacts` seals numbers stored in plain
//! text by builds before sealing. `SupplyChanges` (`supply`, its workers in
//! `supply_worker`) moves the bookings of slots an operator closed.
mod callers;
mod change;
mod contacts;
mod create;
mod full;
mod sizes;
mod supply;
mod supply_worker;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, SubsecRound as _, Utc};
use tokio::sync::Notify;
use uuid::Uuid;
use yeyak_platform::{
    contact::ContactSealer,
    metrics::Funnel,
    tokens::{remembered::DEFAULT_REMEMBERED, AssertionVerifier, KeyRing, Remembered},
};

use self::full::FullSlots;
pub(crate) use self::supply::{PlanRequest, SupplyChanges};
use crate::{
    clients::{CatalogClient, EligibilityClient},
    domain::{Reservation, Slot},
    error::ReservationError,
    store::{Change, Store},
};

/// A slot to book: its details, and the catalogue's size when this replica
/// does not know the slot's counter to exist yet (`first`).
struct KnownSlot {
    slot: Slot,
    first: Option<u32>,
}

/// Slots per generation this replica remembers: a national catalogue's
/// bookable slots of the coming weeks, ~150 bytes each.
const REMEMBERED_SLOTS: usize = 262_144;

/// The reservation use cases, shared by the handlers and the consumer of
/// slot sizes, with what one replica remembers between calls.
pub(crate) struct Booking {
    store: Store,
    eligibility: EligibilityClient,
    catalog: CatalogClient,
    trusted: KeyRing,
    /// Verifies identity assertions once per token.
    assertions: AssertionVerifier,
    /// Slots whose counter exists, with their details.
    slots: Remembered<Slot, Uuid>,
    /// Slots just found full: refused early for a moment (a slot that grew
    /// or got a place back is forgotten at once).
    full: FullSlots,
    /// Wakes the outbox relay after a commit so events go out at once.
    relay: Arc<Notify>,
    /// Seals phone numbers to notification's public key.
    contact: ContactSealer,
    /// `booked`: counted when a booking commits (a retry's original answer is not).
    funnel: Option<Funnel>,
}

impl Booking {
    /// `full_slot_window` is how long a slot found full is refused without
    /// asking anyone (zero turns the memory off).
    pub(crate) fn new(
        store: Store,
        eligibility: EligibilityClient,
        catalog: CatalogClient,
        trusted: KeyRing,
        relay: Arc<Notify>,
        full_slot_window: Duration,
        contact: ContactSealer,
    ) -> Self {
        let assertions = AssertionVerifier::new(trusted.clone(), DEFAULT_REMEMBERED);
        Self {
            store,
            eligibility,
            catalog,
            assertions,
            trusted,
            slots: Remembered::new(REMEMBERED_SLOTS),
            full: FullSlots::new(full_slot_window),
            relay,
            contact,
            funnel: None,
        }
    }

    /// Counts committed bookings in the evening's funnel.
    pub(crate) fn with_funnel(mut self, funnel: Funnel) -> Self {
        self.funnel = Some(funnel);
        self
    }

    /// The slot from memory if its counter is known to exist, else from the
    /// catalogue (an unknown slot is the caller's mistake). Nothing is
    /// written before every check passed.
    async fn find_slot(&self, slot_id: Uuid) -> Result<KnownSlot, ReservationError> {
        if let Some(slot) = self.slots.get(&slot_id) {
            return Ok(KnownSlot { slot, first: None });
        }
        let c = self.catalog.slot(slot_id).await?.ok_or(ReservationError::UnknownSlot)?;
        Ok(KnownSlot { slot: c.slot, first: Some(c.capacity) })
    }

    /// The slot's counter exists (this replica booked it, or created it).
    fn remember(&self, slot: &Slot) {
        self.slots.insert(slot.slot_id, slot.clone());
    }

    /// `freed` is the slot whose place the change gave back.
    fn settle(&self, change: Change, freed: Uuid) -> Reservation {
        match change {
            Change::Changed(r) => {
                self.full.forget(&freed);
                self.relay.notify_one();
                r
            }
            Change::Unchanged(r) => r,
        }
    }

    /// Answers a refused booking: a retry of one that succeeded gets the
    /// original answer, another request under the same key is refused as
    /// such, and anything else gets `refusal`.
    async fn original_or(&self, subject: &str, key: &str, hash: &[u8], refusal: ReservationError) -> Result<Reservation, ReservationError> {
        match self.store.find_by_key(subject, key).await? {
            Some(existing) if existing.request_hash == hash => Ok(existing),
            Some(_) => Err(ReservationError::IdempotencyKeyReused),
            None => Err(refusal),
        }
    }
}

/// PostgreSQL keeps microseconds: rounding first makes the answer to a
/// booking identical to what a later read (or a retry) returns.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
