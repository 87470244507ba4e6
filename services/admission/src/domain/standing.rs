//! Where a ticket stands and how long it may wait, from one snapshot of the
//! queue's shared counters. Estimates use the admission rate measured over a
//! recent window, never a constant, and say "unknown" rather than extrapolate
//! a stall into "89 hours".
use std::time::Duration;

use super::Snapshot;

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Standing {
    pub(crate) admitted: bool,
    pub(crate) people_ahead: u64,
    /// `Err(reason)` when no honest estimate exists.
    pub(crate) estimated_wait: Result<Duration, &'static str>,
    pub(crate) next_poll_after: Duration,
}

/// Longest wait worth estimating: beyond it the line would outlast the event.
const MAX_ESTIMATE: Duration = Duration::from_secs(12 * 3600);

pub(crate) fn standing(position: u64, snap: &Snapshot) -> Standing {
    if position <= snap.admitted {
        return Standing { admitted: true, people_ahead: 0, estimated_wait: Ok(Duration::ZERO), next_poll_after: Duration::ZERO };
    }
    let people_ahead = position - snap.admitted - 1;
    let estimated_wait = if snap.settings.paused {
        Err("admission is paused by the operators")
    } else if snap.measured_rate <= 0.0 && snap.restored_at_ms.is_some() {
        Err("the waiting room was restored after its store lost data; measuring the admission rate again")
    } else if snap.measured_rate <= 0.0 {
        Err("nobody was admitted in the last 30 seconds; no honest estimate")
    } else {
        let wait = Duration::from_secs_f64(((people_ahead + 1) as f64 / snap.measured_rate).ceil());
        if wait > MAX_ESTIMATE {
            Err("wait is longer than the event can estimate")
        } else {
            Ok(wait)
        }
    };
    Standing { admitted: false, people_ahead, next_poll_after: poll_interval(&estimated_wait, position), estimated_wait }
}

/// Far from the front, poll rarely; close to it, poll often. A jitter derived
/// from the place spreads pollers who joined together over the interval.
pub(crate) fn poll_interval(wait: &Result<Duration, &'static str>, position: u64) -> Duration {
    let base = match wait {
        Ok(w) => (*w / 4).clamp(Duration::from_secs(1), Duration::from_secs(60)),
        Err(_) => Duration::from_secs(20),
    };
    let jitter = 0.8 + 0.4 * ((position.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Settings;

    fn snap(admitted: u64, measured: f64, paused: bool) -> Snapshot {
        Snapshot {
            admitted,
            measured_rate: measured,
            settings: Settings { rate_per_second: 5.0, max_active: 10, paused, ..Settings::default() },
            ..Snapshot::default()
        }
    }

    #[test]
    fn admitted_when_frontier_passes_position() {
        assert!(standing(10, &snap(10, 5.0, false)).admitted);
        let s = standing(11, &snap(10, 5.0, false));
        assert_eq!((s.admitted, s.people_ahead, s.estimated_wait), (false, 0, Ok(Duration::from_secs(1))));
    }

    #[test]
    fn estimates_follow_the_measured_rate_and_are_honest_when_unknown() {
        let s = standing(1_010, &snap(10, 100.0, false));
        assert_eq!((s.people_ahead, s.estimated_wait), (999, Ok(Duration::from_secs(10))));
        assert!(standing(1_010, &snap(10, 100.0, true)).estimated_wait.unwrap_err().contains("paused"));
        assert!(standing(1_010, &snap(10, 0.0, false)).estimated_wait.unwrap_err().contains("no honest estimate"));
        let restored = Snapshot { restored_at_ms: Some(1), ..snap(10, 0.0, false) };
        assert!(standing(1_010, &restored).estimated_wait.unwrap_err().contains("restored"));
        assert_eq!(
            standing(1_010, &Snapshot { restored_at_ms: Some(1), ..snap(10, 100.0, false) }).estimated_wait,
            Ok(Duration::from_secs(10))
        );
        assert!(standing(5_000_000, &snap(0, 0.01, false)).estimated_wait.is_err(), "no 89-hour extrapolation");
    }

    #[test]
    fn poll_interval_is_bounded_and_spread() {
        let near = poll_interval(&Ok(Duration::ZERO), 1);
        assert!(near >= Duration::from_millis(800) && near <= Duration::from_millis(1200));
        let far: Vec<Duration> = (0..100).map(|p| poll_interval(&Ok(Duration::from_secs(3600)), p)).collect();
        assert!(far.iter().all(|d| *d >= Duration::from_secs(48) && *d <= Duration::from_secs(72)));
        assert!(far.iter().collect::<std::collections::HashSet<_>>().len() > 50, "pollers are spread out");
    }
}
