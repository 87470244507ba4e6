//! The booking use cases: who the caller is, what eligibility and the
//! catalogue say (asked at once), then one statement in the store.
//! Everything that can refuse a booking is asked before anything is written.
//! A slot's details never change once published (only its size does, through
//! the ledger), so each replica remembers the slots it has booked: only its
//! first booking of a slot asks the catalogue.
//!
//! `create` books; `change` reads, cancels and reschedules.
mod change;
mod create;
mod full;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};
use tokio::sync::Notify;
use yeyak_platform::{
    grpc::VerifiedPass,
    tokens::{self, remembered::DEFAULT_REMEMBERED, AssertionVerifier, ConsentToken, IdentityAssertion, KeyRing, Remembered, TokenError},
};

use uuid::Uuid;

use crate::{
    domain::{Reservation, Slot},
    error::ReservationError,
    store::{Change, Store},
    upstream::Upstream,
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

pub use create::NewBooking;
pub use full::FullSlots;

pub struct Booking {
    pub store: Store,
    upstream: Upstream,
    trusted: KeyRing,
    /// Verifies identity assertions once per token.
    assertions: AssertionVerifier,
    /// Slots whose counter exists, with their details.
    slots: Remembered<Slot, Uuid>,
    /// Slots just found full: refused early for a moment (shared with the
    /// consumer of size changes, which forgets a slot that grew).
    full: Arc<FullSlots>,
    /// Wakes the outbox relay after a commit so events go out at once.
    relay: Arc<Notify>,
}

impl Booking {
    pub fn new(store: Store, upstream: Upstream, trusted: KeyRing, relay: Arc<Notify>, full: Arc<FullSlots>) -> Self {
        let assertions = AssertionVerifier::new(trusted.clone(), DEFAULT_REMEMBERED);
        Self { store, upstream, assertions, trusted, slots: Remembered::new(REMEMBERED_SLOTS), full, relay }
    }

    /// Verifies an identity assertion and that it was obtained under the
    /// caller's own admission pass: an assertion copied from another session
    /// is useless.
    pub async fn identify(&self, pass: &VerifiedPass, field: &'static str, token: &str) -> Result<IdentityAssertion, ReservationError> {
        let assertion =
            self.assertions.verify(token, Utc::now().timestamp()).await.map_err(|error| ReservationError::BadAssertion { field, error })?;
        if assertion.sub.is_empty() {
            return Err(ReservationError::BadAssertion { field, error: TokenError::Malformed });
        }
        if assertion.sid != pass.pass.sid {
            return Err(ReservationError::ForeignAssertion { field });
        }
        Ok(assertion)
    }

    /// Verifies a consent token and that it covers this booking: given to
    /// this agent (the verified `agent` subject id) for this event.
    pub fn consented(&self, pass: &VerifiedPass, token: &str, agent: &str) -> Result<ConsentToken, ReservationError> {
        let field = "consent_token";
        let consent: ConsentToken = tokens::verify(&self.trusted, token, Utc::now().timestamp())
            .map_err(|error| ReservationError::BadAssertion { field, error })?;
        if consent.sub.is_empty() {
            return Err(ReservationError::BadAssertion { field, error: TokenError::Malformed });
        }
        if agent.is_empty() || consent.agent != agent {
            return Err(ReservationError::ConsentMismatch("names another agent"));
        }
        if consent.q != pass.pass.q {
            return Err(ReservationError::ConsentMismatch("was given for another event"));
        }
        Ok(consent)
    }

    /// The slot from memory if its counter is known to exist, else from the
    /// catalogue (an unknown slot is the caller's mistake, reported on
    /// `field`). Nothing is written before every check passed.
    async fn find_slot(&self, slot_id: Uuid, field: &'static str) -> Result<KnownSlot, ReservationError> {
        if let Some(slot) = self.slots.get(&slot_id) {
            return Ok(KnownSlot { slot, first: None });
        }
        let c = self.upstream.slot(slot_id, field).await?;
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
}

impl Booking {
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
