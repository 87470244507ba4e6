//! The sender's side of the `deliveries` table: claiming due deliveries and
//! recording what each attempt achieved.
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{postgres::PgRow, Row as _};
use uuid::Uuid;

use super::DeliveryStore;
use crate::domain::{DeliveryState, SmsText};

/// A delivery claimed by this replica's sender.
#[derive(Clone, sqlx::FromRow)]
pub(crate) struct Claimed {
    pub(crate) message_id: Uuid,
    /// What the sealed number is bound to.
    pub(crate) reservation_id: Uuid,
    /// The number, sealed to this service's key: opened only to send.
    pub(crate) sealed_contact: Option<Vec<u8>>,
    /// A plain number a previous build wrote (sealed by the next sweep).
    pub(crate) phone: Option<String>,
    pub(crate) masked_phone: String,
    /// The text, with the trace context the gateway call continues.
    #[sqlx(flatten)]
    pub(crate) text: SmsText,
    pub(crate) attempts: i32,
    pub(crate) created_at: DateTime<Utc>,
    /// The gateway an earlier round handed it to without learning the
    /// outcome (an unknown outcome, or a replica that died mid-send): asked
    /// first, before anything is sent anywhere.
    pub(crate) gateway: Option<String>,
    /// The booking event whose funnel this SMS ends, if it is a confirmation.
    pub(crate) funnel_event: Option<String>,
}

/// The `text` and `traceparent` columns of a claimed row.
impl<'r> sqlx::FromRow<'r, PgRow> for SmsText {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self { body: row.try_get("text")?, traceparent: row.try_get("traceparent")? })
    }
}

/// The sender's claim (`$1` how many, `$2` the lease in seconds); see
/// [`DeliveryStore::claim_due`]. Public so a test can check its plan.
pub const CLAIM_DUE: &str = "UPDATE deliveries SET leased_until = now() + make_interval(secs => $2)
             WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM deliveries p
                 WHERE next_attempt_at <= now() AND (leased_until IS NULL OR leased_until <= now())
                   AND (SELECT 1 FROM deliveries older
                        WHERE older.reservation_id = p.reservation_id AND older.state IN ('pending', 'unknown')
                          AND older.event_id < p.event_id
                        LIMIT 1) IS NULL
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED))
             RETURNING message_id, reservation_id, sealed_contact, phone, masked_phone, text, traceparent, attempts, created_at, gateway,
                       funnel_event";

/// Run before [`CLAIM_DUE`] in its transaction: estimates from a small early
/// table would make a sort of the whole due range look cheaper than reading
/// the index head in order.
pub const CLAIM_PLANNER: &str = "SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)";

impl DeliveryStore {
    /// Claims up to `limit` due deliveries, soonest due first, for `lease`:
    /// they are leased, so no other replica picks them up meanwhile, and a
    /// replica that dies mid-send leaves them due again after the lease
    /// (the resend carries the same idempotency key). SKIP LOCKED lets
    /// replicas claim side by side without waiting for each other.
    ///
    /// A person gets a reservation's messages in the order its events
    /// happened: a delivery waits while an older one for the same
    /// reservation is still pending (being sent, or retrying). Event ids are
    /// UUIDv7, so their order is the order the events were written, whatever
    /// order the consumer recorded them in.
    ///
    /// The statement is written so that its plan does not depend on table
    /// statistics, which a busy new table lacks for its first minutes: the
    /// head of the due index in order (sorts and bitmap scans are switched
    /// off for it), one index probe per row for an older message (a scalar
    /// subquery, which the planner never turns into a join over every
    /// pending row), and the update by the locked rows' ctids (no join back
    /// to the table). Its cost is the batch's, not the backlog's.
    pub(crate) async fn claim_due(&self, limit: i64, lease: Duration) -> Result<Vec<Claimed>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(CLAIM_PLANNER).execute(&mut *tx).await?;
        let mut rows: Vec<Claimed> = sqlx::query_as(CLAIM_DUE).bind(limit).bind(lease.as_secs_f64()).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.sort_by_key(|r| r.created_at);
        Ok(rows)
    }

    /// Notes, before sending, which gateway each message goes to (one
    /// statement for a batch): should this round never record its outcome,
    /// the next one asks that gateway before sending anywhere.
    pub(crate) async fn hand_to(&self, message_ids: &[Uuid], gateway: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE deliveries SET gateway = $2 WHERE message_id = ANY($1) AND state IN ('pending', 'unknown')")
            .bind(message_ids)
            .bind(gateway)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The gateways accepted these messages (message id, gateway). A plain
    /// number an older build stored is erased; the sealed one is kept for
    /// resends until the retention period passes (`app::contacts`).
    pub(crate) async fn mark_sent(&self, sent: &[(Uuid, String)]) -> Result<(), sqlx::Error> {
        let (ids, gateways): (Vec<Uuid>, Vec<String>) = sent.iter().cloned().unzip();
        sqlx::query(
            "UPDATE deliveries d SET state = 'sent', sent_at = now(), attempts = attempts + 1, phone = NULL,
                 last_error = NULL, next_attempt_at = NULL, leased_until = NULL, gateway = v.gateway
             FROM unnest($1::uuid[], $2::text[]) AS v(id, gateway)
             WHERE d.message_id = v.id AND d.state IN ('pending', 'unknown')",
        )
        .bind(&ids)
        .bind(&gateways)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// No gateway took it: schedule the next attempt, or give up (`retry_in`
    /// None). A failed delivery keeps its sealed number, so an operator can
    /// replay it, until it is sent, discarded or the retention period passes.
    pub(crate) async fn mark_attempt_failed(&self, message_id: Uuid, retry_in: Option<Duration>, error: &str) -> Result<(), sqlx::Error> {
        let state = if retry_in.is_some() { DeliveryState::Pending } else { DeliveryState::Failed };
        sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, state = $2, last_error = $3, gateway = NULL,
                 next_attempt_at = CASE WHEN $2 = 'pending' THEN now() + make_interval(secs => $4) END, leased_until = NULL
             WHERE message_id = $1 AND state IN ('pending', 'unknown')",
        )
        .bind(message_id)
        .bind(state.as_str())
        .bind(error)
        .bind(retry_in.unwrap_or_default().as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Handed to `gateway`, outcome unknown: asked there again in `check_in`
    /// (never sent elsewhere meanwhile).
    pub(crate) async fn mark_unknown(&self, message_id: Uuid, gateway: &str, check_in: Duration, error: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, state = 'unknown', gateway = $2, last_error = $3,
                 next_attempt_at = now() + make_interval(secs => $4), leased_until = NULL
             WHERE message_id = $1 AND state IN ('pending', 'unknown')",
        )
        .bind(message_id)
        .bind(gateway)
        .bind(error)
        .bind(check_in.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
