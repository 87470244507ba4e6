//! The booking use cases: who the caller is, what eligibility and the
//! catalogue say (asked at once), then one transaction in the store.
//! Everything that can refuse a booking is asked before anything is written.
//! A slot booked before is read from the ledger, which keeps the slot's
//! details: only a slot's first booking asks the catalogue.
//!
//! `create` books; `change` reads, cancels and reschedules.
mod change;
mod create;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};
use tokio::sync::Notify;
use yeyak_platform::{
    grpc::VerifiedPass,
    tokens::{self, remembered::DEFAULT_REMEMBERED, AssertionVerifier, ConsentToken, IdentityAssertion, KeyRing, TokenError},
};

use uuid::Uuid;

use crate::{
    domain::{Reservation, Slot},
    error::ReservationError,
    store::{Change, Ledger, Store},
    upstream::{CatalogSlot, Upstream},
};

/// Where the details of a slot to book come from.
enum KnownSlot {
    /// Booked before: the ledger has its details and counters, no call needed.
    Ledger(Slot, Ledger),
    /// Never booked here: the catalogue's answer.
    Catalog(CatalogSlot),
}

impl KnownSlot {
    fn starts_at(&self) -> DateTime<Utc> {
        match self {
            KnownSlot::Ledger(slot, _) => slot.starts_at,
            KnownSlot::Catalog(c) => c.slot.starts_at,
        }
    }
}

pub use create::NewBooking;

pub struct Booking {
    pub store: Store,
    upstream: Upstream,
    trusted: KeyRing,
    /// Verifies identity assertions once per token.
    assertions: AssertionVerifier,
    /// Wakes the outbox relay after a commit so events go out at once.
    relay: Arc<Notify>,
}

impl Booking {
    pub fn new(store: Store, upstream: Upstream, trusted: KeyRing, relay: Arc<Notify>) -> Self {
        Self { store, upstream, assertions: AssertionVerifier::new(trusted.clone(), DEFAULT_REMEMBERED), trusted, relay }
    }

    /// Verifies an identity assertion and that it was obtained under the
    /// caller's own admission pass: an assertion copied from another session
    /// is useless.
    pub fn identify(&self, pass: &VerifiedPass, field: &'static str, token: &str) -> Result<IdentityAssertion, ReservationError> {
        let assertion =
            self.assertions.verify(token, Utc::now().timestamp()).map_err(|error| ReservationError::BadAssertion { field, error })?;
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

    /// The slot from the ledger if it was booked before, else from the
    /// catalogue (an unknown slot is the caller's mistake, reported on
    /// `field`). Reads only: nothing is written before every check passed.
    async fn find_slot(&self, slot_id: Uuid, field: &'static str) -> Result<KnownSlot, ReservationError> {
        if let Some((ledger, Some(slot))) = self.store.ledger_slot(slot_id).await? {
            return Ok(KnownSlot::Ledger(slot, ledger));
        }
        Ok(KnownSlot::Catalog(self.upstream.slot(slot_id, field).await?))
    }

    /// The slot and its counters, creating the counter on a first booking.
    async fn ledger_for(&self, known: KnownSlot) -> Result<(Slot, Ledger), ReservationError> {
        match known {
            KnownSlot::Ledger(slot, ledger) => Ok((slot, ledger)),
            KnownSlot::Catalog(c) => {
                let ledger = self.store.ensure_ledger(&c.slot, c.capacity).await?;
                Ok((c.slot, ledger))
            }
        }
    }

    fn settle(&self, change: Change) -> Reservation {
        match change {
            Change::Changed(r) => {
                self.relay.notify_one();
                r
            }
            Change::Unchanged(r) => r,
        }
    }
}

/// A retry gets the original answer; another request under the same key is refused.
fn same_request(existing: Reservation, hash: &[u8]) -> Result<Reservation, ReservationError> {
    if existing.request_hash == hash {
        Ok(existing)
    } else {
        Err(ReservationError::IdempotencyKeyReused)
    }
}

/// PostgreSQL keeps microseconds: rounding first makes the answer to a
/// booking identical to what a later read (or a retry) returns.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
