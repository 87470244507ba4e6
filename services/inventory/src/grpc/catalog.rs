//! SlotCatalogService: the reservation service's view of one slot. Internal,
//! so it has no admission-pass check (it is not exposed to gateways).
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_proto::inventory::v1::{self as pb, slot_catalog_service_server::SlotCatalogService};

use super::{slot_to_pb, State};
use crate::error::InventoryError;

pub struct CatalogApi {
    state: Arc<State>,
}

impl CatalogApi {
    pub fn new(state: Arc<State>) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl SlotCatalogService for CatalogApi {
    async fn get_slot(&self, request: Request<pb::GetSlotRequest>) -> Result<Response<pb::GetSlotResponse>, Status> {
        let slot_id = yeyak_platform::validate::uuid("slot_id", &request.into_inner().slot_id)?;
        let row = self.state.store.slot(slot_id).await.map_err(InventoryError::from)?.ok_or(InventoryError::NotFound("slot"))?;
        Ok(Response::new(pb::GetSlotResponse {
            slot: Some(slot_to_pb(row.slot)),
            clinic_name: row.clinic_name,
            clinic_address: row.clinic_address,
        }))
    }
}
