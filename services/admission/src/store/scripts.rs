//! Lua scripts: each runs atomically in Redis with Redis' own clock, so every
//! replica agrees on order, the opening instant and the rate.

/// Joins the line. Before the opening: the k-th arrival of the lottery pool
/// (and the event's seed is drawn once). From the opening on: the pool size
/// is frozen by the first call that sees the opening, and the arrival gets
/// the next place behind the whole pool.
/// KEYS: settings, preopen, pool, post, seed. ARGV: opens_at_ms, seed_hex.
/// Returns {-1, 0} closed, {0, k} pre-opening, {1, place} in line.
pub(super) const JOIN: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if redis.call('HGET', KEYS[1], 'closed') == '1' then return {-1, 0} end
if now < tonumber(ARGV[1]) then
  local k = redis.call('INCR', KEYS[2]) - 1
  redis.call('SET', KEYS[5], ARGV[2], 'NX')
  return {0, k}
end
local pool = redis.call('GET', KEYS[3])
if not pool then
  pool = redis.call('GET', KEYS[2]) or '0'
  redis.call('SET', KEYS[3], pool)
end
return {1, tonumber(pool) + redis.call('INCR', KEYS[4])}
";

/// Advances the admission frontier by `rate × elapsed`, within the free
/// seats (max active sessions), never before the opening, never while
/// paused. Unused credit is capped at `burst_ms` worth of the rate, so after
/// an outage or a pause admission resumes at the rate, not in a burst. Each
/// admitted place gets a seat that expires with its pass. Once a second a
/// sample of the frontier is kept; the rate measured over the last 30 s is
/// stored for the wait estimates.
/// KEYS: settings, tick, credit, preopen, pool, post, admitted, active, samples, measured.
/// ARGV: default_rate, default_max_active, opens_at_ms, session_ttl_ms, burst_ms.
pub(super) const ADVANCE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(redis.call('HGET', KEYS[1], 'rate') or ARGV[1])
local max_active = tonumber(redis.call('HGET', KEYS[1], 'max_active') or ARGV[2])
local paused = redis.call('HGET', KEYS[1], 'paused') == '1'
local last = tonumber(redis.call('GET', KEYS[2]) or now)
redis.call('SET', KEYS[2], now)
local admitted = tonumber(redis.call('GET', KEYS[7]) or '0')
if now >= tonumber(ARGV[3]) and not paused then
  local pool = redis.call('GET', KEYS[5])
  if not pool then
    pool = redis.call('GET', KEYS[4]) or '0'
    redis.call('SET', KEYS[5], pool)
  end
  local joined = tonumber(pool) + tonumber(redis.call('GET', KEYS[6]) or '0')
  redis.call('ZREMRANGEBYSCORE', KEYS[8], '-inf', now)
  local credit = tonumber(redis.call('GET', KEYS[3]) or '0')
  credit = math.min(credit + math.max(0, now - last) * rate / 1000, math.max(1, rate * tonumber(ARGV[5]) / 1000))
  local n = math.min(math.floor(credit), joined - admitted, max_active - redis.call('ZCARD', KEYS[8]))
  if n > 0 then
    local expiry = now + tonumber(ARGV[4])
    for p = admitted + 1, admitted + n do
      redis.call('ZADD', KEYS[8], expiry, p)
    end
    admitted = redis.call('INCRBY', KEYS[7], n)
    credit = credit - n
  end
  redis.call('SET', KEYS[3], tostring(credit))
else
  redis.call('SET', KEYS[3], 0)
end
local head = redis.call('LINDEX', KEYS[9], 0)
if (not head) or now - tonumber(string.match(head, '^(%d+)')) >= 1000 then
  redis.call('LPUSH', KEYS[9], now .. ':' .. admitted)
  redis.call('LTRIM', KEYS[9], 0, 30)
end
local oldest = redis.call('LINDEX', KEYS[9], -1)
local ots, oadm = string.match(oldest, '^(%d+):(%d+)$')
local span = now - tonumber(ots)
local measured = 0
if span >= 1000 then measured = (admitted - tonumber(oadm)) * 1000 / span end
redis.call('SET', KEYS[10], tostring(measured))
return admitted
";
