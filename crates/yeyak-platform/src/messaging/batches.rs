//! Batched consumption, for consumers whose work is a database write: the
//! handler gets every delivery that is ready (up to `max_batch`) and can
//! record them all in one transaction. Under a surge a consumer then pays
//! one commit per batch instead of one per event, and keeps up with the
//! publisher; when traffic is light a batch is a single delivery, so nothing
//! waits to fill one.
//!
//! Batches are handled one at a time, in queue order, so a handler sees a
//! queue's messages in the order the queue holds them; a transient failure
//! is retried in place, so nothing overtakes it. Each delivery is still
//! settled on its own result: a poison message is dead-lettered without
//! taking its batch with it.
//!
//! Consumers whose work is per event ([`consume_each`]) still take batches,
//! which then only save acknowledgements. The two differ in their trace
//! spans: a batch handled at once is one span linked to its messages, an
//! event handled alone is a span continuing its message's trace.
use std::{future::Future, time::Duration};

use futures_util::{FutureExt as _, StreamExt as _};
use lapin::{
    options::{BasicConsumeOptions, BasicQosOptions},
    types::FieldTable,
};
use tracing::Instrument as _;

use super::{
    backoff::{reconnecting, Lost},
    consumer::{settle_all, Settled},
    open_channel,
    queues::{self, QueueSpec},
    spans::Consuming,
    AmqpSettings, Delivery, HandlerError,
};
use crate::shutdown::Shutdown;

/// How long a consumer waits for the broker to confirm the close at
/// shutdown. A broker (or a path to it) that stopped answering must not
/// hold the process: unacked deliveries go back to the queue when the
/// connection drops anyway.
const CLOSE_WITHIN: Duration = Duration::from_secs(1);

/// Consumes `queue` (prefixed) bound to `routing_keys` until shutdown,
/// handing `handler` the deliveries ready at once, at most `max_batch`. The
/// handler returns one result per delivery, in the order given; a missing
/// result counts as a transient failure, and transient failures are handed
/// over again (alone, in order) until they succeed. On shutdown the batch in
/// hand finishes first, unless it is waiting out a transient failure: then
/// it goes back to the head of the queue.
///
/// Each hand-over runs in one CONSUMER span linked to the context of every
/// message in it (`spans::process_batch`).
pub async fn consume_batches<'q, H, F>(
    settings: AmqpSettings,
    queue: impl Into<QueueSpec<'q>>,
    routing_keys: &[&str],
    shutdown: Shutdown,
    max_batch: usize,
    handler: H,
) where
    H: Fn(Vec<Delivery>) -> F,
    F: Future<Output = Vec<Result<(), HandlerError>>>,
{
    run(settings, queue.into(), routing_keys, shutdown, max_batch, true, handler).await;
}

/// Consumes like [`consume_batches`] (batches save acknowledgements), but
/// hands `handler` one delivery at a time, as [`one_by_one`] does: for work
/// done per event. Each delivery is handled in its own CONSUMER span, a
/// child of the context the message carried (`spans::process`).
pub async fn consume_each<'q, H, F>(
    settings: AmqpSettings,
    queue: impl Into<QueueSpec<'q>>,
    routing_keys: &[&str],
    shutdown: Shutdown,
    max_batch: usize,
    handler: H,
) where
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    let spec = queue.into();
    let on = consuming(&settings, spec.name);
    let each = |delivery: Delivery| {
        let span = super::spans::process(&on, &delivery);
        handler(delivery).instrument(span)
    };
    run(settings, spec, routing_keys, shutdown, max_batch, false, |deliveries| one_by_one(deliveries, &each)).await;
}

fn consuming(settings: &AmqpSettings, queue: &str) -> Consuming {
    Consuming { exchange: settings.exchange.clone(), queue: format!("{}.{queue}", settings.queue_prefix) }
}

