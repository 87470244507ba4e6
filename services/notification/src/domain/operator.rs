//! What an operator's change does to a delivery, decided from its state
//! alone (pure, so every case is unit-tested): the rule that nothing an
//! operator does sends an SMS twice lives here.
//!
//! - A replay only moves a `failed` delivery back to the sender; a sent one
//!   or one the sender still has is left alone and the outcome says so, so
//!   a replay repeated (a retried call, two operators) is a replay once. It
//!   goes out under the next generation of its reference: no gateway has
//!   the last one (that is how it failed), and one may have voided it.
//! - Resolving an unknown outcome is the operator vouching for the gateway's
//!   answer: `Sent` ends it, `NotSent` frees it for any gateway.
//! - Discarding stops whatever is not sent yet and erases the number.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{DeliveryRecord, DeliveryState};

/// A delivery as operators see it: the record support staff see, and what
/// acting on it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeliveryDetail {
    pub(crate) record: DeliveryRecord,
    /// The sealed number is still kept (a replay or resend needs it).
    pub(crate) number_kept: bool,
    /// For a resend: the message whose text it repeats.
    pub(crate) resend_of: Option<Uuid>,
    /// When the sender takes it up next (pending or unknown).
    pub(crate) next_attempt_at: Option<DateTime<Utc>>,
    /// A sender holds it right now (claimed, mid-round).
    pub(crate) leased: bool,
}

/// What an operator asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    Replay,
    /// The gateway the outcome was unknown at has it.
    ResolveSent,
    /// That gateway confirms it never took it.
    ResolveNotSent,
    Discard,
}

/// What a change did (or, in a dry run, would do).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Done,
    AlreadySent,
    /// Pending or waiting on its gateway: the sender has it.
    InFlight,
    AlreadyDiscarded,
}

/// Why a change cannot be made to a delivery in its state.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refusal {
    #[error("its phone number was erased after the retention period: nothing can be sent; a resend needs a number kept by another message of the reservation")]
    NumberErased,
    #[error("it is not waiting on a gateway's answer (state {0}): replay or discard a failed delivery instead")]
    NotUnknown(&'static str),
    #[error("a sender is working on it right now; try again in a few seconds")]
    Busy,
}

impl Change {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Change::Replay => "replay",
            Change::ResolveSent => "resolve as sent",
            Change::ResolveNotSent => "resolve as not sent",
            Change::Discard => "discard",
        }
    }

    /// The change's outcome for a delivery in `d`'s state; `Done` means the
    /// store applies it.
    pub(crate) fn decide(self, d: &DeliveryDetail) -> Result<Outcome, Refusal> {
        use DeliveryState as S;
        let state = d.record.state;
        match (self, state) {
            (_, Some(S::Sent)) => Ok(Outcome::AlreadySent),
            (_, Some(S::Discarded)) => Ok(Outcome::AlreadyDiscarded),
            (Change::Replay, Some(S::Pending | S::Unknown)) => Ok(Outcome::InFlight),
            (Change::Replay, Some(S::Failed)) if !d.number_kept => Err(Refusal::NumberErased),
            (Change::Replay, Some(S::Failed)) => Ok(Outcome::Done),
            (Change::ResolveSent | Change::ResolveNotSent, Some(S::Pending)) => Ok(Outcome::InFlight),
            (Change::ResolveSent | Change::ResolveNotSent, Some(S::Failed)) => Err(Refusal::NotUnknown("failed")),
            (Change::ResolveNotSent, Some(S::Unknown)) if !d.number_kept => Err(Refusal::NumberErased),
            (Change::ResolveSent | Change::ResolveNotSent, Some(S::Unknown)) if d.leased => Err(Refusal::Busy),
            (Change::ResolveSent | Change::ResolveNotSent, Some(S::Unknown)) => Ok(Outcome::Done),
            (Change::Discard, Some(S::Pending | S::Unknown)) if d.leased => Err(Refusal::Busy),
            (Change::Discard, Some(S::Failed | S::Pending | S::Unknown)) => Ok(Outcome::Done),
            (_, None) => Err(Refusal::NotUnknown("unrecognised")),
        }
    }
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Done => "done",
            Outcome::AlreadySent => "already sent: nothing to do",
            Outcome::InFlight => "being sent: nothing to do",
            Outcome::AlreadyDiscarded => "discarded before: nothing to do",
        }
    }
}

/// The text of a resend: the original, marked as a copy, so the person
/// knows it is the same booking and not a second one.
pub(crate) fn resend_text(original: &str) -> String {
    match original.strip_prefix("[예약]") {
        Some(rest) => format!("[예약·재발송]{rest}"),
        None => format!("[재발송] {original}"),
    }
}

/// A position in a list of deliveries, newest first: the last row of the
/// previous page. As a token: `<created_at µs>.<message id>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PageCursor {
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) message_id: Uuid,
}

impl PageCursor {
    pub(crate) fn token(&self) -> String {
        format!("{}.{}", self.created_at.timestamp_micros(), self.message_id.simple())
    }

    pub(crate) fn parse(token: &str) -> Option<Self> {
        let (micros, id) = token.trim().split_once('.')?;
        let created_at = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
        Some(Self { created_at, message_id: Uuid::parse_str(id).ok()? })
    }
}

#[cfg(test)]
#[path = "operator_tests.rs"]
mod tests;
