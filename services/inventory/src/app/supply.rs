//! The operators' supply changes (InventoryOperatorService): close a
//! clinic's slots, change their vaccine, resize one slot. Each checks the
//! `operator` role, decides from the scope's current slots, and commits the
//! catalogue change with its event and its audit row in one transaction
//! (`store::supply`, `store::resize`); a dry run decides the same from an
//! unlocked read and writes nothing. Closing what is closed changes nothing,
//! so a change run twice is run once.
use std::collections::BTreeSet;

use uuid::Uuid;
use yeyak_platform::operators::{self, OperatorIdentity, Role};
use yeyak_proto::inventory::v1 as pb;

use super::{answers::slot_to_pb, Catalogue};
use crate::{
    domain::supply::{replacement_slot_id, Scope},
    error::InventoryError,
    events,
    store::{Replacement, ScopeSlot},
};

const CLOSE: &str = "inventory.close_slots";
const CHANGE_VACCINE: &str = "inventory.change_vaccine";
const RESIZE: &str = "inventory.resize_slot";

/// A validated CloseSlots or ChangeVaccine.
#[derive(Clone, Debug)]
pub(crate) struct SupplyRequest {
    pub(crate) scope: Scope,
    /// `Some` for a vaccine change.
    pub(crate) new_vaccine: Option<String>,
    pub(crate) max_move_days: u32,
    pub(crate) dry_run: bool,
}

impl Catalogue {
    /// Closes (or re-vaccinates) the open slots of the request's scope.
    pub(crate) async fn change_supply(
        &self,
        operator: &OperatorIdentity,
        request: SupplyRequest,
    ) -> Result<pb::SupplyChange, InventoryError> {
        let new_vaccine = request.new_vaccine.as_deref();
        let action = if new_vaccine.is_some() { CHANGE_VACCINE } else { CLOSE };
        operator.require(Role::Operator, action)?;
        if let Some(vaccine) = new_vaccine {
            if !self.store.vaccine_known(vaccine).await? {
                return Err(InventoryError::UnknownVaccine(vaccine.to_owned()));
            }
        }
        let clinic_id = request.scope.clinic_id;
        if request.dry_run {
            self.store.clinic(clinic_id).await?.ok_or(InventoryError::UnknownClinic)?;
            let slots = self.store.scope_slots(&request.scope).await?;
            return Ok(decide(&slots, &request, chrono::Utc::now()).answer);
        }
        let locked = self.store.lock_scope(&request.scope).await?.ok_or(InventoryError::UnknownClinic)?;
        let mut decided = decide(&locked.slots, &request, chrono::Utc::now());
        if decided.closing.is_empty() {
            return Ok(decided.answer);
        }
        let change_id = Uuid::now_v7();
        let closed: Vec<&ScopeSlot> = locked.slots.iter().filter(|s| decided.closing.contains(&s.slot.slot_id)).collect();
        let replacements: Vec<Replacement> = match new_vaccine {
            Some(vaccine) => closed
                .iter()
                .map(|s| Replacement {
                    of: s.slot.slot_id,
                    slot_id: replacement_slot_id(clinic_id, s.slot.slot_id, vaccine),
                    vaccine: vaccine.to_owned(),
                })
                .collect(),
            None => Vec::new(),
        };
        let replacement_of = |slot: Uuid| replacements.iter().find(|r| r.of == slot).map(|r| r.slot_id);
        let change = events::SupplyChange {
            change_id,
            clinic_id,
            new_vaccine,
            closed: closed
                .iter()
                .map(|s| (s.slot.slot_id, s.slot.vaccine_code.as_str(), s.slot.starts_at, replacement_of(s.slot.slot_id)))
                .collect(),
            max_move_days: request.max_move_days,
            operator: operator.name(),
        };
        let event = events::supply_changed(&change, chrono::Utc::now());
        let what = match new_vaccine {
            Some(v) => format!("change {change_id}: {} slots replaced by {v} slots; {} booked", closed.len(), decided.answer.booked),
            None => format!("change {change_id}: {} slots closed; {} booked", closed.len(), decided.answer.booked),
        };
        let record = operators::audit(operator, action, &format!("clinic {clinic_id}"), None, Some(&what));
        let scopes = locked.apply(change_id, &decided.closing, &replacements, &event, &record).await?;
        if let Err(e) = self.invalidator().cache().bump(&scopes).await {
            tracing::warn!(error = %e, %change_id, "cache invalidation after a supply change failed; cached answers expire by TTL");
        }
        decided.answer.change_id = change_id.to_string();
        Ok(decided.answer)
    }

