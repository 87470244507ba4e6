//! One phase of verifications: what users saw (verified, failed, rerouted,
//! latency) and the cores this process and Redis kept busy meanwhile, read
//! from the end of the warm-up.
use std::{
    future::Future,
    time::{Duration, Instant},
};

use crate::bench::{
    closed_loop::{self, Load, Tally},
    cpu,
    latency::Latencies,
};

/// Verifications counted per worker.
#[derive(Debug, Default)]
pub struct Verifications {
    ok: u64,
    failed: u64,
    /// Verifications that needed a second provider (the front end rerouted).
    rerouted: u64,
    /// The first failure seen, and when: printed, since a phase that fails
    /// everything is otherwise only a zero.
    first_error: Option<(Instant, String)>,
}

impl Tally for Verifications {
    /// Ok(rerouted), or why the person was not verified.
    type Outcome = Result<bool, String>;

    fn count(&mut self, outcome: Self::Outcome) -> bool {
        match outcome {
            Ok(rerouted) => {
                self.ok += 1;
                self.rerouted += u64::from(rerouted);
                true
            }
            Err(e) => {
                self.failed += 1;
                self.first_error.get_or_insert_with(|| (Instant::now(), e));
                false
            }
        }
    }

    fn absorb(&mut self, other: Self) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.rerouted += other.rerouted;
        if let Some((at, e)) = other.first_error {
            if self.first_error.as_ref().is_none_or(|(mine, _)| at < *mine) {
                self.first_error = Some((at, e));
            }
        }
    }
}

pub struct Phase {
    pub name: &'static str,
    /// Cores this process kept busy, and the Redis server's, during the measured part.
    pub cores: f64,
    pub redis_cores: f64,
    pub ok: u64,
    pub failed: u64,
    pub rerouted: u64,
    /// The measured part as planned: the rate counts what finished in it.
    pub elapsed: Duration,
    pub latencies: Latencies,
}

/// CPU seconds the Redis server has used so far (from `INFO cpu`: the
/// server may run as another user, so `/proc` may not show it).
async fn redis_cpu() -> f64 {
    let Ok(client) = redis::Client::open("redis://127.0.0.1:6379/0") else { return 0.0 };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else { return 0.0 };
    let info: String = redis::cmd("INFO").arg("cpu").query_async(&mut conn).await.unwrap_or_default();
    info.lines()
        .filter(|l| l.starts_with("used_cpu_sys:") || l.starts_with("used_cpu_user:"))
        .filter_map(|l| l.split_once(':').and_then(|(_, v)| v.trim().parse::<f64>().ok()))
        .sum()
}

/// CPU seconds of this process and of Redis so far.
async fn cpu_now() -> (f64, f64) {
    (cpu::seconds(std::process::id()), redis_cpu().await)
}

/// Runs `verify` in `users` closed loops for `warmup + seconds`, counting
/// only what starts after the warm-up.
pub async fn measure<F, Fut>(name: &'static str, users: usize, warmup: Duration, seconds: Duration, verify: F) -> Phase
where
    F: Fn(u32) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool, String>> + Send + 'static,
{
    let measure_from = Instant::now() + warmup;
    let sampler = tokio::spawn(async move {
        tokio::time::sleep_until(measure_from.into()).await;
        cpu_now().await
    });
    // Numbered from 0 in every phase: person n uses pass n (and repeats of a
    // person across phases stay far below the attempt limits).
    let load = Load::timed(seconds, users).after_warmup(warmup);
    let run = closed_loop::run::<Verifications, _, _>(load, move |i| verify(u32::try_from(i).unwrap_or(u32::MAX))).await;
    let (cpu0, redis0) = sampler.await.unwrap_or_default();
    let (cpu1, redis1) = cpu_now().await;
    let wall = measure_from.elapsed().as_secs_f64();
    let tally = run.tally;
    if let Some((_, e)) = tally.first_error {
        eprintln!("  {name}: first failure: {e}");
    }
    Phase {
        name,
        cores: (cpu1 - cpu0) / wall,
        redis_cores: (redis1 - redis0) / wall,
        ok: tally.ok,
        failed: tally.failed,
        rerouted: tally.rerouted,
        elapsed: seconds,
        latencies: run.latencies,
    }
}

impl Phase {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    pub fn success(&self) -> f64 {
        self.ok as f64 / (self.ok + self.failed).max(1) as f64
    }

    pub fn pct(&self, p: f64) -> f64 {
        self.latencies.percentile_ms(p)
    }

    /// Prints the phase's rate as it ends, so a long run shows progress.
    pub fn progress(self, label: &str) -> Self {
        println!("  {label}: {:.0}/s", self.rate());
        self
    }

    /// One row of the report's table.
    pub fn row(&self) -> String {
        format!(
            "| {} | {:.0} | {:.2}% | {:.2} | {:.2} | {:.2} | {} | {} | {} | {:.2} + {:.2} |",
            self.name,
            self.rate(),
            self.success() * 100.0,
            self.pct(0.50),
            self.pct(0.99),
            self.pct(0.999),
            self.ok,
            self.failed,
            self.rerouted,
            self.cores,
            self.redis_cores
        )
    }
}
