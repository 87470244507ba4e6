//! The Lua scripts that make each rate-limit and challenge step atomic in Redis
//! (one round trip each; a replica dying mid-step leaves nothing half done).

/// Checks every counter; if none is at its limit, counts one attempt on each
/// (a refused attempt is not counted) and checks the proxy limit.
/// KEYS: counters..., proxy set. ARGV: subject, proxy max, then max and window (ms) per counter.
pub(super) const GATE: &str = r"
local n = #KEYS - 1
for i = 1, n do
  local c = tonumber(redis.call('GET', KEYS[i]) or '0')
  if c >= tonumber(ARGV[1 + 2 * i]) then
    return {i, redis.call('PTTL', KEYS[i])}
  end
end
local proxy = KEYS[n + 1]
if redis.call('SISMEMBER', proxy, ARGV[1]) == 0 and redis.call('SCARD', proxy) >= tonumber(ARGV[2]) then
  return {-1, 0}
end
for i = 1, n do
  if redis.call('INCR', KEYS[i]) == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[2 + 2 * i])
  end
end
return {0, 0}
";

/// Counts one failed attempt on every counter; reports the first now at its
/// limit, its remaining window, and the count of the first counter.
/// KEYS: counters. ARGV: max and window (ms) per counter.
pub(super) const FAIL: &str = r"
local over = 0
local ttl = 0
local first = 0
for i = 1, #KEYS do
  local c = redis.call('INCR', KEYS[i])
  if i == 1 then first = c end
  if c == 1 or redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[2 * i])
  end
  if over == 0 and c >= tonumber(ARGV[2 * i - 1]) then
    over = i
    ttl = redis.call('PTTL', KEYS[i])
  end
end
return {over, ttl, first}
";

/// Gives back one attempt on every counter (the provider failed, not the person).
pub(super) const REFUND: &str = r"
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 0
";

/// Consumes the challenge and records its subject against the pass, atomically.
/// KEYS: challenge, its attempt counter, proxy set. ARGV: subject, proxy max, proxy ttl (ms).
pub(super) const FINISH: &str = r"
if redis.call('DEL', KEYS[1]) == 0 then
  return 1
end
redis.call('DEL', KEYS[2])
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then
  return 0
end
if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[2]) then
  return 2
end
redis.call('SADD', KEYS[3], ARGV[1])
if redis.call('PTTL', KEYS[3]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return 0
";
