//! `Catalogue`: what changes the catalogue or the read model, and the slot
//! lookup the reservation service books against. Unlike [`super::Search`]
//! it never reads through the cache: every answer is the database's.
use uuid::Uuid;
use yeyak_proto::inventory::v1 as pb;

use super::answers::slot_to_pb;
use crate::{
    domain::BookingChange,
    error::InventoryError,
    store::{
        cache::{Cache, Invalidator},
        CatalogStore, Resized,
    },
};

#[derive(Clone)]
pub struct Catalogue {
    pub(super) store: CatalogStore,
    /// The read cache and the queue of its pending invalidations.
    invalidator: Invalidator,
}

impl Catalogue {
    pub fn new(store: CatalogStore, cache: Cache) -> Self {
        Self { store, invalidator: Invalidator::new(cache) }
    }

    /// Flushes the invalidations queued by booking changes (run by startup).
    pub(crate) fn invalidator(&self) -> &Invalidator {
        &self.invalidator
    }

    /// One slot with its clinic's name and address.
    pub(crate) async fn slot(&self, slot_id: Uuid) -> Result<pb::GetSlotResponse, InventoryError> {
        let row = self.store.slot(slot_id).await?.ok_or(InventoryError::UnknownSlot)?;
        Ok(pb::GetSlotResponse { slot: Some(slot_to_pb(row.slot)), clinic_name: row.clinic_name, clinic_address: row.clinic_address })
    }

    /// Changes a slot's size: the catalogue and its outbox event commit together
    /// (the running servers' relay publishes it to the reservation ledger), then
    /// the cached answers that show the slot are invalidated at once. A failed
    /// invalidation is logged: those entries expire by TTL.
    pub async fn resize_slot(&self, slot_id: Uuid, capacity: u32) -> Result<Resized, InventoryError> {
        let capacity = i32::try_from(capacity).map_err(|_| InventoryError::CapacityTooLarge)?;
        let resized = self.store.resize_slot(slot_id, capacity, |_| None).await?.ok_or(InventoryError::UnknownSlot)?;
        if resized.closed_by.is_some() {
            return Err(InventoryError::SlotClosed(slot_id));
        }
        if let Err(e) = self.invalidator.cache().bump(&resized.scopes).await {
            tracing::warn!(error = %e, %slot_id, "cache invalidation after a resize failed; cached answers expire by TTL");
        }
        Ok(resized)
    }

    /// Applies a batch of booking changes in one transaction, each event once.
    /// The cached answers they affect are queued for invalidation once they
    /// committed (coalesced: see `store::cache`).
    pub(crate) async fn apply_bookings(&self, changes: &[&BookingChange]) -> Result<(), InventoryError> {
        let applied = self.store.apply_bookings(changes).await?;
        self.invalidator.touch(applied.scopes);
        for event_id in applied.duplicates {
            tracing::debug!(%event_id, "event already applied");
        }
        for slot_id in applied.unknown_slots {
            tracing::warn!(%slot_id, "an event names a slot the catalogue does not have; ignored");
        }
        Ok(())
    }
}
