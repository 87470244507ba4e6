//! Loads the deterministic demo catalogue (see `domain::catalogue`) into an
//! empty database with a few multi-row statements (`UNNEST` of arrays), so
//! hundreds of thousands of slots load in seconds.
use std::{ops::Range, sync::Arc};

use chrono::{DateTime, Days, NaiveDate, Utc};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{
    catalogue::{self, DemoClinic, DemoSlot},
    regions::PROVINCES,
};

/// Serialises seeding between replicas that start at once.
const SEED_LOCK: i64 = 0x7965_7961_6b5f_696e;
/// Clinics whose rows go in one statement: about 40,000 slots at 14 days.
const CHUNK: usize = 256;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// False when the catalogue already had clinics (nothing was written).
    pub seeded: bool,
    pub provinces: u64,
    pub districts: u64,
    pub clinics: u64,
    pub slots: u64,
}

/// Seeds all 17 provinces, their demo districts, `clinics_per_district`
/// clinics per district and `days` days of slots from the day after
/// `today_seoul`, unless the catalogue already has clinics. Safe to call from
/// several replicas at once: one seeds, the others find it done.
pub async fn seed_demo(pool: &PgPool, clinics_per_district: u32, days: u32, today_seoul: NaiveDate) -> anyhow::Result<SeedReport> {
    let first_day = today_seoul.checked_add_days(Days::new(1)).ok_or_else(|| anyhow::anyhow!("date out of range"))?;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SEED_LOCK).execute(&mut *tx).await?;
    let populated: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clinics)").fetch_one(&mut *tx).await?;
    if populated {
        return Ok(SeedReport::default());
    }
    let mut report = SeedReport { seeded: true, ..SeedReport::default() };
    (report.provinces, report.districts) = insert_regions(&mut tx).await?;
    let clinics = Arc::new(catalogue::clinics(clinics_per_district));
    let chunks: Vec<Range<usize>> = (0..clinics.len()).step_by(CHUNK).map(|s| s..(s + CHUNK).min(clinics.len())).collect();
    // The next chunk's slots are computed on a blocking thread while the
    // database stores the current one.
    let plan = |range: Range<usize>| {
        let clinics = clinics.clone();
        tokio::task::spawn_blocking(move || slot_columns(&clinics[range], first_day, days))
    };
    let mut next = chunks.first().cloned().map(plan);
    for (i, range) in chunks.iter().enumerate() {
        let Some(planned) = next.take() else { break };
        let columns = planned.await?;
        next = chunks.get(i + 1).cloned().map(plan);
        insert_clinics(&mut tx, &clinics[range.clone()]).await?;
        report.clinics += range.len() as u64;
        report.slots += insert_slots(&mut tx, columns).await?;
    }
    sqlx::query(
        "INSERT INTO daily_availability (clinic_id, vaccine_code, local_date, province_code, district_code, capacity, booked)
         SELECT s.clinic_id, s.vaccine_code, s.local_date, c.province_code, c.district_code, sum(s.capacity), sum(s.booked)
         FROM slots s JOIN clinics c ON c.clinic_id = s.clinic_id
         GROUP BY s.clinic_id, s.vaccine_code, s.local_date, c.province_code, c.district_code",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(report)
}

async fn insert_regions(tx: &mut Transaction<'_, Postgres>) -> Result<(u64, u64), sqlx::Error> {
    let codes: Vec<&str> = PROVINCES.iter().map(|p| p.code).collect();
    let names: Vec<&str> = PROVINCES.iter().map(|p| p.name).collect();
    let provinces = sqlx::query("INSERT INTO provinces (code, name) SELECT * FROM UNNEST($1::text[], $2::text[]) ON CONFLICT DO NOTHING")
        .bind(&codes)
        .bind(&names)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    let districts: Vec<(&str, &str, &str)> =
        PROVINCES.iter().flat_map(|p| p.districts.iter().map(move |(c, n)| (*c, *n, p.code))).collect();
    let districts = sqlx::query(
        "INSERT INTO districts (code, name, province_code) SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
    )
    .bind(districts.iter().map(|d| d.0).collect::<Vec<_>>())
    .bind(districts.iter().map(|d| d.1).collect::<Vec<_>>())
    .bind(districts.iter().map(|d| d.2).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    Ok((provinces, districts))
}

async fn insert_clinics(tx: &mut Transaction<'_, Postgres>, clinics: &[DemoClinic]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO clinics (clinic_id, district_code, province_code, name, address)
         SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])",
    )
    .bind(clinics.iter().map(|c| c.clinic_id).collect::<Vec<_>>())
    .bind(clinics.iter().map(|c| c.district_code).collect::<Vec<_>>())
    .bind(clinics.iter().map(|c| c.province_code).collect::<Vec<_>>())
    .bind(clinics.iter().map(|c| c.name.as_str()).collect::<Vec<_>>())
    .bind(clinics.iter().map(|c| c.address.as_str()).collect::<Vec<_>>())
    .execute(&mut **tx)
    .await?;
    let offers: Vec<(Uuid, &str)> = clinics.iter().flat_map(|c| c.vaccines.iter().map(move |v| (c.clinic_id, *v))).collect();
    sqlx::query("INSERT INTO clinic_vaccines (clinic_id, vaccine_code) SELECT * FROM UNNEST($1::uuid[], $2::text[])")
        .bind(offers.iter().map(|o| o.0).collect::<Vec<_>>())
        .bind(offers.iter().map(|o| o.1).collect::<Vec<_>>())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Default)]
struct SlotColumns {
    slot_id: Vec<Uuid>,
    clinic_id: Vec<Uuid>,
    vaccine_code: Vec<&'static str>,
    starts_at: Vec<DateTime<Utc>>,
    ends_at: Vec<DateTime<Utc>>,
    local_date: Vec<NaiveDate>,
    capacity: Vec<i32>,
}

/// Columns for `UNNEST`, in slot-id order so the primary-key index fills
/// page by page rather than at random.
fn slot_columns(clinics: &[DemoClinic], first_day: NaiveDate, days: u32) -> SlotColumns {
    let mut slots: Vec<(Uuid, DemoSlot)> =
        clinics.iter().flat_map(|c| catalogue::slots(c, first_day, days).into_iter().map(move |s| (c.clinic_id, s))).collect();
    slots.sort_unstable_by_key(|(_, s)| s.slot_id);
    let mut cols = SlotColumns::default();
    for (clinic_id, slot) in slots {
        cols.slot_id.push(slot.slot_id);
        cols.clinic_id.push(clinic_id);
        cols.vaccine_code.push(slot.vaccine_code);
        cols.starts_at.push(slot.starts_at);
        cols.ends_at.push(slot.ends_at);
        cols.local_date.push(slot.local_date);
        cols.capacity.push(slot.capacity);
    }
    cols
}

async fn insert_slots(tx: &mut Transaction<'_, Postgres>, cols: SlotColumns) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query(
        "INSERT INTO slots (slot_id, clinic_id, vaccine_code, starts_at, ends_at, local_date, capacity)
         SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::date[], $7::int4[])",
    )
    .bind(cols.slot_id)
    .bind(cols.clinic_id)
    .bind(cols.vaccine_code)
    .bind(cols.starts_at)
    .bind(cols.ends_at)
    .bind(cols.local_date)
    .bind(cols.capacity)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}
