//! Loads the deterministic demo catalogue (see `domain::catalogue`) into an
//! empty database. The full national catalogue is about ten million slots, so
//! rows go in with `COPY ... FREEZE` (text format) inside one transaction:
//! clinics in id order (their slots' ids follow the clinic's, so both slot
//! indexes fill page by page), the next chunk's rows rendered on a blocking
//! thread while PostgreSQL stores the current one, the day summaries computed
//! here rather than by a ten-million-row `GROUP BY`. Frozen rows need no
//! vacuum pass before index-only scans can skip the heap.
use std::{collections::BTreeMap, fmt::Write as _, ops::Range, sync::Arc, time::Instant};

use chrono::{DateTime, Datelike as _, Days, NaiveDate, Timelike as _, Utc};
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::domain::{
    catalogue::{self, DemoClinic},
    regions::PROVINCES,
};

/// Serialises seeding between replicas that start at once.
const SEED_LOCK: i64 = 0x7965_7961_6b5f_696e;
/// Clinics whose rows go in one `COPY`: about 170,000 slots (25 MB of text)
/// at 56 days.
const CHUNK: usize = 256;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// False when the catalogue already had clinics (nothing was written).
    pub seeded: bool,
    pub provinces: u64,
    pub districts: u64,
    pub clinics: u64,
    pub slots: u64,
    /// Rows of `daily_availability`.
    pub days: u64,
    pub elapsed_ms: u64,
}

/// Seeds all 17 provinces, their 250 districts, `clinics_per_district`
/// clinics per district and `days` days of slots from the day after
/// `today_seoul`, unless the catalogue already has clinics. Safe to call from
/// several replicas at once: one seeds, the others find it done.
pub async fn seed_demo(pool: &PgPool, clinics_per_district: u32, days: u32, today_seoul: NaiveDate) -> anyhow::Result<SeedReport> {
    let started = Instant::now();
    let first_day = today_seoul.checked_add_days(Days::new(1)).ok_or_else(|| anyhow::anyhow!("date out of range"))?;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SEED_LOCK).execute(&mut *tx).await?;
    let populated: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM clinics)").fetch_one(&mut *tx).await?;
    if populated {
        return Ok(SeedReport::default());
    }
    let mut report = SeedReport { seeded: true, ..SeedReport::default() };
    (report.provinces, report.districts) = insert_regions(&mut tx).await?;
    // Empty (checked above); truncating in this transaction is what allows COPY FREEZE.
    sqlx::query("TRUNCATE daily_availability, slots, clinic_vaccines, clinics").execute(&mut *tx).await?;
    let mut clinics = catalogue::clinics(clinics_per_district);
    clinics.sort_unstable_by_key(|c| c.clinic_id);
    let clinics = Arc::new(clinics);
    copy(&mut tx, "COPY clinics (clinic_id, district_code, province_code, name, address) FROM STDIN WITH (FREEZE)", clinic_rows(&clinics))
        .await?;
    copy(&mut tx, "COPY clinic_vaccines (clinic_id, vaccine_code) FROM STDIN WITH (FREEZE)", offer_rows(&clinics)).await?;
    report.clinics = clinics.len() as u64;

    let chunks: Vec<Range<usize>> = (0..clinics.len()).step_by(CHUNK).map(|s| s..(s + CHUNK).min(clinics.len())).collect();
    let plan = |range: Range<usize>| {
        let clinics = clinics.clone();
        tokio::task::spawn_blocking(move || render_slots(&clinics[range], first_day, days))
    };
    // Day summaries are appended after all slots, in clinic order as well.
    let mut day_rows = String::new();
    let mut next = chunks.first().cloned().map(plan);
    for i in 0..chunks.len() {
        let Some(planned) = next.take() else { break };
        let rendered = planned.await?;
        next = chunks.get(i + 1).cloned().map(plan);
        copy(
            &mut tx,
            "COPY slots (slot_id, clinic_id, vaccine_code, starts_at, ends_at, local_date, capacity) FROM STDIN WITH (FREEZE)",
            rendered.slots,
        )
        .await?;
        report.slots += rendered.slot_count;
        report.days += rendered.day_count;
        day_rows.push_str(&rendered.days);
    }
    copy(
        &mut tx,
        "COPY daily_availability (clinic_id, vaccine_code, local_date, province_code, district_code, capacity) FROM STDIN WITH (FREEZE)",
        day_rows,
    )
    .await?;
    tx.commit().await?;
    // Planner statistics for the new rows (the plans in docs/inventory.md rely on them).
    for table in ["clinics", "clinic_vaccines", "slots", "daily_availability", "districts", "provinces"] {
        sqlx::query(&format!("ANALYZE {table}")).execute(pool).await?;
    }
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

