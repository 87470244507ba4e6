//! InventoryOperatorService: supply changes and slot sizes, for operators.
//! Not behind the admission pass: every call carries `authorization: Bearer
//! <token>` of a named operator (docs/operators.md). Fields are validated
//! first (that reveals nothing), then the caller is authenticated, then one
//! use case runs; the use case checks the role and writes the audit row.
use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::status,
    operators::{OperatorIdentity, Operators},
    validate,
};
use yeyak_proto::inventory::v1::{self as pb, inventory_operator_service_server::InventoryOperatorService};

use super::status::in_scope;
use crate::{
    app::{Catalogue, SupplyRequest},
    domain::{self, supply},
    error::InventoryError,
};

pub(crate) struct OperatorApi {
    catalogue: Catalogue,
    operators: Operators,
}

impl OperatorApi {
    pub(crate) fn new(catalogue: Catalogue, operators: Operators) -> Self {
        Self { catalogue, operators }
    }

    fn operator<T>(&self, request: &Request<T>) -> Result<OperatorIdentity, Status> {
        self.operators.authenticate(request.metadata()).map_err(|e| InventoryError::from(e).into())
    }
}

/// The scope and the move bound of a CloseSlots or ChangeVaccine.
pub(crate) fn supply_request(
    scope: Option<&pb::SlotScope>,
    new_vaccine: Option<String>,
    max_move_days: u32,
    dry_run: bool,
) -> Result<SupplyRequest, Status> {
    let scope = scope.ok_or_else(|| status::invalid_argument("scope", "is required"))?;
    let clinic_id = validate::uuid("scope.clinic_id", &scope.clinic_id)?;
    let scope =
        supply::scope(clinic_id, &scope.date, &scope.from_local_time, &scope.to_local_time, &scope.vaccine_code).map_err(in_scope)?;
    let max_move_days = supply::move_days(max_move_days).map_err(|e| Status::from(InventoryError::from(e)))?;
    Ok(SupplyRequest { scope, new_vaccine, max_move_days, dry_run })
}

#[tonic::async_trait]
impl InventoryOperatorService for OperatorApi {
    async fn close_slots(&self, request: Request<pb::CloseSlotsRequest>) -> Result<Response<pb::CloseSlotsResponse>, Status> {
        let req = request.get_ref();
        let supply = supply_request(req.scope.as_ref(), None, req.max_move_days, req.dry_run)?;
        let operator = self.operator(&request)?;
        let change = self.catalogue.change_supply(&operator, supply).await?;
        Ok(Response::new(pb::CloseSlotsResponse { change: Some(change) }))
    }

    async fn change_vaccine(&self, request: Request<pb::ChangeVaccineRequest>) -> Result<Response<pb::ChangeVaccineResponse>, Status> {
        let req = request.get_ref();
        let vaccine = domain::vaccine_code(&req.new_vaccine_code).map_err(|e| status::invalid_argument("new_vaccine_code", e.reason))?;
        let supply = supply_request(req.scope.as_ref(), Some(vaccine.to_owned()), req.max_move_days, req.dry_run)?;
        let operator = self.operator(&request)?;
        let change = self.catalogue.change_supply(&operator, supply).await?;
        Ok(Response::new(pb::ChangeVaccineResponse { change: Some(change) }))
    }

    async fn resize_slot(&self, request: Request<pb::ResizeSlotRequest>) -> Result<Response<pb::ResizeSlotResponse>, Status> {
        let req = request.get_ref();
        let slot_id = validate::uuid("slot_id", &req.slot_id)?;
        let operator = self.operator(&request)?;
        Ok(Response::new(self.catalogue.resize_by(&operator, slot_id, req.capacity, req.dry_run).await?))
    }
}
