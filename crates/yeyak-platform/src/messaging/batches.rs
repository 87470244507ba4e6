//! Batched consumption, for consumers whose work is a database write: the
//! handler gets every delivery that is ready (up to `max_batch`) and can
//! record them all in one transaction. Under a surge a consumer then pays
//! one commit per batch instead of one per event, and keeps up with the
//! publisher; when traffic is light a batch is a single delivery, so nothing
//! waits to fill one.
//!
//! Batches are handled one at a time, in queue order, so a handler sees a
//! queue's messages in the order the queue holds them. Each delivery is
//! still settled on its own result: a poison message is dead-lettered
//! without taking its batch with it.
use std::{future::Future, time::Duration};

use futures_util::{FutureExt as _, StreamExt as _};
use lapin::{
    options::{BasicAckOptions, BasicConsumeOptions, BasicQosOptions},
    types::FieldTable,
};

use super::{
    consumer::{declare, message_of, reconnecting, settle, REQUEUE_PAUSE},
    open_channel, AmqpSettings, Delivery, HandlerError,
};
use crate::shutdown::Shutdown;

/// Consumes `queue` (prefixed) bound to `routing_keys` until shutdown,
/// handing `handler` the deliveries ready at once, at most `max_batch`. The
/// handler returns one result per delivery, in the order given; a missing
/// result counts as a transient failure. On shutdown the batch in hand
/// finishes first.
pub async fn consume_batches<H, F>(
    settings: AmqpSettings,
    queue: &str,
    routing_keys: &[&str],
    shutdown: Shutdown,
    max_batch: usize,
    handler: H,
) where
    H: Fn(Vec<Delivery>) -> F,
    F: Future<Output = Vec<Result<(), HandlerError>>>,
{
    let max_batch = max_batch.max(1);
    let queue = format!("{}.{queue}", settings.queue_prefix);
    reconnecting(&queue, &shutdown, || batches_once(&settings, &queue, routing_keys, &shutdown, max_batch, &handler)).await;
}

async fn batches_once<H, F>(
    settings: &AmqpSettings,
    queue: &str,
    routing_keys: &[&str],
    shutdown: &Shutdown,
    max_batch: usize,
    handler: &H,
) -> lapin::Result<()>
where
    H: Fn(Vec<Delivery>) -> F,
    F: Future<Output = Vec<Result<(), HandlerError>>>,
{
    let (conn, channel) = open_channel(settings).await?;
    declare(&channel, settings, queue, routing_keys).await?;
    // Room for the next batch to arrive while this one commits.
    let prefetch = u16::try_from(max_batch.saturating_mul(2).max(32)).unwrap_or(u16::MAX);
    channel.basic_qos(prefetch, BasicQosOptions::default()).await?;
    let mut consumer = channel.basic_consume(queue.into(), "".into(), BasicConsumeOptions::default(), FieldTable::default()).await?;
    tracing::info!(%queue, max_batch, "consuming in batches");
    let closed = || lapin::Error::from(lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Closed));
    loop {
        let first = tokio::select! {
            next = consumer.next() => next.ok_or_else(closed)??,
            _ = shutdown.wait() => {
                let _ = conn.close(200, "shutdown".into()).await;
                return Ok(());
            }
        };
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match consumer.next().now_or_never() {
                Some(Some(next)) => batch.push(next?),
                // Nothing more ready (or the stream ended: noticed on the next turn).
                Some(None) | None => break,
            }
        }
        let results = handler(batch.iter().map(message_of).collect()).await;
        if batch.len() == results.len() && results.iter().all(Result::is_ok) {
            // Every earlier delivery on this channel is settled already: one
            // ack with `multiple` settles the whole batch.
            if let Some(last) = batch.pop() {
                last.ack(BasicAckOptions { multiple: true }).await?;
            }
            continue;
        }
        let mut results = results.into_iter();
        // One pause before the first requeue, not one per message.
        let mut pause = REQUEUE_PAUSE;
        for delivery in batch {
            let result = results.next().unwrap_or_else(|| Err(HandlerError::Transient("the handler gave no result for it".into())));
            let transient = matches!(result, Err(HandlerError::Transient(_)));
            settle(queue, delivery, result, pause).await?;
            if transient {
                pause = Duration::ZERO;
            }
        }
    }
}

/// A batch handler for work done one delivery at a time (a Redis update per
/// event, say), in queue order: batching then only saves acknowledgements.
/// After the first transient failure the rest of the batch is not tried and
/// comes back with it, so the order in which effects apply is kept.
pub async fn one_by_one<H, F>(deliveries: Vec<Delivery>, handler: H) -> Vec<Result<(), HandlerError>>
where
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    let mut results = Vec::with_capacity(deliveries.len());
    let mut failed = false;
    for delivery in deliveries {
        let result =
            if failed { Err(HandlerError::Transient("an earlier message of its batch failed".into())) } else { handler(delivery).await };
        failed |= matches!(result, Err(HandlerError::Transient(_)));
        results.push(result);
    }
    results
}
