//! Applies booking changes from reservation events to the read model: the
//! slot counter and its day summary change together, and the event id is
//! recorded in the inbox in the same transaction, so a redelivery is a no-op.
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use uuid::Uuid;
use yeyak_platform::messaging::inbox;

use super::{cache::Scope, CatalogStore};
use crate::domain::taken;

/// What applying one event did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The event had been applied before: nothing changed.
    pub duplicate: bool,
    /// Slots the catalogue does not know (ignored, logged by the caller).
    pub unknown_slots: Vec<Uuid>,
    /// Cached answers that may have changed: each changed clinic and vaccine,
    /// and its district and province for that vaccine.
    pub scopes: BTreeSet<Scope>,
}

#[derive(sqlx::FromRow)]
struct Locked {
    clinic_id: Uuid,
    vaccine_code: String,
    local_date: NaiveDate,
    capacity: i32,
    booked: i32,
    district_code: String,
    province_code: String,
}

/// The cache scopes a change to this clinic's places for `vaccine` touches.
pub fn scopes_of(clinic_id: Uuid, vaccine: &str, district: &str, province: &str) -> [Scope; 3] {
    [
        Scope::Clinic { clinic_id, vaccine: vaccine.to_owned() },
        Scope::Region { code: district.to_owned(), vaccine: vaccine.to_owned() },
        Scope::Region { code: province.to_owned(), vaccine: vaccine.to_owned() },
    ]
}

impl CatalogStore {
    /// `deltas` maps slot ids to booked-count changes (+1 booked, -1 given
    /// back). Rows are locked slots first, then day rows, each in key order,
    /// so concurrent consumers never deadlock.
    pub async fn apply_booking(&self, event_id: Uuid, deltas: &BTreeMap<Uuid, i32>) -> Result<Applied, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, event_id).await? {
            tx.rollback().await?;
            return Ok(Applied { duplicate: true, ..Applied::default() });
        }
        let mut applied = Applied::default();
        let mut days: BTreeMap<(Uuid, String, NaiveDate), i32> = BTreeMap::new();
        for (&slot_id, &delta) in deltas.iter().filter(|(_, d)| **d != 0) {
            let row: Option<Locked> = sqlx::query_as(
                "SELECT s.clinic_id, s.vaccine_code, s.local_date, s.capacity, s.booked, c.district_code, c.province_code
                     FROM slots s JOIN clinics c ON c.clinic_id = s.clinic_id
                     WHERE s.slot_id = $1 FOR UPDATE OF s",
            )
            .bind(slot_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                applied.unknown_slots.push(slot_id);
                continue;
            };
            let booked = row.booked.saturating_add(delta);
            sqlx::query("UPDATE slots SET booked = $2 WHERE slot_id = $1").bind(slot_id).bind(booked).execute(&mut *tx).await?;
            let change = taken(booked, row.capacity) - taken(row.booked, row.capacity);
            if change != 0 {
                applied.scopes.extend(scopes_of(row.clinic_id, &row.vaccine_code, &row.district_code, &row.province_code));
                *days.entry((row.clinic_id, row.vaccine_code, row.local_date)).or_default() += change;
            }
        }
        for ((clinic_id, vaccine_code, local_date), change) in days.into_iter().filter(|(_, c)| *c != 0) {
            sqlx::query(
                "UPDATE daily_availability SET booked = booked + $4
                 WHERE clinic_id = $1 AND vaccine_code = $2 AND local_date = $3",
            )
            .bind(clinic_id)
            .bind(vaccine_code)
            .bind(local_date)
            .bind(change)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(applied)
    }
}
