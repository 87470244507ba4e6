//! The events inventory publishes, through the outbox:
//! `inventory.slot_resized.v1`, so the reservation service's capacity ledger
//! follows the catalogue's slot sizes, and `inventory.supply_changed.v1`, so
//! it moves the bookings of slots an operator closed. (The reservation
//! events it consumes are in `consumers/`.)
use chrono::{DateTime, Utc};
use prost::Message as _;
use uuid::Uuid;
use yeyak_proto::events::v1::{self as ev, routing};

/// An encoded event ready for `outbox::enqueue`.
#[derive(Clone, Debug)]
pub(crate) struct OutboxEvent {
    pub(crate) event_id: Uuid,
    pub(crate) routing_key: &'static str,
    pub(crate) payload: Vec<u8>,
    pub(crate) traceparent: String,
}

/// A slot's size change, as the ledger needs it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotSize<'a> {
    pub(crate) slot_id: Uuid,
    pub(crate) clinic_id: Uuid,
    pub(crate) vaccine_code: &'a str,
    pub(crate) previous: i32,
    pub(crate) capacity: i32,
}

/// The event carries the trace of the operation that changed the size, so
/// the ledger's update joins it.
pub(crate) fn slot_resized(change: &SlotSize<'_>, occurred_at: DateTime<Utc>) -> OutboxEvent {
    let event_id = Uuid::now_v7();
    let traceparent = yeyak_platform::telemetry::current_traceparent();
    let event = ev::SlotResized {
        meta: Some(ev::EventMeta {
            event_id: event_id.to_string(),
            occurred_at: Some(yeyak_proto::time::to_proto(occurred_at)),
            traceparent: traceparent.clone(),
        }),
        slot_id: change.slot_id.to_string(),
        clinic_id: change.clinic_id.to_string(),
        vaccine_code: change.vaccine_code.to_owned(),
        previous_capacity: u32::try_from(change.previous).unwrap_or(0),
        capacity: u32::try_from(change.capacity).unwrap_or(0),
    };
    OutboxEvent { event_id, routing_key: routing::SLOT_RESIZED, payload: event.encode_to_vec(), traceparent }
}

/// A supply change as the reservation service needs it to start its job.
#[derive(Clone, Debug)]
pub(crate) struct SupplyChange<'a> {
    pub(crate) change_id: Uuid,
    pub(crate) clinic_id: Uuid,
    /// The new vaccine of a vaccine change; `None` for a closure.
    pub(crate) new_vaccine: Option<&'a str>,
    /// Each closed slot: id, vaccine, start, and the slot replacing it.
    pub(crate) closed: Vec<(Uuid, &'a str, DateTime<Utc>, Option<Uuid>)>,
    pub(crate) max_move_days: u32,
    pub(crate) operator: &'a str,
}

/// `inventory.supply_changed.v1`: its event id is its own, the job is keyed
/// by `change_id`.
pub(crate) fn supply_changed(change: &SupplyChange<'_>, occurred_at: DateTime<Utc>) -> OutboxEvent {
    let event_id = Uuid::now_v7();
    let traceparent = yeyak_platform::telemetry::current_traceparent();
    let kind = if change.new_vaccine.is_some() { ev::SupplyChangeKind::ChangeVaccine } else { ev::SupplyChangeKind::Close };
    let event = ev::SupplyChanged {
        meta: Some(ev::EventMeta {
            event_id: event_id.to_string(),
            occurred_at: Some(yeyak_proto::time::to_proto(occurred_at)),
            traceparent: traceparent.clone(),
        }),
        change_id: change.change_id.to_string(),
        kind: kind as i32,
        clinic_id: change.clinic_id.to_string(),
        closed_slots: change
            .closed
            .iter()
            .map(|(slot_id, vaccine, starts_at, replacement)| ev::ClosedSlot {
                slot_id: slot_id.to_string(),
                vaccine_code: (*vaccine).to_owned(),
                starts_at: Some(yeyak_proto::time::to_proto(*starts_at)),
                replacement_slot_id: replacement.map(|r| r.to_string()).unwrap_or_default(),
            })
            .collect(),
        max_move_days: change.max_move_days,
        operator: change.operator.to_owned(),
        new_vaccine_code: change.new_vaccine.unwrap_or_default().to_owned(),
    };
    OutboxEvent { event_id, routing_key: routing::SUPPLY_CHANGED, payload: event.encode_to_vec(), traceparent }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_both_sizes_and_its_own_id() {
        let (slot_id, clinic_id) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let at = DateTime::from_timestamp(1_627_297_200, 5).unwrap();
        let change = SlotSize { slot_id, clinic_id, vaccine_code: "pfizer", previous: 10, capacity: 4 };
        let out = slot_resized(&change, at);
        assert_eq!(out.routing_key, "inventory.slot_resized.v1");
        let event = ev::SlotResized::decode(out.payload.as_slice()).unwrap();
        assert_eq!((event.previous_capacity, event.capacity, event.vaccine_code.as_str()), (10, 4, "pfizer"));
        assert_eq!((event.slot_id, event.clinic_id), (slot_id.to_string(), clinic_id.to_string()));
        let meta = event.meta.unwrap();
        assert_eq!(meta.event_id, out.event_id.to_string());
        assert_eq!(meta.occurred_at.and_then(|t| yeyak_proto::time::from_proto(&t)), Some(at));
    }
}
