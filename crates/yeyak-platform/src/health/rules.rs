//! The traffic light: how an upstream's recent numbers become GREEN, YELLOW
//! or RED. Pure; thresholds come from each service's configuration
//! (`docs/identity.md`, `docs/notification.md`).
use std::time::Duration;

use super::window::WindowStats;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Light {
    Green,
    Yellow,
    Red,
}

impl Light {
    pub fn name(self) -> &'static str {
        match self {
            Self::Green => "GREEN",
            Self::Yellow => "YELLOW",
            Self::Red => "RED",
        }
    }
}

#[derive(Clone, Debug)]
pub struct HealthRules {
    /// Length of the sliding window the rates and percentiles cover.
    pub window: Duration,
    /// Calls needed in the window before rates and percentiles count at all.
    pub min_calls: u32,
    /// Success rate below which an upstream is YELLOW.
    pub yellow_success: f64,
    /// Success rate below which an upstream is RED (and its breaker opens).
    pub red_success: f64,
    /// p99 latency from which an upstream is YELLOW.
    pub yellow_p99: Duration,
    /// p50 latency from which an upstream is RED (and its breaker opens).
    pub red_p50: Duration,
    /// Share of the upstream's concurrency limit in use from which it is YELLOW.
    pub yellow_saturation: f64,
}

impl Default for HealthRules {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(30),
            min_calls: 10,
            yellow_success: 0.95,
            red_success: 0.80,
            yellow_p99: Duration::from_millis(1_500),
            red_p50: Duration::from_millis(2_000),
            yellow_saturation: 0.75,
        }
    }
}

/// Why an upstream has the light it has (exposed in metrics and logs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    Healthy,
    Errors,
    Slow,
    Saturated,
    CircuitOpen,
}

impl Reason {
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Errors => "errors",
            Self::Slow => "slow",
            Self::Saturated => "saturated",
            Self::CircuitOpen => "circuit_open",
        }
    }
}

impl HealthRules {
    /// The verdict on the window alone (RED here trips the breaker).
    pub fn judge_window(&self, s: &WindowStats) -> (Light, Reason) {
        if s.calls < self.min_calls {
            return (Light::Green, Reason::Healthy);
        }
        if s.success_rate < self.red_success {
            return (Light::Red, Reason::Errors);
        }
        if s.p50 >= self.red_p50 {
            return (Light::Red, Reason::Slow);
        }
        if s.success_rate < self.yellow_success {
            return (Light::Yellow, Reason::Errors);
        }
        if s.p99 >= self.yellow_p99 {
            return (Light::Yellow, Reason::Slow);
        }
        (Light::Green, Reason::Healthy)
    }

    /// The full light: the breaker first, then the window, then how full the
    /// upstream's concurrency limit is. A full limit is YELLOW, not RED: it
    /// is our own bulkhead, it drains in one call's time, and calls that do
    /// not fit are sent to the alternatives at once.
    pub fn judge(&self, breaker_closed: bool, s: &WindowStats, in_flight: usize, limit: usize) -> (Light, Reason) {
        if !breaker_closed {
            return (Light::Red, Reason::CircuitOpen);
        }
        let (light, reason) = self.judge_window(s);
        if light == Light::Green && limit > 0 && in_flight as f64 >= self.yellow_saturation * limit as f64 {
            return (Light::Yellow, Reason::Saturated);
        }
        (light, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(calls: u32, success_rate: f64, p50_ms: u64, p99_ms: u64) -> WindowStats {
        WindowStats {
            calls,
            failures: (f64::from(calls) * (1.0 - success_rate)) as u32,
            success_rate,
            p50: Duration::from_millis(p50_ms),
            p90: Duration::from_millis(p99_ms),
            p99: Duration::from_millis(p99_ms),
        }
    }

    #[test]
    fn thresholds() {
        let r = HealthRules::default();
        assert_eq!(r.judge(true, &stats(100, 1.0, 50, 300), 0, 64), (Light::Green, Reason::Healthy));
        assert_eq!(r.judge(true, &stats(100, 0.94, 50, 300), 0, 64), (Light::Yellow, Reason::Errors));
        assert_eq!(r.judge(true, &stats(100, 0.79, 50, 300), 0, 64), (Light::Red, Reason::Errors));
        assert_eq!(r.judge(true, &stats(100, 1.0, 50, 1_500), 0, 64), (Light::Yellow, Reason::Slow));
        assert_eq!(r.judge(true, &stats(100, 1.0, 2_000, 2_500), 0, 64), (Light::Red, Reason::Slow));
        assert_eq!(r.judge(true, &stats(9, 0.0, 5_000, 5_000), 0, 64), (Light::Green, Reason::Healthy), "too few calls to judge");
        assert_eq!(r.judge(true, &stats(100, 1.0, 50, 300), 48, 64), (Light::Yellow, Reason::Saturated));
        assert_eq!(r.judge(true, &stats(100, 1.0, 50, 300), 47, 64), (Light::Green, Reason::Healthy));
        assert_eq!(r.judge(false, &stats(0, 1.0, 0, 0), 0, 64), (Light::Red, Reason::CircuitOpen));
        assert!(Light::Green < Light::Yellow && Light::Yellow < Light::Red, "sorts healthiest first");
    }
}
