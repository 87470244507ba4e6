//! The transactions that change state. Each commits the capacity change, the
//! reservation row and the outbox row together, so a crash at any point
//! leaves either all of them or none.
//!
//! Lock order, the same everywhere so that concurrent bookings never
//! deadlock: the reservation row (or its unique-index entries) first, then
//! ledger rows in slot-id order.
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;
use yeyak_platform::messaging::outbox;

use super::{from_row, Store, COLUMNS};
use crate::{
    domain::{Reservation, Slot, State},
    error::ReservationError,
    events::OutboxEvent,
};

/// What a cancel or reschedule did.
#[derive(Debug)]
pub enum Change {
    Changed(Reservation),
    /// Nothing to do (already cancelled, already on that slot): no event.
    Unchanged(Reservation),
}

impl Store {
    /// Books one place of `r.slot` for `r`. The ledger row must exist
    /// ([`Store::ensure_ledger`]). A unique violation, on either the
    /// idempotency key or the one-active-per-dose index, is reported as
    /// [`ReservationError::AlreadyBooked`]; the caller tells the two apart.
    pub async fn create(&self, r: &Reservation, event: &OutboxEvent) -> Result<Reservation, ReservationError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(&format!(
            "INSERT INTO reservations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
             RETURNING {COLUMNS}"
        ))
        .bind(r.reservation_id)
        .bind(&r.subject_id)
        .bind(&r.agent_subject_id)
        .bind(&r.idempotency_key)
        .bind(&r.request_hash)
        .bind(r.slot.slot_id)
        .bind(&r.slot.clinic_id)
        .bind(&r.slot.clinic_name)
        .bind(&r.slot.vaccine_code)
        .bind(r.dose_number as i32)
        .bind(r.slot.starts_at)
        .bind(&r.contact_phone)
        .bind(r.state.as_str())
        .bind(r.created_at)
        .bind(r.updated_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| if is_unique_violation(&e) { ReservationError::AlreadyBooked } else { e.into() })?;
        take_place(&mut tx, r.slot.slot_id).await?;
        enqueue(&mut tx, event).await?;
        tx.commit().await?;
        Ok(from_row(&row)?)
    }

    /// Cancels and gives the place back; cancelling twice is a no-op.
    pub async fn cancel(
        &self,
        reservation_id: Uuid,
        caller: &str,
        now: DateTime<Utc>,
        event: impl FnOnce(&Reservation) -> OutboxEvent,
    ) -> Result<Change, ReservationError> {
        let mut tx = self.pool.begin().await?;
        let current = lock_visible(&mut tx, reservation_id, caller).await?;
        if current.state == State::Cancelled {
            return Ok(Change::Unchanged(current));
        }
        let row =
            sqlx::query(&format!("UPDATE reservations SET state = $2, updated_at = $3 WHERE reservation_id = $1 RETURNING {COLUMNS}"))
                .bind(reservation_id)
                .bind(State::Cancelled.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        let cancelled = from_row(&row)?;
        give_back(&mut tx, current.slot.slot_id).await?;
        enqueue(&mut tx, &event(&cancelled)).await?;
        tx.commit().await?;
        Ok(Change::Changed(cancelled))
    }

    /// Moves a confirmed reservation to `new` in one transaction: the new
    /// place is taken before the old one is given back, and if the new slot
    /// is full nothing changes. The new slot's ledger row must exist.
    pub async fn reschedule(
        &self,
        reservation_id: Uuid,
        caller: &str,
        new: &Slot,
        now: DateTime<Utc>,
        event: impl FnOnce(&Reservation, &Reservation) -> OutboxEvent,
    ) -> Result<Change, ReservationError> {
        let mut tx = self.pool.begin().await?;
        let current = lock_visible(&mut tx, reservation_id, caller).await?;
        if current.state == State::Cancelled {
            return Err(ReservationError::Cancelled);
        }
        if current.slot.slot_id == new.slot_id {
            return Ok(Change::Unchanged(current));
        }
        if current.slot.vaccine_code != new.vaccine_code {
            return Err(ReservationError::VaccineMismatch { booked: current.slot.vaccine_code, offered: new.vaccine_code.clone() });
        }
        let mut slots = [current.slot.slot_id, new.slot_id];
        slots.sort();
        sqlx::query("SELECT slot_id FROM slot_ledger WHERE slot_id = ANY($1) ORDER BY slot_id FOR UPDATE")
            .bind(&slots[..])
            .fetch_all(&mut *tx)
            .await?;
        take_place(&mut tx, new.slot_id).await?;
        give_back(&mut tx, current.slot.slot_id).await?;
        let row = sqlx::query(&format!(
            "UPDATE reservations SET slot_id = $2, clinic_id = $3, clinic_name = $4, starts_at = $5, updated_at = $6
             WHERE reservation_id = $1 RETURNING {COLUMNS}"
        ))
        .bind(reservation_id)
        .bind(new.slot_id)
        .bind(&new.clinic_id)
        .bind(&new.clinic_name)
        .bind(new.starts_at)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let moved = from_row(&row)?;
        enqueue(&mut tx, &event(&current, &moved)).await?;
        tx.commit().await?;
        Ok(Change::Changed(moved))
    }
}

/// The reservation, locked, if the caller may see it.
async fn lock_visible(tx: &mut Transaction<'_, Postgres>, id: Uuid, caller: &str) -> Result<Reservation, ReservationError> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM reservations WHERE reservation_id = $1 FOR UPDATE"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    match row.as_ref().map(from_row).transpose()? {
        Some(r) if r.visible_to(caller) => Ok(r),
        _ => Err(ReservationError::NotFound),
    }
}

/// The one statement that can oversell, made unable to: it only counts up
/// while there is room, and the row lock serialises concurrent bookers.
async fn take_place(tx: &mut Transaction<'_, Postgres>, slot_id: Uuid) -> Result<(), ReservationError> {
    let taken = sqlx::query("UPDATE slot_ledger SET booked = booked + 1 WHERE slot_id = $1 AND booked < capacity")
        .bind(slot_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if taken == 1 {
        Ok(())
    } else {
        Err(ReservationError::SlotFull)
    }
}

async fn give_back(tx: &mut Transaction<'_, Postgres>, slot_id: Uuid) -> Result<(), ReservationError> {
    let given = sqlx::query("UPDATE slot_ledger SET booked = booked - 1 WHERE slot_id = $1 AND booked > 0")
        .bind(slot_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if given == 1 {
        Ok(())
    } else {
        Err(ReservationError::Invariant(format!("confirmed reservation on slot {slot_id} without a booked place")))
    }
}

async fn enqueue(tx: &mut Transaction<'_, Postgres>, e: &OutboxEvent) -> Result<(), sqlx::Error> {
    outbox::enqueue(tx, e.event_id, e.routing_key, &e.payload, &e.traceparent).await
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().is_some_and(|d| d.is_unique_violation())
}
