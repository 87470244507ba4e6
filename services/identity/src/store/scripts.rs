//! The Lua scripts that make each rate-limit and challenge step atomic in Redis.
//!
//! Each script touches one counter: the counters of one request belong to
//! different people and things (the subject, the phone, the pass), so on a
//! Redis Cluster they live on different slots and no script may span them.
//! The store runs one script per counter, all at once (one round trip), and
//! gives back what it took when the request is refused (see `Store::gate`).
//!
//! A counting script also writes a mark for the attempt it counted
//! (`mark:{<counter key>}:<attempt>`, on the counter's slot), so that running
//! it twice for one attempt (a replay after the connection dropped with the
//! reply in flight) counts once, and a give-back gives back only what that
//! attempt took, once.

/// Takes one attempt on a counter unless it is at its limit; taking it again
/// for the same attempt changes nothing.
/// KEYS: counter, mark. ARGV: max, window (ms), mark ttl (ms).
/// Returns {0, 0} taken, {1, pttl} at its limit.
pub(super) const TAKE: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {0, 0}
end
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  return {1, redis.call('PTTL', KEYS[1])}
end
if redis.call('INCR', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return {0, 0}
";

/// Counts one failed attempt on a counter, once per attempt.
/// KEYS: counter, mark. ARGV: max, window (ms), mark ttl (ms).
/// Returns {count, 1 when at its limit, pttl}.
pub(super) const COUNT_FAILURE: &str = r"
local c
if redis.call('EXISTS', KEYS[2]) == 1 then
  c = tonumber(redis.call('GET', KEYS[1]) or '0')
else
  c = redis.call('INCR', KEYS[1])
  if c == 1 or redis.call('PTTL', KEYS[1]) < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
end
if c >= tonumber(ARGV[1]) then
  return {c, 1, redis.call('PTTL', KEYS[1])}
end
return {c, 0, 0}
";

/// Gives back the attempt this mark counted (the provider failed, not the
/// person, or another counter refused the request); nothing if it counted
/// none or was given back already. KEYS: counter, mark.
pub(super) const GIVE_BACK: &str = r"
if redis.call('DEL', KEYS[2]) == 1 and tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
  redis.call('DECR', KEYS[1])
end
return 0
";

/// Whether a pass may verify `subject`: already one of its people, or room
/// for one more. KEYS: proxy set. ARGV: subject, proxy max. Returns 1 or 0.
pub(super) const PROXY_ROOM: &str = r"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
return 1
";

/// Records a verified subject against its pass, within the proxy limit.
/// KEYS: proxy set. ARGV: subject, proxy max, proxy ttl (ms). Returns 0 done, 2 over the limit.
pub(super) const PROXY_ADD: &str = r"
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return 0
end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 2
end
redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 0
";

/// Uses a challenge once: refused when its counter is at the limit (wrong
/// codes, burnt, or already used), else sets it to the limit for the rest
/// of the challenge's life. KEYS: the challenge's counter. ARGV: max, ttl
/// (ms). Returns 1 consumed, 0 gone.
pub(super) const CONSUME: &str = r"
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
";

/// A script sent inside a pipeline: by its hash (`EVALSHA`, a few dozen
/// bytes) or whole (`EVAL`, which also loads it on the node that runs it).
#[derive(Clone)]
pub(super) struct Lua {
    source: &'static str,
    hash: String,
}

impl Lua {
    pub(super) fn new(source: &'static str) -> Self {
        Self { source, hash: redis::Script::new(source).get_hash().to_owned() }
    }

    pub(super) fn cmd(&self, keys: &[&str], whole: bool) -> redis::Cmd {
        let mut cmd = if whole { redis::cmd("EVAL") } else { redis::cmd("EVALSHA") };
        cmd.arg(if whole { self.source } else { self.hash.as_str() }).arg(keys.len()).arg(keys);
        cmd
    }
}
