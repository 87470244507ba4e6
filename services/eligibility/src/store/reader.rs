//! Cache lookups of concurrent checks sent to Redis together.
//!
//! Every check reads two keys of its subject (the cached registry answer
//! and the booked reservation) with one `MGET`. Sent one by one, each costs
//! a write on our side and a read and a reply on Redis's. Lookups that
//! arrive while one is on its way wait for it and then leave together, as a
//! pipeline of `MGET`s (one per subject: a subject's keys share a hash tag,
//! so each command stays within one Redis Cluster slot; on a cluster the
//! batch is split by slot, see [`query_by_slot`]). A lone lookup leaves at
//! once; nothing waits for a pipeline to fill.
use std::sync::Arc;

use parking_lot::Mutex;
use redis::RedisResult;
use tokio::sync::oneshot;
use yeyak_platform::redis_store::{query_by_slot, RedisConn};

/// Lookups in one pipeline at most.
const MAX_PIPELINE: usize = 128;

type Pair = (Option<String>, Option<String>);

struct Job {
    keys: [String; 2],
    reply: oneshot::Sender<RedisResult<Pair>>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// A task is sending; it takes every job queued before it stops.
    sending: bool,
}

#[derive(Clone)]
pub(super) struct CacheReader {
    conn: RedisConn,
    queue: Arc<Mutex<Queue>>,
}

impl CacheReader {
    pub(super) fn new(conn: RedisConn) -> Self {
        Self { conn, queue: Arc::default() }
    }

    /// `MGET keys[0] keys[1]`, in a pipeline with concurrent lookups.
    pub(super) async fn get_pair(&self, keys: [String; 2]) -> RedisResult<Pair> {
        let (reply, answer) = oneshot::channel();
        let start = {
            let mut q = self.queue.lock();
            q.jobs.push(Job { keys, reply });
            !std::mem::replace(&mut q.sending, true)
        };
        if start {
            tokio::spawn(send(self.clone()));
        }
        // A dropped sender: the sending task was stopped (shutdown).
        answer.await.unwrap_or_else(|_| Err(redis::RedisError::from((redis::ErrorKind::Io, "cache lookup task stopped"))))
    }
}

/// Sends pipelines until nothing is queued. If the task is stopped early
/// (its runtime shuts down), the guard clears `sending` so that the next
/// lookup starts a new task; the callers it held see an error.
async fn send(reader: CacheReader) {
    let mut guard = Sending { queue: reader.queue.clone(), finished: false };
    loop {
        let jobs: Vec<Job> = {
            let mut q = reader.queue.lock();
            if q.jobs.is_empty() {
                q.sending = false;
                guard.finished = true;
                return;
            }
            let take = q.jobs.len().min(MAX_PIPELINE);
            q.jobs.drain(..take).collect()
        };
        let lookups = jobs.iter().map(|job| (job.keys[0].clone(), redis::Cmd::mget(&job.keys))).collect();
        match query_by_slot::<Pair>(&reader.conn, lookups).await {
            Ok(pairs) if pairs.len() == jobs.len() => {
                for (job, pair) in jobs.into_iter().zip(pairs) {
                    let _ = job.reply.send(Ok(pair));
                }
            }
            Ok(_) => answer_all(jobs, || (redis::ErrorKind::Client, "pipeline answered the wrong number of lookups").into()),
            Err(e) => {
                let (kind, detail) = (e.kind(), e.to_string());
                answer_all(jobs, || (kind, "cache lookup failed", detail.clone()).into());
            }
        }
    }
}

fn answer_all(jobs: Vec<Job>, error: impl Fn() -> redis::RedisError) {
    for job in jobs {
        let _ = job.reply.send(Err(error()));
    }
}

struct Sending {
    queue: Arc<Mutex<Queue>>,
    finished: bool,
}

impl Drop for Sending {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        let mut q = self.queue.lock();
        q.sending = false;
        // Their senders drop here: those callers see an error.
        q.jobs.clear();
    }
}
