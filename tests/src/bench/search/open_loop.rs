//! The open-loop generator: calls leave at a fixed rate, each at its
//! scheduled time whatever the previous ones are doing, and latency runs
//! from that scheduled time. A closed loop slows down with the server and
//! hides a stall; this one makes the queue behind a stall count.
use std::{future::Future, sync::Arc, time::Duration};

use super::Series;
use crate::bench::latency::{Latencies, Recorder};

/// Calls `call(i)` at `rate` per second for `duration`. `call` returns the
/// kind of call it made (an index below `kinds`) and success: one series
/// per kind, and the time until the last answer.
pub async fn run<F, Fut>(rate: u64, duration: Duration, kinds: usize, call: F) -> (Vec<Series>, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (usize, bool)> + Send + 'static,
{
    let call = Arc::new(call);
    let total = rate * duration.as_secs();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = tokio::time::Instant::now() + Duration::from_millis(20);
    for i in 0..total {
        let at = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(at).await;
        let (call, tx) = (call.clone(), tx.clone());
        tokio::spawn(async move {
            let (kind, ok) = call(i).await;
            let _ = tx.send((kind, ok, at.elapsed(), tokio::time::Instant::now()));
        });
    }
    drop(tx);
    let mut recorded: Vec<(Recorder, u64)> = (0..kinds).map(|_| Default::default()).collect();
    let mut last = start;
    while let Some((kind, ok, latency, done)) = rx.recv().await {
        let (latencies, errors) = &mut recorded[kind];
        latencies.record_duration(latency);
        *errors += u64::from(!ok);
        last = last.max(done);
    }
    let series = recorded.into_iter().map(|(r, errors)| Series { latencies: Latencies::merge([r]), errors }).collect();
    (series, last - start)
}
