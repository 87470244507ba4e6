//! A booking in one statement: the place, the reservation row and the outbox
//! row are written by one SQL statement, which PostgreSQL runs as one
//! transaction. It is all or nothing like the BEGIN … COMMIT it replaces,
//! with one round trip instead of five: a surge is bounded by the database,
//! and round trips are most of what a booking costs it.
//!
//! The reservation and the outbox row are inserted only from the place's
//! `RETURNING`: no place, no rows. A unique violation (the idempotency key,
//! a second active reservation for the dose, or a booking code already
//! taken) fails the whole statement, place included.
use yeyak_platform::messaging::outbox;

use super::{from_row, Store, BOOKING_CODE_UNIQUE, COLUMNS};
use crate::{domain::Reservation, error::ReservationError, events::OutboxEvent};

/// Counts up only while there is room. On a full slot no row qualifies and
/// nothing is locked or written: a rush on a slot already full costs reads.
const TAKE_KNOWN: &str = "UPDATE slot_ledger SET booked = booked + 1 WHERE slot_id = $6 AND booked < capacity RETURNING slot_id";

/// A slot this replica has not booked before: creates its counter with the
/// catalogue's size and one place taken, or, when the counter exists (booked
/// through another replica, or created by a size event without the slot's
/// details), takes a place in it and fills in the details it lacks.
const TAKE_FIRST: &str = "INSERT INTO slot_ledger AS l (slot_id, capacity, booked, clinic_id, clinic_name, vaccine_code, starts_at)
         SELECT $6, $21, 1, $7, $8, $9, $11 WHERE $21 > 0
         ON CONFLICT (slot_id) DO UPDATE
             SET booked = l.booked + 1,
                 clinic_id = COALESCE(l.clinic_id, EXCLUDED.clinic_id),
                 clinic_name = COALESCE(l.clinic_name, EXCLUDED.clinic_name),
                 vaccine_code = COALESCE(l.vaccine_code, EXCLUDED.vaccine_code),
                 starts_at = COALESCE(l.starts_at, EXCLUDED.starts_at)
             WHERE l.booked < l.capacity
         RETURNING slot_id";

impl Store {
    /// Books one place of `r.slot` for `r`. `first` is the catalogue's size
    /// when this replica does not know the slot's counter to exist (it is
    /// then created if need be); `None` when it does. Errors:
    /// [`ReservationError::SlotFull`] when no place was taken,
    /// [`ReservationError::BookingCodeTaken`] when `r`'s code is another
    /// reservation's, and [`ReservationError::AlreadyBooked`] on any other
    /// unique violation (the caller tells a retry from a second booking of
    /// the dose). Nothing is written in any of these cases.
    pub(crate) async fn book(&self, r: &Reservation, event: &OutboxEvent, first: Option<u32>) -> Result<Reservation, ReservationError> {
        let take = if first.is_some() { TAKE_FIRST } else { TAKE_KNOWN };
        let sql = format!(
            "WITH place AS ({take}),
                  booked AS (INSERT INTO reservations ({COLUMNS})
                             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 FROM place
                             RETURNING {COLUMNS}),
                  queued AS ({outbox_insert}
                             SELECT $17, $18, $19, $20 FROM booked)
             SELECT {COLUMNS} FROM booked",
            outbox_insert = outbox::INSERT,
        );
        let mut query = sqlx::query(&sql)
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
            .bind(&r.sealed_contact)
            .bind(r.state.as_str())
            .bind(r.created_at)
            .bind(r.updated_at)
            .bind(r.booking_code.as_str())
            .bind(event.event_id)
            .bind(event.routing_key)
            .bind(&event.payload)
            .bind(&event.traceparent);
        if let Some(capacity) = first {
            query = query.bind(i32::try_from(capacity).unwrap_or(i32::MAX));
        }
        let row = query.fetch_optional(&self.pool).await.map_err(|e| match e.as_database_error() {
            Some(d) if d.is_unique_violation() && d.constraint() == Some(BOOKING_CODE_UNIQUE) => ReservationError::BookingCodeTaken,
            Some(d) if d.is_unique_violation() => ReservationError::AlreadyBooked,
            _ => e.into(),
        })?;
        match row {
            Some(row) => Ok(from_row(&row)?),
            None => Err(ReservationError::SlotFull),
        }
    }
}
