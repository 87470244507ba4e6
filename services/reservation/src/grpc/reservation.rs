//! ReservationService. Every call arrives through the admission-pass
//! interceptor; the handlers validate fields before anything else runs.
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_platform::{grpc::pass::verified_pass, validate};
use yeyak_proto::reservation::v1::{self as pb, reservation_service_server::ReservationService};

use super::{
    requests::{assertion, new_booking, page_after, reservation_ref},
    status::naming_slot,
    to_pb,
};
use crate::app::Booking;

pub(crate) struct ReservationApi {
    booking: Arc<Booking>,
}

impl ReservationApi {
    pub(crate) fn new(booking: Arc<Booking>) -> Self {
        Self { booking }
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
        // Where a booking's trace id meets its reservation id (docs/tracing.md).
        tracing::info!(reservation_id = %reservation.reservation_id, "reservation booked");
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
