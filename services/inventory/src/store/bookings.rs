//! Applies booking changes from reservation events to the read model: the
//! slot counters and their day summaries change together, and the event ids
//! are recorded in the inbox in the same transaction, so a redelivery is a
//! no-op. A batch of events is one transaction of a fixed number of
//! statements, whatever its size: under a surge the read model keeps up with
//! bookings at one commit per batch.
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use uuid::Uuid;
use yeyak_platform::messaging::inbox;

use super::{cache::Scope, CatalogStore};
use crate::domain::{taken, BookingChange};

/// What applying a batch of events did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Events applied before (redeliveries): nothing changed for them.
    pub duplicates: Vec<Uuid>,
    /// Slots the catalogue does not know (ignored, logged by the caller).
    pub unknown_slots: Vec<Uuid>,
    /// Cached answers that may have changed: each changed clinic and vaccine,
    /// and its district and province for that vaccine.
    pub scopes: BTreeSet<Scope>,
}

#[derive(sqlx::FromRow)]
struct Locked {
    slot_id: Uuid,
    clinic_id: Uuid,
    vaccine_code: String,
    local_date: NaiveDate,
    capacity: i32,
    booked: i32,
    district_code: String,
    province_code: String,
}

/// The cache scopes a change to this clinic's places for `vaccine` touches.
pub(crate) fn scopes_of(clinic_id: Uuid, vaccine: &str, district: &str, province: &str) -> [Scope; 3] {
    [
        Scope::Clinic { clinic_id, vaccine: vaccine.to_owned() },
        Scope::Region { code: district.to_owned(), vaccine: vaccine.to_owned() },
        Scope::Region { code: province.to_owned(), vaccine: vaccine.to_owned() },
    ]
}

impl CatalogStore {
    /// Applies each change once. Slot rows are locked in slot-id order, then
    /// day rows in key order, so concurrent batches (other replicas) never
    /// deadlock.
    pub(crate) async fn apply_bookings(&self, changes: &[&BookingChange]) -> Result<Applied, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<Uuid> = changes.iter().map(|c| c.event_id).collect();
        let mut fresh = inbox::first_deliveries(&mut tx, &ids).await?;
        let mut applied = Applied::default();
        let mut deltas: BTreeMap<Uuid, i32> = BTreeMap::new();
        for change in changes {
            if !fresh.remove(&change.event_id) {
                applied.duplicates.push(change.event_id);
                continue;
            }
            for (&slot_id, &delta) in &change.deltas {
                *deltas.entry(slot_id).or_default() += delta;
            }
        }
        deltas.retain(|_, d| *d != 0);
        if deltas.is_empty() {
            tx.commit().await?;
            return Ok(applied);
        }
        let slot_ids: Vec<Uuid> = deltas.keys().copied().collect();
        let rows: Vec<Locked> = sqlx::query_as(
            // The clinic is looked up per slot by primary key (a lateral
            // subquery kept apart by OFFSET 0), never by hashing the whole
            // clinics table for a batch of a few slots.
            "SELECT s.slot_id, s.clinic_id, s.vaccine_code, s.local_date, s.capacity, s.booked, c.district_code, c.province_code
                 FROM slots s
                 CROSS JOIN LATERAL (SELECT district_code, province_code FROM clinics WHERE clinics.clinic_id = s.clinic_id OFFSET 0) c
                 WHERE s.slot_id = ANY($1) ORDER BY s.slot_id FOR UPDATE OF s",
        )
        .bind(&slot_ids)
        .fetch_all(&mut *tx)
        .await?;
        let (mut updated, mut booked) = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
        let mut days: BTreeMap<(Uuid, String, NaiveDate), i32> = BTreeMap::new();
        for row in rows {
            let Some(delta) = deltas.remove(&row.slot_id) else { continue };
            let now = row.booked.saturating_add(delta);
            updated.push(row.slot_id);
            booked.push(now);
            let change = taken(now, row.capacity) - taken(row.booked, row.capacity);
            if change != 0 {
                applied.scopes.extend(scopes_of(row.clinic_id, &row.vaccine_code, &row.district_code, &row.province_code));
                *days.entry((row.clinic_id, row.vaccine_code, row.local_date)).or_default() += change;
            }
        }
        // What is left names slots the catalogue does not have.
        applied.unknown_slots = deltas.into_keys().collect();
        sqlx::query(
            "UPDATE slots s SET booked = v.booked FROM unnest($1::uuid[], $2::int[]) AS v(slot_id, booked) WHERE s.slot_id = v.slot_id",
        )
        .bind(&updated)
        .bind(&booked)
        .execute(&mut *tx)
        .await?;
        days.retain(|_, c| *c != 0);
        if !days.is_empty() {
            update_days(&mut tx, days).await?;
        }
        tx.commit().await?;
        Ok(applied)
    }
}

/// Adds `days`' changes to their day summaries, locking the rows in key order.
async fn update_days(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    days: BTreeMap<(Uuid, String, NaiveDate), i32>,
) -> Result<(), sqlx::Error> {
    let (mut clinics, mut vaccines, mut dates, mut changes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ((clinic_id, vaccine_code, local_date), change) in days {
        clinics.push(clinic_id);
        vaccines.push(vaccine_code);
        dates.push(local_date);
        changes.push(change);
    }
    sqlx::query(
        "SELECT 1 FROM daily_availability d
             JOIN unnest($1::uuid[], $2::text[], $3::date[]) AS v(clinic_id, vaccine_code, local_date)
               ON (d.clinic_id, d.vaccine_code, d.local_date) = (v.clinic_id, v.vaccine_code, v.local_date)
             ORDER BY d.clinic_id, d.vaccine_code, d.local_date FOR UPDATE OF d",
    )
    .bind(&clinics)
    .bind(&vaccines)
    .bind(&dates)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "UPDATE daily_availability d SET booked = d.booked + v.change
             FROM unnest($1::uuid[], $2::text[], $3::date[], $4::int[]) AS v(clinic_id, vaccine_code, local_date, change)
             WHERE (d.clinic_id, d.vaccine_code, d.local_date) = (v.clinic_id, v.vaccine_code, v.local_date)",
    )
    .bind(&clinics)
    .bind(&vaccines)
    .bind(&dates)
    .bind(&changes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
