//! The shared side of the automatic admission rate: which replica controls
//! an event (a lease in Redis), and the rate it decided, written into the
//! event's settings where every replica's admission tick reads it.
use std::time::Duration;

use super::{QueueStore, StoreError};
use crate::domain::control::Controlled;

/// Takes the lease when nobody holds it, or extends it when `ARGV[1]`
/// already does. KEYS: the lease. ARGV: holder, lifetime in ms. Returns 1
/// when the caller holds it. Not origin-checked: a lease is no queue state,
/// and one lost with Redis's data is simply taken again.
pub(super) const LEASE: &str = r"
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Gives the lease up only if `ARGV[1]` holds it. KEYS: the lease.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

impl QueueStore {
    /// Whether `holder` controls `queue` for the next `lifetime` (taking or
    /// extending the lease). Whoever stops renewing loses it after `lifetime`.
    pub(crate) async fn hold_control(&self, queue: &str, holder: &str, lifetime: Duration) -> Result<bool, StoreError> {
        let keys = self.keys(queue);
        let mut call = self.scripts.lease.key(&keys.control_lease);
        let held: i64 = call.arg(holder).arg(lifetime.as_millis() as u64).invoke_async(&mut self.conn.clone()).await?;
        Ok(held == 1)
    }

    /// Gives up the lease at shutdown, so another replica takes over at its
    /// next interval instead of after the lease's lifetime.
    pub(crate) async fn release_control(&self, queue: &str, holder: &str) -> Result<(), StoreError> {
        let keys = self.keys(queue);
        let _: i64 = redis::Script::new(RELEASE).key(&keys.control_lease).arg(holder).invoke_async(&mut self.conn.clone()).await?;
        Ok(())
    }

    /// Writes the automatic rate as `holder` of the control lease, in force
    /// for `valid` unless written again, or clears it (`None`: the operators'
    /// rate applies again; anyone may). Returns false when nothing was
    /// written: an operator switched the controller off in the meantime, or
    /// `holder` no longer holds the lease.
    pub(crate) async fn write_control(&self, queue: &str, rate: Option<(&Controlled, &str)>, valid: Duration) -> Result<bool, StoreError> {
        let k = self.keys(queue);
        let args = match rate {
            Some((c, holder)) => {
                vec![c.rate.to_string(), c.reason.clone(), c.changed_at_ms.to_string(), valid.as_millis().to_string(), holder.to_owned()]
            }
            None => vec![String::new()],
        };
        let reply = self.run(&self.scripts.control, &[&k.origin, &k.settings, &k.control_lease], &args).await?;
        self.invalidate(queue);
        Ok(reply.get(1).map(String::as_str) == Some("1"))
    }
}

#[cfg(test)]
mod tests {
    //! The fence, in the script itself, against a private `redis-server`:
    //! only the lease's holder writes the automatic rate, and never while an
    //! operator has switched the controller off; anyone may clear it.
    #![allow(clippy::unwrap_used)] // test set-up code: a failure here should abort the test

    use redis::Script;
    use yeyak_testkit::redis_server::RedisServer;

    use super::super::scripts::CONTROL;

    /// CONTROL as the store runs it: `(written, ctl_rate now)`.
    async fn control(conn: &mut redis::aio::MultiplexedConnection, args: &[&str]) -> (String, Option<String>) {
        let script = Script::new(CONTROL);
        let mut call = script.prepare_invoke();
        call.key("origin").key("settings").key("lease");
        for a in args {
            call.arg(*a);
        }
        let reply: Vec<String> = call.invoke_async(conn).await.unwrap();
        let rate: Option<String> = redis::cmd("HGET").arg("settings").arg("ctl_rate").query_async(conn).await.unwrap();
        (reply[1].clone(), rate)
    }

    #[tokio::test]
    async fn only_the_lease_holder_writes_the_rate_and_an_off_switch_wins() {
        let server = RedisServer::start().await.unwrap();
        let mut conn = redis::Client::open(server.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
        let info: String = redis::cmd("INFO").arg("server").query_async(&mut conn).await.unwrap();
        let run_id = info.lines().find_map(|l| l.strip_prefix("run_id:")).unwrap().trim().to_owned();
        let _: () = redis::cmd("SET").arg("origin").arg(&run_id).query_async(&mut conn).await.unwrap();
        let _: () = redis::cmd("SET").arg("lease").arg("replica-a").query_async(&mut conn).await.unwrap();

        let write = |holder: &'static str| ["25", "degraded: eligibility", "1", "10000", holder];
        assert_eq!(control(&mut conn, &write("replica-b")).await, ("0".into(), None), "a stale holder writes nothing");
        assert_eq!(control(&mut conn, &write("replica-a")).await, ("1".into(), Some("25".into())), "the holder writes");
        let _: () = redis::cmd("HSET").arg("settings").arg("auto").arg("0").query_async(&mut conn).await.unwrap();
        let later = ["12.5", "degraded: eligibility", "2", "10000", "replica-a"];
        assert_eq!(control(&mut conn, &later).await, ("0".into(), Some("25".into())), "switched off: not even the holder");
        assert_eq!(control(&mut conn, &[""]).await, ("1".into(), None), "anyone clears it");
    }
}
