//! The control law: additive increase, multiplicative decrease (AIMD), once
//! per interval, clamped to `[floor, ceiling]`.
//!
//! - Degraded: `rate × decrease_factor`, at most once every
//!   `cooldown_intervals + 1` intervals: the load a cut removes shows in the
//!   metrics only an interval or two later, and cutting again on stale
//!   evidence would drive the rate to the floor for nothing.
//! - Healthy for `healthy_intervals` in a row: `+ step_fraction × ceiling`
//!   per healthy interval, so the climb back is linear and the overshoot past
//!   the point where the backend degrades is at most one step.
//! - Anything else (the hysteresis band, a first read): hold.
use super::Verdict;

/// The law's constants (`YEYAK_ADMISSION_CONTROL_*`).
#[derive(Clone, Debug, PartialEq)]
pub struct Law {
    /// Added per healthy interval, as a share of the ceiling.
    pub step_fraction: f64,
    /// What a degraded interval multiplies the rate by (0 < f < 1).
    pub decrease_factor: f64,
    /// Healthy intervals in a row before the rate climbs.
    pub healthy_intervals: u32,
    /// Intervals after a cut during which the rate is not cut again.
    pub cooldown_intervals: u32,
}

impl Default for Law {
    fn default() -> Self {
        Self { step_fraction: 0.05, decrease_factor: 0.5, healthy_intervals: 3, cooldown_intervals: 1 }
    }
}

/// Which way a decision moved the rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Up,
    Down,
    Hold,
}

impl Direction {
    /// The label value of metrics and the column of the change log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Down => "down",
            Self::Hold => "hold",
        }
    }
}

/// One interval's decision.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub rate: f64,
    pub direction: Direction,
    pub reason: String,
}

/// The controller of one event: its rate and what it remembers.
#[derive(Clone, Debug, PartialEq)]
pub struct Controller {
    rate: f64,
    healthy_streak: u32,
    since_cut: u32,
}

impl Controller {
    /// Takes over at `rate` (the rate in force, or the ceiling at first).
    pub fn starting_at(rate: f64) -> Self {
        Self { rate, healthy_streak: 0, since_cut: u32::MAX }
    }

    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Decides the rate of the next interval.
    pub fn step(&mut self, law: &Law, verdict: &Verdict, ceiling: f64, floor: f64) -> Decision {
        let floor = floor.min(ceiling);
        let before = self.rate;
        let clamped = before.clamp(floor, ceiling);
        self.since_cut = self.since_cut.saturating_add(1);
        let (rate, why) = match verdict {
            Verdict::Degraded(why) => {
                self.healthy_streak = 0;
                if self.since_cut > law.cooldown_intervals && clamped > floor {
                    self.since_cut = 0;
                    ((clamped * law.decrease_factor).max(floor), format!("degraded: {why}"))
                } else if clamped > floor {
                    (clamped, format!("degraded, cooling down after a cut: {why}"))
                } else {
                    (clamped, format!("degraded, at the floor: {why}"))
                }
            }
            Verdict::Healthy => {
                self.healthy_streak = self.healthy_streak.saturating_add(1);
                if self.healthy_streak >= law.healthy_intervals {
                    ((clamped + law.step_fraction * ceiling).min(ceiling), format!("healthy for {} intervals", self.healthy_streak))
                } else {
                    (clamped, "healthy; waiting before climbing".to_owned())
                }
            }
            Verdict::Band(why) => {
                self.healthy_streak = 0;
                (clamped, format!("holding, near a limit: {why}"))
            }
            Verdict::Unknown(why) => (clamped, format!("holding: {why}")),
        };
        self.rate = rate;
        let direction = match rate.partial_cmp(&before) {
            Some(std::cmp::Ordering::Greater) => Direction::Up,
            Some(std::cmp::Ordering::Less) => Direction::Down,
            _ => Direction::Hold,
        };
        let reason = if clamped != before && rate == clamped { format!("{why}; kept within [{floor}, {ceiling}]") } else { why };
        Decision { rate, direction, reason }
    }
}

#[cfg(test)]
#[path = "law_tests.rs"]
mod tests;
