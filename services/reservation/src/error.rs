//! The use-case error: what `app/` returns. Database and client errors
//! convert into it; `grpc/status.rs` maps it to a gRPC status, and only the
//! handlers name request fields.
use std::fmt;

use yeyak_platform::{operators::AuthError, tokens::TokenError};

pub(crate) use crate::clients::{ClientError, Refusal};

/// Which of the caller's tokens a refusal is about: the handler knows the
/// field that carried it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    /// The subject's identity assertion.
    Identity,
    /// The agent's own identity assertion, on a booking for someone else.
    Agent,
    /// The subject's consent that the agent books for them.
    Consent,
}

impl fmt::Display for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Credential::Identity => "identity assertion",
            Credential::Agent => "agent assertion",
            Credential::Consent => "consent token",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ReservationError {
    #[error("{credential} rejected: {error}")]
    BadCredential { credential: Credential, error: TokenError },
    /// An assertion obtained under another admission pass.
    #[error("{0} is bound to another admission pass")]
    ForeignAssertion(Credential),
    /// A valid consent token that does not cover this booking.
    #[error("consent token {0}")]
    ConsentMismatch(&'static str),
    /// The agent's assertion names the subject: a booking for oneself needs no agent.
    #[error("the agent assertion is the subject's own")]
    AgentIsSubject,
    /// The catalogue does not know the slot: the caller's mistake.
    #[error("unknown slot")]
    UnknownSlot,
    /// Also what a caller who is neither subject nor agent sees: existence is not leaked.
    #[error("reservation not found")]
    NotFound,
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    #[error("the person already holds a reservation for this dose")]
    AlreadyBooked,
    #[error("not eligible: {reason}: {detail}")]
    NotEligible { reason: String, detail: String },
    #[error("slot has already started")]
    SlotStarted,
    #[error("slot is full")]
    SlotFull,
    #[error("reservation is cancelled")]
    Cancelled,
    /// A reschedule must keep the vaccine (the dose series depends on it).
    #[error("the new slot offers {offered}, the reservation is for {booked}")]
    VaccineMismatch { booked: String, offered: String },
    /// No supply-change job has that id (yet: its event may be on its way).
    #[error("supply change not found")]
    UnknownSupplyChange,
    /// The operator API's caller is not an operator, or lacks the role.
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// Eligibility or the catalogue could not answer, or refused the call.
    #[error(transparent)]
    Dependency(#[from] ClientError),
    /// The random booking code drawn for a new reservation is another
    /// reservation's: nothing was written, and `app/` draws again.
    #[error("booking code already taken")]
    BookingCodeTaken,
    /// State that breaks an invariant (e.g. a confirmed reservation without booked capacity).
    #[error("invariant broken: {0}")]
    Invariant(String),
    /// Pool exhaustion or a lost connection: load, not a bug, so callers
    /// back off and retry.
    #[error("database: {0}")]
    DatabaseUnreachable(sqlx::Error),
    /// A deadlock or serialization failure: safe to retry as well.
    #[error("database: {0}")]
    Conflict(sqlx::Error),
    #[error("database: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ReservationError {
    fn from(e: sqlx::Error) -> Self {
        if yeyak_platform::db::is_unreachable(&e) {
            return Self::DatabaseUnreachable(e);
        }
        match &e {
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40001" | "40P01")) => Self::Conflict(e),
            _ => Self::Database(e),
        }
    }
}

/// Database failures of each kind, for the tests of the status mapping
/// (which live where no database type is named).
#[cfg(test)]
pub(crate) mod samples {
    use super::ReservationError;

    /// A failure whose text must never reach a caller.
    pub(crate) fn database_failure(detail: &str) -> ReservationError {
        sqlx::Error::Protocol(detail.into()).into()
    }

    pub(crate) fn pool_timed_out() -> ReservationError {
        sqlx::Error::PoolTimedOut.into()
    }
}
