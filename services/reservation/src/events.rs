//! Integration events this service publishes (through the outbox). Each event
//! carries everything its consumers need (the SMS text, the availability read
//! model) so that none of them has to call back. The phone number travels
//! only sealed to notification's key (`sealed_contact`); the booking code,
//! grouped as people see it, travels with every event so that each SMS
//! names the booking the way the person will quote it.
use chrono::{DateTime, Utc};
use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::tokens::AdmissionPass;
use yeyak_proto::{
    events::v1::{self as ev, routing},
    time::to_proto,
};

use crate::domain::Reservation;

/// An encoded event ready for `outbox::enqueue`.
#[derive(Clone, Debug)]
pub(crate) struct OutboxEvent {
    pub event_id: Uuid,
    pub routing_key: &'static str,
    pub payload: Vec<u8>,
    pub traceparent: String,
}

/// Metadata of a new event; the trace of the current request continues in
/// whoever consumes it.
fn meta(occurred_at: DateTime<Utc>) -> (Uuid, String, ev::EventMeta) {
    let event_id = Uuid::now_v7();
    let traceparent = yeyak_platform::telemetry::current_traceparent();
    let meta = ev::EventMeta { event_id: event_id.to_string(), occurred_at: Some(to_proto(occurred_at)), traceparent: traceparent.clone() };
    (event_id, traceparent, meta)
}

/// `admitted_by` is the pass the booking was made with: admission frees its
/// seat in the waiting room when it sees this event.
pub(crate) fn confirmed(r: &Reservation, admitted_by: &AdmissionPass) -> OutboxEvent {
    let (event_id, traceparent, meta) = meta(r.updated_at);
    let payload = ev::ReservationConfirmed {
        meta: Some(meta),
        reservation_id: r.reservation_id.to_string(),
        booking_code: r.booking_code.to_string(),
        subject_id: r.subject_id.clone(),
        agent_subject_id: r.agent_subject_id.clone(),
        slot_id: r.slot.slot_id.to_string(),
        clinic_id: r.slot.clinic_id.clone(),
        clinic_name: r.slot.clinic_name.clone(),
        vaccine_code: r.slot.vaccine_code.clone(),
        dose_number: r.dose_number,
        starts_at: Some(to_proto(r.slot.starts_at)),
        sealed_contact: r.sealed_contact.clone(),
        admission_queue_id: admitted_by.queue_id.clone(),
        admission_position: admitted_by.place,
        admission_session_id: admitted_by.session_id.clone(),
    };
    OutboxEvent { event_id, routing_key: routing::RESERVATION_CONFIRMED, payload: payload.encode_to_vec(), traceparent }
}

/// `r` is the reservation as cancelled.
pub(crate) fn cancelled(r: &Reservation) -> OutboxEvent {
    cancelled_for(r, None)
}

/// Cancelled by the supply change `change_id`: no equivalent slot had a place.
pub(crate) fn cancelled_by_supply(r: &Reservation, change_id: Uuid) -> OutboxEvent {
    cancelled_for(r, Some(change_id))
}

fn cancelled_for(r: &Reservation, supply_change: Option<Uuid>) -> OutboxEvent {
    let (event_id, traceparent, meta) = meta(r.updated_at);
    let payload = ev::ReservationCancelled {
        meta: Some(meta),
        reservation_id: r.reservation_id.to_string(),
        booking_code: r.booking_code.to_string(),
        subject_id: r.subject_id.clone(),
        slot_id: r.slot.slot_id.to_string(),
        vaccine_code: r.slot.vaccine_code.clone(),
        dose_number: r.dose_number,
        sealed_contact: r.sealed_contact.clone(),
        clinic_id: r.slot.clinic_id.clone(),
        reason: reason(supply_change) as i32,
        supply_change_id: supply_change.map(|c| c.to_string()).unwrap_or_default(),
    };
    OutboxEvent { event_id, routing_key: routing::RESERVATION_CANCELLED, payload: payload.encode_to_vec(), traceparent }
}

/// `old` is the reservation before the move, `new` after it.
pub(crate) fn rescheduled(old: &Reservation, new: &Reservation) -> OutboxEvent {
    rescheduled_for(old, new, None)
}

/// Moved by the supply change `change_id` (perhaps to a substitute vaccine).
pub(crate) fn moved_by_supply(old: &Reservation, new: &Reservation, change_id: Uuid) -> OutboxEvent {
    rescheduled_for(old, new, Some(change_id))
}

fn reason(supply_change: Option<Uuid>) -> ev::ChangeReason {
    match supply_change {
        Some(_) => ev::ChangeReason::SupplyChange,
        None => ev::ChangeReason::Unspecified,
    }
}

fn rescheduled_for(old: &Reservation, new: &Reservation, supply_change: Option<Uuid>) -> OutboxEvent {
    let (event_id, traceparent, meta) = meta(new.updated_at);
    let payload = ev::ReservationRescheduled {
        meta: Some(meta),
        reservation_id: new.reservation_id.to_string(),
        booking_code: new.booking_code.to_string(),
        subject_id: new.subject_id.clone(),
        old_slot_id: old.slot.slot_id.to_string(),
        new_slot_id: new.slot.slot_id.to_string(),
        clinic_id: new.slot.clinic_id.clone(),
        clinic_name: new.slot.clinic_name.clone(),
        starts_at: Some(to_proto(new.slot.starts_at)),
        sealed_contact: new.sealed_contact.clone(),
        old_clinic_id: old.slot.clinic_id.clone(),
        vaccine_code: new.slot.vaccine_code.clone(),
        reason: reason(supply_change) as i32,
        supply_change_id: supply_change.map(|c| c.to_string()).unwrap_or_default(),
        previous_vaccine_code: old.slot.vaccine_code.clone(),
        previous_starts_at: Some(to_proto(old.slot.starts_at)),
    };
    OutboxEvent { event_id, routing_key: routing::RESERVATION_RESCHEDULED, payload: payload.encode_to_vec(), traceparent }
}
