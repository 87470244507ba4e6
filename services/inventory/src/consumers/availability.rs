//! Keeps the availability read model in step with bookings: consumes the
//! reservation service's events, turns each into booked-count changes and
//! hands a batch of them to [`Catalogue::apply_bookings`].
use std::collections::BTreeMap;

use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::{
    messaging::{self, AmqpSettings, Delivery, HandlerError},
    Shutdown,
};
use yeyak_proto::events::v1::{self as ev, routing};

use crate::{app::Catalogue, domain::BookingChange};

/// The queue (under the instance's prefix) bound to the reservation events.
pub const QUEUE: &str = "inventory.availability";

/// Events applied per transaction at most: the batch is one commit, and its
/// statements take arrays, so a bigger batch costs little more than a small one.
const MAX_BATCH: usize = 128;

/// Consumes until `shutdown`, a batch of ready deliveries at a time.
pub(crate) async fn run(amqp: AmqpSettings, catalogue: Catalogue, shutdown: Shutdown) {
    messaging::consume_batches(amqp, QUEUE, &routing::RESERVATION_EVENTS, shutdown, MAX_BATCH, move |deliveries| {
        let catalogue = catalogue.clone();
        async move { handle(&catalogue, deliveries).await }
    })
    .await;
}

/// Decodes a delivery. Anything that cannot be understood is poison: a retry
/// would fail the same way, so it goes to the dead-letter queue.
fn decode(delivery: &Delivery) -> Result<BookingChange, HandlerError> {
    let poison = |what: &str| HandlerError::Poison(format!("{} {what}", delivery.routing_key));
    let bad_payload = |e: prost::DecodeError| HandlerError::Poison(format!("{}: undecodable payload: {e}", delivery.routing_key));
    let slot = |s: &str| Uuid::parse_str(s).map_err(|_| poison("has a slot id that is not a UUID"));
    let payload = delivery.payload.as_slice();
    let (meta, changes) = match delivery.routing_key.as_str() {
        routing::RESERVATION_CONFIRMED => {
            let e = ev::ReservationConfirmed::decode(payload).map_err(bad_payload)?;
            (e.meta, vec![(slot(&e.slot_id)?, 1)])
        }
        routing::RESERVATION_CANCELLED => {
            let e = ev::ReservationCancelled::decode(payload).map_err(bad_payload)?;
            (e.meta, vec![(slot(&e.slot_id)?, -1)])
        }
        routing::RESERVATION_RESCHEDULED => {
            let e = ev::ReservationRescheduled::decode(payload).map_err(bad_payload)?;
            (e.meta, vec![(slot(&e.old_slot_id)?, -1), (slot(&e.new_slot_id)?, 1)])
        }
        _ => return Err(poison("is not an event this queue handles")),
    };
    let event_id = meta.and_then(|m| Uuid::parse_str(&m.event_id).ok()).or(delivery.event_id).ok_or_else(|| poison("has no event id"))?;
    let mut deltas = BTreeMap::new();
    for (slot_id, delta) in changes {
        *deltas.entry(slot_id).or_insert(0) += delta;
    }
    Ok(BookingChange { event_id, deltas })
}

/// Every ready delivery in one transaction. Poison is dead-lettered on its
/// own; database trouble is transient for the batch (redelivered, and the
/// inbox makes the redelivery harmless).
async fn handle(catalogue: &Catalogue, deliveries: Vec<Delivery>) -> Vec<Result<(), HandlerError>> {
    let decoded: Vec<Result<BookingChange, HandlerError>> = deliveries.iter().map(decode).collect();
    let changes: Vec<&BookingChange> = decoded.iter().filter_map(|d| d.as_ref().ok()).collect();
    let outcome = if changes.is_empty() { Ok(()) } else { catalogue.apply_bookings(&changes).await.map_err(|e| e.to_string()) };
    decoded
        .into_iter()
        .map(|d| match (d, &outcome) {
            (Err(poison), _) => Err(poison),
            (Ok(_), Ok(())) => Ok(()),
            (Ok(_), Err(e)) => Err(HandlerError::Transient(e.clone())),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(key: &str, payload: Vec<u8>) -> Delivery {
        Delivery { routing_key: key.into(), event_id: None, payload, traceparent: None }
    }

    fn meta(id: Uuid) -> Option<ev::EventMeta> {
        Some(ev::EventMeta { event_id: id.to_string(), ..Default::default() })
    }

    #[test]
    fn each_event_becomes_its_deltas() {
        let (id, a, b) = (Uuid::new_v4(), Uuid::from_u128(1), Uuid::from_u128(2));
        let c = ev::ReservationConfirmed { meta: meta(id), slot_id: a.to_string(), ..Default::default() };
        assert_eq!(
            decode(&delivery(routing::RESERVATION_CONFIRMED, c.encode_to_vec())).unwrap(),
            BookingChange { event_id: id, deltas: [(a, 1)].into() }
        );
        let x = ev::ReservationCancelled { meta: meta(id), slot_id: a.to_string(), ..Default::default() };
        assert_eq!(decode(&delivery(routing::RESERVATION_CANCELLED, x.encode_to_vec())).unwrap().deltas, [(a, -1)].into());
        let r = ev::ReservationRescheduled { meta: meta(id), old_slot_id: a.to_string(), new_slot_id: b.to_string(), ..Default::default() };
        assert_eq!(decode(&delivery(routing::RESERVATION_RESCHEDULED, r.encode_to_vec())).unwrap().deltas, [(a, -1), (b, 1)].into());
        let same =
            ev::ReservationRescheduled { meta: meta(id), old_slot_id: a.to_string(), new_slot_id: a.to_string(), ..Default::default() };
        assert_eq!(decode(&delivery(routing::RESERVATION_RESCHEDULED, same.encode_to_vec())).unwrap().deltas, [(a, 0)].into());
    }

    #[test]
    fn the_amqp_message_id_stands_in_for_a_missing_meta() {
        let id = Uuid::new_v4();
        let c = ev::ReservationConfirmed { slot_id: Uuid::from_u128(1).to_string(), ..Default::default() };
        let mut d = delivery(routing::RESERVATION_CONFIRMED, c.encode_to_vec());
        assert!(matches!(decode(&d), Err(HandlerError::Poison(_))));
        d.event_id = Some(id);
        assert_eq!(decode(&d).unwrap().event_id, id);
    }

    #[test]
    fn garbage_is_poison() {
        assert!(matches!(decode(&delivery(routing::RESERVATION_CONFIRMED, vec![0xff, 0xff, 0xff])), Err(HandlerError::Poison(_))));
        let c = ev::ReservationConfirmed { meta: meta(Uuid::new_v4()), slot_id: "slot-7".into(), ..Default::default() };
        assert!(matches!(decode(&delivery(routing::RESERVATION_CONFIRMED, c.encode_to_vec())), Err(HandlerError::Poison(_))));
        assert!(matches!(decode(&delivery("reservation.other.v1", vec![])), Err(HandlerError::Poison(_))));
    }
}
