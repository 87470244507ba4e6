//! Reservation's errors and their one mapping to gRPC status.
use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};
use yeyak_platform::{grpc::status, tokens::TokenError};

/// `google.rpc.ErrorInfo` domain of the reasons this service reports.
pub const ERROR_DOMAIN: &str = "reservation.yeyak";

#[derive(Debug, thiserror::Error)]
pub enum ReservationError {
    #[error("{field}: {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("{field} rejected: {error}")]
    BadAssertion { field: &'static str, error: TokenError },
    /// An assertion obtained under another admission pass.
    #[error("{field} is bound to another admission pass")]
    ForeignAssertion { field: &'static str },
    /// A valid consent token that does not cover this booking.
    #[error("consent_token {0}")]
    ConsentMismatch(&'static str),
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
    /// A dependency that is down, slow or overloaded: the caller may retry.
    #[error("{dependency} unavailable: {cause}")]
    Unavailable { dependency: &'static str, cause: String },
    /// A dependency refused the call for a reason the caller can act on.
    #[error("{dependency} refused: {status}")]
    Refused { dependency: &'static str, status: Status },
    /// State that breaks an invariant (e.g. a confirmed reservation without booked capacity).
    #[error("invariant broken: {0}")]
    Invariant(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl From<ReservationError> for Status {
    fn from(e: ReservationError) -> Self {
        use ReservationError as E;
        match e {
            E::InvalidArgument { field, reason } => status::invalid_argument(field, reason),
            E::BadAssertion { field: "consent_token", error: TokenError::Expired } => {
                Status::unauthenticated("consent_token expired: ask the person for a new consent")
            }
            E::BadAssertion { field, error: TokenError::Expired } => {
                Status::unauthenticated(format!("{field} expired: verify your identity again"))
            }
            E::BadAssertion { field, error } => Status::unauthenticated(format!("{field} rejected: {error}")),
            e @ (E::ForeignAssertion { .. } | E::ConsentMismatch(_)) => Status::permission_denied(e.to_string()),
            e @ E::NotFound => Status::not_found(e.to_string()),
            e @ (E::IdempotencyKeyReused | E::AlreadyBooked) => Status::already_exists(e.to_string()),
            E::NotEligible { reason, detail } => {
                let message = format!("not eligible: {reason}: {detail}");
                let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            e @ (E::SlotStarted | E::SlotFull | E::Cancelled | E::VaccineMismatch { .. }) => Status::failed_precondition(e.to_string()),
            E::Unavailable { dependency, cause } => status::unavailable(dependency, &cause),
            E::Refused { dependency, status } => Status::new(status.code(), format!("{dependency}: {}", status.message())),
            e @ E::Invariant(_) => status::internal(&e),
            E::Db(e) => database(e),
        }
    }
}

/// Pool exhaustion is load, not a bug: UNAVAILABLE so clients back off and
/// retry. Deadlocks and serialization failures are safe to retry as well.
fn database(e: sqlx::Error) -> Status {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => status::unavailable("database", &e),
        sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40001" | "40P01")) => {
            tracing::warn!(error = %e, "transaction conflict");
            Status::aborted("concurrent update, retry")
        }
        _ => status::internal(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_eligible_carries_the_reason() {
        let s = Status::from(ReservationError::NotEligible {
            reason: "ELIGIBILITY_REASON_WINDOW_NOT_OPEN".into(),
            detail: "opens at 20:00".into(),
        });
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(s.message().contains("ELIGIBILITY_REASON_WINDOW_NOT_OPEN") && s.message().contains("opens at 20:00"));
        assert_eq!(s.get_details_error_info().map(|i| i.reason), Some("ELIGIBILITY_REASON_WINDOW_NOT_OPEN".into()));
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let s = Status::from(ReservationError::Db(sqlx::Error::Protocol("secret detail".into())));
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("secret"));
        assert_eq!(Status::from(ReservationError::Db(sqlx::Error::PoolTimedOut)).code(), Code::Unavailable);
        assert_eq!(Status::from(ReservationError::ForeignAssertion { field: "identity_assertion" }).code(), Code::PermissionDenied);
    }
}
