//! The versions that invalidate cached answers.
//!
//! Every entry's key ends with the version of its scope (a clinic and vaccine
//! for availability, a district or province and vaccine for searches). When
//! bookings change a clinic's places, the event consumer bumps the versions
//! of the clinic's scopes; later reads look for keys under the new version,
//! and the old entries expire unread. A read takes the version before it
//! queries PostgreSQL, so an answer computed from data older than a bump is
//! stored under the old version and never served.
//!
//! Versions never repeat, not even across a Redis that lost its data (a
//! restart of a node that keeps nothing, a failover): a new version is at
//! least the Redis server's clock in microseconds, never a count from 0. A
//! read that took version 3 before a restart and stores its answer after it
//! would otherwise land under the 3 that the third bump after the restart
//! makes current, and that answer, older than those bumps, would be served
//! until its TTL. (A new primary whose clock is behind the old one's by more
//! than the time since a version was made could repeat it; NTP keeps clocks
//! within milliseconds.)

/// Returns the scope's version and the entry stored under it; a scope
/// without a version gets one (the clock, see the module's doc).
/// KEYS: version. ARGV: entry key without its version, version ttl (s).
pub(super) const LOOKUP: &str = r"
local v = redis.call('GET', KEYS[1])
if not v then
  local t = redis.call('TIME')
  v = string.format('%.0f', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  redis.call('SET', KEYS[1], v, 'EX', ARGV[2])
end
return {v, redis.call('GET', ARGV[1] .. ':v' .. v)}
";

/// Moves a scope's version past its current one and past the clock.
/// KEYS: version. ARGV: version ttl (s).
const BUMP: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local v = string.format('%.0f', math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, now))
redis.call('SET', KEYS[1], v, 'EX', ARGV[1])
return v
";

/// Version keys outlive every entry by far; one that expired starts again
/// from the clock, past every number it had.
pub(super) const VERSION_TTL_SECS: i64 = 86_400;

/// One bump, for a pipeline (the script's text each time: bumps are few,
/// coalesced, and a pipeline cannot load a script Redis lost).
pub(super) fn bump(key: &str) -> redis::Cmd {
    let mut bump = redis::cmd("EVAL");
    bump.arg(BUMP).arg(1).arg(key).arg(VERSION_TTL_SECS);
    bump
}
