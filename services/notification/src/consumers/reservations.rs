//! `reservation.{confirmed,cancelled,rescheduled}.v1` → one pending SMS each,
//! through `Deliveries::record`. Messages are acked
//! only after the record commits, so an event is never lost and (the inbox
//! commits with it) never queued twice.
use std::sync::Arc;

use uuid::Uuid;
use yeyak_platform::{
    contact::ContactKeys,
    messaging::{self, AmqpSettings, Delivery, HandlerError},
    metrics::Stage,
    Shutdown,
};
use yeyak_proto::events::v1::routing::RESERVATION_EVENTS;

use crate::{
    app::Deliveries,
    domain::{self, Notice},
};

/// Queue name (prefixed by `AMQP_QUEUE_PREFIX`) shared by every replica.
pub const QUEUE: &str = "notification.sms";

/// Events recorded per transaction at most. A surge's events arrive faster
/// than one commit each could keep up with; a batch is one commit. Batches
/// are handled one at a time, in queue order, so a reservation's events are
/// recorded in the order they were published (and the sender sends them in
/// event order whatever the order they were recorded in).
const MAX_BATCH: usize = 128;

/// Consumes reservation events until shutdown.
pub(crate) async fn run(amqp: AmqpSettings, deliveries: Arc<Deliveries>, shutdown: Shutdown) {
    messaging::consume_batches(amqp, messaging::QueueSpec::in_order(QUEUE), &RESERVATION_EVENTS, shutdown, MAX_BATCH, move |batch| {
        let deliveries = deliveries.clone();
        async move { handle(&deliveries, batch).await }
    })
    .await;
}

/// Handles a batch of deliveries. Malformed events are poison (dead-lettered,
/// never retried, so they cannot block the queue); database trouble is
/// transient for the whole batch (redelivered; the inbox makes that harmless).
async fn handle(deliveries: &Deliveries, batch: Vec<Delivery>) -> Vec<Result<(), HandlerError>> {
    let keys = deliveries.contact_keys();
    let decoded: Vec<Result<(Uuid, Notice), HandlerError>> = batch.iter().map(|d| decode(d, keys)).collect();
    // Poison is dead-lettered at once: a booking whose confirmation ends there.
    for (d, _) in batch.iter().zip(&decoded).filter(|(_, r)| r.is_err()) {
        deliveries.metrics().funnel(domain::funnel_event(&d.routing_key, &d.payload).as_deref(), Stage::SmsDeadLettered);
    }
    let events: Vec<(Uuid, &Notice)> = decoded.iter().filter_map(|d| d.as_ref().ok().map(|(id, n)| (*id, n))).collect();
    let outcome = deliveries.record(&events).await.map_err(|e| e.to_string());
    decoded
        .into_iter()
        .map(|d| match (d, &outcome) {
            (Err(poison), _) => Err(poison),
            (Ok(_), Ok(())) => Ok(()),
            (Ok((event_id, _)), Err(e)) => Err(HandlerError::Transient(format!("event {event_id}: {e}"))),
        })
        .collect()
}

/// A number this replica cannot open (a key missing from
/// `YEYAK_CONTACT_KEYS`) is poison too: it waits in the dead-letter queue
/// until the key is configured and the message is moved back.
fn decode(delivery: &Delivery, keys: &ContactKeys) -> Result<(Uuid, Notice), HandlerError> {
    let Some(event_id) = delivery.event_id else {
        return Err(HandlerError::Poison(format!("{}: missing or invalid event id (AMQP message id)", delivery.routing_key)));
    };
    let mut notice = domain::decode(&delivery.routing_key, &delivery.payload, keys)
        .map_err(|e| HandlerError::Poison(format!("event {event_id} ({}): {e}", delivery.routing_key)))?;
    // The SMS is sent later, by the sender: it continues the message's trace.
    notice.traceparent.clone_from(&delivery.traceparent);
    Ok((event_id, notice))
}
