//! Slot size changes: the catalogue row, its day summary and the
//! `inventory.slot_resized.v1` outbox event commit together, so the
//! reservation service's ledger always hears of a change that happened.
use std::collections::BTreeSet;

use uuid::Uuid;
use yeyak_platform::{
    messaging::outbox,
    operators::{audit, AuditEvent},
};

use super::{bookings::scopes_of, cache::Scope, CatalogStore};
use crate::{domain::taken, events};

/// What a resize did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resized {
    pub slot_id: Uuid,
    pub previous_capacity: i32,
    pub capacity: i32,
    /// None when the size was already `capacity`, or the slot is closed
    /// (nothing written, no event).
    pub event_id: Option<Uuid>,
    /// The supply change that closed the slot: a closed slot is never resized.
    pub closed_by: Option<Uuid>,
    /// Cached answers to invalidate.
    pub scopes: BTreeSet<Scope>,
}

#[derive(sqlx::FromRow)]
struct Current {
    clinic_id: Uuid,
    vaccine_code: String,
    local_date: chrono::NaiveDate,
    capacity: i32,
    booked: i32,
    district_code: String,
    province_code: String,
    closed_by: Option<Uuid>,
}

impl CatalogStore {
    /// Sets a slot's size; `None` when the catalogue has no such slot. A cut
    /// below the read model's booked count shows the slot as full; whether the
    /// cut is acceptable is the ledger's decision (it keeps every booking,
    /// takes no new one and flags the slot). `record` is the operator's audit
    /// row, given the size before; it commits with the change.
    pub(crate) async fn resize_slot(
        &self,
        slot_id: Uuid,
        capacity: i32,
        record: impl FnOnce(i32) -> Option<AuditEvent>,
    ) -> Result<Option<Resized>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let current: Option<Current> = sqlx::query_as(
            "SELECT s.clinic_id, s.vaccine_code, s.local_date, s.capacity, s.booked, c.district_code, c.province_code, s.closed_by
             FROM slots s JOIN clinics c ON c.clinic_id = s.clinic_id
             WHERE s.slot_id = $1 FOR UPDATE OF s",
        )
        .bind(slot_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(current) = current else { return Ok(None) };
        let mut resized = Resized {
            slot_id,
            previous_capacity: current.capacity,
            capacity,
            event_id: None,
            closed_by: current.closed_by,
            scopes: BTreeSet::new(),
        };
        if current.capacity == capacity || current.closed_by.is_some() {
            return Ok(Some(resized));
        }
        // The booked count stays exact; only the places it takes in the day summary change.
        sqlx::query("UPDATE slots SET capacity = $2 WHERE slot_id = $1").bind(slot_id).bind(capacity).execute(&mut *tx).await?;
        sqlx::query(
            "UPDATE daily_availability SET capacity = capacity + $4, booked = booked + $5
             WHERE clinic_id = $1 AND vaccine_code = $2 AND local_date = $3",
        )
        .bind(current.clinic_id)
        .bind(&current.vaccine_code)
        .bind(current.local_date)
        .bind(capacity - current.capacity)
        .bind(taken(current.booked, capacity) - taken(current.booked, current.capacity))
        .execute(&mut *tx)
        .await?;
        let event = events::slot_resized(
            &events::SlotSize {
                slot_id,
                clinic_id: current.clinic_id,
                vaccine_code: &current.vaccine_code,
                previous: current.capacity,
                capacity,
            },
            chrono::Utc::now(),
        );
        outbox::enqueue(&mut tx, event.event_id, event.routing_key, &event.payload, &event.traceparent).await?;
        if let Some(record) = record(current.capacity) {
            audit::record(&mut *tx, &record).await?;
        }
        tx.commit().await?;
        resized.event_id = Some(event.event_id);
        resized.scopes.extend(scopes_of(current.clinic_id, &current.vaccine_code, &current.district_code, &current.province_code));
        Ok(Some(resized))
    }
}
