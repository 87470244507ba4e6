//! CreateReservation: identity, idempotency, eligibility and the slot, then
//! one transaction taking the place, writing the row and queueing the event.
use uuid::Uuid;
use yeyak_platform::grpc::VerifiedPass;

use super::{now, same_request, Booking, KnownSlot};
use crate::{
    domain::{self, Reservation, State},
    error::ReservationError,
    events,
};

/// A validated CreateReservation request.
#[derive(Clone, Debug)]
pub struct NewBooking {
    pub idempotency_key: String,
    pub slot_id: Uuid,
    pub identity_assertion: String,
    pub agent_assertion: String,
    /// Stands for `identity_assertion` when an agent books with the subject's consent.
    pub consent_token: String,
    pub dose_number: u32,
    /// Digits only.
    pub contact_phone: String,
}

impl Booking {
    pub async fn create(&self, pass: &VerifiedPass, b: NewBooking) -> Result<Reservation, ReservationError> {
        let agent = match b.agent_assertion.as_str() {
            "" => String::new(),
            token => self.identify(pass, "agent_assertion", token)?.sub,
        };
        let subject = match b.consent_token.as_str() {
            "" => self.identify(pass, "identity_assertion", &b.identity_assertion)?.sub,
            token => self.consented(pass, token, &agent)?.sub,
        };
        if agent == subject {
            return Err(ReservationError::InvalidArgument {
                field: "agent_assertion",
                reason: "is the subject's own; leave it empty to book for yourself".into(),
            });
        }
        let hash = domain::request_hash(b.slot_id, b.dose_number, &agent, &b.contact_phone);
        if let Some(existing) = self.store.find_by_key(&subject, &b.idempotency_key).await? {
            return same_request(existing, &hash);
        }
        // Eligibility and the slot are independent reads: asked at once.
        let (eligibility, slot) = tokio::join!(self.upstream.check_eligibility(pass, &b), self.find_slot(b.slot_id, "slot_id"),);
        if let Err(e) = eligibility {
            // A concurrent retry may have booked meanwhile (eligibility then says "already booked").
            return match self.store.find_by_key(&subject, &b.idempotency_key).await? {
                Some(existing) => same_request(existing, &hash),
                None => Err(e),
            };
        }
        let known = slot?;
        let now = now();
        if !domain::bookable(known.starts_at(), now) {
            return Err(ReservationError::SlotStarted);
        }
        let (slot, new_ledger) = match known {
            // A slot seen full is refused without a transaction: during a
            // rush on one slot, everyone after the last place costs one read,
            // not a wait on the slot's row lock.
            KnownSlot::Ledger(_, ledger) if ledger.booked >= ledger.capacity => return Err(ReservationError::SlotFull),
            KnownSlot::Ledger(slot, _) => (slot, None),
            // First booking of the slot: its counter is created in the booking's transaction.
            KnownSlot::Catalog(c) => (c.slot, Some(c.capacity)),
        };
        let reservation = Reservation {
            reservation_id: Uuid::now_v7(),
            subject_id: subject,
            agent_subject_id: agent,
            idempotency_key: b.idempotency_key,
            request_hash: hash,
            slot,
            dose_number: b.dose_number,
            contact_phone: b.contact_phone,
            state: State::Confirmed,
            created_at: now,
            updated_at: now,
        };
        match self.store.create(&reservation, &events::confirmed(&reservation, &pass.pass), new_ledger).await {
            Ok(created) => {
                self.relay.notify_one();
                Ok(created)
            }
            // Either a concurrent retry with the same key won, or the person holds this dose.
            Err(ReservationError::AlreadyBooked) => {
                match self.store.find_by_key(&reservation.subject_id, &reservation.idempotency_key).await? {
                    Some(existing) => same_request(existing, &reservation.request_hash),
                    None => Err(ReservationError::AlreadyBooked),
                }
            }
            Err(e) => Err(e),
        }
    }
}
