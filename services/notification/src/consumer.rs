//! The event consumer: each reservation event becomes at most one pending
//! delivery. Inbox rows and delivery rows commit together (a batch of events
//! at a time), and messages are acked only after that commit, so an event is
//! never lost (a crash before the commit means redelivery) and never queued
//! twice (a redelivery finds its inbox row).
use std::sync::Arc;

use tokio::sync::Notify;
use yeyak_platform::{
    messaging::{self, AmqpSettings, Delivery, HandlerError},
    validate::mask_phone,
    Shutdown,
};

use uuid::Uuid;

use crate::{
    domain::{self, Notice},
    store::{DeliveryStore, Recorded},
};

/// Queue name (prefixed by `AMQP_QUEUE_PREFIX`) shared by every replica.
pub const QUEUE: &str = "notification.sms";

/// Events recorded per transaction at most. A surge's events arrive faster
/// than one commit each could keep up with; a batch is one commit. Batches
/// are handled one at a time, in queue order, so a reservation's events are
/// recorded in the order they were published (and the sender sends them in
/// event order whatever the order they were recorded in).
pub const MAX_BATCH: usize = 128;

/// Consumes reservation events until shutdown, waking the sender after each
/// batch that queued a delivery.
pub async fn run(amqp: AmqpSettings, store: DeliveryStore, wake: Arc<Notify>, shutdown: Shutdown) {
    messaging::consume_batches(amqp, QUEUE, &domain::ROUTING_KEYS, shutdown, MAX_BATCH, move |deliveries| {
        let store = store.clone();
        let wake = wake.clone();
        async move { handle(&store, &wake, deliveries).await }
    })
    .await;
}

/// Handles a batch of deliveries. Malformed events are poison (dead-lettered,
/// never retried, so they cannot block the queue); database trouble is
/// transient for the whole batch (redelivered; the inbox makes that harmless).
pub async fn handle(store: &DeliveryStore, wake: &Notify, deliveries: Vec<Delivery>) -> Vec<Result<(), HandlerError>> {
    let decoded: Vec<Result<(Uuid, Notice), HandlerError>> = deliveries.iter().map(decode).collect();
    let events: Vec<(Uuid, &Notice)> = decoded.iter().filter_map(|d| d.as_ref().ok().map(|(id, n)| (*id, n))).collect();
    let outcome = match events.is_empty() {
        true => Ok(Vec::new()),
        false => store.record(&events).await.map_err(|e| format!("database: {e}")),
    };
    if let Ok(recorded) = &outcome {
        for ((event_id, notice), recorded) in events.iter().zip(recorded) {
            log(*event_id, notice, *recorded);
        }
        if recorded.contains(&Recorded::Queued) {
            wake.notify_one();
        }
    }
    decoded
        .into_iter()
        .map(|d| match (d, &outcome) {
            (Err(poison), _) => Err(poison),
            (Ok(_), Ok(_)) => Ok(()),
            (Ok((event_id, _)), Err(e)) => Err(HandlerError::Transient(format!("event {event_id}: {e}"))),
        })
        .collect()
}

fn decode(delivery: &Delivery) -> Result<(Uuid, Notice), HandlerError> {
    let Some(event_id) = delivery.event_id else {
        return Err(HandlerError::Poison(format!("{}: missing or invalid event id (AMQP message id)", delivery.routing_key)));
    };
    let notice = domain::decode(&delivery.routing_key, &delivery.payload)
        .map_err(|e| HandlerError::Poison(format!("event {event_id} ({}): {e}", delivery.routing_key)))?;
    Ok((event_id, notice))
}

fn log(event_id: Uuid, notice: &Notice, recorded: Recorded) {
    match recorded {
        Recorded::Queued => {
            let to = notice.phone.as_deref().map(mask_phone).unwrap_or_default();
            tracing::info!(%event_id, reservation_id = %notice.reservation_id, event_type = notice.event_type, %to, "sms queued");
        }
        Recorded::NothingToSend => {
            tracing::info!(%event_id, reservation_id = %notice.reservation_id, event_type = notice.event_type, "event has no phone number; no sms");
        }
        Recorded::Duplicate => {
            tracing::debug!(%event_id, event_type = notice.event_type, "event already processed; ignored");
        }
    }
}
