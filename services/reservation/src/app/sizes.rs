//! Slot sizes follow the catalogue: the ledger takes the slot's *current*
//! size, re-read from the catalogue, rather than the one an event carried.
//! That makes the use case indifferent to duplicates and to order (a
//! redelivered old event cannot undo a newer change). A cut below what is
//! booked is refused and flagged (see `store::sizes`), never oversold.
use uuid::Uuid;

use super::Booking;
use crate::{domain::SizeChange, error::ReservationError};

impl Booking {
    /// Applies the catalogue's current size of `slot_id` to its ledger.
    /// [`ReservationError::UnknownSlot`] when the catalogue no longer has the
    /// slot (nothing to size). A slot that grew is forgotten by this
    /// replica's memory of full slots (other replicas' memories expire
    /// within their window).
    pub(crate) async fn follow_catalogue_size(&self, slot_id: Uuid) -> Result<SizeChange, ReservationError> {
        let size = self.catalog.slot(slot_id).await?.ok_or(ReservationError::UnknownSlot)?.capacity;
        let change = self.store.apply_size(slot_id, size).await?;
        if matches!(change, SizeChange::Applied { from, to } if to > from) {
            self.full.forget(&slot_id);
        }
        Ok(change)
    }
}
