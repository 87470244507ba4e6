//! The attempt counters in front of a start and behind a wrong code.
//!
//! Each count is marked with the attempt that made it (a start's challenge
//! id, or a fresh id per wrong code), so a script the connection layer sends
//! twice counts once, and a give-back takes back exactly what that attempt
//! took: never another attempt's count, never twice.
use std::time::Duration;

use futures_util::future::try_join_all;

use super::{millis, Exhausted, Gate, Limit, Store};

/// How long a count's mark is kept: longer than any request, so a start's
/// give-back after its provider call still finds it. A give-back later than
/// that leaves the attempt counted (the safe side).
const MARK_TTL: Duration = Duration::from_secs(300);

fn exhausted(limit: &Limit, pttl: i64) -> Exhausted {
    let retry_after = if pttl > 0 { Duration::from_millis(pttl as u64) } else { limit.window };
    Exhausted { counter: limit.counter, retry_after }
}

impl Store {
    /// Under the store's prefix (found and cleaned up with the rest) and on
    /// the counter's cluster slot: the counter's whole key is the hash tag.
    /// Counter keys hold no braces: the prefix may not, and the ids are
    /// hashes, UUIDs and admission session ids.
    fn mark_key(&self, counter_key: &str, attempt: &str) -> String {
        format!("{}:mark:{{{counter_key}}}:{attempt}", self.prefix)
    }

    /// The gate in front of start `attempt` (sealed in its challenge): the place
    /// the person is bound to in `place_queue` (when places are bound), the
    /// attempt limits, then the proxy limit, in that order of refusal.
    ///
    /// One pipeline, one round trip (per node on a cluster): the place read,
    /// each counter taken by its own script, the proxy check. If anything
    /// refuses, what the counters took is given back, so a refused attempt
    /// is not counted. No counter ever passes its limit. Two starts racing
    /// near a limit may both be refused where one script over every counter
    /// would have let one in (the safe side), and a replica dying before it
    /// gives back leaves an attempt counted until its window ends.
    pub(crate) async fn gate(
        &self,
        limits: &[Limit],
        attempt: &str,
        session_id: &str,
        subject: &str,
        proxy_max: u32,
        place_queue: Option<&str>,
    ) -> redis::RedisResult<Gate> {
        let (proxy, place) = (self.proxy_key(session_id), place_queue.map(|queue| self.place_key(queue, subject)));
        let build = |whole| {
            let mut cmds = Vec::with_capacity(limits.len() + 2);
            for l in limits {
                let mut take = self.take.cmd(&[&l.key, &self.mark_key(&l.key, attempt)], whole);
                take.arg(l.max).arg(millis(l.window)).arg(millis(MARK_TTL));
                cmds.push((l.key.clone(), take));
            }
            let mut room = self.proxy_room.cmd(&[&proxy], whole);
            room.arg(subject).arg(proxy_max);
            cmds.push((proxy.clone(), room));
            if let Some(place) = &place {
                cmds.push((place.clone(), redis::Cmd::get(place)));
            }
            cmds
        };
        let mut replies = self.pipelined::<redis::Value>(build).await?.into_iter();
        let taken: Vec<(i64, i64)> = replies.by_ref().take(limits.len()).map(redis::from_redis_value).collect::<Result<_, _>>()?;
        let room: i64 = redis::from_redis_value(replies.next().unwrap_or(redis::Value::Nil))?;
        let bound: Option<String> = replies.next().map(redis::from_redis_value).transpose()?.flatten();
        let gate = match taken.iter().position(|(at_limit, _)| *at_limit == 1) {
            _ if bound.is_some_and(|sid| sid != session_id) => Gate::OtherPlace,
            Some(i) => Gate::Exhausted(exhausted(&limits[i], taken[i].1)),
            None if room == 0 => Gate::ProxyLimit,
            None => return Ok(Gate::Open),
        };
        // The marks say which counters this attempt took.
        self.refund(limits, attempt).await?;
        Ok(gate)
    }

    /// Counts a failed attempt (a wrong code) on every counter given.
    /// Returns the first limit now reached, if any, and the new count of the
    /// first counter.
    pub(crate) async fn fail(&self, limits: &[Limit]) -> redis::RedisResult<(Option<Exhausted>, u32)> {
        let attempt = uuid::Uuid::new_v4().simple().to_string();
        let counted: Vec<(i64, i64, i64)> = try_join_all(limits.iter().map(|l| {
            let mut conn = self.conn.clone();
            let mut call = self.count_failure.key(&l.key);
            call.key(self.mark_key(&l.key, &attempt)).arg(l.max).arg(millis(l.window)).arg(millis(MARK_TTL));
            async move { call.invoke_async(&mut conn).await }
        }))
        .await?;
        let over = limits.iter().zip(&counted).find(|(_, (_, at_limit, _))| *at_limit == 1);
        let first = counted.first().map_or(0, |(count, _, _)| *count);
        Ok((over.map(|(l, (_, _, pttl))| exhausted(l, *pttl)), u32::try_from(first).unwrap_or(u32::MAX)))
    }

    /// Gives back what start `attempt` took on `limits` (when the provider,
    /// not the person, failed, or the gate refused it).
    pub(crate) async fn refund(&self, limits: &[Limit], attempt: &str) -> redis::RedisResult<()> {
        try_join_all(limits.iter().map(|l| {
            let mut conn = self.conn.clone();
            let mut call = self.give_back.key(&l.key);
            call.key(self.mark_key(&l.key, attempt));
            async move { call.invoke_async::<i64>(&mut conn).await }
        }))
        .await
        .map(drop)
    }
}
