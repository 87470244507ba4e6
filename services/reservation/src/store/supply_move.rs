//! One booking of a supply change, moved or cancelled in one transaction:
//! the item and its reservation are locked (`SKIP LOCKED`: a row another
//! worker holds is left to it), then the ledger rows in slot-id order as
//! every change of a reservation locks them (`write`), the new place is
//! taken before the old one is given back, and the reservation, the item
//! and the outbox row are written together. A process killed at any point
//! leaves the item pending with nothing changed, or done with everything.
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::{
    from_row,
    write::{enqueue, give_back, take_place},
    Store, COLUMNS,
};
use crate::{
    domain::{
        supply_job::{ItemOutcome, PendingItem},
        Reservation, Slot, State,
    },
    error::ReservationError,
    events::OutboxEvent,
};

impl Store {
    /// Moves the item's reservation to `to` (its ledger row must exist).
    /// [`ItemOutcome::TargetFull`] when `to` has no place: nothing written.
    pub(crate) async fn move_item(
        &self,
        change_id: Uuid,
        item: PendingItem,
        to: &Slot,
        now: DateTime<Utc>,
        event: impl FnOnce(&Reservation, &Reservation) -> OutboxEvent,
    ) -> Result<ItemOutcome, ReservationError> {
        let (mut tx, current) = match claimed(self.pool.begin().await?, change_id, item, now).await? {
            Ok(locked) => locked,
            Err(outcome) => return Ok(outcome),
        };
        let mut slots = [item.from_slot, to.slot_id];
        slots.sort();
        sqlx::query("SELECT slot_id FROM slot_ledger WHERE slot_id = ANY($1) ORDER BY slot_id FOR UPDATE")
            .bind(&slots[..])
            .execute(&mut *tx)
            .await?;
        match take_place(&mut tx, to.slot_id).await {
            Err(ReservationError::SlotFull) => return Ok(ItemOutcome::TargetFull),
            other => other?,
        }
        give_back(&mut tx, item.from_slot).await?;
        let row = sqlx::query(&format!(
            "UPDATE reservations SET slot_id = $2, clinic_id = $3, clinic_name = $4, vaccine_code = $5, starts_at = $6, updated_at = $7
             WHERE reservation_id = $1 RETURNING {COLUMNS}"
        ))
        .bind(item.reservation_id)
        .bind(to.slot_id)
        .bind(&to.clinic_id)
        .bind(&to.clinic_name)
        .bind(&to.vaccine_code)
        .bind(to.starts_at)
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let moved = from_row(&row)?;
        mark(&mut tx, change_id, item, "moved", Some(to.slot_id), now).await?;
        enqueue(&mut tx, &event(&current, &moved)).await?;
        tx.commit().await?;
        Ok(ItemOutcome::Moved)
    }

    /// Cancels the item's reservation and gives its place back: no
    /// equivalent slot had one.
    pub(crate) async fn cancel_item(
        &self,
        change_id: Uuid,
        item: PendingItem,
        now: DateTime<Utc>,
        event: impl FnOnce(&Reservation) -> OutboxEvent,
    ) -> Result<ItemOutcome, ReservationError> {
        let mut tx = match claimed(self.pool.begin().await?, change_id, item, now).await? {
            Ok((tx, _)) => tx,
            Err(outcome) => return Ok(outcome),
        };
        give_back(&mut tx, item.from_slot).await?;
        let row =
            sqlx::query(&format!("UPDATE reservations SET state = $2, updated_at = $3 WHERE reservation_id = $1 RETURNING {COLUMNS}"))
                .bind(item.reservation_id)
                .bind(State::Cancelled.as_str())
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
        let cancelled = from_row(&row)?;
        mark(&mut tx, change_id, item, "cancelled", None, now).await?;
        enqueue(&mut tx, &event(&cancelled)).await?;
        tx.commit().await?;
        Ok(ItemOutcome::Cancelled)
    }
}

/// What locking an item found.
enum Claim {
    /// The item and its confirmed reservation, still on the closed slot.
    Locked(Box<Reservation>),
    /// Another worker holds it, or it is no longer pending.
    Busy,
    /// Its holder cancelled or moved the reservation first.
    Left,
}

/// Locks the pending item and its reservation; `SKIP LOCKED`, so workers of
/// every replica share the items without waiting on each other.
async fn claim(tx: &mut Transaction<'_, Postgres>, change_id: Uuid, item: PendingItem) -> Result<Claim, ReservationError> {
    let columns = COLUMNS.split(", ").map(|c| format!("r.{c}")).collect::<Vec<_>>().join(", ");
    let row = sqlx::query(&format!(
        "SELECT {columns} FROM supply_change_items i JOIN reservations r USING (reservation_id)
         WHERE i.change_id = $1 AND i.reservation_id = $2 AND i.state = 'pending'
         FOR UPDATE OF i, r SKIP LOCKED"
    ))
    .bind(change_id)
    .bind(item.reservation_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row.as_ref().map(from_row).transpose()? {
        None => Claim::Busy,
        Some(r) if r.state == State::Confirmed && r.slot.slot_id == item.from_slot => Claim::Locked(Box::new(r)),
        Some(_) => Claim::Left,
    })
}

/// The reservation, locked, or the outcome when there is nothing to do
/// (an item whose reservation left is marked `skipped`, committed).
async fn claimed(
    mut tx: Transaction<'static, Postgres>,
    change_id: Uuid,
    item: PendingItem,
    now: DateTime<Utc>,
) -> Result<Result<(Transaction<'static, Postgres>, Reservation), ItemOutcome>, ReservationError> {
    match claim(&mut tx, change_id, item).await? {
        Claim::Locked(r) => Ok(Ok((tx, *r))),
        Claim::Busy => Ok(Err(ItemOutcome::Skipped)),
        Claim::Left => {
            mark(&mut tx, change_id, item, "skipped", None, now).await?;
            tx.commit().await?;
            Ok(Err(ItemOutcome::Skipped))
        }
    }
}

async fn mark(
    tx: &mut Transaction<'_, Postgres>,
    change_id: Uuid,
    item: PendingItem,
    state: &str,
    to: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE supply_change_items SET state = $3, to_slot_id = $4, done_at = $5 WHERE change_id = $1 AND reservation_id = $2")
        .bind(change_id)
        .bind(item.reservation_id)
        .bind(state)
        .bind(to)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
