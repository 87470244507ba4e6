//! The waiting room as gauges, per event: how many wait, how many were
//! admitted and hold a seat, the configured, controlled and measured
//! admission rate (and a counter of the controller's changes),
//! the estimated wait of the last place, and whether admission is paused.
//! Set from the queue's snapshot about once a second by every replica
//! (they all read the same shared counters: dashboards take the max per
//! event). The funnel's `joined` and `admitted` stages are counted where
//! they happen (a new entry; the places an admission tick admits).
use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
};
use yeyak_platform::metrics::Metrics;

use crate::domain::{standing, Snapshot};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Event {
    event: String,
}

type Value = Family<Event, Gauge<f64, AtomicU64>>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Change {
    event: String,
    direction: &'static str,
}

#[derive(Clone, Debug, Default)]
pub(crate) struct QueueGauges {
    waiting: Value,
    admitted: Value,
    active_seats: Value,
    max_active: Value,
    rate_configured: Value,
    rate_measured: Value,
    rate_controlled: Value,
    rate_changes: Family<Change, Counter>,
    last_place_wait: Value,
    paused: Value,
}

impl QueueGauges {
    pub(crate) fn new(metrics: &Metrics) -> Self {
        let g = Self::default();
        let register = |name: &str, help: &str, v: &Value| metrics.register(name, help, v.clone());
        register("queue_waiting", "People in line not yet admitted", &g.waiting);
        register("queue_admitted", "Places admitted so far (the frontier)", &g.admitted);
        register("queue_active_seats", "Admitted sessions holding a seat", &g.active_seats);
        register("queue_max_active_sessions", "Seats: the most admitted sessions at once", &g.max_active);
        register("queue_admission_rate_configured", "Admissions per second set by the operators", &g.rate_configured);
        register("queue_admission_rate_measured", "Admissions per second over the last 30 s", &g.rate_measured);
        register(
            "queue_admission_rate_controlled",
            "Admissions per second in force: the automatic rate, or the operators' when not under control",
            &g.rate_controlled,
        );
        metrics.register("admission_rate_changes", "Changes of the automatic admission rate, by direction", g.rate_changes.clone());
        register("queue_last_place_wait_seconds", "Estimated wait of the last place in line (NaN: no honest estimate)", &g.last_place_wait);
        register("queue_paused", "1 while admission is paused by the operators", &g.paused);
        g
    }

    pub(crate) fn observe(&self, event: &str, snap: &Snapshot) {
        let label = Event { event: event.to_owned() };
        let set = |v: &Value, x: f64| {
            v.get_or_create(&label).set(x);
        };
        let joined = snap.joined();
        set(&self.waiting, joined.saturating_sub(snap.admitted) as f64);
        set(&self.admitted, snap.admitted as f64);
        set(&self.active_seats, snap.active as f64);
        set(&self.max_active, snap.settings.max_active as f64);
        set(&self.rate_configured, snap.settings.rate_per_second);
        set(&self.rate_measured, snap.measured_rate);
        set(&self.rate_controlled, snap.settings.effective_rate());
        let wait = match standing(joined, snap).estimated_wait {
            Ok(wait) => wait.as_secs_f64(),
            Err(_) => f64::NAN,
        };
        set(&self.last_place_wait, wait);
        set(&self.paused, if snap.settings.paused { 1.0 } else { 0.0 });
    }

    /// One change of `event`'s automatic rate (`up` or `down`).
    pub(crate) fn rate_changed(&self, event: &str, direction: &'static str) {
        self.rate_changes.get_or_create(&Change { event: event.to_owned(), direction }).inc();
    }
}
