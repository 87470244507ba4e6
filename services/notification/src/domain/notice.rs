//! Turns a reservation event into the SMS it causes. Texts are short Korean
//! notices that identify the reservation by its booking code only (the
//! "예약번호" a person reads out to support staff): no name, no resident
//! registration number, nothing a stranger reading the phone could misuse.
use chrono_tz::Asia::Seoul;
use prost::Message as _;
use uuid::Uuid;
use yeyak_platform::contact::{ContactKeys, OpenError};
use yeyak_proto::events::v1::{
    self as ev,
    routing::{RESERVATION_CANCELLED, RESERVATION_CONFIRMED, RESERVATION_RESCHEDULED},
};

use super::BookingCode;

/// The SMS one event asks for.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Notice {
    pub(crate) reservation_id: Uuid,
    /// `None` for an event from a build before booking codes.
    pub(crate) booking_code: Option<BookingCode>,
    /// The routing key of the event.
    pub(crate) event_type: &'static str,
    /// Where to send it; `None` when the reservation left no phone number
    /// (nothing to send).
    pub(crate) contact: Option<Contact>,
    pub(crate) text: String,
    /// Who may read the delivery: the reservation's pseudonymous subject id
    /// and, for a proxy booking, the agent's (empty when none or from an
    /// event without them).
    pub(crate) owners: Owners,
    /// The W3C context of the message that carried the event (its publish
    /// span), kept with the delivery so the SMS, sent later, joins the
    /// booking's trace. Set by the consumer; `None` when it carried none.
    pub(crate) traceparent: Option<String>,
    /// The booking event (admission queue) a confirmation ends the funnel
    /// of; `None` for the other messages.
    pub(crate) funnel_event: Option<String>,
}

/// The pseudonymous subject ids (yeyak_platform::pseudonym: an HMAC of the
/// person, not the person) an event names. Kept with the delivery so a
/// person can read their own SMS status and nobody else's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Owners {
    pub(crate) subject_id: String,
    /// Only `reservation.confirmed.v1` carries it; the agent still sees the
    /// later messages of the reservation (the store matches by reservation).
    pub(crate) agent_subject_id: String,
}

/// A destination as this service keeps it: the number sealed to its own key
/// (as reservation sealed it, bound to the reservation), opened only in
/// memory to send, and the masked form support staff and logs see.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Contact {
    pub(crate) sealed: Vec<u8>,
    pub(crate) masked: String,
}

/// Shows the masked number only.
impl std::fmt::Debug for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Contact({})", self.masked)
    }
}

/// Hand-written so that a stray `{:?}` can never log a phone number.
impl std::fmt::Debug for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notice")
            .field("reservation_id", &self.reservation_id)
            .field("booking_code", &self.booking_code)
            .field("event_type", &self.event_type)
            .field("to", &self.contact.as_ref().map(|c| c.masked.as_str()))
            .finish_non_exhaustive()
    }
}

