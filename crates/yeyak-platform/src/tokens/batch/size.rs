//! How many signatures a batch takes, from the share of bad ones lately.
//!
//! Halving a failed batch costs about two checks per level, so the larger
//! the batch, the more a bad signature in it costs the good ones beside it.
//! With a cost per check of roughly 2 + n units for n signatures (3 for one
//! alone), the expected cost per signature is lowest at 32 when nearly all
//! are good, at 8 when about 1 % are bad and at 4 from about 3 % (simulated;
//! the forged-traffic benchmark measures it). The share is a moving average
//! over recent batches, so a burst of garbage shrinks batches within a few
//! batches and a clean surge grows them back as fast.
use std::sync::atomic::{AtomicU64, Ordering};

/// The recent share of bad signatures, as `f64` bits.
#[derive(Debug, Default)]
pub(super) struct BadShare(AtomicU64);

impl BadShare {
    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Folds in one batch's outcome (one writer: the drain task).
    pub(super) fn observe(&self, bad: usize, total: usize) {
        if total == 0 {
            return;
        }
        let share = 0.8 * self.get() + 0.2 * (bad as f64 / total as f64);
        self.0.store(share.to_bits(), Ordering::Relaxed);
    }

    /// The batch size for the share seen lately, at most `max`.
    pub(super) fn batch_size(&self, max: usize) -> usize {
        let share = self.get();
        let size = if share < 0.002 {
            32
        } else if share < 0.01 {
            16
        } else if share < 0.03 {
            8
        } else {
            4
        };
        size.min(max).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_shrink_under_garbage_and_grow_back() {
        let share = BadShare::default();
        assert_eq!(share.batch_size(32), 32);
        for _ in 0..3 {
            share.observe(2, 32);
        }
        assert_eq!(share.batch_size(32), 4, "about 5 % bad");
        assert_eq!(share.batch_size(2), 2, "never above the configured maximum");
        let mut batches = 0;
        while share.batch_size(32) < 32 {
            share.observe(0, 4);
            batches += 1;
        }
        assert!(batches <= 16, "{batches} clean batches to grow back");
    }
}
