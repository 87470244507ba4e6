//! The health of one interval of the booking path, from the cumulative gRPC
//! counters its services publish: completed calls, failed calls (codes that
//! mean "the service is struggling": Unavailable, ResourceExhausted,
//! DeadlineExceeded, Internal, Unknown), calls shed by the concurrency
//! limit, and the handling-time histogram. Counters are per process, so the
//! caller keeps each address's previous counters and passes both.
use std::time::Duration;

/// One process's cumulative counters at one read, summed over the methods
/// watched (everything but health checks and reflection).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    pub handled: f64,
    pub errors: f64,
    pub shed: f64,
    /// Cumulative histogram: (upper bound in seconds, calls at or below it),
    /// ascending, `+Inf` last.
    pub buckets: Vec<(f64, f64)>,
}

/// What one process did between two reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interval {
    pub handled: f64,
    pub errors: f64,
    pub shed: f64,
    pub buckets: Vec<(f64, f64)>,
}

impl Counts {
    /// The interval since `earlier`. A counter below its earlier value means
    /// the process restarted: the interval is then everything since its start.
    pub fn since(&self, earlier: &Counts) -> Interval {
        if self.handled < earlier.handled || self.shed < earlier.shed || self.errors < earlier.errors {
            return Interval { handled: self.handled, errors: self.errors, shed: self.shed, buckets: self.buckets.clone() };
        }
        let before = |le: f64| earlier.buckets.iter().find(|(b, _)| *b == le).map_or(0.0, |(_, n)| *n);
        Interval {
            handled: self.handled - earlier.handled,
            errors: self.errors - earlier.errors,
            shed: self.shed - earlier.shed,
            buckets: self.buckets.iter().map(|(le, n)| (*le, (n - before(*le)).max(0.0))).collect(),
        }
    }
}

impl Interval {
    /// The `q` quantile of the handling time, interpolated within its bucket
    /// as Prometheus' `histogram_quantile` does (in the `+Inf` bucket: the
    /// largest finite bound). `None` without calls.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.buckets.last().map(|(_, n)| *n).filter(|n| *n > 0.0)?;
        let rank = q.clamp(0.0, 1.0) * total;
        let (mut lower, mut below) = (0.0, 0.0);
        for (le, n) in &self.buckets {
            if *n >= rank {
                if le.is_infinite() {
                    return Some(lower);
                }
                let share = if *n > below { (rank - below) / (n - below) } else { 1.0 };
                return Some(lower + (le - lower) * share);
            }
            (lower, below) = (*le, *n);
        }
        Some(lower)
    }
}

/// What one read of one process gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Reading {
    /// Not read within its deadline, or not metrics: counted as unhealthy.
    Unreachable(String),
    /// Read for the first time: no interval yet.
    First,
    Counted(Interval),
}

/// When an interval is degraded, and when it is healthy again.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// Failed calls / completed calls above which a service is degraded.
    pub max_error_ratio: f64,
    /// Shed calls / completed calls above which a service is degraded.
    pub max_shed_ratio: f64,
    /// The handling-time quantile watched (0.95: p95) and its limit.
    pub latency_quantile: f64,
    pub max_latency: Duration,
    /// Fewer completed calls in an interval say nothing about ratios or
    /// latency: the interval counts as healthy (quiet).
    pub min_calls: f64,
    /// Healthy again only below this share of every limit; between it and
    /// the limit the rate holds (the hysteresis band).
    pub recover_fraction: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            max_error_ratio: 0.05,
            max_shed_ratio: 0.01,
            latency_quantile: 0.95,
            max_latency: Duration::from_millis(500),
            min_calls: 10.0,
            recover_fraction: 0.5,
        }
    }
}

/// The health of the booking path over one interval.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// Some service is past a limit, or could not be read.
    Degraded(String),
    /// Between the recovery level and a limit somewhere: hold.
    Band(String),
    /// A service was read for the first time: hold.
    Unknown(String),
    Healthy,
}

/// The verdict over every process read this interval: `(service, reading)`.
pub fn assess(readings: &[(String, Reading)], t: &Thresholds) -> Verdict {
    let (mut degraded, mut band, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    for (service, reading) in readings {
        match reading {
            Reading::Unreachable(why) => degraded.push(format!("{service}: metrics unreachable ({why})")),
            Reading::First => unknown.push(format!("{service}: first read")),
            Reading::Counted(i) if i.handled < t.min_calls => {}
            Reading::Counted(i) => {
                for (what, value, limit) in measures(i, t) {
                    if value > limit {
                        degraded.push(format!("{service}: {what} {} > {}", show(what, value), show(what, limit)));
                    } else if value > limit * t.recover_fraction {
                        band.push(format!("{service}: {what} {}", show(what, value)));
                    }
                }
            }
        }
    }
    if readings.is_empty() {
        return Verdict::Degraded("no service could be read".into());
    }
    match (degraded.is_empty(), unknown.is_empty(), band.is_empty()) {
        (false, _, _) => Verdict::Degraded(degraded.join("; ")),
        (true, false, _) => Verdict::Unknown(unknown.join("; ")),
        (true, true, false) => Verdict::Band(band.join("; ")),
        (true, true, true) => Verdict::Healthy,
    }
}

/// `(name, value, limit)` of each signal of an interval with enough calls.
fn measures(i: &Interval, t: &Thresholds) -> Vec<(&'static str, f64, f64)> {
    let mut m = vec![("error ratio", i.errors / i.handled, t.max_error_ratio), ("shed ratio", i.shed / i.handled, t.max_shed_ratio)];
    if let Some(latency) = i.quantile(t.latency_quantile) {
        m.push(("latency", latency, t.max_latency.as_secs_f64()));
    }
    m
}

fn show(what: &str, value: f64) -> String {
    if what == "latency" {
        format!("{:.0} ms", value * 1000.0)
    } else {
        format!("{value:.3}")
    }
}

#[cfg(test)]
#[path = "signals_tests.rs"]
mod tests;