/// Why an event cannot become an SMS; never retried (dead-lettered).
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("unexpected routing key {0}")]
    UnknownRoutingKey(String),
    #[error("payload is not a valid event: {0}")]
    Malformed(#[from] prost::DecodeError),
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: &'static str },
    /// Sealed under a key this replica does not hold (YEYAK_CONTACT_KEYS is
    /// missing a key), tampered with, or not sealed for this reservation.
    #[error("sealed_contact: {0}")]
    Contact(#[from] OpenError),
}

/// `keys` open the sealed number, in memory, to check it and mask it.
pub(crate) fn decode(routing_key: &str, payload: &[u8], keys: &ContactKeys) -> Result<Notice, DecodeError> {
    match routing_key {
        RESERVATION_CONFIRMED => {
            let e = ev::ReservationConfirmed::decode(payload)?;
            let id = reservation_id(&e.reservation_id)?;
            let code = booking_code(&e.booking_code)?;
            let mut parts = vec!["[예약]".to_owned()];
            parts.extend(label(&e.clinic_name));
            parts.push(seoul_time(e.starts_at.as_ref())?);
            parts.extend(label(&e.vaccine_code));
            if e.dose_number > 0 {
                parts.push(format!("{}차", e.dose_number));
            }
            parts.push(format!("접종 예약이 확정되었습니다. 예약번호 {}", number(id, code.as_ref())));
            Ok(Notice {
                reservation_id: id,
                booking_code: code,
                event_type: RESERVATION_CONFIRMED,
                contact: contact(id, e.sealed_contact, keys)?,
                text: parts.join(" "),
                owners: Owners { subject_id: e.subject_id, agent_subject_id: e.agent_subject_id },
                traceparent: None,
                funnel_event: Some(e.admission_queue_id).filter(|q| !q.is_empty()),
            })
        }
        RESERVATION_CANCELLED => {
            let e = ev::ReservationCancelled::decode(payload)?;
            let id = reservation_id(&e.reservation_id)?;
            let code = booking_code(&e.booking_code)?;
            let text = if e.reason == ev::ChangeReason::SupplyChange as i32 {
                format!(
                    "[예약] 예약번호 {} 접종기관 일정 변경으로 예약이 취소되었습니다. 가까운 날짜에 옮길 자리가 없었습니다. 다시 예약해 주세요.",
                    number(id, code.as_ref())
                )
            } else {
                format!("[예약] 예약번호 {} 접종 예약이 취소되었습니다.", number(id, code.as_ref()))
            };
            let contact = contact(id, e.sealed_contact, keys)?;
            let owners = Owners { subject_id: e.subject_id, ..Owners::default() };
            Ok(Notice {
                reservation_id: id,
                booking_code: code,
                event_type: RESERVATION_CANCELLED,
                contact,
                text,
                owners,
                traceparent: None,
                funnel_event: None,
            })
        }
        RESERVATION_RESCHEDULED => {
            let e = ev::ReservationRescheduled::decode(payload)?;
            let id = reservation_id(&e.reservation_id)?;
            let code = booking_code(&e.booking_code)?;
            let mut place = label(&e.clinic_name).into_iter().collect::<Vec<_>>();
            place.push(seoul_time(e.starts_at.as_ref())?);
            let text = if e.reason == ev::ChangeReason::SupplyChange as i32 {
                // Said once, with all that changed: the place and time, and the vaccine if it did.
                let vaccine = match (label(&e.previous_vaccine_code), label(&e.vaccine_code)) {
                    (Some(old), Some(new)) if old != new => format!(" 백신이 {old}에서 {new}(으)로 바뀌었습니다."),
                    _ => String::new(),
                };
                let n = number(id, code.as_ref());
                format!("[예약] 예약번호 {n} 접종기관 일정 변경으로 예약이 {} 으로 옮겨졌습니다.{vaccine}", place.join(" "))
            } else {
                format!("[예약] 예약번호 {} 예약이 {} 으로 변경되었습니다.", number(id, code.as_ref()), place.join(" "))
            };
            let contact = contact(id, e.sealed_contact, keys)?;
            let owners = Owners { subject_id: e.subject_id, ..Owners::default() };
            Ok(Notice {
                reservation_id: id,
                booking_code: code,
                event_type: RESERVATION_RESCHEDULED,
                contact,
                text,
                owners,
                traceparent: None,
                funnel_event: None,
            })
        }
        other => Err(DecodeError::UnknownRoutingKey(other.to_owned())),
    }
}

/// The booking event a confirmation belongs to, read from an event that
/// may not decode as a whole (it is about to be dead-lettered).
pub(crate) fn funnel_event(routing_key: &str, payload: &[u8]) -> Option<String> {
    (routing_key == RESERVATION_CONFIRMED)
        .then(|| ev::ReservationConfirmed::decode(payload).ok())
        .flatten()
        .map(|e| e.admission_queue_id)
        .filter(|q| !q.is_empty())
}

fn reservation_id(s: &str) -> Result<Uuid, DecodeError> {
    Uuid::parse_str(s).map_err(|_| DecodeError::Invalid { field: "reservation_id", reason: "must be a UUID" })
}

/// The event's booking code; absent from a build before codes. A code that
/// does not check out is the producer's bug: the event is refused rather
/// than an SMS printed with a number nobody can find.
fn booking_code(s: &str) -> Result<Option<BookingCode>, DecodeError> {
    if s.is_empty() {
        return Ok(None);
    }
    BookingCode::parse(s).map(Some).map_err(|_| DecodeError::Invalid { field: "booking_code", reason: "is not a booking code" })
}

/// The number the SMS prints: the booking code. An event from before codes
/// gets the whole reservation id, which support can look up; a prefix of it
/// would be its timestamp, shared by every booking of the same minute.
fn number(id: Uuid, code: Option<&BookingCode>) -> String {
    code.map_or_else(|| id.to_string(), BookingCode::to_string)
}

/// A display label from an event, cleaned of control characters (an SMS is
/// one line) and capped, or nothing when empty.
fn label(s: &str) -> Option<String> {
    let clean: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(40).collect();
    let clean = clean.split_whitespace().collect::<Vec<_>>().join(" ");
    (!clean.is_empty()).then_some(clean)
}

/// Slot start as printed to citizens: always Korean local time.
fn seoul_time(ts: Option<&prost_types::Timestamp>) -> Result<String, DecodeError> {
    const MISSING: DecodeError = DecodeError::Invalid { field: "starts_at", reason: "is required" };
    let utc = ts.and_then(yeyak_proto::time::from_proto).ok_or(MISSING)?;
    Ok(utc.with_timezone(&Seoul).format("%Y-%m-%d %H:%M").to_string())
}

/// Opens the sealed number in memory to check it is a mobile number and to
/// mask it; the plain digits are wiped when this returns. An absent number
/// means no SMS.
fn contact(reservation_id: Uuid, sealed: Vec<u8>, keys: &ContactKeys) -> Result<Option<Contact>, DecodeError> {
    if sealed.is_empty() {
        return Ok(None);
    }
    let phone = keys.open(reservation_id.as_bytes(), &sealed)?;
    let digits = yeyak_platform::validate::mobile_phone("contact_phone", &phone)
        .map_err(|_| DecodeError::Invalid { field: "sealed_contact", reason: "is not a mobile number" })?;
    let masked = yeyak_platform::validate::mask_phone(&digits);
    Ok(Some(Contact { sealed, masked }))
}

#[cfg(test)]
#[path = "notice_tests.rs"]
mod tests;
