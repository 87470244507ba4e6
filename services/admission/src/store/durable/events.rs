//! Booking events in PostgreSQL, the catalog's source of truth: every
//! replica reads it (and copies it into Redis for the other services), so a
//! lost Redis never loses an event. Each change bumps the catalog's version
//! (one row, locked until the change commits, so versions follow commit
//! order), and a replica learns of a change with one read of that row.
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Row as _};
use yeyak_platform::operators::{self, audit::AuditEvent};

use super::{at, upsert_settings, DurableStore};
use crate::domain::{EventDefinition, StoredEvent, StoredSettings};

const COLUMNS: &str = "event_id, title, opens_at, closes_at, rule_set, rate_per_second, max_active, pre_open_seconds,
     join_pow_bits, verify_in, closed, version, updated_at, updated_by";

/// Why a change was not written.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EventWrite {
    #[error("event {0} already exists")]
    Exists(String),
    #[error("no event {0}")]
    Missing(String),
    /// Closed meanwhile: closing is final.
    #[error("event {0} is closed")]
    Closed(String),
    /// Changed by someone else since the caller read it.
    #[error("event {0} changed meanwhile")]
    Stale(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl DurableStore {
    /// The catalog's version: 0 while there is no event.
    pub(crate) async fn events_version(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT version FROM booking_event_catalog").fetch_one(&self.pool).await
    }

    pub(crate) async fn events(&self) -> Result<Vec<StoredEvent>, sqlx::Error> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM booking_events ORDER BY opens_at, event_id")).fetch_all(&self.pool).await?;
        rows.iter().map(from_row).collect()
    }

    /// The events of the deployment's configuration, on its first start:
    /// an event already there (created, changed or closed) is left as it is.
    pub(crate) async fn seed_events(&self, seeds: &[EventDefinition]) -> Result<u64, sqlx::Error> {
        let mut added = 0;
        for def in seeds {
            let mut tx = self.pool.begin().await?;
            if insert(&mut tx, def, "configuration").await? == 1 {
                tx.commit().await?;
                added += 1;
            }
        }
        Ok(added)
    }

    /// Creates an event with its audit row, in one transaction.
    pub(crate) async fn create_event(&self, def: &EventDefinition, audit: AuditEvent) -> Result<StoredEvent, EventWrite> {
        let mut tx = self.pool.begin().await?;
        if insert(&mut tx, def, &audit.operator).await? == 0 {
            return Err(EventWrite::Exists(def.id.clone()));
        }
        operators::audit::record(&mut *tx, &audit).await?;
        let row =
            sqlx::query(&format!("SELECT {COLUMNS} FROM booking_events WHERE event_id = $1")).bind(&def.id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(from_row(&row)?)
    }

    /// Replaces an event's definition, or closes it, with the settings it
    /// puts in force and its audit row, in one transaction; only while the
    /// event is still at `expected` (the version the caller judged) and open.
    pub(crate) async fn update_event(
        &self,
        change: (&EventDefinition, bool, i64),
        settings: Option<&StoredSettings>,
        audit: impl FnOnce(&StoredEvent) -> AuditEvent,
    ) -> Result<StoredEvent, EventWrite> {
        let (def, closed, expected) = change;
        let mut tx = self.pool.begin().await?;
        let version = bump(&mut tx).await?;
        let old = sqlx::query(&format!("SELECT {COLUMNS} FROM booking_events WHERE event_id = $1 FOR UPDATE"))
            .bind(&def.id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| EventWrite::Missing(def.id.clone()))?;
        let old = from_row(&old)?;
        if old.closed {
            return Err(EventWrite::Closed(def.id.clone()));
        }
        if old.version != expected {
            return Err(EventWrite::Stale(def.id.clone()));
        }
        let event = audit(&old);
        if let Some(settings) = settings {
            upsert_settings(&mut tx, &def.id, settings).await?;
        }
        let sql = format!(
            "UPDATE booking_events SET title = $2, opens_at = $3, closes_at = $4, rule_set = $5, rate_per_second = $6,
               max_active = $7, pre_open_seconds = $8, join_pow_bits = $9, verify_in = $10, updated_by = $11,
               version = $12, closed = $13, updated_at = now()
             WHERE event_id = $1 RETURNING {COLUMNS}"
        );
        let row = bind_definition(sqlx::query(&sql), def).bind(&event.operator).bind(version).bind(closed).fetch_one(&mut *tx).await?;
        operators::audit::record(&mut *tx, &event).await?;
        tx.commit().await?;
        Ok(from_row(&row)?)
    }
}

/// The catalog's next version, its row locked until the transaction ends.
async fn bump(conn: &mut PgConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("UPDATE booking_event_catalog SET version = version + 1 RETURNING version").fetch_one(conn).await
}

/// Inserts unless the id exists; returns the rows written (0 or 1). Takes
/// the catalog's next version: roll back when nothing was written.
async fn insert(conn: &mut PgConnection, def: &EventDefinition, by: &str) -> Result<u64, sqlx::Error> {
    let version = bump(conn).await?;
    let sql = "INSERT INTO booking_events (event_id, title, opens_at, closes_at, rule_set, rate_per_second, max_active,
           pre_open_seconds, join_pow_bits, verify_in, updated_by, version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (event_id) DO NOTHING";
    let done = bind_definition(sqlx::query(sql), def).bind(by).bind(version).execute(conn).await?;
    Ok(done.rows_affected())
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

/// `$1` to `$10`: the definition, in the table's column order.
fn bind_definition<'q>(query: Query<'q>, def: &'q EventDefinition) -> Query<'q> {
    query
        .bind(&def.id)
        .bind(&def.title)
        .bind(at(def.opens_at_ms))
        .bind(def.closes_at_ms.map(at))
        .bind(&def.rule_set)
        .bind(def.rate)
        // `validate` keeps it within 1..=10,000,000.
        .bind(def.max_active as i64)
        .bind(def.pre_open_ms.map(|w| w / 1000))
        .bind(i16::from(def.pow_bits))
        .bind(&def.verify_in)
}

fn from_row(row: &sqlx::postgres::PgRow) -> Result<StoredEvent, sqlx::Error> {
    let ms = |t: DateTime<Utc>| t.timestamp_millis();
    let def = EventDefinition {
        id: row.try_get("event_id")?,
        title: row.try_get("title")?,
        opens_at_ms: ms(row.try_get("opens_at")?),
        closes_at_ms: row.try_get::<Option<DateTime<Utc>>, _>("closes_at")?.map(ms),
        rule_set: row.try_get("rule_set")?,
        rate: row.try_get("rate_per_second")?,
        max_active: row.try_get::<i64, _>("max_active")? as u64,
        pre_open_ms: row.try_get::<Option<i64>, _>("pre_open_seconds")?.map(|s| s * 1000),
        // The column's CHECK keeps it within 0..=32.
        pow_bits: u8::try_from(row.try_get::<i16, _>("join_pow_bits")?).unwrap_or(0),
        verify_in: row.try_get("verify_in")?,
    };
    Ok(StoredEvent {
        def,
        closed: row.try_get("closed")?,
        version: row.try_get("version")?,
        updated_at_ms: ms(row.try_get("updated_at")?),
        updated_by: row.try_get("updated_by")?,
    })
}
