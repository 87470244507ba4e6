//! Consumer-side deduplication: a consumer records each event id in its own
//! database, in the same transaction as the work the event causes. A
//! redelivered event finds its id and is acknowledged without effect.
//!
//! The table is the platform's ([`super::tables::Table::Inbox`]), applied by
//! each consuming service with its own migrations.
use sqlx::{Postgres, Transaction};

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
