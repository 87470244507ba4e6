//! The automatic admission rate's record in PostgreSQL: every change the
//! controller makes (`admission_rate_changes`), so operators can tell after
//! the fact who admitted how fast and why, and so a replica taking the
//! control over can resume from the last rate even after Redis lost it.
use super::{at, settings_in, DurableStore};
use crate::domain::StoredSettings;

/// One change of an event's automatic rate.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RateChange {
    pub(crate) old_rate: f64,
    pub(crate) new_rate: f64,
    /// `up` or `down`.
    pub(crate) direction: &'static str,
    pub(crate) reason: String,
    /// The replica that held the control.
    pub(crate) replica: String,
    pub(crate) at_ms: i64,
}

impl DurableStore {
    /// The operators' settings of `queue` (the controller's switch and floor among them).
    pub(crate) async fn settings(&self, queue: &str) -> Result<StoredSettings, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        settings_in(&mut conn, queue).await
    }

    pub(crate) async fn record_rate_change(&self, queue: &str, change: &RateChange) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO admission_rate_changes (queue_id, changed_at, old_rate, new_rate, direction, reason, replica)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(queue)
        .bind(at(change.at_ms))
        .bind(change.old_rate)
        .bind(change.new_rate)
        .bind(change.direction)
        .bind(&change.reason)
        .bind(&change.replica)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// The last change of `queue`'s automatic rate: (rate, reason, unix ms).
    pub(crate) async fn last_rate_change(&self, queue: &str) -> Result<Option<(f64, String, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT new_rate, reason, (extract(epoch FROM changed_at) * 1000)::bigint FROM admission_rate_changes
             WHERE queue_id = $1 ORDER BY changed_at DESC, id DESC LIMIT 1",
        )
        .bind(queue)
        .fetch_optional(&self.pool)
        .await
    }
}
