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
pub mod window;

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use tokio::sync::{Semaphore, SemaphorePermit};
use yeyak_platform::Shutdown;

pub use breaker::{Breaker, BreakerSettings, BreakerState, Transition};
pub use rules::{HealthRules, Light, Reason};
pub use window::{SlidingWindow, WindowStats};

use crate::{
    metrics::{IdentityMetrics, OutcomeLabels, ProviderLabel},
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
        }
    }

    fn count_transition(&self, slot: &Slot, to: &'static str) {
        self.metrics.transitions.get_or_create(&OutcomeLabels { provider: slot.id().to_owned(), outcome: to }).inc();
    }

    /// Moves opened breakers to half-open when due and sends the probes.
    /// Called by [`Board::supervise`]; public so tests can drive it.
    pub fn tick(self: &Arc<Self>) {
        let now = Instant::now();
        for (index, slot) in self.slots.iter().enumerate() {
            let (transition, probe_due) = {
                let mut h = self.lock(slot);
                let t = h.breaker.tick(now);
                let due = !slot.probing.load(Ordering::SeqCst) && h.breaker.take_probe(now);
                (t, due)
            };
            if transition == Transition::HalfOpened {
                tracing::info!(provider = slot.id(), "provider circuit half-open: probing");
                self.count_transition(slot, "half_open");
            }
            if probe_due {
                slot.probing.store(true, Ordering::SeqCst);
                let board = self.clone();
                tokio::spawn(async move { board.probe(index).await });
            }
            self.publish(slot);
        }
    }

    async fn probe(&self, index: usize) {
        let Some(slot) = self.slots.get(index) else { return };
        let started = Instant::now();
        let result = slot.provider.probe(self.probe_deadline).await;
        let latency = started.elapsed();
        // A probe must be fast enough to not be RED for slowness either.
        let ok = result.is_ok() && latency < self.rules.red_p50;
        self.metrics.call(slot.id(), if ok { "probe_ok" } else { "probe_failure" });
        let transition = {
            let mut h = self.lock(slot);
            let t = h.breaker.on_probe(ok, Instant::now());
            if t == Transition::Closed {
                // A recovered provider starts with a clean record.
                h.window.clear();
            }
            t
        };
        slot.probing.store(false, Ordering::SeqCst);
        match transition {
            Transition::Closed => {
                tracing::info!(provider = slot.id(), "provider circuit closed: offered again");
                self.count_transition(slot, "closed");
            }
            Transition::Reopened => {
                let cause = result.err().map(|e| e.to_string()).unwrap_or_else(|| format!("too slow ({latency:?})"));
                tracing::warn!(provider = slot.id(), %cause, "provider probe failed: circuit open again");
                self.count_transition(slot, "open");
            }
            _ => {}
        }
        self.publish(slot);
    }

    fn publish(&self, slot: &Slot) {
        let s = self.snapshot(slot);
        let label = ProviderLabel { provider: s.provider_id.clone() };
        self.metrics.status.get_or_create(&label).set(s.light as i64);
        let breaker = match s.breaker {
            BreakerState::Closed => 0,
            BreakerState::HalfOpen { .. } => 1,
            BreakerState::Open { .. } => 2,
        };
        self.metrics.breaker.get_or_create(&label).set(breaker);
        self.metrics.in_flight.get_or_create(&label).set(s.in_flight as i64);
        self.metrics.success_ratio.get_or_create(&label).set(s.stats.success_rate);
        self.metrics.latency_p50.get_or_create(&label).set(s.stats.p50.as_secs_f64());
        self.metrics.latency_p99.get_or_create(&label).set(s.stats.p99.as_secs_f64());
    }

    /// Ticks until shutdown, often enough to probe on time.
    pub async fn supervise(self: Arc<Self>, shutdown: Shutdown) {
        let every = (self.probe_every / 2).clamp(Duration::from_millis(10), Duration::from_millis(250));
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => self.tick(),
                _ = shutdown.wait() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::providers::{BoxFuture, CallOptions, Method, PersonDetails, ProviderConfig, ProviderError, VerifiedPerson};

    struct Fake {
        config: ProviderConfig,
        failing: Arc<AtomicBool>,
    }

    impl Provider for Fake {
        fn config(&self) -> &ProviderConfig {
            &self.config
        }
        fn assurance(&self) -> u8 {
            1
        }
        fn instructions(&self) -> &'static str {
            ""
        }
        fn start<'a>(&'a self, _: &'a PersonDetails, _: &'a CallOptions) -> BoxFuture<'a, Result<String, ProviderError>> {
            Box::pin(async { Ok("tx".into()) })
        }
        fn confirm<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> BoxFuture<'a, Result<VerifiedPerson, ProviderError>> {
            Box::pin(async { Err(ProviderError::Gone) })
        }
        fn probe(&self, _: Duration) -> BoxFuture<'_, Result<(), ProviderError>> {
            let failing = self.failing.load(Ordering::SeqCst);
            Box::pin(async move {
                if failing {
                    Err(ProviderError::Unavailable("down".into()))
                } else {
                    Ok(())
                }
            })
        }
    }

    fn board(limit: usize, breaker: BreakerSettings) -> (Arc<Board>, Arc<AtomicBool>) {
        let failing = Arc::new(AtomicBool::new(false));
        let providers: Vec<Box<dyn Provider>> = ["a", "b"]
            .into_iter()
            .map(|id| {
                let config = ProviderConfig {
                    id: id.into(),
                    url: "http://127.0.0.1:9".into(),
                    method: Method::SmsCode,
                    display_name: id.into(),
                    max_in_flight: limit,
                };
                Box::new(Fake { config, failing: failing.clone() }) as Box<dyn Provider>
            })
            .collect();
        let board = Board::new(providers, HealthRules::default(), breaker, Duration::from_millis(200), IdentityMetrics::default());
        (Arc::new(board), failing)
    }

    fn ids(list: Vec<Snapshot>) -> Vec<String> {
        list.into_iter().map(|s| s.provider_id).collect()
    }

    #[test]
    fn failures_take_a_provider_off_the_list_and_name_the_alternatives() {
        let (board, _) = board(8, BreakerSettings::default());
        assert_eq!(ids(board.offered()), ["a", "b"], "configured order among equals");
        let a = &board.slots()[0];
        for _ in 0..5 {
            board.acquire(a).unwrap().finish(false);
        }
        assert_eq!(ids(board.offered()), ["b"]);
        assert_eq!(board.ranked()[1].light, Light::Red);
        assert_eq!(board.alternatives("a"), ["b"]);
        assert!(matches!(board.acquire(a).map(|_| ()), Err(Refusal::CircuitOpen { .. })));
    }

    #[test]
    fn a_filling_bulkhead_turns_yellow_then_refuses() {
        let (board, _) = board(4, BreakerSettings::default());
        let a = &board.slots()[0];
        let held: Vec<_> = (0..3).map(|_| board.acquire(a).unwrap()).collect();
        let first = &board.ranked()[0];
        assert_eq!((first.provider_id.as_str(), first.light), ("b", Light::Green), "the busy provider moves down");
        assert_eq!((board.snapshot(a).light, board.snapshot(a).reason), (Light::Yellow, Reason::Saturated));
        let fourth = board.acquire(a).unwrap();
        assert_eq!(board.acquire(a).map(|_| ()).unwrap_err(), Refusal::Saturated);
        drop(fourth);
        drop(held);
        assert_eq!(board.snapshot(a).light, Light::Green);
        assert_eq!(board.snapshot(a).in_flight, 0);
    }

    #[tokio::test]
    async fn recovery_goes_through_half_open_probes_to_green() {
        let settings = BreakerSettings {
            consecutive_failures: 2,
            open_for: Duration::from_millis(60),
            max_open_for: Duration::from_millis(120),
            probe_interval: Duration::from_millis(20),
            probes_to_close: 2,
        };
        let (board, failing) = board(8, settings);
        let a = &board.slots()[0];
        failing.store(true, Ordering::SeqCst);
        board.acquire(a).unwrap().finish(false);
        board.acquire(a).unwrap().finish(false);
        let mut seen = vec![board.snapshot(a).breaker.name()];
        let deadline = Instant::now() + Duration::from_secs(3);
        let observe = |seen: &mut Vec<&'static str>| {
            let name = board.snapshot(a).breaker.name();
            if seen.last() != Some(&name) {
                seen.push(name);
            }
            name
        };
        while Instant::now() < deadline {
            board.tick();
            observe(&mut seen);
            tokio::time::sleep(Duration::from_millis(5)).await;
            let name = observe(&mut seen);
            // Failed probes reopen it; let it recover after one round trip.
            if seen.len() >= 4 {
                failing.store(false, Ordering::SeqCst);
            }
            if name == "closed" {
                break;
            }
        }
        assert_eq!(&seen[..4], ["open", "half_open", "open", "half_open"], "{seen:?}");
        assert_eq!(seen.last(), Some(&"closed"), "{seen:?}");
        assert_eq!(board.snapshot(a).light, Light::Green);
        assert_eq!(board.snapshot(a).stats.calls, 0, "a recovered provider starts with a clean window");
        assert_eq!(ids(board.offered()), ["a", "b"]);
    }
}
