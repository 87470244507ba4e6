//! Pure notification rules: which SMS an event causes (`notice`), the
//! message id that makes a resend harmless, how long to wait before trying
//! again, what a delivery looks like to support staff (`delivery`), and how
//! a booking code is read (`yeyak_platform::booking_code`), and the
//! configured gateways with what an exchange with one can tell (`gateway`),
//! and what an operator's change does to a delivery (`operator`).
pub(crate) mod delivery;
pub(crate) mod gateway;
pub(crate) mod notice;
pub(crate) mod operator;

use std::time::Duration;

use uuid::Uuid;

pub(crate) use delivery::{DeliveryRecord, DeliveryState, Lookup, SmsText};
pub(crate) use gateway::{GatewaySpec, SendOutcome};
pub(crate) use notice::{decode, funnel_event, Contact, Notice};
pub(crate) use operator::{Change, DeliveryDetail, Outcome, PageCursor, Refusal};
pub(crate) use yeyak_platform::booking_code::BookingCode;

/// Namespace of message ids. Never change it: ids already sent would no
/// longer match the gateway's idempotency keys.
const MESSAGE_ID_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c2e_9b7d_4e51_8c0a_5d2f_7e4b_1a93);

/// The message id (and gateway idempotency key) of the SMS an event causes:
/// the same event always yields the same id, whichever replica handles it.
pub(crate) fn message_id(event_id: Uuid) -> Uuid {
    Uuid::new_v5(&MESSAGE_ID_NAMESPACE, event_id.as_bytes())
}

/// Longest pause between two attempts: a gateway outage is retried at least
/// once a minute, so messages go out soon after it recovers.
pub(crate) const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Pause after the `attempts_made`-th failed attempt: 1 s, 2 s, 4 s … 60 s.
pub(crate) fn backoff(attempts_made: u32) -> Duration {
    let exp = attempts_made.saturating_sub(1).min(16);
    Duration::from_secs(1u64 << exp).min(MAX_BACKOFF)
}

/// What happens to a delivery after a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    RetryIn(Duration),
    GiveUp,
}

/// `permanent` failures (the gateway refused the message itself) are not
/// retried: sending the same request again cannot succeed.
pub(crate) fn after_failure(attempts_made: u32, max_attempts: u32, permanent: bool) -> AfterFailure {
    if permanent || attempts_made >= max_attempts {
        AfterFailure::GiveUp
    } else {
        AfterFailure::RetryIn(backoff(attempts_made))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_deterministic_and_distinct() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        assert_eq!(message_id(a), message_id(a));
        assert_ne!(message_id(a), message_id(b));
        assert_ne!(message_id(a), a);
    }

    #[test]
    fn backoff_doubles_up_to_a_minute() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(0), Duration::from_secs(1));
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn gives_up_after_max_attempts_or_permanent_refusal() {
        assert_eq!(after_failure(1, 8, false), AfterFailure::RetryIn(Duration::from_secs(1)));
        assert_eq!(after_failure(7, 8, false), AfterFailure::RetryIn(Duration::from_secs(60)));
        assert_eq!(after_failure(8, 8, false), AfterFailure::GiveUp);
        assert_eq!(after_failure(1, 8, true), AfterFailure::GiveUp);
    }
}