    /// Resizes one open slot for an operator; the dry run says what the size
    /// would become against what the read model counts booked.
    pub(crate) async fn resize_by(
        &self,
        operator: &OperatorIdentity,
        slot_id: Uuid,
        capacity: u32,
        dry_run: bool,
    ) -> Result<pb::ResizeSlotResponse, InventoryError> {
        operator.require(Role::Operator, RESIZE)?;
        let size = i32::try_from(capacity).map_err(|_| InventoryError::CapacityTooLarge)?;
        let current = self.store.slot(slot_id).await?.ok_or(InventoryError::UnknownSlot)?.slot;
        if self.store.closed_by(slot_id).await?.is_some() {
            return Err(InventoryError::SlotClosed(slot_id));
        }
        let mut answer = pb::ResizeSlotResponse {
            slot_id: slot_id.to_string(),
            previous_capacity: u32::try_from(current.capacity).unwrap_or(0),
            capacity,
            booked: u32::try_from(current.booked).unwrap_or(0),
            changed: false,
            dry_run,
        };
        if dry_run || current.capacity == size {
            return Ok(answer);
        }
        let record = |previous: i32| {
            let resource = format!("slot {slot_id}");
            Some(operators::audit(operator, RESIZE, &resource, Some(&previous.to_string()), Some(&capacity.to_string())))
        };
        let resized = self.store.resize_slot(slot_id, size, record).await?.ok_or(InventoryError::UnknownSlot)?;
        if resized.closed_by.is_some() {
            return Err(InventoryError::SlotClosed(slot_id));
        }
        if let Err(e) = self.invalidator().cache().bump(&resized.scopes).await {
            tracing::warn!(error = %e, %slot_id, "cache invalidation after a resize failed; cached answers expire by TTL");
        }
        answer.previous_capacity = u32::try_from(resized.previous_capacity).unwrap_or(0);
        answer.changed = resized.event_id.is_some();
        Ok(answer)
    }
}

/// What a change does to a scope's slots: the open ones that have not
/// started close (for a vaccine change, those not already of the new
/// vaccine); closed ones are reported with the changes that closed them,
/// started ones counted (their bookings are past: nothing to move).
struct Decided {
    closing: Vec<Uuid>,
    answer: pb::SupplyChange,
}

fn decide(slots: &[ScopeSlot], request: &SupplyRequest, now: chrono::DateTime<chrono::Utc>) -> Decided {
    let mut earlier = BTreeSet::new();
    let mut answer = pb::SupplyChange { dry_run: request.dry_run, max_move_days: request.max_move_days, ..Default::default() };
    let mut closing = Vec::new();
    for s in slots {
        if let Some(by) = s.closed_by {
            earlier.insert(by);
            answer.already_closed += 1;
        } else if s.slot.starts_at <= now {
            answer.already_started += 1;
        } else if request.new_vaccine.as_deref() != Some(s.slot.vaccine_code.as_str()) {
            closing.push(s.slot.slot_id);
            answer.booked += u32::try_from(s.slot.booked).unwrap_or(0);
            let replacement = request.new_vaccine.as_deref().map(|v| replacement_slot_id(s.slot.clinic_id, s.slot.slot_id, v));
            answer.closed.push(pb::ClosedSlot {
                slot: Some(slot_to_pb(s.slot.clone())),
                replacement_slot_id: replacement.map(|r| r.to_string()).unwrap_or_default(),
            });
        }
    }
    answer.earlier_change_ids = earlier.iter().map(Uuid::to_string).collect();
    Decided { closing, answer }
}
