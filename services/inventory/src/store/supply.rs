//! Supply changes in the catalogue: a clinic's open slots of a scope close
//! (capacity 0, `closed_by` = the change) or are replaced by slots of another
//! vaccine at the same times and sizes. The slots, their day summaries, the
//! operator's audit row and the `inventory.supply_changed.v1` event commit in
//! one transaction, so the reservation service hears of every change that
//! happened and of none that did not. The reads (clinics, candidates) are in
//! `candidates`.
use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;
use yeyak_platform::{
    messaging::outbox,
    operators::{audit, AuditEvent},
};

use super::{bookings::scopes_of, cache::Scope as CacheScope, CatalogStore, SlotRow};
use crate::{
    domain::{supply::Scope, taken},
    events::OutboxEvent,
};

/// A slot of a scope, open or closed.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct ScopeSlot {
    #[sqlx(flatten)]
    pub slot: SlotRow,
    pub local_date: NaiveDate,
    /// The change that closed it; `None` while open.
    pub closed_by: Option<Uuid>,
}

/// Where a clinic is, and its name.
#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct Clinic {
    pub name: String,
    pub district_code: String,
    pub province_code: String,
}

/// A slot that opens in place of `of`, with `vaccine`.
#[derive(Clone, Debug)]
pub(crate) struct Replacement {
    pub of: Uuid,
    pub slot_id: Uuid,
    pub vaccine: String,
}

/// The slots of a scope (the clinic's index range, in start order).
pub(super) const SCOPE: &str = "SELECT slot_id, clinic_id, vaccine_code, starts_at, ends_at, capacity, booked, local_date, closed_by
     FROM slots WHERE clinic_id = $1 AND starts_at >= $2 AND starts_at < $3 AND ($4::text IS NULL OR vaccine_code = $4)";

/// A scope's slots, locked, with the transaction that will change them.
pub(crate) struct LockedScope {
    tx: Transaction<'static, Postgres>,
    pub(crate) clinic: Clinic,
    pub(crate) slots: Vec<ScopeSlot>,
}

impl CatalogStore {
    /// The scope's slots, open and closed, in start order.
    pub(crate) async fn scope_slots(&self, scope: &Scope) -> Result<Vec<ScopeSlot>, sqlx::Error> {
        sqlx::query_as(&format!("{SCOPE} ORDER BY starts_at, slot_id"))
            .bind(scope.clinic_id)
            .bind(scope.from)
            .bind(scope.to)
            .bind(scope.vaccine.as_deref())
            .fetch_all(&self.pool)
            .await
    }

    /// Locks the scope's slots in slot-id order (as the read model's consumer
    /// locks slots), so concurrent changes and bookings never deadlock; `None`
    /// when the clinic does not exist. Dropping it changes nothing.
    pub(crate) async fn lock_scope(&self, scope: &Scope) -> Result<Option<LockedScope>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let clinic: Option<Clinic> = sqlx::query_as("SELECT name, district_code, province_code FROM clinics WHERE clinic_id = $1")
            .bind(scope.clinic_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(clinic) = clinic else { return Ok(None) };
        let mut slots: Vec<ScopeSlot> = sqlx::query_as(&format!("{SCOPE} ORDER BY slot_id FOR UPDATE"))
            .bind(scope.clinic_id)
            .bind(scope.from)
            .bind(scope.to)
            .bind(scope.vaccine.as_deref())
            .fetch_all(&mut *tx)
            .await?;
        slots.sort_by_key(|s| (s.slot.starts_at, s.slot.slot_id));
        Ok(Some(LockedScope { tx, clinic, slots }))
    }
}

