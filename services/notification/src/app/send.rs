//! The sender: takes due deliveries, sends them through the gateways
//! (`route`) and records the outcome, retrying failures with the domain's
//! backoff and asking again where the outcome is unknown.
use std::{sync::Arc, time::Duration};

use futures_util::StreamExt as _;
use uuid::Uuid;
use yeyak_platform::{metrics::Stage, Shutdown};

use super::{
    route::{Round, Routed},
    Deliveries,
};
use crate::{
    domain::{self, AfterFailure},
    error::Error,
    store::{Attempt, Claimed},
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
    /// Each row names its gateway just before its own send (`route`); the
    /// accepted ones are recorded together, in one statement.
    async fn send_due(&self) -> Result<usize, Error> {
        let claimed = self.store.claim_due(BATCH as i64, self.lease).await?;
        let n = claimed.len();
        let (claimed, first) = self.hand_over(claimed).await;
        let sent: Vec<(Attempt, String)> = futures_util::stream::iter(claimed)
            .map(|c| self.send_one(c, first.as_deref()))
            .buffer_unordered(self.concurrency.max(1))
            .filter_map(|sent| async move { sent })
            .collect()
            .await;
        if !sent.is_empty() {
            match self.store.mark_sent(&sent).await {
                Ok(recorded) if recorded.len() < sent.len() => {
                    let overtaken: Vec<Uuid> = sent.iter().map(|(a, _)| a.message_id).filter(|id| !recorded.contains(id)).collect();
                    tracing::warn!(?overtaken, "sms sent but claimed by another round meanwhile; that round confirms it at the gateway");
                }
                Ok(_) => {}
                // The lease expires; the next round asks the gateway named in the row.
                Err(e) => tracing::warn!(messages = sent.len(), error = %e, "sms sent but not recorded; will be confirmed again"),
            }
        }
        Ok(n)
    }

    /// Names the healthiest gateway, in one statement, in every claimed row
    /// that names none yet (`DeliveryStore::hand_over`): most messages then
    /// leave without a write of their own. Returns the rows still this
    /// round's and the gateway named, if any. Should the statement fail, the
    /// rows go on unnamed and each is named just before its send, as a row
    /// that fails over to another gateway is.
    async fn hand_over(&self, claimed: Vec<Claimed>) -> (Vec<Claimed>, Option<String>) {
        let fresh: Vec<(Uuid, i32)> = claimed.iter().filter(|c| c.gateway.is_none()).map(|c| (c.message_id, c.generation)).collect();
        let (Some(first), Some(claim)) = (self.gateways.offered().into_iter().next(), claimed.first().map(|c| c.claim)) else {
            return (claimed, None);
        };
        if fresh.is_empty() {
            return (claimed, None);
        }
        match self.store.hand_over(claim, &first.id, &fresh).await {
            Ok(named) => {
                let (kept, overtaken): (Vec<_>, Vec<_>) =
                    claimed.into_iter().partition(|c| c.gateway.is_some() || named.contains(&c.message_id));
                if !overtaken.is_empty() {
                    // The lease ran out between the claim and this statement:
                    // another round has these rows and sends them.
                    let overtaken: Vec<Uuid> = overtaken.iter().map(|c| c.message_id).collect();
                    tracing::info!(?overtaken, "claimed rows taken by another round before they were sent; left to it");
                }
                (kept, Some(first.id))
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not name the gateway for the batch; naming it per message");
                (claimed, None)
            }
        }
    }

    /// Sends one delivery; its round and gateway if a gateway has it
    /// (recorded by the caller), else the outcome is recorded here.
    /// `named` is the gateway [`Self::hand_over`] named in its row.
    async fn send_one(&self, c: Claimed, named: Option<&str>) -> Option<(Attempt, String)> {
        let named = named.filter(|_| c.gateway.is_none());
        // Opened here, in memory, for this one round; wiped when it returns.
        let round = match (&c.sealed_contact, &c.phone) {
            (Some(sealed), _) => match self.contacts.open(c.reservation_id.as_bytes(), sealed) {
                Ok(phone) => self.route(&c, &phone, named).await,
                Err(e) => Round::ended(Routed::Rejected(format!("sealed contact: {e}")), c.generation),
            },
            (None, Some(phone)) => self.route(&c, phone, named).await,
            (None, None) => Round::ended(Routed::Rejected("no destination number".into()), c.generation),
        };
        let this = Attempt { message_id: c.message_id, claim: c.claim, generation: round.generation, posted: round.posted };
        // A failed round is always an attempt; one that only asked a gateway and
        // ended unknown (or found it sent) is not (`Attempt::posted`).
        let attempt = u32::try_from(c.attempts).unwrap_or(0) + 1;
        let (retry_in, reason) = match round.routed {
            Routed::Sent { gateway, duplicate } => {
                tracing::info!(message_id = %c.message_id, to = %c.masked_phone, attempt, generation = round.generation, %gateway, duplicate,
                    "sms accepted by the gateway");
                self.metrics.sent.inc();
                self.metrics.funnel(c.funnel_event.as_deref(), Stage::SmsSent);
                return Some((this, gateway));
            }
            Routed::Overtaken => {
                tracing::warn!(message_id = %c.message_id, "another round claimed this delivery (this round's lease expired); recording nothing");
                return None;
            }
            Routed::Unknown { gateway, reason } => {
                let check_in = domain::backoff(u32::try_from(c.checks).unwrap_or(0) + 1);
                tracing::warn!(message_id = %c.message_id, attempt, %gateway, %reason, check_in = ?check_in,
                    "sms outcome unknown at the gateway; asking it again later, never sending elsewhere meanwhile");
                self.metrics.unknown.inc();
                unrecorded(self.store.mark_unknown(&this, &gateway, check_in, &reason).await, &this, "the unknown outcome");
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
        unrecorded(self.store.mark_attempt_failed(&this, next, &reason).await, &this, "the failed attempt");
        None
    }
}

/// Logs an update of this round that did not happen: a database error
/// (the lease expires, the row still names its gateway), or a claim
/// another round has taken over (its update wins; this one is ignored).
fn unrecorded(result: Result<bool, impl Into<Error>>, round: &Attempt, what: &str) {
    match result.map_err(Into::into) {
        Ok(true) => {}
        Ok(false) => tracing::warn!(message_id = %round.message_id, claim = %round.claim,
            "could not record {what}: another round claimed the delivery meanwhile; ignored"),
        Err(e) => tracing::warn!(message_id = %round.message_id, error = %e,
            "could not record {what}; retried after the lease, asking the gateway the row names first"),
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
