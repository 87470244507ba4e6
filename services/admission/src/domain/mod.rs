//! Pure waiting-room rules: where a ticket stands and how long it may wait.
use std::time::Duration;

/// Admission settings of one queue, as stored for every replica.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub rate_per_second: f64,
    pub max_active: u64,
    pub paused: bool,
}

/// One read of a queue's shared counters.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub joined: u64,
    pub admitted: u64,
    pub settings: Settings,
}

/// Where one ticket stands.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    pub admitted: bool,
    pub people_ahead: u64,
    /// `Err(reason)` when no honest estimate exists.
    pub estimated_wait: Result<Duration, &'static str>,
    pub next_poll_after: Duration,
}

/// Longest wait worth estimating: beyond it the line would outlast the event,
/// so we say "unknown" rather than print "89 hours".
const MAX_ESTIMATE: Duration = Duration::from_secs(12 * 3600);

pub fn standing(position: u64, snap: &Snapshot) -> Standing {
    if position <= snap.admitted {
        return Standing { admitted: true, people_ahead: 0, estimated_wait: Ok(Duration::ZERO), next_poll_after: Duration::ZERO };
    }
    let people_ahead = position - snap.admitted - 1;
    let estimated_wait = if snap.settings.paused {
        Err("admission is paused by the operators")
    } else if snap.settings.rate_per_second <= 0.0 {
        Err("admission rate is zero")
    } else {
        let secs = (people_ahead + 1) as f64 / snap.settings.rate_per_second;
        let wait = Duration::from_secs_f64(secs.ceil());
        if wait > MAX_ESTIMATE {
            Err("wait is longer than the event can estimate")
        } else {
            Ok(wait)
        }
    };
    Standing { admitted: false, people_ahead, next_poll_after: poll_interval(&estimated_wait), estimated_wait }
}

/// Far from the front, poll rarely; close to it, poll often. Spreads millions
/// of pollers out so that each poll stays cheap.
pub fn poll_interval(wait: &Result<Duration, &'static str>) -> Duration {
    match wait {
        Ok(w) => (*w / 4).clamp(Duration::from_secs(1), Duration::from_secs(60)),
        Err(_) => Duration::from_secs(30),
    }
}

/// Validates operator settings before they reach the shared store.
pub fn validate_settings(rate: f64, max_active: u64) -> Result<(), (&'static str, String)> {
    if !(rate > 0.0 && rate <= 100_000.0) {
        return Err(("admission_rate_per_second", "must be greater than 0 and at most 100000".into()));
    }
    if max_active == 0 {
        return Err(("max_active_sessions", "must be at least 1".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(admitted: u64, rate: f64, paused: bool) -> Snapshot {
        Snapshot { joined: 1_000_000, admitted, settings: Settings { rate_per_second: rate, max_active: 10, paused } }
    }

    #[test]
    fn admitted_when_frontier_passes_position() {
        assert!(standing(10, &snap(10, 5.0, false)).admitted);
        let s = standing(11, &snap(10, 5.0, false));
        assert!(!s.admitted);
        assert_eq!(s.people_ahead, 0);
        assert_eq!(s.estimated_wait, Ok(Duration::from_secs(1)));
    }

    #[test]
    fn estimates_follow_rate_and_are_honest_when_unknown() {
        let s = standing(1_010, &snap(10, 100.0, false));
        assert_eq!(s.people_ahead, 999);
        assert_eq!(s.estimated_wait, Ok(Duration::from_secs(10)));
        assert!(standing(1_010, &snap(10, 100.0, true)).estimated_wait.is_err());
        assert!(standing(5_000_000, &snap(0, 0.01, false)).estimated_wait.is_err());
    }

    #[test]
    fn poll_interval_is_bounded() {
        assert_eq!(poll_interval(&Ok(Duration::ZERO)), Duration::from_secs(1));
        assert_eq!(poll_interval(&Ok(Duration::from_secs(3600))), Duration::from_secs(60));
    }

    #[test]
    fn settings_validation_names_fields() {
        assert_eq!(validate_settings(0.0, 1).unwrap_err().0, "admission_rate_per_second");
        assert_eq!(validate_settings(1.0, 0).unwrap_err().0, "max_active_sessions");
        assert!(validate_settings(10.0, 5).is_ok());
    }
}
