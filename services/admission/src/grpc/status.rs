//! The one mapping from a use-case error to a gRPC status. A typed error
//! that a request field caused names that field here; internal causes are
//! logged by `status::unavailable`, never sent.
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};
use yeyak_platform::{grpc::status, tokens::TokenError};

use super::queue::{CHALLENGE, SOLUTION};
use crate::{
    domain::InvalidSettings,
    error::{AdmissionError, ProofFault},
    store::StoreError,
};

/// How soon a caller may try again while the room is closed for a rebuild.
const RETRY_AFTER: Duration = Duration::from_secs(1);

impl From<AdmissionError> for Status {
    fn from(e: AdmissionError) -> Self {
        match e {
            AdmissionError::NoQueue => status::invalid_argument("queue_id", "is required"),
            AdmissionError::UnknownQueue(q) => Status::not_found(format!("unknown queue {q}")),
            AdmissionError::EventClosed(q) => Status::failed_precondition(format!("event {q} is closed")),
            AdmissionError::NotYetOpen { from_ms } => {
                Status::failed_precondition(format!("the event takes arrivals from {} (Asia/Seoul)", crate::domain::seoul(from_ms)))
            }
            AdmissionError::EventExists(id) => Status::already_exists(format!("event {id} already exists")),
            AdmissionError::EventChanged(id) => Status::aborted(format!("event {id} changed meanwhile: list it again and repeat")),
            e @ AdmissionError::NeedsForce(_) => {
                Status::failed_precondition(format!("{e}; run it as a dry run to see it all, or force it"))
            }
            AdmissionError::InvalidEvent(invalid) => status::invalid_argument(super::events::field(invalid), invalid.to_string()),
            AdmissionError::BadTicket(TokenError::Expired) => Status::unauthenticated("ticket expired: join again"),
            AdmissionError::BadTicket(t) => Status::unauthenticated(format!("ticket rejected: {t}")),
            AdmissionError::WrongClient => Status::permission_denied("ticket belongs to another client"),
            AdmissionError::TicketForAnotherQueue => status::invalid_argument("existing_ticket", "is for another queue"),
            AdmissionError::Closed => Status::failed_precondition("the line is closed to new arrivals"),
            AdmissionError::NotAdmitted => Status::failed_precondition("this ticket has not been admitted yet"),
            AdmissionError::Operator(e) if e.is_forbidden() => Status::permission_denied(e.to_string()),
            AdmissionError::Operator(e) => Status::unauthenticated(e.to_string()),
            AdmissionError::InvalidSettings(invalid) => status::invalid_argument(settings_field(invalid), invalid.to_string()),
            AdmissionError::Throttled { by, retry_after } => status::resource_exhausted(
                format!("too many new places in line from this {}; retry after {} ms", by.what(), retry_after.as_millis()),
                retry_after,
            ),
            AdmissionError::ProofRequired { bits } => proof_required(bits),
            AdmissionError::BadProof(fault) => {
                let field = if matches!(fault, ProofFault::Unsolved) { SOLUTION } else { CHALLENGE };
                status::invalid_argument(field, fault.to_string())
            }
            AdmissionError::DeviceKey(e) => Status::unauthenticated(e.to_string()),
            AdmissionError::IdentityRequired { verify_in } => identity_required(&verify_in),
            AdmissionError::BadAssertion(e) => Status::unauthenticated(format!("identity_assertion rejected: {e}")),
            e @ AdmissionError::AssertionFromElsewhere { .. } => status::invalid_argument("identity_assertion", e.to_string()),
            AdmissionError::Contended => closed_for_now("the waiting room is busy; your place is kept, retry in a second"),
            AdmissionError::Store(StoreError::Lost) => {
                tracing::warn!("queue state lost and not yet rebuilt");
                closed_for_now("the waiting room is being restored after its store lost data; places are kept, retry in a second")
            }
            AdmissionError::Store(StoreError::Redis(e)) => status::unavailable("queue store", &e),
            AdmissionError::Store(StoreError::Durable(e)) => status::unavailable("queue database", &e),
        }
    }
}

/// `UNAVAILABLE`, saying why, with a `RetryInfo` hint: nothing is wrong with
/// the request, the room is closed for a moment.
fn closed_for_now(message: &str) -> Status {
    Status::with_error_details(Code::Unavailable, message, ErrorDetails::with_retry_info(Some(RETRY_AFTER)))
}

/// `FAILED_PRECONDITION` with an `ErrorInfo` a client acts on: ask for a
/// challenge (GetJoinChallenge), solve it, join again with the solution.
fn proof_required(bits: u8) -> Status {
    let metadata = std::collections::HashMap::from([("difficulty_bits".to_owned(), bits.to_string())]);
    let details = ErrorDetails::with_error_info("PROOF_OF_WORK_REQUIRED", "admission.yeyak", metadata);
    let message = format!("this event asks for a proof of work of {bits} bits: call GetJoinChallenge and send {CHALLENGE} and {SOLUTION}");
    Status::with_error_details(Code::FailedPrecondition, message, details)
}

/// `FAILED_PRECONDITION` with an `ErrorInfo` a client acts on: verify the
/// person under a pass of `verify_in`, then join with the assertion.
fn identity_required(verify_in: &str) -> Status {
    let metadata = std::collections::HashMap::from([("verify_in_queue".to_owned(), verify_in.to_owned())]);
    let details = ErrorDetails::with_error_info("IDENTITY_REQUIRED", "admission.yeyak", metadata);
    let message =
        format!("this event holds one entry per person: verify your identity in queue {verify_in}, then join with identity_assertion");
    Status::with_error_details(Code::FailedPrecondition, message, details)
}

/// The request field an invalid setting came in (`SetAdmissionSettingsRequest`,
/// `SetJoinDifficultyRequest`, `SetAutomaticAdmissionRequest`).
fn settings_field(invalid: InvalidSettings) -> &'static str {
    match invalid {
        InvalidSettings::Rate => "admission_rate_per_second",
        InvalidSettings::MaxActive => "max_active_sessions",
        InvalidSettings::Difficulty => "difficulty_bits",
        InvalidSettings::Floor => "floor_rate_per_second",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::validate_settings;

    #[test]
    fn settings_validation_names_fields() {
        let field =
            |rate, max_active| status::field_violations(&AdmissionError::from(validate_settings(rate, max_active).unwrap_err()).into());
        assert_eq!(field(0.0, 1), vec!["admission_rate_per_second"]);
        assert_eq!(field(1.0, 0), vec!["max_active_sessions"]);
        assert!(validate_settings(10.0, 5).is_ok());
    }
}
