//! Latencies of a phase and their percentiles. Every benchmark reports p50
//! and p99 beside a floor, so both sides must be read the same way: one
//! recorder per worker (no lock on the hot path), merged and sorted once.
use std::time::{Duration, Instant};

/// One worker's latencies, in microseconds, in the order its calls ended.
/// `u32` holds 71 minutes: a million calls cost 4 MB, not 8.
#[derive(Debug, Default)]
pub struct Recorder(Vec<u32>);

impl Recorder {
    pub fn with_capacity(calls: usize) -> Self {
        Self(Vec::with_capacity(calls))
    }

    /// Keeps the time since `started`.
    pub fn record(&mut self, started: Instant) {
        self.record_duration(started.elapsed());
    }

    pub fn record_duration(&mut self, latency: Duration) {
        self.0.push(u32::try_from(latency.as_micros()).unwrap_or(u32::MAX));
    }
}

/// Every worker's latencies of one phase, sorted.
#[derive(Clone, Debug, Default)]
pub struct Latencies(Vec<u32>);

impl Latencies {
    pub fn merge(recorders: impl IntoIterator<Item = Recorder>) -> Self {
        let mut all: Vec<u32> = recorders.into_iter().flat_map(|r| r.0).collect();
        all.sort_unstable();
        Self(all)
    }

    /// Several phases' latencies as one (search reports both kinds of call together).
    pub fn combine(parts: &[&Latencies]) -> Self {
        let mut all: Vec<u32> = parts.iter().flat_map(|l| l.0.iter().copied()).collect();
        all.sort_unstable();
        Self(all)
    }

    /// How many calls were kept.
    pub fn count(&self) -> u64 {
        self.0.len() as u64
    }

    /// The `p` quantile (0.5, 0.99, 1.0 for the slowest) in milliseconds, by
    /// the nearest rank; NaN for a phase without calls, so it cannot pass
    /// for a fast one.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let i = ((self.0.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.0[i]) / 1000.0
    }
}
