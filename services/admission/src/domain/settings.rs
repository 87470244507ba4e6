//! A queue's admission settings: the ones operators change live (shared by
//! every replica through the store) and the defaults a deployment starts
//! each queue with.
use std::time::Duration;

use super::{control::Controlled, proof::MAX_BITS};

/// Admission settings of one queue, as stored for every replica.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Settings {
    pub(crate) rate_per_second: f64,
    pub(crate) max_active: u64,
    pub(crate) paused: bool,
    /// Closed to new arrivals (drained).
    pub(crate) closed: bool,
    /// Proof of work per new entry set by an operator; `None`: the
    /// deployment's default for the queue.
    pub(crate) pow_bits: Option<u8>,
    /// The automatic admission rate in force, when the event is under
    /// control (docs/admission.md, "Automatic admission rate").
    pub(crate) controlled: Option<Controlled>,
}

impl Default for Settings {
    fn default() -> Self {
        Self { rate_per_second: 0.0, max_active: 0, paused: false, closed: false, pow_bits: None, controlled: None }
    }
}

impl Settings {
    /// People per second admitted now: the operators' rate, or the
    /// controller's below it (never above: the operators' rate is the ceiling).
    pub(crate) fn effective_rate(&self) -> f64 {
        self.controlled.as_ref().map_or(self.rate_per_second, |c| c.rate.min(self.rate_per_second))
    }

    /// Whether the controller holds admission below the operators' rate.
    pub(crate) fn slowed(&self) -> bool {
        self.effective_rate() < self.rate_per_second
    }
}

/// Operator settings as kept in PostgreSQL (and copied into Redis): `None`
/// where the operator never set one, so the deployment's default applies.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct StoredSettings {
    pub(crate) rate: Option<f64>,
    pub(crate) max_active: Option<u64>,
    pub(crate) paused: Option<bool>,
    pub(crate) closed: Option<bool>,
    pub(crate) pow_bits: Option<u8>,
    /// Automatic admission rate switched on or off by an operator; `None`:
    /// the deployment's default.
    pub(crate) auto_rate: Option<bool>,
    /// The lowest rate the controller may set; `None`: a share of the ceiling.
    pub(crate) auto_floor: Option<f64>,
}

impl StoredSettings {
    /// Only the given flag, as an operator's change.
    pub(crate) fn flag(flag: Flag, on: bool) -> Self {
        match flag {
            Flag::Paused => Self { paused: Some(on), ..Self::default() },
            Flag::Closed => Self { closed: Some(on), ..Self::default() },
        }
    }
}

/// What a queue starts with until an operator changes it: settings that do
/// not live in the shared store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct QueueDefaults {
    pub(crate) rate: f64,
    pub(crate) max_active: u64,
    /// Opening instant (unix ms); arrivals before it join the lottery.
    pub(crate) opens_at_ms: i64,
    /// Lifetime of a pass, and of the seat it holds.
    pub(crate) session_ttl: Duration,
    /// Unused admission credit kept, as time at the configured rate.
    pub(crate) burst: Duration,
}

/// The switches an operator flips on a queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flag {
    /// Nobody is admitted while it is on; the line keeps its order.
    Paused,
    /// Closed to new arrivals (drained); everyone waiting is still admitted.
    Closed,
}

/// Which operator setting is out of range, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvalidSettings {
    #[error("must be greater than 0 and at most 100000")]
    Rate,
    #[error("must be at least 1")]
    MaxActive,
    #[error("must be 0 to {}", MAX_BITS)]
    Difficulty,
    #[error("must be greater than 0 and at most 100000")]
    Floor,
}

/// Validates the floor of the automatic admission rate an operator sets.
pub(crate) fn validate_floor(floor: f64) -> Result<f64, InvalidSettings> {
    Some(floor).filter(|f| *f > 0.0 && *f <= 100_000.0).ok_or(InvalidSettings::Floor)
}

/// Validates a proof-of-work difficulty an operator sets.
pub(crate) fn validate_difficulty(bits: u32) -> Result<u8, InvalidSettings> {
    u8::try_from(bits).ok().filter(|b| *b <= MAX_BITS).ok_or(InvalidSettings::Difficulty)
}

/// Validates operator settings before they reach the shared store.
pub(crate) fn validate_settings(rate: f64, max_active: u64) -> Result<(), InvalidSettings> {
    if !(rate > 0.0 && rate <= 100_000.0) {
        return Err(InvalidSettings::Rate);
    }
    if max_active == 0 {
        return Err(InvalidSettings::MaxActive);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_validation_names_the_setting() {
        // The field each one names on the wire is the handler's choice:
        // grpc::status tests it.
        assert_eq!(validate_settings(0.0, 1).unwrap_err(), InvalidSettings::Rate);
        assert_eq!(validate_settings(1.0, 0).unwrap_err(), InvalidSettings::MaxActive);
        assert!(validate_settings(10.0, 5).is_ok());
        assert_eq!(validate_difficulty(0), Ok(0));
        assert_eq!(validate_difficulty(32), Ok(32));
        assert_eq!(validate_difficulty(33), Err(InvalidSettings::Difficulty));
        assert_eq!(validate_difficulty(256), Err(InvalidSettings::Difficulty));
        assert_eq!(validate_floor(0.0), Err(InvalidSettings::Floor));
        assert_eq!(validate_floor(f64::NAN), Err(InvalidSettings::Floor));
        assert_eq!(validate_floor(2.5), Ok(2.5));
    }

    #[test]
    fn the_controlled_rate_never_exceeds_the_operators() {
        let controlled = |rate| Some(Controlled { rate, reason: String::new(), changed_at_ms: 0 });
        let s = Settings { rate_per_second: 100.0, controlled: controlled(40.0), ..Settings::default() };
        assert_eq!((s.effective_rate(), s.slowed()), (40.0, true));
        let s = Settings { rate_per_second: 30.0, controlled: controlled(40.0), ..Settings::default() };
        assert_eq!((s.effective_rate(), s.slowed()), (30.0, false));
        assert_eq!(Settings { rate_per_second: 30.0, ..Settings::default() }.effective_rate(), 30.0);
    }
}
