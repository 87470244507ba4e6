//! The supervisor: moves opened breakers to half-open when due, sends the
//! probes, and publishes each provider's health to the metrics.
use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use yeyak_platform::Shutdown;

use super::{Board, Slot};
use crate::{
    domain::health::{BreakerState, Transition},
    metrics::ProviderLabel,
};

impl Board {
    /// Moves opened breakers to half-open when due and sends the probes.
    /// Called by [`Board::supervise`]; public so tests can drive it.
    pub fn tick(self: &Arc<Self>) {
        let now = Instant::now();
        for (index, slot) in self.slots.iter().enumerate() {
            let (transition, probe_due) = slot.health.lock().tick(now, slot.probing.load(Ordering::SeqCst));
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
        // A recovered provider starts with a clean record (the window is cleared on close).
        let transition = slot.health.lock().on_probe(ok, Instant::now());
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

    /// Sets the provider's gauges from its state now (each tick, and at once
    /// when a call trips its breaker, so dashboards see a trip when it happens).
    pub(super) fn publish(&self, slot: &Slot) {
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
