//! The reads of supply changes: where a clinic is, whether a vaccine is
//! known, and the open slots a change's bookings may move to (internal
//! SupplyCatalogService): the province of the closed clinic, given vaccines,
//! a range of starts. The day summaries of the province (one index range per
//! vaccine) say which clinics have open days; their slots are then one index
//! range each. The clinic's own district comes first, then the slots nearest
//! the middle of the range, so that a limit keeps the likeliest targets.
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{supply::Clinic, CatalogStore, SlotRow};
use crate::domain::today_seoul;

/// A slot bookings may move to.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CandidateRow {
    #[sqlx(flatten)]
    pub slot: SlotRow,
    pub clinic_name: String,
    pub district_code: String,
}

/// The province and district are parameters (not a join on the clinic), so
/// the day rows are one `daily_availability_by_province` range per vaccine.
const CANDIDATES: &str = "
WITH open_days AS (
    SELECT DISTINCT clinic_id, vaccine_code, district_code = $1 AS near
    FROM daily_availability
    WHERE province_code = $2 AND vaccine_code = ANY($3)
      AND local_date BETWEEN $4 AND $5 AND capacity > 0)
SELECT s.slot_id, s.clinic_id, s.vaccine_code, s.starts_at, s.ends_at, s.capacity, s.booked,
       c.name AS clinic_name, c.district_code
FROM open_days o
JOIN slots s ON s.clinic_id = o.clinic_id AND s.vaccine_code = o.vaccine_code AND s.starts_at >= $6 AND s.starts_at < $7
JOIN clinics c ON c.clinic_id = s.clinic_id
WHERE s.closed_by IS NULL AND s.capacity > 0
ORDER BY NOT o.near, abs(extract(epoch FROM s.starts_at - $8)), s.slot_id
LIMIT $9";

impl CatalogStore {
    pub(crate) async fn clinic(&self, clinic_id: Uuid) -> Result<Option<Clinic>, sqlx::Error> {
        sqlx::query_as("SELECT name, district_code, province_code FROM clinics WHERE clinic_id = $1")
            .bind(clinic_id)
            .fetch_optional(&self.pool)
            .await
    }

    /// Whether any clinic offers `vaccine` (a vaccine change to a code
    /// nobody offers is refused as a likely typo).
    pub(crate) async fn vaccine_known(&self, vaccine: &str) -> Result<bool, sqlx::Error> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clinic_vaccines WHERE vaccine_code = $1)")
            .bind(vaccine)
            .fetch_one(&self.pool)
            .await
    }

    /// Up to `limit` open slots with places in the catalogue's sizes; the
    /// caller asks one more than it wants to tell whether more matched.
    pub(crate) async fn candidates(
        &self,
        near: &Clinic,
        vaccines: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<CandidateRow>, sqlx::Error> {
        let middle = from + (to - from) / 2;
        sqlx::query_as(CANDIDATES)
            .bind(&near.district_code)
            .bind(&near.province_code)
            .bind(vaccines)
            .bind(today_seoul(from))
            .bind(today_seoul(to))
            .bind(from)
            .bind(to)
            .bind(middle)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
    }
}