async fn copy(tx: &mut Transaction<'_, Postgres>, statement: &str, rows: String) -> Result<u64, sqlx::Error> {
    let conn: &mut PgConnection = tx;
    let mut copy = conn.copy_in_raw(statement).await?;
    if let Err(e) = copy.send(rows.into_bytes()).await {
        let _ = copy.abort("seed failed").await;
        return Err(e);
    }
    copy.finish().await
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

/// COPY text format: tab-separated, `\N` for NULL, backslash escapes.
fn push_text(buf: &mut String, value: &str) {
    for ch in value.chars() {
        match ch {
            '\\' => buf.push_str("\\\\"),
            '\t' => buf.push_str("\\t"),
            '\n' => buf.push_str("\\n"),
            '\r' => buf.push_str("\\r"),
            c => buf.push(c),
        }
    }
}

fn push_uuid(buf: &mut String, id: Uuid) {
    let mut tmp = [0u8; uuid::fmt::Hyphenated::LENGTH];
    buf.push_str(id.hyphenated().encode_lower(&mut tmp));
}

fn push_date(buf: &mut String, d: NaiveDate) {
    let _ = write!(buf, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

/// `YYYY-MM-DD HH:MM:SS+00`: the demo's slots start on whole hours.
fn push_instant(buf: &mut String, t: DateTime<Utc>) {
    push_date(buf, t.date_naive());
    let _ = write!(buf, " {:02}:{:02}:{:02}+00", t.hour(), t.minute(), t.second());
}

fn clinic_rows(clinics: &[DemoClinic]) -> String {
    let mut buf = String::with_capacity(clinics.len() * 160);
    for c in clinics {
        push_uuid(&mut buf, c.clinic_id);
        for field in [c.district_code, c.province_code, c.name.as_str(), c.address.as_str()] {
            buf.push('\t');
            push_text(&mut buf, field);
        }
        buf.push('\n');
    }
    buf
}

fn offer_rows(clinics: &[DemoClinic]) -> String {
    let mut buf = String::with_capacity(clinics.len() * 60);
    for c in clinics {
        for v in &c.vaccines {
            push_uuid(&mut buf, c.clinic_id);
            buf.push('\t');
            push_text(&mut buf, v);
            buf.push('\n');
        }
    }
    buf
}

struct Rendered {
    slots: String,
    slot_count: u64,
    days: String,
    day_count: u64,
}

/// COPY rows of the slots of `clinics` and of their day summaries.
fn render_slots(clinics: &[DemoClinic], first_day: NaiveDate, days: u32) -> Rendered {
    let mut out = Rendered { slots: String::new(), slot_count: 0, days: String::new(), day_count: 0 };
    for clinic in clinics {
        let slots = catalogue::slots(clinic, first_day, days);
        out.slots.reserve(slots.len() * 150);
        // (vaccine, day) → summed capacity, in key order for the COPY.
        let mut summary: BTreeMap<(&str, NaiveDate), i32> = BTreeMap::new();
        for s in &slots {
            push_uuid(&mut out.slots, s.slot_id);
            out.slots.push('\t');
            push_uuid(&mut out.slots, clinic.clinic_id);
            out.slots.push('\t');
            push_text(&mut out.slots, s.vaccine_code);
            out.slots.push('\t');
            push_instant(&mut out.slots, s.starts_at);
            out.slots.push('\t');
            push_instant(&mut out.slots, s.ends_at);
            out.slots.push('\t');
            push_date(&mut out.slots, s.local_date);
            let _ = writeln!(out.slots, "\t{}", s.capacity);
            *summary.entry((s.vaccine_code, s.local_date)).or_default() += s.capacity;
        }
        out.slot_count += slots.len() as u64;
        for ((vaccine, day), capacity) in summary {
            push_uuid(&mut out.days, clinic.clinic_id);
            out.days.push('\t');
            push_text(&mut out.days, vaccine);
            out.days.push('\t');
            push_date(&mut out.days, day);
            let _ = writeln!(out.days, "\t{}\t{}\t{capacity}", clinic.province_code, clinic.district_code);
            out.day_count += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests;
