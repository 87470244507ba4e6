//! The circuit breaker of one upstream (an identity provider, an SMS
//! gateway), as a pure state machine driven by explicit instants (tests need
//! no clock).
//!
//! - **Closed**: calls flow. It trips to Open after `consecutive_failures`
//!   failures in a row, or when the health rules judge the window RED.
//! - **Open**: no user call goes out; after `open_for` it becomes HalfOpen.
//! - **HalfOpen**: still no user call; the supervisor sends one probe per
//!   `probe_interval`. `probes_to_close` successes in a row close it; a single
//!   failure reopens it for twice as long (up to `max_open_for`).
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct BreakerSettings {
    pub consecutive_failures: u32,
    pub open_for: Duration,
    pub max_open_for: Duration,
    pub probe_interval: Duration,
    pub probes_to_close: u32,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            open_for: Duration::from_secs(5),
            max_open_for: Duration::from_secs(60),
            probe_interval: Duration::from_secs(1),
            probes_to_close: 3,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open { until: Instant },
    HalfOpen { successes: u32, next_probe: Instant },
}

impl BreakerState {
    /// The state as a gauge shows it: 0 closed, 1 half-open, 2 open.
    pub fn gauge(&self) -> i64 {
        match self {
            Self::Closed => 0,
            Self::HalfOpen { .. } => 1,
            Self::Open { .. } => 2,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open { .. } => "open",
            Self::HalfOpen { .. } => "half_open",
        }
    }
}

/// What a state change means for the caller (the window is cleared on close).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    None,
    Tripped,
    HalfOpened,
    Closed,
    Reopened,
}

#[derive(Clone, Debug)]
pub struct Breaker {
    settings: BreakerSettings,
    state: BreakerState,
    consecutive_failures: u32,
    /// How long the next opening lasts: doubles on every failed half-open.
    open_for: Duration,
    pub trips: u64,
}

impl Breaker {
    pub fn new(settings: BreakerSettings) -> Self {
        let open_for = settings.open_for;
        Self { settings, state: BreakerState::Closed, consecutive_failures: 0, open_for, trips: 0 }
    }

    pub fn state(&self) -> BreakerState {
        self.state
    }

    pub fn is_closed(&self) -> bool {
        self.state == BreakerState::Closed
    }

    /// `None` if a user call may go out now, else how long until the next probe.
    pub fn refusal(&self, now: Instant) -> Option<Duration> {
        match self.state {
            BreakerState::Closed => None,
            BreakerState::Open { until } => Some(until.saturating_duration_since(now) + self.settings.probe_interval),
            BreakerState::HalfOpen { next_probe, .. } => Some(next_probe.saturating_duration_since(now) + self.settings.probe_interval),
        }
    }

    /// A user call finished; `judged_red` is the health rules' verdict on the
    /// window including it. Outcomes arriving while not Closed are ignored:
    /// they were decided before the breaker opened.
    pub fn on_call(&mut self, ok: bool, judged_red: bool, now: Instant) -> Transition {
        if !self.is_closed() {
            return Transition::None;
        }
        if ok {
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures += 1;
        }
        if judged_red || self.consecutive_failures >= self.settings.consecutive_failures {
            self.open_for = self.settings.open_for;
            self.open(now);
            return Transition::Tripped;
        }
        Transition::None
    }

    fn open(&mut self, now: Instant) {
        self.state = BreakerState::Open { until: now + self.open_for };
        self.consecutive_failures = 0;
        self.trips += 1;
    }

    /// Moves Open to HalfOpen once the opening is over.
    pub fn tick(&mut self, now: Instant) -> Transition {
        match self.state {
            BreakerState::Open { until } if now >= until => {
                self.state = BreakerState::HalfOpen { successes: 0, next_probe: now };
                Transition::HalfOpened
            }
            _ => Transition::None,
        }
    }

