//! Lua scripts: each runs atomically in Redis with Redis' own clock, so every
//! replica agrees on order, the opening instant and the rate. Each first
//! checks that the queue's state was built on the very server running it
//! (`KEYS[1]`, the origin, holds that server's `run_id`): a server restarted
//! empty or a promoted replica that missed the last writes answers
//! [`LOST`] instead of handing out a place again, and the service rebuilds
//! the state from PostgreSQL (`super::rebuild`).

/// The reply of every script whose queue state must be rebuilt first.
pub(super) const LOST: i64 = -9;

/// Prefixes a script with the origin check.
macro_rules! checked {
    ($body:literal) => {
        concat!(
            "local rid = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')\n",
            "if redis.call('GET', KEYS[1]) ~= rid then return {-9, 0} end\n",
            "local t = redis.call('TIME')\n",
            "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n",
            $body
        )
    };
}

/// Joins the line. Before the opening: the k-th entry of the lottery pool,
/// within the entries reserved in PostgreSQL. From the opening on: the next
/// place behind the whole pool, within the places reserved. Missing a
/// reservation or the frozen pool, it asks the service for it. A join that
/// leaves fewer than ARGV[2] reserved says so (its third value is 1), so the
/// next block is reserved before the line runs out: otherwise every join in
/// flight at that moment comes back for a block and runs again. Every reply
/// that may lead to a reservation carries the limit it saw, so that however
/// many joins and replicas ask at once, PostgreSQL adds one block past it.
/// KEYS: origin, settings, preopen, pre_limit, pool, post, post_limit.
/// ARGV: opens_at_ms, low_water.
/// Returns {-1} closed, {-2, limit} reserve lottery entries, {-3, entries}
/// freeze the pool, {-4, limit} reserve places, {0, k, low, limit}
/// pre-opening, {1, place, low, limit} in line.
pub(super) const JOIN: &str = checked!(
    r"
if redis.call('HGET', KEYS[2], 'closed') == '1' then return {-1, 0} end
local water = tonumber(ARGV[2])
if now < tonumber(ARGV[1]) then
  local k = tonumber(redis.call('GET', KEYS[3]) or '0')
  local limit = tonumber(redis.call('GET', KEYS[4]) or '0')
  if k >= limit then return {-2, limit} end
  redis.call('SET', KEYS[3], k + 1)
  return {0, k, (limit - k - 1 < water) and 1 or 0, limit}
end
local pool = redis.call('GET', KEYS[5])
if not pool then return {-3, tonumber(redis.call('GET', KEYS[3]) or '0')} end
local n = tonumber(redis.call('GET', KEYS[6]) or '0') + 1
local limit = tonumber(redis.call('GET', KEYS[7]) or '0')
if n > limit then return {-4, limit} end
redis.call('SET', KEYS[6], n)
return {1, tonumber(pool) + n, (limit - n < water) and 1 or 0, limit}
"
);

