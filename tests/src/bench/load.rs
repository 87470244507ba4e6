//! A closed-loop load generator: `concurrency` workers issue `total` calls as
//! fast as answers come back, and every latency is kept for percentiles.
use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

#[derive(Debug, Clone)]
pub struct Report {
    pub calls: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Sorted latencies in microseconds.
    latencies_us: Vec<u32>,
}

impl Report {
    pub fn per_second(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }

    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies_us[i]) / 1000.0
    }

    pub fn line(&self, name: &str) -> String {
        format!(
            "{name:<28} {:>10.0} calls/s  p50 {:>7.2} ms  p99 {:>7.2} ms  p999 {:>7.2} ms  ({} calls, {} errors, {:.1} s)",
            self.per_second(),
            self.percentile_ms(0.50),
            self.percentile_ms(0.99),
            self.percentile_ms(0.999),
            self.calls,
            self.errors,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Runs `call(i)` for i in 0..total with `concurrency` in flight.
pub async fn run<F, Fut>(total: u64, concurrency: usize, call: F) -> Report
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let next = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let call = Arc::new(call);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let (next, errors, call) = (next.clone(), errors.clone(), call.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity((total as usize / concurrency.max(1)) + 1);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return latencies;
                }
                let t = Instant::now();
                if !call(i).await {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                latencies.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
            }
        }));
    }
    let mut latencies_us = Vec::with_capacity(total as usize);
    for w in workers {
        latencies_us.extend(w.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Report { calls: total, errors: errors.load(Ordering::Relaxed), elapsed, latencies_us }
}