impl LockedScope {
    /// Closes `closing` (slots of this scope) for `change_id`, opens the
    /// `replacements`, and commits with `event` and the operator's `record`.
    /// Returns the cached answers to invalidate.
    pub(crate) async fn apply(
        mut self,
        change_id: Uuid,
        closing: &[Uuid],
        replacements: &[Replacement],
        event: &OutboxEvent,
        record: &AuditEvent,
    ) -> Result<BTreeSet<CacheScope>, sqlx::Error> {
        let closed: Vec<&ScopeSlot> = self.slots.iter().filter(|s| closing.contains(&s.slot.slot_id)).collect();
        sqlx::query("UPDATE slots SET capacity = 0, closed_by = $2 WHERE slot_id = ANY($1)")
            .bind(closing)
            .bind(change_id)
            .execute(&mut *self.tx)
            .await?;
        // Per day summary: (capacity, booked) to add.
        let mut days: BTreeMap<(Uuid, String, NaiveDate), (i32, i32)> = BTreeMap::new();
        let mut scopes = BTreeSet::new();
        let (district, province) = (&self.clinic.district_code, &self.clinic.province_code);
        for s in &closed {
            let day = days.entry((s.slot.clinic_id, s.slot.vaccine_code.clone(), s.local_date)).or_default();
            day.0 -= s.slot.capacity;
            day.1 -= taken(s.slot.booked, s.slot.capacity);
            scopes.extend(scopes_of(s.slot.clinic_id, &s.slot.vaccine_code, district, province));
        }
        if let Some(first) = replacements.first() {
            let clinic_id = closed.first().map(|s| s.slot.clinic_id).unwrap_or_default();
            sqlx::query("INSERT INTO clinic_vaccines (clinic_id, vaccine_code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(clinic_id)
                .bind(&first.vaccine)
                .execute(&mut *self.tx)
                .await?;
            let new: Vec<(&Replacement, &ScopeSlot)> =
                replacements.iter().filter_map(|r| closed.iter().find(|s| s.slot.slot_id == r.of).map(|s| (r, *s))).collect();
            sqlx::query(
                "INSERT INTO slots (slot_id, clinic_id, vaccine_code, starts_at, ends_at, local_date, capacity)
                 SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::date[], $7::int[])",
            )
            .bind(new.iter().map(|(r, _)| r.slot_id).collect::<Vec<_>>())
            .bind(new.iter().map(|(_, s)| s.slot.clinic_id).collect::<Vec<_>>())
            .bind(new.iter().map(|(r, _)| r.vaccine.clone()).collect::<Vec<_>>())
            .bind(new.iter().map(|(_, s)| s.slot.starts_at).collect::<Vec<_>>())
            .bind(new.iter().map(|(_, s)| s.slot.ends_at).collect::<Vec<_>>())
            .bind(new.iter().map(|(_, s)| s.local_date).collect::<Vec<_>>())
            .bind(new.iter().map(|(_, s)| s.slot.capacity).collect::<Vec<_>>())
            .execute(&mut *self.tx)
            .await?;
            for (r, s) in &new {
                days.entry((s.slot.clinic_id, r.vaccine.clone(), s.local_date)).or_default().0 += s.slot.capacity;
                scopes.extend(scopes_of(s.slot.clinic_id, &r.vaccine, district, province));
            }
        }
        upsert_days(&mut self.tx, days, district, province).await?;
        outbox::enqueue(&mut self.tx, event.event_id, event.routing_key, &event.payload, &event.traceparent).await?;
        audit::record(&mut *self.tx, record).await?;
        self.tx.commit().await?;
        Ok(scopes)
    }
}

/// Adds to the day summaries. Every row is locked first, in key order (as
/// the read model's consumer locks them), so the two never deadlock; a day
/// of a new vaccine gets its row. (A row is never both closed and opened:
/// the closed slots' vaccine is never the new one.)
async fn upsert_days(
    tx: &mut Transaction<'static, Postgres>,
    days: BTreeMap<(Uuid, String, NaiveDate), (i32, i32)>,
    district: &str,
    province: &str,
) -> Result<(), sqlx::Error> {
    let days: Vec<Day> = days.into_iter().filter(|(_, d)| *d != (0, 0)).collect();
    let all = Columns::of(days.iter());
    sqlx::query(
        "SELECT 1 FROM daily_availability d
             JOIN unnest($1::uuid[], $2::text[], $3::date[]) AS v(clinic_id, vaccine_code, local_date)
               ON (d.clinic_id, d.vaccine_code, d.local_date) = (v.clinic_id, v.vaccine_code, v.local_date)
             ORDER BY d.clinic_id, d.vaccine_code, d.local_date FOR UPDATE OF d",
    )
    .bind(&all.clinics)
    .bind(&all.vaccines)
    .bind(&all.dates)
    .execute(&mut **tx)
    .await?;
    let closed = Columns::of(days.iter().filter(|d| d.1 .0 < 0));
    sqlx::query(
        "UPDATE daily_availability d SET capacity = d.capacity + v.capacity, booked = d.booked + v.booked
             FROM unnest($1::uuid[], $2::text[], $3::date[], $4::int[], $5::int[]) AS v(clinic_id, vaccine_code, local_date, capacity, booked)
             WHERE (d.clinic_id, d.vaccine_code, d.local_date) = (v.clinic_id, v.vaccine_code, v.local_date)",
    )
    .bind(&closed.clinics)
    .bind(&closed.vaccines)
    .bind(&closed.dates)
    .bind(&closed.capacities)
    .bind(&closed.booked)
    .execute(&mut **tx)
    .await?;
    let opened = Columns::of(days.iter().filter(|d| d.1 .0 > 0));
    sqlx::query(
        "INSERT INTO daily_availability AS d (clinic_id, vaccine_code, local_date, province_code, district_code, capacity)
         SELECT c, v, day, $5, $6, cap FROM unnest($1::uuid[], $2::text[], $3::date[], $4::int[]) AS u(c, v, day, cap)
         ON CONFLICT (clinic_id, vaccine_code, local_date) DO UPDATE SET capacity = d.capacity + EXCLUDED.capacity",
    )
    .bind(&opened.clinics)
    .bind(&opened.vaccines)
    .bind(&opened.dates)
    .bind(&opened.capacities)
    .bind(province)
    .bind(district)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A day summary's key and what to add to its (capacity, booked).
type Day = ((Uuid, String, NaiveDate), (i32, i32));

/// Day rows as the arrays `unnest` takes.
#[derive(Default)]
struct Columns {
    clinics: Vec<Uuid>,
    vaccines: Vec<String>,
    dates: Vec<NaiveDate>,
    capacities: Vec<i32>,
    booked: Vec<i32>,
}

impl Columns {
    fn of<'a>(rows: impl Iterator<Item = &'a Day>) -> Self {
        let mut c = Self::default();
        for ((clinic, vaccine, date), (capacity, booked)) in rows {
            c.clinics.push(*clinic);
            c.vaccines.push(vaccine.clone());
            c.dates.push(*date);
            c.capacities.push(*capacity);
            c.booked.push(*booked);
        }
        c
    }
}
