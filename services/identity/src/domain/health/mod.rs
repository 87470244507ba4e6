//! The health of a provider, as rules over explicit instants: a sliding
//! window of outcomes ([`window`]), a circuit breaker ([`breaker`]), the
//! traffic light they make ([`rules`]), and the order providers are offered
//! in. Pure; the stateful board that calls providers through them is
//! `clients/router/`.
//!
//! Every replica keeps its own view (it sees its own calls); they agree
//! within one window because they call the same providers.
pub(crate) mod breaker;
pub(crate) mod rules;
pub(crate) mod window;

use std::time::{Duration, Instant};

pub(crate) use breaker::{Breaker, BreakerSettings, BreakerState, Transition};
pub(crate) use rules::{HealthRules, Light, Reason};
pub(crate) use window::{SlidingWindow, WindowStats};

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

/// Every provider, healthiest first: by light, then in configured order
/// (the operators' preference among equally healthy providers).
pub(crate) fn rank(mut all: Vec<Snapshot>) -> Vec<Snapshot> {
    all.sort_by_key(|s| s.light); // stable: configured order within a light
    all
}

/// What users are offered: every provider that is not RED, in rank order.
pub(crate) fn offered(ranked: Vec<Snapshot>) -> Vec<Snapshot> {
    ranked.into_iter().filter(|s| s.light != Light::Red).collect()
}

/// One provider's window and breaker, kept together so they stay consistent.
#[derive(Clone, Debug)]
pub(crate) struct ProviderHealth {
    window: SlidingWindow,
    breaker: Breaker,
}

impl ProviderHealth {
    pub(crate) fn new(rules: &HealthRules, breaker: BreakerSettings, now: Instant) -> Self {
        Self { window: SlidingWindow::new(rules.window, now), breaker: Breaker::new(breaker) }
    }

    /// The window's numbers and the breaker's state at `now`.
    pub(crate) fn view(&self, now: Instant) -> (WindowStats, BreakerState) {
        (self.window.stats(now), self.breaker.state())
    }

    /// `None` if a user call may go out now, else how long until the next probe.
    pub(crate) fn refusal(&self, now: Instant) -> Option<Duration> {
        self.breaker.refusal(now)
    }

    /// A user call finished: counts it, and trips the breaker if it must.
    pub(crate) fn record(&mut self, rules: &HealthRules, now: Instant, ok: bool, latency: Duration) -> Transition {
        self.window.record(now, ok, latency);
        // Only a failure or a slow answer can turn the window RED.
        let suspicious = !ok || latency >= rules.red_p50.min(rules.yellow_p99);
        let judged_red = suspicious && rules.judge_window(&self.window.stats(now)).0 == Light::Red;
        self.breaker.on_call(ok, judged_red, now)
    }

    /// Moves an opened breaker to half-open when due; returns the transition
    /// and whether a probe is due now (never while one is still `probing`).
    pub(crate) fn tick(&mut self, now: Instant, probing: bool) -> (Transition, bool) {
        let transition = self.breaker.tick(now);
        let due = !probing && self.breaker.take_probe(now);
        (transition, due)
    }

    /// A probe finished.
    pub(crate) fn on_probe(&mut self, ok: bool, now: Instant) -> Transition {
        let transition = self.breaker.on_probe(ok, now);
        if transition == Transition::Closed {
            // A recovered provider starts with a clean record.
            self.window.clear();
        }
        transition
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(id: &str, light: Light) -> Snapshot {
        Snapshot {
            provider_id: id.into(),
            light,
            reason: Reason::Healthy,
            breaker: BreakerState::Closed,
            stats: WindowStats::default(),
            in_flight: 0,
            limit: 1,
        }
    }

    #[test]
    fn healthiest_first_in_configured_order_and_red_is_not_offered() {
        let all = vec![snapshot("a", Light::Yellow), snapshot("b", Light::Red), snapshot("c", Light::Green), snapshot("d", Light::Yellow)];
        let ranked = rank(all);
        let ids: Vec<_> = ranked.iter().map(|s| s.provider_id.as_str()).collect();
        assert_eq!(ids, ["c", "a", "d", "b"]);
        let ids: Vec<_> = offered(ranked).into_iter().map(|s| s.provider_id).collect();
        assert_eq!(ids, ["c", "a", "d"]);
    }
}
