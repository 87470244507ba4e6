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
pub struct Claimed {
    pub message_id: Uuid,
    /// The claim's token: every update of this round names it, and matches
    /// nothing once another round has claimed the row (after this one's
    /// lease expired).
    pub claim: Uuid,
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
    pub gateway: Option<String>,
    /// The reference's generation (`domain::gateway::reference`): the one
    /// `gateway` was handed, or the next send's.
    pub generation: i32,
    /// Lookups of an unknown outcome so far (their backoff; not attempts).
    pub(crate) checks: i32,
    /// The booking event whose funnel this SMS ends, if it is a confirmation.
    pub(crate) funnel_event: Option<String>,
}

/// Which round an update comes from (its claim) and what it did: the
/// reference's generation it ended with, and whether it posted the message
/// anywhere (a round that only asked a gateway is no attempt).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub message_id: Uuid,
    pub claim: Uuid,
    pub generation: i32,
    pub posted: bool,
}

/// The `text` and `traceparent` columns of a claimed row.
impl<'r> sqlx::FromRow<'r, PgRow> for SmsText {
    fn from_row(row: &'r PgRow) -> Result<Self, sqlx::Error> {
        Ok(Self { body: row.try_get("text")?, traceparent: row.try_get("traceparent")? })
    }
}

/// The sender's claim (`$1` how many, `$2` the lease in seconds, `$3` the
/// claim's token); see [`DeliveryStore::claim_due`]. Public so a test can
/// check its plan.
pub const CLAIM_DUE: &str = "UPDATE deliveries SET leased_until = now() + make_interval(secs => $2), claim = $3
             WHERE ctid = ANY(ARRAY(
                 SELECT ctid FROM deliveries p
                 WHERE next_attempt_at <= now() AND (leased_until IS NULL OR leased_until <= now())
                   AND (SELECT 1 FROM deliveries older
                        WHERE older.reservation_id = p.reservation_id AND older.state IN ('pending', 'unknown')
                          AND older.event_id < p.event_id
                        LIMIT 1) IS NULL
                 ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED))
             RETURNING message_id, reservation_id, sealed_contact, phone, masked_phone, text, traceparent, attempts, created_at, gateway,
                       generation, checks, funnel_event, claim";

/// Run before [`CLAIM_DUE`] in its transaction: estimates from a small early
/// table would make a sort of the whole due range look cheaper than reading
/// the index head in order.
pub const CLAIM_PLANNER: &str = "SELECT set_config('enable_sort', 'off', true), set_config('enable_bitmapscan', 'off', true)";

