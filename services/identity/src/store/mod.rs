//! What identity shares between replicas, all in Redis with a TTL, so that
//! replicas are stateless: a verification started on one completes on any
//! other. The challenge itself is not here: it travels sealed in its id
//! (`domain::challenge`).
//!
//! Keys (under `{prefix}:identity:`), none holding a resident registration
//! number, a name or a phone number:
//! - `challenge:{attempt}:attempts`: wrong codes on that attempt's challenge;
//!   set to the limit when the challenge is used or burnt (single use), for
//!   as long as the challenge lives;
//! - `attempts:subject:{subject id}`, `attempts:phone:{phone hash}`,
//!   `attempts:pass:{sid}`: starts and wrong codes per fixed window;
//! - `mark:{<counter key>}:<attempt>`: the attempt a counter counted, for a
//!   few minutes (see [`counters`]);
//! - `proxy:{sid}`: the set of subject ids a pass has verified (proxy limit),
//!   until the pass expires;
//! - `place:{queue}:{subject id}`: the admission session a verified person
//!   is bound to for the event (one person, one place; see [`places`]).
//!
//! Redis restarted empty loses all of it: the counters start a new window, a
//! pass may verify its proxy limit of people once more, and a challenge
//! started before may be completed (its wrong codes forgotten). None of it
//! can be rebuilt from elsewhere; `docs/redis.md` says why that is accepted.
use std::time::Duration;

use redis::{AsyncCommands as _, Script};
use yeyak_platform::redis_store::{query_by_slot, RedisConn};

/// Which attempt counter a limit applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Counter {
    Subject,
    Phone,
    Pass,
    Challenge,
}

impl Counter {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Subject => "attempts_subject",
            Self::Phone => "attempts_phone",
            Self::Pass => "attempts_pass",
            Self::Challenge => "attempts_challenge",
        }
    }
}

/// One counter to check or bump: its key, limit and window.
#[derive(Clone, Debug)]
pub(crate) struct Limit {
    pub counter: Counter,
    pub key: String,
    pub max: u32,
    pub window: Duration,
}

/// The first limit a request ran into, and when its window ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Exhausted {
    pub counter: Counter,
    pub retry_after: Duration,
}

/// Outcome of the gate in front of a start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    Open,
    Exhausted(Exhausted),
    /// The pass already verified as many other people as allowed.
    ProxyLimit,
    /// The person is bound to another admission session of this event.
    OtherPlace,
}

/// Outcome of finishing a verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finish {
    Done,
    /// Already completed, expired or burnt.
    Gone,
    ProxyLimit,
}

/// A challenge's single use: its attempt's counter set to `max` (no more
/// guesses) for `ttl`, the rest of the challenge's life.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Use<'a> {
    pub(crate) attempt: &'a str,
    pub(crate) max: u32,
    pub(crate) ttl: Duration,
}

/// A person counted against the proxy limit of the pass of `session_id`,
/// for `ttl`, the pass's remaining life.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProxyCount<'a> {
    pub(crate) session_id: &'a str,
    pub(crate) subject: &'a str,
    pub(crate) limit: u32,
    pub(crate) ttl: Duration,
}

mod counters;
mod places;
mod scripts;
#[cfg(test)]
mod tests;

use scripts::{Lua, CONSUME, COUNT_FAILURE, GIVE_BACK, PROXY_ADD, PROXY_ROOM, TAKE};

