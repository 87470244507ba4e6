//! Ended sessions, so that a pass dies with its seat.
//!
//! A pass is a signed token every service verifies on its own, valid until
//! its `exp`; without more, a pass outlives its seat (EndSession, a
//! confirmed booking, an operator ending it) until that expiry, and the
//! number of working passes is not bounded by `max_active_sessions`.
//!
//! Admission appends the session id of every seat it ends to a Redis
//! stream per event ([`record_end`]): `<prefix>:ended:{<queue>}`, trimmed to
//! the longest a pass can live. Every service that checks passes follows
//! those streams ([`EndedSessions`]): it reads the entries added since its
//! last read every `interval` (250 ms by default) and keeps the ended ids
//! of the retention window in memory; a pass whose session ended is
//! refused. The bound: a session ended at `t` is refused everywhere by
//! `t + interval + one Redis round trip`.
//!
//! A service that cannot read the streams (Redis down, a partition) does
//! not know which sessions ended. It fails closed: once its last good read
//! is older than `max_staleness` (1.5 s by default, so that the 2-second
//! bound holds), it answers UNAVAILABLE to every pass, remembered or new,
//! until a read succeeds again. Seats expire with their passes' `exp`
//! regardless, so expiry needs no stream entry.
//!
//! The same reads follow the catalog of booking events ([`catalog`]): which
//! events exist and are open, so a new event's passes work everywhere, and a
//! closed one's stop, within one interval of admission's change.
pub mod catalog;
mod feed;

pub use catalog::{Catalog, EventState, PublishedEvent};
pub use feed::{EndedSessions, SessionState, SessionsSettings};

use redis::RedisResult;

use crate::redis_store::RedisConn;

/// The stream of `queue`'s ended sessions. The `{queue}` hash tag keeps it
/// in one slot on a cluster.
pub fn ended_key(prefix: &str, queue: &str) -> String {
    format!("{prefix}:ended:{{{queue}}}")
}

/// Appends `session_id` to `queue`'s stream of ended sessions, trimming
/// entries older than `retention_ms` (approximately: whole nodes at once).
/// Appending twice is harmless: readers keep a set.
pub async fn record_end(conn: &RedisConn, prefix: &str, queue: &str, session_id: &str, now_ms: i64, retention_ms: i64) -> RedisResult<()> {
    let min_id = (now_ms - retention_ms).max(0);
    redis::cmd("XADD")
        .arg(ended_key(prefix, queue))
        .arg("MINID")
        .arg("~")
        .arg(min_id)
        .arg("*")
        .arg("sid")
        .arg(session_id)
        .query_async::<()>(&mut conn.clone())
        .await
}
