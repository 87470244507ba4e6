//! The transactional outbox relay. Services write events into their own
//! `outbox` table in the transaction that changes state; this relay publishes
//! them with publisher confirms and marks them only after the confirm. A crash
//! between publish and mark publishes again (at-least-once; consumers dedup).
//!
//! Each publishing service's migrations create:
//! `CREATE TABLE outbox (id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE,
//!  routing_key text NOT NULL, payload bytea NOT NULL, traceparent text NOT NULL DEFAULT '',
//!  created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz)` and a partial
//! index on `id WHERE published_at IS NULL`, so the relay's scan stays cheap.
use std::{sync::Arc, time::Duration};

use sqlx::{PgPool, Postgres, Row as _, Transaction};
use tokio::sync::Notify;

use super::publisher::{Outgoing, Publisher};
use crate::shutdown::Shutdown;

/// Writes an event into the outbox inside the caller's transaction.
pub async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    event_id: uuid::Uuid,
    routing_key: &str,
    payload: &[u8],
    traceparent: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO outbox (event_id, routing_key, payload, traceparent) VALUES ($1, $2, $3, $4)")
        .bind(event_id)
        .bind(routing_key)
        .bind(payload)
        .bind(traceparent)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Runs the relay until shutdown. `wake` is notified after commits so events
/// go out at once; a periodic sweep catches anything else (other replicas,
/// restarts, broker outages).
pub async fn run_relay(pool: PgPool, publisher: Arc<Publisher>, wake: Arc<Notify>, shutdown: Shutdown) {
    let mut backoff = Duration::from_millis(100);
    while !shutdown.is_triggered() {
        match relay_batch(&pool, &publisher, 200).await {
            Ok(n) if n > 0 => {
                backoff = Duration::from_millis(100);
                continue;
            }
            Ok(_) => backoff = Duration::from_millis(100),
            Err(e) => {
                tracing::warn!(error = %e, "outbox relay could not publish; retrying");
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
        tokio::select! {
            _ = wake.notified() => {},
            _ = tokio::time::sleep(if backoff > Duration::from_millis(100) { backoff } else { Duration::from_millis(250) }) => {},
            _ = shutdown.wait() => {},
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("broker: {0}")]
    Publish(#[from] super::PublishError),
}

/// Publishes up to `limit` pending events; returns how many went out. Rows are
/// locked with SKIP LOCKED so several replicas relay side by side.
pub async fn relay_batch(pool: &PgPool, publisher: &Publisher, limit: i64) -> Result<usize, RelayError> {
    let mut tx = pool.begin().await?;
    let rows = sqlx::query(
        "SELECT id, event_id, routing_key, payload, traceparent FROM outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut ids = Vec::with_capacity(rows.len());
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        ids.push(row.try_get::<i64, _>("id")?);
        events.push(Outgoing {
            event_id: row.try_get("event_id")?,
            routing_key: row.try_get("routing_key")?,
            payload: row.try_get("payload")?,
            traceparent: row.try_get("traceparent")?,
        });
    }
    publisher.publish_all(&events).await?;
    sqlx::query("UPDATE outbox SET published_at = now() WHERE id = ANY($1)").bind(&ids).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(ids.len())
}
