//! A key claimed once: the first holder to set it keeps it until it expires.
//!
//! Used where a thing may be taken by one party only (a join challenge by
//! one join, a person's place in an event by one admission session). The
//! same holder claiming again is answered "yours" (a call resent after a
//! lost reply, a person retrying), so the script may safely run twice.
use std::{sync::LazyLock, time::Duration};

use redis::{RedisResult, Script};

use super::RedisConn;

/// Sets `KEYS[1]` to `ARGV[1]` for `ARGV[2]` ms unless it is set. 1 when
/// `ARGV[1]` holds it (now or before), 0 when another holder does.
const CLAIM: &str = r"
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then return 1 end
return 0
";

static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CLAIM));

/// Claims `key` for `holder` during `ttl`; false when another holder has it.
pub async fn claim(conn: &RedisConn, key: &str, holder: &str, ttl: Duration) -> RedisResult<bool> {
    let mut call = SCRIPT.prepare_invoke();
    call.key(key).arg(holder).arg(ttl.as_millis().max(1) as u64);
    let held: i64 = call.invoke_async(&mut conn.clone()).await?;
    Ok(held == 1)
}
