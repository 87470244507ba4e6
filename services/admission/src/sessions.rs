//! A booking ends the admitted session that made it: on
//! `reservation.confirmed.v1` the seat of the pass's place goes back to the
//! pool at once, instead of when the pass expires. Freeing a seat is
//! idempotent (a set removal), so redelivered events need no deduplication.
use std::sync::Arc;

use prost::Message as _;
use yeyak_platform::{
    messaging::{consume_batches, one_by_one, Delivery, HandlerError},
    Shutdown,
};
use yeyak_proto::events::v1::ReservationConfirmed;

use crate::grpc::State;

pub const QUEUE: &str = "admission.sessions";

/// Deliveries taken at once.
const MAX_BATCH: usize = 128;

pub async fn run(state: Arc<State>, shutdown: Shutdown) {
    let settings = state.config.amqp.clone();
    // Batches save acknowledgements; each seat is still freed on its own.
    consume_batches(settings, QUEUE, &["reservation.confirmed.v1"], shutdown, MAX_BATCH, |deliveries| {
        let state = state.clone();
        async move { one_by_one(deliveries, |d| handle(&state, d)).await }
    })
    .await;
}

async fn handle(state: &State, delivery: Delivery) -> Result<(), HandlerError> {
    let event = ReservationConfirmed::decode(delivery.payload.as_slice()).map_err(|e| HandlerError::Poison(e.to_string()))?;
    let (queue, position) = (event.admission_queue_id, event.admission_position);
    if position == 0 || state.known_queue(&queue).is_err() {
        // Booked without a pass of ours (another deployment): nothing to free.
        return Ok(());
    }
    let freed = state.store.end_session(&queue, position).await.map_err(|e| HandlerError::Transient(e.to_string()))?;
    tracing::debug!(%queue, position, freed, "booking ended the admitted session");
    Ok(())
}
