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

#[derive(Clone)]
pub struct DeliveryStore {
    pool: PgPool,
}

const RECORD_COLUMNS: &str = "message_id, reservation_id, event_type, state, masked_phone, attempts, created_at, sent_at";

impl DeliveryStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records the event as processed and queues its SMS, in one transaction:
    /// either both happen or neither (and the broker redelivers).
    pub async fn record(&self, event_id: Uuid, notice: &Notice) -> Result<Recorded, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        if !inbox::first_delivery(&mut tx, event_id).await? {
            tx.commit().await?;
            return Ok(Recorded::Duplicate);
        }
        let Some(phone) = notice.phone.as_deref() else {
            tx.commit().await?;
            return Ok(Recorded::NothingToSend);
        };
        sqlx::query(
            "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, phone, masked_phone, text, state, attempts, next_attempt_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, now())
             ON CONFLICT (message_id) DO NOTHING",
        )
        .bind(domain::message_id(event_id))
        .bind(event_id)
        .bind(notice.reservation_id)
        .bind(notice.event_type)
        .bind(phone)
        .bind(mask_phone(phone))
        .bind(&notice.text)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Recorded::Queued)
    }

    /// Claims up to `limit` due deliveries for `lease`: their next attempt is
    /// pushed past the lease, so no other replica picks them up meanwhile,
    /// and a replica that dies mid-send leaves them due again afterwards
    /// (the resend carries the same idempotency key). SKIP LOCKED lets
    /// replicas claim side by side without waiting for each other.
    ///
    /// A person gets a reservation's messages in the order its events
    /// happened: a delivery waits while an older one for the same
    /// reservation is still pending (being sent, or retrying). Event ids are
    /// UUIDv7, so their order is the order the events were written, whatever
    /// order the consumer recorded them in.
    pub async fn claim_due(&self, limit: i64, lease: Duration) -> Result<Vec<Claimed>, sqlx::Error> {
        let mut rows: Vec<Claimed> = sqlx::query_as(
            "UPDATE deliveries d SET next_attempt_at = now() + make_interval(secs => $2)
             FROM (SELECT message_id FROM deliveries p
                   WHERE state = 'pending' AND next_attempt_at <= now()
                     AND NOT EXISTS (SELECT 1 FROM deliveries older
                                     WHERE older.reservation_id = p.reservation_id AND older.state = 'pending'
                                       AND older.event_id < p.event_id)
                   ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED) due
             WHERE d.message_id = due.message_id
             RETURNING d.message_id, d.phone, d.masked_phone, d.text, d.attempts, d.created_at",
        )
        .bind(limit)
        .bind(lease.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        rows.sort_by_key(|r| r.created_at);
        Ok(rows)
    }

    /// The gateway accepted the message. The phone number is no longer
    /// needed and is erased (data minimisation).
    pub async fn mark_sent(&self, message_id: Uuid) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE deliveries SET state = 'sent', sent_at = now(), attempts = attempts + 1, phone = NULL, last_error = NULL
             WHERE message_id = $1 AND state = 'pending'",
        )
        .bind(message_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An attempt failed: schedule the next one, or give up (`retry_in` None).
    pub async fn mark_attempt_failed(&self, message_id: Uuid, retry_in: Option<Duration>, error: &str) -> Result<(), sqlx::Error> {
        let state = if retry_in.is_some() { DeliveryState::Pending } else { DeliveryState::Failed };
        sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, state = $2, last_error = $3,
                 next_attempt_at = now() + make_interval(secs => $4),
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
