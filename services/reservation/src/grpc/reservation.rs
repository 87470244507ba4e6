//! ReservationService. Every call arrives through the admission-pass
//! interceptor; the handlers validate fields before anything else runs.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::{pass::verified_pass, status::invalid_argument},
    validate, Secret,
};
use yeyak_proto::reservation::v1::{self as pb, reservation_service_server::ReservationService};

use super::{status::naming_slot, to_pb};
use crate::{
    app::Booking,
    domain::{BookingCode, Cursor, NewBooking, ReservationRef, DOSES},
};

/// Tokens are a few hundred bytes; anything far larger is not one.
const MAX_ASSERTION_LEN: usize = 4096;

pub(crate) struct ReservationApi {
    booking: Arc<Booking>,
}

impl ReservationApi {
    pub(crate) fn new(booking: Arc<Booking>) -> Self {
        Self { booking }
    }
}

fn assertion<'a>(field: &str, value: &'a str) -> Result<&'a str, Status> {
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
fn new_booking(req: pb::CreateReservationRequest) -> Result<NewBooking, Status> {
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
fn reservation_ref(id: &str, code: &str) -> Result<ReservationRef, Status> {
    match (id.trim().is_empty(), code.trim().is_empty()) {
        (true, true) => Err(invalid_argument("reservation_id", "is required, or give booking_code instead")),
        (false, false) => Err(invalid_argument("booking_code", "must be empty when reservation_id is set")),
        (false, true) => Ok(ReservationRef::Id(validate::uuid("reservation_id", id)?)),
        (true, false) => BookingCode::parse(code).map(ReservationRef::Code).map_err(|e| invalid_argument("booking_code", e.to_string())),
    }
}

/// The page after `token`, if the request names one.
fn page_after(token: &str) -> Result<Option<Cursor>, Status> {
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

#[tonic::async_trait]
impl ReservationService for ReservationApi {
    async fn create_reservation(
        &self,
        request: Request<pb::CreateReservationRequest>,
    ) -> Result<Response<pb::CreateReservationResponse>, Status> {
        let pass = verified_pass(&request)?;
        let booking = new_booking(request.into_inner())?;
        let reservation = self.booking.create(&pass, booking).await.map_err(naming_slot("slot_id"))?;
        Ok(Response::new(pb::CreateReservationResponse { reservation: Some(to_pb(&reservation)) }))
    }

    async fn get_reservation(&self, request: Request<pb::GetReservationRequest>) -> Result<Response<pb::GetReservationResponse>, Status> {
        let pass = verified_pass(&request)?;
        let req = request.into_inner();
        let which = reservation_ref(&req.reservation_id, &req.booking_code)?;
        let identity = assertion("identity_assertion", &req.identity_assertion)?;
        let reservation = self.booking.get(&pass, &which, identity).await?;
        Ok(Response::new(pb::GetReservationResponse { reservation: Some(to_pb(&reservation)) }))
    }

    async fn list_reservations(
        &self,
        request: Request<pb::ListReservationsRequest>,
    ) -> Result<Response<pb::ListReservationsResponse>, Status> {
        let pass = verified_pass(&request)?;
        let req = request.into_inner();
        let identity = assertion("identity_assertion", &req.identity_assertion)?;
        let page_size = validate::page_size("page_size", req.page_size, 20, 100)?;
        let after = page_after(&req.page_token)?;
        let (page, next) = self.booking.list(&pass, identity, page_size, after).await?;
        Ok(Response::new(pb::ListReservationsResponse {
            reservations: page.iter().map(to_pb).collect(),
            next_page_token: next.map(|c| c.encode()).unwrap_or_default(),
        }))
    }

    async fn cancel_reservation(
        &self,
        request: Request<pb::CancelReservationRequest>,
    ) -> Result<Response<pb::CancelReservationResponse>, Status> {
        let pass = verified_pass(&request)?;
        let req = request.into_inner();
        let which = reservation_ref(&req.reservation_id, &req.booking_code)?;
        let identity = assertion("identity_assertion", &req.identity_assertion)?;
        let reservation = self.booking.cancel(&pass, &which, identity).await?;
        Ok(Response::new(pb::CancelReservationResponse { reservation: Some(to_pb(&reservation)) }))
    }

    async fn reschedule_reservation(
        &self,
        request: Request<pb::RescheduleReservationRequest>,
    ) -> Result<Response<pb::RescheduleReservationResponse>, Status> {
        let pass = verified_pass(&request)?;
        let req = request.into_inner();
        let which = reservation_ref(&req.reservation_id, &req.booking_code)?;
        let new_slot = validate::uuid("new_slot_id", &req.new_slot_id)?;
        let identity = assertion("identity_assertion", &req.identity_assertion)?;
        let reservation = self.booking.reschedule(&pass, &which, new_slot, identity).await.map_err(naming_slot("new_slot_id"))?;
        Ok(Response::new(pb::RescheduleReservationResponse { reservation: Some(to_pb(&reservation)) }))
    }
}
