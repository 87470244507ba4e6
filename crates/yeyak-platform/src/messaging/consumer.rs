//! What every consumer loop shares: it survives broker restarts, (re)declares
//! its quorum queue and dead-letter queue (see [`super::queues`]), and
//! settles each delivery only after its handler's result: ack, dead-letter,
//! or (a transient failure) keep it unacked and hand it over again.
use std::future::Future;

use lapin::{
    options::{BasicAckOptions, BasicNackOptions},
    types::AMQPValue,
};
use tracing::{Instrument as _, Span};

use super::{spans::Consuming, AmqpSettings};
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
    /// Retried: the message stays unacked and is handed over again after a
    /// backoff, before any later message, until it succeeds.
    #[error("transient: {0}")]
    Transient(String),
    /// Never retried: the message goes to the dead-letter queue.
    #[error("poison: {0}")]
    Poison(String),
}

/// Consumes `queue` (prefixed) bound to `routing_keys` until shutdown, one
/// delivery at a time, in queue order: [`super::consume_each`] with batches
/// of one (see [`super::consume_batches`] for consumers that write to a
/// database). Each delivery is handled in a span that continues its trace.
pub async fn consume<H, F>(settings: AmqpSettings, queue: &str, routing_keys: &[&str], shutdown: Shutdown, handler: H)
where
    H: Fn(Delivery) -> F,
    F: Future<Output = Result<(), HandlerError>>,
{
    super::consume_each(settings, queue, routing_keys, shutdown, 1, handler).await;
}

/// A copy replayed from the dead-letter queue comes through the default
/// exchange, addressed to the queue: its event's routing key is in a header
/// (`dead_letters::REPLAYED_ROUTING_KEY`), honoured only then.
pub(super) fn message_of(delivery: &lapin::message::Delivery) -> Delivery {
    let replayed = delivery.exchange.as_str().is_empty().then(|| delivery.properties.headers().as_ref()).flatten().and_then(|h| {
        match h.inner().get(super::dead_letters::REPLAYED_ROUTING_KEY) {
            Some(AMQPValue::LongString(s)) => Some(s.to_string()),
            _ => None,
        }
    });
    Delivery {
        routing_key: replayed.unwrap_or_else(|| delivery.routing_key.as_str().to_owned()),
        event_id: delivery.properties.message_id().as_ref().and_then(|s| s.as_str().parse().ok()),
        payload: delivery.data.clone(),
        traceparent: delivery.properties.headers().as_ref().and_then(|h| match h.inner().get("traceparent") {
            Some(AMQPValue::LongString(s)) => Some(s.to_string()),
            _ => None,
        }),
    }
}

/// How [`settle_all`] ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Settled {
    All,
    /// Shutdown came while a transient failure was being retried.
    Interrupted,
}

/// Hands `batch` to `handler` until every delivery is settled: acked when it
/// succeeded, dead-lettered when it is poison, and handed over again after a
/// jittered backoff while it fails transiently (the successes and poison of
/// each attempt are settled first; the rest keep their order).
///
/// It never requeues. In a quorum queue every return counts towards the
/// delivery limit, so requeueing every 200 ms through a database outage
/// would dead-letter good messages within seconds; and a requeued message is
/// overtaken by those already prefetched, which breaks queue order. A
/// shutdown during a wait, or a channel the broker closed (its
/// `consumer_timeout`), leaves the rest unacked: the broker returns them to
/// the head of the queue, in order, one count each.
///
/// With `spans`, each hand-over runs in a batch span linked to its messages.
pub(super) async fn settle_all<H, F>(
    queue: &str,
    channel: &lapin::Channel,
    shutdown: &Shutdown,
    mut batch: Vec<lapin::message::Delivery>,
    (handler, spans): (&H, Option<&Consuming>),
) -> lapin::Result<Settled>
where
    H: Fn(Vec<Delivery>) -> F,
    F: Future<Output = Vec<Result<(), HandlerError>>>,
{
    let mut backoff = super::backoff::retry();
    loop {
        let messages: Vec<Delivery> = batch.iter().map(message_of).collect();
        let span = spans.map_or_else(Span::none, |on| super::spans::process_batch(on, &messages));
        let results = handler(messages).instrument(span).await;
        if batch.len() == results.len() && results.iter().all(Result::is_ok) {
            // Every earlier delivery on this channel is settled already: one
            // ack with `multiple` settles the whole batch.
            if let Some(last) = batch.pop() {
                last.ack(BasicAckOptions { multiple: true }).await?;
            }
            return Ok(Settled::All);
        }
        let mut results = results.into_iter();
        let (mut again, mut reason) = (Vec::new(), None);
        for delivery in batch {
            match results.next().unwrap_or_else(|| Err(HandlerError::Transient("the handler gave no result for it".into()))) {
                Ok(()) => {
                    delivery.ack(BasicAckOptions::default()).await?;
                }
                Err(HandlerError::Poison(why)) => {
                    tracing::error!(%queue, reason = %why, "poison message sent to the dead-letter queue");
                    delivery.nack(BasicNackOptions { requeue: false, ..Default::default() }).await?;
                }
                Err(HandlerError::Transient(why)) => {
                    reason.get_or_insert(why);
                    again.push(delivery);
                }
            }
        }
        if again.is_empty() {
            return Ok(Settled::All);
        }
        let retry_in = super::backoff::next(&mut backoff);
        tracing::warn!(%queue, reason = reason.unwrap_or_default(), messages = again.len(), ?retry_in, "handler failed; retrying (messages stay unacked)");
        tokio::select! {
            _ = tokio::time::sleep(retry_in) => {},
            _ = shutdown.wait() => return Ok(Settled::Interrupted),
        }
        if !channel.status().connected() {
            return Err(lapin::ErrorKind::InvalidChannelState(lapin::ChannelState::Closed, "closed while a handler was retried").into());
        }
        batch = again;
    }
}
