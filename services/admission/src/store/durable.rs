//! The part of a queue that must outlive its Redis, in admission's own
//! PostgreSQL: operator settings, the lottery seed and pool, high-water
//! marks of places reserved ahead in blocks, and the admitted batches with
//! their expiry. Written rarely (a block of places, a batch of admissions,
//! an operator's change, an ended session), read in full only to rebuild.
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use yeyak_platform::operators::{self, audit::AuditEvent};

use crate::domain::StoredSettings;

mod control;
mod entries;
mod events;
pub(crate) use control::RateChange;
pub(crate) use entries::{Claimed, Entry};
pub(crate) use events::EventWrite;

/// What Redis is rebuilt from.
#[derive(Clone, Debug, Default)]
pub(crate) struct Marks {
    pub(crate) seed: String,
    /// Lottery entries `[0, lottery_reserved)` may exist.
    pub(crate) lottery_reserved: u64,
    pub(crate) pool: Option<u64>,
    /// Post-opening arrivals `1..=places_reserved` may exist.
    pub(crate) places_reserved: u64,
    /// Highest admitted place (the frontier everyone was told about).
    pub(crate) admitted: u64,
    /// Seats still held: (place, expiry in unix ms).
    pub(crate) seats: Vec<(u64, i64)>,
    pub(crate) settings: StoredSettings,
    /// Whether this queue had state before (a rebuild, not a first start).
    pub(crate) existed: bool,
}

#[derive(Clone)]
pub(crate) struct DurableStore {
    pool: PgPool,
    /// First joins of identity-first events hold a connection (their
    /// person's row locked) while they take a place; at most half the pool
    /// may, so the reservation a place may need always finds a connection.
    claims: std::sync::Arc<tokio::sync::Semaphore>,
}

type SettingsRow = (Option<f64>, Option<i64>, bool, bool, Option<i16>, Option<bool>, Option<f64>);

/// The columns of a [`SettingsRow`].
const SETTINGS_COLUMNS: &str = "rate_per_second, max_active, paused, closed, join_pow_bits, auto_rate, auto_floor";

impl DurableStore {
    pub(crate) fn new(pool: PgPool) -> Self {
        let claims = (pool.options().get_max_connections() as usize / 2).max(1);
        Self { pool, claims: std::sync::Arc::new(tokio::sync::Semaphore::new(claims)) }
    }

    /// Everything a rebuild needs, read in one transaction (the queue's row
    /// is created on its first use, with a fresh lottery seed).
    pub(crate) async fn marks(&self, queue: &str, now_ms: i64) -> Result<Marks, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let seed: [u8; 16] = rand::random();
        let seed: String = hex::encode(seed);
        sqlx::query("INSERT INTO queue_marks (queue_id, seed) VALUES ($1, $2) ON CONFLICT (queue_id) DO NOTHING")
            .bind(queue)
            .bind(&seed)
            .execute(&mut *tx)
            .await?;
        let (seed, lottery_reserved, pool, places_reserved, rebuilds): (String, i64, Option<i64>, i64, i64) = sqlx::query_as(
            "UPDATE queue_marks SET rebuilds = rebuilds + 1 WHERE queue_id = $1
             RETURNING seed, lottery_reserved, pool, places_reserved, rebuilds - 1",
        )
        .bind(queue)
        .fetch_one(&mut *tx)
        .await?;
        let now = at(now_ms);
        let admitted: Option<i64> =
            sqlx::query_scalar("SELECT max(last_place) FROM admitted_batches WHERE queue_id = $1").bind(queue).fetch_one(&mut *tx).await?;
        let seats: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT p, (extract(epoch FROM b.expires_at) * 1000)::bigint
             FROM admitted_batches b, generate_series(b.first_place, b.last_place) AS p
             WHERE b.queue_id = $1 AND b.expires_at > $2
               AND NOT EXISTS (SELECT 1 FROM ended_seats e WHERE e.queue_id = $1 AND e.place = p)",
        )
        .bind(queue)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let settings = settings_in(&mut tx, queue).await?;
        tx.commit().await?;
        Ok(Marks {
            seed,
            lottery_reserved: lottery_reserved as u64,
            pool: pool.map(|p| p as u64),
            places_reserved: places_reserved as u64,
            admitted: admitted.unwrap_or(0) as u64,
            seats: seats.into_iter().map(|(p, e)| (p as u64, e)).collect(),
            settings,
            existed: rebuilds > 0,
        })
    }

    /// Reserves the next `block` post-opening places past `seen`; returns the mark.
    pub(crate) async fn reserve_places(&self, queue: &str, block: u64, seen: u64) -> Result<u64, sqlx::Error> {
        self.reserve(queue, "places_reserved", block, seen).await
    }

    /// Reserves the next `block` lottery entries past `seen`; returns the mark.
    pub(crate) async fn reserve_lottery(&self, queue: &str, block: u64, seen: u64) -> Result<u64, sqlx::Error> {
        self.reserve(queue, "lottery_reserved", block, seen).await
    }

    /// Adds a block only while the mark is still the limit a join saw in
    /// Redis (Redis is never ahead of it): a reservation already made past
    /// it, by another replica or a concurrent join, is returned instead.
    async fn reserve(&self, queue: &str, column: &'static str, block: u64, seen: u64) -> Result<u64, sqlx::Error> {
        let sql = format!(
            "UPDATE queue_marks SET {column} = CASE WHEN {column} <= $3 THEN {column} + $2 ELSE {column} END
             WHERE queue_id = $1 RETURNING {column}"
        );
        let mark: i64 = sqlx::query_scalar(&sql).bind(queue).bind(block as i64).bind(seen as i64).fetch_one(&self.pool).await?;
        Ok(mark as u64)
    }

    /// Freezes the lottery pool at the opening (the first call wins); returns
    /// the frozen size.
    pub(crate) async fn freeze_pool(&self, queue: &str, entries: u64) -> Result<u64, sqlx::Error> {
        let pool: i64 = sqlx::query_scalar(
            "UPDATE queue_marks SET pool = COALESCE(pool, LEAST($2, lottery_reserved)) WHERE queue_id = $1 RETURNING pool",
        )
        .bind(queue)
        .bind(entries as i64)
        .fetch_one(&self.pool)
        .await?;
        Ok(pool as u64)
    }

    /// Records an admission batch before anyone in it is told. Idempotent:
    /// every replica may log the same pending batch.
    pub(crate) async fn log_batch(&self, queue: &str, first: u64, last: u64, expires_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO admitted_batches (queue_id, first_place, last_place, expires_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (queue_id, first_place) DO UPDATE
             SET last_place = GREATEST(admitted_batches.last_place, EXCLUDED.last_place),
                 expires_at = GREATEST(admitted_batches.expires_at, EXCLUDED.expires_at)",
        )
        .bind(queue)
        .bind(first as i64)
        .bind(last as i64)
        .bind(at(expires_ms))
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Records a seat freed before its expiry, so a rebuild leaves it free.
    pub(crate) async fn end_seat(&self, queue: &str, place: u64, expires_ms: i64) -> Result<(), sqlx::Error> {
        sqlx::query("INSERT INTO ended_seats (queue_id, place, expires_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
            .bind(queue)
            .bind(place as i64)
            .bind(at(expires_ms))
            .execute(&self.pool)
            .await
            .map(drop)
    }

    /// Saves an operator's settings; `None` leaves a value as it is.
    /// Applies an operator's change and writes its audit row (built from the
    /// settings before and after) in one transaction.
    pub(crate) async fn save_settings(
        &self,
        queue: &str,
        change: &StoredSettings,
        audit: impl FnOnce(&StoredSettings, &StoredSettings) -> AuditEvent,
    ) -> Result<StoredSettings, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let old: Option<SettingsRow> =
            sqlx::query_as(&format!("SELECT {SETTINGS_COLUMNS} FROM queue_settings WHERE queue_id = $1 FOR UPDATE"))
                .bind(queue)
                .fetch_optional(&mut *tx)
                .await?;
        let saved = upsert_settings(&mut tx, queue, change).await?;
        let event = audit(&old.map(from_row).unwrap_or_default(), &saved);
        operators::audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok(saved)
    }

    /// Forgets batches and ended seats that expired (the latest batch stays:
    /// it carries the frontier).
    pub(crate) async fn prune(&self, queue: &str, now_ms: i64) -> Result<(), sqlx::Error> {
        let now = at(now_ms);
        sqlx::query(
            "DELETE FROM admitted_batches WHERE queue_id = $1 AND expires_at < $2
             AND last_place < (SELECT max(last_place) FROM admitted_batches WHERE queue_id = $1)",
        )
        .bind(queue)
        .bind(now)
        .execute(&self.pool)
        .await?;
        sqlx::query("DELETE FROM ended_seats WHERE queue_id = $1 AND expires_at < $2").bind(queue).bind(now).execute(&self.pool).await?;
        Ok(())
    }
}

