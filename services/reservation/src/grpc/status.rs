//! The one mapping from a use-case error to a gRPC status. Internal causes
//! are logged (by `status::internal` and `status::unavailable`), never sent.
use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};
use yeyak_platform::{grpc::status, tokens::TokenError};

use crate::error::{ClientError, Credential, Refusal, ReservationError};

/// `google.rpc.ErrorInfo` domain of the reasons this service reports.
const ERROR_DOMAIN: &str = "reservation.yeyak";

/// The request field that carried a credential.
fn field(credential: Credential) -> &'static str {
    match credential {
        Credential::Identity => "identity_assertion",
        Credential::Agent => "agent_assertion",
        Credential::Consent => "consent_token",
    }
}

/// For an RPC that names a slot: an unknown slot is INVALID_ARGUMENT on the
/// field that named it.
pub(super) fn naming_slot(slot_field: &'static str) -> impl FnOnce(ReservationError) -> Status {
    move |e| match e {
        ReservationError::UnknownSlot => status::invalid_argument(slot_field, "unknown slot"),
        e => e.into(),
    }
}

impl From<ReservationError> for Status {
    fn from(e: ReservationError) -> Self {
        use ReservationError as E;
        match e {
            E::BadCredential { credential: Credential::Consent, error: TokenError::Expired } => {
                Status::unauthenticated("consent_token expired: ask the person for a new consent")
            }
            E::BadCredential { credential, error: TokenError::Expired } => {
                Status::unauthenticated(format!("{} expired: verify your identity again", field(credential)))
            }
            E::BadCredential { credential, error } => Status::unauthenticated(format!("{} rejected: {error}", field(credential))),
            E::ForeignAssertion(credential) => {
                Status::permission_denied(format!("{} is bound to another admission pass", field(credential)))
            }
            E::ConsentMismatch(why) => Status::permission_denied(format!("consent_token {why}")),
            E::AgentIsSubject => status::invalid_argument("agent_assertion", "is the subject's own; leave it empty to book for yourself"),
            // Only when the handler did not say which field named the slot.
            e @ E::UnknownSlot => Status::invalid_argument(e.to_string()),
            e @ (E::NotFound | E::UnknownSupplyChange) => Status::not_found(e.to_string()),
            E::Unauthorized(e) if e.is_forbidden() => Status::permission_denied(e.to_string()),
            E::Unauthorized(e) => Status::unauthenticated(e.to_string()),
            e @ (E::IdempotencyKeyReused | E::AlreadyBooked) => Status::already_exists(e.to_string()),
            E::NotEligible { reason, detail } => {
                let message = format!("not eligible: {reason}: {detail}");
                let details = ErrorDetails::with_error_info(reason, ERROR_DOMAIN, HashMap::new());
                Status::with_error_details(Code::FailedPrecondition, message, details)
            }
            e @ (E::SlotStarted | E::SlotFull | E::Cancelled | E::VaccineMismatch { .. }) => Status::failed_precondition(e.to_string()),
            E::Dependency(ClientError::Unavailable { dependency, cause }) => status::unavailable(dependency, &cause),
            E::Dependency(ClientError::Refused { dependency, refusal, message }) => {
                Status::new(code(refusal), format!("{dependency}: {message}"))
            }
            // A taken code is drawn again inside the use case; it never gets here.
            e @ (E::Invariant(_) | E::BookingCodeTaken) => status::internal(&e),
            E::DatabaseUnreachable(e) => status::unavailable("database", &e),
            E::Conflict(e) => {
                tracing::warn!(error = %e, "transaction conflict");
                Status::aborted("concurrent update, retry")
            }
            E::Database(e) => status::internal(&e),
        }
    }
}

/// A dependency's refusal passes through with its own code.
fn code(refusal: Refusal) -> Code {
    match refusal {
        Refusal::InvalidArgument => Code::InvalidArgument,
        Refusal::NotFound => Code::NotFound,
        Refusal::PermissionDenied => Code::PermissionDenied,
        Refusal::Unauthenticated => Code::Unauthenticated,
        Refusal::FailedPrecondition => Code::FailedPrecondition,
        Refusal::OutOfRange => Code::OutOfRange,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::samples;

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
        let s = Status::from(samples::database_failure("secret detail"));
        assert_eq!(s.code(), Code::Internal);
        assert!(!s.message().contains("secret"));
        assert_eq!(Status::from(samples::pool_timed_out()).code(), Code::Unavailable);
        assert_eq!(Status::from(ReservationError::ForeignAssertion(Credential::Identity)).code(), Code::PermissionDenied);
        assert_eq!(Status::from(ReservationError::UnknownSupplyChange).code(), Code::NotFound);
        let forbidden =
            yeyak_platform::operators::AuthError::Forbidden { operator: "lee".into(), role: yeyak_platform::operators::Role::Operator };
        assert_eq!(Status::from(ReservationError::from(forbidden)).code(), Code::PermissionDenied);
        assert_eq!(Status::from(ReservationError::from(yeyak_platform::operators::AuthError::Missing)).code(), Code::Unauthenticated);
    }
}
