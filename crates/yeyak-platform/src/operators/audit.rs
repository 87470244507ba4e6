//! The audit trail of operator actions: each is one structured log event
//! with the fixed target [`AUDIT_TARGET`] (shipped with the logs, filterable
//! and alertable, e.g. `RUST_LOG=audit=info`) **and** one row in the owning
//! service's `operator_audit` table.
//!
//! Why both: logs are where people look, but a log pipeline may drop or
//! sample lines under load, and its retention is set by whoever runs it. The
//! row is written in the same database transaction as the change it
//! describes (or, for a read of personal data, before the answer leaves), so
//! an action without its record cannot happen; it is kept as long as the
//! service's own data, in the service's backups, and an auditor queries it
//! with SQL. (The Personal Information Protection Act expects access to
//! personal data to be recorded and kept for at least a year or two, so
//! support staff's reads are actions too.)
//!
//! What goes into `old` and `new` must not be personal data: settings,
//! states, counts, ids. The trail records who looked at a reservation, not
//! what they saw.
use std::borrow::Cow;

use chrono::{DateTime, Utc};
use sqlx::migrate::Migrator;
use uuid::Uuid;

use super::OperatorIdentity;

/// The `tracing` target of every audit event.
pub const AUDIT_TARGET: &str = "audit";

/// The `operator_audit` table, defined once for every service that keeps it.
static TABLE: Migrator = sqlx::migrate!("src/operators/migrations");

/// One operator action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Also in the log line, so a log and its row can be matched.
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The operator's name from `YEYAK_OPERATORS`.
    pub operator: String,
    /// What was done, `<service>.<action>`, e.g. `admission.pause`.
    pub action: String,
    /// What it was done to, e.g. `queue demo`, `reservation <id>`.
    pub resource: String,
    /// The value before a change; `None` for a read or a creation.
    pub old: Option<String>,
    /// The value after a change; for a read, what was found (a count).
    pub new: Option<String>,
}

/// Logs the action as an audit event and returns it, for the caller to
/// write with the change ([`record`]).
pub fn audit(identity: &OperatorIdentity, action: &str, resource: &str, old: Option<&str>, new: Option<&str>) -> AuditEvent {
    let event = AuditEvent {
        id: Uuid::now_v7(),
        at: Utc::now(),
        operator: identity.name().to_owned(),
        action: action.to_owned(),
        resource: resource.to_owned(),
        old: old.map(str::to_owned),
        new: new.map(str::to_owned),
    };
    tracing::info!(
        target: AUDIT_TARGET,
        audit_id = %event.id,
        at = %event.at.to_rfc3339(),
        operator = %event.operator,
        action = %event.action,
        resource = %event.resource,
        old = event.old.as_deref().unwrap_or(""),
        new = event.new.as_deref().unwrap_or(""),
        outcome = "done",
        "operator action"
    );
    event
}

/// Writes the event's row; give it the transaction of the change.
pub async fn record<'e, E>(executor: E, event: &AuditEvent) -> Result<(), sqlx::Error>
where
    E: sqlx::PgExecutor<'e>,
{
    sqlx::query(
        "INSERT INTO operator_audit (audit_id, at, operator, action, resource, old_value, new_value)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(event.id)
    .bind(event.at)
    .bind(&event.operator)
    .bind(&event.action)
    .bind(&event.resource)
    .bind(&event.old)
    .bind(&event.new)
    .execute(executor)
    .await?;
    Ok(())
}

/// `service`'s migrations with the `operator_audit` table added, in version
/// order (its version, 2020-01-01 #3, sorts with the platform's tables).
pub fn with_table(service: Migrator) -> Migrator {
    let mut all = service.migrations.into_owned();
    all.extend(TABLE.migrations.iter().cloned());
    all.sort_by_key(|m| m.version);
    Migrator { migrations: Cow::Owned(all), ..Migrator::DEFAULT }
}
