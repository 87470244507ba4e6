//! A publisher that waits for the broker's confirm of every message and
//! reconnects on the next call after a failure (the outbox relay spaces
//! those calls with jittered backoff). With quorum queues the confirm comes
//! once a majority of the queue's replicas hold the message.
//!
//! Each message gets a PRODUCER span (`spans::publish`) from the
//! publish to its confirm, and carries that span's context (when tracing is
//! off, the context it was given, unchanged).
use std::time::Duration;

use lapin::{options::BasicPublishOptions, options::ConfirmSelectOptions, BasicProperties, Confirmation};
use tokio::sync::Mutex;
use tracing::Span;

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
    /// The W3C context of what caused the event (the request that wrote its
    /// outbox row): the parent of its publish span. Empty for none.
    pub traceparent: String,
}

impl Publisher {
    pub fn new(settings: AmqpSettings) -> Self {
        Self { settings, state: Mutex::new(None), confirm_timeout: Duration::from_secs(5) }
    }

    /// Publishes a batch and returns once the broker confirmed all of them
    /// (confirms are pipelined: the batch costs about one round trip).
    pub async fn publish_all(&self, events: &[Outgoing]) -> Result<(), PublishError> {
        let spans: Vec<Span> = events.iter().map(|event| super::spans::publish(&self.settings.exchange, event)).collect();
        let mut state = self.state.lock().await;
        let result = self.publish_locked(&mut state, events, &spans).await;
        if let Err(e) = &result {
            // Drop the connection; the next call reconnects.
            *state = None;
            spans.iter().for_each(|span| crate::telemetry::set_error(span, e.to_string()));
        } else {
            for (span, event) in spans.iter().zip(events) {
                span.in_scope(|| tracing::debug!(event_id = %event.event_id, routing_key = %event.routing_key, "event published"));
            }
        }
        result
    }

    async fn publish_locked(
        &self,
        state: &mut Option<(lapin::Connection, lapin::Channel)>,
        events: &[Outgoing],
        spans: &[Span],
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
        for (event, span) in events.iter().zip(spans) {
            let mut headers = lapin::types::FieldTable::default();
            let own = (!span.is_disabled()).then(|| crate::telemetry::traceparent_of(span));
            let traceparent = own.as_deref().unwrap_or(&event.traceparent);
            if !traceparent.is_empty() {
                headers.insert("traceparent".into(), lapin::types::AMQPValue::LongString(traceparent.into()));
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
