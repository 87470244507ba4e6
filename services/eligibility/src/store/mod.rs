//! Everything eligibility keeps, in Redis (it has no database of its own):
//!
//! - the registry lookup cache, short TTL: `<p>:eligibility:{<subject>}:person`;
//! - the booked set, subject + dose → reservation id, fed by reservation
//!   events: `<p>:eligibility:{<subject>}:booked:<dose>`;
//! - cancelled reservations (so a late `confirmed` cannot resurrect one):
//!   `<p>:eligibility:{<subject>}:cancelled:<reservation>`;
//! - processed event ids (deduplication, SET NX with a TTL):
//!   `<p>:eligibility:{<subject>}:event:<event id>`;
//! - the people each agent acts for, per event (queue):
//!   `<p>:eligibility:proxy:{<queue>}:<agent subject>` (a set).
//!
//! An event's deduplication and its effect are one Lua script, so a crash
//! between them cannot lose or double an effect. All of a subject's keys
//! share one hash tag (one Redis Cluster slot).
//!
//! Redis restarted empty loses all of it, and only the cache comes back by
//! itself (from the registry). The rest came from events already
//! acknowledged, so nothing here can rebuild it: a booked dose is answered
//! eligible again (reservation's unique index, one active reservation per
//! person and dose, still refuses the second booking: `ALREADY_EXISTS`), an
//! agent's quota starts again from nobody, and a late `confirmed` after a
//! lost cancellation mark would book the dose again in this set.
//!
//! And, apart from Redis, the rules file: [`rules_file`] reads it and keeps
//! the rules in force.
mod reader;
pub(crate) mod rules_file;
mod writer;

use std::{sync::Arc, time::Duration};

use redis::{AsyncCommands as _, Script};
use yeyak_platform::redis_store::RedisConn;

pub use self::rules_file::{RuleSets, RulesHandle};
use self::{reader::CacheReader, writer::CacheWriter};
use crate::domain::{BookingEvent, Person};

/// How long processed event ids and cancellation marks are kept.
const EVENT_TTL: Duration = Duration::from_secs(7 * 86_400);

/// A cached registry answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cached {
    Known(Person),
    /// The registry said it does not know the subject.
    Unknown,
}

/// The outcome of claiming a place in an agent's quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProxyClaim {
    pub(crate) allowed: bool,
    /// People the agent acts for in this event (after the claim).
    pub(crate) count: u64,
}

const CONFIRMED: &str = r"
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[3]) end
redis.call('DEL', KEYS[4])
return 1
";

const CANCELLED: &str = r"
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then return 0 end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[2])
if redis.call('GET', KEYS[3]) == ARGV[1] then redis.call('DEL', KEYS[3]) end
redis.call('DEL', KEYS[4])
return 1
";

const RESCHEDULED: &str = r"
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
redis.call('DEL', KEYS[2])
return 1
";

const CLAIM: &str = r"
local n = redis.call('SCARD', KEYS[1])
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return {1, n} end
if n >= tonumber(ARGV[2]) then return {0, n} end
redis.call('SADD', KEYS[1], ARGV[1])
if n == 0 then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return {1, n + 1}
";

#[derive(Clone)]
pub struct Store {
    conn: RedisConn,
    reader: CacheReader,
    writer: CacheWriter,
    prefix: String,
    booked_ttl: u64,
    proxy_ttl: u64,
    confirmed: Arc<Script>,
    cancelled: Arc<Script>,
    rescheduled: Arc<Script>,
    claim: Arc<Script>,
}

/// TTLs of what the store writes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ttls {
    pub(crate) cache: Duration,
    pub(crate) booked: Duration,
    pub(crate) proxy: Duration,
}

impl Store {
    /// Needs a Tokio runtime: cache writes have their own task.
    ///
    /// Every command here may run twice ([`RedisConn::idempotent`]), so the
    /// first check after a reconnection does not fail: reads, `SET` of one
    /// value, the quota claim (set membership) and the event scripts (their
    /// event id is claimed with `SET NX` in the same script: a second run
    /// does nothing and reports the event as seen, which the consumer acks).
    pub(crate) fn new(conn: RedisConn, prefix: &str, ttls: Ttls) -> Self {
        let conn = conn.idempotent();
        Self {
            reader: CacheReader::new(conn.clone()),
            writer: CacheWriter::spawn(conn.clone(), ttls.cache.as_secs().max(1)),
            conn,
            prefix: format!("{prefix}:eligibility"),
            booked_ttl: ttls.booked.as_secs().max(1),
            proxy_ttl: ttls.proxy.as_secs().max(1),
            confirmed: Arc::new(Script::new(CONFIRMED)),
            cancelled: Arc::new(Script::new(CANCELLED)),
            rescheduled: Arc::new(Script::new(RESCHEDULED)),
            claim: Arc::new(Script::new(CLAIM)),
        }
    }

