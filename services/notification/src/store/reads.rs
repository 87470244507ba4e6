//! Reading deliveries back: for support staff every delivery a reference
//! names, for a person only those of their own reservations; and the audit
//! row of each support lookup.
use yeyak_platform::operators::{audit, AuditEvent};

use super::{DeliveryStore, RecordRow, RECORD_COLUMNS};
use crate::domain::{DeliveryRecord, Lookup};

/// A delivery is a reader's when any delivery of its reservation names them
/// as subject or agent: the agent of a proxy booking is named by the
/// confirmation only, and still sees the cancellation that follows. Served
/// by `deliveries_by_reservation` (a reservation has a handful of rows).
const OWNED_BY_READER: &str = " AND EXISTS (SELECT 1 FROM deliveries o
                                   WHERE o.reservation_id = d.reservation_id
                                     AND (o.subject_id = $2 OR o.agent_subject_id = $2))";

impl DeliveryStore {
    /// The deliveries `lookup` names, oldest event first. With `reader` (a
    /// pseudonymous subject id), only those of reservations whose subject or
    /// agent they are: someone else's are filtered out in the query itself,
    /// so they never reach this process.
    pub(crate) async fn lookup(&self, lookup: &Lookup, reader: Option<&str>) -> Result<Vec<DeliveryRecord>, sqlx::Error> {
        let by = match lookup {
            Lookup::Reservation(_) => "d.reservation_id = $1",
            Lookup::BookingCode(_) => "d.booking_code = $1",
            Lookup::Message(_) => "d.message_id = $1",
        };
        let owned = if reader.is_some() { OWNED_BY_READER } else { "" };
        let sql = format!("SELECT {RECORD_COLUMNS} FROM deliveries d WHERE {by}{owned} ORDER BY d.event_id");
        let query = sqlx::query_as::<_, RecordRow>(&sql);
        let query = match lookup {
            Lookup::Reservation(id) | Lookup::Message(id) => query.bind(*id),
            Lookup::BookingCode(code) => query.bind(code.as_str()),
        };
        let query = match reader {
            Some(subject_id) => query.bind(subject_id),
            None => query,
        };
        Ok(query.fetch_all(&self.pool).await?.into_iter().map(DeliveryRecord::from).collect())
    }

    /// Writes a support lookup's audit row.
    pub(crate) async fn record_audit(&self, event: &AuditEvent) -> Result<(), sqlx::Error> {
        audit::record(&self.pool, event).await
    }

    /// Deliveries in `unknown` and the age in seconds of the oldest (from
    /// `deliveries_for_operators`, never the table).
    pub(crate) async fn unknown_backlog(&self) -> Result<(i64, f64), sqlx::Error> {
        sqlx::query_as(
            "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at))::float8, 0)
             FROM deliveries WHERE state = 'unknown'",
        )
        .fetch_one(&self.pool)
        .await
    }
}
