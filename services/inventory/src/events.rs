//! The one event inventory publishes: `inventory.slot_resized.v1`, through
//! the outbox, so the reservation service's capacity ledger follows the
//! catalogue's slot sizes. (The reservation events it consumes are in
//! `consumers/`.)
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
