//! A ReservationService request's fields, checked before anything else
//! runs: each error is INVALID_ARGUMENT naming the field at fault.
use tonic::Status;
use yeyak_platform::{grpc::status::invalid_argument, validate, Secret};
use yeyak_proto::reservation::v1 as pb;

use crate::domain::{BookingCode, Cursor, NewBooking, ReservationRef, DOSES};

/// Tokens are a few hundred bytes; anything far larger is not one.
const MAX_ASSERTION_LEN: usize = 4096;

pub(super) fn assertion<'a>(field: &str, value: &'a str) -> Result<&'a str, Status> {
    validate::required(field, value, MAX_ASSERTION_LEN)
}

fn optional_assertion<'a>(field: &str, value: &'a str) -> Result<&'a str, Status> {
    if value.trim().is_empty() {
        Ok("")
    } else {
        assertion(field, value)
    }
}

/// The subject is named by their own assertion or, for an agent booking for
/// someone not in their session, by that person's consent token: one of the two.
fn subject_tokens(req: &pb::CreateReservationRequest) -> Result<(String, String), Status> {
    let consent = optional_assertion("consent_token", &req.consent_token)?;
    if consent.is_empty() {
        return Ok((assertion("identity_assertion", &req.identity_assertion)?.to_owned(), String::new()));
    }
    if !req.identity_assertion.trim().is_empty() {
        return Err(invalid_argument("consent_token", "give identity_assertion or consent_token, not both"));
    }
    if req.agent_assertion.trim().is_empty() {
        return Err(invalid_argument("agent_assertion", "is required with consent_token: the agent's own identity assertion"));
    }
    Ok((String::new(), consent.to_owned()))
}

/// The validated fields of a CreateReservation request.
pub(super) fn new_booking(req: pb::CreateReservationRequest) -> Result<NewBooking, Status> {
    let (identity_assertion, consent_token) = subject_tokens(&req)?;
    Ok(NewBooking {
        idempotency_key: validate::token_chars("idempotency_key", &req.idempotency_key, 8, 64)?.to_owned(),
        slot_id: validate::uuid("slot_id", &req.slot_id)?,
        identity_assertion,
        agent_assertion: optional_assertion("agent_assertion", &req.agent_assertion)?.to_owned(),
        consent_token,
        dose_number: dose(req.dose_number)?,
        contact_phone: Secret::new(validate::mobile_phone("contact_phone", &req.contact_phone)?),
    })
}

/// The reservation a request names: by `reservation_id` (what an app keeps)
/// or by `booking_code` (what a person reads out), exactly one of them.
pub(super) fn reservation_ref(id: &str, code: &str) -> Result<ReservationRef, Status> {
    match (id.trim().is_empty(), code.trim().is_empty()) {
        (true, true) => Err(invalid_argument("reservation_id", "is required, or give booking_code instead")),
        (false, false) => Err(invalid_argument("booking_code", "must be empty when reservation_id is set")),
        (false, true) => Ok(ReservationRef::Id(validate::uuid("reservation_id", id)?)),
        (true, false) => BookingCode::parse(code).map(ReservationRef::Code).map_err(|e| invalid_argument("booking_code", e.to_string())),
    }
}

/// The page after `token`, if the request names one.
pub(super) fn page_after(token: &str) -> Result<Option<Cursor>, Status> {
    match token {
        "" => Ok(None),
        token => Cursor::decode(token).map(Some).ok_or_else(|| invalid_argument("page_token", "is not a token from a previous response")),
    }
}

fn dose(value: u32) -> Result<u32, Status> {
    if DOSES.contains(&value) {
        Ok(value)
    } else {
        Err(invalid_argument("dose_number", format!("must be between {} and {}", DOSES.start(), DOSES.end())))
    }
}
