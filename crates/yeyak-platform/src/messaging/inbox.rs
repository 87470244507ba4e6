//! Consumer-side deduplication: a consumer records each event id in its own
//! database, in the same transaction as the work the event causes. A
//! redelivered event finds its id and is acknowledged without effect.
//!
//! Each consuming service's migrations create:
//! `CREATE TABLE processed_events (event_id uuid PRIMARY KEY, processed_at timestamptz NOT NULL DEFAULT now())`.
use sqlx::{Postgres, Transaction};

/// Records `event_id`; false when it was processed before (skip the work).
pub async fn first_delivery(tx: &mut Transaction<'_, Postgres>, event_id: uuid::Uuid) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query("INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING")
        .bind(event_id)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok(inserted == 1)
}

/// Records a batch of event ids at once; returns the ones never processed
/// before (each once, even if it appears twice in `event_ids`).
pub async fn first_deliveries(
    tx: &mut Transaction<'_, Postgres>,
    event_ids: &[uuid::Uuid],
) -> Result<std::collections::HashSet<uuid::Uuid>, sqlx::Error> {
    let fresh: Vec<uuid::Uuid> =
        sqlx::query_scalar("INSERT INTO processed_events (event_id) SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING RETURNING event_id")
            .bind(event_ids)
            .fetch_all(&mut **tx)
            .await?;
    Ok(fresh.into_iter().collect())
}
