//! RPC handlers: `inventory` is the public search API (behind the waiting
//! room), `catalog` the internal slot lookup used by the reservation service.
pub mod catalog;
pub mod inventory;

use std::sync::Arc;

use yeyak_proto::inventory::v1 as pb;

use crate::{
    config::Config,
    domain,
    store::{cache::Invalidator, CatalogStore, SlotRow},
};

/// What every handler shares.
pub struct State {
    pub config: Config,
    pub store: CatalogStore,
    /// The read cache and the queue of its pending invalidations.
    pub invalidator: Invalidator,
}

impl State {
    pub fn new(config: Config, store: CatalogStore, invalidator: Invalidator) -> Arc<Self> {
        Arc::new(Self { config, store, invalidator })
    }
}

fn timestamp(t: chrono::DateTime<chrono::Utc>) -> prost_types::Timestamp {
    // Sub-second nanos stay below 2·10⁹ (even in a leap second): they fit an i32.
    yeyak_proto::timestamp(t.timestamp(), i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0))
}

pub(crate) fn slot_to_pb(row: SlotRow) -> pb::Slot {
    pb::Slot {
        slot_id: row.slot_id.to_string(),
        clinic_id: row.clinic_id.to_string(),
        vaccine_code: row.vaccine_code,
        starts_at: Some(timestamp(row.starts_at)),
        ends_at: Some(timestamp(row.ends_at)),
        capacity: u32::try_from(row.capacity).unwrap_or(0),
        remaining: domain::remaining(row.capacity, row.booked),
    }
}
