//! Live provider health from recent outcomes: the "traffic light" operators
//! drew by hand in 2021, computed continuously.
use std::{
    collections::VecDeque,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Outcomes remembered per provider.
const WINDOW: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Light {
    Green,
    Yellow,
    Red,
}

/// How long a RED provider rests before one trial call may probe it.
const PROBE_AFTER: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct Health {
    outcomes: Mutex<VecDeque<(bool, Duration)>>,
    last_probe: Mutex<Option<Instant>>,
}

impl Health {
    pub fn record(&self, ok: bool, latency: Duration) {
        if let Ok(mut o) = self.outcomes.lock() {
            if o.len() == WINDOW {
                o.pop_front();
            }
            o.push_back((ok, latency));
        }
    }

    /// Whether a call may go to this provider now. A RED provider gets one
    /// trial call per [`PROBE_AFTER`] (half-open): a success starts turning
    /// it back, a failure keeps it out, and users are never sent there in bulk.
    pub fn allow_call(&self) -> bool {
        if self.light() != Light::Red {
            return true;
        }
        let Ok(mut last) = self.last_probe.lock() else { return false };
        let due = last.is_none_or(|at| at.elapsed() >= PROBE_AFTER);
        if due {
            *last = Some(Instant::now());
        }
        due
    }

    /// GREEN below 10% failures, YELLOW below 50%, RED above. A provider
    /// with no history is GREEN: it has not failed anyone yet.
    pub fn light(&self) -> Light {
        let Ok(o) = self.outcomes.lock() else { return Light::Yellow };
        if o.is_empty() {
            return Light::Green;
        }
        let failures = o.iter().filter(|(ok, _)| !ok).count() as f64 / o.len() as f64;
        match failures {
            f if f < 0.10 => Light::Green,
            f if f < 0.50 => Light::Yellow,
            _ => Light::Red,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_turn_the_light() {
        let h = Health::default();
        assert_eq!(h.light(), Light::Green);
        for _ in 0..18 {
            h.record(true, Duration::ZERO);
        }
        for _ in 0..2 {
            h.record(false, Duration::ZERO);
        }
        assert_eq!(h.light(), Light::Yellow);
        for _ in 0..30 {
            h.record(false, Duration::ZERO);
        }
        assert_eq!(h.light(), Light::Red);
        assert!(h.allow_call(), "first probe of a RED provider is allowed");
        assert!(!h.allow_call(), "then it rests");
    }
}
