//! The Lua scripts that make each rate-limit and challenge step atomic in Redis.
//!
//! Each script touches one key: the counters of one request belong to
//! different people and things (the subject, the phone, the pass), so on a
//! Redis Cluster they live on different slots and no script may span them.
//! The store runs one script per key, all at once (one round trip), and
//! gives back what it took when the request is refused (see `Store::gate`).

/// Takes one attempt on a counter unless it is at its limit.
/// KEYS: counter. ARGV: max, window (ms). Returns {0, 0} taken, {1, pttl} at its limit.
pub(super) const TAKE: &str = r"
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  return {1, redis.call('PTTL', KEYS[1])}
end
if redis.call('INCR', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {0, 0}
";

/// Counts one failed attempt on a counter.
/// KEYS: counter. ARGV: max, window (ms). Returns {count, 1 when at its limit, pttl}.
pub(super) const COUNT_FAILURE: &str = r"
local c = redis.call('INCR', KEYS[1])
if c == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
if c >= tonumber(ARGV[1]) then
  return {c, 1, redis.call('PTTL', KEYS[1])}
end
return {c, 0, 0}
";

/// Gives back one attempt on a counter (the provider failed, not the person,
/// or another counter refused the request).
pub(super) const GIVE_BACK: &str = r"
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then
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
