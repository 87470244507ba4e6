//! The phases of `bench_search`, each adding its lines to the report printed
//! at the end: the open loop on the mixed workload, the sweep of rates, the
//! floor at the same rate, and the closed loops.
use std::{future::Future, time::Duration};

use super::{
    open_loop,
    workload::{Floor, Workload},
    Args, Series,
};
use crate::bench::{
    closed_loop::{self, Calls, Load},
    latency::Latencies,
};

/// Open-loop phases last `--seconds`; sweep and closed-loop phases at most this.
const SHORT: Duration = Duration::from_secs(8);

pub struct Run {
    rate: u64,
    seconds: Duration,
    concurrency: usize,
    lines: Vec<String>,
}

/// What the verdicts are made of.
pub struct Summary {
    pub cached_p99: f64,
    pub db_p99: f64,
    pub floor_p99: f64,
    /// "rate: p99" for each sweep rate.
    pub knee: Vec<String>,
    pub search_max: f64,
    pub availability_max: f64,
    pub floor_max: f64,
    pub errors: Option<String>,
}

impl Run {
    pub fn new(args: &Args) -> Self {
        let (rate, seconds) = (args.rate, args.phases.duration());
        let first = format!("open loop at {rate}/s, {} s each (latency from the scheduled send time):", seconds.as_secs());
        Self { rate, seconds, concurrency: args.phases.concurrency, lines: vec![first] }
    }

    /// Three seconds at the full rate, not counted: connections and caches warm.
    pub async fn warm_up(&self, w: &Workload) {
        let w = w.clone();
        let _ = open_loop::run(self.rate, Duration::from_secs(3), 2, move |i| w.clone().mixed(i)).await;
    }

    /// The mixed workload at `rate` for `duration`: a line for each kind of
    /// call and one for both; the p99 of both.
    async fn mixed_lines(w: &Workload, rate: u64, duration: Duration, offset: u64, label: &str) -> ([String; 3], f64) {
        let w = w.clone();
        let (series, elapsed) = open_loop::run(rate, duration, 2, move |i| w.clone().mixed(i + offset)).await;
        let both = Series {
            latencies: Latencies::combine(&series.iter().map(|s| &s.latencies).collect::<Vec<_>>()),
            errors: series.iter().map(|s| s.errors).sum(),
        };
        let lines = [
            series[0].line(&format!("  SearchClinics, {label}"), elapsed),
            series[1].line(&format!("  GetAvailability, {label}"), elapsed),
            both.line(&format!("  both, {label}"), elapsed),
        ];
        (lines, both.latencies.percentile_ms(0.99))
    }

    /// The mixed workload at the full rate; its p99.
    pub async fn mixed(&mut self, w: &Workload, offset: u64, label: &str) -> f64 {
        let (lines, p99) = Self::mixed_lines(w, self.rate, self.seconds, offset, label).await;
        self.lines.extend(lines);
        p99
    }

    /// The cached service at each lower rate (the "both" line of each); the knee.
    pub async fn sweep(&mut self, w: &Workload, rates: &[u64]) -> Vec<String> {
        let duration = self.seconds.min(SHORT);
        let mut knee = Vec::new();
        for (i, r) in rates.iter().enumerate() {
            let base = 10_000_000 + 1_000_000 * i as u64;
            let ([_, _, both], p99) = Self::mixed_lines(w, *r, duration, base, &format!("Redis cache at {r}/s")).await;
            self.lines.push(both);
            knee.push(format!("{r}/s: {p99:.1} ms"));
        }
        knee
    }

    /// The floor in the open loop at the full rate; its p99.
    pub async fn open_floor(&mut self, floor: &Floor) -> f64 {
        let floor = floor.clone();
        let (series, elapsed) = open_loop::run(self.rate, self.seconds, 1, move |i| floor.clone().open(i)).await;
        self.lines.push(series[0].line("  floor: primary-key SELECT, same pool", elapsed));
        series[0].latencies.percentile_ms(0.99)
    }

    pub fn closed_loops(&mut self) {
        self.lines.push(format!("closed loop, {} in flight, {} s each:", self.concurrency, self.seconds.min(SHORT).as_secs()));
    }

    /// `op(state, offset + i)` in a closed loop; the calls per second it sustained.
    pub async fn closed<S, G, Fut>(&mut self, label: &str, state: &S, offset: u64, op: G) -> f64
    where
        S: Clone + Send + Sync + 'static,
        G: Fn(S, u64) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let state = state.clone();
        let load = Load::timed(self.seconds.min(SHORT), self.concurrency);
        let phase = closed_loop::run::<Calls, _, _>(load, move |i| op(state.clone(), i + offset)).await;
        let series = Series { latencies: phase.latencies, errors: phase.tally.failed };
        self.lines.push(series.line(label, phase.elapsed));
        series.rate(phase.elapsed)
    }

    /// The verdicts, then every line.
    pub fn print(mut self, s: Summary) {
        let met = |p99: f64| if p99 < 20.0 { "met" } else { "MISSED" };
        self.lines.push(String::new());
        self.lines.push(format!(
            "target p99 < 20 ms at {}/s: with cache {:.2} ms ({}), PostgreSQL only {:.2} ms ({}); floor p99 {:.2} ms",
            self.rate,
            s.cached_p99,
            met(s.cached_p99),
            s.db_p99,
            met(s.db_p99),
            s.floor_p99
        ));
        self.lines.push(format!("  p99 by rate with the cache: {}", s.knee.join(", ")));
        self.lines.push(format!(
            "closed-loop ratio to the floor ({:.0}/s): SearchClinics {:.2}, GetAvailability {:.2} (with the cache)",
            s.floor_max,
            s.search_max / s.floor_max,
            s.availability_max / s.floor_max
        ));
        self.lines.extend(s.errors);
        for line in &self.lines {
            println!("{line}");
        }
    }
}
