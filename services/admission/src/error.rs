//! Admission's use-case error: what `WaitingRoom` returns. `grpc::status`
//! maps it to a gRPC status (and names the request field where one is at
//! fault); the consumer requeues on it.
use yeyak_platform::tokens::TokenError;

use crate::{domain::InvalidSettings, store::StoreError};

#[derive(Debug, thiserror::Error)]
pub(crate) enum AdmissionError {
    /// No queue named at all (an empty queue id).
    #[error("no queue given")]
    NoQueue,
    #[error("unknown queue {0}")]
    UnknownQueue(String),
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
    #[error("operator authentication required")]
    Unauthenticated,
    #[error("operator settings rejected: {0}")]
    InvalidSettings(#[from] InvalidSettings),
    /// A join met a concurrent reservation or rebuild too many times.
    #[error("the waiting room is busy; try again")]
    Contended,
    /// Redis or PostgreSQL unreachable, or Redis lost the queue and it could
    /// not be rebuilt: fail closed, nobody is admitted.
    #[error("queue store: {0}")]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AdmissionError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Durable(e))
    }
}