#[derive(Clone)]
pub(crate) struct Store {
    /// Idempotent ([`RedisConn::idempotent`]): every command here may run
    /// twice. Reads, `SET` of one value, the proxy scripts (set membership)
    /// and the counting scripts (marked per attempt) do the same the second
    /// time; the consuming script run twice answers `Gone` to a caller whose
    /// first run consumed the challenge, which never issues a second
    /// assertion. So the first call after a reconnection succeeds.
    conn: RedisConn,
    prefix: String,
    count_failure: Script,
    give_back: Script,
    consume: Script,
    proxy_add: Script,
    /// The scripts sent in the start's pipeline.
    take: Lua,
    proxy_room: Lua,
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl Store {
    pub(crate) fn new(conn: RedisConn, prefix: &str) -> Self {
        Self {
            conn: conn.idempotent(),
            prefix: format!("{prefix}:identity"),
            count_failure: Script::new(COUNT_FAILURE),
            give_back: Script::new(GIVE_BACK),
            take: Lua::new(TAKE),
            proxy_room: Lua::new(PROXY_ROOM),
            consume: Script::new(CONSUME),
            proxy_add: Script::new(PROXY_ADD),
        }
    }

    pub(crate) fn counter_key(&self, counter: Counter, id: &str) -> String {
        let kind = match counter {
            Counter::Subject => "subject",
            Counter::Phone => "phone",
            Counter::Pass => "pass",
            Counter::Challenge => return format!("{}:challenge:{id}:attempts", self.prefix),
        };
        format!("{}:attempts:{kind}:{id}", self.prefix)
    }

    /// Runs the pipeline `build` makes, its scripts by hash; once more with
    /// their sources if Redis does not know them (`NOSCRIPT`: it restarted,
    /// its scripts were flushed, or one cluster node has not run them yet),
    /// which loads them. Only for commands that answer the same when run
    /// twice (reads, and the counting scripts marked per attempt).
    async fn pipelined<T: redis::FromRedisValue>(&self, build: impl Fn(bool) -> Vec<(String, redis::Cmd)>) -> redis::RedisResult<Vec<T>> {
        match query_by_slot(&self.conn, build(false)).await {
            Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                query_by_slot(&self.conn, build(true)).await
            }
            answered => answered,
        }
    }

    fn proxy_key(&self, session_id: &str) -> String {
        format!("{}:proxy:{session_id}", self.prefix)
    }

    /// Whether the challenge of `attempt` may still be tried: not used, not
    /// burnt, fewer than `max` wrong codes. Asked before the provider is,
    /// so a burnt challenge gets no more guesses.
    pub(crate) async fn live(&self, attempt: &str, max: u32) -> redis::RedisResult<bool> {
        let used: Option<u32> = self.conn.clone().get(self.counter_key(Counter::Challenge, attempt)).await?;
        Ok(used.unwrap_or(0) < max)
    }

    /// Burns a challenge (too many wrong codes, the provider said it is
    /// gone, another person answered) for `ttl`, the rest of its life.
    pub(crate) async fn burn(&self, attempt: &str, max: u32, ttl: Duration) -> redis::RedisResult<()> {
        self.conn.clone().pset_ex(self.counter_key(Counter::Challenge, attempt), max, millis(ttl)).await
    }

    /// Consumes the challenge (exactly one caller gets `Done` or
    /// `ProxyLimit`: the one whose script set its counter to the limit),
    /// then counts `subject` against the pass's proxy limit. Two scripts,
    /// one after the other, as the keys are on different cluster slots: a
    /// replica dying between them leaves the challenge used and no assertion
    /// issued (the person starts again), never a pass beyond the limit. Not
    /// one pipeline: re-sent whole after `NOSCRIPT` from one node (a script
    /// another node already knew), it would consume twice and answer `Gone`.
    pub(crate) async fn finish(&self, used: Use<'_>, counted: ProxyCount<'_>) -> redis::RedisResult<Finish> {
        let mut conn = self.conn.clone();
        let mut consume = self.consume.key(self.counter_key(Counter::Challenge, used.attempt));
        consume.arg(used.max).arg(millis(used.ttl));
        if consume.invoke_async::<i64>(&mut conn).await? == 0 {
            return Ok(Finish::Gone);
        }
        let mut add = self.proxy_add.key(self.proxy_key(counted.session_id));
        add.arg(counted.subject).arg(counted.limit).arg(millis(counted.ttl));
        Ok(if add.invoke_async::<i64>(&mut conn).await? == 2 { Finish::ProxyLimit } else { Finish::Done })
    }
}
