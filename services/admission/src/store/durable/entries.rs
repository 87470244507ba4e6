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
    /// The entry `subject` already holds in `queue`, if any.
    pub(crate) async fn entry_of(&self, queue: &str, subject: &str) -> Result<Option<Entry>, sqlx::Error> {
        let row: Option<Row> =
            sqlx::query_as("SELECT place, lottery_entry, session_id FROM identity_entries WHERE queue_id = $1 AND subject = $2")
                .bind(queue)
                .bind(subject)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(entry))
    }

    /// Records `new` as `subject`'s entry unless they already hold one;
    /// returns the entry they hold now. Of two joins of one person at once,
    /// one entry wins and the other join gets it too (its place is skipped).
    pub(crate) async fn claim_entry(&self, queue: &str, subject: &str, new: &Entry) -> Result<Entry, sqlx::Error> {
        let row: Option<Row> = sqlx::query_as(
            "WITH inserted AS (
               INSERT INTO identity_entries (queue_id, subject, place, lottery_entry, session_id)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT (queue_id, subject) DO NOTHING
               RETURNING place, lottery_entry, session_id)
             SELECT place, lottery_entry, session_id FROM inserted
             UNION ALL
             SELECT place, lottery_entry, session_id FROM identity_entries WHERE queue_id = $1 AND subject = $2
             LIMIT 1",
        )
        .bind(queue)
        .bind(subject)
        .bind(new.place as i64)
        .bind(new.lottery_entry.map(|e| e as i64))
        .bind(&new.session_id)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            Some(row) => Ok(entry(row)),
            // Another join of this person committed it after this statement's
            // snapshot was taken: a new statement sees it.
            None => self.entry_of(queue, subject).await?.ok_or(sqlx::Error::RowNotFound),
        }
    }

    /// Forgets entries older than the tickets they back.
    pub(crate) async fn prune_entries(&self, queue: &str, older_than_secs: i64) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM identity_entries WHERE queue_id = $1 AND created_at < now() - make_interval(secs => $2)")
            .bind(queue)
            .bind(older_than_secs as f64)
            .execute(&self.pool)
            .await
            .map(drop)
    }
}
