//! The booking events a deployment serves, as admission publishes them.
//!
//! Events are data (admission's PostgreSQL table `booking_events`, changed
//! through its operator API). Every service that checks passes must learn a
//! new, changed or closed event within seconds, without a restart: admission
//! copies the catalog into its Redis, next to the ended-sessions streams that
//! every pass-checking service already follows, and those services read it on
//! the same schedule as the streams (every 250 ms by default). One hash holds
//! the whole catalog: a field per event (JSON) and `_version`, the catalog's
//! version in PostgreSQL. Readers fetch `_version` on each poll and the whole
//! hash only when it changed.
//!
//! A lost Redis loses the copy, not the events: admission writes it again
//! from PostgreSQL within a second, and readers keep the catalog they last
//! read meanwhile. A reader that cannot read Redis at all also cannot read
//! the ended sessions, and refuses every pass already (fail closed).
use std::collections::HashMap;

use redis::{RedisResult, Script};
use serde::{Deserialize, Serialize};

use crate::redis_store::RedisConn;

/// The hash field that holds the catalog's version.
pub const VERSION_FIELD: &str = "_version";

/// Where admission keeps the catalog copy (one key: one slot on a cluster).
pub fn catalog_key(prefix: &str) -> String {
    format!("{prefix}:events")
}

/// Whether an event takes people (and honours its passes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventState {
    /// Joins, admissions and passes work (within its times).
    Open,
    /// Over: no joins, no admissions, and its passes are refused everywhere.
    Closed,
}

/// What every service may know of an event: no admission internals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedEvent {
    pub id: String,
    pub title: String,
    pub state: EventState,
    /// The opening instant (unix ms).
    pub opens_at_ms: i64,
    /// When joins stop (unix ms); `None`: until closed.
    pub closes_at_ms: Option<i64>,
    /// The eligibility rule set the event is judged by; empty: the default.
    pub rule_set: String,
    /// The event row's version (changes with every change of the event).
    pub version: i64,
}

/// One read of the catalog.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    pub version: i64,
    pub events: HashMap<String, PublishedEvent>,
}

impl Catalog {
    /// Whether passes of `event` are honoured: it is in the catalog and open.
    pub fn serves(&self, event: &str) -> bool {
        self.events.get(event).is_some_and(|e| e.state == EventState::Open)
    }
}

/// Replaces the copy with `catalog` unless Redis already holds this version
/// or a newer one; true when it wrote.
pub async fn publish(conn: &RedisConn, prefix: &str, catalog: &Catalog) -> RedisResult<bool> {
    let script = Script::new(
        r"local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
          if current >= tonumber(ARGV[2]) then return 0 end
          redis.call('DEL', KEYS[1])
          redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
          for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
          return 1",
    );
    let mut invocation = script.key(catalog_key(prefix));
    invocation.arg(VERSION_FIELD).arg(catalog.version);
    for event in catalog.events.values() {
        // A plain struct always serialises; an empty field would be skipped by readers.
        invocation.arg(&event.id).arg(serde_json::to_string(event).unwrap_or_default());
    }
    let wrote: i64 = invocation.invoke_async(&mut conn.clone()).await?;
    Ok(wrote == 1)
}

/// The copy's version; `None` when there is no copy (a fresh or lost Redis).
pub async fn version(conn: &RedisConn, prefix: &str) -> RedisResult<Option<i64>> {
    redis::cmd("HGET").arg(catalog_key(prefix)).arg(VERSION_FIELD).query_async(&mut conn.clone()).await
}

/// The whole copy; `None` when there is none. A field that does not parse
/// (a newer admission's format) is skipped and logged, not fatal.
pub async fn read(conn: &RedisConn, prefix: &str) -> RedisResult<Option<Catalog>> {
    let fields: HashMap<String, String> = redis::cmd("HGETALL").arg(catalog_key(prefix)).query_async(&mut conn.clone()).await?;
    let Some(version) = fields.get(VERSION_FIELD).and_then(|v| v.parse().ok()) else { return Ok(None) };
    let mut events = HashMap::new();
    for (id, json) in fields.into_iter().filter(|(k, _)| k != VERSION_FIELD) {
        match serde_json::from_str::<PublishedEvent>(&json) {
            Ok(event) => {
                events.insert(id, event);
            }
            Err(e) => tracing::warn!(event = %id, error = %e, "booking event in the catalog does not parse; ignored"),
        }
    }
    Ok(Some(Catalog { version, events }))
}
