//! RPC handlers: request validation (INVALID_ARGUMENT naming the field), one
//! call to [`crate::app::Booking`] (`reservation`) or
//! [`crate::app::SupplyChanges`] (`supply`, the operators' API), protobuf
//! mapping. `status` maps the use-case error to a gRPC status.
mod requests;
pub(crate) mod reservation;
mod status;
pub(crate) mod supply;
mod supply_request;

use yeyak_proto::{reservation::v1 as pb, time::to_proto};

use crate::domain::{Reservation, State};

fn to_pb(r: &Reservation) -> pb::Reservation {
    pb::Reservation {
        reservation_id: r.reservation_id.to_string(),
        booking_code: r.booking_code.to_string(),
        state: match r.state {
            State::Confirmed => pb::ReservationState::Confirmed,
            State::Cancelled => pb::ReservationState::Cancelled,
        } as i32,
        subject_id: r.subject_id.clone(),
        agent_subject_id: r.agent_subject_id.clone(),
        slot_id: r.slot.slot_id.to_string(),
        clinic_id: r.slot.clinic_id.clone(),
        clinic_name: r.slot.clinic_name.clone(),
        vaccine_code: r.slot.vaccine_code.clone(),
        dose_number: r.dose_number,
        starts_at: Some(to_proto(r.slot.starts_at)),
        created_at: Some(to_proto(r.created_at)),
        updated_at: Some(to_proto(r.updated_at)),
    }
}
