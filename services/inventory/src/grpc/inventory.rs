//! InventoryService: regions, clinic search and slot availability. Registered
//! behind the admission-pass interceptor; every field is validated here.
//! Answers come from the Redis cache when it has them (see `store::cache`),
//! otherwise from PostgreSQL, and are then cached under the version of what
//! they depend on.
use std::sync::Arc;

use prost::Message as _;
use tonic::{Request, Response, Status};
use yeyak_platform::grpc::pass::verified_pass;
use yeyak_proto::inventory::v1::{self as pb, inventory_service_server::InventoryService};

use super::{slot_to_pb, State};
use crate::{
    domain,
    error::InventoryError,
    store::{
        cache::{Lookup, Scope},
        DistrictRow,
    },
};

const DEFAULT_PAGE_SIZE: u32 = 20;
const MAX_PAGE_SIZE: u32 = 100;

pub struct InventoryApi {
    state: Arc<State>,
}

impl InventoryApi {
    pub fn new(state: Arc<State>) -> Self {
        Self { state }
    }
}

/// Folds the province-ordered join rows into nested provinces.
fn group_regions(rows: Vec<DistrictRow>) -> Vec<pb::Province> {
    let mut provinces: Vec<pb::Province> = Vec::new();
    for row in rows {
        if provinces.last().is_none_or(|p| p.code != row.province_code) {
            provinces.push(pb::Province { code: row.province_code, name: row.province_name, districts: Vec::new() });
        }
        if let (Some(code), Some(name), Some(p)) = (row.district_code, row.district_name, provinces.last_mut()) {
            p.districts.push(pb::District { code, name });
        }
    }
    provinces
}

/// A cached answer, decoded; a corrupt entry is treated as a miss.
fn decode_cached<M: prost::Message + Default>(bytes: &[u8]) -> Option<M> {
    M::decode(bytes).ok()
}

#[tonic::async_trait]
impl InventoryService for InventoryApi {
    async fn list_regions(&self, request: Request<pb::ListRegionsRequest>) -> Result<Response<pb::ListRegionsResponse>, Status> {
        verified_pass(&request)?;
        let cache = self.state.invalidator.cache();
        if let Some(hit) = cache.get_regions().await.and_then(|b| decode_cached::<pb::ListRegionsResponse>(&b)) {
            return Ok(Response::new(hit));
        }
        let rows = self.state.store.regions().await.map_err(InventoryError::from)?;
        let response = pb::ListRegionsResponse { provinces: group_regions(rows) };
        // An empty list means the catalogue is not loaded yet: not worth keeping.
        if !response.provinces.is_empty() {
            cache.put_regions(&response.encode_to_vec()).await;
        }
        Ok(Response::new(response))
    }

    async fn search_clinics(&self, request: Request<pb::SearchClinicsRequest>) -> Result<Response<pb::SearchClinicsResponse>, Status> {
        verified_pass(&request)?;
        let req = request.into_inner();
        let region = domain::region(&req.region_code)?;
        let vaccine = domain::vaccine_code(&req.vaccine_code)?;
        let range = domain::date_range(&req.from_date, &req.to_date)?;
        let page_size = yeyak_platform::validate::page_size("page_size", req.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
        let after = domain::decode_page_token(&req.page_token)?;
        // The key is built from the validated values, so equivalent requests share an entry.
        let code = match &region {
            domain::Region::Province(c) | domain::Region::District(c) => c.clone(),
        };
        let scope = Scope::Region { code: code.clone(), vaccine: vaccine.to_owned() };
        let parts = format!(
            "{code}:{vaccine}:{}:{}:{page_size}:{}",
            range.from,
            range.to,
            after.map(|a| a.simple().to_string()).unwrap_or_default()
        );
        let cache = self.state.invalidator.cache();
        let version = match cache.get("search", &scope, &parts).await {
            Lookup::Hit(bytes) => match decode_cached::<pb::SearchClinicsResponse>(&bytes) {
                Some(hit) => return Ok(Response::new(hit)),
                None => None,
            },
            Lookup::Miss(version) => Some(version),
            Lookup::Bypass => None,
        };
        // One row more than the page tells whether another page exists.
        let mut rows = self.state.store.search(&region, vaccine, range, after, page_size + 1).await.map_err(InventoryError::from)?;
        let more = rows.len() > page_size as usize;
        rows.truncate(page_size as usize);
        let next_page_token = match rows.last() {
            Some(last) if more => domain::encode_page_token(last.clinic_id),
            _ => String::new(),
        };
        let clinics = rows
            .into_iter()
            .map(|r| pb::ClinicSummary {
                clinic_id: r.clinic_id.to_string(),
                name: r.name,
                district_code: r.district_code,
                address: r.address,
                remaining_total: u32::try_from(r.remaining_total).unwrap_or(u32::MAX),
                available_dates: r.available_dates.iter().map(ToString::to_string).collect(),
            })
            .collect();
        let response = pb::SearchClinicsResponse { clinics, next_page_token };
        if let Some(version) = version {
            cache.put("search", &parts, &version, &response.encode_to_vec()).await;
        }
        Ok(Response::new(response))
    }

    async fn get_availability(
        &self,
        request: Request<pb::GetAvailabilityRequest>,
    ) -> Result<Response<pb::GetAvailabilityResponse>, Status> {
        verified_pass(&request)?;
        let req = request.into_inner();
        let clinic = yeyak_platform::validate::uuid("clinic_id", &req.clinic_id)?;
        let vaccine = domain::vaccine_code(&req.vaccine_code)?;
        let range = domain::date_range(&req.from_date, &req.to_date)?;
        let scope = Scope::Clinic { clinic_id: clinic, vaccine: vaccine.to_owned() };
        let parts = format!("{}:{vaccine}:{}:{}", clinic.simple(), range.from, range.to);
        let cache = self.state.invalidator.cache();
        let version = match cache.get("availability", &scope, &parts).await {
            Lookup::Hit(bytes) => match decode_cached::<pb::GetAvailabilityResponse>(&bytes) {
                Some(hit) => return Ok(Response::new(hit)),
                None => None,
            },
            Lookup::Miss(version) => Some(version),
            Lookup::Bypass => None,
        };
        let (from, to) = range.instants();
        let rows = self.state.store.availability(clinic, vaccine, from, to).await.map_err(InventoryError::from)?;
        // Only an empty answer costs the extra lookup that tells "no slots" from "no such clinic".
        if rows.is_empty() && !self.state.store.clinic_exists(clinic).await.map_err(InventoryError::from)? {
            return Err(InventoryError::NotFound("clinic").into());
        }
        let response = pb::GetAvailabilityResponse { slots: rows.into_iter().map(slot_to_pb).collect() };
        if let Some(version) = version {
            cache.put("availability", &parts, &version, &response.encode_to_vec()).await;
        }
        Ok(Response::new(response))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(p: &str, d: Option<&str>) -> DistrictRow {
        DistrictRow {
            province_code: p.into(),
            province_name: format!("p{p}"),
            district_code: d.map(Into::into),
            district_name: d.map(|d| format!("d{d}")),
        }
    }

    #[test]
    fn regions_nest_in_order() {
        let out = group_regions(vec![row("11", Some("11110")), row("11", Some("11680")), row("36", None), row("41", Some("41117"))]);
        assert_eq!(out.iter().map(|p| p.code.as_str()).collect::<Vec<_>>(), ["11", "36", "41"]);
        assert_eq!(out[0].districts.len(), 2);
        assert!(out[1].districts.is_empty());
        assert_eq!(out[2].districts[0].name, "d41117");
    }
}
