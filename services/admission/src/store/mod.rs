//! The queue state every admission replica shares. Redis holds the live
//! counters, a sample ring, and one seat entry per *admitted* active session
//! (bounded by the max-active setting) — nothing per waiting person: the
//! place in line lives in the signed ticket. PostgreSQL ([`durable`]) holds
//! what Redis may lose and must be rebuilt from: settings, the lottery seed
//! and pool, high-water marks of places, and the admitted batches.
//! Reads go through a snapshot cached for [`SNAPSHOT_TTL`], so a poll costs no
//! Redis round trip at all most of the time, and never a write.
mod catalog;
mod control;
pub(crate) mod durable;
mod keys;
mod rebuild;
mod scripts;

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use keys::{KeyNames, Keys};
use parking_lot::Mutex;
use redis::Script;
use yeyak_platform::redis_store::RedisConn;

use self::durable::Marks;
use crate::domain::{QueueDefaults, Snapshot, StoredSettings};

mod read;
mod replay;

/// How stale a poll's view of the queue may be. Admission only moves the
/// frontier forward, so a slightly old view can only understate progress.
pub(crate) const SNAPSHOT_TTL: Duration = Duration::from_millis(100);

/// The store layer's error.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    /// Redis no longer holds the state this queue was built on.
    #[error("the queue's state in Redis was lost and must be rebuilt")]
    Lost,
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("postgres: {0}")]
    Durable(#[from] sqlx::Error),
}

/// Outcome of a join.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Joined {
    Closed,
    PreOpening(u64),
    InLine(u64),
}

/// What a join attempt needs from the service before it can succeed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum JoinStep {
    /// Joined; with the limit to reserve ahead when few places are left.
    Done(Joined, Option<Short>),
    /// Reserve more lottery entries or places in PostgreSQL.
    Reserve(Short),
    /// Freeze the lottery pool (so far this many entries).
    FreezePool(u64),
}

/// A limit found (nearly) reached, at the value the join saw: a
/// reservation adds a block only while PostgreSQL's mark is still there, so
/// joins and replicas that all see the same limit reserve one block between
/// them, and a loss of Redis skips at most two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Short {
    pub(crate) limit: Limit,
    pub(crate) seen: u64,
}

/// One admission tick's outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tick {
    FreezePool(u64),
    /// `(durable, admitted]` must be logged (with this seat expiry) before
    /// anyone in it is told.
    Frontier {
        durable: u64,
        admitted: u64,
        expiry_ms: i64,
        /// Places this tick admitted (0 when it found a batch pending).
        created: u64,
    },
}

/// Which limit a reservation raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Limit {
    Lottery,
    Places,
    Pool,
}

type Cached = (Instant, Arc<Snapshot>);

#[derive(Clone)]
pub(crate) struct QueueStore {
    conn: RedisConn,
    prefix: String,
    scripts: Arc<Scripts>,
    cache: Arc<Mutex<HashMap<String, Cached>>>,
    keys: Arc<KeyNames>,
}

struct Scripts {
    join: Script,
    advance: Script,
    read: Script,
    seat: Script,
    end: Script,
    mark: Script,
    raise: Script,
    settings: Script,
    control: Script,
    lease: Script,
    rebuild: Script,
}

impl QueueStore {
    /// Every call is sent once more when Redis dropped the connection under
    /// it (a restart, a failover), so no caller sees the reconnect. Sending
    /// a script again whose reply was lost is harmless here: a second `JOIN`
    /// skips a place, a second `ADVANCE` returns the batch still to log, and
    /// the rest set values or compare run ids.
    /// Appends an ended session to the stream every service that checks
    /// passes follows, so its pass stops working everywhere
    /// (`yeyak_platform::sessions`). Appending twice is harmless.
    pub(crate) async fn record_end(&self, queue: &str, session_id: &str, now_ms: i64, retention_ms: i64) -> Result<(), StoreError> {
        Ok(yeyak_platform::sessions::record_end(&self.conn, &self.prefix, queue, session_id, now_ms, retention_ms).await?)
    }

    pub(crate) fn new(conn: RedisConn, prefix: &str) -> Self {
        let conn = conn.idempotent();
        let scripts = Scripts {
            join: Script::new(scripts::JOIN),
            advance: Script::new(scripts::ADVANCE),
            read: Script::new(scripts::READ),
            seat: Script::new(scripts::SEAT),
            end: Script::new(scripts::END),
            mark: Script::new(scripts::MARK),
            raise: Script::new(scripts::RAISE),
            settings: Script::new(scripts::SETTINGS),
            control: Script::new(scripts::CONTROL),
            lease: Script::new(control::LEASE),
            rebuild: Script::new(rebuild::REBUILD),
        };
        Self {
            conn,
            prefix: prefix.to_owned(),
            scripts: Arc::new(scripts),
            cache: Arc::new(Mutex::new(HashMap::new())),
            keys: Arc::new(KeyNames::new(prefix)),
        }
    }

    fn keys(&self, queue: &str) -> Arc<Keys> {
        self.keys.get(queue)
    }

    /// Runs an origin-checked script: its reply, the leading code first.
    async fn run<K: AsRef<str>>(&self, script: &Script, keys: &[K], args: &[String]) -> Result<Vec<String>, StoreError> {
        let mut call = script.prepare_invoke();
        for key in keys {
            call.key(key.as_ref());
        }
        for arg in args {
            call.arg(arg);
        }
        let reply: Vec<String> = call.invoke_async(&mut self.conn.clone()).await?;
        if reply.first().and_then(|c| c.parse::<i64>().ok()) == Some(scripts::LOST) {
            self.invalidate_all();
            return Err(StoreError::Lost);
        }
        Ok(reply)
    }

