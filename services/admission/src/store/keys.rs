//! The Redis keys of one queue, by name: a misspelt key is a compile error,
//! not a silently empty key.
pub(super) struct Keys {
    /// Operator settings (hash: rate, max_active, paused, closed).
    pub(super) settings: String,
    /// When the frontier last advanced (ms, Redis clock).
    pub(super) tick: String,
    /// Unused admission credit.
    pub(super) credit: String,
    /// Arrivals before the opening.
    pub(super) preopen: String,
    /// The lottery pool size, frozen at the opening.
    pub(super) pool: String,
    /// Arrivals after the opening.
    pub(super) post: String,
    /// Highest admitted place.
    pub(super) admitted: String,
    /// Seats: admitted places scored by their expiry (ms).
    pub(super) active: String,
    /// Ring of `ms:admitted` samples.
    pub(super) samples: String,
    /// Admission rate measured over the sample ring.
    pub(super) measured: String,
    /// The lottery seed, drawn by the first pre-opening arrival.
    pub(super) seed: String,
}

impl Keys {
    pub(super) fn new(prefix: &str, queue: &str) -> Self {
        // The hash tag keeps one queue's keys on one Redis Cluster slot; the
        // version keeps a changed layout from misreading an older one's keys.
        let base = format!("{prefix}:admission:v2:{{{queue}}}");
        let key = |name: &str| format!("{base}:{name}");
        Self {
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
        }
    }

    /// The KEYS of [`super::scripts::JOIN`], in its order.
    pub(super) fn for_join(&self) -> [&str; 5] {
        [&self.settings, &self.preopen, &self.pool, &self.post, &self.seed]
    }

    /// The KEYS of [`super::scripts::ADVANCE`], in its order.
    pub(super) fn for_advance(&self) -> [&str; 10] {
        [
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
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_queue_keys_share_a_cluster_slot_and_the_v2_layout() {
        let keys = Keys::new("yeyak", "round3");
        assert_eq!(keys.settings, "yeyak:admission:v2:{round3}:settings");
        assert_eq!(keys.seed, "yeyak:admission:v2:{round3}:seed");
        assert!(keys.for_advance().iter().chain(&keys.for_join()).all(|k| k.starts_with("yeyak:admission:v2:{round3}:")));
    }
}
