//! Supply-change jobs (docs/supply-changes.md). A job starts in one
//! transaction: its row (keyed by inventory's change id, so a redelivered
//! event starts nothing), the closed slots' ledger rows shut (capacity down
//! to what is booked and a target of 0, the ledger's way of keeping bookings
//! while taking none: `store::sizes`), and one item per confirmed
//! reservation on them, from one INSERT … SELECT. A booking racing the start
//! waits for the ledger row: it either committed before (and has its item)
//! or finds no place after. The moves themselves are in `supply_move`.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{postgres::PgRow, Row as _};
use uuid::Uuid;

use super::Store;
use crate::domain::{
    supply::Closing,
    supply_job::{Job, JobKind, JobRecord, PendingItem, Progress},
    Slot,
};

const JOB_COLUMNS: &str =
    "change_id, kind, clinic_id, slot_ids, slot_vaccines, slot_starts, max_move_days, requested_by, total, started_at, finished_at";

impl Store {
    /// Starts `job`: `None` when it exists already (nothing written),
    /// otherwise the number of bookings it will move.
    pub(crate) async fn start_job(&self, job: &Job, now: DateTime<Utc>) -> Result<Option<u32>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let mut slots: Vec<Uuid> = job.closing.iter().map(|c| c.slot_id).collect();
        let created = sqlx::query(
            "INSERT INTO supply_changes (change_id, kind, clinic_id, slot_ids, slot_vaccines, slot_starts, max_move_days, requested_by, state, started_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'running', $9) ON CONFLICT (change_id) DO NOTHING",
        )
        .bind(job.change_id)
        .bind(job.kind.as_str())
        .bind(&job.clinic_id)
        .bind(&slots)
        .bind(job.closing.iter().map(|c| c.vaccine_code.clone()).collect::<Vec<_>>())
        .bind(job.closing.iter().map(|c| c.starts_at).collect::<Vec<_>>())
        .bind(i32::try_from(job.max_move_days).unwrap_or(i32::MAX))
        .bind(&job.requested_by)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if created == 0 {
            return Ok(None);
        }
        slots.sort();
        slots.dedup();
        sqlx::query("SELECT slot_id FROM slot_ledger WHERE slot_id = ANY($1) ORDER BY slot_id FOR UPDATE")
            .bind(&slots)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO slot_ledger AS l (slot_id, capacity) SELECT s, 0 FROM unnest($1::uuid[]) AS s
             ON CONFLICT (slot_id) DO UPDATE SET
                 capacity = l.booked,
                 target_capacity = CASE WHEN l.booked > 0 THEN 0 END,
                 overbooked_since = CASE WHEN l.booked > 0 THEN COALESCE(l.overbooked_since, $2) END",
        )
        .bind(&slots)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let total = sqlx::query(
            "INSERT INTO supply_change_items (change_id, reservation_id, from_slot_id, dose_number)
             SELECT $1, reservation_id, slot_id, dose_number FROM reservations WHERE slot_id = ANY($2) AND state = 'confirmed'",
        )
        .bind(job.change_id)
        .bind(&slots)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let total = i32::try_from(total).unwrap_or(i32::MAX);
        sqlx::query(
            "UPDATE supply_changes SET total = $2, state = CASE WHEN $2 = 0 THEN 'done' ELSE state END,
                    finished_at = CASE WHEN $2 = 0 THEN $3 END
             WHERE change_id = $1",
        )
        .bind(job.change_id)
        .bind(total)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(u32::try_from(total).unwrap_or(0)))
    }

    /// Jobs with items waiting, oldest first.
    pub(crate) async fn running_jobs(&self) -> Result<Vec<JobRecord>, sqlx::Error> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM supply_changes WHERE state = 'running' ORDER BY started_at, change_id");
        sqlx::query(&sql).fetch_all(&self.pool).await?.iter().map(job_from_row).collect()
    }

    pub(crate) async fn job(&self, change_id: Uuid) -> Result<Option<JobRecord>, sqlx::Error> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM supply_changes WHERE change_id = $1");
        sqlx::query(&sql).bind(change_id).fetch_optional(&self.pool).await?.as_ref().map(job_from_row).transpose()
    }

    /// Counts per state and the most used targets (at most `targets`).
    pub(crate) async fn progress(&self, change_id: Uuid, targets: i64) -> Result<Progress, sqlx::Error> {
        let counts: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, count(*) FROM supply_change_items WHERE change_id = $1 GROUP BY state")
                .bind(change_id)
                .fetch_all(&self.pool)
                .await?;
        let mut progress = Progress::default();
        for (state, n) in counts {
            let n = u32::try_from(n).unwrap_or(u32::MAX);
            match state.as_str() {
                "pending" => progress.pending = n,
                "moved" => progress.moved = n,
                "cancelled" => progress.cancelled = n,
                _ => progress.skipped = n,
            }
        }
        let rows = sqlx::query(
            "SELECT i.to_slot_id, count(*) AS n, l.clinic_id, l.clinic_name, l.vaccine_code, l.starts_at
             FROM supply_change_items i LEFT JOIN slot_ledger l ON l.slot_id = i.to_slot_id
             WHERE i.change_id = $1 AND i.state = 'moved'
             GROUP BY i.to_slot_id, l.clinic_id, l.clinic_name, l.vaccine_code, l.starts_at
             ORDER BY n DESC, i.to_slot_id LIMIT $2",
        )
        .bind(change_id)
        .bind(targets)
        .fetch_all(&self.pool)
        .await?;
        for row in rows {
            let slot = Slot {
                slot_id: row.try_get("to_slot_id")?,
                clinic_id: row.try_get::<Option<String>, _>("clinic_id")?.unwrap_or_default(),
                clinic_name: row.try_get::<Option<String>, _>("clinic_name")?.unwrap_or_default(),
                vaccine_code: row.try_get::<Option<String>, _>("vaccine_code")?.unwrap_or_default(),
                starts_at: row.try_get::<Option<DateTime<Utc>>, _>("starts_at")?.unwrap_or_default(),
            };
            progress.targets.push((slot, u32::try_from(row.try_get::<i64, _>("n")?).unwrap_or(u32::MAX)));
        }
        Ok(progress)
    }

    /// Up to `limit` waiting items, in reservation order.
    pub(crate) async fn pending_items(&self, change_id: Uuid, limit: i64) -> Result<Vec<PendingItem>, sqlx::Error> {
        let rows: Vec<(Uuid, Uuid, i32)> = sqlx::query_as(
            "SELECT reservation_id, from_slot_id, dose_number FROM supply_change_items
             WHERE change_id = $1 AND state = 'pending' ORDER BY reservation_id LIMIT $2",
        )
        .bind(change_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(reservation_id, from_slot, dose)| PendingItem {
                reservation_id,
                from_slot,
                dose_number: u32::try_from(dose).unwrap_or(1),
            })
            .collect())
    }

    /// Marks the job done once no item waits; `false` while some do.
    pub(crate) async fn finish_job(&self, change_id: Uuid, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE supply_changes SET state = 'done', finished_at = $2
             WHERE change_id = $1 AND state = 'running'
               AND NOT EXISTS (SELECT 1 FROM supply_change_items WHERE change_id = $1 AND state = 'pending')",
        )
        .bind(change_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Places left on the slots that have a ledger row (the others have the
    /// catalogue's size, untouched).
    pub(crate) async fn room(&self, slots: &[Uuid]) -> Result<HashMap<Uuid, u32>, sqlx::Error> {
        let rows: Vec<(Uuid, i32)> = sqlx::query_as("SELECT slot_id, capacity - booked FROM slot_ledger WHERE slot_id = ANY($1)")
            .bind(slots)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|(slot, left)| (slot, u32::try_from(left).unwrap_or(0))).collect())
    }

    /// The confirmed reservations on `slots` as (reservation, slot, dose), in
    /// the order a job takes them. Reads the table (reservations have no index
    /// by slot): a dry run costs one scan.
    pub(crate) async fn confirmed_on(&self, slots: &[Uuid]) -> Result<Vec<(Uuid, Uuid, u32)>, sqlx::Error> {
        let rows: Vec<(Uuid, Uuid, i32)> = sqlx::query_as(
            "SELECT reservation_id, slot_id, dose_number FROM reservations WHERE slot_id = ANY($1) AND state = 'confirmed' ORDER BY reservation_id",
        )
        .bind(slots)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(r, s, dose)| (r, s, u32::try_from(dose).unwrap_or(1))).collect())
    }
}

fn job_from_row(row: &PgRow) -> Result<JobRecord, sqlx::Error> {
    let kind: String = row.try_get("kind")?;
    let ids: Vec<Uuid> = row.try_get("slot_ids")?;
    let vaccines: Vec<String> = row.try_get("slot_vaccines")?;
    let starts: Vec<DateTime<Utc>> = row.try_get("slot_starts")?;
    let closing =
        ids.into_iter().zip(vaccines).zip(starts).map(|((slot_id, vaccine_code), starts_at)| Closing { slot_id, vaccine_code, starts_at });
    let count = |column: &str| -> Result<u32, sqlx::Error> { Ok(u32::try_from(row.try_get::<i32, _>(column)?).unwrap_or(0)) };
    Ok(JobRecord {
        job: Job {
            change_id: row.try_get("change_id")?,
            kind: JobKind::parse(&kind).ok_or_else(|| sqlx::Error::Decode(format!("unknown supply change kind {kind:?}").into()))?,
            clinic_id: row.try_get("clinic_id")?,
            closing: closing.collect(),
            max_move_days: count("max_move_days")?,
            requested_by: row.try_get("requested_by")?,
        },
        total: count("total")?,
        started_at: row.try_get("started_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}
