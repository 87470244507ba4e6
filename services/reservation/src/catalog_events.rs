//! Slot sizes follow the catalogue: consumes `inventory.slot_resized.v1` and
//! applies the slot's *current* size, re-read from the catalogue, to the
//! ledger. Applying the current size rather than the one in the event makes
//! the handler indifferent to duplicates and to order (a redelivered old
//! event cannot undo a newer change). A cut below what is booked is refused
//! and flagged (see `store::write::SizeChange`), never oversold.
use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::messaging::{Delivery, HandlerError};
use yeyak_proto::events::v1 as ev;

use crate::{
    booking::FullSlots,
    error::ReservationError,
    store::{SizeChange, Store},
    upstream::Upstream,
};

pub const QUEUE: &str = "reservation.slot_sizes";
pub const SLOT_RESIZED: &str = "inventory.slot_resized.v1";
pub const ROUTING_KEYS: [&str; 1] = [SLOT_RESIZED];

/// The slot a delivery is about.
pub fn decode(delivery: &Delivery) -> Result<Uuid, HandlerError> {
    if delivery.routing_key != SLOT_RESIZED {
        return Err(HandlerError::Poison(format!("{} is not an event this queue handles", delivery.routing_key)));
    }
    let event = ev::SlotResized::decode(delivery.payload.as_slice())
        .map_err(|e| HandlerError::Poison(format!("{SLOT_RESIZED}: undecodable payload: {e}")))?;
    Uuid::parse_str(&event.slot_id).map_err(|_| HandlerError::Poison(format!("{SLOT_RESIZED} has a slot id that is not a UUID")))
}

/// A slot that grew is forgotten by `full`, this replica's memory of full
/// slots (other replicas' memories expire within their window).
pub async fn handle(store: &Store, upstream: &Upstream, full: &FullSlots, delivery: Delivery) -> Result<SizeChange, HandlerError> {
    let slot_id = decode(&delivery)?;
    let size = match upstream.slot(slot_id, "slot_id").await {
        Ok(slot) => slot.capacity,
        Err(ReservationError::InvalidArgument { .. }) => {
            // The catalogue no longer has the slot: nothing to size.
            tracing::warn!(%slot_id, "resized slot is unknown to the catalogue; ignored");
            return Ok(SizeChange::Unchanged);
        }
        Err(e) => return Err(HandlerError::Transient(format!("catalogue: {e}"))),
    };
    let change = store.apply_size(slot_id, size).await.map_err(|e| HandlerError::Transient(format!("database: {e}")))?;
    match change {
        SizeChange::Applied { from, to } => {
            if to > from {
                full.forget(&slot_id);
            }
            tracing::info!(%slot_id, from, to, "slot size changed")
        }
        SizeChange::Refused { booked, requested } => tracing::warn!(
            %slot_id, booked, requested,
            "slot size cut below what is booked: bookings kept, no new ones, slot flagged as overbooked for operators"
        ),
        SizeChange::Unchanged => {}
    }
    Ok(change)
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
