//! One read of a queue's shared counters, and where a ticket's place falls in
//! it. Nothing is stored per waiting person: the place lives in the signed
//! ticket, and a pre-opening arrival's place is drawn from the snapshot.
use super::{lottery, Settings};

/// One read of a queue's shared counters.
#[derive(Clone, Debug, PartialEq, Default)]
pub(crate) struct Snapshot {
    /// Arrivals before the opening (the lottery pool so far).
    pub(crate) pre_joined: u64,
    /// The pool size, frozen at the opening; `None` before it.
    pub(crate) pool: Option<u64>,
    /// Arrivals after the opening.
    pub(crate) post_joined: u64,
    /// Highest admitted place.
    pub(crate) admitted: u64,
    pub(crate) active: u64,
    /// People per second admitted over the recent window.
    pub(crate) measured_rate: f64,
    pub(crate) seed: Vec<u8>,
    pub(crate) settings: Settings,
    /// When the queue was last rebuilt after its store lost data (unix ms).
    pub(crate) restored_at_ms: Option<i64>,
}

/// What a ticket says about its holder's place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// The k-th arrival before the opening; the place is drawn at the opening.
    PreOpening(u64),
    /// A place in line (1-based), first come first served after the opening.
    InLine(u64),
}

impl Snapshot {
    pub(crate) fn joined(&self) -> u64 {
        self.pool.unwrap_or(self.pre_joined) + self.post_joined
    }

    /// The 1-based place of a ticket, once it has one.
    pub(crate) fn position(&self, place: Place) -> Option<u64> {
        match place {
            Place::InLine(p) => Some(p),
            Place::PreOpening(k) => self.pool.filter(|n| k < *n).map(|n| 1 + lottery::draw(&self.seed, n, k)),
        }
    }

    /// Everyone who joined before the opening: the whole lottery pool once
    /// the draw is final.
    pub(crate) fn lottery_pool(&self) -> u64 {
        self.pool.unwrap_or(self.pre_joined)
    }

    /// The lottery seed, published only once the draw is final, so nobody
    /// can predict it.
    pub(crate) fn published_seed(&self) -> Option<&[u8]> {
        self.pool.is_some().then_some(self.seed.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lottery_places_exist_only_after_the_opening() {
        let mut s = Snapshot { pre_joined: 3, seed: b"s".to_vec(), ..Snapshot::default() };
        assert_eq!(s.position(Place::PreOpening(1)), None);
        assert_eq!((s.published_seed(), s.lottery_pool()), (None, 3));
        s.pool = Some(3);
        s.post_joined = 2;
        let mut places: Vec<u64> = (0..3).map(|k| s.position(Place::PreOpening(k)).unwrap()).collect();
        places.sort_unstable();
        assert_eq!(places, vec![1, 2, 3]);
        assert_eq!(s.position(Place::InLine(4)), Some(4));
        assert_eq!(s.joined(), 5);
        assert_eq!(s.published_seed(), Some(&b"s"[..]));
    }
}
