//! The booking use cases: who the caller is, what eligibility and the
//! catalogue say, then one transaction in the store. Everything that can
//! refuse a booking is asked before anything is written.
//!
//! `create` books; `change` reads, cancels and reschedules.
mod change;
mod create;

use std::sync::Arc;

use chrono::{DateTime, SubsecRound as _, Utc};
use tokio::sync::Notify;
use yeyak_platform::{
    grpc::VerifiedPass,
    tokens::{self, IdentityAssertion, KeyRing, TokenError},
};

use crate::{
    domain::Reservation,
    error::ReservationError,
    store::{Change, Store},
    upstream::Upstream,
};

pub use create::NewBooking;

pub struct Booking {
    pub store: Store,
    upstream: Upstream,
    trusted: KeyRing,
    /// Wakes the outbox relay after a commit so events go out at once.
    relay: Arc<Notify>,
}

impl Booking {
    pub fn new(store: Store, upstream: Upstream, trusted: KeyRing, relay: Arc<Notify>) -> Self {
        Self { store, upstream, trusted, relay }
    }

    /// Verifies an identity assertion and that it was obtained under the
    /// caller's own admission pass: an assertion copied from another session
    /// is useless.
    pub fn identify(&self, pass: &VerifiedPass, field: &'static str, token: &str) -> Result<IdentityAssertion, ReservationError> {
        let assertion: IdentityAssertion = tokens::verify(&self.trusted, token, Utc::now().timestamp())
            .map_err(|error| ReservationError::BadAssertion { field, error })?;
        if assertion.sub.is_empty() {
            return Err(ReservationError::BadAssertion { field, error: TokenError::Malformed });
        }
        if assertion.sid != pass.pass.sid {
            return Err(ReservationError::ForeignAssertion { field });
        }
        Ok(assertion)
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
