//! Routing by health: per provider a sliding window of outcomes, a circuit
//! breaker and a bulkhead; from them the traffic light and the order in which
//! the front end offers providers.
//!
//! Every replica keeps its own view (it sees its own calls); they agree
//! within one window because they call the same providers. A RED provider is
//! not offered, user calls to it are refused at once with the alternatives
//! named, and a supervisor probes it (half-open) until it recovers.
pub mod breaker;
pub mod rules;
mod supervise;
pub mod window;

use std::{
    sync::{atomic::AtomicBool, Mutex},
    time::{Duration, Instant},
};

use tokio::sync::{Semaphore, SemaphorePermit};

pub use breaker::{Breaker, BreakerSettings, BreakerState, Transition};
pub use rules::{HealthRules, Light, Reason};
pub use window::{SlidingWindow, WindowStats};

use crate::{
    metrics::{IdentityMetrics, OutcomeLabels},
    providers::Provider,
};

struct Health {
    window: SlidingWindow,
    breaker: Breaker,
}

/// One provider with its health and bulkhead.
pub struct Slot {
    pub provider: Box<dyn Provider>,
    health: Mutex<Health>,
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

/// The provider's light and the numbers behind it.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub provider_id: String,
    pub light: Light,
    pub reason: Reason,
    pub breaker: BreakerState,
    pub stats: WindowStats,
    pub in_flight: usize,
    pub limit: usize,
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
                    health: Mutex::new(Health { window: SlidingWindow::new(rules.window, now), breaker: Breaker::new(breaker.clone()) }),
                    bulkhead: Semaphore::new(limit),
                    limit,
                    probing: AtomicBool::new(false),
                }
            })
            .collect();
        Self { slots, rules, probe_deadline, probe_every, metrics }
    }

    pub fn rules(&self) -> &HealthRules {
        &self.rules
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn find(&self, id: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.id() == id)
    }

    fn lock<'a>(&self, slot: &'a Slot) -> std::sync::MutexGuard<'a, Health> {
        // The window and breaker stay consistent under every early return.
        slot.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn snapshot(&self, slot: &Slot) -> Snapshot {
        let now = Instant::now();
        let (stats, breaker) = {
            let h = self.lock(slot);
            (h.window.stats(now), h.breaker.state())
        };
        let in_flight = slot.in_flight();
        let (light, reason) = self.rules.judge(breaker == BreakerState::Closed, &stats, in_flight, slot.limit);
        Snapshot { provider_id: slot.id().to_owned(), light, reason, breaker, stats, in_flight, limit: slot.limit }
    }

    /// Every provider, healthiest first: by light, then in configured order
    /// (the operators' preference among equally healthy providers).
    pub fn ranked(&self) -> Vec<Snapshot> {
        let mut all: Vec<_> = self.slots.iter().map(|s| self.snapshot(s)).collect();
        all.sort_by_key(|s| s.light); // stable: configured order within a light
        all
    }

    /// What users are offered: every provider that is not RED.
    pub fn offered(&self) -> Vec<Snapshot> {
        self.ranked().into_iter().filter(|s| s.light != Light::Red).collect()
    }

    /// Providers to suggest instead of `except`, healthiest first.
    pub fn alternatives(&self, except: &str) -> Vec<String> {
        self.offered().into_iter().filter(|s| s.provider_id != except).map(|s| s.provider_id).collect()
    }

    /// Leave to call `slot` now, or why not. Never waits.
    pub fn acquire<'a>(&'a self, slot: &'a Slot) -> Result<Permit<'a>, Refusal> {
        if let Some(retry_in) = self.lock(slot).breaker.refusal(Instant::now()) {
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
        let transition = {
            let mut h = self.lock(slot);
            h.window.record(now, ok, latency);
            // Only a failure or a slow answer can turn the window RED.
            let suspicious = !ok || latency >= self.rules.red_p50.min(self.rules.yellow_p99);
            let judged_red = suspicious && self.rules.judge_window(&h.window.stats(now)).0 == Light::Red;
            h.breaker.on_call(ok, judged_red, now)
        };
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
