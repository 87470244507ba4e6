//! Reads and changes of existing reservations, named by id or by booking
//! code. The caller must be the subject or the agent who booked; to anyone
//! else a reservation does not exist (NOT_FOUND, never PERMISSION_DENIED,
//! so neither ids nor codes leak anything).
use uuid::Uuid;
use yeyak_platform::grpc::VerifiedPass;

use super::{now, Booking, KnownSlot};
use crate::{
    domain::{self, Cursor, Reservation, ReservationRef, State},
    error::ReservationError,
    events,
    store::Change,
};

impl Booking {
    pub(crate) async fn get(&self, pass: &VerifiedPass, which: &ReservationRef, assertion: &str) -> Result<Reservation, ReservationError> {
        let caller = self.caller(pass, assertion).await?;
        match self.store.find(which).await? {
            Some(r) if r.visible_to(&caller) => Ok(r),
            _ => Err(ReservationError::NotFound),
        }
    }

    /// One page, newest first, and the cursor of the next page if any.
    pub(crate) async fn list(
        &self,
        pass: &VerifiedPass,
        assertion: &str,
        page_size: u32,
        after: Option<Cursor>,
    ) -> Result<(Vec<Reservation>, Option<Cursor>), ReservationError> {
        let caller = self.caller(pass, assertion).await?;
        let mut page = self.store.list(&caller, after, i64::from(page_size) + 1).await?;
        let next = if page.len() > page_size as usize {
            page.truncate(page_size as usize);
            page.last().map(|r| Cursor { created_at: r.created_at, reservation_id: r.reservation_id })
        } else {
            None
        };
        Ok((page, next))
    }

    pub(crate) async fn cancel(
        &self,
        pass: &VerifiedPass,
        which: &ReservationRef,
        assertion: &str,
    ) -> Result<Reservation, ReservationError> {
        let caller = self.caller(pass, assertion).await?;
        let change = self.store.cancel(which, &caller, now(), events::cancelled).await?;
        let freed = match &change {
            Change::Changed(r) | Change::Unchanged(r) => r.slot.slot_id,
        };
        Ok(self.settle(change, freed))
    }

    pub(crate) async fn reschedule(
        &self,
        pass: &VerifiedPass,
        which: &ReservationRef,
        new_slot: Uuid,
        assertion: &str,
    ) -> Result<Reservation, ReservationError> {
        let caller = self.caller(pass, assertion).await?;
        let current = match self.store.find(which).await? {
            Some(r) if r.visible_to(&caller) => r,
            _ => return Err(ReservationError::NotFound),
        };
        if current.state == State::Cancelled {
            return Err(ReservationError::Cancelled);
        }
        if current.slot.slot_id == new_slot {
            return Ok(current);
        }
        let KnownSlot { slot, first } = self.find_slot(new_slot).await?;
        let now = now();
        if !domain::bookable(slot.starts_at, now) {
            return Err(ReservationError::SlotStarted);
        }
        if let Some(capacity) = first {
            self.store.ensure_ledger(&slot, capacity).await?;
            self.remember(&slot);
        }
        let change = self.store.reschedule(current.reservation_id, &caller, &slot, now, events::rescheduled).await?;
        Ok(self.settle(change, current.slot.slot_id))
    }
}