/// The consumer loop; `batch_spans`: each hand-over is a batch span.
async fn run<H, F>(
    settings: AmqpSettings,
    spec: QueueSpec<'_>,
    routing_keys: &[&str],
    shutdown: Shutdown,
    max_batch: usize,
    batch_spans: bool,
    handler: H,
) where
    H: Fn(Vec<Delivery>) -> F,
    F: Future<Output = Vec<Result<(), HandlerError>>>,
{
    let max_batch = max_batch.max(1);
    let on = consuming(&settings, spec.name);
    let queue = on.queue.clone();
    let single_active = spec.single_active;
    let spans = batch_spans.then_some(&on);
    let _running = shutdown.track(format!("consumer {queue}"));
    reconnecting(&queue, &shutdown, || {
        batches_once(&settings, (&queue, single_active), routing_keys, &shutdown, max_batch, (&handler, spans))
    })
    .await;
}

async fn batches_once<H, F>(
    settings: &AmqpSettings,
    (queue, single_active): (&str, bool),
    routing_keys: &[&str],
    shutdown: &Shutdown,
    max_batch: usize,
    (handler, spans): (&H, Option<&Consuming>),
) -> Result<(), Lost>
where
    H: Fn(Vec<Delivery>) -> F,
    F: Future<Output = Vec<Result<(), HandlerError>>>,
{
    // Nothing is in hand before the first delivery: a shutdown abandons the
    // set-up at once, however long the broker takes to answer (one that
    // accepts connections and never answers would hold it forever).
    let setup = start_consuming(settings, (queue, single_active), routing_keys, max_batch);
    let (conn, channel, mut consumer) = tokio::select! {
        started = setup => started?,
        _ = shutdown.wait() => return Ok(()),
    };
    tracing::info!(%queue, max_batch, "consuming in batches");
    let closed = || lapin::Error::from(lapin::ErrorKind::InvalidConnectionState(lapin::ConnectionState::Closed));
    let lost = |e: lapin::Error| Lost { error: e.into(), was_consuming: true };
    loop {
        let first = tokio::select! {
            next = consumer.next() => next.ok_or_else(closed).and_then(|d| d).map_err(lost)?,
            _ = shutdown.wait() => break,
        };
        let mut batch = vec![first];
        while batch.len() < max_batch {
            match consumer.next().now_or_never() {
                Some(Some(next)) => batch.push(next.map_err(lost)?),
                // Nothing more ready (or the stream ended: noticed on the next turn).
                Some(None) | None => break,
            }
        }
        if settle_all(queue, &channel, shutdown, batch, (handler, spans)).await.map_err(lost)? == Settled::Interrupted {
            break;
        }
    }
    // Unacked deliveries (prefetched, or a batch waiting out a failure) go
    // back to the head of the queue, in order.
    if tokio::time::timeout(CLOSE_WITHIN, conn.close(200, "shutdown".into())).await.is_err() {
        tracing::warn!(%queue, "the broker did not confirm the close; dropping the connection");
    }
    Ok(())
}

/// Opens a channel, declares the queue and starts consuming it.
async fn start_consuming(
    settings: &AmqpSettings,
    (queue, single_active): (&str, bool),
    routing_keys: &[&str],
    max_batch: usize,
) -> Result<(lapin::Connection, lapin::Channel, lapin::Consumer), Lost> {
    let before = |error: queues::QueueError| Lost { error, was_consuming: false };
    let (conn, channel) = open_channel(settings).await.map_err(|e| before(e.into()))?;
    queues::declare(&channel, settings, queue, single_active, routing_keys).await.map_err(before)?;
    // Room for the next batch to arrive while this one commits. Per consumer
    // (not `global`, which quorum queues refuse). These deliveries are
    // returned with a consumer that dies, so they count towards the
    // delivery limit too.
    let prefetch = u16::try_from(max_batch.saturating_mul(2).max(32)).unwrap_or(u16::MAX);
    channel.basic_qos(prefetch, BasicQosOptions::default()).await.map_err(|e| before(e.into()))?;
    let consumer = channel
        .basic_consume(queue.into(), "".into(), BasicConsumeOptions::default(), FieldTable::default())
        .await
        .map_err(|e| before(e.into()))?;
    Ok((conn, channel, consumer))
}

/// A batch handler for work done one delivery at a time (a Redis update per
/// event, say), in queue order: batching then only saves acknowledgements.
/// After the first transient failure the rest of the batch is not tried and
/// is retried with it, so the order in which effects apply is kept.
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