impl DeliveryStore {
    /// Claims up to `limit` due deliveries, soonest due first, for `lease`:
    /// they are leased, so no other replica picks them up meanwhile, and a
    /// replica that dies mid-send leaves them due again after the lease
    /// (the next round asks the gateway the row names first). Each claim
    /// writes a fresh token (`claim`) that every later update of its round
    /// must match. SKIP LOCKED lets replicas claim side by side without
    /// waiting for each other.
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
        let claim = Uuid::new_v4();
        let mut rows: Vec<Claimed> =
            sqlx::query_as(CLAIM_DUE).bind(limit).bind(lease.as_secs_f64()).bind(claim).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        rows.sort_by_key(|r| r.created_at);
        Ok(rows)
    }

    /// Notes, just before sending, which gateway the message goes to and
    /// under which generation of its reference: should this round never
    /// record its outcome, the next one asks that gateway before sending
    /// anywhere. `false` when the claim no longer holds the row (another
    /// round claimed it after this one's lease expired): then nothing may
    /// be sent.
    pub async fn hand_to(&self, message_id: Uuid, claim: Uuid, gateway: &str, generation: i32) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE deliveries SET gateway = $3, generation = $4
             WHERE message_id = $1 AND claim = $2 AND state IN ('pending', 'unknown')",
        )
        .bind(message_id)
        .bind(claim)
        .bind(gateway)
        .bind(generation)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// [`Self::hand_to`] for a whole claimed batch at once, before any of it
    /// is sent: each row in `rows` (message id, generation) now names
    /// `gateway`. One statement and one commit per round instead of one per
    /// message (the per-message commit was notification's largest cost per
    /// booking, docs/benchmarks.md). Returns the ids recorded; a row another
    /// round claimed meanwhile is left out and must not be sent by this one.
    pub async fn hand_over(&self, claim: Uuid, gateway: &str, rows: &[(Uuid, i32)]) -> Result<Vec<Uuid>, sqlx::Error> {
        let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
        let generations: Vec<i32> = rows.iter().map(|(_, g)| *g).collect();
        sqlx::query_scalar(
            "UPDATE deliveries d SET gateway = $3, generation = v.generation
             FROM unnest($1::uuid[], $2::int[]) AS v(id, generation)
             WHERE d.message_id = v.id AND d.claim = $4 AND d.state IN ('pending', 'unknown')
             RETURNING d.message_id",
        )
        .bind(&ids)
        .bind(&generations)
        .bind(gateway)
        .bind(claim)
        .fetch_all(&self.pool)
        .await
    }

    /// The gateways accepted these messages (the round, the gateway). A
    /// plain number an older build stored is erased; the sealed one is kept
    /// for resends until the retention period passes (`app::contacts`).
    /// Returns the message ids recorded: one whose claim was overtaken is
    /// left to the round that holds it now (which asks the gateway).
    pub(crate) async fn mark_sent(&self, sent: &[(Attempt, String)]) -> Result<Vec<Uuid>, sqlx::Error> {
        let ids: Vec<Uuid> = sent.iter().map(|(a, _)| a.message_id).collect();
        let claims: Vec<Uuid> = sent.iter().map(|(a, _)| a.claim).collect();
        let generations: Vec<i32> = sent.iter().map(|(a, _)| a.generation).collect();
        let posted: Vec<i32> = sent.iter().map(|(a, _)| i32::from(a.posted)).collect();
        let gateways: Vec<&str> = sent.iter().map(|(_, g)| g.as_str()).collect();
        sqlx::query_scalar(
            "UPDATE deliveries d SET state = 'sent', sent_at = now(), attempts = attempts + v.posted, phone = NULL,
                 last_error = NULL, next_attempt_at = NULL, leased_until = NULL, claim = NULL, gateway = v.gateway,
                 generation = v.generation
             FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[], $5::text[]) AS v(id, claim, generation, posted, gateway)
             WHERE d.message_id = v.id AND d.claim = v.claim AND d.state IN ('pending', 'unknown')
             RETURNING d.message_id",
        )
        .bind(&ids)
        .bind(&claims)
        .bind(&generations)
        .bind(&posted)
        .bind(&gateways)
        .fetch_all(&self.pool)
        .await
    }

    /// No gateway took it: schedule the next attempt, or give up (`retry_in`
    /// None). A failed delivery keeps its sealed number, so an operator can
    /// replay it, until it is sent, discarded or the retention period passes.
    /// The generation is kept, so a reference a gateway voided is never
    /// sent again. `false` when the claim no longer holds the row.
    pub async fn mark_attempt_failed(&self, round: &Attempt, retry_in: Option<Duration>, error: &str) -> Result<bool, sqlx::Error> {
        let state = if retry_in.is_some() { DeliveryState::Pending } else { DeliveryState::Failed };
        let done = sqlx::query(
            "UPDATE deliveries SET attempts = attempts + 1, state = $3, last_error = $4, gateway = NULL, generation = $6, checks = 0,
                 next_attempt_at = CASE WHEN $3 = 'pending' THEN now() + make_interval(secs => $5) END, leased_until = NULL, claim = NULL
             WHERE message_id = $1 AND claim = $2 AND state IN ('pending', 'unknown')",
        )
        .bind(round.message_id)
        .bind(round.claim)
        .bind(state.as_str())
        .bind(error)
        .bind(retry_in.unwrap_or_default().as_secs_f64())
        .bind(round.generation)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Handed to `gateway`, outcome unknown: asked there again in `check_in`
    /// (never sent elsewhere meanwhile). Only a round that posted the
    /// message counts as an attempt; a re-check counts as a check.
    /// `false` when the claim no longer holds the row.
    pub async fn mark_unknown(&self, round: &Attempt, gateway: &str, check_in: Duration, error: &str) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE deliveries SET attempts = attempts + $3, checks = checks + 1, state = 'unknown', gateway = $4, generation = $5,
                 last_error = $6, next_attempt_at = now() + make_interval(secs => $7), leased_until = NULL, claim = NULL
             WHERE message_id = $1 AND claim = $2 AND state IN ('pending', 'unknown')",
        )
        .bind(round.message_id)
        .bind(round.claim)
        .bind(i32::from(round.posted))
        .bind(gateway)
        .bind(round.generation)
        .bind(error)
        .bind(check_in.as_secs_f64())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
