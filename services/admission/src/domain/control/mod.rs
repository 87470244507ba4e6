//! The automatic admission rate (docs/admission.md, "Automatic admission
//! rate"): the health of the booking path read from its services' metrics
//! ([`signals`]), and the control law that turns it into an admission rate
//! between a floor and the operators' ceiling ([`law`]). Pure: the caller
//! scrapes, keeps the previous counters and passes the time.
mod law;
mod signals;

use std::time::Duration;

pub use law::{Controller, Decision, Direction, Law};
pub use signals::{assess, Counts, Interval, Reading, Thresholds, Verdict};

/// One service whose health bounds the admission rate: its name (for the
/// reasons operators read) and its Prometheus metrics URL. The URL's host
/// is resolved at each interval and every address is read (a headless
/// Service names every pod), since counters are per process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub url: String,
}

/// What a deployment decides for the controller
/// (`YEYAK_ADMISSION_CONTROL_*`, `config.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct ControlSettings {
    /// The services read; none: the controller does not run at all.
    pub targets: Vec<Target>,
    /// How often the rate is decided.
    pub interval: Duration,
    /// Deadline of each metrics read; a read that misses it counts as unhealthy.
    pub scrape_timeout: Duration,
    /// Whether an event the operators never switched is controlled.
    pub enabled_by_default: bool,
    /// The floor of an event without an operator's floor, as a share of its ceiling.
    pub floor_fraction: f64,
    pub law: Law,
    pub thresholds: Thresholds,
}

impl ControlSettings {
    /// No targets: the controller is off everywhere.
    pub fn off() -> Self {
        Self {
            targets: Vec::new(),
            interval: Duration::from_secs(2),
            scrape_timeout: Duration::from_secs(1),
            enabled_by_default: true,
            floor_fraction: 0.05,
            law: Law::default(),
            thresholds: Thresholds::default(),
        }
    }

    /// The floor of an event: the operator's, else the default share of
    /// the ceiling; never above the ceiling (the operators' rate always wins).
    pub fn floor(&self, operator_floor: Option<f64>, ceiling: f64) -> f64 {
        operator_floor.unwrap_or(ceiling * self.floor_fraction).min(ceiling)
    }
}

/// The rate in force of an event under control, as every replica reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Controlled {
    /// People per second the controller allows (at most the ceiling).
    pub rate: f64,
    /// Why it last changed.
    pub reason: String,
    /// When it last changed (unix ms); 0 when it never did.
    pub changed_at_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_floor_is_the_operators_or_a_share_of_the_ceiling_and_never_above_it() {
        let s = ControlSettings::off();
        assert_eq!(s.floor(None, 100.0), 5.0);
        assert_eq!(s.floor(Some(20.0), 100.0), 20.0);
        assert_eq!(s.floor(Some(200.0), 100.0), 100.0, "the ceiling wins");
    }
}
