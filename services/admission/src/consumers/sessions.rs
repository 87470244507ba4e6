//! A booking ends the admitted session that made it: on
//! `reservation.confirmed.v1` the seat of the pass's place goes back to the
//! pool at once, instead of when the pass expires. Freeing a seat is
//! idempotent (a set removal), so redelivered events need no deduplication.
use std::sync::Arc;

use prost::Message as _;
use yeyak_platform::{
    messaging::{consume_each, AmqpSettings, Delivery, HandlerError},
    Shutdown,
};
use yeyak_proto::events::v1::{routing, ReservationConfirmed};

use crate::app::WaitingRoom;

pub const QUEUE: &str = "admission.sessions";

/// Deliveries taken at once.
const MAX_BATCH: usize = 128;

pub(crate) async fn run(room: Arc<WaitingRoom>, settings: AmqpSettings, shutdown: Shutdown) {
    // Batches save acknowledgements; each seat is still freed on its own
    // (in a span that continues the booking's trace).
    consume_each(settings, QUEUE, &[routing::RESERVATION_CONFIRMED], shutdown, MAX_BATCH, |delivery| handle(&room, delivery)).await;
}

async fn handle(room: &WaitingRoom, delivery: Delivery) -> Result<(), HandlerError> {
    let event = ReservationConfirmed::decode(delivery.payload.as_slice()).map_err(|e| HandlerError::Poison(e.to_string()))?;
    room.end_booked_session(&event.admission_queue_id, event.admission_position, &event.admission_session_id)
        .await
        .map_err(|e| HandlerError::Transient(e.to_string()))
}
