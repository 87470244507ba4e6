//! A consumer loop that survives broker restarts: it (re)declares its durable
//! queue and dead-letter queue, handles one delivery at a time up to the
//! prefetch, and acks only after the handler succeeded.
use std::{future::Future, time::Duration};

use futures_util::StreamExt as _;
use lapin::{
    options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};

use super::{open_channel, AmqpSettings};
use crate::shutdown::Shutdown;

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

/// Consumes `queue` (prefixed) bound to `routing_keys` until shutdown.
pub async fn consume<H, F>(settings: AmqpSettings, queue: &str, routing_keys: &[&str], shutdown: Shutdown, handler: H)
where
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    let queue = format!("{}.{queue}", settings.queue_prefix);
    let mut backoff = Duration::from_millis(200);
    while !shutdown.is_triggered() {
        let run = consume_once(&settings, &queue, routing_keys, &shutdown, &handler);
        match run.await {
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

async fn consume_once<H, F>(
    settings: &AmqpSettings,
    queue: &str,
    routing_keys: &[&str],
    shutdown: &Shutdown,
    handler: &H,
) -> lapin::Result<()>
where
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    let (conn, channel) = open_channel(settings).await?;
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
    channel.basic_qos(32, BasicQosOptions::default()).await?;
    let mut consumer = channel.basic_consume(queue.into(), "".into(), BasicConsumeOptions::default(), FieldTable::default()).await?;
    tracing::info!(%queue, "consuming");
    loop {
        let next = tokio::select! {
            next = consumer.next() => next,
            _ = shutdown.wait() => {
                let _ = conn.close(200, "shutdown".into()).await;
                return Ok(());
            }
        };
        let Some(delivery) = next else {
            return Err(lapin::Error::from(lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Closed)));
        };
        let delivery = delivery?;
        let message = Delivery {
            routing_key: delivery.routing_key.as_str().to_owned(),
            event_id: delivery.properties.message_id().as_ref().and_then(|s| s.as_str().parse().ok()),
            payload: delivery.data.clone(),
            traceparent: delivery.properties.headers().as_ref().and_then(|h| match h.inner().get("traceparent") {
                Some(AMQPValue::LongString(s)) => Some(s.to_string()),
                _ => None,
            }),
        };
        match handler(message).await {
            Ok(()) => {
                delivery.ack(BasicAckOptions::default()).await?;
            }
            Err(HandlerError::Transient(reason)) => {
                tracing::warn!(%queue, %reason, "handler failed, message requeued");
                tokio::time::sleep(Duration::from_millis(200)).await;
                delivery.nack(BasicNackOptions { requeue: true, ..Default::default() }).await?;
            }
            Err(HandlerError::Poison(reason)) => {
                tracing::error!(%queue, %reason, "poison message sent to the dead-letter queue");
                delivery.nack(BasicNackOptions { requeue: false, ..Default::default() }).await?;
            }
        }
    }
}
