//! Waiting in tests for something that happens asynchronously (an event
//! consumed, a cache invalidated) without a fixed sleep: poll, and fail
//! with what was awaited once the time is up.
use std::{future::Future, time::Duration};

/// Polls `probe` every 20 ms until it returns `Some`; panics after `limit`
/// naming `what` was awaited.
pub async fn eventually<T, F, Fut>(limit: Duration, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
