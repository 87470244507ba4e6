//! SupplyChangeService: the operators' dry run of a supply change and the
//! progress of its job. Not behind the admission pass: every call carries
//! `authorization: Bearer <token>` of a named operator (docs/operators.md).
//! Fields are validated first (that reveals nothing), then the caller is
//! authenticated, then one use case runs (which checks the role).
use std::sync::Arc;

use tonic::{Request, Response, Status};
use yeyak_platform::{
    operators::{OperatorIdentity, Operators},
    validate,
};
use yeyak_proto::{
    reservation::v1::{self as pb, supply_change_service_server::SupplyChangeService},
    time::to_proto,
};

use super::supply_request::plan_request;
use crate::{app::SupplyChanges, domain::Slot, error::ReservationError};

pub(crate) struct SupplyApi {
    supply: Arc<SupplyChanges>,
    operators: Operators,
}

impl SupplyApi {
    pub(crate) fn new(supply: Arc<SupplyChanges>, operators: Operators) -> Self {
        Self { supply, operators }
    }

    fn operator<T>(&self, request: &Request<T>) -> Result<OperatorIdentity, Status> {
        self.operators.authenticate(request.metadata()).map_err(|e| ReservationError::from(e).into())
    }
}

fn target(slot: Slot, count: u32) -> pb::SupplyTarget {
    let slot_id = if slot.slot_id.is_nil() { String::new() } else { slot.slot_id.to_string() };
    pb::SupplyTarget {
        slot_id,
        clinic_id: slot.clinic_id,
        clinic_name: slot.clinic_name,
        vaccine_code: slot.vaccine_code,
        starts_at: Some(to_proto(slot.starts_at)),
        count,
    }
}

#[tonic::async_trait]
impl SupplyChangeService for SupplyApi {
    async fn plan_supply_change(
        &self,
        request: Request<pb::PlanSupplyChangeRequest>,
    ) -> Result<Response<pb::PlanSupplyChangeResponse>, Status> {
        let plan_request = plan_request(request.get_ref())?;
        let operator = self.operator(&request)?;
        let plan = self.supply.plan(&operator, &plan_request).await?;
        let moved = plan.targets.iter().map(|t| t.1).sum();
        Ok(Response::new(pb::PlanSupplyChangeResponse {
            closing_slots: plan.closing_slots,
            affected: plan.affected,
            moved,
            cancelled: plan.cancelled,
            targets: plan.targets.into_iter().map(|(slot, n)| target(slot, n)).collect(),
            candidate_slots: plan.candidate_slots,
        }))
    }

    async fn get_supply_change(
        &self,
        request: Request<pb::GetSupplyChangeRequest>,
    ) -> Result<Response<pb::GetSupplyChangeResponse>, Status> {
        let change_id = validate::uuid("change_id", &request.get_ref().change_id)?;
        let operator = self.operator(&request)?;
        let (record, progress) = self.supply.status(&operator, change_id).await?;
        let state = if record.finished_at.is_some() { pb::SupplyChangeState::Done } else { pb::SupplyChangeState::Running };
        Ok(Response::new(pb::GetSupplyChangeResponse {
            change_id: change_id.to_string(),
            state: state as i32,
            clinic_id: record.job.clinic_id,
            closed_slots: u32::try_from(record.job.closing.len()).unwrap_or(u32::MAX),
            requested_by: record.job.requested_by,
            started_at: Some(to_proto(record.started_at)),
            finished_at: record.finished_at.map(to_proto),
            total: record.total,
            pending: progress.pending,
            moved: progress.moved,
            cancelled: progress.cancelled,
            skipped: progress.skipped,
            targets: progress.targets.into_iter().map(|(slot, n)| target(slot, n)).collect(),
            max_move_days: record.job.max_move_days,
        }))
    }
}
