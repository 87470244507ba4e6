//! The closed-loop load generator every benchmark drives its phases with:
//! `concurrency` workers each send the next call as soon as the last one
//! answered, so the rate measured is what the system sustains, not what was
//! offered. Calls are numbered 0, 1, 2, ... across workers; the number picks
//! the person, slot or connection, so runs repeat.
use std::{
    future::Future,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use super::latency::{Latencies, Recorder};

/// When a phase stops and what it counts.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    concurrency: usize,
    calls: u64,
    duration: Option<Duration>,
    warmup: Duration,
}

impl Load {
    /// Exactly `calls` calls (a surge of a given size).
    pub fn calls(calls: u64, concurrency: usize) -> Self {
        Self { concurrency, calls, duration: None, warmup: Duration::ZERO }
    }

    /// Calls started within `duration` (a rate).
    pub fn timed(duration: Duration, concurrency: usize) -> Self {
        Self { concurrency, calls: u64::MAX, duration: Some(duration), warmup: Duration::ZERO }
    }

    /// Also stops once `calls` have been sent (a phase with prepared work).
    pub fn at_most(self, calls: u64) -> Self {
        Self { calls, ..self }
    }

    /// Calls sent during the first `warmup` run but are not counted: the
    /// measured time starts with connections and caches warm.
    pub fn after_warmup(self, warmup: Duration) -> Self {
        Self { warmup, ..self }
    }
}

/// What a phase counts of each call, beside its latency; one per worker,
/// merged at the end.
pub trait Tally: Default + Send + 'static {
    type Outcome: Send;
    /// Counts one call; whether its latency belongs in the percentiles.
    fn count(&mut self, outcome: Self::Outcome) -> bool;
    fn absorb(&mut self, other: Self);
}

/// Calls that succeed or fail. `FAILED_TOO` says whether a failed call's
/// latency is kept: a failure costs the caller its wait too ([`Calls`]), but
/// where a fast error would flatter the percentiles only successes count
/// ([`Successes`]).
#[derive(Debug, Default)]
pub struct Counted<const FAILED_TOO: bool> {
    pub failed: u64,
}

/// Every call's latency kept.
pub type Calls = Counted<true>;
/// Only successful calls' latencies kept.
pub type Successes = Counted<false>;

impl<const FAILED_TOO: bool> Tally for Counted<FAILED_TOO> {
    type Outcome = bool;
    fn count(&mut self, ok: bool) -> bool {
        self.failed += u64::from(!ok);
        ok || FAILED_TOO
    }
    fn absorb(&mut self, other: Self) {
        self.failed += other.failed;
    }
}

/// A phase's counts, latencies and duration.
#[derive(Debug)]
pub struct Phase<T> {
    pub tally: T,
    pub latencies: Latencies,
    /// From the end of the warm-up until the last call answered.
    pub elapsed: Duration,
}

/// Runs `call(i)` for i = 0, 1, 2, ... as `load` says.
pub async fn run<T, F, Fut>(load: Load, call: F) -> Phase<T>
where
    T: Tally,
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = T::Outcome> + Send + 'static,
{
    let (next, call) = (Arc::new(AtomicU64::new(0)), Arc::new(call));
    let began = Instant::now();
    let measure_from = began + load.warmup;
    let stop_at = load.duration.map(|d| measure_from + d);
    // A surge of known size keeps its latencies without regrowing the vectors.
    let per_worker = match load.duration {
        None => usize::try_from(load.calls / load.concurrency.max(1) as u64).unwrap_or(0) + 1,
        Some(_) => 0,
    };
    let workers: Vec<_> = (0..load.concurrency)
        .map(|_| {
            let (next, call) = (next.clone(), call.clone());
            tokio::spawn(async move {
                let (mut tally, mut latencies) = (T::default(), Recorder::with_capacity(per_worker));
                while stop_at.is_none_or(|stop| Instant::now() < stop) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= load.calls {
                        break;
                    }
                    let started = Instant::now();
                    let outcome = call(i).await;
                    if started >= measure_from && tally.count(outcome) {
                        latencies.record(started);
                    }
                }
                (tally, latencies)
            })
        })
        .collect();
    let (mut tally, mut recorders) = (T::default(), Vec::with_capacity(workers.len()));
    for worker in workers {
        if let Ok((t, l)) = worker.await {
            tally.absorb(t);
            recorders.push(l);
        }
    }
    Phase { tally, latencies: Latencies::merge(recorders), elapsed: measure_from.elapsed() }
}
