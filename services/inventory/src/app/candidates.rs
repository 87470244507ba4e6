//! The reads of the internal SupplyCatalogService, which the reservation
//! service plans and moves bookings with: a scope's open slots (what a
//! change would close) and the open slots near a clinic (where its bookings
//! may go). Straight from the database, never the cache: a move must not
//! aim at a slot a cached answer still shows open.
use chrono::{DateTime, Utc};
use uuid::Uuid;
use yeyak_proto::inventory::v1 as pb;

use super::{answers::slot_to_pb, Catalogue};
use crate::{domain::supply::Scope, error::InventoryError};

impl Catalogue {
    /// ListClinicSlots: the scope's open slots that have not started, in
    /// start order (what a change of the scope would close).
    pub(crate) async fn clinic_slots(&self, scope: &Scope) -> Result<pb::ListClinicSlotsResponse, InventoryError> {
        let clinic = self.store.clinic(scope.clinic_id).await?.ok_or(InventoryError::UnknownClinic)?;
        let slots = self.store.scope_slots(scope).await?;
        let now = chrono::Utc::now();
        Ok(pb::ListClinicSlotsResponse {
            slots: slots.into_iter().filter(|s| s.closed_by.is_none() && s.slot.starts_at > now).map(|s| slot_to_pb(s.slot)).collect(),
            clinic_name: clinic.name,
        })
    }

    /// ListCandidateSlots: at most `max` open slots of `vaccines` in the
    /// clinic's province starting in `[from, to)`, its district first.
    pub(crate) async fn candidates(
        &self,
        clinic_id: Uuid,
        vaccines: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        max: u32,
    ) -> Result<pb::ListCandidateSlotsResponse, InventoryError> {
        let clinic = self.store.clinic(clinic_id).await?.ok_or(InventoryError::UnknownClinic)?;
        let mut rows = self.store.candidates(&clinic, vaccines, from, to, max.saturating_add(1)).await?;
        let truncated = rows.len() > max as usize;
        rows.truncate(max as usize);
        Ok(pb::ListCandidateSlotsResponse {
            district_code: clinic.district_code,
            province_code: clinic.province_code,
            slots: rows
                .into_iter()
                .map(|r| pb::CandidateSlot { slot: Some(slot_to_pb(r.slot)), clinic_name: r.clinic_name, district_code: r.district_code })
                .collect(),
            truncated,
        })
    }
}