/// Advances the admission frontier by `rate × elapsed`, within the free
/// seats (max active sessions), never before the opening, never while
/// paused, and never while the previous batch is not yet logged in
/// PostgreSQL (it returns that batch instead, for whichever replica ticks to
/// log it). The rate is the operators', or the automatic rate below it
/// (`ctl_rate`, unless an operator switched the controller off or the
/// controller stopped renewing it: `ctl_until`). Unused credit is capped at `burst_ms` worth of the rate, so
/// after an outage or a pause admission resumes at the rate, not in a
/// burst. Each admitted place gets a seat that expires with its pass. Once a
/// second a sample of the frontier is kept; the rate measured over the last
/// 30 s (or since the opening, when that is more recent) is stored for the
/// wait estimates.
/// KEYS: origin, settings, tick, credit, preopen, pool, post, admitted, active,
/// samples, measured, durable, pending.
/// ARGV: default_rate, default_max_active, opens_at_ms, session_ttl_ms, burst_ms.
/// Returns {-3, entries} freeze the pool, or {0, durable, admitted,
/// pending_expiry_ms, created}: `created` places were admitted by this call
/// (so each admitted place is counted by one replica).
pub(super) const ADVANCE: &str = checked!(
    r"
local admitted = tonumber(redis.call('GET', KEYS[8]) or '0')
local durable = tonumber(redis.call('GET', KEYS[12]) or '0')
if admitted > durable then
  return {0, durable, admitted, tonumber(redis.call('GET', KEYS[13]) or '0'), 0}
end
local created = 0
local rate = tonumber(redis.call('HGET', KEYS[2], 'rate') or ARGV[1])
local ctl = redis.call('HMGET', KEYS[2], 'ctl_rate', 'ctl_until', 'auto')
if ctl[1] and ctl[3] ~= '0' and tonumber(ctl[2] or '0') > now then rate = math.min(rate, tonumber(ctl[1])) end
local max_active = tonumber(redis.call('HGET', KEYS[2], 'max_active') or ARGV[2])
local paused = redis.call('HGET', KEYS[2], 'paused') == '1'
local last = tonumber(redis.call('GET', KEYS[3]) or now)
redis.call('SET', KEYS[3], now)
if now >= tonumber(ARGV[3]) and not paused then
  local pool = redis.call('GET', KEYS[6])
  if not pool then return {-3, tonumber(redis.call('GET', KEYS[5]) or '0')} end
  local joined = tonumber(pool) + tonumber(redis.call('GET', KEYS[7]) or '0')
  redis.call('ZREMRANGEBYSCORE', KEYS[9], '-inf', now)
  local credit = tonumber(redis.call('GET', KEYS[4]) or '0')
  credit = math.min(credit + math.max(0, now - last) * rate / 1000, math.max(1, rate * tonumber(ARGV[5]) / 1000))
  local n = math.min(math.floor(credit), joined - admitted, max_active - redis.call('ZCARD', KEYS[9]))
  if n > 0 then
    local expiry = now + tonumber(ARGV[4])
    for p = admitted + 1, admitted + n do
      redis.call('ZADD', KEYS[9], expiry, p)
    end
    admitted = redis.call('INCRBY', KEYS[8], n)
    created = n
    redis.call('SET', KEYS[13], expiry)
    credit = credit - n
  end
  redis.call('SET', KEYS[4], tostring(credit))
else
  redis.call('SET', KEYS[4], 0)
end
local head = redis.call('LINDEX', KEYS[10], 0)
if (not head) or now - tonumber(string.match(head, '^(%d+)')) >= 1000 then
  redis.call('LPUSH', KEYS[10], now .. ':' .. admitted)
  redis.call('LTRIM', KEYS[10], 0, 30)
end
local oldest = redis.call('LINDEX', KEYS[10], -1)
local ots, oadm = string.match(oldest, '^(%d+):(%d+)$')
-- An opening inside the window is no stall: the seconds before it admitted
-- nobody by design, and counting them made the first estimates many times
-- too long (the surge simulator's finding).
local span = now - math.max(tonumber(ots), tonumber(ARGV[3]))
local measured = 0
if span >= 1000 then measured = (admitted - tonumber(oadm)) * 1000 / span end
redis.call('SET', KEYS[11], tostring(measured))
return {0, durable, admitted, tonumber(redis.call('GET', KEYS[13]) or '0'), created}
"
);

/// The queue as polls and operators see it: the logged frontier, not the
/// one still being logged. Every value comes back as text ('' when unset).
/// KEYS: origin, preopen, pool, post, durable, measured, seed, settings, active, restored.
/// Returns {0, preopen, pool, post, durable, measured, seed, rate, max_active,
/// paused, closed, seats, restored_ms, pow_bits, ctl_rate ('' once stale),
/// ctl_reason, ctl_at, auto}.
pub(super) const READ: &str = checked!(
    r"
local function get(key) return redis.call('GET', key) or '' end
local s = redis.call('HMGET', KEYS[8], 'rate', 'max_active', 'paused', 'closed', 'pow_bits', 'ctl_rate', 'ctl_reason', 'ctl_at', 'auto', 'ctl_until')
for i = 1, 10 do s[i] = s[i] or '' end
if tonumber(s[10]) == nil or tonumber(s[10]) <= now then s[6] = '' end
return {0, get(KEYS[2]), get(KEYS[3]), get(KEYS[4]), get(KEYS[5]), get(KEYS[6]), get(KEYS[7]),
  s[1], s[2], s[3], s[4], redis.call('ZCOUNT', KEYS[9], '(' .. now, '+inf'), get(KEYS[10]), s[5], s[6], s[7], s[8], s[9]}
"
);

/// The automatic rate every replica's tick follows: set (ARGV: rate, reason
/// of the last change, its time in ms, how long it holds unless written
/// again, in ms) unless an operator switched the controller off meanwhile
/// (`auto` = 0), or cleared (ARGV[1] = ''). A controller that stops
/// renewing it (removed from the configuration) cannot pin the event below
/// the operators' rate for good. Only the lease's holder (ARGV[5]) may set
/// it: a controller whose interval outlasted its lease, and whose place
/// another replica took, writes nothing (fencing). KEYS: origin, settings,
/// the control lease. Returns {0, 1} when written.
pub(super) const CONTROL: &str = checked!(
    r"
if ARGV[1] == '' then
  redis.call('HDEL', KEYS[2], 'ctl_rate', 'ctl_reason', 'ctl_at', 'ctl_until')
  return {0, 1}
end
if redis.call('GET', KEYS[3]) ~= ARGV[5] then return {0, 0} end
if redis.call('HGET', KEYS[2], 'auto') == '0' then return {0, 0} end
redis.call('HSET', KEYS[2], 'ctl_rate', ARGV[1], 'ctl_reason', ARGV[2], 'ctl_at', ARGV[3], 'ctl_until', now + tonumber(ARGV[4]))
return {0, 1}
"
);

/// A seat's expiry (ms), '' when it is gone. KEYS: origin, active. ARGV: place.
pub(super) const SEAT: &str = checked!(
    r"
local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
if score and tonumber(score) > now then return {0, score} end
return {0, ''}
"
);

/// Frees a seat; returns {0, 1} if it was held. KEYS: origin, active. ARGV: place.
pub(super) const END: &str = checked!(
    r"
return {0, redis.call('ZREM', KEYS[2], ARGV[1])}
"
);

/// The logged frontier moves to ARGV[1], never past what Redis admitted (a
/// batch logged from a state since rebuilt waits for the next tick).
/// KEYS: origin, admitted, durable. ARGV: logged last place.
pub(super) const MARK: &str = checked!(
    r"
local v = math.min(tonumber(ARGV[1]), tonumber(redis.call('GET', KEYS[2]) or '0'))
if v > tonumber(redis.call('GET', KEYS[3]) or '0') then redis.call('SET', KEYS[3], v) end
return {0, v}
"
);

/// Raises a limit to a mark reserved in PostgreSQL, or sets the pool frozen
/// there (never lowers either). KEYS: origin, key. ARGV: value.
pub(super) const RAISE: &str = checked!(
    r"
local current = redis.call('GET', KEYS[2])
if (not current) or tonumber(ARGV[1]) > tonumber(current) then redis.call('SET', KEYS[2], ARGV[1]) end
return {0, 0}
"
);

/// Writes a copy of PostgreSQL's settings. KEYS: origin, settings. ARGV: field value pairs.
pub(super) const SETTINGS: &str = checked!(
    r"
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return {0, 0}
"
);
