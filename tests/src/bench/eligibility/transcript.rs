//! What `bench_eligibility` prints: each figure as it is measured, then the
//! whole transcript again at the end, in the shape docs/benchmarks.md keeps.
use super::{millions, Args};
use crate::bench::{
    closed_loop::{Phase, Successes},
    latency::Latencies,
};

/// A phase's calls and the CPU they cost.
pub struct Measured {
    pub label: String,
    pub phase: Phase<Successes>,
    /// CPU seconds: this process, the registry database's backends.
    pub cpu: (f64, f64),
    /// Calls per item: the booking pair counts two calls and one latency.
    pub calls_per_item: u64,
}

impl Measured {
    /// Calls per second.
    pub fn rate(&self) -> f64 {
        self.calls_per_item as f64 * self.phase.latencies.count() as f64 / self.phase.elapsed.as_secs_f64()
    }

    /// People taken from the list, successful or not.
    pub fn people(&self) -> u64 {
        self.phase.latencies.count() + self.phase.tally.failed
    }

    fn line(&self) -> String {
        let (rate, elapsed) = (self.rate(), self.phase.elapsed.as_secs_f64());
        let calls = (rate * elapsed).max(1.0);
        // A phase without a successful call reads 0.00 ms here, as it always has.
        let ms = |p| nan_as_zero(&self.phase.latencies, p);
        format!(
            "| {} | {rate:.0}/s | {:.2} ms | {:.2} ms | {} | {:.0} + {:.0} µs |",
            self.label,
            ms(0.5),
            ms(0.99),
            self.phase.tally.failed,
            self.cpu.0 * 1e6 / calls,
            self.cpu.1 * 1e6 / calls
        )
    }
}

fn nan_as_zero(latencies: &Latencies, p: f64) -> f64 {
    let ms = latencies.percentile_ms(p);
    if ms.is_nan() {
        0.0
    } else {
        ms
    }
}

pub struct Transcript(Vec<String>);

impl Transcript {
    /// Starts with the run's settings (printed only at the end).
    pub fn new(args: &Args) -> Self {
        Self(vec![
            format!(
                "bench_eligibility: registry of {} people, {}s per phase, {} in flight, release build",
                millions(args.people),
                args.phases.seconds,
                args.phases.concurrency
            ),
            String::new(),
        ])
    }

    /// Prints `line` now and keeps it for the end.
    pub fn note(&mut self, line: String) {
        println!("{line}");
        self.0.push(line);
    }

    /// Keeps `line` for the end only.
    pub fn keep(&mut self, line: String) {
        self.0.push(line);
    }

    /// Prints the last line kept.
    pub fn print_last(&self) {
        println!("{}", self.0.last().map_or("", String::as_str));
    }

    pub fn table_header(&mut self) {
        self.keep(String::new());
        self.keep("| CheckEligibility, closed loop | calls/s | p50 | p99 | errors | CPU per call: this process + PostgreSQL |".into());
        self.keep("|---|---|---|---|---|---|".into());
    }

    /// The phase's table row; its calls per second.
    pub fn phase(&mut self, measured: &Measured) -> f64 {
        self.note(measured.line());
        measured.rate()
    }

    /// The floor as the mean of before and after, and each phase against it.
    pub fn ratios(&mut self, floor: (f64, f64), cold: f64, warm: f64, booked: f64) {
        let (before, after) = floor;
        let floor = (before + after) / 2.0;
        self.keep(format!("floor: mean of {before:.0}/s before and {after:.0}/s after = {floor:.0}/s"));
        self.keep(String::new());
        self.note(format!(
            "ratio to the floor: cold {:.2}, warm {:.2}, as booked {:.2} (target >= 0.5)",
            cold / floor,
            warm / floor,
            booked / floor
        ));
    }

    /// The whole transcript.
    pub fn print(&self) {
        println!("\n{}", self.0.join("\n"));
    }
}
