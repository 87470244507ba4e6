//! Jittered exponential backoff (the `backon` crate) for everything that
//! waits on the broker or on a handler's dependency: consumers reconnecting,
//! the outbox relay retrying, a handler retrying a transient failure.
//!
//! Jitter is the point: after a broker restart every replica loses its
//! connection at the same instant, and without it they would all come back
//! in lockstep, doubling together. Each delay is drawn from `[d, 2d)` for
//! the exponential step `d`.
use std::{future::Future, time::Duration};

use backon::{BackoffBuilder as _, ExponentialBackoff, ExponentialBuilder};

use crate::shutdown::Shutdown;

/// The first reconnect waits 0.2–0.4 s; later ones grow to 5–10 s.
const RECONNECT_MIN: Duration = Duration::from_millis(200);
const RECONNECT_MAX: Duration = Duration::from_secs(5);
/// A handler retrying a transient failure: 0.2–0.4 s first (the pause the
/// consumer used to take before requeueing), at most 5–10 s, so recovery is
/// noticed within seconds of a database coming back.
const RETRY_MIN: Duration = Duration::from_millis(200);
const RETRY_MAX: Duration = Duration::from_secs(5);

/// An endless jittered exponential backoff from `min` to `max` (before
/// jitter). The seed is drawn here: `backon` built without its `std` feature
/// (as the workspace builds it) seeds every jitter generator with one fixed
/// constant, which would give every replica the same "random" delays.
pub(crate) fn jittered(min: Duration, max: Duration) -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_jitter()
        .with_jitter_seed(rand::random())
        .with_min_delay(min)
        .with_max_delay(max)
        .without_max_times()
        .build()
}

pub(crate) fn reconnect() -> ExponentialBackoff {
    jittered(RECONNECT_MIN, RECONNECT_MAX)
}

pub(crate) fn retry() -> ExponentialBackoff {
    jittered(RETRY_MIN, RETRY_MAX)
}

/// The next delay of an endless backoff (the cap, should it ever end).
pub(crate) fn next(backoff: &mut ExponentialBackoff) -> Duration {
    backoff.next().unwrap_or(RECONNECT_MAX * 2)
}

/// Why one connection's consumer stopped.
pub(crate) struct Lost {
    pub(crate) error: super::QueueError,
    /// It had been consuming: the next attempt starts the backoff afresh.
    pub(crate) was_consuming: bool,
}

/// Runs `run` (one connection's consumer) until it returns cleanly at
/// shutdown, reconnecting after jittered exponential backoff whenever it
/// loses the broker. A shutdown during a wait returns at once.
pub(crate) async fn reconnecting<R, F>(queue: &str, shutdown: &Shutdown, mut run: R)
where
    R: FnMut() -> F,
    F: Future<Output = Result<(), Lost>>,
{
    let mut backoff = reconnect();
    while !shutdown.is_triggered() {
        let Err(lost) = run().await else { return };
        if lost.was_consuming {
            backoff = reconnect();
        }
        let retry_in = next(&mut backoff);
        match &lost.error {
            super::QueueError::Mismatch { .. } => tracing::error!(%queue, error = %lost.error, ?retry_in, "cannot declare the queue"),
            super::QueueError::Broker(e) => tracing::warn!(%queue, error = %e, ?retry_in, "consumer lost the broker, reconnecting"),
        }
        tokio::select! {
            _ = tokio::time::sleep(retry_in) => {},
            _ = shutdown.wait() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_exponentially_within_their_jitter_band_up_to_the_cap() {
        let delays: Vec<Duration> = jittered(Duration::from_millis(100), Duration::from_secs(1)).take(12).collect();
        // backon computes in f32: allow a microsecond of rounding.
        let slack = Duration::from_micros(1);
        let mut step = Duration::from_millis(100);
        for delay in &delays {
            assert!(*delay + slack >= step && *delay < step * 2 + slack, "{delay:?} outside [{step:?}, {:?})", step * 2);
            step = (step * 2).min(Duration::from_secs(1));
        }
        assert_eq!(delays.len(), 12, "it never runs out");
    }

    #[test]
    fn two_replicas_draw_different_delays() {
        // What each of 8 replicas would wait on its first 5 reconnects.
        let schedules: Vec<Vec<Duration>> = (0..8).map(|_| reconnect().take(5).collect()).collect();
        for (i, a) in schedules.iter().enumerate() {
            for b in &schedules[i + 1..] {
                assert_ne!(a, b, "two replicas would reconnect in lockstep");
            }
        }
        // And not merely shifted: the first delays themselves are spread out.
        let firsts: std::collections::HashSet<Duration> = schedules.iter().map(|s| s[0]).collect();
        assert!(firsts.len() >= 6, "first delays {firsts:?}");
    }
}
