//! InventoryService: regions, clinic search and slot availability. Registered
//! behind the admission-pass interceptor; every field is validated here, by
//! the rules of `domain`, before [`Search`] runs the query.
use tonic::{Request, Response, Status};
use yeyak_platform::{
    grpc::{pass::verified_pass, VerifiedPass},
    metrics::{Funnel, Stage},
    validate,
};
use yeyak_proto::inventory::v1::{self as pb, inventory_service_server::InventoryService};

use crate::{
    app::Search,
    domain::{self, AvailabilityQuery, Invalid, SearchQuery},
    error::InventoryError,
};

const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_PAGE_SIZE: u32 = 100;

pub(crate) struct InventoryApi {
    search: Search,
    /// `searched`, once per admitted session (a search or an availability read).
    funnel: Funnel,
}

impl InventoryApi {
    pub(crate) fn new(search: Search, funnel: Funnel) -> Self {
        Self { search, funnel }
    }

    fn searched(&self, pass: &VerifiedPass) {
        self.funnel.first(&pass.pass.queue_id, Stage::Searched, &pass.pass.session_id);
    }
}

/// A rule's rejection as the status naming its field (see `status.rs`).
fn invalid(e: Invalid) -> Status {
    InventoryError::from(e).into()
}

fn search_query(req: pb::SearchClinicsRequest) -> Result<SearchQuery, Status> {
    let region = domain::region(&req.region_code).map_err(invalid)?;
    let vaccine = domain::vaccine_code(&req.vaccine_code).map_err(invalid)?.to_owned();
    let range = domain::date_range(&req.from_date, &req.to_date).map_err(invalid)?;
    let page_size = validate::page_size("page_size", req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let after = domain::decode_page_token(&req.page_token).map_err(invalid)?;
    Ok(SearchQuery { region, vaccine, range, page_size, after })
}

fn availability_query(req: pb::GetAvailabilityRequest) -> Result<AvailabilityQuery, Status> {
    let clinic_id = validate::uuid("clinic_id", &req.clinic_id)?;
    let vaccine = domain::vaccine_code(&req.vaccine_code).map_err(invalid)?.to_owned();
    let range = domain::date_range(&req.from_date, &req.to_date).map_err(invalid)?;
    Ok(AvailabilityQuery { clinic_id, vaccine, range })
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    async fn list_regions(&self, request: Request<pb::ListRegionsRequest>) -> Result<Response<pb::ListRegionsResponse>, Status> {
        verified_pass(&request)?;
        Ok(Response::new(self.search.regions().await?))
    }

    async fn search_clinics(&self, request: Request<pb::SearchClinicsRequest>) -> Result<Response<pb::SearchClinicsResponse>, Status> {
        let pass = verified_pass(&request)?;
        let query = search_query(request.into_inner())?;
        let found = self.search.clinics(&query).await?;
        self.searched(&pass);
        Ok(Response::new(found))
    }

    async fn get_availability(
        &self,
        request: Request<pb::GetAvailabilityRequest>,
    ) -> Result<Response<pb::GetAvailabilityResponse>, Status> {
        let pass = verified_pass(&request)?;
        let query = availability_query(request.into_inner())?;
        let found = self.search.availability(&query).await?;
        self.searched(&pass);
        Ok(Response::new(found))
    }
}
