//! What an admission replica runs beside its server: the catalog of
//! booking events, followed once a second, with one admission ticker (and
//! one automatic rate controller) per running event, started when an event
//! is created and stopped when it is closed; and the join-limit sweeper.
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::task::JoinHandle;
use yeyak_platform::Shutdown;

use super::{OBSERVE_EVERY, PRUNE_EVERY, SWEEP_LIMITS_EVERY};
use crate::app::{ControlState, WaitingRoom};

/// How often each replica reads the catalog's version (the staleness bound
/// of the other admission replicas; docs/admission.md, "Booking events").
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// Follows the catalog: a ticker (and a controller) per event not closed.
pub(super) async fn events(room: Arc<WaitingRoom>, tick: Duration, shutdown: Shutdown) {
    let _running = shutdown.track("booking events catalog");
    let mut running: HashMap<String, Vec<JoinHandle<()>>> = HashMap::new();
    let mut interval = tokio::time::interval(SYNC_EVERY);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if let Err(e) = room.sync_events().await {
                    tracing::warn!(error = %e, "reading the booking events failed; the events as last read stay in force");
                }
                running.retain(|_, handles| !handles.iter().all(JoinHandle::is_finished));
                for queue in room.running_events() {
                    if running.contains_key(&queue) {
                        continue;
                    }
                    tracing::info!(%queue, "admission ticker started");
                    let mut handles = vec![tokio::spawn(ticker(room.clone(), queue.clone(), tick, shutdown.clone()))];
                    if let Some(every) = room.control_interval() {
                        handles.push(tokio::spawn(controller(room.clone(), queue.clone(), every, shutdown.clone())));
                    }
                    running.insert(queue, handles);
                }
            }
            _ = shutdown.wait() => break,
        }
    }
    for handle in running.into_values().flatten() {
        let _ = handle.await;
    }
}

/// Advances one queue's admission frontier every `tick` until shutdown.
/// Errors (Redis or PostgreSQL down) admit nobody: the waiting room fails
/// closed. Once a minute it also forgets what expired in PostgreSQL.
async fn ticker(room: Arc<WaitingRoom>, queue: String, tick: Duration, shutdown: Shutdown) {
    // A tick runs to its end (a reserved batch is logged before it is
    // shown); if one overruns the grace, the shutdown deadline names it.
    let _running = shutdown.track(format!("admission ticker {queue}"));
    let mut interval = tokio::time::interval(tick);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut pruned, mut observed) = (Instant::now(), Instant::now() - OBSERVE_EVERY);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if !room.is_running(&queue) {
                    tracing::info!(%queue, "event closed: admission ticker stopped");
                    return;
                }
                if let Err(e) = room.admit(&queue).await {
                    tracing::debug!(%queue, error = %e, "admission tick failed; nobody admitted");
                }
                if observed.elapsed() >= OBSERVE_EVERY {
                    observed = Instant::now();
                    if let Err(e) = room.observe(&queue).await {
                        tracing::debug!(%queue, error = %e, "reading the queue for its gauges failed");
                    }
                }
                if pruned.elapsed() >= PRUNE_EVERY {
                    pruned = Instant::now();
                    if let Err(e) = room.prune(&queue).await {
                        tracing::debug!(%queue, error = %e, "pruning expired admissions failed");
                    }
                }
            }
            _ = shutdown.wait() => return,
        }
    }
}

/// Decides one queue's automatic admission rate every `every`, while this
/// replica holds the queue's control lease (docs/admission.md). A failed
/// interval changes nothing: the rate last written holds for ten intervals,
/// then the operators' rate applies again.
async fn controller(room: Arc<WaitingRoom>, queue: String, every: Duration, shutdown: Shutdown) {
    let _running = shutdown.track(format!("admission rate controller {queue}"));
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut state = ControlState::default();
    loop {
        tokio::select! {
            _ = interval.tick() => {
                if !room.is_running(&queue) {
                    room.release_control(&queue).await;
                    return;
                }
                if let Err(e) = room.control(&queue, &mut state).await {
                    tracing::warn!(%queue, error = %e, "automatic admission rate: interval failed; the rate holds");
                }
            }
            _ = shutdown.wait() => {
                room.release_control(&queue).await;
                return;
            }
        }
    }
}

/// Keeps the join limiters' memory bounded by the recent joins.
pub(super) async fn sweeper(room: Arc<WaitingRoom>, shutdown: Shutdown) {
    let mut interval = tokio::time::interval(SWEEP_LIMITS_EVERY);
    loop {
        tokio::select! {
            _ = interval.tick() => {
                let remembered = room.sweep_join_limits();
                tracing::debug!(remembered, "join limits swept");
            }
            _ = shutdown.wait() => return,
        }
    }
}
