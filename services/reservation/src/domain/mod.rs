//! Pure booking rules and values: what a reservation is and what a booking
//! asks for, who may see it, when a retry is the same request, how list
//! pages are addressed, and what a size change did. No I/O here.
//! The booking code people read out is `yeyak_platform::booking_code`.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;
use yeyak_platform::Secret;

pub(crate) use yeyak_platform::booking_code::BookingCode;

pub(crate) mod supply;
pub(crate) mod supply_job;

/// Doses a person can book, inclusive.
pub(crate) const DOSES: std::ops::RangeInclusive<u32> = 1..=4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    Confirmed,
    Cancelled,
}

impl State {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            State::Confirmed => "confirmed",
            State::Cancelled => "cancelled",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        match s {
            "confirmed" => Some(State::Confirmed),
            "cancelled" => Some(State::Cancelled),
            _ => None,
        }
    }
}

/// A reservation as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reservation {
    pub reservation_id: Uuid,
    /// What people read out and type; unique (the database enforces it).
    pub booking_code: BookingCode,
    pub subject_id: String,
    /// Empty when the person booked for themselves.
    pub agent_subject_id: String,
    pub idempotency_key: String,
    pub request_hash: Vec<u8>,
    pub slot: Slot,
    pub dose_number: u32,
    /// The phone number sealed to notification's key (`yeyak_platform::contact`):
    /// this service cannot read it. Empty when there is none.
    pub sealed_contact: Vec<u8>,
    pub state: State,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a reservation copies from the catalogue's slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub slot_id: Uuid,
    pub clinic_id: String,
    pub clinic_name: String,
    pub vaccine_code: String,
    pub starts_at: DateTime<Utc>,
}

impl Reservation {
    /// The subject and the agent who booked may see and change a reservation;
    /// to anyone else it does not exist.
    pub(crate) fn visible_to(&self, caller_subject: &str) -> bool {
        !caller_subject.is_empty() && (self.subject_id == caller_subject || self.agent_subject_id == caller_subject)
    }
}

/// How a caller names an existing reservation: an app knows its id, a
/// person reading the SMS knows its booking code. Either way only the
/// subject and the agent get it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ReservationRef {
    Id(Uuid),
    Code(BookingCode),
}

/// A validated CreateReservation request.
#[derive(Clone, Debug)]
pub(crate) struct NewBooking {
    pub idempotency_key: String,
    pub slot_id: Uuid,
    pub identity_assertion: String,
    pub agent_assertion: String,
    /// Stands for `identity_assertion` when an agent books with the subject's consent.
    pub consent_token: String,
    pub dose_number: u32,
    /// Digits only; sealed as soon as the booking has a reservation id, and
    /// never stored, logged or sent as such.
    pub contact_phone: Secret<String>,
}

/// What a catalogue size change did to a slot's ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SizeChange {
    /// The ledger already had this size (or the slot has no ledger yet and
    /// got one of this size).
    Unchanged,
    Applied {
        from: i32,
        to: i32,
    },
    /// The cut went below what is booked: every booking is kept, no new one
    /// is taken, and the slot is flagged until cancellations bring it down.
    Refused {
        booked: i32,
        requested: i32,
    },
}

/// Fingerprint of what the client asked for under one idempotency key: the
/// slot, the dose and the agent, the agent length-prefixed. The phone number
/// is not in it: an unkeyed hash of a number from a space of 10^8 is the
/// number to anyone who reads the table (v1 had it; migration 0003 rewrote
/// the stored hashes as v2). A retry with another number under the same key
/// gets the original booking, with the number it was booked with.
pub(crate) fn request_hash(slot_id: Uuid, dose_number: u32, agent_subject_id: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    h.update(b"yeyak-reservation-request:v2");
    h.update(slot_id.as_bytes());
    h.update(dose_number.to_be_bytes());
    h.update((agent_subject_id.len() as u64).to_be_bytes());
    h.update(agent_subject_id.as_bytes());
    h.finalize().to_vec()
}

/// A slot that has started can no longer be booked or moved to.
pub(crate) fn bookable(starts_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    starts_at > now
}

/// Position after the last reservation of a list page (newest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub created_at: DateTime<Utc>,
    pub reservation_id: Uuid,
}

impl Cursor {
    pub(crate) fn encode(&self) -> String {
        B64.encode(format!("{}:{}", self.created_at.timestamp_micros(), self.reservation_id))
    }

    pub(crate) fn decode(token: &str) -> Option<Self> {
        let raw = String::from_utf8(B64.decode(token).ok()?).ok()?;
        let (micros, id) = raw.split_once(':')?;
        Some(Self { created_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?, reservation_id: id.parse().ok()? })
    }
}

#[cfg(test)]
mod tests;
