//! Everything identity keeps, all in Redis with a TTL, so that replicas are
//! stateless: a verification started on one completes on any other.
//!
//! Keys (under `{prefix}:identity:`), none holding a resident registration
//! number, a name or a phone number:
//! - `challenge:{id}`: provider, its transaction id, admission session (sid),
//!   the pseudonymous subject id and the keyed hash of the phone; TTL = the
//!   challenge lifetime;
//! - `challenge:{id}:attempts`: wrong codes on that challenge;
//! - `attempts:subject:{subject id}`, `attempts:phone:{phone hash}`,
//!   `attempts:pass:{sid}`: starts and wrong codes per fixed window;
//! - `mark:{<counter key>}:<attempt>`: the attempt a counter counted, for a
//!   few minutes (see [`counters`]);
//! - `proxy:{sid}`: the set of subject ids a pass has verified (proxy limit),
//!   until the pass expires;
//! - `place:{queue}:{subject id}`: the admission session a verified person
//!   is bound to for the event (one person, one place; see [`places`]).
//!
//! Redis restarted empty loses all of it: challenges in flight are gone (the
//! person starts the verification again and gets a new code), the counters
//! start a new window and a pass may verify its proxy limit of people once
//! more. None of it can be rebuilt from elsewhere; `docs/redis.md` says why
//! that is accepted.
use std::time::Duration;

use redis::{AsyncCommands as _, Script};
use serde::{Deserialize, Serialize};
use yeyak_platform::redis_store::RedisConn;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Challenge {
    pub provider_id: String,
    pub transaction_id: String,
    /// Admission session the verification runs under (stored as `sid`).
    #[serde(rename = "sid")]
    pub session_id: String,
    /// Pseudonymous subject id (keyed hash of the number) the person claimed.
    pub subject: String,
    /// Keyed hash of the phone number (attempt counting only).
    pub phone_key: String,
}

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
}

/// Outcome of finishing a verification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Finish {
    Done,
    /// Already completed, expired or burnt.
    Gone,
    ProxyLimit,
}

mod counters;
mod places;
mod scripts;
#[cfg(test)]
mod tests;

use futures_util::future::join;
use scripts::{COUNT_FAILURE, GIVE_BACK, PROXY_ADD, PROXY_ROOM, TAKE};

#[derive(Clone)]
pub(crate) struct Store {
    /// Idempotent ([`RedisConn::idempotent`]): every command here may run
    /// twice. Reads, `PSETEX` of one value, `DEL`, the proxy scripts (set
    /// membership) and the counting scripts (marked per attempt) do the
    /// same the second time; a consuming `DEL` run twice answers `Gone` to
    /// a caller whose first run consumed the challenge, which never issues a
    /// second assertion. So the first call after a reconnection succeeds.
    conn: RedisConn,
    prefix: String,
    take: Script,
    count_failure: Script,
    give_back: Script,
    proxy_room: Script,
    proxy_add: Script,
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

impl Store {
    pub(crate) fn new(conn: RedisConn, prefix: &str) -> Self {
        Self {
            conn: conn.idempotent(),
            prefix: format!("{prefix}:identity"),
            take: Script::new(TAKE),
            count_failure: Script::new(COUNT_FAILURE),
            give_back: Script::new(GIVE_BACK),
            proxy_room: Script::new(PROXY_ROOM),
            proxy_add: Script::new(PROXY_ADD),
        }
    }

    fn challenge_key(&self, id: &str) -> String {
        format!("{}:challenge:{id}", self.prefix)
    }

    fn challenge_attempts_key(&self, id: &str) -> String {
        format!("{}:challenge:{id}:attempts", self.prefix)
    }

    pub(crate) fn counter_key(&self, counter: Counter, id: &str) -> String {
        let kind = match counter {
            Counter::Subject => "subject",
            Counter::Phone => "phone",
            Counter::Pass => "pass",
            Counter::Challenge => return self.challenge_attempts_key(id),
        };
        format!("{}:attempts:{kind}:{id}", self.prefix)
    }

    fn proxy_key(&self, session_id: &str) -> String {
        format!("{}:proxy:{session_id}", self.prefix)
    }

    pub(crate) async fn put(&self, id: &str, challenge: &Challenge, ttl: Duration) -> redis::RedisResult<()> {
        let json = serde_json::to_string(challenge).unwrap_or_default();
        self.conn.clone().pset_ex(self.challenge_key(id), json, millis(ttl)).await
    }

    pub(crate) async fn get(&self, id: &str) -> redis::RedisResult<Option<Challenge>> {
        let raw: Option<String> = self.conn.clone().get(self.challenge_key(id)).await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()))
    }

    /// Burns a challenge (too many wrong codes, provider said it is gone).
    pub(crate) async fn burn(&self, id: &str) -> redis::RedisResult<()> {
        self.conn.clone().del(&[self.challenge_key(id), self.challenge_attempts_key(id)]).await
    }

    /// Consumes the challenge (exactly one caller gets `Done` or
    /// `ProxyLimit`: the one whose `DEL` removed it) and counts its subject
    /// against the pass's proxy limit. Two steps, as the challenge and the
    /// pass's set are on different cluster slots: a replica dying between
    /// them leaves the challenge used and no pass issued (the person starts
    /// again), never a pass beyond the limit.
    pub(crate) async fn finish(&self, id: &str, challenge: &Challenge, proxy_max: u32, pass_ttl: Duration) -> redis::RedisResult<Finish> {
        let consumed: i64 = self.conn.clone().del(self.challenge_key(id)).await?;
        if consumed == 0 {
            return Ok(Finish::Gone);
        }
        let mut conn = self.conn.clone();
        let added = async move {
            let mut call = self.proxy_add.key(self.proxy_key(&challenge.session_id));
            call.arg(&challenge.subject).arg(proxy_max).arg(millis(pass_ttl));
            call.invoke_async::<i64>(&mut conn).await
        };
        // The wrong-code counter of a used challenge only waits for its TTL.
        let mut conn = self.conn.clone();
        let forget_attempts = async move { conn.del::<_, i64>(self.challenge_attempts_key(id)).await };
        let (code, _) = join(added, forget_attempts).await;
        Ok(if code? == 2 { Finish::ProxyLimit } else { Finish::Done })
    }
}
