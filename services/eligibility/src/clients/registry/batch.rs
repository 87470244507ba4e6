//! Coalescing of concurrent registry lookups into batch calls.
//!
//! During a surge thousands of first checks per second each need one
//! registry answer. One HTTP request per lookup costs the other agency (and
//! us) a request's overhead each time; instead, lookups queue here and one
//! task sends whatever has queued as one `POST /v1/subjects/batch-get`
//! (a single `= ANY` index scan on the registry's side).
//!
//! When to send: nothing waits for a batch to fill while the registry is
//! idle: a lookup that finds no call in flight goes out at once, alone. While
//! a call is in flight, lookups gather for the next one, which leaves when
//! that call returns, or earlier once `parallel_from` lookups have gathered
//! or the first of them has waited `max_wait` (then several calls run at
//! once, up to `max_in_flight`). So under load a call carries what arrived
//! during one round trip (measured: 12 lookups per call instead of 7 when a
//! free slot took whatever had queued; docs/benchmarks.md), a slow call
//! delays the lookups behind it by `max_wait` at most, and a slow or distant
//! registry still gets parallel calls. The queue is bounded, and a full queue
//! is an immediate "registry unavailable", not a wait.
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use serde::Deserialize;
use tokio::sync::{mpsc, oneshot, Notify, OwnedSemaphorePermit, Semaphore};

use super::Record;
use crate::domain::{BatchSettings, Person};

/// Batch calls sent and lookups they carried, in this process (all
/// batchers together): the benchmark prints their ratio.
static CALLS: AtomicU64 = AtomicU64::new(0);
static LOOKUPS: AtomicU64 = AtomicU64::new(0);

/// (batch calls, lookups) sent so far by every batcher of this process.
pub fn totals() -> (u64, u64) {
    (CALLS.load(Ordering::Relaxed), LOOKUPS.load(Ordering::Relaxed))
}

type Reply = oneshot::Sender<Result<Option<Person>, String>>;

pub(super) struct Pending {
    pub(super) subject_id: String,
    pub(super) reply: Reply,
}

/// Calls and lookups of one batcher.
#[derive(Debug, Default)]
pub struct BatchStats {
    pub calls: AtomicU64,
    pub lookups: AtomicU64,
}

#[derive(Deserialize)]
struct Found {
    subjects: Vec<FoundRecord>,
}

#[derive(Deserialize)]
struct FoundRecord {
    subject_id: String,
    #[serde(flatten)]
    record: Record,
}

/// Starts the batching task; it ends when every sender is dropped.
pub(super) fn spawn(
    http: reqwest::Client,
    url: String,
    timeout: Duration,
    settings: BatchSettings,
    stats: Arc<BatchStats>,
) -> mpsc::Sender<Pending> {
    let (tx, mut rx) = mpsc::channel::<Pending>(settings.queue.max(1));
    tokio::spawn(async move {
        let slots = Arc::new(Semaphore::new(settings.max_in_flight.max(1)));
        let returned = Arc::new(Notify::new());
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            let Some(permit) = gather(&mut rx, &mut batch, &slots, &returned, settings).await else { break };
            // Callers that gave up while queued (their deadline) are not asked for.
            batch.retain(|p| !p.reply.is_closed());
            if batch.is_empty() {
                continue;
            }
            for counter in [&CALLS, &stats.calls] {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            for counter in [&LOOKUPS, &stats.lookups] {
                counter.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }
            let (http, url, returned) = (http.clone(), url.clone(), returned.clone());
            tokio::spawn(async move {
                let ids: Vec<&str> = batch.iter().map(|p| p.subject_id.as_str()).collect();
                let result = call(&http, &url, timeout, &ids).await;
                drop(ids);
                for p in batch {
                    let answer = match &result {
                        Ok(found) => Ok(found.get(&p.subject_id).cloned()),
                        Err(e) => Err(e.clone()),
                    };
                    // The caller may have given up (its deadline): nothing to do.
                    let _ = p.reply.send(answer);
                }
                drop(permit);
                returned.notify_one();
            });
        }
    });
    tx
}

/// Adds queued lookups to `batch` until it may leave (see the module's
/// documentation), and takes its call slot. `None` when the semaphore is
/// closed (never: it lives in the task).
async fn gather(
    rx: &mut mpsc::Receiver<Pending>,
    batch: &mut Vec<Pending>,
    slots: &Arc<Semaphore>,
    returned: &Notify,
    settings: BatchSettings,
) -> Option<OwnedSemaphorePermit> {
    let max_batch = settings.max_batch.max(1);
    let (mut open, mut waited) = (true, false);
    let waiting = tokio::time::sleep(settings.max_wait);
    tokio::pin!(waiting);
    let permit = loop {
        let idle = slots.available_permits() == settings.max_in_flight.max(1);
        if idle || batch.len() >= settings.parallel_from.max(1) || waited || !open {
            if let Ok(permit) = slots.clone().try_acquire_owned() {
                break permit;
            }
        }
        if batch.len() >= max_batch || !open {
            // Full (or no more lookups can come): the next free slot.
            break slots.clone().acquire_owned().await.ok()?;
        }
        tokio::select! {
            () = returned.notified() => {}
            () = &mut waiting, if !waited => waited = true,
            next = rx.recv() => match next {
                Some(p) => batch.push(p),
                None => open = false,
            },
        }
    };
    // What queued meanwhile joins, up to the batch size.
    while batch.len() < max_batch {
        match rx.try_recv() {
            Ok(p) => batch.push(p),
            Err(_) => break,
        }
    }
    Some(permit)
}

async fn call(http: &reqwest::Client, url: &str, timeout: Duration, ids: &[&str]) -> Result<HashMap<String, Person>, String> {
    let body = serde_json::json!({ "subject_ids": ids });
    let resp = http.post(url).timeout(timeout).json(&body).send().await.map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("registry answered HTTP {}", resp.status().as_u16()));
    }
    let found: Found = resp.json().await.map_err(|e| e.to_string())?;
    // An answer about someone not asked for means the reply is not what we
    // think it is: no caller gets an answer from it.
    if found.subjects.iter().any(|f| !ids.contains(&f.subject_id.as_str())) {
        return Err("registry answered about subjects it was not asked for".to_owned());
    }
    Ok(found.subjects.into_iter().map(|f| (f.subject_id, f.record.into())).collect())
}
