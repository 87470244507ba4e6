//! Helpers shared by the platform's integration tests: the broker ones of
//! the quorum-queue tests, and stand-in services (`fakes`).
#![allow(dead_code, clippy::unwrap_used)] // each test file uses its own subset; set-up failures abort the test

pub(crate) mod fakes;

use std::time::{Duration, Instant};

use lapin::{options::QueueDeclareOptions, types::FieldTable};
use yeyak_platform::messaging::{publisher::Outgoing, AmqpSettings, Publisher};

/// A private namespace for one test.
pub(crate) fn namespace() -> AmqpSettings {
    AmqpSettings::for_test(&uuid::Uuid::new_v4().simple().to_string()[..12])
}

pub(crate) async fn channel(amqp: &AmqpSettings) -> (lapin::Connection, lapin::Channel) {
    let conn = lapin::Connection::connect(amqp.url.expose(), lapin::ConnectionProperties::default()).await.unwrap();
    let channel = conn.create_channel().await.unwrap();
    (conn, channel)
}

/// Messages ready in `queue` (full name), or `None` if it does not exist.
pub(crate) async fn depth(amqp: &AmqpSettings, queue: &str) -> Option<u32> {
    counts(amqp, queue).await.map(|(messages, _)| messages)
}

/// Messages ready and consumers attached, if the queue exists.
pub(crate) async fn counts(amqp: &AmqpSettings, queue: &str) -> Option<(u32, u32)> {
    let (conn, channel) = channel(amqp).await;
    let options = QueueDeclareOptions { passive: true, ..Default::default() };
    let counts =
        channel.queue_declare(queue.into(), options, FieldTable::default()).await.ok().map(|q| (q.message_count(), q.consumer_count()));
    let _ = conn.close(200, "done".into()).await;
    counts
}

/// Waits until `check` holds, failing the test after `within`.
pub(crate) async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < within, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Publishes one event per payload byte, routing key `test.e<byte>`.
pub(crate) async fn publish(amqp: &AmqpSettings, payloads: impl IntoIterator<Item = u8>) {
    let events: Vec<Outgoing> = payloads
        .into_iter()
        .map(|i| Outgoing {
            event_id: uuid::Uuid::new_v4(),
            routing_key: format!("test.e{i}"),
            payload: vec![i],
            traceparent: String::new(),
        })
        .collect();
    Publisher::new(amqp.clone()).publish_all(&events).await.unwrap();
}

/// The `x-first-death-reason` of the next dead letter in `dlq`, taken off it.
pub(crate) async fn dead_letter_reason(amqp: &AmqpSettings, dlq: &str) -> Option<String> {
    let (conn, channel) = channel(amqp).await;
    let got = channel.basic_get(dlq.into(), Default::default()).await.unwrap()?;
    got.delivery.ack(Default::default()).await.unwrap();
    let _ = conn.close(200, "done".into()).await;
    let headers = got.delivery.properties.headers().clone()?;
    match headers.inner().get("x-first-death-reason") {
        Some(lapin::types::AMQPValue::LongString(s)) => Some(s.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// Waits until the consumer declared `queue` (without prefix).
pub(crate) async fn declared_by(amqp: &AmqpSettings, queue: &str) {
    let name = format!("{}.{queue}", amqp.queue_prefix);
    eventually(Duration::from_secs(10), "the queue is declared", || async { depth(amqp, &name).await.is_some() }).await;
}

/// Waits until `queue` has a consumer attached (declared is not subscribed:
/// a replica started next could otherwise subscribe first).
pub(crate) async fn consumed_by_one(amqp: &AmqpSettings, queue: &str) {
    let name = format!("{}.{queue}", amqp.queue_prefix);
    eventually(Duration::from_secs(10), "a consumer is attached", || async {
        counts(amqp, &name).await.is_some_and(|(_, consumers)| consumers >= 1)
    })
    .await;
}
