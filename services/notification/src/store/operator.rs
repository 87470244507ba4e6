//! The operators' side of the `deliveries` table: listing by state through
//! `deliveries_for_operators` (a page and the counts cost an index range,
//! never the table), and changing one delivery under its row lock, with
//! the change's audit row in the same transaction (no record, no change).
use chrono::{DateTime, Utc};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;
use yeyak_platform::operators::{audit, AuditEvent};

use super::{DeliveryStore, RecordRow, RECORD_COLUMNS};
use crate::domain::{Change, DeliveryDetail, DeliveryState, PageCursor};

/// A row as operators see it (still no number: whether one is kept, only).
#[derive(sqlx::FromRow)]
pub(super) struct DetailRow {
    #[sqlx(flatten)]
    record: RecordRow,
    number_kept: bool,
    resend_of: Option<Uuid>,
    next_attempt_at: Option<DateTime<Utc>>,
    leased: bool,
}

impl From<DetailRow> for DeliveryDetail {
    fn from(r: DetailRow) -> Self {
        Self {
            record: r.record.into(),
            number_kept: r.number_kept,
            resend_of: r.resend_of,
            next_attempt_at: r.next_attempt_at,
            leased: r.leased,
        }
    }
}

pub(super) fn detail_columns() -> String {
    format!(
        "{RECORD_COLUMNS}, (sealed_contact IS NOT NULL OR phone IS NOT NULL) AS number_kept, resend_of, next_attempt_at,
         coalesce(leased_until > now(), false) AS leased"
    )
}

/// The states operators list (those `deliveries_for_operators` holds).
pub(crate) const LISTED: [DeliveryState; 3] = [DeliveryState::Failed, DeliveryState::Unknown, DeliveryState::Discarded];

/// One delivery, locked for a change until [`Locked::apply`] or
/// [`Locked::keep`] commits.
pub(crate) struct Locked {
    tx: Transaction<'static, Postgres>,
    pub(crate) detail: DeliveryDetail,
}

impl DeliveryStore {
    /// One page of deliveries in `state`, newest first, after `after`.
    pub(crate) async fn list(
        &self,
        state: DeliveryState,
        limit: i64,
        after: Option<PageCursor>,
    ) -> Result<Vec<DeliveryDetail>, sqlx::Error> {
        let listed = "state IN ('failed', 'unknown', 'discarded')";
        let rows: Vec<DetailRow> = match after {
            None => {
                let sql = format!(
                    "SELECT {} FROM deliveries WHERE state = $1 AND {listed} ORDER BY created_at DESC, message_id DESC LIMIT $2",
                    detail_columns()
                );
                sqlx::query_as(&sql).bind(state.as_str()).bind(limit).fetch_all(&self.pool).await?
            }
            Some(c) => {
                let sql = format!(
                    "SELECT {} FROM deliveries WHERE state = $1 AND {listed} AND (created_at, message_id) < ($3, $4)
                     ORDER BY created_at DESC, message_id DESC LIMIT $2",
                    detail_columns()
                );
                sqlx::query_as(&sql).bind(state.as_str()).bind(limit).bind(c.created_at).bind(c.message_id).fetch_all(&self.pool).await?
            }
        };
        Ok(rows.into_iter().map(DeliveryDetail::from).collect())
    }

    /// Deliveries per listed state and gateway.
    pub(crate) async fn counts(&self) -> Result<Vec<(String, Option<String>, i64)>, sqlx::Error> {
        sqlx::query_as(
            "SELECT state, gateway, count(*) FROM deliveries WHERE state IN ('failed', 'unknown', 'discarded')
             GROUP BY state, gateway ORDER BY state, gateway",
        )
        .fetch_all(&self.pool)
        .await
    }

    pub(crate) async fn detail(&self, message_id: Uuid) -> Result<Option<DeliveryDetail>, sqlx::Error> {
        let sql = format!("SELECT {} FROM deliveries WHERE message_id = $1", detail_columns());
        let row: Option<DetailRow> = sqlx::query_as(&sql).bind(message_id).fetch_optional(&self.pool).await?;
        Ok(row.map(DeliveryDetail::from))
    }

    /// Locks one delivery for a change (a sender's mark waits for it; its
    /// claim skips it).
    pub(crate) async fn lock(&self, message_id: Uuid) -> Result<Option<Locked>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let sql = format!("SELECT {} FROM deliveries WHERE message_id = $1 FOR UPDATE", detail_columns());
        let row: Option<DetailRow> = sqlx::query_as(&sql).bind(message_id).fetch_optional(&mut *tx).await?;
        Ok(row.map(|row| Locked { tx, detail: row.into() }))
    }

    /// Event ids among `event_ids` the consumer has recorded (the inbox).
    pub(crate) async fn recorded_events(&self, event_ids: &[Uuid]) -> Result<Vec<Uuid>, sqlx::Error> {
        sqlx::query_scalar("SELECT event_id FROM processed_events WHERE event_id = ANY($1)").bind(event_ids).fetch_all(&self.pool).await
    }
}

impl Locked {
    /// Makes `change` (decided allowed by `Change::decide`), writes `event`,
    /// commits; returns the delivery as it now is.
    pub(crate) async fn apply(mut self, change: Change, event: &AuditEvent) -> Result<DeliveryDetail, sqlx::Error> {
        let set = match change {
            // A fresh budget of attempts, under the next generation of the
            // reference: no gateway has the last one (that is how it
            // failed), and one may have voided it.
            Change::Replay => {
                "state = 'pending', attempts = 0, checks = 0, gateway = NULL, generation = generation + 1, next_attempt_at = now()"
            }
            Change::ResolveSent => "state = 'sent', sent_at = now(), last_error = NULL, next_attempt_at = NULL",
            // The same generation: should the gateway have it after all, it
            // deduplicates the resend (a voided reference is answered 410
            // and the sender moves on to the next generation).
            Change::ResolveNotSent => "state = 'pending', attempts = 0, checks = 0, gateway = NULL, next_attempt_at = now()",
            Change::Discard => "state = 'discarded', next_attempt_at = NULL, phone = NULL, sealed_contact = NULL",
        };
        // No round's late update applies after an operator's change.
        let sql = format!("UPDATE deliveries SET {set}, leased_until = NULL, claim = NULL WHERE message_id = $1");
        let id = self.detail.record.message_id;
        sqlx::query(&sql).bind(id).execute(&mut *self.tx).await?;
        audit::record(&mut *self.tx, event).await?;
        let sql = format!("SELECT {} FROM deliveries WHERE message_id = $1", detail_columns());
        let row: DetailRow = sqlx::query_as(&sql).bind(id).fetch_one(&mut *self.tx).await?;
        self.tx.commit().await?;
        Ok(row.into())
    }

    /// Changes nothing; writes `event` and releases the row.
    pub(crate) async fn keep(mut self, event: &AuditEvent) -> Result<(), sqlx::Error> {
        audit::record(&mut *self.tx, event).await?;
        self.tx.commit().await
    }
}
