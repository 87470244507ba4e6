//! The `deliveries` table: one row per SMS, the sender's work queue and the
//! record support staff read. Nothing else talks to the database.
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;
use yeyak_platform::{messaging::inbox, validate::mask_phone};

use crate::domain::{self, DeliveryState, Notice};

/// A delivery as support staff see it (no raw phone number).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeliveryRecord {
    pub message_id: Uuid,
    pub reservation_id: Uuid,
    pub event_type: String,
    pub state: String,
    pub masked_phone: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A delivery claimed by this replica's sender.
#[derive(Clone, sqlx::FromRow)]
pub struct Claimed {
    pub message_id: Uuid,
    pub phone: Option<String>,
    pub masked_phone: String,
    pub text: String,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

/// What recording an event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// A new pending delivery: wake the sender.
    Queued,
    /// The event carried no phone number; nothing to send.
    NothingToSend,
    /// The event was processed before (redelivery); no effect.
    Duplicate,
}

/// New deliveries as columns, for one multi-row insert.
#[derive(Default)]
struct Rows {
    message_ids: Vec<Uuid>,
    event_ids: Vec<Uuid>,
    reservation_ids: Vec<Uuid>,
    event_types: Vec<&'static str>,
    phones: Vec<String>,
    masked: Vec<String>,
    texts: Vec<String>,
}

impl Rows {
    fn push(&mut self, event_id: Uuid, notice: &Notice, phone: &str) {
        self.message_ids.push(domain::message_id(event_id));
        self.event_ids.push(event_id);
        self.reservation_ids.push(notice.reservation_id);
        self.event_types.push(notice.event_type);
        self.phones.push(phone.to_owned());
        self.masked.push(mask_phone(phone));
        self.texts.push(notice.text.clone());
    }
}

/// The sender's claim (`$1` how many, `$2` the lease in seconds); see
/// [`DeliveryStore::claim_due`]. Public so a test can check its plan.
pub const CLAIM_DUE: &str = "UPDATE deliveries SET leased_until = now() + make_interval(secs => $2)
             WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM deliveries p
                 WHERE next_attempt_at <= now() AND (leased_until IS NULL OR leased_until <= now())
                   AND (SELECT 1 FROM deliveries older
                        WHERE older.reservation_id = p.reservation_id AND older.state = 'pending'
                          AND older.event_id < p.event_id
                        LIMIT 1) IS NULL
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED))
             RETURNING message_id, phone, masked_phone, text, attempts, created_at";

/// Run before [`CLAIM_DUE`] in its transaction: estimates from a small early
/// table would make a sort of the whole due range look cheaper than reading
/// the index head in order.
pub const CLAIM_PLANNER: &str = "SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)";

#[derive(Clone)]
pub struct DeliveryStore {
    pool: PgPool,
}

const RECORD_COLUMNS: &str = "message_id, reservation_id, event_type, state, masked_phone, attempts, created_at, sent_at";

impl DeliveryStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records events as processed and queues their SMS, in one transaction:
    /// either all of it happens or none (and the broker redelivers). One
    /// answer per event, in the order given; an event given twice is
    /// recorded once.
    pub async fn record(&self, events: &[(Uuid, &Notice)]) -> Result<Vec<Recorded>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<Uuid> = events.iter().map(|(id, _)| *id).collect();
        let mut fresh = inbox::first_deliveries(&mut tx, &ids).await?;
        let mut rows = Rows::default();
        let recorded = events
            .iter()
            .map(|(event_id, notice)| match (fresh.remove(event_id), notice.phone.as_deref()) {
                (false, _) => Recorded::Duplicate,
                (true, None) => Recorded::NothingToSend,
                (true, Some(phone)) => {
                    rows.push(*event_id, notice, phone);
                    Recorded::Queued
                }
            })
            .collect();
        if !rows.event_ids.is_empty() {
            sqlx::query(
                "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, phone, masked_phone, text, state, attempts, next_attempt_at)
                 SELECT m, e, r, t, p, mp, x, 'pending', 0, now()
                     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[]) AS v(m, e, r, t, p, mp, x)
                 ON CONFLICT (message_id) DO NOTHING",
            )
            .bind(&rows.message_ids)
            .bind(&rows.event_ids)
            .bind(&rows.reservation_ids)
            .bind(&rows.event_types)
            .bind(&rows.phones)
            .bind(&rows.masked)
            .bind(&rows.texts)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(recorded)
    }

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
    pub async fn claim_due(&self, limit: i64, lease: Duration) -> Result<Vec<Claimed>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(CLAIM_PLANNER).execute(&mut *tx).await?;
        let mut rows: Vec<Claimed> = sqlx::query_as(CLAIM_DUE).bind(limit).bind(lease.as_secs_f64()).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.sort_by_key(|r| r.created_at);
        Ok(rows)
    }

    /// The gateway accepted these messages. Their phone numbers are no
    /// longer needed and are erased (data minimisation).
    pub async fn mark_sent(&self, message_ids: &[Uuid]) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE deliveries SET state = 'sent', sent_at = now(), attempts = attempts + 1, phone = NULL, last_error = NULL,
                 next_attempt_at = NULL, leased_until = NULL
             WHERE message_id = ANY($1) AND state = 'pending'",
        )
        .bind(message_ids)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An attempt failed: schedule the next one, or give up (`retry_in` None).
    pub async fn mark_attempt_failed(&self, message_id: Uuid, retry_in: Option<Duration>, error: &str) -> Result<(), sqlx::Error> {
        let state = if retry_in.is_some() { DeliveryState::Pending } else { DeliveryState::Failed };
        sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, state = $2, last_error = $3,
                 next_attempt_at = CASE WHEN $2 = 'pending' THEN now() + make_interval(secs => $4) END, leased_until = NULL,
                 phone = CASE WHEN $2 = 'pending' THEN phone END
             WHERE message_id = $1 AND state = 'pending'",
        )
        .bind(message_id)
        .bind(state.as_str())
        .bind(error)
        .bind(retry_in.unwrap_or_default().as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deliveries of one reservation, oldest first.
    pub async fn by_reservation(&self, reservation_id: Uuid) -> Result<Vec<DeliveryRecord>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {RECORD_COLUMNS} FROM deliveries WHERE reservation_id = $1 ORDER BY event_id"))
            .bind(reservation_id)
            .fetch_all(&self.pool)
            .await
    }

    pub async fn by_message(&self, message_id: Uuid) -> Result<Option<DeliveryRecord>, sqlx::Error> {
        sqlx::query_as(&format!("SELECT {RECORD_COLUMNS} FROM deliveries WHERE message_id = $1"))
            .bind(message_id)
            .fetch_optional(&self.pool)
            .await
    }
}
