//! PostgreSQL: the catalogue and the availability read model (`bookings`,
//! `resize`, `seed`), and Redis: the cache of hot answers (`cache`). Reads
//! touch only the precomputed tables and their indexes (see the migration).
pub(crate) mod bookings;
pub mod cache;
mod candidates;
pub(crate) mod resize;
pub(crate) mod seed;
pub(crate) mod supply;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{
    migrate::{MigrateError, Migrator},
    PgPool,
};
use uuid::Uuid;
use yeyak_platform::{
    messaging::tables::{self, Table},
    operators::audit,
};

pub use resize::Resized;
pub(crate) use supply::{Replacement, ScopeSlot};

use crate::domain::{DateRange, Region};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Inventory's own tables, with the platform's outbox (slot size changes and
/// supply changes for the reservation service), inbox (reservation events
/// already applied) and operators' audit trail.
pub async fn migrate(pool: &PgPool) -> Result<(), MigrateError> {
    audit::with_table(tables::migrator(&MIGRATOR, &[Table::Outbox, Table::Inbox])).run(pool).await
}

#[derive(Clone)]
pub struct CatalogStore {
    pool: PgPool,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DistrictRow {
    pub province_code: String,
    pub province_name: String,
    /// `None` for a province without districts.
    pub district_code: Option<String>,
    pub district_name: Option<String>,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ClinicSummaryRow {
    pub clinic_id: Uuid,
    pub name: String,
    pub district_code: String,
    pub address: String,
    pub remaining_total: i64,
    pub available_dates: Vec<NaiveDate>,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub(crate) struct SlotRow {
    pub slot_id: Uuid,
    pub clinic_id: Uuid,
    pub vaccine_code: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: i32,
    pub booked: i32,
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SlotDetailRow {
    #[sqlx(flatten)]
    pub slot: SlotRow,
    pub clinic_name: String,
    pub clinic_address: String,
}

/// Days with places left, summed per clinic, one index range in clinic order;
/// `LIMIT` stops the scan as soon as the page is full.
const SEARCH: &str = "
WITH page AS (
    SELECT clinic_id,
           sum(capacity - booked)::int8 AS remaining_total,
           array_agg(local_date ORDER BY local_date) AS available_dates
    FROM daily_availability
    WHERE {region} = $1 AND vaccine_code = $2 AND local_date BETWEEN $3 AND $4
      AND clinic_id > $5 AND booked < capacity
    GROUP BY clinic_id
    ORDER BY clinic_id
    LIMIT $6)
SELECT p.clinic_id, c.name, c.district_code, c.address, p.remaining_total, p.available_dates
FROM page p JOIN clinics c ON c.clinic_id = p.clinic_id
ORDER BY p.clinic_id";

impl CatalogStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub(crate) async fn regions(&self) -> Result<Vec<DistrictRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT p.code AS province_code, p.name AS province_name, d.code AS district_code, d.name AS district_name
             FROM provinces p LEFT JOIN districts d ON d.province_code = p.code
             ORDER BY p.code, d.code",
        )
        .fetch_all(&self.pool)
        .await
    }

    /// Up to `limit` clinics after `after` (exclusive) in clinic-id order.
    pub(crate) async fn search(
        &self,
        region: &Region,
        vaccine: &str,
        range: DateRange,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<ClinicSummaryRow>, sqlx::Error> {
        let (column, code) = match region {
            Region::Province(code) => ("province_code", code),
            Region::District(code) => ("district_code", code),
        };
        // Two fixed statements (not a parameter) so each plans with its own index.
        let sql = SEARCH.replace("{region}", column);
        sqlx::query_as(&sql)
            .bind(code)
            .bind(vaccine)
            .bind(range.from)
            .bind(range.to)
            .bind(after.unwrap_or(Uuid::nil()))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
    }

    /// Open slots of one clinic and vaccine starting in `[from, to)`, in start
    /// order (a closed slot takes no booking: it is not shown).
    pub(crate) async fn availability(
        &self,
        clinic: Uuid,
        vaccine: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SlotRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT slot_id, clinic_id, vaccine_code, starts_at, ends_at, capacity, booked FROM slots
             WHERE clinic_id = $1 AND vaccine_code = $2 AND starts_at >= $3 AND starts_at < $4 AND closed_by IS NULL
             ORDER BY starts_at, slot_id",
        )
        .bind(clinic)
        .bind(vaccine)
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await
    }

    /// The supply change that closed the slot; `None` while open (or unknown).
    pub(crate) async fn closed_by(&self, slot: Uuid) -> Result<Option<Uuid>, sqlx::Error> {
        sqlx::query_scalar("SELECT closed_by FROM slots WHERE slot_id = $1")
            .bind(slot)
            .fetch_optional(&self.pool)
            .await
            .map(Option::flatten)
    }

    pub(crate) async fn clinic_exists(&self, clinic: Uuid) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clinics WHERE clinic_id = $1)").bind(clinic).fetch_one(&self.pool).await
    }

    pub(crate) async fn slot(&self, slot: Uuid) -> Result<Option<SlotDetailRow>, sqlx::Error> {
        sqlx::query_as(
            "SELECT s.slot_id, s.clinic_id, s.vaccine_code, s.starts_at, s.ends_at, s.capacity, s.booked,
                    c.name AS clinic_name, c.address AS clinic_address
             FROM slots s JOIN clinics c ON c.clinic_id = s.clinic_id
             WHERE s.slot_id = $1",
        )
        .bind(slot)
        .fetch_optional(&self.pool)
        .await
    }
}
