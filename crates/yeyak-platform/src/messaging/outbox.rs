//! The transactional outbox relay. Services write events into their own
//! `outbox` table in the transaction that changes state; this relay publishes
//! them with publisher confirms and marks them only after the confirm. A crash
//! between publish and mark publishes again (at-least-once; consumers dedup).
//!
//! The table is the platform's ([`super::tables::Table::Outbox`]): each
//! publishing service applies it with its own migrations, and writes rows
//! only through [`enqueue`] or, inside a larger statement, [`INSERT`].
//!
//! Published rows are kept for [`RETENTION`] (what went out, for operators
//! and tests) and then pruned by the relay, so the table holds a week of
//! events, not every event since the first evening.
use std::{sync::Arc, time::Duration};

use sqlx::{PgPool, Postgres, Row as _, Transaction};
use tokio::sync::Notify;

use super::publisher::{Outgoing, Publisher};
use crate::shutdown::Shutdown;

/// The head of the one statement that writes an outbox row, for a service
/// that must insert it inside a larger statement (a CTE); follow it with the
/// four values in this order.
pub const INSERT: &str = insert_head!();

macro_rules! insert_head {
    () => {
        "INSERT INTO outbox (event_id, routing_key, payload, traceparent)"
    };
}
use insert_head;

/// Writes an event into the outbox inside the caller's transaction.
pub async fn enqueue(
    tx: &mut Transaction<'_, Postgres>,
    event_id: uuid::Uuid,
    routing_key: &str,
    payload: &[u8],
    traceparent: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(concat!(insert_head!(), " VALUES ($1, $2, $3, $4)"))
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
/// restarts, broker outages). After a failure it waits a jittered
/// exponential backoff instead (commits do not cut it short), so the
/// replicas of every service do not hit a restarting broker in lockstep.
/// Pruning runs beside it, so deleting old rows never delays an event.
pub async fn run_relay(pool: PgPool, publisher: Arc<Publisher>, wake: Arc<Notify>, shutdown: Shutdown) {
    let pruner = tokio::spawn(run_pruner(pool.clone(), shutdown.clone()));
    let mut backoff = super::backoff::reconnect();
    while !shutdown.is_triggered() {
        // A pass cut short by shutdown rolls back: its rows stay for the
        // owner's final bounded pass or the next start (consumers
        // deduplicate what the broker already had). Waiting instead could
        // take the publisher's timeouts, past the grace.
        let pass = tokio::select! {
            pass = relay_batch(&pool, &publisher, 200) => pass,
            _ = shutdown.wait() => break,
        };
        match pass {
            Ok(n) => {
                backoff = super::backoff::reconnect();
                if n > 0 {
                    continue;
                }
                tokio::select! {
                    _ = wake.notified() => {},
                    _ = tokio::time::sleep(SWEEP_EVERY) => {},
                    _ = shutdown.wait() => {},
                }
            }
            Err(e) => {
                let retry_in = super::backoff::next(&mut backoff);
                tracing::warn!(error = %e, ?retry_in, "outbox relay could not publish; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(retry_in) => {},
                    _ = shutdown.wait() => {},
                }
            }
        }
    }
    let _ = pruner.await;
}

/// How often an idle relay looks for rows it was not woken for.
const SWEEP_EVERY: Duration = Duration::from_millis(250);

/// How long published rows are kept.
pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often the relay prunes, and how many rows one prune statement reads.
const PRUNE_EVERY: Duration = Duration::from_secs(60);
const PRUNE_BATCH: i64 = 5_000;
/// Bound on one round's statements: a backlog of old rows goes over a few
/// rounds instead of holding the database busy.
const PRUNE_ROUNDS: usize = 20;

async fn run_pruner(pool: PgPool, shutdown: Shutdown) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => prune_round(&pool).await,
            _ = shutdown.wait() => return,
        }
    }
}

/// One round of pruning; failures are logged and retried next round.
async fn prune_round(pool: &PgPool) {
    for _ in 0..PRUNE_ROUNDS {
        match prune(pool, RETENTION, PRUNE_BATCH).await {
            Ok(n) if n > 0 => tracing::debug!(rows = n, "pruned published outbox rows"),
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "outbox prune failed; retrying next round");
                return;
            }
        }
    }
}

/// Deletes rows published more than `older_than` ago among the `batch`
/// oldest rows (by id), and returns how many went. Reading only the head of
/// the primary key bounds the statement's cost whatever the table's size,
/// and the head is where old rows are: ids grow with time. A row stuck
/// unpublished stays (the relay keeps trying it) without stopping the
/// pruning of the published rows after it in the same batch. Replicas may
/// prune at the same moment: one waits for the other's rows and finds them
/// gone. The relay never locks these rows (it locks unpublished ones).
pub async fn prune(pool: &PgPool, older_than: Duration, batch: i64) -> Result<u64, sqlx::Error> {
    let age = older_than.as_secs_f64();
    let done = sqlx::query(
        "DELETE FROM outbox WHERE id IN (
             SELECT id FROM (SELECT id, published_at FROM outbox ORDER BY id LIMIT $1) head
             WHERE published_at < now() - make_interval(secs => $2))",
    )
    .bind(batch)
    .bind(age)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
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
