//! The queue state every admission replica shares, in Redis. Per queue the
//! server keeps a few counters, a sample ring, and one seat entry per
//! *admitted* active session (bounded by the max-active setting) — nothing
//! per waiting person: the place in line lives in the signed ticket.
//! Reads go through a snapshot cached for [`SNAPSHOT_TTL`], so a poll costs no
//! Redis round trip at all most of the time, and never a write.
mod keys;
mod scripts;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use keys::Keys;
use parking_lot::Mutex;
use redis::{AsyncCommands as _, Script};
use yeyak_platform::redis_store::RedisConn;

use crate::domain::{Flag, QueueDefaults, Settings, Snapshot};

/// How stale a poll's view of the queue may be. Admission only moves the
/// frontier forward, so a slightly old view can only understate progress.
pub(crate) const SNAPSHOT_TTL: Duration = Duration::from_millis(100);

/// Outcome of a join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Joined {
    Closed,
    PreOpening(u64),
    InLine(u64),
}

type Cached = (Instant, Arc<Snapshot>);

#[derive(Clone)]
pub(crate) struct QueueStore {
    conn: RedisConn,
    prefix: String,
    join: Arc<Script>,
    advance: Arc<Script>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

type Counters = (Option<u64>, Option<u64>, Option<u64>, Option<u64>, Option<f64>, Option<String>);
type StoredSettings = (Option<f64>, Option<u64>, Option<String>, Option<String>);

impl QueueStore {
    pub(crate) fn new(conn: RedisConn, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            join: Arc::new(Script::new(scripts::JOIN)),
            advance: Arc::new(Script::new(scripts::ADVANCE)),
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn keys(&self, queue: &str) -> Keys {
        Keys::new(&self.prefix, queue)
    }

    pub(crate) async fn join(&self, queue: &str, opens_at_ms: i64) -> redis::RedisResult<Joined> {
        let seed: [u8; 16] = rand::random();
        let seed_hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        let mut call = self.join.prepare_invoke();
        for key in self.keys(queue).for_join() {
            call.key(key);
        }
        let (kind, value): (i64, u64) = call.arg(opens_at_ms).arg(seed_hex).invoke_async(&mut self.conn.clone()).await?;
        Ok(match kind {
            -1 => Joined::Closed,
            0 => Joined::PreOpening(value),
            _ => Joined::InLine(value),
        })
    }

    /// The queue as every replica sees it, at most [`SNAPSHOT_TTL`] old.
    pub(crate) async fn snapshot(&self, queue: &str, defaults: &QueueDefaults) -> redis::RedisResult<Arc<Snapshot>> {
        if let Some((at, snap)) = self.cache.lock().get(queue) {
            if at.elapsed() < SNAPSHOT_TTL {
                return Ok(snap.clone());
            }
        }
        let snap = Arc::new(self.read(queue, defaults).await?);
        self.cache.lock().insert(queue.to_owned(), (Instant::now(), snap.clone()));
        Ok(snap)
    }

    async fn read(&self, queue: &str, defaults: &QueueDefaults) -> redis::RedisResult<Snapshot> {
        let k = self.keys(queue);
        let ((pre, pool, post, admitted, measured, seed), (rate, max_active, paused, closed), active): (Counters, StoredSettings, u64) =
            redis::pipe()
                .mget(&[&k.preopen, &k.pool, &k.post, &k.admitted, &k.measured, &k.seed])
                .cmd("HMGET")
                .arg(&k.settings)
                .arg("rate")
                .arg("max_active")
                .arg(Flag::Paused.name())
                .arg(Flag::Closed.name())
                .zcard(&k.active)
                .query_async(&mut self.conn.clone())
                .await?;
        Ok(Snapshot {
            pre_joined: pre.unwrap_or(0),
            pool,
            post_joined: post.unwrap_or(0),
            admitted: admitted.unwrap_or(0),
            active,
            measured_rate: measured.unwrap_or(0.0),
            seed: seed.unwrap_or_default().into_bytes(),
            settings: Settings {
                rate_per_second: rate.unwrap_or(defaults.rate),
                max_active: max_active.unwrap_or(defaults.max_active),
                paused: paused.as_deref() == Some("1"),
                closed: closed.as_deref() == Some("1"),
            },
        })
    }

    /// The admitted session's seat expiry (ms), `None` once ended or expired.
    pub(crate) async fn seat(&self, queue: &str, position: u64) -> redis::RedisResult<Option<i64>> {
        let score: Option<f64> = self.conn.clone().zscore(self.keys(queue).active, position).await?;
        Ok(score.map(|s| s as i64).filter(|s| *s > chrono::Utc::now().timestamp_millis()))
    }

    /// Frees the seat of an admitted place.
    pub(crate) async fn end_session(&self, queue: &str, position: u64) -> redis::RedisResult<bool> {
        let removed: u64 = self.conn.clone().zrem(self.keys(queue).active, position).await?;
        Ok(removed == 1)
    }

    pub(crate) async fn advance(&self, queue: &str, d: &QueueDefaults) -> redis::RedisResult<u64> {
        let mut call = self.advance.prepare_invoke();
        for key in self.keys(queue).for_advance() {
            call.key(key);
        }
        call.arg(d.rate).arg(d.max_active).arg(d.opens_at_ms).arg(d.session_ttl.as_millis() as u64).arg(d.burst.as_millis() as u64);
        call.invoke_async(&mut self.conn.clone()).await
    }

    pub(crate) async fn set_rate(&self, queue: &str, rate: f64, max_active: u64) -> redis::RedisResult<()> {
        self.conn
            .clone()
            .hset_multiple(self.keys(queue).settings, &[("rate", rate.to_string()), ("max_active", max_active.to_string())])
            .await
    }

    pub(crate) async fn set_flag(&self, queue: &str, flag: Flag, on: bool) -> redis::RedisResult<()> {
        self.conn.clone().hset(self.keys(queue).settings, flag.name(), if on { "1" } else { "0" }).await
    }

    /// Forgets the cached view, so an operator sees their change at once.
    pub(crate) fn invalidate(&self, queue: &str) {
        self.cache.lock().remove(queue);
    }
}
