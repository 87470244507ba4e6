//! The capacity plan: from the CPU one run measured (`summary.json`) to the
//! cores and replicas a full-size evening needs, as a table, a budget check
//! and chart values. A small run measures what each booking and each
//! waiting-room request costs; the plan multiplies those costs by the
//! full-size rates, because per-request costs are what stays the same when
//! a crowd grows, and rates are what the operators know in advance.
//!
//! # Full-size figures (`[full_size]` in the scenario)
//!
//! | key | meaning |
//! |---|---|
//! | `bookings` | people booked over the evening |
//! | `requests` | requests to the waiting room (joins) in the peak window |
//! | `peak_minutes` | length of the peak window |
//! | `waiting` | people waiting at once at the peak |
//! | `admission_rate_per_second` | the admission rate configured at full size |
//! | `polls_per_waiting_person_per_minute` | optional, default 2 (a poll every ~30 s) |
//!
//! # The model (`h` = headroom, e.g. 0.3)
//!
//! - Measured: `cpu_per_booking[s] = cpu_seconds[s] / bookings` for every
//!   service `s`; `cpu_per_request = cpu_seconds[admission] / (JoinQueue +
//!   GetQueueStatus calls)`, the counts from `latency[].count`.
//! - Full-size rates: `booked/s = min(admission_rate, bookings / peak
//!   seconds)` (admission bounds how fast anyone reaches the booking path);
//!   `joins/s = requests / peak seconds`; `polls/s = waiting × polls per
//!   minute / 60`.
//! - `cores[admission] = cpu_per_request × (joins/s + polls/s) × (1 + h)`:
//!   the waiting room's work follows the crowd, not the bookings. With
//!   per-call costs measured under load ([`PerCall`], `--admission-join-us`
//!   and `--admission-poll-us`): `(join_us × joins/s + poll_us × polls/s)
//!   × (1 + h)`.
//! - `cores[s] = cpu_per_booking[s] × booked/s × (1 + h)` for identity,
//!   eligibility, inventory, reservation and notification.
//! - Rounded up to whole cores, at least 1; `replicas = max(2, ⌈cores /
//!   cores_per_replica⌉)` (two for availability: a node drain or a rollout
//!   never leaves a service without a pod); `cores_per_replica` default 2.
//! - Data stores, when the run measured them (`postgres`, `redis`,
//!   `rabbitmq` in `cpu`): PostgreSQL and RabbitMQ per booking like the
//!   services; Redis carries both the joins (the `JOIN` script) and the
//!   booking path's keys, and the run cannot split its CPU between them, so
//!   `cores[redis] = max(cpu_per_booking × booked/s, cpu_per_join ×
//!   joins/s) × (1 + h)`, each side charged with all of Redis' CPU (an upper
//!   bound). Otherwise "not measured".
//! - Redis memory: `waiting × bytes per waiting person + bookings × bytes
//!   per booked person`, see [`PlanOptions`].
//!
//! # Assumptions
//!
//! - The full-size crowd behaves like the scenario's (shares of ineligible,
//!   abandoning, proxy-booking people; polls per person), and runs on cores
//!   like the measured run's.
//! - CPU is counted over the whole run, idle work (tickers, metrics)
//!   included: a short run overstates the cost per booking, never understates.
//! - A waiting-room request costs the run's average over joins and polls; a
//!   bound join costs ~5× a poll (docs/benchmarks.md), so a run with more
//!   joins per poll than the full-size evening overstates admission.
//! - Mock third parties (`mock-*`) are not sized: the real ones are others'.
//! - The budget (`fits_budget`) covers the six services; the data stores
//!   are sized apart (managed services in production).
use std::collections::BTreeMap;

mod full_size;
mod model;
mod render;
#[cfg(test)]
mod tests;

pub use full_size::FullSize;

/// The services the chart deploys, in the order a person meets them.
pub const SERVICES: [&str; 6] = ["admission", "identity", "eligibility", "inventory", "reservation", "notification"];
/// The data stores the plan reports when the run measured their CPU.
pub const DATA_STORES: [&str; 3] = ["postgres", "redis", "rabbitmq"];

