//! What a run measured, as the JSON summary scripts read (`summary.json`)
//! and the HTML report draws. Times are seconds since the run started
//! (`t`), so the charts of one run line up with its faults.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole evening, as measured by the simulator.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    /// The scenario's name and the figures it was run with.
    pub scenario: ScenarioEcho,
    /// RFC 3339, when the first person arrived.
    pub started_at: String,
    pub duration_seconds: f64,
    /// People simulated (citizens and bots).
    pub people: u64,
    /// Confirmed bookings.
    pub bookings: u64,
    /// Bookings per second of the run (first arrival to last booking).
    pub bookings_per_second: f64,
    pub admission: AdmissionFigures,
    /// One entry per second of the run.
    pub timeline: Vec<Second>,
    /// The stages in the order people go through them.
    pub funnel: Vec<Stage>,
    /// From arrival to a confirmed booking.
    pub time_to_book: Distribution,
    /// Per decile of place in the queue (1 = the front).
    pub wait_accuracy: Vec<WaitAccuracy>,
    /// Per RPC (`service/Method`), over the whole run and per interval.
    pub latency: Vec<RpcLatency>,
    /// Failed calls by stage and gRPC code (or `http`, `timeout`).
    pub errors: Vec<ErrorCount>,
    /// CPU seconds per service while the run went on; empty when the
    /// simulator was not told where the services' processes are.
    pub cpu: Vec<ServiceCpu>,
    pub invariants: Vec<Invariant>,
    /// Faults injected by `--chaos` (empty otherwise).
    pub faults: Vec<Fault>,
    /// The seed of the chaos schedule, to replay a run.
    pub chaos_seed: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ScenarioEcho {
    pub name: String,
    pub description: String,
    /// The seed people's behaviour was drawn from.
    pub seed: u64,
    /// The full-size figures the scenario stands for (for `plan`).
    pub full_size: BTreeMap<String, f64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AdmissionFigures {
    pub queue_id: String,
    pub configured_rate_per_second: f64,
    /// Admission's burst allowance, in seconds of the rate.
    pub burst_seconds: f64,
    /// People admitted over the seconds admission ran.
    pub measured_rate_per_second: f64,
    /// The most people admitted in any window of `window_seconds`, and
    /// what the rate plus burst allow in such a window.
    pub window_seconds: f64,
    pub max_admitted_in_window: u64,
    pub allowed_in_window: f64,
}

/// One second of the run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Second {
    pub t: u32,
    /// People who arrived (joined) in this second.
    pub arrivals: u64,
    /// People waiting (joined, not yet admitted nor gone) at its end.
    pub waiting: u64,
    /// People admitted in this second.
    pub admitted: u64,
    pub booked: u64,
    pub errors: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Stage {
    pub stage: String,
    pub entered: u64,
    pub passed: u64,
    /// Why the others stopped here (`abandoned`, `not_eligible`, a gRPC code…).
    pub dropped: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Distribution {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
    /// `(upper bound, count)` buckets, for the chart.
    pub buckets: Vec<(f64, u64)>,
}

/// How honest the waits were: predicted against actual, in seconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct WaitAccuracy {
    /// 1..=10 by place at joining (1 = the first tenth).
    pub decile: u8,
    pub people: u64,
    /// Median of the actual waits.
    pub actual_p50: f64,
    /// Median of the waits predicted when they joined.
    pub predicted_at_join_p50: f64,
    /// Median of |predicted − actual| at joining, and at every poll
    /// (against the wait still left then).
    pub abs_error_at_join_p50: f64,
    pub abs_error_at_polls_p50: f64,
    /// Share of polls whose prediction was within 20% (or 5 s) of the truth.
    pub polls_within_20pct: f64,
    pub polls: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RpcLatency {
    pub rpc: String,
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    /// `(t, p50_ms, p99_ms)` per interval of the run.
    pub over_time: Vec<(u32, f64, f64)>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ErrorCount {
    pub stage: String,
    pub code: String,
    pub count: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ServiceCpu {
    pub service: String,
    pub cpu_seconds: f64,
    /// CPU milliseconds per confirmed booking.
    pub ms_per_booking: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Invariant {
    pub name: String,
    pub held: bool,
    /// What was checked and, when it failed, the first counter-examples.
    pub detail: String,
}

/// One injected fault, for the markers on the time charts.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Fault {
    pub t: f64,
    pub kind: String,
    pub target: String,
    /// When the fault was undone (restart, link restored), if it was.
    pub until: Option<f64>,
}
