//! SupplyCatalogService (internal, reservation only, no pass): the slots a
//! supply change would close, and the open slots its bookings may move to.
use tonic::{Request, Response, Status};
use yeyak_platform::{grpc::status, validate};
use yeyak_proto::{
    inventory::v1::{self as pb, supply_catalog_service_server::SupplyCatalogService},
    time::from_proto,
};

use super::status::in_scope;
use crate::{
    app::Catalogue,
    domain::{self, supply},
};

pub(crate) struct SupplyApi {
    catalogue: Catalogue,
}

impl SupplyApi {
    pub(crate) fn new(catalogue: Catalogue) -> Self {
        Self { catalogue }
    }
}

/// A required instant.
fn instant(field: &str, value: Option<&prost_types::Timestamp>) -> Result<chrono::DateTime<chrono::Utc>, Status> {
    value.and_then(from_proto).ok_or_else(|| status::invalid_argument(field, "is required"))
}

/// `[from, to)` no longer than the longest supply change plus its moves.
fn range(
    from: Option<&prost_types::Timestamp>,
    to: Option<&prost_types::Timestamp>,
) -> Result<(chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>), Status> {
    let (from, to) = (instant("starts_from", from)?, instant("starts_before", to)?);
    let longest = chrono::Duration::days(31 + 2 * i64::from(supply::MAX_MOVE_DAYS));
    if to <= from || to - from > longest {
        return Err(status::invalid_argument(
            "starts_before",
            format!("must be after starts_from, by at most {} days", longest.num_days()),
        ));
    }
    Ok((from, to))
}

#[tonic::async_trait]
impl SupplyCatalogService for SupplyApi {
    async fn list_clinic_slots(
        &self,
        request: Request<pb::ListClinicSlotsRequest>,
    ) -> Result<Response<pb::ListClinicSlotsResponse>, Status> {
        let req = request.into_inner();
        let clinic_id = validate::uuid("clinic_id", &req.clinic_id)?;
        let (from, to) = range(req.starts_from.as_ref(), req.starts_before.as_ref())?;
        let vaccine = match req.vaccine_code.as_str() {
            "" => None,
            code => Some(domain::vaccine_code(code).map_err(in_scope)?.to_owned()),
        };
        let scope = supply::Scope { clinic_id, from, to, vaccine };
        Ok(Response::new(self.catalogue.clinic_slots(&scope).await?))
    }

    async fn list_candidate_slots(
        &self,
        request: Request<pb::ListCandidateSlotsRequest>,
    ) -> Result<Response<pb::ListCandidateSlotsResponse>, Status> {
        let req = request.into_inner();
        let clinic_id = validate::uuid("clinic_id", &req.clinic_id)?;
        if req.vaccine_codes.is_empty() {
            return Err(status::invalid_argument("vaccine_codes", "is required"));
        }
        for code in &req.vaccine_codes {
            domain::vaccine_code(code).map_err(|e| status::invalid_argument("vaccine_codes", e.reason))?;
        }
        let (from, to) = range(req.starts_from.as_ref(), req.starts_before.as_ref())?;
        let max = match req.max_slots {
            0 => supply::MAX_CANDIDATES,
            n if n <= supply::MAX_CANDIDATES => n,
            _ => return Err(status::invalid_argument("max_slots", format!("must be at most {}", supply::MAX_CANDIDATES))),
        };
        Ok(Response::new(self.catalogue.candidates(clinic_id, &req.vaccine_codes, from, to, max).await?))
    }
}
