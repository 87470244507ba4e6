//! The queue state every admission replica shares, in Redis. Per queue the
//! server keeps a few counters, a sample ring, and one seat entry per
//! *admitted* active session (bounded by the max-active setting) — nothing
//! per waiting person: the place in line lives in the signed ticket.
//! Reads go through a snapshot cached for [`SNAPSHOT_TTL`], so a poll costs no
//! Redis round trip at all most of the time, and never a write.
mod scripts;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use redis::{aio::ConnectionManager, AsyncCommands as _, Script};

use crate::domain::{Settings, Snapshot};

/// How stale a poll's view of the queue may be. Admission only moves the
/// frontier forward, so a slightly old view can only understate progress.
pub const SNAPSHOT_TTL: Duration = Duration::from_millis(100);

/// Outcome of a join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Joined {
    Closed,
    PreOpening(u64),
    InLine(u64),
}

/// Settings that do not live in Redis.
#[derive(Clone, Debug)]
pub struct QueueDefaults {
    pub rate: f64,
    pub max_active: u64,
    pub opens_at_ms: i64,
    pub session_ttl: Duration,
    pub burst: Duration,
}

type Cached = (Instant, Arc<Snapshot>);

#[derive(Clone)]
pub struct QueueStore {
    conn: ConnectionManager,
    prefix: String,
    join: Arc<Script>,
    advance: Arc<Script>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
}

struct Keys([String; 10]);

const NAMES: [&str; 10] = ["settings", "tick", "credit", "preopen", "pool", "post", "admitted", "active", "samples", "measured"];

impl Keys {
    fn get(&self, name: &str) -> &str {
        NAMES.iter().position(|n| *n == name).map_or("", |i| self.0[i].as_str())
    }
}

type Counters = (Option<u64>, Option<u64>, Option<u64>, Option<u64>, Option<f64>, Option<String>);
type StoredSettings = (Option<f64>, Option<u64>, Option<String>, Option<String>);

impl QueueStore {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: prefix.to_owned(),
            join: Arc::new(Script::new(scripts::JOIN)),
            advance: Arc::new(Script::new(scripts::ADVANCE)),
            cache: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn keys(&self, queue: &str) -> Keys {
        // The hash tag keeps one queue's keys on one Redis Cluster slot; the
        // version keeps a changed layout from misreading an older one's keys.
        let base = format!("{}:admission:v2:{{{queue}}}", self.prefix);
        Keys(NAMES.map(|n| format!("{base}:{n}")))
    }

    fn seed_key(&self, queue: &str) -> String {
        format!("{}:admission:v2:{{{queue}}}:seed", self.prefix)
    }

    pub async fn join(&self, queue: &str, opens_at_ms: i64) -> redis::RedisResult<Joined> {
        let k = self.keys(queue);
        let seed: [u8; 16] = rand::random();
        let seed_hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
        let (kind, value): (i64, u64) = self
            .join
            .key(k.get("settings"))
            .key(k.get("preopen"))
            .key(k.get("pool"))
            .key(k.get("post"))
            .key(self.seed_key(queue))
            .arg(opens_at_ms)
            .arg(seed_hex)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(match kind {
            -1 => Joined::Closed,
            0 => Joined::PreOpening(value),
            _ => Joined::InLine(value),
        })
    }

    /// The queue as every replica sees it, at most [`SNAPSHOT_TTL`] old.
    pub async fn snapshot(&self, queue: &str, defaults: &QueueDefaults) -> redis::RedisResult<Arc<Snapshot>> {
        if let Ok(cache) = self.cache.lock() {
            if let Some((at, snap)) = cache.get(queue) {
                if at.elapsed() < SNAPSHOT_TTL {
                    return Ok(snap.clone());
                }
            }
        }
        let snap = Arc::new(self.read(queue, defaults).await?);
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(queue.to_owned(), (Instant::now(), snap.clone()));
        }
        Ok(snap)
    }

    async fn read(&self, queue: &str, defaults: &QueueDefaults) -> redis::RedisResult<Snapshot> {
        let k = self.keys(queue);
        let ((pre, pool, post, admitted, measured, seed), (rate, max_active, paused, closed), active): (Counters, StoredSettings, u64) =
            redis::pipe()
                .mget(&[k.get("preopen"), k.get("pool"), k.get("post"), k.get("admitted"), k.get("measured"), &self.seed_key(queue)])
                .cmd("HMGET")
                .arg(k.get("settings"))
                .arg("rate")
                .arg("max_active")
                .arg("paused")
                .arg("closed")
                .zcard(k.get("active"))
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
    pub async fn seat(&self, queue: &str, position: u64) -> redis::RedisResult<Option<i64>> {
        let score: Option<f64> = self.conn.clone().zscore(self.keys(queue).get("active"), position).await?;
        Ok(score.map(|s| s as i64).filter(|s| *s > chrono::Utc::now().timestamp_millis()))
    }

    /// Frees the seat of an admitted place.
    pub async fn end_session(&self, queue: &str, position: u64) -> redis::RedisResult<bool> {
        let removed: u64 = self.conn.clone().zrem(self.keys(queue).get("active"), position).await?;
        Ok(removed == 1)
    }

    pub async fn advance(&self, queue: &str, d: &QueueDefaults) -> redis::RedisResult<u64> {
        let k = self.keys(queue);
        let mut call = self.advance.prepare_invoke();
        for key in &k.0 {
            call.key(key);
        }
        call.arg(d.rate).arg(d.max_active).arg(d.opens_at_ms).arg(d.session_ttl.as_millis() as u64).arg(d.burst.as_millis() as u64);
        call.invoke_async(&mut self.conn.clone()).await
    }

    pub async fn set_rate(&self, queue: &str, rate: f64, max_active: u64) -> redis::RedisResult<()> {
        self.conn
            .clone()
            .hset_multiple(self.keys(queue).get("settings"), &[("rate", rate.to_string()), ("max_active", max_active.to_string())])
            .await
    }

    pub async fn set_flag(&self, queue: &str, flag: &str, on: bool) -> redis::RedisResult<()> {
        self.conn.clone().hset(self.keys(queue).get("settings"), flag, if on { "1" } else { "0" }).await
    }

    /// Forgets the cached view, so an operator sees their change at once.
    pub fn invalidate(&self, queue: &str) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.remove(queue);
        }
    }
}
