//! Inventory reads on the full national catalogue (`bench_search`): its
//! flags, the inventory service on the bench catalogue, the read workload,
//! the open- and closed-loop phases and the report.
//!
//! Latency targets are judged in an open loop at a fixed arrival rate, from
//! each request's scheduled send time, so a stall counts against us; the
//! most each side sustains comes from a closed loop.
use std::time::Duration;

use yeyak_platform::tokens::SigningKey;

use super::{
    args::{defaults_to, ClosedLoop},
    latency::Latencies,
    tokens::{Session, Validity},
};

pub mod open_loop;
pub mod phases;
pub mod server;
pub mod workload;

/// Seeded once (16,000 clinics, 56 days, about 10.7 million slots) and kept for the next run.
const DATABASE: &str = "postgres://postgres@127.0.0.1:5432/yeyak_bench_inventory";
const CLIENT_ID: &str = "bench-search-client-0001";

/// SearchClinics and GetAvailability on the full catalogue at a fixed rate, with and without the cache, beside a primary-key SELECT.
#[derive(clap::Parser, Debug)]
#[command(name = "bench_search", mut_arg("concurrency", defaults_to("32")), mut_arg("seconds", defaults_to("15")))]
pub struct Args {
    /// Requests per second of the open-loop phases.
    #[arg(long, default_value_t = 2000)]
    pub rate: u64,
    #[command(flatten)]
    pub phases: ClosedLoop,
    /// Lower rates the cached service is also measured at, to show where the knee is.
    #[arg(long, value_delimiter = ',', default_values_t = [500, 1000, 1500])]
    pub sweep: Vec<u64>,
}

/// One kind of call's latencies (every call, failed or not) and failures.
#[derive(Debug, Default)]
pub struct Series {
    pub latencies: Latencies,
    pub errors: u64,
}

impl Series {
    pub fn rate(&self, elapsed: Duration) -> f64 {
        self.latencies.count() as f64 / elapsed.as_secs_f64()
    }

    pub fn line(&self, name: &str, elapsed: Duration) -> String {
        let l = &self.latencies;
        format!(
            "{name:<44} {:>8.0} /s   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>8.2} ms   ({} calls, {} errors)",
            self.rate(elapsed),
            l.percentile_ms(0.50),
            l.percentile_ms(0.99),
            l.percentile_ms(1.0),
            l.count(),
            self.errors
        )
    }
}

/// The one admission pass every call carries: the pass check runs on each
/// call all the same.
pub fn pass(key: &SigningKey) -> String {
    Session { queue: "demo", place: 1, client_id: CLIENT_ID, id: "bench" }.pass(key, Validity::for_seconds(3600))
}
