//! Routing by health: per provider the health rules of `domain/health` (a
//! sliding window of outcomes and a circuit breaker) and a bulkhead; from
//! them the traffic light and the order in which the front end offers
//! providers.
//!
//! Every replica keeps its own view (it sees its own calls); they agree
//! within one window because they call the same providers. A RED provider is
//! not offered, user calls to it are refused at once with the alternatives
//! named, and a supervisor ([`supervise`]) probes it (half-open) until it
//! recovers.
mod supervise;

use std::{
    sync::atomic::AtomicBool,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::providers::Provider;
use crate::{
    domain::health::{self, BreakerSettings, BreakerState, HealthRules, ProviderHealth, Snapshot, Transition},
    metrics::{IdentityMetrics, OutcomeLabels},
};

/// One provider with its health and bulkhead.
pub struct Slot {
    pub provider: Box<dyn Provider>,
    health: Mutex<ProviderHealth>,
    bulkhead: Semaphore,
    limit: usize,
    probing: AtomicBool,
}

impl Slot {
    pub fn id(&self) -> &str {
        &self.provider.config().id
    }

    fn in_flight(&self) -> usize {
        self.limit.saturating_sub(self.bulkhead.available_permits())
    }
}

/// Why a call was not sent to the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The breaker is open or half-open; the next probe is in about this long.
    CircuitOpen { retry_in: Duration },
    /// Its bulkhead is full.
    Saturated,
}

/// Leave to call one provider, holding one place in its bulkhead. Report
/// the outcome with [`Permit::finish`]; dropping it unreported (the caller
/// went away) frees the place and records nothing.
pub struct Permit<'a> {
    board: &'a Board,
    slot: &'a Slot,
    _place: SemaphorePermit<'a>,
    started: Instant,
}

impl Permit<'_> {
    /// Records the outcome: `ok` unless the provider failed (unreachable,
    /// timed out, 5xx); business answers such as a wrong code are healthy.
    pub fn finish(self, ok: bool) {
        self.board.record(self.slot, ok, self.started.elapsed());
    }
}

/// Every configured provider with its live health: which to offer, in which
/// order, and whether a call may go out now.
pub struct Board {
    slots: Vec<Slot>,
    rules: HealthRules,
    probe_deadline: Duration,
    probe_every: Duration,
    metrics: IdentityMetrics,
}

impl Board {
    pub fn new(
        providers: Vec<Box<dyn Provider>>,
        rules: HealthRules,
        breaker: BreakerSettings,
        probe_deadline: Duration,
        metrics: IdentityMetrics,
    ) -> Self {
        let now = Instant::now();
        let probe_every = breaker.probe_interval;
        let slots = providers
            .into_iter()
            .map(|provider| {
                let limit = provider.config().max_in_flight;
                Slot {
                    provider,
                    health: Mutex::new(ProviderHealth::new(&rules, breaker.clone(), now)),
                    bulkhead: Semaphore::new(limit),
                    limit,
                    probing: AtomicBool::new(false),
                }
            })
            .collect();
        Self { slots, rules, probe_deadline, probe_every, metrics }
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn find(&self, id: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.id() == id)
    }

    pub fn snapshot(&self, slot: &Slot) -> Snapshot {
        let (stats, breaker) = slot.health.lock().view(Instant::now());
        let in_flight = slot.in_flight();
        let (light, reason) = self.rules.judge(breaker == BreakerState::Closed, &stats, in_flight, slot.limit);
        Snapshot { provider_id: slot.id().to_owned(), light, reason, breaker, stats, in_flight, limit: slot.limit }
    }

    /// Every provider, healthiest first: by light, then in configured order
    /// (the operators' preference among equally healthy providers).
    pub fn ranked(&self) -> Vec<Snapshot> {
        health::rank(self.slots.iter().map(|s| self.snapshot(s)).collect())
    }

    /// What users are offered: every provider that is not RED.
    pub fn offered(&self) -> Vec<Snapshot> {
        health::offered(self.ranked())
    }

    /// Providers to suggest instead of `except`, healthiest first.
    pub fn alternatives(&self, except: &str) -> Vec<String> {
        self.offered().into_iter().filter(|s| s.provider_id != except).map(|s| s.provider_id).collect()
    }

    /// Leave to call `slot` now, or why not. Never waits.
    pub fn acquire<'a>(&'a self, slot: &'a Slot) -> Result<Permit<'a>, Refusal> {
        let refusal = slot.health.lock().refusal(Instant::now());
        if let Some(retry_in) = refusal {
            self.metrics.call(slot.id(), "refused_open");
            return Err(Refusal::CircuitOpen { retry_in });
        }
        let Ok(place) = slot.bulkhead.try_acquire() else {
            self.metrics.call(slot.id(), "refused_saturated");
            return Err(Refusal::Saturated);
        };
        Ok(Permit { board: self, slot, _place: place, started: Instant::now() })
    }

    fn record(&self, slot: &Slot, ok: bool, latency: Duration) {
        let now = Instant::now();
        self.metrics.call(slot.id(), if ok { "ok" } else { "failure" });
        let transition = slot.health.lock().record(&self.rules, now, ok, latency);
        if transition == Transition::Tripped {
            let snapshot = self.snapshot(slot);
            tracing::warn!(
                provider = slot.id(),
                success_rate = snapshot.stats.success_rate,
                p50_ms = snapshot.stats.p50.as_millis() as u64,
                calls = snapshot.stats.calls,
                "provider circuit opened: taken off the list"
            );
            self.count_transition(slot, "open");
            self.publish(slot);
        }
    }

    fn count_transition(&self, slot: &Slot, to: &'static str) {
        self.metrics.transitions.get_or_create(&OutcomeLabels { provider: slot.id().to_owned(), outcome: to }).inc();
    }
}

#[cfg(test)]
mod tests;
