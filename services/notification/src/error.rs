//! The use-case error `app/` returns; its mapping to gRPC status is
//! `grpc/status.rs`.
use uuid::Uuid;
use yeyak_platform::{messaging::dead_letters::DeadLetterError, operators::AuthError, tokens::TokenError};

use crate::domain::Refusal;

/// What can go wrong in a use case. Request validation is the handler's (it
/// knows the field names); below it: who is asking, and the database.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The database cannot be reached (as opposed to a bad query), so
    /// callers get a fast, retryable UNAVAILABLE.
    #[error("database: {0}")]
    DatabaseUnreachable(sqlx::Error),
    #[error("database: {0}")]
    Database(sqlx::Error),
    /// The caller's identity assertion does not verify.
    #[error("identity_assertion: {0}")]
    BadAssertion(TokenError),
    /// A valid assertion from another admission session: copied, useless.
    #[error("identity_assertion is bound to another admission pass")]
    ForeignAssertion,
    /// Nothing this person may see: their own reservation without messages
    /// yet, someone else's, or none at all, alike (existence is not leaked).
    #[error("no deliveries found for you under this reference")]
    NotFound,
    /// An operator token missing, unknown, or without the role needed.
    #[error(transparent)]
    Operator(#[from] AuthError),
    /// An operator named a message id nobody recorded.
    #[error("no delivery with message id {0}")]
    UnknownDelivery(Uuid),
    /// An operator named a reservation without deliveries.
    #[error("no deliveries recorded for this reservation")]
    NoDeliveries,
    /// The change does not apply to the delivery in its state.
    #[error("{0}")]
    Refused(Refusal),
    /// A resend cannot be made now, or at all (the reason says which).
    #[error("cannot resend: {0}")]
    CannotResend(String),
    /// RabbitMQ, for the dead-letter queue.
    #[error("dead-letter queue: {0}")]
    DeadLetters(#[from] DeadLetterError),
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        if yeyak_platform::db::is_unreachable(&e) {
            Self::DatabaseUnreachable(e)
        } else {
            Self::Database(e)
        }
    }
}
