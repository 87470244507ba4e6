//! Pending deliveries whose phone number a build before sealing stored in
//! plain text (or a replica of such a build during a rolling upgrade): found
//! through a partial index, replaced by their sealed form.
use uuid::Uuid;

use super::DeliveryStore;

impl DeliveryStore {
    /// Up to `limit` deliveries that still hold a plain number: (message id,
    /// reservation id, number).
    pub(crate) async fn plain_contacts(&self, limit: i64) -> Result<Vec<(Uuid, Uuid, String)>, sqlx::Error> {
        sqlx::query_as("SELECT message_id, reservation_id, phone FROM deliveries WHERE phone IS NOT NULL LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await
    }

    /// Stores the sealed numbers and clears the plain ones, in one statement.
    pub(crate) async fn seal_contacts(&self, message_ids: &[Uuid], sealed: &[Vec<u8>]) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE deliveries d SET sealed_contact = v.sealed, phone = NULL
             FROM unnest($1::uuid[], $2::bytea[]) AS v(id, sealed)
             WHERE d.message_id = v.id AND d.phone IS NOT NULL",
        )
        .bind(message_ids)
        .bind(sealed)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

impl DeliveryStore {
    /// Erases up to `limit` sealed (or plain) numbers of deliveries that
    /// ended (sent or failed) more than `retention` after they were
    /// recorded; returns how many. Found through `deliveries_kept_contacts`.
    pub(crate) async fn erase_expired_contacts(&self, retention: std::time::Duration, limit: i64) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE deliveries SET sealed_contact = NULL, phone = NULL
             WHERE message_id IN (SELECT message_id FROM deliveries
                                  WHERE sealed_contact IS NOT NULL AND state IN ('sent', 'failed')
                                    AND created_at < now() - make_interval(secs => $1)
                                  LIMIT $2)
               AND state IN ('sent', 'failed')",
        )
        .bind(retention.as_secs_f64())
        .bind(limit)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
