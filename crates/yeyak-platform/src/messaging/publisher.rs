//! A publisher that waits for the broker's confirm of every message and
//! reconnects on the next call after a failure (the outbox relay spaces
//! those calls with jittered backoff). With quorum queues the confirm comes
//! once a majority of the queue's replicas hold the message.
use std::time::Duration;

use lapin::{options::BasicPublishOptions, options::ConfirmSelectOptions, BasicProperties, Confirmation};
use tokio::sync::Mutex;

use super::{open_channel, AmqpSettings};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("broker unreachable: {0}")]
    Unreachable(#[from] lapin::Error),
    #[error("broker refused the message (nack)")]
    Nacked,
    #[error("no queue is bound for routing key {0}")]
    Unroutable(String),
    #[error("broker did not confirm in time")]
    Timeout,
}

pub struct Publisher {
    settings: AmqpSettings,
    state: Mutex<Option<(lapin::Connection, lapin::Channel)>>,
    confirm_timeout: Duration,
}

/// An event ready to go out.
#[derive(Clone, Debug)]
pub struct Outgoing {
    pub event_id: uuid::Uuid,
    pub routing_key: String,
    pub payload: Vec<u8>,
    pub traceparent: String,
}

impl Publisher {
    pub fn new(settings: AmqpSettings) -> Self {
        Self { settings, state: Mutex::new(None), confirm_timeout: Duration::from_secs(5) }
    }

    /// Publishes a batch and returns once the broker confirmed all of them
    /// (confirms are pipelined: the batch costs about one round trip).
    pub async fn publish_all(&self, events: &[Outgoing]) -> Result<(), PublishError> {
        let mut state = self.state.lock().await;
        let result = self.publish_locked(&mut state, events).await;
        if result.is_err() {
            // Drop the connection; the next call reconnects.
            *state = None;
        }
        result
    }

    async fn publish_locked(
        &self,
        state: &mut Option<(lapin::Connection, lapin::Channel)>,
        events: &[Outgoing],
    ) -> Result<(), PublishError> {
        let alive = state.as_ref().is_some_and(|(c, ch)| c.status().connected() && ch.status().connected());
        if !alive {
            let (conn, channel) =
                tokio::time::timeout(self.confirm_timeout, open_channel(&self.settings)).await.map_err(|_| PublishError::Timeout)??;
            channel.confirm_select(ConfirmSelectOptions::default()).await?;
            *state = Some((conn, channel));
        }
        let Some((_, channel)) = state.as_ref() else { return Err(PublishError::Timeout) };
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let mut headers = lapin::types::FieldTable::default();
            if !event.traceparent.is_empty() {
                headers.insert("traceparent".into(), lapin::types::AMQPValue::LongString(event.traceparent.as_str().into()));
            }
            let props = BasicProperties::default()
                .with_delivery_mode(2)
                .with_message_id(event.event_id.to_string().into())
                .with_content_type("application/x-protobuf".into())
                .with_type(event.routing_key.as_str().into())
                .with_headers(headers);
            let confirm = channel
                .basic_publish(
                    self.settings.exchange.as_str().into(),
                    event.routing_key.as_str().into(),
                    BasicPublishOptions { mandatory: true, ..Default::default() },
                    &event.payload,
                    props,
                )
                .await?;
            pending.push((event.routing_key.clone(), confirm));
        }
        for (key, confirm) in pending {
            match tokio::time::timeout(self.confirm_timeout, confirm).await.map_err(|_| PublishError::Timeout)?? {
                Confirmation::Ack(None) => {}
                Confirmation::Ack(Some(_)) => return Err(PublishError::Unroutable(key)),
                Confirmation::Nack(_) | Confirmation::NotRequested => return Err(PublishError::Nacked),
            }
        }
        Ok(())
    }
}
