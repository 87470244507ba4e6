//! PostgreSQL: the per-slot capacity ledger, the reservations and the outbox.
//! Reads live here; a booking is in `book`, slot sizes in `sizes`, the other
//! changes in `write`, supply-change jobs in `supply` and their moves in
//! `supply_move`.
mod book;
mod contacts;
mod sizes;
mod supply;
mod supply_move;
mod write;

pub(crate) use write::Change;

use chrono::{DateTime, Utc};
use sqlx::{postgres::PgRow, PgPool, Row as _};

use crate::domain::{BookingCode, Cursor, Reservation, ReservationRef, Slot, State};

pub(crate) const COLUMNS: &str = "reservation_id, subject_id, agent_subject_id, idempotency_key, request_hash, slot_id, \
     clinic_id, clinic_name, vaccine_code, dose_number, starts_at, sealed_contact, state, created_at, updated_at, booking_code";

/// The unique constraint on booking codes: a violation of it means the
/// random code was taken, not that the person booked twice.
pub(crate) const BOOKING_CODE_UNIQUE: &str = "reservations_booking_code_unique";

#[derive(Clone)]
pub(crate) struct Store {
    pool: PgPool,
}

impl Store {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Creates the slot's counter from the catalogue's size, with the slot's
    /// details, if it does not exist: for a reschedule to a slot this replica
    /// has not seen (a booking creates it in its own statement). A counter a
    /// size event created first keeps its size and gets the details.
    pub(crate) async fn ensure_ledger(&self, slot: &Slot, capacity: u32) -> Result<(), sqlx::Error> {
        write::upsert_ledger(&self.pool, slot, capacity).await
    }

    pub(crate) async fn find(&self, which: &ReservationRef) -> Result<Option<Reservation>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM reservations WHERE {}", where_ref(which));
        bind_ref(sqlx::query(&sql), which).fetch_optional(&self.pool).await?.as_ref().map(from_row).transpose()
    }

    pub(crate) async fn find_by_key(&self, subject_id: &str, idempotency_key: &str) -> Result<Option<Reservation>, sqlx::Error> {
        sqlx::query(&format!("SELECT {COLUMNS} FROM reservations WHERE subject_id = $1 AND idempotency_key = $2"))
            .bind(subject_id)
            .bind(idempotency_key)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(from_row)
            .transpose()
    }

    /// The caller's own reservations and those they booked as an agent,
    /// newest first, strictly after `after` (keyset pagination).
    pub(crate) async fn list(&self, caller: &str, after: Option<Cursor>, limit: i64) -> Result<Vec<Reservation>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM reservations
             WHERE (subject_id = $1 OR agent_subject_id = $1)
               AND ($2::timestamptz IS NULL OR (created_at, reservation_id) < ($2::timestamptz, $3::uuid))
             ORDER BY created_at DESC, reservation_id DESC
             LIMIT $4"
        );
        sqlx::query(&sql)
            .bind(caller)
            .bind(after.map(|c| c.created_at))
            .bind(after.map(|c| c.reservation_id))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(from_row)
            .collect()
    }
}

/// The condition that picks the reservation `which` names, as `$1`; both
/// columns are unique and indexed.
pub(crate) fn where_ref(which: &ReservationRef) -> &'static str {
    match which {
        ReservationRef::Id(_) => "reservation_id = $1",
        ReservationRef::Code(_) => "booking_code = $1",
    }
}

/// Binds `$1` of [`where_ref`].
pub(crate) fn bind_ref<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    which: &ReservationRef,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    match which {
        ReservationRef::Id(id) => query.bind(*id),
        ReservationRef::Code(code) => query.bind(code.as_str().to_owned()),
    }
}

pub(crate) fn from_row(row: &PgRow) -> Result<Reservation, sqlx::Error> {
    let state: String = row.try_get("state")?;
    let dose: i32 = row.try_get("dose_number")?;
    let code: String = row.try_get("booking_code")?;
    Ok(Reservation {
        reservation_id: row.try_get("reservation_id")?,
        booking_code: BookingCode::parse(&code).map_err(|e| sqlx::Error::Decode(format!("booking code {code:?}: {e}").into()))?,
        subject_id: row.try_get("subject_id")?,
        agent_subject_id: row.try_get("agent_subject_id")?,
        idempotency_key: row.try_get("idempotency_key")?,
        request_hash: row.try_get("request_hash")?,
        slot: Slot {
            slot_id: row.try_get("slot_id")?,
            clinic_id: row.try_get("clinic_id")?,
            clinic_name: row.try_get("clinic_name")?,
            vaccine_code: row.try_get("vaccine_code")?,
            starts_at: row.try_get::<DateTime<Utc>, _>("starts_at")?,
        },
        dose_number: u32::try_from(dose).map_err(|e| sqlx::Error::Decode(e.into()))?,
        sealed_contact: row.try_get::<Option<Vec<u8>>, _>("sealed_contact")?.unwrap_or_default(),
        state: State::parse(&state).ok_or_else(|| sqlx::Error::Decode(format!("unknown state {state:?}").into()))?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}
