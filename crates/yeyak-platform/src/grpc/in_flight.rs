//! The RPCs in progress, per method. When a shutdown overruns its deadline
//! the log must say which calls it was waiting for ("CreateReservation ×3"
//! points at the dependency that hung); a bare count would not.
//!
//! One counter per method the server serves, made once: counting a call is
//! one atomic increment, never a lock, so a surge pays nothing for it.
use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

#[derive(Clone, Debug, Default)]
pub(crate) struct InFlight {
    counts: Arc<HashMap<String, Arc<AtomicUsize>>>,
}

impl InFlight {
    /// `methods`: every label a call can carry (unknown paths share one).
    pub(crate) fn new(methods: impl IntoIterator<Item = String>) -> Self {
        Self { counts: Arc::new(methods.into_iter().map(|m| (m, Arc::new(AtomicUsize::new(0)))).collect()) }
    }

    /// Counts a call of `method` until the guard drops (the call finished,
    /// failed or was cancelled).
    pub(crate) fn enter(&self, method: &str) -> Option<Entered> {
        let count = self.counts.get(method)?.clone();
        count.fetch_add(1, Ordering::Relaxed);
        Some(Entered(count))
    }

    /// "<method> ×<n>" for each method with calls in progress, sorted.
    pub(crate) fn describe(&self) -> Vec<String> {
        let mut busy: Vec<String> = self
            .counts
            .iter()
            .filter_map(|(method, count)| match count.load(Ordering::Relaxed) {
                0 => None,
                n => Some(format!("RPC {method} ×{n}")),
            })
            .collect();
        busy.sort();
        busy
    }
}

/// One call in progress.
#[derive(Debug)]
pub(crate) struct Entered(Arc<AtomicUsize>);

impl Drop for Entered {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_calls_until_they_end() {
        let in_flight = InFlight::new(["/a.B/C".to_owned(), "/a.B/D".to_owned()]);
        let first = in_flight.enter("/a.B/C").unwrap();
        let second = in_flight.enter("/a.B/C").unwrap();
        let other = in_flight.enter("/a.B/D").unwrap();
        assert!(in_flight.enter("/not/served").is_none());
        assert_eq!(in_flight.describe(), vec!["RPC /a.B/C ×2".to_owned(), "RPC /a.B/D ×1".to_owned()]);
        drop((first, other));
        assert_eq!(in_flight.describe(), vec!["RPC /a.B/C ×1".to_owned()]);
        drop(second);
        assert!(in_flight.describe().is_empty());
    }
}
