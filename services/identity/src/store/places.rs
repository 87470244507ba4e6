//! One person, one place in line: the admission session (the pass's `sid`)
//! each verified subject is bound to, per event.
//!
//! Key `place:{queue}:{subject id}` → the session id, with a TTL as long as
//! the event (`YEYAK_PLACE_BINDING_TTL_SECONDS`, the ticket lifetime by
//! default). About 150 bytes per verified person in Redis (a 60-byte key,
//! a 32-byte value, the expiry and Redis' per-key overhead); shared by every
//! identity replica, so a second pass is refused whichever replica it meets.
//!
//! A Redis that loses its data forgets the bindings: after it, a person
//! could verify once more under another pass of the same event. Reservation
//! still books at most one confirmed appointment per person and dose (its
//! own PostgreSQL constraint), so what is lost is "one place per person",
//! not "one booking per person".
use std::time::Duration;

use yeyak_platform::redis_store::claim::claim;

use super::Store;

impl Store {
    pub(super) fn place_key(&self, queue: &str, subject: &str) -> String {
        format!("{}:place:{queue}:{subject}", self.prefix)
    }

    /// Binds `subject` to `session_id` in `queue` for `ttl`; false if it is
    /// bound to another session.
    pub(crate) async fn bind_place(&self, queue: &str, subject: &str, session_id: &str, ttl: Duration) -> redis::RedisResult<bool> {
        claim(&self.conn, &self.place_key(queue, subject), session_id, ttl).await
    }
}
