//! Resends: a new delivery for a reservation, its text and its sealed
//! number copied inside the database from the reservation's own rows (the
//! number never passes through this process, not even sealed).
use sqlx::{Postgres, Transaction};
use uuid::Uuid;
use yeyak_platform::operators::{audit, AuditEvent};

use super::{operator::detail_columns, operator::DetailRow, DeliveryStore};
use crate::domain::DeliveryDetail;

/// One row of the reservation, oldest event first, with its event id and text.
pub(crate) struct ReservationRow {
    pub(crate) detail: DeliveryDetail,
    pub(crate) text: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    #[sqlx(flatten)]
    detail: DetailRow,
    text: String,
}

/// A reservation's deliveries, locked until [`LockedReservation::insert`]
/// or [`LockedReservation::keep`] commits.
pub(crate) struct LockedReservation {
    tx: Transaction<'static, Postgres>,
    pub(crate) rows: Vec<ReservationRow>,
}

/// What to insert: the resend's ids and text, and which rows it copies
/// from (`source`: event type, booking code and owners; `contact_from`:
/// the sealed number and its masked form).
pub(crate) struct NewResend {
    pub(crate) event_id: Uuid,
    pub(crate) message_id: Uuid,
    pub(crate) text: String,
    pub(crate) source: Uuid,
    pub(crate) contact_from: Uuid,
}

/// Another resend of the reservation is in flight (the unique index said so).
#[derive(Debug)]
pub(crate) struct ResendInFlight;

impl DeliveryStore {
    /// Locks every delivery of `reservation_id` (a handful), oldest event first.
    pub(crate) async fn lock_reservation(&self, reservation_id: Uuid) -> Result<LockedReservation, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT {}, text FROM deliveries WHERE reservation_id = $1 ORDER BY event_id FOR UPDATE", detail_columns());
        let rows: Vec<Row> = sqlx::query_as(&sql).bind(reservation_id).fetch_all(&mut *tx).await?;
        let rows = rows.into_iter().map(|r| ReservationRow { detail: r.detail.into(), text: r.text }).collect();
        Ok(LockedReservation { tx, rows })
    }
}

impl LockedReservation {
    /// Inserts the resend (pending, due now) with `event`, and commits.
    pub(crate) async fn insert(
        mut self,
        new: &NewResend,
        event: &AuditEvent,
    ) -> Result<Result<DeliveryDetail, ResendInFlight>, sqlx::Error> {
        let inserted = sqlx::query(
            "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, sealed_contact, phone, masked_phone, text, booking_code,
                                     subject_id, agent_subject_id, state, attempts, next_attempt_at, resend_of)
             SELECT $1, $2, s.reservation_id, s.event_type, c.sealed_contact, c.phone, c.masked_phone, $3, s.booking_code,
                    s.subject_id, s.agent_subject_id, 'pending', 0, now(), s.message_id
             FROM deliveries s, deliveries c
             WHERE s.message_id = $4 AND c.message_id = $5 AND s.reservation_id = c.reservation_id",
        )
        .bind(new.message_id)
        .bind(new.event_id)
        .bind(&new.text)
        .bind(new.source)
        .bind(new.contact_from)
        .execute(&mut *self.tx)
        .await;
        match inserted {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(Err(ResendInFlight)),
            other => other?,
        };
        audit::record(&mut *self.tx, event).await?;
        let sql = format!("SELECT {} FROM deliveries WHERE message_id = $1", detail_columns());
        let row: DetailRow = sqlx::query_as(&sql).bind(new.message_id).fetch_one(&mut *self.tx).await?;
        self.tx.commit().await?;
        Ok(Ok(row.into()))
    }

    /// Inserts nothing; writes `event` and releases the rows.
    pub(crate) async fn keep(mut self, event: &AuditEvent) -> Result<(), sqlx::Error> {
        audit::record(&mut *self.tx, event).await?;
        self.tx.commit().await
    }
}