    /// Takes a place; `low_water`: below this many reserved places (or
    /// lottery entries) left, the reply asks for the next block ahead.
    pub(crate) async fn join(&self, queue: &str, opens_at_ms: i64, low_water: u64) -> Result<JoinStep, StoreError> {
        let args = [opens_at_ms.to_string(), low_water.to_string()];
        let reply = self.run(&self.scripts.join, &self.keys(queue).for_join(), &args).await?;
        let value = |i: usize| reply.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let ahead = |limit: Limit| (value(2) == 1).then_some(Short { limit, seen: value(3) });
        Ok(match reply.first().map(String::as_str) {
            Some("-1") => JoinStep::Done(Joined::Closed, None),
            Some("-2") => JoinStep::Reserve(Short { limit: Limit::Lottery, seen: value(1) }),
            Some("-3") => JoinStep::FreezePool(value(1)),
            Some("-4") => JoinStep::Reserve(Short { limit: Limit::Places, seen: value(1) }),
            Some("0") => JoinStep::Done(Joined::PreOpening(value(1)), ahead(Limit::Lottery)),
            _ => JoinStep::Done(Joined::InLine(value(1)), ahead(Limit::Places)),
        })
    }

    pub(crate) async fn advance(&self, queue: &str, d: &QueueDefaults) -> Result<Tick, StoreError> {
        let args = [
            d.rate.to_string(),
            d.max_active.to_string(),
            d.opens_at_ms.to_string(),
            d.session_ttl.as_millis().to_string(),
            d.burst.as_millis().to_string(),
        ];
        let reply = self.run(&self.scripts.advance, &self.keys(queue).for_advance(), &args).await?;
        let value = |i: usize| reply.get(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        Ok(match reply.first().map(String::as_str) {
            Some("-3") => Tick::FreezePool(value(1) as u64),
            _ => Tick::Frontier { durable: value(1) as u64, admitted: value(2) as u64, expiry_ms: value(3), created: value(4) as u64 },
        })
    }

    /// The frontier people see moves up to `logged` (a batch now in PostgreSQL).
    pub(crate) async fn mark(&self, queue: &str, logged: u64) -> Result<(), StoreError> {
        let k = self.keys(queue);
        self.run(&self.scripts.mark, &[&k.origin, &k.admitted, &k.durable], &[logged.to_string()]).await.map(drop)
    }

    /// Raises a limit (or sets the pool) to what PostgreSQL reserved.
    pub(crate) async fn raise(&self, queue: &str, limit: Limit, value: u64) -> Result<(), StoreError> {
        let k = self.keys(queue);
        let key = match limit {
            Limit::Lottery => &k.pre_limit,
            Limit::Places => &k.post_limit,
            Limit::Pool => &k.pool,
        };
        self.run(&self.scripts.raise, &[&k.origin, key], &[value.to_string()]).await.map(drop)
    }

    /// The admitted place's seat expiry (ms), `None` once ended or expired.
    pub(crate) async fn seat(&self, queue: &str, place: u64) -> Result<Option<i64>, StoreError> {
        let k = self.keys(queue);
        let reply = self.run(&self.scripts.seat, &[&k.origin, &k.active], &[place.to_string()]).await?;
        Ok(reply.get(1).and_then(|s| s.parse::<f64>().ok()).map(|s| s as i64))
    }

    /// Frees the seat of an admitted place; whether it was held.
    pub(crate) async fn end_session(&self, queue: &str, place: u64) -> Result<bool, StoreError> {
        let k = self.keys(queue);
        let reply = self.run(&self.scripts.end, &[&k.origin, &k.active], &[place.to_string()]).await?;
        Ok(reply.get(1).map(String::as_str) == Some("1"))
    }

    /// Copies an operator's saved settings into Redis for every replica's next tick.
    pub(crate) async fn write_settings(&self, queue: &str, saved: &StoredSettings) -> Result<(), StoreError> {
        let k = self.keys(queue);
        let flag = |on: Option<bool>| if on == Some(true) { "1" } else { "0" }.to_owned();
        let mut args = vec!["paused".to_owned(), flag(saved.paused), "closed".to_owned(), flag(saved.closed)];
        args.extend(saved.rate.map(|r| ["rate".to_owned(), r.to_string()]).into_iter().flatten());
        args.extend(saved.max_active.map(|m| ["max_active".to_owned(), m.to_string()]).into_iter().flatten());
        args.extend(saved.pow_bits.map(|b| ["pow_bits".to_owned(), b.to_string()]).into_iter().flatten());
        args.extend(saved.auto_rate.map(|on| ["auto".to_owned(), flag(Some(on))]).into_iter().flatten());
        self.run(&self.scripts.settings, &[&k.origin, &k.settings], &args).await.map(drop)
    }

    /// Rebuilds the queue from `marks`; false if another replica already had.
    pub(crate) async fn rebuild(&self, queue: &str, marks: &Marks) -> Result<bool, StoreError> {
        let mut call = self.scripts.rebuild.prepare_invoke();
        for key in self.keys(queue).all() {
            call.key(key);
        }
        for arg in rebuild::args(marks) {
            call.arg(arg);
        }
        let rebuilt: i64 = call.invoke_async(&mut self.conn.clone()).await?;
        self.invalidate(queue);
        Ok(rebuilt == 1)
    }

    /// Forgets the cached view, so an operator sees their change at once.
    pub(crate) fn invalidate(&self, queue: &str) {
        self.cache.lock().remove(queue);
    }

    fn invalidate_all(&self) {
        self.cache.lock().clear();
    }
}
