//! Identity-first events: one entry per person per event, in PostgreSQL so
//! that no loss of Redis lets a person enter twice. A person's later joins
//! read their entry with one statement; their first join locks their row
//! while it takes a place, so concurrent first joins of one person (from
//! several clients or replicas) wait for that place instead of each taking
//! one that nobody would hold.
use sqlx::{Postgres, Transaction};
use tokio::sync::OwnedSemaphorePermit;

use super::DurableStore;

/// A person's entry: what their ticket carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The place in line; 0 for a pre-opening lottery entry.
    pub(crate) place: u64,
    pub(crate) lottery_entry: Option<u64>,
    pub(crate) session_id: String,
}

/// What [`DurableStore::claim`] found.
pub(crate) enum Claimed {
    /// The person's entry, recorded by an earlier or a concurrent join.
    Held(Entry),
    /// None yet: this join takes the place and records it.
    New(Claim),
}

/// A first join in progress: the person's row is inserted but not
/// committed, so their other joins wait on it. Dropped without
/// [`Claim::record`] (no place taken), it rolls back and one of them claims.
pub(crate) struct Claim {
    tx: Transaction<'static, Postgres>,
    queue: String,
    subject: String,
    session_id: String,
    _permit: OwnedSemaphorePermit,
}

type Row = (i64, Option<i64>, String);

/// The place of a row inserted by a claim not yet recorded: only the
/// claiming transaction ever sees it.
const CLAIMING: i64 = -1;

fn entry((place, lottery_entry, session_id): Row) -> Entry {
    Entry { place: place as u64, lottery_entry: lottery_entry.map(|e| e as u64), session_id }
}

impl DurableStore {
    /// The entry `subject` already holds in `queue`, if any. It is about to
    /// back a new ticket, so its clock restarts: an entry is kept as long as
    /// its last ticket can be used (otherwise pruning it would let a holder
    /// of a live ticket join again as someone new).
    pub(crate) async fn entry_of(&self, queue: &str, subject: &str) -> Result<Option<Entry>, sqlx::Error> {
        let row: Option<Row> = sqlx::query_as(
            "UPDATE identity_entries SET created_at = now() WHERE queue_id = $1 AND subject = $2
             RETURNING place, lottery_entry, session_id",
        )
        .bind(queue)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(entry))
    }

    /// Claims `subject`'s entry in `queue` for a join that found none: the
    /// entry a concurrent join recorded meanwhile (waiting for it, up to the
    /// lock timeout), or the right to record a new one with `session_id`.
    pub(crate) async fn claim(&self, queue: &str, subject: &str, session_id: &str) -> Result<Claimed, sqlx::Error> {
        let permit = self.claims.clone().acquire_owned().await.map_err(|_| sqlx::Error::PoolClosed)?;
        let mut tx = self.pool.begin().await?;
        // A claimer stuck between its insert and its commit must not hold
        // the person's other joins (and their connections) for long.
        sqlx::query("SET LOCAL lock_timeout = '2s'").execute(&mut *tx).await?;
        let row: Row = sqlx::query_as(
            "INSERT INTO identity_entries (queue_id, subject, place, lottery_entry, session_id)
             VALUES ($1, $2, $3, NULL, $4)
             ON CONFLICT (queue_id, subject) DO UPDATE SET created_at = now()
             RETURNING place, lottery_entry, session_id",
        )
        .bind(queue)
        .bind(subject)
        .bind(CLAIMING)
        .bind(session_id)
        .fetch_one(&mut *tx)
        .await?;
        if row.0 != CLAIMING {
            tx.commit().await?;
            return Ok(Claimed::Held(entry(row)));
        }
        let (queue, subject, session_id) = (queue.to_owned(), subject.to_owned(), session_id.to_owned());
        Ok(Claimed::New(Claim { tx, queue, subject, session_id, _permit: permit }))
    }

    /// Forgets entries whose last ticket has expired (`created_at` is the
    /// time the last ticket for the entry was issued).
    pub(crate) async fn prune_entries(&self, queue: &str, older_than_secs: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM identity_entries WHERE queue_id = $1 AND created_at < now() - make_interval(secs => $2)")
            .bind(queue)
            .bind(older_than_secs as f64)
            .execute(&self.pool)
            .await
            .map(drop)
    }
}

impl Claim {
    /// Records the place taken and commits: the person's waiting joins get it.
    pub(crate) async fn record(mut self, place: u64, lottery_entry: Option<u64>) -> Result<Entry, sqlx::Error> {
        sqlx::query("UPDATE identity_entries SET place = $3, lottery_entry = $4 WHERE queue_id = $1 AND subject = $2")
            .bind(&self.queue)
            .bind(&self.subject)
            .bind(place as i64)
            .bind(lottery_entry.map(|e| e as i64))
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(Entry { place, lottery_entry, session_id: self.session_id })
    }
}
