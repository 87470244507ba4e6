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
//! - `proxy:{sid}`: the set of subject ids a pass has verified (proxy limit),
//!   until the pass expires.
use std::time::Duration;

use redis::{aio::ConnectionManager, AsyncCommands as _, Script};
use serde::{Deserialize, Serialize};

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

mod scripts;

use scripts::{FAIL, FINISH, GATE, REFUND};

#[derive(Clone)]
pub(crate) struct Store {
    conn: ConnectionManager,
    prefix: String,
    gate: Script,
    fail: Script,
    refund: Script,
    finish: Script,
}

fn millis(d: Duration) -> u64 {
    (d.as_millis() as u64).max(1)
}

fn exhausted(limits: &[Limit], index: i64, pttl: i64) -> Option<Exhausted> {
    let limit = limits.get(usize::try_from(index).ok()?.checked_sub(1)?)?;
    let retry_after = if pttl > 0 { Duration::from_millis(pttl as u64) } else { limit.window };
    Some(Exhausted { counter: limit.counter, retry_after })
}

impl Store {
    pub(crate) fn new(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: format!("{prefix}:identity"),
            gate: Script::new(GATE),
            fail: Script::new(FAIL),
            refund: Script::new(REFUND),
            finish: Script::new(FINISH),
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

    /// The gate in front of a start: attempt limits, then the proxy limit.
    pub(crate) async fn gate(&self, limits: &[Limit], session_id: &str, subject: &str, proxy_max: u32) -> redis::RedisResult<Gate> {
        let mut invocation = self.gate.prepare_invoke();
        for l in limits {
            invocation.key(&l.key);
        }
        invocation.key(self.proxy_key(session_id)).arg(subject).arg(proxy_max);
        for l in limits {
            invocation.arg(l.max).arg(millis(l.window));
        }
        let (index, pttl): (i64, i64) = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok(match index {
            0 => Gate::Open,
            -1 => Gate::ProxyLimit,
            i => exhausted(limits, i, pttl).map_or(Gate::Open, Gate::Exhausted),
        })
    }

    /// Counts a failed attempt (a wrong code) on every counter given.
    /// Returns the first limit now reached, if any, and the new count of the
    /// first counter.
    pub(crate) async fn fail(&self, limits: &[Limit]) -> redis::RedisResult<(Option<Exhausted>, u32)> {
        let mut invocation = self.fail.prepare_invoke();
        for l in limits {
            invocation.key(&l.key).arg(l.max).arg(millis(l.window));
        }
        let (index, pttl, first): (i64, i64, i64) = invocation.invoke_async(&mut self.conn.clone()).await?;
        Ok((exhausted(limits, index, pttl), u32::try_from(first).unwrap_or(u32::MAX)))
    }

    /// Gives back the attempt a start counted when the provider, not the person, failed.
    pub(crate) async fn refund(&self, limits: &[Limit]) -> redis::RedisResult<()> {
        let mut invocation = self.refund.prepare_invoke();
        for l in limits {
            invocation.key(&l.key);
        }
        invocation.invoke_async(&mut self.conn.clone()).await
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
    /// `ProxyLimit`) and counts its subject against the pass's proxy limit.
    pub(crate) async fn finish(&self, id: &str, challenge: &Challenge, proxy_max: u32, pass_ttl: Duration) -> redis::RedisResult<Finish> {
        let code: i64 = self
            .finish
            .key(self.challenge_key(id))
            .key(self.challenge_attempts_key(id))
            .key(self.proxy_key(&challenge.session_id))
            .arg(&challenge.subject)
            .arg(proxy_max)
            .arg(millis(pass_ttl))
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(match code {
            0 => Finish::Done,
            2 => Finish::ProxyLimit,
            _ => Finish::Gone,
        })
    }
}
