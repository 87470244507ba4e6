//! Catalogue operations run by operators (the `yeyak-inventory` subcommands)
//! rather than by the public API.
use uuid::Uuid;

use crate::{
    error::InventoryError,
    store::{cache::Cache, resize::Resized, CatalogStore},
};

/// Changes a slot's size: the catalogue and its outbox event commit together
/// (the running servers' relay publishes it to the reservation ledger), then
/// the cached answers that show the slot are invalidated. A failed
/// invalidation is logged: those entries expire by TTL.
pub async fn resize_slot(store: &CatalogStore, cache: &Cache, slot_id: Uuid, capacity: u32) -> Result<Resized, InventoryError> {
    let resized = store.resize_slot(slot_id, capacity).await?;
    if let Err(e) = cache.bump(&resized.scopes).await {
        tracing::warn!(error = %e, %slot_id, "cache invalidation after a resize failed; cached answers expire by TTL");
    }
    Ok(resized)
}
