//! Slot sizes follow the catalogue: consumes `inventory.slot_resized.v1` and
//! hands the slot to [`Booking::follow_catalogue_size`], which applies the
//! slot's current size to the ledger (so duplicates and order do not matter).
use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::messaging::{Delivery, HandlerError};
use yeyak_proto::events::v1::{self as ev, routing::SLOT_RESIZED};

use crate::{app::Booking, domain::SizeChange, error::ReservationError};

/// The queue reservation consumes slot size changes from.
pub const QUEUE: &str = "reservation.slot_sizes";
pub(crate) const ROUTING_KEYS: [&str; 1] = [SLOT_RESIZED];

/// The slot a delivery is about.
fn decode(delivery: &Delivery) -> Result<Uuid, HandlerError> {
    if delivery.routing_key != SLOT_RESIZED {
        return Err(HandlerError::Poison(format!("{} is not an event this queue handles", delivery.routing_key)));
    }
    let event = ev::SlotResized::decode(delivery.payload.as_slice())
        .map_err(|e| HandlerError::Poison(format!("{SLOT_RESIZED}: undecodable payload: {e}")))?;
    Uuid::parse_str(&event.slot_id).map_err(|_| HandlerError::Poison(format!("{SLOT_RESIZED} has a slot id that is not a UUID")))
}

/// Acks a slot the catalogue no longer has; a catalogue or database that
/// cannot answer now sends the event back to the queue.
pub(crate) async fn handle(booking: &Booking, delivery: Delivery) -> Result<(), HandlerError> {
    let slot_id = decode(&delivery)?;
    let change = match booking.follow_catalogue_size(slot_id).await {
        Ok(change) => change,
        Err(ReservationError::UnknownSlot) => {
            tracing::warn!(%slot_id, "resized slot is unknown to the catalogue; ignored");
            return Ok(());
        }
        Err(e @ (ReservationError::DatabaseUnreachable(_) | ReservationError::Conflict(_) | ReservationError::Database(_))) => {
            return Err(HandlerError::Transient(e.to_string()));
        }
        Err(e) => return Err(HandlerError::Transient(format!("catalogue: {e}"))),
    };
    match change {
        SizeChange::Applied { from, to } => tracing::info!(%slot_id, from, to, "slot size changed"),
        SizeChange::Refused { booked, requested } => tracing::warn!(
            %slot_id, booked, requested,
            "slot size cut below what is booked: bookings kept, no new one, slot flagged as overbooked for operators"
        ),
        SizeChange::Unchanged => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(key: &str, payload: Vec<u8>) -> Delivery {
        Delivery { routing_key: key.into(), event_id: None, payload, traceparent: None }
    }

    #[test]
    fn decodes_the_slot_and_rejects_poison() {
        let id = Uuid::new_v4();
        let e = ev::SlotResized { slot_id: id.to_string(), capacity: 3, ..Default::default() };
        assert_eq!(decode(&delivery(SLOT_RESIZED, e.encode_to_vec())).ok(), Some(id));
        assert!(matches!(decode(&delivery(SLOT_RESIZED, vec![0xff; 4])), Err(HandlerError::Poison(_))));
        let bad = ev::SlotResized { slot_id: "slot-1".into(), ..Default::default() };
        assert!(matches!(decode(&delivery(SLOT_RESIZED, bad.encode_to_vec())), Err(HandlerError::Poison(_))));
        assert!(matches!(decode(&delivery("inventory.other.v1", vec![])), Err(HandlerError::Poison(_))));
    }
}
