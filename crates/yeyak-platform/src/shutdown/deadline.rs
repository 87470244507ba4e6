//! The hard deadline of a process's shutdown. Each path that could outlive
//! the grace period (an RPC stuck on a dependency without a deadline, a
//! consumer waiting on a broker that accepts and never answers, a service
//! task that does not look at the signal, a pool waiting for a connection
//! such a task holds, the trace exporter's flush, a blocking thread the
//! runtime waits for when it is dropped) is cut here, in one place, instead
//! of in each of them.
//!
//! It runs on its own OS thread, not as a tokio task: a worker thread stuck
//! in blocking code, or a runtime that is being dropped, must not be able to
//! hold it up.
use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use parking_lot::Mutex;

use super::Shared;

/// What the process may take after the drain grace: the services' last
/// bounded steps (the final outbox pass gets 2 s, then pools close), and
/// still less than the 5 s the chart leaves between the grace and the
/// kubelet's SIGKILL, so our warning is in the log and not a bare kill.
pub const AFTER_GRACE: Duration = Duration::from_secs(3);

/// The exit code of a stop cut short: what `main` returning an error gives,
/// so "did not stop cleanly" reads the same whichever way it happened.
pub const FORCED_EXIT_CODE: i32 = 1;

/// Used until the gRPC server sets the limit: `YEYAK_SHUTDOWN_GRACE_MS`'s
/// default plus [`AFTER_GRACE`].
const DEFAULT_LIMIT: Duration = Duration::from_millis(10_000 + AFTER_GRACE.as_millis() as u64);

/// The watchdog re-reads the limit this often, so a limit set after the
/// trigger still takes effect on time.
const RECHECK: Duration = Duration::from_millis(50);

type Probe = Box<dyn Fn() -> Vec<String> + Send + Sync>;

/// The limit and the work that reports itself as running.
#[derive(Default)]
pub(super) struct Deadline {
    /// Milliseconds; 0 until set.
    limit_ms: AtomicU64,
    next_id: AtomicU64,
    probes: Arc<Mutex<BTreeMap<u64, Probe>>>,
}

impl std::fmt::Debug for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deadline").field("limit", &self.limit()).finish_non_exhaustive()
    }
}

impl Deadline {
    pub(super) fn set_limit(&self, limit: Duration) {
        let ms = u64::try_from(limit.as_millis()).unwrap_or(u64::MAX).max(1);
        self.limit_ms.store(ms, Ordering::SeqCst);
    }

    fn limit(&self) -> Duration {
        match self.limit_ms.load(Ordering::SeqCst) {
            0 => DEFAULT_LIMIT,
            ms => Duration::from_millis(ms),
        }
    }

    pub(super) fn track(&self, probe: Probe) -> Running {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        self.probes.lock().insert(id, probe);
        Running { id, probes: self.probes.clone() }
    }

    pub(super) fn still_running(&self) -> Vec<String> {
        self.probes.lock().values().flat_map(|probe| probe()).collect()
    }
}

/// Work listed as running until this guard drops.
#[must_use = "the work counts as running only while the guard lives"]
pub struct Running {
    id: u64,
    probes: Arc<Mutex<BTreeMap<u64, Probe>>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running").field("id", &self.id).finish_non_exhaustive()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.probes.lock().remove(&self.id);
    }
}

/// Starts the watchdog: once the limit has passed since now, it logs what
/// is still running and ends the process.
pub(super) fn arm(shared: Arc<Shared>) {
    let triggered = Instant::now();
    let started = std::thread::Builder::new().name("shutdown-deadline".into()).spawn(move || {
        loop {
            let elapsed = triggered.elapsed();
            let limit = shared.deadline.limit();
            if elapsed >= limit {
                break;
            }
            // Woken early (spuriously or by a re-check), it just looks again.
            std::thread::park_timeout((limit - elapsed).min(RECHECK));
        }
        let running = shared.deadline.still_running();
        let limit_ms = u64::try_from(shared.deadline.limit().as_millis()).unwrap_or(u64::MAX);
        if running.is_empty() {
            tracing::warn!(limit_ms, "shutdown overran its deadline; exiting now (nothing tracked was running: a service task, a pool close, the trace flush or a blocking thread held it)");
        } else {
            tracing::warn!(limit_ms, still_running = ?running, "shutdown overran its deadline; exiting now with work in flight");
        }
        std::process::exit(FORCED_EXIT_CODE);
    });
    if let Err(e) = started {
        tracing::error!(error = %e, "could not start the shutdown deadline; this stop is not bounded");
    }
}
