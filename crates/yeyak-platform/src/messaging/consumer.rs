//! A consumer loop that survives broker restarts: it (re)declares its durable
//! queue and dead-letter queue, handles deliveries one at a time (or, for
//! handlers whose effects commute, up to `concurrency` at once), and acks
//! each only after its handler succeeded.
use std::{
    collections::{HashMap, VecDeque},
    future::Future,
    time::Duration,
};

use futures_util::{stream::FuturesUnordered, StreamExt as _};
use lapin::{
    options::{BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, QueueBindOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
};

use super::{open_channel, AmqpSettings};
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
/// delivery at a time, in queue order.
pub async fn consume<H, F>(settings: AmqpSettings, queue: &str, routing_keys: &[&str], shutdown: Shutdown, handler: H)
where
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    consume_concurrently(settings, queue, routing_keys, shutdown, 1, handler).await;
}

/// As [`consume`], with up to `concurrency` deliveries handled at once. Only
/// for handlers whose effects do not depend on the order of deliveries
/// (counter deltas, independent messages): a handler that commits to a
/// database with synchronous commit is otherwise bounded by one commit
/// latency per message. On shutdown the deliveries in hand finish first.
pub async fn consume_concurrently<H, F>(
    settings: AmqpSettings,
    queue: &str,
    routing_keys: &[&str],
    shutdown: Shutdown,
    concurrency: usize,
    handler: H,
) where
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    consume_ordered_by(settings, queue, routing_keys, shutdown, concurrency, |_: &Delivery| None, handler).await;
}

/// As [`consume_concurrently`], but deliveries with the same `key` (say,
/// the reservation they are about) are handled one after the other, in
/// queue order; deliveries without a key, or with different keys, run side
/// by side.
pub async fn consume_ordered_by<K, H, F>(
    settings: AmqpSettings,
    queue: &str,
    routing_keys: &[&str],
    shutdown: Shutdown,
    concurrency: usize,
    key: K,
    handler: H,
) where
    K: Fn(&Delivery) -> Option<Vec<u8>>,
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    let concurrency = concurrency.max(1);
    let queue = format!("{}.{queue}", settings.queue_prefix);
    reconnecting(&queue, &shutdown, || consume_once(&settings, &queue, routing_keys, &shutdown, concurrency, &key, &handler)).await;
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

#[allow(clippy::too_many_arguments)]
async fn consume_once<K, H, F>(
    settings: &AmqpSettings,
    queue: &str,
    routing_keys: &[&str],
    shutdown: &Shutdown,
    concurrency: usize,
    key: &K,
    handler: &H,
) -> lapin::Result<()>
where
    K: Fn(&Delivery) -> Option<Vec<u8>>,
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    let (conn, channel) = open_channel(settings).await?;
    declare(&channel, settings, queue, routing_keys).await?;
    let prefetch = u16::try_from(concurrency.saturating_mul(2).max(32)).unwrap_or(u16::MAX);
    channel.basic_qos(prefetch, BasicQosOptions::default()).await?;
    let mut consumer = channel.basic_consume(queue.into(), "".into(), BasicConsumeOptions::default(), FieldTable::default()).await?;
    tracing::info!(%queue, "consuming");
    let mut in_hand = FuturesUnordered::new();
    // Keys with a delivery in hand, and the deliveries waiting behind it.
    let mut lanes: HashMap<Vec<u8>, VecDeque<(lapin::message::Delivery, Delivery)>> = HashMap::new();
    let mut waiting = 0usize;
    loop {
        let next = tokio::select! {
            Some((lane, done)) = in_hand.next(), if !in_hand.is_empty() => {
                done?;
                if let Some(lane) = lane {
                    match lanes.get_mut(&lane).and_then(VecDeque::pop_front) {
                        Some((raw, message)) => {
                            waiting -= 1;
                            in_hand.push(handle(queue, raw, message, Some(lane), handler));
                        }
                        None => {
                            lanes.remove(&lane);
                        }
                    }
                }
                continue;
            }
            next = consumer.next(), if in_hand.len() < concurrency && waiting <= concurrency => next,
            _ = shutdown.wait() => {
                while let Some((lane, done)) = in_hand.next().await {
                    done?;
                    if let Some((raw, message)) = lane.as_ref().and_then(|l| lanes.get_mut(l)).and_then(VecDeque::pop_front) {
                        in_hand.push(handle(queue, raw, message, lane, handler));
                    }
                }
                let _ = conn.close(200, "shutdown".into()).await;
                return Ok(());
            }
        };
        let Some(raw) = next else {
            return Err(lapin::Error::from(lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Closed)));
        };
        let raw = raw?;
        let message = message_of(&raw);
        match key(&message) {
            Some(lane) => match lanes.get_mut(&lane) {
                Some(behind) => {
                    behind.push_back((raw, message));
                    waiting += 1;
                }
                None => {
                    lanes.insert(lane.clone(), VecDeque::new());
                    in_hand.push(handle(queue, raw, message, Some(lane), handler));
                }
            },
            None => in_hand.push(handle(queue, raw, message, None, handler)),
        }
    }
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

/// Runs the handler on one delivery and settles it: ack, requeue or dead-letter.
async fn handle<H, F>(
    queue: &str,
    delivery: lapin::message::Delivery,
    message: Delivery,
    lane: Option<Vec<u8>>,
    handler: &H,
) -> (Option<Vec<u8>>, lapin::Result<()>)
where
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    let settled = settle(queue, delivery, handler(message).await, REQUEUE_PAUSE).await;
    (lane, settled.map(drop))
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
