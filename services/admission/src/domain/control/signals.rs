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
    /// Not read within its deadline, or not metrics. `persistent`: the
    /// previous read of the same process failed too (one slow scrape, or a
    /// pod that a rolling update is replacing, is not yet a verdict).
    Unreachable {
        why: String,
        persistent: bool,
    },
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
    /// Fewer completed calls of a service in an interval say nothing about
    /// its latency, nor about ratios unless failures reach `min_failures`:
    /// such a quiet interval counts as healthy.
    pub min_calls: f64,
    /// A ratio condemns a service only with at least this many failed (or
    /// shed) calls behind it: one failure among ten calls is not a trend.
    pub min_failures: f64,
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
            min_failures: 3.0,
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
/// A service is judged on the sum of its processes' intervals (a pod sees a
/// share of the calls: judged alone, each would be too quiet to tell, and
/// one slow call would make its p95). Its metrics count as unreachable when
/// most of its processes failed twice in a row; fewer, or a first failure,
/// hold the rate.
pub fn assess(readings: &[(String, Reading)], t: &Thresholds) -> Verdict {
    let (mut degraded, mut band, mut unknown) = (Vec::new(), Vec::new(), Vec::new());
    let mut services: Vec<&str> = Vec::new();
    for (service, _) in readings {
        if !services.contains(&service.as_str()) {
            services.push(service);
        }
    }
    for service in services {
        let mine: Vec<&Reading> = readings.iter().filter(|(s, _)| s == service).map(|(_, r)| r).collect();
        let lost: Vec<&str> = mine
            .iter()
            .filter_map(|r| match r {
                Reading::Unreachable { why, persistent: true } => Some(why.as_str()),
                _ => None,
            })
            .collect();
        if lost.len() * 2 > mine.len() {
            degraded.push(format!("{service}: metrics unreachable ({})", lost.join(", ")));
            continue;
        }
        if mine.iter().any(|r| matches!(r, Reading::First | Reading::Unreachable { .. })) {
            unknown.push(format!("{service}: not every process read"));
        }
        let total = mine.iter().fold(Interval::default(), |sum, r| match r {
            Reading::Counted(i) => sum.plus(i),
            _ => sum,
        });
        for (what, value, limit, failures) in measures(&total, t) {
            if value > limit && failures >= t.min_failures {
                degraded.push(format!("{service}: {what} {} > {}", show(what, value), show(what, limit)));
            } else if value > limit * t.recover_fraction && total.handled >= t.min_calls {
                band.push(format!("{service}: {what} {}", show(what, value)));
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

impl Interval {
    /// Two processes' intervals as one (buckets matched by bound).
    fn plus(mut self, other: &Interval) -> Interval {
        self.handled += other.handled;
        self.errors += other.errors;
        self.shed += other.shed;
        for (le, n) in &other.buckets {
            match self.buckets.iter_mut().find(|(b, _)| b == le) {
                Some((_, sum)) => *sum += n,
                None => self.buckets.push((*le, *n)),
            }
        }
        self.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        self
    }
}

/// `(name, value, limit, evidence)` of each signal of an interval: the
/// evidence is the count of calls behind a ratio (failures, shed calls), or
/// for latency the calls when there are enough of them to take a quantile
/// (else 0: a quiet interval says nothing about latency).
fn measures(i: &Interval, t: &Thresholds) -> Vec<(&'static str, f64, f64, f64)> {
    if i.handled <= 0.0 {
        return Vec::new();
    }
    let mut m = vec![
        ("error ratio", i.errors / i.handled, t.max_error_ratio, i.errors),
        ("shed ratio", i.shed / i.handled, t.max_shed_ratio, i.shed),
    ];
    if let Some(latency) = i.quantile(t.latency_quantile) {
        let evidence = if i.handled >= t.min_calls { f64::INFINITY } else { 0.0 };
        m.push(("latency", latency, t.max_latency.as_secs_f64(), evidence));
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
