//! When the rules file is looked at again: on a timer and on SIGHUP.
use std::{sync::Arc, time::Duration};

use yeyak_platform::Shutdown;

use super::{RuleSets, RulesHandle};

/// SIGHUP, registered as early as possible (at build): once registered, the
/// signal no longer terminates the process.
pub(crate) struct Hangups(#[cfg(unix)] Option<tokio::signal::unix::Signal>);

impl Hangups {
    /// Must be called inside the Tokio runtime.
    pub(crate) fn register() -> Self {
        #[cfg(unix)]
        {
            Self(tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok())
        }
        #[cfg(not(unix))]
        {
            Self()
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = self.0.as_mut() {
            signal.recv().await;
            return;
        }
        std::future::pending::<()>().await;
    }
}

/// Watches the file until shutdown: every `interval` (0: never) and on SIGHUP.
pub(crate) async fn watch(handle: Arc<RulesHandle>, sets: Arc<RuleSets>, interval: Duration, mut hangups: Hangups, shutdown: Shutdown) {
    let mut ticker = (!interval.is_zero()).then(|| {
        let mut t = tokio::time::interval(interval);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    loop {
        let forced = tokio::select! {
            _ = shutdown.wait() => return,
            _ = async { match ticker.as_mut() { Some(t) => { t.tick().await; } None => std::future::pending().await } } => false,
            _ = hangups.recv() => true,
        };
        if forced {
            tracing::info!(file = %handle.path().display(), "SIGHUP: re-reading the rules file");
        }
        let (h, s) = (handle.clone(), sets.clone());
        // File I/O off the async workers.
        let _ = tokio::task::spawn_blocking(move || {
            s.check();
            if forced {
                h.reload()
            } else {
                h.check()
            }
        })
        .await;
    }
}
