//! The sender: takes due deliveries, sends them through the gateways
//! (`route`) and records the outcome, retrying failures with the domain's
//! backoff and asking again where the outcome is unknown.
use std::{sync::Arc, time::Duration};

use futures_util::StreamExt as _;
use uuid::Uuid;
use yeyak_platform::{metrics::Stage, Shutdown};

use super::{route::Routed, Deliveries};
use crate::{
    domain::{self, AfterFailure},
    error::Error,
    store::Claimed,
};

/// Deliveries claimed per round.
const BATCH: usize = 50;

/// Sender loops per replica. With a backlog, one loop's next claim waits for
/// its whole round (the slowest send, then the record); a second loop claims
/// and sends meanwhile. Claims skip each other's rows, and the rule that a
/// reservation's older message goes first holds across loops as it does
/// across replicas.
pub(crate) const LOOPS: usize = 2;

/// A lease that outlasts the slowest round: every call of a batch, queued
/// `concurrency` at a time, running into its deadline.
pub(super) fn lease_for(call_timeout: Duration, concurrency: usize) -> Duration {
    let rounds = BATCH.div_ceil(concurrency.max(1)) as u32 + 1;
    (call_timeout * rounds + Duration::from_secs(5)).max(Duration::from_secs(30))
}

impl Deliveries {
    /// Runs one send loop until shutdown: a full batch is followed at once by
    /// the next, new rows wake the loop immediately, and a periodic sweep
    /// catches due retries and rows other replicas wrote.
    pub(crate) async fn send_until_stopped(self: Arc<Self>, sweep: Duration, shutdown: Shutdown) {
        while !shutdown.is_triggered() {
            match self.send_due().await {
                Ok(n) if n >= BATCH => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sender cannot reach the database; retrying"),
            }
            tokio::select! {
                _ = self.wake.notified() => {},
                _ = tokio::time::sleep(sweep) => {},
                _ = shutdown.wait() => {},
            }
        }
    }

    /// Sends one batch of due deliveries; returns how many were claimed.
    /// Fresh ones are handed to the healthiest gateway first, in one
    /// statement; the accepted ones are recorded together, in another.
    async fn send_due(&self) -> Result<usize, Error> {
        let claimed = self.store.claim_due(BATCH as i64, self.lease).await?;
        let n = claimed.len();
        let planned = self.gateways.ranked().into_iter().next().map(|s| s.id);
        let fresh: Vec<Uuid> = claimed.iter().filter(|c| c.gateway.is_none()).map(|c| c.message_id).collect();
        if let (Some(gateway), false) = (&planned, fresh.is_empty()) {
            // Nothing leaves before the rows name where it goes.
            self.store.hand_to(&fresh, gateway).await?;
        }
        let planned = planned.as_deref();
        let sent: Vec<(Uuid, String)> = futures_util::stream::iter(claimed)
            .map(|c| self.send_one(c, planned))
            .buffer_unordered(self.concurrency.max(1))
            .filter_map(|sent| async move { sent })
            .collect()
            .await;
        if !sent.is_empty() {
            if let Err(e) = self.store.mark_sent(&sent).await {
                // The lease expires; the next round asks the gateway named in the row.
                tracing::warn!(messages = sent.len(), error = %e, "sms sent but not recorded; will be confirmed again");
            }
        }
        Ok(n)
    }

    /// Sends one delivery; its message id and gateway if a gateway has it
    /// (recorded by the caller), else the outcome is recorded here.
    async fn send_one(&self, c: Claimed, planned: Option<&str>) -> Option<(Uuid, String)> {
        let attempt = u32::try_from(c.attempts).unwrap_or(0) + 1;
        // Opened here, in memory, for this one round; wiped when it returns.
        let routed = match (&c.sealed_contact, &c.phone) {
            (Some(sealed), _) => match self.contacts.open(c.reservation_id.as_bytes(), sealed) {
                Ok(phone) => self.route(&c, &phone, planned).await,
                Err(e) => Routed::Rejected(format!("sealed contact: {e}")),
            },
            (None, Some(phone)) => self.route(&c, phone, planned).await,
            (None, None) => Routed::Rejected("no destination number".into()),
        };
        let (retry_in, reason) = match routed {
            Routed::Sent { gateway, duplicate } => {
                tracing::info!(message_id = %c.message_id, to = %c.masked_phone, attempt, %gateway, duplicate, "sms accepted by the gateway");
                self.metrics.sent.inc();
                self.metrics.funnel(c.funnel_event.as_deref(), Stage::SmsSent);
                return Some((c.message_id, gateway));
            }
            Routed::Unknown { gateway, reason } => {
                let check_in = domain::backoff(attempt);
                tracing::warn!(message_id = %c.message_id, attempt, %gateway, %reason, check_in = ?check_in,
                    "sms outcome unknown at the gateway; asking it again later, never sending elsewhere meanwhile");
                self.metrics.unknown.inc();
                if let Err(e) = self.store.mark_unknown(c.message_id, &gateway, check_in, &reason).await {
                    tracing::warn!(message_id = %c.message_id, error = %e, "could not record the unknown outcome; the row still names the gateway");
                }
                return None;
            }
            Routed::NotTaken(reason) => (domain::after_failure(attempt, self.max_attempts, false), reason),
            Routed::Rejected(reason) => (domain::after_failure(attempt, self.max_attempts, true), reason),
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
                self.metrics.funnel(c.funnel_event.as_deref(), Stage::SmsFailed);
                None
            }
        };
        if let Err(e) = self.store.mark_attempt_failed(c.message_id, next, &reason).await {
            tracing::warn!(message_id = %c.message_id, error = %e, "could not record the failed attempt; retried after the lease");
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_outlasts_the_slowest_round() {
        assert_eq!(lease_for(Duration::from_secs(2), 16), Duration::from_secs(30));
        assert_eq!(lease_for(Duration::from_secs(2), 1), Duration::from_secs(2 * 51 + 5));
    }
}