/// The plan's settings beside the headroom; `Default` holds the documented
/// defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanOptions {
    /// Share of extra CPU over the computed need (0.3 = 30 %).
    pub headroom: f64,
    /// Cores one replica is given (its CPU limit in the chart values).
    pub cores_per_replica: f64,
    /// The opening, hours and minutes in Asia/Seoul, for the pre-scaling
    /// schedule (default 20:00, the 2021 openings).
    pub opening: (u8, u8),
    /// Redis bytes per waiting person: 0, since the waiting room keeps
    /// nothing per waiting person (docs/admission.md, "What the server keeps
    /// per waiting person": they exist only in their signed tickets).
    pub redis_bytes_per_waiting: f64,
    /// Redis bytes per booked person: an assumption of 4 entries of ~200 B
    /// each (key, value and Redis' per-key overhead) that outlive the peak:
    /// identity's place binding (24 h), eligibility's booked-set member
    /// (180 days), the seat's sorted-set entry and the ended-sessions stream
    /// entry (30 min) (docs/redis.md, docs/admission.md).
    pub redis_bytes_per_booking: f64,
    /// Admission CPU µs per join and per poll measured under load
    /// (`bench_admission`), in place of the run's average per request: a
    /// short run spreads admission's fixed per-second work (tickers, the
    /// automatic rate, probes) over few calls, which at millions of calls
    /// overstates the waiting room many times (docs/capacity.md).
    pub admission_us_per_call: Option<PerCall>,
}

/// CPU µs of one waiting-room call of each kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PerCall {
    pub join_us: f64,
    pub poll_us: f64,
}

impl Default for PlanOptions {
    fn default() -> Self {
        Self {
            headroom: 0.3,
            cores_per_replica: 2.0,
            opening: (20, 0),
            redis_bytes_per_waiting: 0.0,
            redis_bytes_per_booking: 800.0,
            admission_us_per_call: None,
        }
    }
}

/// One service's row of the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct ServicePlan {
    pub service: String,
    /// As measured: CPU milliseconds per confirmed booking.
    pub cpu_ms_per_booking: f64,
    /// The need before rounding, headroom included.
    pub exact_cores: f64,
    pub cores: u32,
    pub replicas: u32,
}

/// A data store's row: `None` where the run did not measure it.
#[derive(Clone, Debug, PartialEq)]
pub struct DataStorePlan {
    pub store: String,
    pub cpu_ms_per_booking: Option<f64>,
    pub cores: Option<u32>,
}

/// The waiting room's load at full size and what a request cost in the run.
#[derive(Clone, Debug, PartialEq)]
pub struct WaitingRoomLoad {
    pub joins_per_second: f64,
    pub polls_per_second: f64,
    /// Admission CPU microseconds per JoinQueue or GetQueueStatus call.
    pub cpu_us_per_request: f64,
    /// The calls the cost was measured over.
    pub measured_requests: u64,
}

/// Cores and replicas per service for a full-size evening.
#[derive(Clone, Debug, PartialEq)]
pub struct CapacityPlan {
    pub full: FullSize,
    /// The options it was made with (headroom, replica size, opening…).
    pub options: PlanOptions,
    /// People reaching the booking path per second at full size.
    pub booked_per_second: f64,
    pub waiting_room: WaitingRoomLoad,
    /// In [`SERVICES`] order.
    pub services: Vec<ServicePlan>,
    /// In [`DATA_STORES`] order.
    pub data_stores: Vec<DataStorePlan>,
    /// Redis memory at the end of the evening, in bytes.
    pub redis_memory_bytes: f64,
    /// Processes the run measured that the plan does not size (mocks).
    pub not_sized: Vec<String>,
}

/// Plans with the default options and the given headroom.
pub fn plan(full: &FullSize, measured: &crate::report::model::Summary, headroom: f64) -> anyhow::Result<CapacityPlan> {
    plan_with(full, measured, &PlanOptions { headroom, ..PlanOptions::default() })
}

/// Plans with every option given.
pub fn plan_with(full: &FullSize, measured: &crate::report::model::Summary, options: &PlanOptions) -> anyhow::Result<CapacityPlan> {
    model::build(full, measured, options)
}

impl CapacityPlan {
    /// Cores of the six services together (their CPU requests).
    pub fn total_cores(&self) -> u32 {
        self.services.iter().map(|s| s.cores).sum()
    }

    pub fn total_replicas(&self) -> u32 {
        self.services.iter().map(|s| s.replicas).sum()
    }

    /// `None` when the services fit in `cores_budget`; otherwise what breaks
    /// it, naming the service that needs the most, since that is where a
    /// cheaper path or a smaller evening pays off first.
    pub fn fits_budget(&self, cores_budget: f64) -> Option<String> {
        let total = self.total_cores();
        if f64::from(total) <= cores_budget {
            return None;
        }
        let biggest = self.services.iter().max_by_key(|s| s.cores)?;
        Some(format!(
            "{} needs {} of the {} cores: the services need {} in all, {} over",
            biggest.service,
            biggest.cores,
            render::number(cores_budget),
            total,
            render::number(f64::from(total) - cores_budget),
        ))
    }

    /// The services' rows by name.
    pub fn service(&self, name: &str) -> Option<&ServicePlan> {
        self.services.iter().find(|s| s.service == name)
    }

    /// The data stores' cores by name (`None` inside: not measured).
    pub fn data_store_cores(&self) -> BTreeMap<&str, Option<u32>> {
        self.data_stores.iter().map(|d| (d.store.as_str(), d.cores)).collect()
    }
}
