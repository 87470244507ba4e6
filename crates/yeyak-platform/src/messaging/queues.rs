//! The queues a consumer declares: a quorum queue and its dead-letter queue,
//! both replicated (a quorum queue keeps its messages when one node of a
//! three-node cluster dies; a classic queue loses the node's).
//!
//! What quorum queues change (observed on RabbitMQ 3.10.8, pinned by
//! `tests/quorum.rs`):
//! - Every return of a message (nack or reject with requeue, and a channel
//!   or connection closed while it is unacked: a crash, a deploy, the
//!   broker's 30-minute `consumer_timeout`) adds one to its
//!   `x-delivery-count`; the return that takes it past [`DELIVERY_LIMIT`]
//!   dead-letters it. That is how a message that kills its consumer
//!   reaches the dead-letter queue. It also means a consumer must not
//!   requeue on a transient failure: it retries in-process instead (see
//!   [`super::consumer`]), or a long database outage would dead-letter
//!   good messages.
//! - A returned message goes back to the head of the queue: it is
//!   redelivered before every message not yet delivered, returned messages
//!   in their original order. Messages already prefetched by a consumer are
//!   not overtaken, and are returned (and counted) with it if it dies.
//! - Exclusive, non-durable and priority queues, and `basic.qos` with
//!   `global`, are not supported (the consumer's `basic_consume` fails with
//!   `NOT_IMPLEMENTED` after a global qos); our consumers use per-consumer
//!   prefetch.
use lapin::{
    options::{QueueBindOptions, QueueDeclareOptions},
    protocol::{AMQPErrorKind, AMQPSoftError},
    types::{AMQPValue, FieldTable},
};

use super::AmqpSettings;

/// Returns a message may take before it is dead-lettered (it is delivered
/// at most this many times plus one). Transient failures never return a
/// message, so only crashes, restarts and broker consumer timeouts count:
/// 20 (RabbitMQ 4's default) lets a message ride out many deploys and a
/// ten-hour outage (one timeout every 30 minutes) while a message that
/// kills its consumer leaves after 21 deliveries. The messages prefetched
/// behind such a message are returned with it each time, so they may follow
/// it to the dead-letter queue: replay them from there (`docs/deployment.md`).
pub const DELIVERY_LIMIT: i64 = 20;

/// The dead-letter queue's own limit. A quorum queue with no dead-letter
/// exchange *drops* a message past its limit (observed: limit 1, after two
/// requeued reads the message was gone), so this is high: an operator who
/// peeks at dead letters with requeue, or a crash-looping replay tool,
/// should not lose them.
pub const DLQ_DELIVERY_LIMIT: i64 = 1_000;

/// The arguments of a consumer's queue: quorum, [`DELIVERY_LIMIT`], and
/// at-least-once dead-lettering into `dlq` (a dead letter stays in the
/// queue until the dead-letter queue has it, even while that queue's
/// leader moves; RabbitMQ requires `reject-publish` overflow for it, which
/// without a length limit never rejects anything).
pub fn queue_arguments(dlq: &str, single_active: bool) -> FieldTable {
    let mut args = quorum(DELIVERY_LIMIT);
    if single_active {
        args.insert("x-single-active-consumer".into(), AMQPValue::Boolean(true));
    }
    args.insert("x-dead-letter-exchange".into(), AMQPValue::LongString("".into()));
    args.insert("x-dead-letter-routing-key".into(), AMQPValue::LongString(dlq.into()));
    args.insert("x-dead-letter-strategy".into(), AMQPValue::LongString("at-least-once".into()));
    args.insert("x-overflow".into(), AMQPValue::LongString("reject-publish".into()));
    args
}

/// The arguments of a dead-letter queue: quorum, [`DLQ_DELIVERY_LIMIT`].
pub fn dlq_arguments() -> FieldTable {
    quorum(DLQ_DELIVERY_LIMIT)
}

