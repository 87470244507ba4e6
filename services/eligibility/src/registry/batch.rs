//! Coalescing of concurrent registry lookups into batch calls.
//!
//! During a surge thousands of first checks per second each need one
//! registry answer. One HTTP request per lookup costs the other agency (and
//! us) a request's overhead each time; instead, lookups queue here and one
//! task sends whatever has queued as one `POST /v1/subjects/batch-get`
//! (a single `= ANY` index scan on the registry's side). Nothing waits for a
//! batch to fill: a lookup that finds the queue empty and a call slot free
//! goes out at once, alone; batches form only when calls are already in
//! flight, which is exactly when they pay. At most `max_in_flight` batch
//! calls run at once; the queue is bounded, and a full queue is an
//! immediate "registry unavailable", not a wait.
use std::{collections::HashMap, sync::Arc, time::Duration};

use serde::Deserialize;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::Record;
use crate::domain::Person;

type Reply = oneshot::Sender<Result<Option<Person>, String>>;

pub(super) struct Pending {
    pub subject_id: String,
    pub reply: Reply,
}

/// How lookups are coalesced.
#[derive(Clone, Copy, Debug)]
pub struct BatchSettings {
    /// Most subject ids in one call (the registry accepts up to 256).
    pub max_batch: usize,
    /// Batch calls in flight at once.
    pub max_in_flight: usize,
    /// Lookups waiting for a call; beyond, refused at once.
    pub queue: usize,
}

impl Default for BatchSettings {
    fn default() -> Self {
        Self { max_batch: 128, max_in_flight: 2, queue: 8192 }
    }
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
pub(super) fn spawn(http: reqwest::Client, url: String, timeout: Duration, settings: BatchSettings) -> mpsc::Sender<Pending> {
    let (tx, mut rx) = mpsc::channel::<Pending>(settings.queue.max(1));
    let slots = Arc::new(Semaphore::new(settings.max_in_flight.max(1)));
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            // Wait for a call slot first: lookups arriving meanwhile join this batch.
            let Ok(permit) = slots.clone().acquire_owned().await else { break };
            // Callers that gave up while queued (their deadline) are not asked for.
            let mut batch: Vec<Pending> = std::iter::once(first).filter(|p| !p.reply.is_closed()).collect();
            while batch.len() < settings.max_batch.max(1) {
                match rx.try_recv() {
                    Ok(p) if p.reply.is_closed() => {}
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                continue;
            }
            let (http, url) = (http.clone(), url.clone());
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
            });
        }
    });
    tx
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
