//! A short memory of slots this replica found full.
//!
//! When a slot is the one everybody wants, it fills in the first second and
//! then every attempt on it is refused. Each refusal would still ask
//! eligibility (a gRPC call and two signature checks there) and run the
//! booking statement, only to be told "full": a rush on one slot would cost
//! as much as real bookings. So a replica that has just seen a slot full
//! answers "slot is full" straight away for a short window, after the
//! caller's own checks and the idempotency lookup (a retry of a booking that
//! succeeded still gets its original answer).
//!
//! The price is staleness bounded by the window: a place given back by a
//! cancellation or a size increase handled by *another* replica is offered
//! by this one at most one window later. This replica's own cancellations,
//! reschedules and size increases forget the slot at once. The database
//! stays the only judge of a place taken: the memory can only refuse early,
//! never book.
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use uuid::Uuid;

/// Bound on the slots remembered at once: far more than can fill within one
/// window; past it, expired entries are dropped, and if none have expired
/// the memory starts afresh (it only saves work, it decides nothing).
const MAX_SLOTS: usize = 16_384;

pub(super) struct FullSlots {
    window: Duration,
    until: Mutex<HashMap<Uuid, Instant>>,
}

impl FullSlots {
    /// A zero `window` remembers nothing.
    pub(super) fn new(window: Duration) -> Self {
        Self { window, until: Mutex::new(HashMap::new()) }
    }

    /// The database just refused a place in `slot`.
    pub(super) fn note(&self, slot: Uuid) {
        if self.window.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut until = self.until.lock();
        if until.len() >= MAX_SLOTS {
            until.retain(|_, t| *t > now);
            if until.len() >= MAX_SLOTS {
                until.clear();
            }
        }
        until.insert(slot, now + self.window);
    }

    /// Whether `slot` was found full less than one window ago.
    pub(super) fn is_full(&self, slot: &Uuid) -> bool {
        if self.window.is_zero() {
            return false;
        }
        let until = self.until.lock();
        until.get(slot).is_some_and(|t| *t > Instant::now())
    }

    /// A place of `slot` may have come back.
    pub(super) fn forget(&self, slot: &Uuid) {
        self.until.lock().remove(slot);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn remembers_for_the_window_and_forgets_on_request() {
        let full = FullSlots::new(Duration::from_secs(60));
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        full.note(a);
        assert!(full.is_full(&a) && !full.is_full(&b));
        // The window has passed for `a`.
        let past = Instant::now().checked_sub(Duration::from_millis(1)).unwrap();
        full.until.lock().insert(a, past);
        assert!(!full.is_full(&a), "expired after the window");
        full.note(b);
        full.forget(&b);
        assert!(!full.is_full(&b), "a place given back clears the slot at once");
    }

    #[test]
    fn a_zero_window_remembers_nothing() {
        let full = FullSlots::new(Duration::ZERO);
        let a = Uuid::new_v4();
        full.note(a);
        assert!(!full.is_full(&a));
    }

    #[test]
    fn stays_bounded() {
        let full = FullSlots::new(Duration::from_secs(60));
        for _ in 0..MAX_SLOTS + 10 {
            full.note(Uuid::new_v4());
        }
        let last = Uuid::new_v4();
        full.note(last);
        assert!(full.until.lock().len() <= MAX_SLOTS);
        assert!(full.is_full(&last), "the newest entry survives a reset");
    }
}