    /// Whether a probe is due now; if so, the next one is scheduled.
    pub fn take_probe(&mut self, now: Instant) -> bool {
        match &mut self.state {
            BreakerState::HalfOpen { next_probe, .. } if now >= *next_probe => {
                *next_probe = now + self.settings.probe_interval;
                true
            }
            _ => false,
        }
    }

    /// A probe finished.
    pub fn on_probe(&mut self, ok: bool, now: Instant) -> Transition {
        let BreakerState::HalfOpen { successes, next_probe } = self.state else {
            return Transition::None;
        };
        if !ok {
            self.open_for = (self.open_for * 2).min(self.settings.max_open_for);
            self.open(now);
            return Transition::Reopened;
        }
        if successes + 1 >= self.settings.probes_to_close {
            self.state = BreakerState::Closed;
            self.open_for = self.settings.open_for;
            return Transition::Closed;
        }
        self.state = BreakerState::HalfOpen { successes: successes + 1, next_probe };
        Transition::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> BreakerSettings {
        BreakerSettings {
            consecutive_failures: 3,
            open_for: Duration::from_secs(1),
            max_open_for: Duration::from_secs(3),
            probe_interval: Duration::from_millis(100),
            probes_to_close: 2,
        }
    }

    #[test]
    fn consecutive_failures_trip_then_half_open_probes_close() {
        let t0 = Instant::now();
        let mut b = Breaker::new(settings());
        assert_eq!(b.on_call(false, false, t0), Transition::None);
        assert_eq!(b.on_call(true, false, t0), Transition::None, "a success resets the run");
        b.on_call(false, false, t0);
        b.on_call(false, false, t0);
        assert_eq!(b.on_call(false, false, t0), Transition::Tripped);
        assert_eq!(b.state().name(), "open");
        assert!(b.refusal(t0).is_some());
        assert_eq!(b.on_call(true, false, t0), Transition::None, "late outcomes do not close it");
        assert_eq!(b.tick(t0 + Duration::from_millis(999)), Transition::None);
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(b.tick(t1), Transition::HalfOpened);
        assert!(b.refusal(t1).is_some(), "half-open still refuses user calls");
        assert!(b.take_probe(t1));
        assert!(!b.take_probe(t1 + Duration::from_millis(50)), "one probe per interval");
        assert_eq!(b.on_probe(true, t1), Transition::None);
        assert!(b.take_probe(t1 + Duration::from_millis(100)));
        assert_eq!(b.on_probe(true, t1 + Duration::from_millis(100)), Transition::Closed);
        assert!(b.is_closed() && b.refusal(t1).is_none());
        assert_eq!(b.trips, 1);
    }

    #[test]
    fn a_red_verdict_trips_at_once_and_failed_probes_back_off() {
        let t0 = Instant::now();
        let mut b = Breaker::new(settings());
        assert_eq!(b.on_call(true, true, t0), Transition::Tripped, "slow successes can be RED too");
        let mut now = t0;
        let mut openings = Vec::new();
        for _ in 0..3 {
            let BreakerState::Open { until } = b.state() else { panic!("open expected") };
            openings.push(until - now);
            now = until;
            assert_eq!(b.tick(now), Transition::HalfOpened);
            assert!(b.take_probe(now));
            assert_eq!(b.on_probe(false, now), Transition::Reopened);
        }
        assert_eq!(openings, [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(3)], "doubling, capped");
        let BreakerState::Open { until } = b.state() else { panic!("open expected") };
        b.tick(until);
        b.take_probe(until);
        b.on_probe(true, until);
        b.take_probe(until + Duration::from_millis(100));
        assert_eq!(b.on_probe(true, until), Transition::Closed);
        for _ in 0..3 {
            b.on_call(false, false, until);
        }
        let BreakerState::Open { until: again } = b.state() else { panic!("open expected") };
        assert_eq!(again - until, Duration::from_secs(1), "a fresh trip starts from the base opening again");
    }
}
