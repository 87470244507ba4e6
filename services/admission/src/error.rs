//! Admission's use-case error: what `WaitingRoom` returns. `grpc::status`
//! maps it to a gRPC status (and names the request field where one is at
//! fault); the consumer requeues on it.
use std::time::Duration;

use yeyak_platform::tokens::TokenError;

use crate::{domain::InvalidSettings, store::StoreError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum AdmissionError {
    /// No queue named at all (an empty queue id).
    #[error("no queue given")]
    NoQueue,
    #[error("unknown queue {0}")]
    UnknownQueue(String),
    /// The event was closed by an operator: no joins, no admissions.
    #[error("event {0} is closed")]
    EventClosed(String),
    /// A join before the event's pre-opening window.
    #[error("the event takes arrivals from {from_ms} (unix ms)")]
    NotYetOpen { from_ms: i64 },
    #[error("event {0} already exists")]
    EventExists(String),
    /// Another operator changed the event since this replica read it.
    #[error("event {0} changed meanwhile")]
    EventChanged(String),
    /// A change that would throw out people inside, without `force`.
    #[error("refused without force: it {0}")]
    NeedsForce(String),
    #[error("event definition rejected: {0}")]
    InvalidEvent(#[from] crate::domain::InvalidEvent),
    #[error("ticket rejected: {0}")]
    BadTicket(TokenError),
    #[error("ticket belongs to another client")]
    WrongClient,
    /// Rejoining one queue with a ticket of another.
    #[error("the ticket is for another queue")]
    TicketForAnotherQueue,
    #[error("the line is closed to new arrivals")]
    Closed,
    #[error("this ticket has not been admitted")]
    NotAdmitted,
    #[error("operator: {0}")]
    Operator(#[from] yeyak_platform::operators::AuthError),
    #[error("operator settings rejected: {0}")]
    InvalidSettings(#[from] InvalidSettings),
    /// Too many new entries from this client key or source address, in
    /// this replica, for now.
    #[error("too many joins from this {}", by.what())]
    Throttled { by: Throttle, retry_after: Duration },
    /// The queue asks for a proof of work and none came with the join.
    #[error("this queue asks for a proof of work of {bits} bits")]
    ProofRequired { bits: u8 },
    #[error("proof of work rejected: {0}")]
    BadProof(#[from] ProofFault),
    /// The join's device proof is missing where required, or does not hold.
    #[error("device key: {0}")]
    DeviceKey(#[from] yeyak_platform::tokens::dpop::ProofError),
    /// An identity-first event and no identity assertion came with the join.
    #[error("this event asks who is joining: verify in queue {verify_in} first")]
    IdentityRequired { verify_in: String },
    /// The assertion is not identity's, was altered, or expired.
    #[error("identity assertion rejected: {0}")]
    BadAssertion(TokenError),
    /// An assertion verified under another queue than the event's verification queue.
    #[error("the identity assertion was verified in another queue than {verify_in}")]
    AssertionFromElsewhere { verify_in: String },
    /// A join met a concurrent reservation or rebuild too many times.
    #[error("the waiting room is busy; try again")]
    Contended,
    /// Redis or PostgreSQL unreachable, or Redis lost the queue and it could
    /// not be rebuilt: fail closed, nobody is admitted.
    #[error("queue store: {0}")]
    Store(#[from] StoreError),
}

impl From<crate::store::durable::EventWrite> for AdmissionError {
    fn from(e: crate::store::durable::EventWrite) -> Self {
        use crate::store::durable::EventWrite;
        match e {
            EventWrite::Exists(id) => Self::EventExists(id),
            EventWrite::Missing(id) => Self::UnknownQueue(id),
            EventWrite::Closed(id) => Self::EventClosed(id),
            EventWrite::Stale(id) => Self::EventChanged(id),
            EventWrite::Db(e) => e.into(),
        }
    }
}

impl From<sqlx::Error> for AdmissionError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Durable(e))
    }
}

/// Which join limit refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Throttle {
    Client,
    Source,
}

impl Throttle {
    pub(crate) fn what(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Source => "network address",
        }
    }
}

/// What is wrong with a proof of work.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProofFault {
    /// Not a challenge of ours, altered, or expired.
    #[error("challenge rejected ({0}); ask for a new one")]
    Challenge(String),
    #[error("the challenge is for another queue")]
    OtherQueue,
    #[error("the queue now asks for {asked} bits; ask for a new challenge")]
    Weaker { asked: u8 },
    #[error("the counter does not solve the challenge for this client")]
    Unsolved,
    #[error("the challenge was already used for a join; ask for a new one")]
    Used,
}
