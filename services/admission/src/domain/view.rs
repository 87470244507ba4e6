//! What a ticket holder sees: place, wait, and — once admitted and while the
//! seat is held — a pass whose expiry is the seat's.
use std::time::Duration;

use super::{standing::poll_interval, Standing};

/// Why a pre-opening arrival gets no place and no estimate yet.
const LOTTERY: &str = "places are drawn by lottery among everyone who joined before the opening";

/// A signed admission pass, as handed to its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IssuedPass {
    pub(crate) token: String,
    /// Unix seconds: the pass lives exactly as long as its seat.
    pub(crate) expires_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Joined before the opening: the place is drawn at the opening.
    PreOpening,
    Waiting,
    /// The frontier has passed the place and the seat is still held.
    Admitted(IssuedPass),
    /// Admitted, but the seat is gone (ended, booked, or expired): no new pass.
    SessionEnded,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct QueueView {
    pub(crate) phase: Phase,
    /// 1-based place in line; 0 until the lottery has drawn it.
    pub(crate) position: u64,
    pub(crate) people_ahead: u64,
    /// `Err(reason)` when no honest estimate exists.
    pub(crate) estimated_wait: Result<Duration, &'static str>,
    /// Unix ms; `None` once admitted, when polling gains nothing.
    pub(crate) next_poll_at_ms: Option<i64>,
    /// Unix ms.
    pub(crate) opens_at_ms: i64,
    /// The proof of work a new join must carry now (reported, so a client
    /// sees an operator's change before its next join).
    pub(crate) join_difficulty_bits: u8,
    /// The automatic admission rate holds admission below the operators'
    /// rate (the booking services are under strain).
    pub(crate) admission_slowed: bool,
}

impl QueueView {
    /// Before the opening: no place yet, the lottery draws it. Polls are
    /// spread like any others, but nobody is told to wait past the opening.
    pub(crate) fn pre_opening(lottery_entry: u64, opens_at_ms: i64, now_ms: i64) -> Self {
        let until_open = Duration::from_millis((opens_at_ms - now_ms).max(0) as u64);
        let poll = poll_interval(&Ok(until_open), lottery_entry).min(until_open + Duration::from_secs(1));
        Self {
            phase: Phase::PreOpening,
            position: 0,
            people_ahead: 0,
            estimated_wait: Err(LOTTERY),
            next_poll_at_ms: Some(now_ms + poll.as_millis() as i64),
            opens_at_ms,
            join_difficulty_bits: 0,
            admission_slowed: false,
        }
    }

    /// A place in line. `pass` counts only once the standing is admitted:
    /// with it the holder is in, without it their session has ended.
    pub(crate) fn in_line(position: u64, standing: Standing, pass: Option<IssuedPass>, opens_at_ms: i64, now_ms: i64) -> Self {
        let phase = match (standing.admitted, pass) {
            (false, _) => Phase::Waiting,
            (true, Some(pass)) => Phase::Admitted(pass),
            (true, None) => Phase::SessionEnded,
        };
        let next_poll_at_ms = (!standing.admitted).then(|| now_ms + standing.next_poll_after.as_millis() as i64);
        Self {
            phase,
            position,
            people_ahead: standing.people_ahead,
            estimated_wait: standing.estimated_wait,
            next_poll_at_ms,
            opens_at_ms,
            join_difficulty_bits: 0,
            admission_slowed: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{standing, Snapshot};

    #[test]
    fn pre_opening_arrivals_poll_again_by_the_opening() {
        let view = QueueView::pre_opening(7, 10_000, 9_500);
        assert_eq!((view.phase, view.position), (Phase::PreOpening, 0));
        assert!(view.estimated_wait.unwrap_err().contains("lottery"));
        assert!(view.next_poll_at_ms.unwrap() <= 10_000 + 1_000);
    }

    #[test]
    fn an_admitted_place_without_a_seat_has_ended_and_nobody_admitted_polls() {
        let snap = Snapshot { admitted: 5, ..Snapshot::default() };
        let pass = IssuedPass { token: "v1.k.c.s".into(), expires_at: 60 };
        let admitted = QueueView::in_line(5, standing(5, &snap), Some(pass.clone()), 0, 1_000);
        assert_eq!((admitted.phase, admitted.next_poll_at_ms), (Phase::Admitted(pass), None));
        let ended = QueueView::in_line(5, standing(5, &snap), None, 0, 1_000);
        assert_eq!((ended.phase, ended.next_poll_at_ms), (Phase::SessionEnded, None));
        let waiting = QueueView::in_line(6, standing(6, &snap), None, 0, 1_000);
        assert_eq!((waiting.phase, waiting.people_ahead), (Phase::Waiting, 0));
        assert!(waiting.next_poll_at_ms.unwrap() > 1_000);
    }
}
