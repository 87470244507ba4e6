//! Explicit graceful shutdown in the mini-redis style: one trigger broadcasts
//! "stop" to every task, and owners wait for their tasks to finish.
//!
//! Waiting is cooperative, so one task that never looks at the signal (a
//! call to a dependency that accepts and never answers, a blocking thread)
//! would keep the process alive until the kubelet's SIGKILL, with nothing in
//! the log to say why. A process stopped by a signal therefore also has a
//! hard deadline ([`deadline`]): the one place that bounds the whole stop,
//! whatever is still in flight.
mod deadline;

use std::{sync::Arc, time::Duration};

use tokio::sync::watch;

pub use deadline::{Running, AFTER_GRACE, FORCED_EXIT_CODE};

/// A cloneable shutdown signal. `trigger` flips it once; `wait` resolves
/// for every clone, including those created after the trigger.
#[derive(Clone, Debug)]
pub struct Shutdown {
    shared: Arc<Shared>,
    rx: watch::Receiver<bool>,
}

#[derive(Debug)]
struct Shared {
    tx: watch::Sender<bool>,
    /// Set for the process's own signal-driven shutdown only: an in-process
    /// one (tests, a service's private stop of its relay) must never end the
    /// process it runs in.
    exits_process: bool,
    deadline: deadline::Deadline,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    /// A shutdown of part of a process: triggering it never ends the process.
    pub fn new() -> Self {
        Self::with_exit(false)
    }

    fn with_exit(exits_process: bool) -> Self {
        let (tx, rx) = watch::channel(false);
        Self { shared: Arc::new(Shared { tx, exits_process, deadline: deadline::Deadline::default() }), rx }
    }

    /// Flips the signal. The first trigger of the process's own shutdown
    /// starts its deadline.
    pub fn trigger(&self) {
        let already = self.shared.tx.send_replace(true);
        if !already && self.shared.exits_process {
            deadline::arm(self.shared.clone());
        }
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An error means every sender is gone, which also means "stop".
        let _ = rx.wait_for(|stopped| *stopped).await;
    }

    /// The process's shutdown: triggers on SIGTERM or Ctrl-C (SIGINT), and
    /// from then on the process exits within its limit ([`Self::limit`]),
    /// with code [`FORCED_EXIT_CODE`] and a warning naming what was still
    /// running if it had not stopped by itself.
    pub fn on_signals() -> Self {
        let shutdown = Self::with_exit(true);
        let trigger = shutdown.clone();
        let signal = signals();
        tokio::spawn(async move {
            signal.await;
            tracing::info!("shutdown signal received");
            trigger.trigger();
        });
        shutdown
    }

    /// How long the whole stop may take, counted from the trigger. The
    /// gRPC server sets it to its drain grace plus [`AFTER_GRACE`]; before
    /// that, the default grace plus the same margin applies.
    pub fn limit(&self, limit: Duration) {
        self.shared.deadline.set_limit(limit);
    }

    /// Marks `what` as running until the guard drops, so an overrun names it.
    pub fn track(&self, what: impl Into<String>) -> Running {
        let what = what.into();
        self.shared.deadline.track(Box::new(move || vec![what.clone()]))
    }

    /// Like [`Self::track`], for work that can say what it is doing only at
    /// the time: `probe` lists it (empty when idle) whenever asked.
    pub fn track_with(&self, probe: impl Fn() -> Vec<String> + Send + Sync + 'static) -> Running {
        self.shared.deadline.track(Box::new(probe))
    }

    /// [`Self::track_with`] for as long as this shutdown exists: for work
    /// that can outlive its owner (a call the drain gave up on).
    pub fn report(&self, probe: impl Fn() -> Vec<String> + Send + Sync + 'static) {
        std::mem::forget(self.track_with(probe));
    }

    /// What the tracked work reports as still running, now.
    pub fn still_running(&self) -> Vec<String> {
        self.shared.deadline.still_running()
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed before this
/// returns, not when the future is first polled: a SIGTERM that comes right
/// after start-up must stop the process gracefully, not kill it outright.
#[cfg(unix)]
fn signals() -> impl std::future::Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{signal, SignalKind};
    let (term, int) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = int.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}

#[cfg(not(unix))]
fn signals() -> impl std::future::Future<Output = ()> + Send + 'static {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_clone_sees_the_trigger() {
        let s = Shutdown::new();
        let a = s.clone();
        let waiter = tokio::spawn(async move { a.wait().await });
        assert!(!s.is_triggered());
        s.trigger();
        tokio::time::timeout(Duration::from_secs(1), waiter).await.unwrap().unwrap();
        let late = s.clone();
        tokio::time::timeout(Duration::from_secs(1), late.wait()).await.unwrap();
    }

    #[test]
    fn tracked_work_is_listed_until_its_guard_drops() {
        let s = Shutdown::new();
        let consumer = s.track("consumer q");
        let count = Arc::new(std::sync::atomic::AtomicUsize::new(2));
        let seen = count.clone();
        let _rpcs = s.track_with(move || match seen.load(std::sync::atomic::Ordering::SeqCst) {
            0 => vec![],
            n => vec![format!("{n} RPCs")],
        });
        assert_eq!(s.still_running(), vec!["consumer q".to_owned(), "2 RPCs".to_owned()]);
        drop(consumer);
        count.store(0, std::sync::atomic::Ordering::SeqCst);
        assert!(s.still_running().is_empty(), "{:?}", s.still_running());
    }

    #[test]
    fn an_in_process_shutdown_never_arms_the_deadline() {
        let s = Shutdown::new();
        s.limit(Duration::ZERO);
        s.trigger();
        // Were the deadline armed, this test process would have exited.
        std::thread::park_timeout(Duration::from_millis(200));
        assert!(s.is_triggered());
    }
}
