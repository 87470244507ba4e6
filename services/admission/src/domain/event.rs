//! Booking events as data: what an event is (its own line, rate and rules),
//! what makes a definition valid, where it stands in time, and what a change
//! would do to the people already in it. Operators' changes that would throw
//! out people already waiting or admitted are named here, so the use case
//! can refuse them without `force` and report them in a dry run.
use super::proof::MAX_BITS;

/// An event as operators define it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct EventDefinition {
    /// `[a-z0-9][a-z0-9-]{0,31}`: it is the queue id in passes and keys.
    pub(crate) id: String,
    pub(crate) title: String,
    /// The opening (unix ms): arrivals before it join the lottery.
    pub(crate) opens_at_ms: i64,
    /// No new arrivals after it (unix ms); `None`: until closed.
    pub(crate) closes_at_ms: Option<i64>,
    /// Eligibility's rule set for the event; empty: eligibility's default.
    pub(crate) rule_set: String,
    /// The operators' admission rate (people per second) and seat cap.
    pub(crate) rate: f64,
    pub(crate) max_active: u64,
    /// How long before the opening arrivals may join the lottery (ms);
    /// `None`: any time before.
    pub(crate) pre_open_ms: Option<i64>,
    pub(crate) pow_bits: u8,
    /// Identity-first: the event whose pass verifies the person first.
    pub(crate) verify_in: Option<String>,
}

/// An event as stored: its definition, whether it is over, its version.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredEvent {
    pub(crate) def: EventDefinition,
    pub(crate) closed: bool,
    pub(crate) version: i64,
    pub(crate) updated_at_ms: i64,
    pub(crate) updated_by: String,
}

/// Which field of an event definition is wrong, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvalidEvent {
    #[error("must be 1 to 32 of a-z, 0-9 and '-', starting with a letter or digit")]
    Id,
    #[error("must be 1 to 200 characters")]
    Title,
    #[error("must be set (an event needs an opening)")]
    OpensAt,
    #[error("must be after the opening")]
    ClosesAt,
    #[error("must be 0 to 64 of a-z, 0-9, '-', '_' and '.', not starting with '.'")]
    RuleSet,
    #[error("must be greater than 0 and at most 100000")]
    Rate,
    #[error("must be 1 to 10000000")]
    MaxActive,
    #[error("must be at most 7 days")]
    PreOpen,
    #[error("must be 0 to {}", MAX_BITS)]
    Difficulty,
    #[error("must be another event's id")]
    VerifyIn,
}

const WEEK_MS: i64 = 7 * 24 * 3_600_000;

/// Whether `id` may name an event (and so a queue, in keys and passes).
pub(crate) fn valid_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !id.starts_with('-')
}

impl EventDefinition {
    pub(crate) fn validate(&self) -> Result<(), InvalidEvent> {
        let id_ok = valid_id;
        if !id_ok(&self.id) {
            return Err(InvalidEvent::Id);
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            return Err(InvalidEvent::Title);
        }
        if self.opens_at_ms < 0 {
            return Err(InvalidEvent::OpensAt);
        }
        if self.closes_at_ms.is_some_and(|c| c <= self.opens_at_ms) {
            return Err(InvalidEvent::ClosesAt);
        }
        let rule_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.');
        if self.rule_set.len() > 64 || !self.rule_set.bytes().all(rule_ok) || self.rule_set.starts_with('.') {
            return Err(InvalidEvent::RuleSet);
        }
        if !(self.rate > 0.0 && self.rate <= 100_000.0) {
            return Err(InvalidEvent::Rate);
        }
        if !(1..=10_000_000).contains(&self.max_active) {
            return Err(InvalidEvent::MaxActive);
        }
        if self.pre_open_ms.is_some_and(|w| !(0..=WEEK_MS).contains(&w)) {
            return Err(InvalidEvent::PreOpen);
        }
        if self.pow_bits > MAX_BITS {
            return Err(InvalidEvent::Difficulty);
        }
        if self.verify_in.as_deref().is_some_and(|v| v == self.id || !id_ok(v)) {
            return Err(InvalidEvent::VerifyIn);
        }
        Ok(())
    }

    /// When arrivals may start joining (unix ms).
    pub(crate) fn joins_from_ms(&self) -> i64 {
        self.pre_open_ms.map_or(i64::MIN, |w| self.opens_at_ms - w)
    }
}

/// Where an event stands at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EventPhase {
    /// Before its pre-opening window: joins are refused.
    Scheduled,
    /// Arrivals join the opening lottery.
    PreOpening,
    /// The line moves; arrivals take the next place.
    Open,
    /// Past its closing time: no arrivals; the line is still admitted.
    Closing,
    /// Closed by an operator: no joins, no admissions, passes refused.
    Closed,
}

impl StoredEvent {
    pub(crate) fn phase(&self, now_ms: i64) -> EventPhase {
        let def = &self.def;
        if self.closed {
            EventPhase::Closed
        } else if def.closes_at_ms.is_some_and(|c| now_ms >= c) {
            EventPhase::Closing
        } else if now_ms >= def.opens_at_ms {
            EventPhase::Open
        } else if now_ms >= def.joins_from_ms() {
            EventPhase::PreOpening
        } else {
            EventPhase::Scheduled
        }
    }
}

/// The people an event holds now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct People {
    /// Everyone who ever joined (lottery entries and places).
    pub(crate) joined: u64,
    /// Joined and not yet admitted.
    pub(crate) waiting: u64,
    /// Admitted, with a seat still held.
    pub(crate) active: u64,
}

/// One thing a change does; `disruptive` ones need `force`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Effect {
    pub(crate) text: String,
    pub(crate) disruptive: bool,
}

impl Effect {
    fn plain(text: String) -> Self {
        Self { text, disruptive: false }
    }
    fn disruptive(text: String) -> Self {
        Self { text, disruptive: true }
    }
}

mod effects;
pub(crate) use effects::{close_effects, create_effects, seoul, update_effects};

#[cfg(test)]
mod tests;
