//! A private queue bound to the test's exchange for every `reservation.*`
//! event, bound before the service starts so no event can be missed.
use std::time::Duration;

use futures_util::StreamExt as _;
use lapin::{
    options::{BasicConsumeOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions},
    types::FieldTable,
    Connection, ConnectionProperties, ExchangeKind,
};

const AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// One received event.
#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub routing_key: String,
    pub message_id: String,
    pub payload: Vec<u8>,
}

pub(crate) struct Tap {
    conn: Connection,
    channel: lapin::Channel,
    consumer: lapin::Consumer,
    exchange: String,
}

impl Tap {
    pub(crate) async fn bind(exchange: &str) -> Self {
        let conn = Connection::connect(AMQP_URL, ConnectionProperties::default()).await.unwrap();
        let channel = conn.create_channel().await.unwrap();
        let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
        channel.exchange_declare(exchange.into(), ExchangeKind::Topic, durable, FieldTable::default()).await.unwrap();
        let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() };
        let queue = channel.queue_declare("".into(), options, FieldTable::default()).await.unwrap();
        channel
            .queue_bind(queue.name().clone(), exchange.into(), "reservation.#".into(), QueueBindOptions::default(), FieldTable::default())
            .await
            .unwrap();
        let options = BasicConsumeOptions { no_ack: true, ..Default::default() };
        let consumer = channel.basic_consume(queue.name().clone(), "tap".into(), options, FieldTable::default()).await.unwrap();
        Self { conn, channel, consumer, exchange: exchange.to_owned() }
    }

    /// The next event, or `None` if none arrives within `within`.
    pub(crate) async fn next_within(&mut self, within: Duration) -> Option<Received> {
        let delivery = tokio::time::timeout(within, self.consumer.next()).await.ok()??.unwrap();
        Some(Received {
            routing_key: delivery.routing_key.as_str().to_owned(),
            message_id: delivery.properties.message_id().as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            payload: delivery.data,
        })
    }

    /// The next event, decoded; fails the test if it is not a `routing_key` event.
    pub(crate) async fn expect<M: prost::Message + Default>(&mut self, routing_key: &str) -> M {
        let received = self.next_within(Duration::from_secs(15)).await.unwrap_or_else(|| panic!("no {routing_key} event"));
        assert_eq!(received.routing_key, routing_key);
        assert!(uuid::Uuid::parse_str(&received.message_id).is_ok(), "message id {:?}", received.message_id);
        M::decode(received.payload.as_slice()).unwrap()
    }

    pub(crate) async fn close(self) {
        let _ = self.channel.exchange_delete(self.exchange.as_str().into(), ExchangeDeleteOptions::default()).await;
        let _ = self.conn.close(200, "done".into()).await;
    }
}
