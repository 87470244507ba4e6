//! The event consumer: each reservation event becomes at most one pending
//! delivery. The inbox row and the delivery row commit together, and the
//! message is acked only after that commit, so an event is never lost (a
//! crash before the commit means redelivery) and never queued twice (a
//! redelivery finds its inbox row).
use std::sync::Arc;

use tokio::sync::Notify;
use yeyak_platform::{
    messaging::{self, AmqpSettings, Delivery, HandlerError},
    validate::mask_phone,
    Shutdown,
};

use crate::{
    domain,
    store::{DeliveryStore, Recorded},
};

/// Queue name (prefixed by `AMQP_QUEUE_PREFIX`) shared by every replica.
pub const QUEUE: &str = "notification.sms";

/// Events handled at once per replica: one at a time, the consumer would be
/// bounded by one commit's latency per event (a few hundred per second),
/// below a surge's booking rate. Events about the same reservation are
/// still recorded in queue order (and the sender sends them in event
/// order), so nobody is told "cancelled" before "moved". Half the default
/// connection pool: the sender needs connections too.
pub const CONCURRENCY: usize = 8;

/// Consumes reservation events until shutdown, waking the sender after each
/// newly queued delivery.
pub async fn run(amqp: AmqpSettings, store: DeliveryStore, wake: Arc<Notify>, shutdown: Shutdown) {
    let by_reservation = |d: &Delivery| domain::decode(&d.routing_key, &d.payload).ok().map(|n| n.reservation_id.as_bytes().to_vec());
    messaging::consume_ordered_by(amqp, QUEUE, &domain::ROUTING_KEYS, shutdown, CONCURRENCY, by_reservation, move |delivery| {
        let store = store.clone();
        let wake = wake.clone();
        async move { handle(&store, &wake, delivery).await }
    })
    .await;
}

/// Handles one delivery. Malformed events are poison (dead-lettered, never
/// retried, so they cannot block the queue); database trouble is transient.
pub async fn handle(store: &DeliveryStore, wake: &Notify, delivery: Delivery) -> Result<(), HandlerError> {
    let Some(event_id) = delivery.event_id else {
        return Err(HandlerError::Poison(format!("{}: missing or invalid event id (AMQP message id)", delivery.routing_key)));
    };
    let notice = domain::decode(&delivery.routing_key, &delivery.payload)
        .map_err(|e| HandlerError::Poison(format!("event {event_id} ({}): {e}", delivery.routing_key)))?;
    let recorded =
        store.record(event_id, &notice).await.map_err(|e| HandlerError::Transient(format!("event {event_id}: database: {e}")))?;
    let to = notice.phone.as_deref().map(mask_phone).unwrap_or_default();
    match recorded {
        Recorded::Queued => {
            tracing::info!(%event_id, reservation_id = %notice.reservation_id, event_type = notice.event_type, %to, "sms queued");
            wake.notify_one();
        }
        Recorded::NothingToSend => {
            tracing::info!(%event_id, reservation_id = %notice.reservation_id, event_type = notice.event_type, "event has no phone number; no sms");
        }
        Recorded::Duplicate => {
            tracing::debug!(%event_id, event_type = notice.event_type, "event already processed; ignored");
        }
    }
    Ok(())
}
