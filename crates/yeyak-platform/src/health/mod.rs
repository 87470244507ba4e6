//! Routing by health, for any kind of upstream a service calls through
//! several interchangeable partners (identity's providers, notification's
//! SMS gateways): one mechanism, so both judge health the same way.
//!
//! The rules are pure and take instants as parameters: a sliding window of
//! outcomes ([`window`]), a circuit breaker ([`breaker`]), the traffic light
//! they make ([`rules`]) and the order upstreams are tried in ([`rank`]).
//! The stateful [`Board`] keeps them per upstream with a bulkhead, hands
//! out [`Permit`]s and, through [`Board::supervise`], probes opened
//! breakers back to health. What is published (metric names, labels) is
//! the service's own, through [`HealthObserver`].
//!
//! Every replica keeps its own view (it sees its own calls); they agree
//! within one window because they call the same upstreams.
mod board;
pub mod breaker;
pub mod rules;
mod supervise;
pub mod window;

use std::{
    future::Future,
    pin::Pin,
    time::{Duration, Instant},
};

pub use board::{Board, Permit, Refusal, Slot};
pub use breaker::{Breaker, BreakerSettings, BreakerState, Transition};
pub use rules::{HealthRules, Light, Reason};
pub use window::{SlidingWindow, WindowStats};

/// A boxed, sendable future (what [`Upstream::probe`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One partner the board routes to.
pub trait Upstream: Send + Sync + 'static {
    /// Its configured name: metric label, log field, operators' word for it.
    fn id(&self) -> &str;
    /// Calls in flight at once at most (its bulkhead).
    fn max_in_flight(&self) -> usize;
    /// A cheap health probe for a half-open breaker; it must see the same
    /// faults users' calls see. The error is a cause for the log, never
    /// personal data.
    fn probe(&self, deadline: Duration) -> BoxFuture<'_, Result<(), String>>;
}

/// Where the board reports, so each service keeps its own metric names.
pub trait HealthObserver: Send + Sync + 'static {
    /// A call's outcome: `ok`, `failure`, `refused_open`,
    /// `refused_saturated`, `probe_ok`, `probe_failure`.
    fn call(&self, upstream: &str, outcome: &'static str);
    /// A breaker moved to `to` (`open`, `half_open`, `closed`).
    fn transition(&self, upstream: &str, to: &'static str);
    /// The upstream's state now (every supervisor tick, and at once on a trip).
    fn publish(&self, snapshot: &Snapshot);
}

/// Reports nothing (tests, tools).
impl HealthObserver for () {
    fn call(&self, _: &str, _: &'static str) {}
    fn transition(&self, _: &str, _: &'static str) {}
    fn publish(&self, _: &Snapshot) {}
}

/// The upstream's light and the numbers behind it.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub id: String,
    pub light: Light,
    pub reason: Reason,
    pub breaker: BreakerState,
    pub stats: WindowStats,
    pub in_flight: usize,
    pub limit: usize,
}

/// Every upstream, healthiest first: by light, then in configured order
/// (the operators' preference among equally healthy upstreams).
pub fn rank(mut all: Vec<Snapshot>) -> Vec<Snapshot> {
    all.sort_by_key(|s| s.light); // stable: configured order within a light
    all
}

/// What is offered: every upstream that is not RED, in rank order.
pub fn offered(ranked: Vec<Snapshot>) -> Vec<Snapshot> {
    ranked.into_iter().filter(|s| s.light != Light::Red).collect()
}

/// One upstream's window and breaker, kept together so they stay consistent.
#[derive(Clone, Debug)]
pub struct UpstreamHealth {
    window: SlidingWindow,
    breaker: Breaker,
}

impl UpstreamHealth {
    pub fn new(rules: &HealthRules, breaker: BreakerSettings, now: Instant) -> Self {
        Self { window: SlidingWindow::new(rules.window, now), breaker: Breaker::new(breaker) }
    }

    /// The window's numbers and the breaker's state at `now`.
    pub fn view(&self, now: Instant) -> (WindowStats, BreakerState) {
        (self.window.stats(now), self.breaker.state())
    }

    /// `None` if a user call may go out now, else how long until the next probe.
    pub fn refusal(&self, now: Instant) -> Option<Duration> {
        self.breaker.refusal(now)
    }

    /// A user call finished: counts it, and trips the breaker if it must.
    pub fn record(&mut self, rules: &HealthRules, now: Instant, ok: bool, latency: Duration) -> Transition {
        self.window.record(now, ok, latency);
        // Only a failure or a slow answer can turn the window RED.
        let suspicious = !ok || latency >= rules.red_p50.min(rules.yellow_p99);
        let judged_red = suspicious && rules.judge_window(&self.window.stats(now)).0 == Light::Red;
        self.breaker.on_call(ok, judged_red, now)
    }

    /// Moves an opened breaker to half-open when due; returns the transition
    /// and whether a probe is due now (never while one is still `probing`).
    pub fn tick(&mut self, now: Instant, probing: bool) -> (Transition, bool) {
        let transition = self.breaker.tick(now);
        let due = !probing && self.breaker.take_probe(now);
        (transition, due)
    }

    /// A probe finished.
    pub fn on_probe(&mut self, ok: bool, now: Instant) -> Transition {
        let transition = self.breaker.on_probe(ok, now);
        if transition == Transition::Closed {
            // A recovered upstream starts with a clean record.
            self.window.clear();
        }
        transition
    }
}

#[cfg(test)]
mod tests;
