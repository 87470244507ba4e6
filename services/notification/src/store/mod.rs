//! The `deliveries` table: one row per SMS, the sender's work queue and the
//! record support staff read. Nothing else talks to the database.
//!
//! Recording events lives here; reading deliveries back (and the audit
//! trail of support staff's reads) in `reads`; claiming and marking them
//! for the sender in `sending`; the operators' listing and changes in
//! `operator`, their resends in `resend`; numbers in `contacts`.
mod contacts;
mod operator;
mod reads;
mod resend;
mod sending;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;
use yeyak_platform::messaging::inbox;

use crate::domain::{self, BookingCode, Contact, DeliveryRecord, DeliveryState, Notice};

pub(crate) use operator::LISTED;
pub(crate) use resend::{NewResend, ReservationRow};
pub use sending::{Attempt, Claimed, CLAIM_DUE, CLAIM_PLANNER};

/// A `deliveries` row as support staff see it (no raw phone number).
#[derive(sqlx::FromRow)]
struct RecordRow {
    message_id: Uuid,
    reservation_id: Uuid,
    booking_code: Option<String>,
    event_type: String,
    state: String,
    masked_phone: String,
    attempts: i32,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    gateway: Option<String>,
    last_error: Option<String>,
}

impl From<RecordRow> for DeliveryRecord {
    fn from(r: RecordRow) -> Self {
        Self {
            message_id: r.message_id,
            reservation_id: r.reservation_id,
            // Stored from a code that was checked when the event arrived.
            booking_code: r.booking_code.and_then(|c| BookingCode::parse(&c).ok()),
            event_type: r.event_type,
            state: DeliveryState::parse(&r.state),
            masked_phone: r.masked_phone,
            attempts: r.attempts,
            created_at: r.created_at,
            sent_at: r.sent_at,
            gateway: r.gateway,
            last_error: r.last_error,
        }
    }
}

/// What recording an event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
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
    booking_codes: Vec<Option<String>>,
    event_types: Vec<&'static str>,
    sealed: Vec<Vec<u8>>,
    masked: Vec<String>,
    texts: Vec<String>,
    subject_ids: Vec<Option<String>>,
    agent_ids: Vec<Option<String>>,
    traceparents: Vec<Option<String>>,
    funnel_events: Vec<Option<String>>,
}

impl Rows {
    fn push(&mut self, event_id: Uuid, notice: &Notice, contact: &Contact) {
        self.message_ids.push(domain::message_id(event_id));
        self.event_ids.push(event_id);
        self.reservation_ids.push(notice.reservation_id);
        self.booking_codes.push(notice.booking_code.as_ref().map(|c| c.as_str().to_owned()));
        self.event_types.push(notice.event_type);
        self.sealed.push(contact.sealed.clone());
        self.masked.push(contact.masked.clone());
        self.texts.push(notice.text.clone());
        // NULL, never "", so an empty subject can never match a reader.
        let id = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        self.subject_ids.push(id(&notice.owners.subject_id));
        self.agent_ids.push(id(&notice.owners.agent_subject_id));
        self.traceparents.push(notice.traceparent.clone());
        self.funnel_events.push(notice.funnel_event.clone());
    }
}

/// The `deliveries` table (public for the integration tests of the
/// sender's updates).
#[derive(Clone)]
pub struct DeliveryStore {
    pool: PgPool,
}

const RECORD_COLUMNS: &str =
    "message_id, reservation_id, booking_code, event_type, state, masked_phone, attempts, created_at, sent_at, gateway, last_error";

impl DeliveryStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Records events as processed and queues their SMS, in one transaction:
    /// either all of it happens or none (and the broker redelivers). One
    /// answer per event, in the order given; an event given twice is
    /// recorded once.
    pub(crate) async fn record(&self, events: &[(Uuid, &Notice)]) -> Result<Vec<Recorded>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<Uuid> = events.iter().map(|(id, _)| *id).collect();
        let mut fresh = inbox::first_deliveries(&mut tx, &ids).await?;
        let mut rows = Rows::default();
        let recorded = events
            .iter()
            .map(|(event_id, notice)| match (fresh.remove(event_id), notice.contact.as_ref()) {
                (false, _) => Recorded::Duplicate,
                (true, None) => Recorded::NothingToSend,
                (true, Some(contact)) => {
                    rows.push(*event_id, notice, contact);
                    Recorded::Queued
                }
            })
            .collect();
        if !rows.event_ids.is_empty() {
            sqlx::query(
                "INSERT INTO deliveries (message_id, event_id, reservation_id, event_type, sealed_contact, masked_phone, text, booking_code,
                                         subject_id, agent_subject_id, traceparent, funnel_event, state, attempts, next_attempt_at)
                 SELECT m, e, r, t, p, mp, x, b, s, a, tp, fe, 'pending', 0, now()
                     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],
                                 $11::text[], $12::text[])
                         AS v(m, e, r, t, p, mp, x, b, s, a, tp, fe)
                 ON CONFLICT (message_id) DO NOTHING",
            )
            .bind(&rows.message_ids)
            .bind(&rows.event_ids)
            .bind(&rows.reservation_ids)
            .bind(&rows.event_types)
            .bind(&rows.sealed)
            .bind(&rows.masked)
            .bind(&rows.texts)
            .bind(&rows.booking_codes)
            .bind(&rows.subject_ids)
            .bind(&rows.agent_ids)
            .bind(&rows.traceparents)
            .bind(&rows.funnel_events)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(recorded)
    }
}
