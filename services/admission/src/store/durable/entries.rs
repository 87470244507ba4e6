//! Identity-first events: one entry per person per event, in PostgreSQL so
//! that no loss of Redis lets a person enter twice. Read once per join of
//! such an event, written once per person.
use super::DurableStore;

/// A person's entry: what their ticket carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The place in line; 0 for a pre-opening lottery entry.
    pub(crate) place: u64,
    pub(crate) lottery_entry: Option<u64>,
    pub(crate) session_id: String,
}

type Row = (i64, Option<i64>, String);

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

    /// Records `new` as `subject`'s entry unless they already hold one;
    /// returns the entry they hold now, its clock restarted. Of two joins of
    /// one person at once, one entry wins and the other join waits for it
    /// and gets it too (its place is skipped).
    pub(crate) async fn claim_entry(&self, queue: &str, subject: &str, new: &Entry) -> Result<Entry, sqlx::Error> {
        let row: Row = sqlx::query_as(
            "INSERT INTO identity_entries (queue_id, subject, place, lottery_entry, session_id)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (queue_id, subject) DO UPDATE SET created_at = now()
             RETURNING place, lottery_entry, session_id",
        )
        .bind(queue)
        .bind(subject)
        .bind(new.place as i64)
        .bind(new.lottery_entry.map(|e| e as i64))
        .bind(&new.session_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(entry(row))
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
