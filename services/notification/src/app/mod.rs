//! The use case, `Deliveries`: the SMS a reservation's events cause, from
//! the event to the gateway and back to support staff. The consumer records
//! events through it, the background send loops drain it, and the gRPC
//! handler reads it.
//!
//! - `record`: each event becomes at most one pending delivery;
//! - `send`: the sender's claim / send / mark rounds, with their retries;
//! - `route`: failing over between gateways, never sending twice;
//! - `contacts`: seals phone numbers an older build stored in plain text;
//! - `unknown`: gauges of the deliveries waiting on a gateway's answer;
//! - `status`: the status lookup, for the person (their own deliveries) and
//!   for support staff (anyone's, audited);
//! - `operator`, `resend`, `dead_letters`: the operator API's use cases
//!   (listing, replaying, resolving, discarding, resending; the consumer's
//!   dead-letter queue), each call audited.
mod contacts;
mod dead_letters;
mod operator;
mod record;
mod resend;
mod route;
mod send;
mod status;
mod unknown;

use std::{sync::Arc, time::Duration};

use tokio::sync::Notify;
use yeyak_platform::{contact::ContactKeys, messaging::dead_letters::DeadLetters, tokens::AssertionVerifier};

pub(crate) use dead_letters::{Letter, Settle, Settled, MAX_SHOWN};
pub(crate) use operator::Listing;
pub(crate) use send::LOOPS;

use crate::{clients::Gateways, metrics::SenderMetrics, store::DeliveryStore};

/// How the sender works through its queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SendPolicy {
    /// Attempts before a delivery is given up as failed.
    pub(crate) max_attempts: u32,
    /// Gateway calls in flight at once per replica.
    pub(crate) concurrency: usize,
    /// The longest one gateway call can take (connecting included): the
    /// lease on a claimed delivery must outlast a round of them.
    pub(crate) call_timeout: Duration,
    /// How long a sealed number is kept after its delivery ended (sent or
    /// failed), for replays and resends.
    pub(crate) contact_retention: Duration,
    /// How often numbers are sealed and expired ones erased.
    pub(crate) contact_sweep: Duration,
}

/// Every SMS this service owes, one per reservation event with a phone
/// number. Any number of replicas run it side by side; the gateway's
/// idempotency key makes the rare double attempt (a replica dying between
/// sending and recording) send nothing twice, and the row names the gateway
/// before the message leaves, so that attempt asks the same gateway.
pub(crate) struct Deliveries {
    store: DeliveryStore,
    gateways: Arc<Gateways>,
    max_attempts: u32,
    concurrency: usize,
    /// How long a claim keeps other replicas off a delivery: longer than the
    /// slowest possible round, so a live sender is never overtaken.
    lease: Duration,
    metrics: SenderMetrics,
    /// Rung when a delivery is queued here, so a send loop starts at once
    /// instead of at its next sweep.
    wake: Notify,
    /// Open the phone numbers reservation sealed to this service, in memory.
    contacts: ContactKeys,
    /// Verifies the identity assertions people look up their own SMS with.
    assertions: AssertionVerifier,
    /// The consumer's dead-letter queue, for operators.
    dead_letters: DeadLetters,
    contact_retention: Duration,
    contact_sweep: Duration,
}

impl Deliveries {
    pub(crate) fn new(
        store: DeliveryStore,
        gateways: Arc<Gateways>,
        policy: SendPolicy,
        metrics: SenderMetrics,
        contacts: ContactKeys,
        assertions: AssertionVerifier,
        dead_letters: DeadLetters,
    ) -> Self {
        Self {
            store,
            gateways,
            max_attempts: policy.max_attempts,
            concurrency: policy.concurrency,
            lease: send::lease_for(policy.call_timeout, policy.concurrency),
            metrics,
            wake: Notify::new(),
            contacts,
            assertions,
            dead_letters,
            contact_retention: policy.contact_retention,
            contact_sweep: policy.contact_sweep,
        }
    }

    /// Counters the consumer shares (dead-lettered confirmations).
    pub(crate) fn metrics(&self) -> &SenderMetrics {
        &self.metrics
    }

    /// The keys events are decoded with (the consumer checks and masks each
    /// number as it records the event).
    pub(crate) fn contact_keys(&self) -> &ContactKeys {
        &self.contacts
    }
}
