//! `Search`: regions, clinic search and slot availability, the public reads
//! behind the waiting room. Answers come from the Redis cache when it has
//! them (see `store::cache`), otherwise from PostgreSQL, and are then cached
//! under the version of what they depend on.
use prost::Message;
use yeyak_proto::inventory::v1 as pb;

use super::answers::{clinic_to_pb, group_regions, slot_to_pb};
use crate::{
    domain::{self, AvailabilityQuery, SearchQuery},
    error::InventoryError,
    store::{
        cache::{Cache, Lookup, Scope},
        CatalogStore,
    },
};

#[derive(Clone)]
pub(crate) struct Search {
    store: CatalogStore,
    cache: Cache,
}

/// A cache lookup, decoded.
enum Cached<M> {
    Hit(M),
    /// Compute the answer, and store it under this version if there is one
    /// (none while the cache is bypassed, or after a corrupt entry).
    Miss(Option<String>),
}

impl Search {
    pub(crate) fn new(store: CatalogStore, cache: Cache) -> Self {
        Self { store, cache }
    }

    /// A corrupt entry is treated as a miss.
    async fn lookup<M: Message + Default>(&self, kind: &'static str, scope: &Scope, parts: &str) -> Cached<M> {
        match self.cache.get(kind, scope, parts).await {
            Lookup::Hit(bytes) => M::decode(bytes.as_slice()).map_or(Cached::Miss(None), Cached::Hit),
            Lookup::Miss(version) => Cached::Miss(Some(version)),
            Lookup::Bypass => Cached::Miss(None),
        }
    }

    pub(crate) async fn regions(&self) -> Result<pb::ListRegionsResponse, InventoryError> {
        if let Some(hit) = self.cache.get_regions().await.and_then(|b| pb::ListRegionsResponse::decode(b.as_slice()).ok()) {
            return Ok(hit);
        }
        let rows = self.store.regions().await?;
        let response = pb::ListRegionsResponse { provinces: group_regions(rows) };
        // An empty list means the catalogue is not loaded yet: not worth keeping.
        if !response.provinces.is_empty() {
            self.cache.put_regions(&response.encode_to_vec()).await;
        }
        Ok(response)
    }

    /// One page of the clinics with places left, in clinic-id order.
    pub(crate) async fn clinics(&self, query: &SearchQuery) -> Result<pb::SearchClinicsResponse, InventoryError> {
        let SearchQuery { region, vaccine, range, page_size, after } = query;
        // The key is built from the validated values, so equivalent requests share an entry.
        let code = region.code();
        let scope = Scope::Region { code: code.to_owned(), vaccine: vaccine.clone() };
        let after_part = after.map(|a| a.simple().to_string()).unwrap_or_default();
        let parts = format!("{code}:{vaccine}:{}:{}:{page_size}:{after_part}", range.from, range.to);
        let version = match self.lookup("search", &scope, &parts).await {
            Cached::Hit(hit) => return Ok(hit),
            Cached::Miss(version) => version,
        };
        // One row more than the page tells whether another page exists.
        let mut rows = self.store.search(region, vaccine, *range, *after, page_size + 1).await?;
        let more = rows.len() > *page_size as usize;
        rows.truncate(*page_size as usize);
        let next_page_token = match rows.last() {
            Some(last) if more => domain::encode_page_token(last.clinic_id),
            _ => String::new(),
        };
        let response = pb::SearchClinicsResponse { clinics: rows.into_iter().map(clinic_to_pb).collect(), next_page_token };
        if let Some(version) = version {
            self.cache.put("search", &scope, &parts, &version, &response.encode_to_vec()).await;
        }
        Ok(response)
    }

    /// A clinic's slots for one vaccine over a range, in start order.
    pub(crate) async fn availability(&self, query: &AvailabilityQuery) -> Result<pb::GetAvailabilityResponse, InventoryError> {
        let AvailabilityQuery { clinic_id, vaccine, range } = query;
        let scope = Scope::Clinic { clinic_id: *clinic_id, vaccine: vaccine.clone() };
        let parts = format!("{}:{vaccine}:{}:{}", clinic_id.simple(), range.from, range.to);
        let version = match self.lookup("availability", &scope, &parts).await {
            Cached::Hit(hit) => return Ok(hit),
            Cached::Miss(version) => version,
        };
        let (from, to) = range.instants();
        let rows = self.store.availability(*clinic_id, vaccine, from, to).await?;
        // Only an empty answer costs the extra lookup that tells "no slots" from "no such clinic".
        if rows.is_empty() && !self.store.clinic_exists(*clinic_id).await? {
            return Err(InventoryError::UnknownClinic);
        }
        let response = pb::GetAvailabilityResponse { slots: rows.into_iter().map(slot_to_pb).collect() };
        if let Some(version) = version {
            self.cache.put("availability", &scope, &parts, &version, &response.encode_to_vec()).await;
        }
        Ok(response)
    }
}
