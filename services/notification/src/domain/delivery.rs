//! A delivery as it is stored and as support staff see it, and how they ask
//! for one.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::BookingCode;

/// Delivery states as stored in the `deliveries.state` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeliveryState {
    Pending,
    Sent,
    Failed,
    /// Handed to a gateway whose answer never came and whose status lookup
    /// could not tell either: re-checked at that gateway, never resent
    /// elsewhere, until it answers or an operator resolves it.
    Unknown,
    /// Dropped by an operator.
    Discarded,
}

impl DeliveryState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Unknown => "unknown",
            Self::Discarded => "discarded",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            "unknown" => Some(Self::Unknown),
            "discarded" => Some(Self::Discarded),
            _ => None,
        }
    }
}

/// What the sender posts for a delivery: the text, and the W3C trace
/// context its row kept (the message that caused it), which the gateway
/// call continues so the SMS is part of the booking's trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SmsText {
    pub(crate) body: String,
    pub(crate) traceparent: Option<String>,
}

/// A delivery as support staff see it: the masked number only, so nothing
/// that leaves the service can reveal whom a reservation belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DeliveryRecord {
    pub(crate) message_id: Uuid,
    pub(crate) reservation_id: Uuid,
    /// `None` for a message recorded from an event before booking codes.
    pub(crate) booking_code: Option<BookingCode>,
    /// The routing key of the event that caused the SMS.
    pub(crate) event_type: String,
    /// `None` for a stored state this build does not know (shown as
    /// unspecified rather than failing the whole lookup).
    pub(crate) state: Option<DeliveryState>,
    pub(crate) masked_phone: String,
    pub(crate) attempts: i32,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) sent_at: Option<DateTime<Utc>>,
    /// The gateway that sent it, or that it is waiting on (unknown outcome).
    pub(crate) gateway: Option<String>,
    /// Why the last attempt failed (gateway answers and transport errors,
    /// never a number or a text).
    pub(crate) last_error: Option<String>,
}

/// Which deliveries a status request asks for: exactly one selector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Every SMS of one reservation, oldest event first.
    Reservation(Uuid),
    /// The same, by the booking code a caller reads from the SMS.
    BookingCode(BookingCode),
    /// One SMS by its message id (the gateway's idempotency key).
    Message(Uuid),
}

/// How an audit record names what was looked up (ids and codes, never a
/// person).
impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lookup::Reservation(id) => write!(f, "reservation {id}"),
            Lookup::BookingCode(code) => write!(f, "booking_code {code}"),
            Lookup::Message(id) => write!(f, "message {id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip() {
        for s in [DeliveryState::Pending, DeliveryState::Sent, DeliveryState::Failed, DeliveryState::Unknown, DeliveryState::Discarded] {
            assert_eq!(DeliveryState::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryState::parse("lost"), None);
    }
}
