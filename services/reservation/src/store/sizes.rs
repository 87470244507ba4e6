//! Slot sizes follow the catalogue (`inventory.slot_resized.v1`): the
//! ledger takes the new size unless it is below what is booked, in which
//! case every booking is kept, no new one is taken, and the slot is flagged
//! until cancellations bring it down.
use uuid::Uuid;

use super::Store;
use crate::domain::SizeChange;

impl Store {
    /// Applies the catalogue's current size of a slot to its ledger.
    pub(crate) async fn apply_size(&self, slot_id: Uuid, size: u32) -> Result<SizeChange, sqlx::Error> {
        let size = i32::try_from(size).unwrap_or(i32::MAX);
        let mut tx = self.pool.begin().await?;
        // A ledger created now already has the size: nothing more to do.
        let created = sqlx::query("INSERT INTO slot_ledger (slot_id, capacity) VALUES ($1, $2) ON CONFLICT (slot_id) DO NOTHING")
            .bind(slot_id)
            .bind(size)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if created == 1 {
            tx.commit().await?;
            return Ok(SizeChange::Unchanged);
        }
        let (capacity, booked, target): (i32, i32, Option<i32>) =
            sqlx::query_as("SELECT capacity, booked, target_capacity FROM slot_ledger WHERE slot_id = $1 FOR UPDATE")
                .bind(slot_id)
                .fetch_one(&mut *tx)
                .await?;
        let change = if size >= booked {
            if capacity == size && target.is_none() {
                SizeChange::Unchanged
            } else {
                sqlx::query("UPDATE slot_ledger SET capacity = $2, target_capacity = NULL, overbooked_since = NULL WHERE slot_id = $1")
                    .bind(slot_id)
                    .bind(size)
                    .execute(&mut *tx)
                    .await?;
                SizeChange::Applied { from: capacity, to: size }
            }
        } else {
            sqlx::query(
                "UPDATE slot_ledger SET capacity = booked, target_capacity = $2,
                        overbooked_since = COALESCE(overbooked_since, now())
                 WHERE slot_id = $1",
            )
            .bind(slot_id)
            .bind(size)
            .execute(&mut *tx)
            .await?;
            SizeChange::Refused { booked, requested: size }
        };
        tx.commit().await?;
        Ok(change)
    }
}
