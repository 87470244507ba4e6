//! One read of a queue's shared state, cached for [`super::SNAPSHOT_TTL`].
use std::{sync::Arc, time::Instant};

use super::{QueueStore, StoreError};
use crate::domain::{control::Controlled, QueueDefaults, Settings, Snapshot};

impl QueueStore {
    /// The queue as every replica sees it, at most [`super::SNAPSHOT_TTL`] old.
    pub(crate) async fn snapshot(&self, queue: &str, defaults: &QueueDefaults) -> Result<Arc<Snapshot>, StoreError> {
        if let Some((at, snap)) = self.cache.lock().get(queue) {
            if at.elapsed() < super::SNAPSHOT_TTL {
                return Ok(snap.clone());
            }
        }
        let reply = self.run(&self.scripts.read, &self.keys(queue).for_read(), &[]).await?;
        let snap = Arc::new(parse(&reply, defaults));
        self.cache.lock().insert(queue.to_owned(), (Instant::now(), snap.clone()));
        Ok(snap)
    }
}

/// READ's reply: code, preopen, pool, post, durable, measured, seed, rate,
/// max_active, paused, closed, seats, restored, pow_bits, ctl_rate,
/// ctl_reason, ctl_at, auto.
fn parse(reply: &[String], defaults: &QueueDefaults) -> Snapshot {
    let text = |i: usize| reply.get(i).map(String::as_str).unwrap_or("");
    let int = |i: usize| text(i).parse::<u64>().ok();
    Snapshot {
        pre_joined: int(1).unwrap_or(0),
        pool: int(2),
        post_joined: int(3).unwrap_or(0),
        admitted: int(4).unwrap_or(0),
        measured_rate: text(5).parse().unwrap_or(0.0),
        seed: text(6).as_bytes().to_vec(),
        settings: Settings {
            rate_per_second: text(7).parse().unwrap_or(defaults.rate),
            max_active: int(8).unwrap_or(defaults.max_active),
            paused: text(9) == "1",
            closed: text(10) == "1",
            pow_bits: text(13).parse().ok(),
            // Switched off by an operator: whatever is left is not in force.
            controlled: text(14).parse().ok().filter(|_| text(17) != "0").map(|rate| Controlled {
                rate,
                reason: text(15).to_owned(),
                changed_at_ms: text(16).parse().unwrap_or(0),
            }),
        },
        active: int(11).unwrap_or(0),
        restored_at_ms: text(12).parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn unset_values_fall_back_to_the_defaults_and_a_restore_is_seen() {
        let defaults = QueueDefaults { rate: 7.0, max_active: 9, opens_at_ms: 0, session_ttl: Duration::ZERO, burst: Duration::ZERO };
        let reply: Vec<String> =
            ["0", "3", "", "5", "2", "1.5", "seed", "", "", "1", "0", "2", "1700", ""].iter().map(|s| s.to_string()).collect();
        let snap = parse(&reply, &defaults);
        assert_eq!((snap.pre_joined, snap.pool, snap.post_joined, snap.admitted, snap.active), (3, None, 5, 2, 2));
        assert_eq!((snap.settings.rate_per_second, snap.settings.max_active, snap.settings.paused), (7.0, 9, true));
        assert_eq!((snap.measured_rate, snap.restored_at_ms), (1.5, Some(1700)));
        let mut fresh = reply.clone();
        fresh[12] = String::new();
        assert_eq!(parse(&fresh, &defaults).restored_at_ms, None);
        assert_eq!(snap.settings.pow_bits, None, "never set by an operator");
        fresh[13] = "0".into();
        assert_eq!(parse(&fresh, &defaults).settings.pow_bits, Some(0), "set to none by an operator");
        assert_eq!(snap.settings.controlled, None, "short replies (no controller) parse");
        fresh.extend(["12.5", "degraded", "1700", ""].map(String::from));
        let controlled = parse(&fresh, &defaults).settings.controlled.unwrap();
        assert_eq!((controlled.rate, controlled.reason.as_str(), controlled.changed_at_ms), (12.5, "degraded", 1700));
        fresh[17] = "0".into();
        assert_eq!(parse(&fresh, &defaults).settings.controlled, None, "switched off");
    }
}
