//! The supervisor: moves opened breakers to half-open when due, sends the
//! probes, and publishes each upstream's health to the observer.
use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};

use super::{Board, Transition, Upstream};
use crate::Shutdown;

impl<U: Upstream> Board<U> {
    /// Moves opened breakers to half-open when due and sends the probes.
    /// Called by [`Board::supervise`]; public so tests can drive it.
    pub fn tick(self: &Arc<Self>) {
        let now = Instant::now();
        for (index, slot) in self.slots.iter().enumerate() {
            let (transition, probe_due) = slot.health.lock().tick(now, slot.probing.load(Ordering::SeqCst));
            if transition == Transition::HalfOpened {
                tracing::info!(upstream = slot.id(), "circuit half-open: probing");
                self.observer.transition(slot.id(), "half_open");
            }
            if probe_due {
                slot.probing.store(true, Ordering::SeqCst);
                let board = self.clone();
                tokio::spawn(async move { board.probe(index).await });
            }
            self.observer.publish(&self.snapshot(slot));
        }
    }

    async fn probe(&self, index: usize) {
        let Some(slot) = self.slots.get(index) else { return };
        let started = Instant::now();
        let result = slot.upstream.probe(self.probe_deadline).await;
        let latency = started.elapsed();
        // A probe must be fast enough to not be RED for slowness either.
        let ok = result.is_ok() && latency < self.rules.red_p50;
        self.observer.call(slot.id(), if ok { "probe_ok" } else { "probe_failure" });
        // A recovered upstream starts with a clean record (the window is cleared on close).
        let transition = slot.health.lock().on_probe(ok, Instant::now());
        slot.probing.store(false, Ordering::SeqCst);
        match transition {
            Transition::Closed => {
                tracing::info!(upstream = slot.id(), "circuit closed: offered again");
                self.observer.transition(slot.id(), "closed");
            }
            Transition::Reopened => {
                let cause = result.err().unwrap_or_else(|| format!("too slow ({latency:?})"));
                tracing::warn!(upstream = slot.id(), %cause, "probe failed: circuit open again");
                self.observer.transition(slot.id(), "open");
            }
            _ => {}
        }
        self.observer.publish(&self.snapshot(slot));
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
