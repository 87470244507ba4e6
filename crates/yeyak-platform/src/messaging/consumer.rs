//! What every consumer loop shares: it survives broker restarts, (re)declares
//! its durable queue and dead-letter queue, and settles each delivery only
//! after its handler's result (ack, requeue or dead-letter).
use std::{future::Future, time::Duration};

use lapin::{
    options::{BasicAckOptions, BasicNackOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};

use super::AmqpSettings;
use crate::shutdown::Shutdown;

/// How long a consumer waits before requeueing a message its handler could
/// not handle for now.
pub(super) const REQUEUE_PAUSE: Duration = Duration::from_millis(200);

/// What a handler sees of a message.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub routing_key: String,
    pub event_id: Option<uuid::Uuid>,
    pub payload: Vec<u8>,
    pub traceparent: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Retried later (the message goes back to the queue).
    #[error("transient: {0}")]
    Transient(String),
    /// Never retried: the message goes to the dead-letter queue.
    #[error("poison: {0}")]
    Poison(String),
}

/// Consumes `queue` (prefixed) bound to `routing_keys` until shutdown, one
/// delivery at a time, in queue order: a batch consumer of one (see
/// [`super::consume_batches`] for consumers that write to a database).
pub async fn consume<H, F>(settings: AmqpSettings, queue: &str, routing_keys: &[&str], shutdown: Shutdown, handler: H)
where
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    super::consume_batches(settings, queue, routing_keys, shutdown, 1, |deliveries| super::one_by_one(deliveries, &handler)).await;
}

/// Runs `run` (one connection's consumer) until it returns cleanly at
/// shutdown, reconnecting with backoff whenever it loses the broker.
pub(super) async fn reconnecting<R, F>(queue: &str, shutdown: &Shutdown, mut run: R)
where
    R: FnMut() -> F,
    F: Future<Output = lapin::Result<()>>,
{
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_triggered() {
        match run().await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(%queue, error = %e, retry_in = ?backoff, "consumer lost the broker, reconnecting");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {},
                    _ = shutdown.wait() => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Declares the durable queue, its dead-letter queue and the bindings.
pub(super) async fn declare(channel: &lapin::Channel, settings: &AmqpSettings, queue: &str, routing_keys: &[&str]) -> lapin::Result<()> {
    let dlq = format!("{queue}.dlq");
    channel.queue_declare(dlq.as_str().into(), QueueDeclareOptions::durable(), FieldTable::default()).await?;
    let mut args = FieldTable::default();
    args.insert("x-dead-letter-exchange".into(), AMQPValue::LongString("".into()));
    args.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(dlq.as_str().into()));
    channel.queue_declare(queue.into(), QueueDeclareOptions::durable(), args).await?;
    for key in routing_keys {
        channel
            .queue_bind(queue.into(), settings.exchange.as_str().into(), (*key).into(), QueueBindOptions::default(), FieldTable::default())
            .await?;
    }
    Ok(())
}

pub(super) fn message_of(delivery: &lapin::message::Delivery) -> Delivery {
    Delivery {
        routing_key: delivery.routing_key.as_str().to_owned(),
        event_id: delivery.properties.message_id().as_ref().and_then(|s| s.as_str().parse().ok()),
        payload: delivery.data.clone(),
        traceparent: delivery.properties.headers().as_ref().and_then(|h| match h.inner().get("traceparent") {
            Some(AMQPValue::LongString(s)) => Some(s.to_string()),
            _ => None,
        }),
    }
}

/// Acks, requeues (after `pause`, so a failing database is not spun on) or
/// dead-letters one delivery according to its handler's result.
pub(super) async fn settle(
    queue: &str,
    delivery: lapin::message::Delivery,
    result: Result<(), HandlerError>,
    pause: Duration,
) -> lapin::Result<()> {
    match result {
        Ok(()) => delivery.ack(BasicAckOptions::default()).await,
        Err(HandlerError::Transient(reason)) => {
            tracing::warn!(%queue, %reason, "handler failed, message requeued");
            tokio::time::sleep(pause).await;
            delivery.nack(BasicNackOptions { requeue: true, ..Default::default() }).await
        }
        Err(HandlerError::Poison(reason)) => {
            tracing::error!(%queue, %reason, "poison message sent to the dead-letter queue");
            delivery.nack(BasicNackOptions { requeue: false, ..Default::default() }).await
        }
    }
    .map(drop)
}
