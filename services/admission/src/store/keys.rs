//! The Redis keys of one queue, by name: a misspelt key is a compile error,
//! not a silently empty key.
use std::{collections::HashMap, sync::Arc};

use parking_lot::RwLock;

/// Each queue's key names, built once: formatting the 17 names on every
/// call cost a join 5 % of its CPU. Only queues the service serves get here,
/// so the map stays as small as the deployment's list of queues.
pub(super) struct KeyNames {
    prefix: String,
    names: RwLock<HashMap<String, Arc<Keys>>>,
}

impl KeyNames {
    pub(super) fn new(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned(), names: RwLock::new(HashMap::new()) }
    }

    pub(super) fn get(&self, queue: &str) -> Arc<Keys> {
        if let Some(keys) = self.names.read().get(queue) {
            return keys.clone();
        }
        let keys = Arc::new(Keys::new(&self.prefix, queue));
        self.names.write().insert(queue.to_owned(), keys.clone());
        keys
    }
}

pub(super) struct Keys {
    /// The `run_id` of the Redis server this state was built on: another
    /// server (a restart, a promoted replica) means the state may be stale.
    pub(super) origin: String,
    /// Operator settings (hash: rate, max_active, paused, closed, pow_bits), a copy of
    /// PostgreSQL's.
    pub(super) settings: String,
    /// When the frontier last advanced (ms, Redis clock).
    pub(super) tick: String,
    /// Unused admission credit.
    pub(super) credit: String,
    /// Arrivals before the opening.
    pub(super) preopen: String,
    /// Lottery entries reserved in PostgreSQL: `preopen` stays below it.
    pub(super) pre_limit: String,
    /// The lottery pool size, frozen at the opening.
    pub(super) pool: String,
    /// Arrivals after the opening.
    pub(super) post: String,
    /// Places reserved in PostgreSQL: `post` stays at or below it.
    pub(super) post_limit: String,
    /// Highest admitted place.
    pub(super) admitted: String,
    /// Highest admitted place logged in PostgreSQL: the frontier people see.
    pub(super) durable: String,
    /// Seat expiry (ms) of the admitted batch not yet logged.
    pub(super) pending: String,
    /// When the state was last rebuilt from PostgreSQL after a loss (ms).
    pub(super) restored: String,
    /// Seats: admitted places scored by their expiry (ms).
    pub(super) active: String,
    /// Ring of `ms:admitted` samples.
    pub(super) samples: String,
    /// Admission rate measured over the sample ring.
    pub(super) measured: String,
    /// The lottery seed, drawn by the first pre-opening arrival.
    pub(super) seed: String,
    /// Which replica runs the event's rate controller (a lease, `SET NX PX`).
    /// Not queue state: never rebuilt, and a lost lease is simply taken again.
    pub(super) control_lease: String,
}

impl Keys {
    pub(super) fn new(prefix: &str, queue: &str) -> Self {
        // The hash tag keeps one queue's keys on one Redis Cluster slot; the
        // version keeps a changed layout from misreading an older one's keys.
        let base = format!("{prefix}:admission:v3:{{{queue}}}");
        let key = |name: &str| format!("{base}:{name}");
        Self {
            origin: key("origin"),
            pre_limit: key("pre_limit"),
            post_limit: key("post_limit"),
            durable: key("durable"),
            pending: key("pending"),
            restored: key("restored"),
            settings: key("settings"),
            tick: key("tick"),
            credit: key("credit"),
            preopen: key("preopen"),
            pool: key("pool"),
            post: key("post"),
            admitted: key("admitted"),
            active: key("active"),
            samples: key("samples"),
            measured: key("measured"),
            seed: key("seed"),
            control_lease: key("control_lease"),
        }
    }

    /// The KEYS of [`super::scripts::JOIN`], in its order.
    pub(super) fn for_join(&self) -> [&str; 7] {
        [&self.origin, &self.settings, &self.preopen, &self.pre_limit, &self.pool, &self.post, &self.post_limit]
    }

    /// The KEYS of [`super::scripts::ADVANCE`], in its order.
    pub(super) fn for_advance(&self) -> [&str; 13] {
        [
            &self.origin,
            &self.settings,
            &self.tick,
            &self.credit,
            &self.preopen,
            &self.pool,
            &self.post,
            &self.admitted,
            &self.active,
            &self.samples,
            &self.measured,
            &self.durable,
            &self.pending,
        ]
    }

    /// The KEYS of [`super::scripts::READ`], in its order.
    pub(super) fn for_read(&self) -> [&str; 10] {
        [
            &self.origin,
            &self.preopen,
            &self.pool,
            &self.post,
            &self.durable,
            &self.measured,
            &self.seed,
            &self.settings,
            &self.active,
            &self.restored,
        ]
    }

    /// Every key of the queue, `origin` first ([`super::rebuild::REBUILD`]'s order).
    pub(super) fn all(&self) -> [&str; 17] {
        [
            &self.origin,
            &self.settings,
            &self.tick,
            &self.credit,
            &self.preopen,
            &self.pre_limit,
            &self.pool,
            &self.post,
            &self.post_limit,
            &self.admitted,
            &self.durable,
            &self.pending,
            &self.active,
            &self.samples,
            &self.measured,
            &self.seed,
            &self.restored,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_queue_keys_share_a_cluster_slot_and_the_v3_layout() {
        let keys = Keys::new("yeyak", "round3");
        assert_eq!(keys.settings, "yeyak:admission:v3:{round3}:settings");
        assert_eq!(keys.seed, "yeyak:admission:v3:{round3}:seed");
        let all: std::collections::HashSet<&str> = keys.all().into_iter().collect();
        assert_eq!(all.len(), 17, "no key named twice");
        assert!(all.iter().all(|k| k.starts_with("yeyak:admission:v3:{round3}:")));
        for used in keys.for_advance().iter().chain(&keys.for_join()).chain(&keys.for_read()) {
            assert!(all.contains(used), "{used} is not rebuilt");
        }
    }
}