/// Applies an operator's settings change (`None` leaves a value as it is).
async fn upsert_settings(conn: &mut sqlx::PgConnection, queue: &str, change: &StoredSettings) -> Result<StoredSettings, sqlx::Error> {
    let row: SettingsRow = sqlx::query_as(&format!(
        "INSERT INTO queue_settings AS s (queue_id, rate_per_second, max_active, paused, closed, join_pow_bits, auto_rate, auto_floor)
         VALUES ($1, $2, $3, COALESCE($4, false), COALESCE($5, false), $6, $7, $8)
         ON CONFLICT (queue_id) DO UPDATE SET
           rate_per_second = COALESCE($2, s.rate_per_second), max_active = COALESCE($3, s.max_active),
           paused = COALESCE($4, s.paused), closed = COALESCE($5, s.closed),
           join_pow_bits = COALESCE($6, s.join_pow_bits), auto_rate = COALESCE($7, s.auto_rate),
           auto_floor = COALESCE($8, s.auto_floor), updated_at = now()
         RETURNING {SETTINGS_COLUMNS}",
    ))
    .bind(queue)
    .bind(change.rate)
    .bind(change.max_active.map(|m| m as i64))
    .bind(change.paused)
    .bind(change.closed)
    .bind(change.pow_bits.map(i16::from))
    .bind(change.auto_rate)
    .bind(change.auto_floor)
    .fetch_one(conn)
    .await?;
    Ok(from_row(row))
}

async fn settings_in(conn: &mut sqlx::PgConnection, queue: &str) -> Result<StoredSettings, sqlx::Error> {
    let row: Option<SettingsRow> = sqlx::query_as(&format!("SELECT {SETTINGS_COLUMNS} FROM queue_settings WHERE queue_id = $1"))
        .bind(queue)
        .fetch_optional(conn)
        .await?;
    Ok(row.map(from_row).unwrap_or_default())
}

fn from_row((rate, max_active, paused, closed, pow_bits, auto_rate, auto_floor): SettingsRow) -> StoredSettings {
    StoredSettings {
        rate,
        max_active: max_active.map(|m| m as u64),
        paused: Some(paused),
        closed: Some(closed),
        // The column's CHECK keeps it within 0..=32.
        pow_bits: pow_bits.and_then(|b| u8::try_from(b).ok()),
        auto_rate,
        auto_floor,
    }
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
