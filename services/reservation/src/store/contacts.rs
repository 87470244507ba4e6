//! Phone numbers stored in plain text by builds before sealing (or by a
//! replica of such a build during a rolling upgrade): found through a partial
//! index, replaced by their sealed form.
use uuid::Uuid;

use super::Store;

impl Store {
    /// Up to `limit` reservations that still hold a plain number.
    pub(crate) async fn plain_contacts(&self, limit: i64) -> Result<Vec<(Uuid, String)>, sqlx::Error> {
        sqlx::query_as("SELECT reservation_id, contact_phone FROM reservations WHERE contact_phone IS NOT NULL LIMIT $1")
            .bind(limit)
            .fetch_all(&self.pool)
            .await
    }

    /// Stores the sealed numbers and clears the plain ones, in one statement.
    pub(crate) async fn seal_contacts(&self, ids: &[Uuid], sealed: &[Vec<u8>]) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE reservations r SET sealed_contact = v.sealed, contact_phone = NULL
             FROM unnest($1::uuid[], $2::bytea[]) AS v(id, sealed)
             WHERE r.reservation_id = v.id AND r.contact_phone IS NOT NULL",
        )
        .bind(ids)
        .bind(sealed)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}
