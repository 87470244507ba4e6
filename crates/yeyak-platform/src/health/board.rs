//! The stateful board: per upstream the health rules (a sliding window of
//! outcomes and a circuit breaker) and a bulkhead; from them the traffic
//! light and the order in which upstreams are offered or tried.
//!
//! A RED upstream is not offered, calls to it are refused at once (the
//! caller names or tries the alternatives), and the supervisor
//! (`supervise`) probes it (half-open) until it recovers.
use std::{
    sync::atomic::AtomicBool,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use tokio::sync::{Semaphore, SemaphorePermit};

use super::{BreakerSettings, BreakerState, HealthObserver, HealthRules, Snapshot, Transition, Upstream, UpstreamHealth};

/// One upstream with its health and bulkhead.
pub struct Slot<U> {
    pub upstream: U,
    pub(super) health: Mutex<UpstreamHealth>,
    bulkhead: Semaphore,
    limit: usize,
    pub(super) probing: AtomicBool,
}

impl<U: Upstream> Slot<U> {
    pub fn id(&self) -> &str {
        self.upstream.id()
    }

    fn in_flight(&self) -> usize {
        self.limit.saturating_sub(self.bulkhead.available_permits())
    }
}

/// Why a call was not sent to the upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The breaker is open or half-open; the next probe is in about this long.
    CircuitOpen { retry_in: Duration },
    /// Its bulkhead is full.
    Saturated,
}

/// Leave to call one upstream, holding one place in its bulkhead. Report
/// the outcome with [`Permit::finish`]; dropping it unreported (the caller
/// went away) frees the place and records nothing.
pub struct Permit<'a, U: Upstream> {
    board: &'a Board<U>,
    slot: &'a Slot<U>,
    _place: SemaphorePermit<'a>,
    started: Instant,
}

impl<U: Upstream> Permit<'_, U> {
    /// Records the outcome: `ok` unless the upstream failed (unreachable,
    /// timed out, 5xx); business answers such as a wrong code are healthy.
    pub fn finish(self, ok: bool) {
        self.board.record(self.slot, ok, self.started.elapsed());
    }
}

/// Every configured upstream with its live health: which to offer, in which
/// order, and whether a call may go out now.
pub struct Board<U> {
    pub(super) slots: Vec<Slot<U>>,
    pub(super) rules: HealthRules,
    pub(super) probe_deadline: Duration,
    pub(super) probe_every: Duration,
    pub(super) observer: Box<dyn HealthObserver>,
}

impl<U: Upstream> Board<U> {
    pub fn new(
        upstreams: Vec<U>,
        rules: HealthRules,
        breaker: BreakerSettings,
        probe_deadline: Duration,
        observer: impl HealthObserver,
    ) -> Self {
        let now = Instant::now();
        let probe_every = breaker.probe_interval;
        let slots = upstreams
            .into_iter()
            .map(|upstream| {
                let limit = upstream.max_in_flight();
                Slot {
                    upstream,
                    health: Mutex::new(UpstreamHealth::new(&rules, breaker.clone(), now)),
                    bulkhead: Semaphore::new(limit),
                    limit,
                    probing: AtomicBool::new(false),
                }
            })
            .collect();
        Self { slots, rules, probe_deadline, probe_every, observer: Box::new(observer) }
    }

    pub fn slots(&self) -> &[Slot<U>] {
        &self.slots
    }

    pub fn find(&self, id: &str) -> Option<&Slot<U>> {
        self.slots.iter().find(|s| s.id() == id)
    }

    pub fn snapshot(&self, slot: &Slot<U>) -> Snapshot {
        let (stats, breaker) = slot.health.lock().view(Instant::now());
        let in_flight = slot.in_flight();
        let (light, reason) = self.rules.judge(breaker == BreakerState::Closed, &stats, in_flight, slot.limit);
        Snapshot { id: slot.id().to_owned(), light, reason, breaker, stats, in_flight, limit: slot.limit }
    }

    /// Every upstream, healthiest first: by light, then in configured order
    /// (the operators' preference among equally healthy upstreams).
    pub fn ranked(&self) -> Vec<Snapshot> {
        super::rank(self.slots.iter().map(|s| self.snapshot(s)).collect())
    }

    /// What is offered: every upstream that is not RED.
    pub fn offered(&self) -> Vec<Snapshot> {
        super::offered(self.ranked())
    }

    /// Upstreams to suggest instead of `except`, healthiest first.
    pub fn alternatives(&self, except: &str) -> Vec<String> {
        self.offered().into_iter().filter(|s| s.id != except).map(|s| s.id).collect()
    }

    /// Leave to call `slot` now, or why not. Never waits.
    pub fn acquire<'a>(&'a self, slot: &'a Slot<U>) -> Result<Permit<'a, U>, Refusal> {
        let refusal = slot.health.lock().refusal(Instant::now());
        if let Some(retry_in) = refusal {
            self.observer.call(slot.id(), "refused_open");
            return Err(Refusal::CircuitOpen { retry_in });
        }
        let Ok(place) = slot.bulkhead.try_acquire() else {
            self.observer.call(slot.id(), "refused_saturated");
            return Err(Refusal::Saturated);
        };
        Ok(Permit { board: self, slot, _place: place, started: Instant::now() })
    }

    /// Leave to call `slot` whatever its breaker says, within its bulkhead:
    /// for a call that settles work already sent (asking what became of a
    /// message), not new work. An open breaker keeps new work away; it must
    /// not also keep the answer about old work from arriving.
    pub fn acquire_past_breaker<'a>(&'a self, slot: &'a Slot<U>) -> Result<Permit<'a, U>, Refusal> {
        let Ok(place) = slot.bulkhead.try_acquire() else {
            self.observer.call(slot.id(), "refused_saturated");
            return Err(Refusal::Saturated);
        };
        Ok(Permit { board: self, slot, _place: place, started: Instant::now() })
    }

    fn record(&self, slot: &Slot<U>, ok: bool, latency: Duration) {
        let now = Instant::now();
        self.observer.call(slot.id(), if ok { "ok" } else { "failure" });
        let transition = slot.health.lock().record(&self.rules, now, ok, latency);
        if transition == Transition::Tripped {
            let snapshot = self.snapshot(slot);
            tracing::warn!(
                upstream = slot.id(),
                success_rate = snapshot.stats.success_rate,
                p50_ms = snapshot.stats.p50.as_millis() as u64,
                calls = snapshot.stats.calls,
                "circuit opened: taken off the list"
            );
            self.observer.transition(slot.id(), "open");
            self.observer.publish(&snapshot);
        }
    }
}
