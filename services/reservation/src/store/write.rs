//! The transactions that change existing reservations (a new booking is one
//! statement: [`super::book`]; slot sizes: [`super::sizes`]). Each commits the capacity
//! change, the reservation row and the outbox row together, so a crash at
//! any point leaves either all of them or none.
//!
//! Lock order, so that concurrent changes never deadlock: a reservation row
//! may be locked first (`FOR UPDATE`), then ledger rows in slot-id order, and
//! only then is any reservation row written. A booking takes its ledger row
//! and then inserts; a unique check on that insert can wait for a cancel or
//! a reschedule of the same person's reservation, which by then holds every
//! ledger row it needs and waits for nothing the booking holds.
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;
use yeyak_platform::messaging::outbox;

use super::{bind_ref, from_row, where_ref, Store, COLUMNS};
use crate::{
    domain::{Reservation, ReservationRef, Slot, State},
    error::ReservationError,
    events::OutboxEvent,
};

/// What a cancel or reschedule did.
#[derive(Debug)]
pub(crate) enum Change {
    Changed(Reservation),
    /// Nothing to do (already cancelled, already on that slot): no event.
    Unchanged(Reservation),
}

impl Store {
    /// Cancels and gives the place back; cancelling twice is a no-op.
    pub(crate) async fn cancel(
        &self,
        which: &ReservationRef,
        caller: &str,
        now: DateTime<Utc>,
        event: impl FnOnce(&Reservation) -> OutboxEvent,
    ) -> Result<Change, ReservationError> {
        let mut tx = self.pool.begin().await?;
        let current = lock_visible(&mut tx, which, caller).await?;
        if current.state == State::Cancelled {
            return Ok(Change::Unchanged(current));
        }
        give_back(&mut tx, current.slot.slot_id).await?;
        let row =
            sqlx::query(&format!("UPDATE reservations SET state = $2, updated_at = $3 WHERE reservation_id = $1 RETURNING {COLUMNS}"))
                .bind(current.reservation_id)
                .bind(State::Cancelled.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        let cancelled = from_row(&row)?;
        enqueue(&mut tx, &event(&cancelled)).await?;
        tx.commit().await?;
        Ok(Change::Changed(cancelled))
    }

    /// Moves a confirmed reservation to `new` in one transaction: the new
    /// place is taken before the old one is given back, and if the new slot
    /// is full nothing changes. The new slot's ledger row must exist.
    pub(crate) async fn reschedule(
        &self,
        reservation_id: Uuid,
        caller: &str,
        new: &Slot,
        now: DateTime<Utc>,
        event: impl FnOnce(&Reservation, &Reservation) -> OutboxEvent,
    ) -> Result<Change, ReservationError> {
        let mut tx = self.pool.begin().await?;
        let current = lock_visible(&mut tx, &ReservationRef::Id(reservation_id), caller).await?;
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

/// Creates a slot's counter with the catalogue's size and the slot's details;
/// a counter a size event created first keeps its size and gets the details.
pub(super) async fn upsert_ledger<'e, E>(executor: E, slot: &Slot, capacity: u32) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Postgres>,
{
    sqlx::query(
        "INSERT INTO slot_ledger (slot_id, capacity, clinic_id, clinic_name, vaccine_code, starts_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (slot_id) DO UPDATE
             SET clinic_id = EXCLUDED.clinic_id, clinic_name = EXCLUDED.clinic_name,
                 vaccine_code = EXCLUDED.vaccine_code, starts_at = EXCLUDED.starts_at
             WHERE slot_ledger.clinic_id IS NULL",
    )
    .bind(slot.slot_id)
    .bind(i32::try_from(capacity).unwrap_or(i32::MAX))
    .bind(&slot.clinic_id)
    .bind(&slot.clinic_name)
    .bind(&slot.vaccine_code)
    .bind(slot.starts_at)
    .execute(executor)
    .await?;
    Ok(())
}

/// The reservation, locked, if the caller may see it.
async fn lock_visible(tx: &mut Transaction<'_, Postgres>, which: &ReservationRef, caller: &str) -> Result<Reservation, ReservationError> {
    let sql = format!("SELECT {COLUMNS} FROM reservations WHERE {} FOR UPDATE", where_ref(which));
    let row = bind_ref(sqlx::query(&sql), which).fetch_optional(&mut **tx).await?;
    match row.as_ref().map(from_row).transpose()? {
        Some(r) if r.visible_to(caller) => Ok(r),
        _ => Err(ReservationError::NotFound),
    }
}

/// Takes a place for a reschedule. It only counts up while there is room
/// (as a booking's statement does), and the row lock serialises takers.
pub(super) async fn take_place(tx: &mut Transaction<'_, Postgres>, slot_id: Uuid) -> Result<(), ReservationError> {
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

/// Gives a place back. On a slot flagged as overbooked (its catalogue size was
/// cut below what was booked) the freed place is not offered again: capacity
/// follows bookings down to the catalogue's size, where the flag clears.
pub(super) async fn give_back(tx: &mut Transaction<'_, Postgres>, slot_id: Uuid) -> Result<(), ReservationError> {
    let given = sqlx::query(
        "UPDATE slot_ledger SET
             booked = booked - 1,
             capacity = CASE WHEN target_capacity IS NULL THEN capacity ELSE GREATEST(target_capacity, booked - 1) END,
             target_capacity = CASE WHEN booked - 1 > target_capacity THEN target_capacity END,
             overbooked_since = CASE WHEN booked - 1 > target_capacity THEN overbooked_since END
         WHERE slot_id = $1 AND booked > 0",
    )
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

pub(super) async fn enqueue(tx: &mut Transaction<'_, Postgres>, e: &OutboxEvent) -> Result<(), sqlx::Error> {
    outbox::enqueue(tx, e.event_id, e.routing_key, &e.payload, &e.traceparent).await
}