fn quorum(limit: i64) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert("x-queue-type".into(), AMQPValue::LongString("quorum".into()));
    args.insert("x-delivery-limit".into(), AMQPValue::LongLongInt(limit));
    args
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("broker: {0}")]
    Broker(#[from] lapin::Error),
    /// `queue` (`main` or its dead-letter queue) exists with other
    /// arguments: RabbitMQ never changes a queue's type or arguments in
    /// place, and answers every such declaration with `PRECONDITION_FAILED`
    /// (closing the channel) until the queue is deleted.
    #[error(
        "queue {queue} already exists with other arguments than this version declares \
         (quorum, with x-delivery-limit; broker: {broker}). It is most likely a classic queue left by \
         an older Yeyak. Stop its old consumers, let it drain (or move its messages: docs/deployment.md, \
         'RabbitMQ: quorum queues'), then delete both queues: \
         `rabbitmqctl delete_queue {main}` and `rabbitmqctl delete_queue {main}.dlq`. \
         This consumer keeps retrying and declares them anew, no restart needed"
    )]
    Mismatch { queue: String, main: String, broker: String },
}

/// A consumer's queue: its name under the settings' prefix, and whether one
/// replica at a time consumes it.
#[derive(Clone, Copy, Debug)]
pub struct QueueSpec<'a> {
    pub name: &'a str,
    /// `x-single-active-consumer`: every replica subscribes, the broker
    /// delivers to one and fails over to the next when it goes. The queue's
    /// order then holds across replicas, not only within one (two replicas
    /// sharing a queue may each get one event of the same entity and apply
    /// them in either order), at the cost of one consuming replica.
    pub single_active: bool,
}

impl<'a> QueueSpec<'a> {
    /// A queue consumed by one replica at a time, in order.
    pub fn in_order(name: &'a str) -> Self {
        Self { name, single_active: true }
    }
}

impl<'a> From<&'a str> for QueueSpec<'a> {
    /// A queue every replica consumes from at once.
    fn from(name: &'a str) -> Self {
        Self { name, single_active: false }
    }
}

/// Declares the dead-letter queue, the queue and its bindings on the
/// `exchange` of `settings`, and reports a queue that exists with other
/// arguments as [`QueueError::Mismatch`].
pub async fn declare(
    channel: &lapin::Channel,
    settings: &AmqpSettings,
    queue: &str,
    single_active: bool,
    routing_keys: &[&str],
) -> Result<(), QueueError> {
    let dlq = format!("{queue}.dlq");
    declare_one(channel, queue, &dlq, dlq_arguments()).await?;
    declare_one(channel, queue, queue, queue_arguments(&dlq, single_active)).await?;
    for key in routing_keys {
        channel
            .queue_bind(queue.into(), settings.exchange.as_str().into(), (*key).into(), QueueBindOptions::default(), FieldTable::default())
            .await?;
    }
    Ok(())
}

async fn declare_one(channel: &lapin::Channel, main: &str, queue: &str, args: FieldTable) -> Result<(), QueueError> {
    match channel.queue_declare(queue.into(), QueueDeclareOptions::durable(), args).await {
        Ok(_) => Ok(()),
        Err(e) => Err(match inequivalent(&e) {
            Some(broker) => QueueError::Mismatch { queue: queue.to_owned(), main: main.to_owned(), broker },
            None => e.into(),
        }),
    }
}

/// The broker's text when `error` is its answer to a declaration that
/// differs from the existing queue (`406 PRECONDITION_FAILED - inequivalent
/// arg 'x-queue-type' ...`; it names the first argument that differs).
fn inequivalent(error: &lapin::Error) -> Option<String> {
    let lapin::ErrorKind::ProtocolError(amqp) = error.kind() else { return None };
    let message = amqp.get_message().as_str();
    (matches!(amqp.kind(), AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED)) && message.contains("inequivalent arg"))
        .then(|| message.to_owned())
}
