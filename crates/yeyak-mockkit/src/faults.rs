//! Fault injection for a mock third-party service: a latency distribution
//! (fixed + jitter, or lognormal from a p50 and a p99), random errors, hangs
//! and a concurrency cap whose overflow is either refused (503) or queued
//! (answers slowly), adjustable at run time through `GET/PUT /admin/faults`,
//! so load tests and chaos drills can show how Yeyak behaves when a partner
//! system degrades.
//!
//! Shared by every mock crate through `yeyak-mockkit`; the mocks still share
//! no business code with each other, only this plumbing and the platform crate.
use std::{str::FromStr, time::Duration};

use serde::{Deserialize, Serialize};
use yeyak_platform::config::{ConfigError, Env};

mod injector;

pub use injector::{get_faults, inject, put_faults, FaultInjector, Slot};

/// Default of [`Faults::hang_ms`]: longer than any sane client deadline, so
/// callers see a hang rather than a slow answer.
pub const HANG: Duration = Duration::from_secs(30);

/// z-score of the 99th percentile of the standard normal distribution.
const Z99: f64 = 2.326_347_874;

/// What happens to a request that arrives while `capacity` requests are in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverCapacity {
    /// Answered 503 "over capacity" at once (a provider that sheds).
    #[default]
    Error,
    /// Waits for a free slot, first come first served, for at most `hang_ms`
    /// (a provider that queues: latency grows with the queue).
    Slow,
}

impl FromStr for OverCapacity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "error" => Ok(Self::Error),
            "slow" => Ok(Self::Slow),
            other => Err(format!("unknown over-capacity behaviour {other:?} (error or slow)")),
        }
    }
}

fn default_hang_ms() -> u64 {
    HANG.as_millis() as u64
}

/// The fault settings; the JSON shape of `GET /admin/faults`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Fixed delay added to every business request.
    pub latency_ms: u64,
    /// Extra random delay, uniform in `0..=jitter_ms`.
    pub jitter_ms: u64,
    /// Median of an extra lognormal delay; 0 = none.
    pub latency_p50_ms: u64,
    /// 99th percentile of that lognormal delay (>= `latency_p50_ms`; equal
    /// or 0 means the delay is always the median).
    pub latency_p99_ms: u64,
    /// Share of requests answered with 503 (0..=1).
    pub error_rate: f64,
    /// Share of requests held for `hang_ms` before being answered (0..=1).
    pub timeout_rate: f64,
    /// How long a "timeout" holds a request, and the longest a queued request
    /// waits for a slot.
    pub hang_ms: u64,
    /// Concurrent requests allowed; 0 = unlimited.
    pub capacity: u32,
    /// What requests beyond `capacity` get.
    pub over_capacity: OverCapacity,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            jitter_ms: 0,
            latency_p50_ms: 0,
            latency_p99_ms: 0,
            error_rate: 0.0,
            timeout_rate: 0.0,
            hang_ms: default_hang_ms(),
            capacity: 0,
            over_capacity: OverCapacity::Error,
        }
    }
}

/// `PUT /admin/faults` body: every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsUpdate {
    pub latency_ms: Option<u64>,
    pub jitter_ms: Option<u64>,
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
    pub error_rate: Option<f64>,
    pub timeout_rate: Option<f64>,
    pub hang_ms: Option<u64>,
    pub capacity: Option<u32>,
    pub over_capacity: Option<OverCapacity>,
}

impl Faults {
    /// Reads `YEYAK_LATENCY_MS`, `YEYAK_JITTER_MS`, `YEYAK_LATENCY_P50_MS`,
    /// `YEYAK_LATENCY_P99_MS`, `YEYAK_ERROR_RATE`, `YEYAK_TIMEOUT_RATE`,
    /// `YEYAK_HANG_MS`, `YEYAK_CAPACITY` and `YEYAK_OVER_CAPACITY`; all
    /// default to "no faults".
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let faults = Self {
            latency_ms: env.parse("LATENCY_MS", 0)?,
            jitter_ms: env.parse("JITTER_MS", 0)?,
            latency_p50_ms: env.parse("LATENCY_P50_MS", 0)?,
            latency_p99_ms: env.parse("LATENCY_P99_MS", 0)?,
            error_rate: env.parse("ERROR_RATE", 0.0)?,
            timeout_rate: env.parse("TIMEOUT_RATE", 0.0)?,
            hang_ms: env.parse("HANG_MS", default_hang_ms())?,
            capacity: env.parse("CAPACITY", 0)?,
            over_capacity: env.parse("OVER_CAPACITY", OverCapacity::Error)?,
        };
        faults
            .validate()
            .map_err(|(field, reason)| ConfigError::Invalid { key: format!("YEYAK_{}", field.to_uppercase()), reason: reason.into() })?;
        Ok(faults)
    }

    /// Rates are probabilities and the distribution must be well formed;
    /// anything else is a typo worth rejecting.
    fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        for (field, rate) in [("error_rate", self.error_rate), ("timeout_rate", self.timeout_rate)] {
            if !(0.0..=1.0).contains(&rate) {
                return Err((field, "must be between 0 and 1"));
            }
        }
        if self.latency_p99_ms > 0 && self.latency_p99_ms < self.latency_p50_ms {
            return Err(("latency_p99_ms", "must be at least latency_p50_ms (or 0)"));
        }
        if self.latency_p99_ms > 0 && self.latency_p50_ms == 0 {
            return Err(("latency_p50_ms", "must be set when latency_p99_ms is"));
        }
        Ok(())
    }

    fn apply(&mut self, update: FaultsUpdate) {
        self.latency_ms = update.latency_ms.unwrap_or(self.latency_ms);
        self.jitter_ms = update.jitter_ms.unwrap_or(self.jitter_ms);
        self.latency_p50_ms = update.latency_p50_ms.unwrap_or(self.latency_p50_ms);
        self.latency_p99_ms = update.latency_p99_ms.unwrap_or(self.latency_p99_ms);
        self.error_rate = update.error_rate.unwrap_or(self.error_rate);
        self.timeout_rate = update.timeout_rate.unwrap_or(self.timeout_rate);
        self.hang_ms = update.hang_ms.unwrap_or(self.hang_ms);
        self.capacity = update.capacity.unwrap_or(self.capacity);
        self.over_capacity = update.over_capacity.unwrap_or(self.over_capacity);
    }

    /// One draw of the added delay: fixed + uniform jitter + lognormal.
    pub fn sample_delay(&self, rng: &mut impl rand::Rng) -> Duration {
        let jitter = if self.jitter_ms > 0 { rng.gen_range(0..=self.jitter_ms) } else { 0 };
        let fixed = Duration::from_millis(self.latency_ms.saturating_add(jitter));
        fixed + lognormal(self.latency_p50_ms, self.latency_p99_ms, self.hang_ms, rng)
    }
}

/// A lognormal draw with median `p50` and 99th percentile `p99` (ms), capped
/// at `cap` ms so one unlucky draw cannot outlive a hang.
fn lognormal(p50: u64, p99: u64, cap: u64, rng: &mut impl rand::Rng) -> Duration {
    if p50 == 0 {
        return Duration::ZERO;
    }
    let sigma = if p99 > p50 { (p99 as f64 / p50 as f64).ln() / Z99 } else { 0.0 };
    // Box–Muller: two uniforms in (0, 1] give one standard normal.
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen::<f64>();
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let ms = (p50 as f64 * (sigma * z).exp()).min(cap.max(p99) as f64);
    Duration::from_secs_f64(ms / 1000.0)
}

#[cfg(test)]
mod tests;
