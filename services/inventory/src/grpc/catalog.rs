//! SlotCatalogService: the reservation service's view of one slot. Internal,
//! so it has no admission-pass check (it is not exposed to gateways).
use tonic::{Request, Response, Status};
use yeyak_platform::validate;
use yeyak_proto::inventory::v1::{self as pb, slot_catalog_service_server::SlotCatalogService};

use crate::app::Catalogue;

pub(crate) struct CatalogApi {
    catalogue: Catalogue,
}

impl CatalogApi {
    pub(crate) fn new(catalogue: Catalogue) -> Self {
        Self { catalogue }
    }
}

#[tonic::async_trait]
impl SlotCatalogService for CatalogApi {
    async fn get_slot(&self, request: Request<pb::GetSlotRequest>) -> Result<Response<pb::GetSlotResponse>, Status> {
        let slot_id = validate::uuid("slot_id", &request.into_inner().slot_id)?;
        Ok(Response::new(self.catalogue.slot(slot_id).await?))
    }
}
