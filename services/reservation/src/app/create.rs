//! CreateReservation: identity, eligibility and the slot, then one statement
//! taking the place, writing the row and queueing the event; the
//! idempotency key is looked up only when something refuses the booking.
//! The booking code is drawn at random and drawn again if it is taken.
use uuid::Uuid;
use yeyak_platform::{grpc::VerifiedPass, metrics::Stage};

use super::{now, Booking, KnownSlot};
use crate::{
    clients::Verdict,
    domain::{self, BookingCode, NewBooking, Reservation, State},
    error::{Credential, ReservationError},
    events,
};

/// Draws of a booking code before a booking fails. Even with 150 million
/// codes taken (the whole country, several doses) a draw is taken with
/// probability 0.9%, and eight in a row with probability 10^-16.
const CODE_DRAWS: u32 = 8;

impl Booking {
    pub(crate) async fn create(&self, pass: &VerifiedPass, b: NewBooking) -> Result<Reservation, ReservationError> {
        let agent = match b.agent_assertion.as_str() {
            "" => String::new(),
            token => self.identify(pass, Credential::Agent, token).await?.subject,
        };
        let subject = match b.consent_token.as_str() {
            "" => self.identify(pass, Credential::Identity, &b.identity_assertion).await?.subject,
            token => self.consented(pass, token, &agent)?.subject,
        };
        if agent == subject {
            return Err(ReservationError::AgentIsSubject);
        }
        let hash = domain::request_hash(b.slot_id, b.dose_number, &agent);
        // Found full a moment ago: refused before eligibility and the
        // statement (see `full`), so a rush on a full slot costs one lookup.
        if self.full.is_full(&b.slot_id) {
            return self.original_or(&subject, &b.idempotency_key, &hash, ReservationError::SlotFull).await;
        }
        // No read of the idempotency key first: a retry is rare, and the
        // statement's unique index finds it anyway. Every refusal below asks
        // for the key before answering, so a retry of a booking that
        // succeeded gets the original answer even if the slot has filled, a
        // dependency is down, or eligibility now says "already booked".
        // Eligibility and the slot are independent reads: asked at once.
        let (eligibility, slot) = tokio::join!(self.eligible(pass, &b), self.find_slot(b.slot_id));
        let KnownSlot { slot, first } = match (eligibility, slot) {
            (Ok(()), Ok(known)) => known,
            (Err(e), _) | (_, Err(e)) => return self.original_or(&subject, &b.idempotency_key, &hash, e).await,
        };
        let now = now();
        if !domain::bookable(slot.starts_at, now) {
            return self.original_or(&subject, &b.idempotency_key, &hash, ReservationError::SlotStarted).await;
        }
        if first == Some(0) {
            self.full.note(slot.slot_id);
            return self.original_or(&subject, &b.idempotency_key, &hash, ReservationError::SlotFull).await;
        }
        let reservation_id = Uuid::now_v7();
        // Sealed here, bound to the reservation: from now on only
        // notification can read the number.
        let sealed_contact = self.contact.seal(reservation_id.as_bytes(), b.contact_phone.expose());
        let mut reservation = Reservation {
            reservation_id,
            booking_code: BookingCode::generate(&mut rand::thread_rng()),
            subject_id: subject,
            agent_subject_id: agent,
            idempotency_key: b.idempotency_key,
            request_hash: hash,
            slot,
            dose_number: b.dose_number,
            sealed_contact,
            state: State::Confirmed,
            created_at: now,
            updated_at: now,
        };
        let booked = self.book_with_free_code(&mut reservation, pass, first).await;
        // A place taken or refused as full: either way the counter now exists.
        if first.is_some() && matches!(booked, Ok(_) | Err(ReservationError::SlotFull)) {
            self.remember(&reservation.slot);
        }
        if matches!(booked, Err(ReservationError::SlotFull)) {
            self.full.note(reservation.slot.slot_id);
        }
        match booked {
            Ok(created) => {
                self.relay.notify_one();
                if let Some(funnel) = &self.funnel {
                    funnel.count(&pass.pass.queue_id, Stage::Booked);
                }
                Ok(created)
            }
            // A concurrent retry with the same key won, the person holds this
            // dose, or (full) this is a retry of a booking that took the last place.
            Err(e @ (ReservationError::AlreadyBooked | ReservationError::SlotFull)) => {
                let r = &reservation;
                self.original_or(&r.subject_id, &r.idempotency_key, &r.request_hash, e).await
            }
            Err(e) => Err(e),
        }
    }

    /// Books `r`, drawing a new booking code (and so a new event) while the
    /// one drawn belongs to another reservation. A taken code fails the
    /// whole statement, so every failed draw wrote nothing: no place, no
    /// row, no event.
    async fn book_with_free_code(
        &self,
        r: &mut Reservation,
        pass: &VerifiedPass,
        first: Option<u32>,
    ) -> Result<Reservation, ReservationError> {
        for _ in 0..CODE_DRAWS {
            let event = events::confirmed(r, &pass.pass);
            match self.store.book(r, &event, first).await {
                Err(ReservationError::BookingCodeTaken) => {
                    tracing::info!(reservation_id = %r.reservation_id, "booking code taken; drawing another");
                    r.booking_code = BookingCode::generate(&mut rand::thread_rng());
                }
                booked => return booked,
            }
        }
        Err(ReservationError::Invariant(format!("no free booking code in {CODE_DRAWS} draws")))
    }

    /// Ok when the subject may book the dose now.
    async fn eligible(&self, pass: &VerifiedPass, b: &NewBooking) -> Result<(), ReservationError> {
        match self.eligibility.check(pass, b).await? {
            Verdict::Eligible => Ok(()),
            Verdict::NotEligible { reason, detail } => Err(ReservationError::NotEligible { reason, detail }),
        }
    }
}