    fn subject_key(&self, subject: &str, what: &str) -> String {
        format!("{}:{{{subject}}}:{what}", self.prefix)
    }

    /// The cached registry answer and the reservation held for `dose`, in
    /// one round trip (shared with concurrent lookups: see [`reader`]).
    pub async fn lookup(&self, subject: &str, dose: u32) -> redis::RedisResult<(Option<Cached>, Option<String>)> {
        let keys = [self.subject_key(subject, "person"), self.subject_key(subject, &format!("booked:{dose}"))];
        let (person, booked) = self.reader.get_pair(keys).await?;
        let cached = person.and_then(|text| match text.as_str() {
            "?" => Some(Cached::Unknown),
            json => serde_json::from_str(json).ok().map(Cached::Known),
        });
        Ok((cached, booked))
    }

    /// Caches a registry answer for the cache TTL, behind the caller's back
    /// (see [`writer`]): within about [`writer::LINGER`] plus a round
    /// trip. False when the write was dropped.
    pub fn remember(&self, subject: &str, person: Option<&Person>) -> bool {
        let value = match person {
            Some(p) => match serde_json::to_string(p) {
                Ok(json) => json,
                Err(_) => return false,
            },
            None => "?".to_owned(),
        };
        self.writer.write(self.subject_key(subject, "person"), value)
    }

    /// The reservation held for `dose`, if any.
    pub async fn booked(&self, subject: &str, dose: u32) -> redis::RedisResult<Option<String>> {
        self.conn.clone().get(self.subject_key(subject, &format!("booked:{dose}"))).await
    }

    /// Counts `subject` among the people `agent` acts for in `queue`, unless
    /// the agent already reached `max` other people.
    pub(crate) async fn claim_proxy(&self, queue: &str, agent: &str, subject: &str, max: u32) -> redis::RedisResult<ProxyClaim> {
        let key = format!("{}:proxy:{{{queue}}}:{agent}", self.prefix);
        let (allowed, count): (i64, u64) =
            self.claim.key(key).arg(subject).arg(max).arg(self.proxy_ttl).invoke_async(&mut self.conn.clone()).await?;
        Ok(ProxyClaim { allowed: allowed == 1, count })
    }

    /// Applies a reservation event once; false when it was seen before.
    pub async fn apply(&self, event: &BookingEvent) -> redis::RedisResult<bool> {
        let mut conn = self.conn.clone();
        let event_ttl = EVENT_TTL.as_secs();
        let applied: i64 = match event {
            BookingEvent::Confirmed { event_id, reservation_id, subject_id, dose } => {
                self.confirmed
                    .key(self.subject_key(subject_id, &format!("event:{event_id}")))
                    .key(self.subject_key(subject_id, &format!("cancelled:{reservation_id}")))
                    .key(self.subject_key(subject_id, &format!("booked:{dose}")))
                    .key(self.subject_key(subject_id, "person"))
                    .arg(reservation_id)
                    .arg(event_ttl)
                    .arg(self.booked_ttl)
                    .invoke_async(&mut conn)
                    .await?
            }
            BookingEvent::Cancelled { event_id, reservation_id, subject_id, dose } => {
                self.cancelled
                    .key(self.subject_key(subject_id, &format!("event:{event_id}")))
                    .key(self.subject_key(subject_id, &format!("cancelled:{reservation_id}")))
                    .key(self.subject_key(subject_id, &format!("booked:{dose}")))
                    .key(self.subject_key(subject_id, "person"))
                    .arg(reservation_id)
                    .arg(event_ttl)
                    .invoke_async(&mut conn)
                    .await?
            }
            BookingEvent::Rescheduled { event_id, subject_id } => {
                self.rescheduled
                    .key(self.subject_key(subject_id, &format!("event:{event_id}")))
                    .key(self.subject_key(subject_id, "person"))
                    .arg(event_ttl)
                    .invoke_async(&mut conn)
                    .await?
            }
        };
        Ok(applied == 1)
    }
}
