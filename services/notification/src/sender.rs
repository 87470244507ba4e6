//! The sender: takes due deliveries, posts them to the SMS gateway and
//! records the outcome. Any number of replicas run it side by side; the
//! gateway's idempotency key makes the rare double attempt (a replica dying
//! between sending and recording) send nothing twice.
use std::{sync::Arc, time::Duration};

use futures_util::StreamExt as _;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::Notify;
use uuid::Uuid;
use yeyak_platform::{metrics::Metrics, Shutdown};

use crate::{
    domain::{self, AfterFailure},
    gateway::{SendOutcome, SmsGateway},
    store::{Claimed, DeliveryStore},
};

/// Deliveries claimed per round.
const BATCH: usize = 50;

/// Sender loops per replica. With a backlog, one loop's next claim waits for
/// its whole round (the slowest send, then the record); a second loop claims
/// and sends meanwhile. Claims skip each other's rows, and the rule that a
/// reservation's older message goes first holds across loops as it does
/// across replicas.
pub const LOOPS: usize = 2;

/// Per-stage counters, so a gateway outage shows on dashboards before it
/// shows on social media.
#[derive(Clone, Default)]
pub struct SenderMetrics {
    sent: Counter,
    retried: Counter,
    given_up: Counter,
}

impl SenderMetrics {
    pub fn register(metrics: &Metrics) -> Self {
        let m = Self::default();
        metrics.register("notification_sms_sent", "SMS accepted by the gateway", m.sent.clone());
        metrics.register("notification_sms_retried", "SMS attempts that failed and will be retried", m.retried.clone());
        metrics.register("notification_sms_failed", "SMS given up after the last attempt", m.given_up.clone());
        m
    }
}

pub struct Sender {
    pub store: DeliveryStore,
    pub gateway: SmsGateway,
    pub max_attempts: u32,
    pub concurrency: usize,
    /// How long a claim keeps other replicas off a delivery: longer than the
    /// slowest possible round, so a live sender is never overtaken.
    pub lease: Duration,
    pub metrics: SenderMetrics,
}

impl Sender {
    pub fn lease_for(call_timeout: Duration, concurrency: usize) -> Duration {
        let rounds = BATCH.div_ceil(concurrency.max(1)) as u32 + 1;
        (call_timeout * rounds + Duration::from_secs(5)).max(Duration::from_secs(30))
    }

    /// Sends one batch of due deliveries; returns how many were claimed. The
    /// accepted ones are recorded together, in one statement.
    pub async fn send_due(&self) -> Result<usize, sqlx::Error> {
        let claimed = self.store.claim_due(BATCH as i64, self.lease).await?;
        let n = claimed.len();
        let accepted: Vec<Uuid> = futures_util::stream::iter(claimed)
            .map(|c| self.send_one(c))
            .buffer_unordered(self.concurrency.max(1))
            .filter_map(|sent| async move { sent })
            .collect()
            .await;
        if !accepted.is_empty() {
            if let Err(e) = self.store.mark_sent(&accepted).await {
                // The lease expires and the resends are deduplicated by the gateway.
                tracing::warn!(messages = accepted.len(), error = %e, "sms sent but not recorded; will be confirmed again");
            }
        }
        Ok(n)
    }

    /// Sends one delivery; its message id if the gateway accepted it
    /// (recorded by the caller), else the failure is recorded here.
    async fn send_one(&self, c: Claimed) -> Option<Uuid> {
        let attempt = u32::try_from(c.attempts).unwrap_or(0) + 1;
        let outcome = match c.phone.as_deref() {
            Some(phone) => self.gateway.send(c.message_id, phone, &c.text).await,
            None => SendOutcome::Rejected("no destination number".into()),
        };
        let (retry_in, reason) = match outcome {
            SendOutcome::Accepted { gateway_id, duplicate } => {
                tracing::info!(message_id = %c.message_id, to = %c.masked_phone, attempt, ?gateway_id, duplicate, "sms accepted by the gateway");
                self.metrics.sent.inc();
                return Some(c.message_id);
            }
            SendOutcome::Retryable(reason) => (domain::after_failure(attempt, self.max_attempts, false), reason),
            SendOutcome::Rejected(reason) => (domain::after_failure(attempt, self.max_attempts, true), reason),
        };
        let next = match retry_in {
            AfterFailure::RetryIn(delay) => {
                tracing::warn!(message_id = %c.message_id, to = %c.masked_phone, attempt, %reason, retry_in = ?delay, "sms attempt failed");
                self.metrics.retried.inc();
                Some(delay)
            }
            AfterFailure::GiveUp => {
                tracing::error!(message_id = %c.message_id, to = %c.masked_phone, attempt, %reason, "sms given up");
                self.metrics.given_up.inc();
                None
            }
        };
        if let Err(e) = self.store.mark_attempt_failed(c.message_id, next, &reason).await {
            tracing::warn!(message_id = %c.message_id, error = %e, "could not record the failed attempt; retried after the lease");
        }
        None
    }
}

/// Runs until shutdown: a full batch is followed at once by the next, new
/// rows wake the loop immediately, and a periodic sweep catches due retries
/// and rows other replicas wrote.
pub async fn run(sender: Arc<Sender>, wake: Arc<Notify>, sweep: Duration, shutdown: Shutdown) {
    while !shutdown.is_triggered() {
        match sender.send_due().await {
            Ok(n) if n >= BATCH => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "sender cannot reach the database; retrying"),
        }
        tokio::select! {
            _ = wake.notified() => {},
            _ = tokio::time::sleep(sweep) => {},
            _ = shutdown.wait() => {},
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn lease_outlasts_the_slowest_round() {
        assert_eq!(Sender::lease_for(Duration::from_secs(2), 16), Duration::from_secs(30));
        assert_eq!(Sender::lease_for(Duration::from_secs(2), 1), Duration::from_secs(2 * 51 + 5));
    }
}
