//! A consumer's dead-letter queue, for operators: count it, look at the
//! first messages, move them back to the consumer's queue, or drop them.
//!
//! Messages are taken with `basic.get` (unacked) and settled only after what
//! they were taken for is done: a replayed message is acked in the
//! dead-letter queue only once the broker confirmed its copy in the main
//! queue, so a crash in between leaves it in both (the consumers are
//! idempotent, [`super::inbox`]) and never in neither. Every broker call has
//! a deadline.
//!
//! A replayed copy goes straight to the consumer's queue (the default
//! exchange), not through the events exchange, so no other service's queue
//! gets it twice; its event's routing key travels in
//! [`REPLAYED_ROUTING_KEY`], which [`super::consumer`] reads for messages
//! that came through the default exchange.
//!
//! Looking at a message returns it to the queue, which counts towards the
//! dead-letter queue's own limit ([`super::queues::DLQ_DELIVERY_LIMIT`]):
//! fine for an operator's look, not for a dashboard polling every second.
use std::{future::Future, time::Duration};

use lapin::{
    options::{BasicAckOptions, BasicGetOptions, BasicNackOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions},
    types::{AMQPValue, FieldTable},
    BasicProperties, Confirmation,
};

use super::{open_channel, AmqpSettings};

mod summary;

pub use summary::DeadLetter;

/// The header a replayed copy carries its event's routing key in.
pub const REPLAYED_ROUTING_KEY: &str = "x-yeyak-routing-key";

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    #[error("the broker did not answer {0} in time")]
    Timeout(&'static str),
    #[error("the broker refused to take the message back into {0}")]
    Refused(String),
}

/// The dead-letter queue of one consumer queue.
#[derive(Clone, Debug)]
pub struct DeadLetters {
    settings: AmqpSettings,
    /// The consumer's queue, prefixed.
    main: String,
    /// Deadline of each broker call.
    timeout: Duration,
}

/// Messages taken from the dead-letter queue, not yet settled. Dropped
/// unsettled (an error), they return to the queue when the connection
/// closes.
pub struct Taken {
    conn: lapin::Connection,
    channel: lapin::Channel,
    main: String,
    timeout: Duration,
    messages: Vec<(lapin::message::Delivery, DeadLetter)>,
}

impl DeadLetters {
    /// `queue` as the consumer names it (unprefixed).
    pub fn new(settings: AmqpSettings, queue: &str, timeout: Duration) -> Self {
        let main = format!("{}.{queue}", settings.queue_prefix);
        Self { settings, main, timeout }
    }

    /// The dead-letter queue's full name.
    pub fn queue(&self) -> String {
        format!("{}.dlq", self.main)
    }

    /// Messages waiting in the dead-letter queue (0 when it was never declared).
    pub async fn count(&self) -> Result<u64, DeadLetterError> {
        let (conn, channel) = within(self.timeout, "connect", open_channel(&self.settings)).await?;
        let passive = QueueDeclareOptions { passive: true, durable: true, ..Default::default() };
        let declared =
            within(self.timeout, "queue.declare", channel.queue_declare(self.queue().into(), passive, FieldTable::default())).await;
        let _ = conn.close(200, "counted".into()).await;
        match declared {
            Ok(queue) => Ok(queue.message_count().into()),
            Err(DeadLetterError::Broker(e)) if not_found(&e) => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Takes up to `limit` messages, oldest first, unacked.
    pub async fn take(&self, limit: u64) -> Result<Taken, DeadLetterError> {
        let (conn, channel) = within(self.timeout, "connect", open_channel(&self.settings)).await?;
        within(self.timeout, "confirm.select", channel.confirm_select(ConfirmSelectOptions::default())).await?;
        let mut messages = Vec::new();
        let queue = self.queue();
        while (messages.len() as u64) < limit {
            let got = within(self.timeout, "basic.get", channel.basic_get(queue.as_str().into(), BasicGetOptions { no_ack: false })).await;
            match got {
                Ok(Some(message)) => {
                    let summary = DeadLetter::of(&message.delivery);
                    messages.push((message.delivery, summary));
                }
                Ok(None) => break,
                Err(DeadLetterError::Broker(e)) if not_found(&e) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(Taken { conn, channel, main: self.main.clone(), timeout: self.timeout, messages })
    }
}

impl Taken {
    /// What was taken, oldest first.
    pub fn letters(&self) -> impl Iterator<Item = &DeadLetter> {
        self.messages.iter().map(|(_, summary)| summary)
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Returns every message to the dead-letter queue, in order.
    pub async fn put_back(self) -> Result<(), DeadLetterError> {
        for (delivery, _) in &self.messages {
            let requeue = BasicNackOptions { multiple: false, requeue: true };
            within(self.timeout, "basic.nack", self.channel.basic_nack(delivery.delivery_tag, requeue)).await?;
        }
        self.close().await;
        Ok(())
    }

    /// Drops every message for good.
    pub async fn discard(self) -> Result<u64, DeadLetterError> {
        if let Some((last, _)) = self.messages.last() {
            within(self.timeout, "basic.ack", self.channel.basic_ack(last.delivery_tag, BasicAckOptions { multiple: true })).await?;
        }
        let n = self.messages.len() as u64;
        self.close().await;
        Ok(n)
    }

    /// Publishes a copy of every message to the consumer's queue, waits for
    /// the broker's confirms, then acks them here.
    pub async fn replay(self) -> Result<u64, DeadLetterError> {
        let mut confirms = Vec::with_capacity(self.messages.len());
        for (delivery, summary) in &self.messages {
            let properties = replayed_properties(&delivery.properties, &summary.routing_key);
            let mandatory = BasicPublishOptions { mandatory: true, ..Default::default() };
            let publish = self.channel.basic_publish("".into(), self.main.as_str().into(), mandatory, &delivery.data, properties);
            confirms.push(within(self.timeout, "basic.publish", publish).await?);
        }
        for confirm in confirms {
            match within(self.timeout, "the publish confirm", confirm).await? {
                Confirmation::Ack(None) => {}
                Confirmation::Ack(Some(_)) | Confirmation::Nack(_) | Confirmation::NotRequested => {
                    return Err(DeadLetterError::Refused(self.main.clone()));
                }
            }
        }
        self.discard().await
    }

    async fn close(self) {
        let _ = tokio::time::timeout(self.timeout, self.conn.close(200, "dead letters settled".into())).await;
    }
}

/// The original properties (message id, trace context, x-death), plus the
/// event's routing key for the consumer.
fn replayed_properties(original: &BasicProperties, routing_key: &str) -> BasicProperties {
    let mut headers = original.headers().clone().unwrap_or_default();
    headers.insert(REPLAYED_ROUTING_KEY.into(), AMQPValue::LongString(routing_key.into()));
    original.clone().with_headers(headers).with_delivery_mode(2)
}

/// `future` under `timeout`, named in the error.
async fn within<T>(timeout: Duration, what: &'static str, future: impl Future<Output = lapin::Result<T>>) -> Result<T, DeadLetterError> {
    tokio::time::timeout(timeout, future).await.map_err(|_| DeadLetterError::Timeout(what))?.map_err(DeadLetterError::from)
}

/// The broker's 404: the queue was never declared.
fn not_found(e: &lapin::Error) -> bool {
    use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
    matches!(e.kind(), lapin::ErrorKind::ProtocolError(amqp) if matches!(amqp.kind(), AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND)))
}
