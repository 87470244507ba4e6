//! The queue state every admission replica shares, in Redis. Per queue the
//! server keeps a handful of counters — nothing per waiting person: the place
//! in line lives in the signed ticket.
use redis::{aio::ConnectionManager, AsyncCommands as _, Script};

use crate::domain::{Settings, Snapshot};

/// Advances the admission frontier by `rate × elapsed` using Redis' clock, so
/// any number of replicas ticking at any cadence admit at the configured
/// rate in total. Unused credit is capped at one second's worth: after an
/// outage or a pause admission resumes at the rate, never in a burst.
const ADVANCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(redis.call('HGET', KEYS[1], 'rate') or ARGV[1])
local paused = redis.call('HGET', KEYS[1], 'paused') == '1'
local last = tonumber(redis.call('GET', KEYS[2]) or now)
local credit = tonumber(redis.call('GET', KEYS[3]) or '0')
local joined = tonumber(redis.call('GET', KEYS[4]) or '0')
local admitted = tonumber(redis.call('GET', KEYS[5]) or '0')
redis.call('SET', KEYS[2], now)
if paused then
  redis.call('SET', KEYS[3], 0)
  return admitted
end
local elapsed = math.max(0, now - last)
credit = math.min(credit + elapsed * rate / 1000, math.max(1, rate))
local n = math.min(math.floor(credit), joined - admitted)
if n > 0 then
  admitted = redis.call('INCRBY', KEYS[5], n)
  credit = credit - n
end
redis.call('SET', KEYS[3], tostring(credit))
return admitted
";

type Counters = (Option<u64>, Option<u64>);
type StoredSettings = (Option<f64>, Option<u64>, Option<String>);

#[derive(Clone)]
pub struct QueueStore {
    conn: ConnectionManager,
    prefix: String,
    advance: Script,
}

struct Keys {
    settings: String,
    tick: String,
    credit: String,
    joined: String,
    admitted: String,
}

impl QueueStore {
    pub fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self { conn, prefix: prefix.to_owned(), advance: Script::new(ADVANCE) }
    }

    fn keys(&self, queue: &str) -> Keys {
        // The hash tag keeps one queue's keys on one Redis Cluster slot.
        let base = format!("{}:admission:{{{queue}}}", self.prefix);
        Keys {
            settings: format!("{base}:settings"),
            tick: format!("{base}:tick"),
            credit: format!("{base}:credit"),
            joined: format!("{base}:joined"),
            admitted: format!("{base}:admitted"),
        }
    }

    /// Assigns the next place in line.
    pub async fn join(&self, queue: &str) -> redis::RedisResult<u64> {
        self.conn.clone().incr(self.keys(queue).joined, 1u64).await
    }

    /// One round trip, no write: what a poll costs.
    pub async fn snapshot(&self, queue: &str, defaults: &Settings) -> redis::RedisResult<Snapshot> {
        let k = self.keys(queue);
        let ((joined, admitted), (rate, max_active, paused)): (Counters, StoredSettings) = redis::pipe()
            .mget(&[&k.joined, &k.admitted])
            .cmd("HMGET")
            .arg(&k.settings)
            .arg("rate")
            .arg("max_active")
            .arg("paused")
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(Snapshot {
            joined: joined.unwrap_or(0),
            admitted: admitted.unwrap_or(0),
            settings: Settings {
                rate_per_second: rate.unwrap_or(defaults.rate_per_second),
                max_active: max_active.unwrap_or(defaults.max_active),
                paused: paused.as_deref() == Some("1"),
            },
        })
    }

    pub async fn advance(&self, queue: &str, default_rate: f64) -> redis::RedisResult<u64> {
        let k = self.keys(queue);
        self.advance
            .key(&k.settings)
            .key(&k.tick)
            .key(&k.credit)
            .key(&k.joined)
            .key(&k.admitted)
            .arg(default_rate)
            .invoke_async(&mut self.conn.clone())
            .await
    }

    pub async fn set_rate(&self, queue: &str, rate: f64, max_active: u64) -> redis::RedisResult<()> {
        let k = self.keys(queue);
        self.conn.clone().hset_multiple(&k.settings, &[("rate", rate.to_string()), ("max_active", max_active.to_string())]).await
    }

    pub async fn set_paused(&self, queue: &str, paused: bool) -> redis::RedisResult<()> {
        let k = self.keys(queue);
        self.conn.clone().hset(&k.settings, "paused", if paused { "1" } else { "0" }).await
    }
}
